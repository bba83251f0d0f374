// Security headers on the API's answers (worker/http/security-headers.ts): a JSON route, errors
// (401, 400, 404, 429), a CSV download and the docs page, whose own CSP allows exactly its inline
// script and style by hash.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/index.ts";
import { cspHash } from "../../worker/http/security-headers.ts";
import type { LiveTicketResponse } from "../../worker/api/live.ts";
import { call, errorOf, json } from "./support.ts";

const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** A conditional route's answers may be kept by the browser but revalidated before each use (worker/http/etag.ts). */
const revalidated = "private, no-cache";

function expectApiHeaders(response: Response, label: string, cacheControl = "no-store"): void {
  const headers = response.headers;
  expect(headers.get("x-content-type-options"), label).toBe("nosniff");
  expect(headers.get("cache-control"), label).toBe(cacheControl);
  expect(headers.get("referrer-policy"), label).toBe("no-referrer");
  expect(headers.get("x-frame-options"), label).toBe("DENY");
  expect(headers.get("content-security-policy"), label).toBe(apiPolicy);
}

describe("security headers on /api/v1", () => {
  it("are on a JSON answer and on the public health route", async () => {
    const factors = await call("/factors");
    expect(factors.status).toBe(200);
    expect(factors.headers.get("content-type")).toMatch(/^application\/json/);
    expectApiHeaders(factors, "GET /factors");
    const health = await call("/health", { token: null });
    await health.arrayBuffer();
    expectApiHeaders(health, "GET /health");
  });

  it("are on errors: 401 without a token, 400 on a bad query, 404 for an unknown route", async () => {
    const unauthorized = await call("/factors", { token: null });
    expect((await errorOf(unauthorized, 401)).code).toBe("AUTH_REQUIRED");
    expectApiHeaders(unauthorized, "401");
    expect(unauthorized.headers.get("www-authenticate")).toMatch(/^Bearer/);

    const invalid = await call("/data/symbols?limit=lots");
    expect((await errorOf(invalid, 400)).code).toBe("VALIDATION_ERROR");
    expectApiHeaders(invalid, "400");

    const missing = await call("/no/such/route");
    expect((await errorOf(missing, 404)).code).toBe("NOT_FOUND");
    expectApiHeaders(missing, "404");
  });

  it("are on a CSV download, next to its own content type and attachment name", async () => {
    const response = await call("/data/symbols?limit=2&format=csv");
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="symbols-/);
    expectApiHeaders(response, "CSV", revalidated);
  });

  it(
    "are on a conditional route's 200 and 304, " + "whose Cache-Control lets a browser keep and revalidate it",
    async () => {
      const fresh = await call("/data/symbols?limit=2");
      expect(fresh.status).toBe(200);
      await fresh.arrayBuffer();
      expectApiHeaders(fresh, "200 with an ETag", revalidated);
      const etag = fresh.headers.get("etag") ?? "";
      expect(etag).toMatch(/^W\//);
      const unchanged = await call("/data/symbols?limit=2", { headers: { "if-none-match": etag } });
      expect(unchanged.status).toBe(304);
      await unchanged.arrayBuffer();
      expectApiHeaders(unchanged, "304", revalidated);
    },
  );

  it("are on a 503 from a misconfigured Worker too", async () => {
    const request = new Request("http://localhost/api/v1/factors", { headers: { authorization: "Bearer a.b.c" } });
    const response = await app.fetch(request, { ...env, ENVIRONMENT: "production" });
    expect((await errorOf(response, 503)).code).toBe("AUTH_NOT_CONFIGURED");
    expectApiHeaders(response, "503");
  });

  it("are on answers the live hub passes through (immutable there): a 101 with its socket, a 401", async () => {
    const issued = await call("/live/ticket", { method: "POST", sub: "headers-live" });
    const { ticket } = await json<LiveTicketResponse>(issued);
    const url = `http://localhost/api/v1/live?ticket=${encodeURIComponent(ticket)}`;
    const headers = { Upgrade: "websocket", Origin: "http://localhost:8787" };
    const upgrade = () => exports.default.fetch(url, { headers });
    const opened = await upgrade();
    expect(opened.status).toBe(101);
    expect(opened.webSocket).not.toBeNull();
    opened.webSocket!.accept();
    opened.webSocket!.close(1000, "done");
    expect(opened.headers.get("x-content-type-options")).toBe("nosniff");
    const reused = await upgrade();
    expect((await errorOf(reused, 401)).code).toBe("INVALID_TICKET");
    expectApiHeaders(reused, "401 from the hub");
  });

  it("give the docs page its own policy: inline script and style by hash, no framing", async () => {
    const response = await call("/docs", { token: null });
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(response.headers.get("content-security-policy")).toBe(
      `default-src 'none'; script-src ${await cspHash(script)}; style-src ${await cspHash(style)}; ` +
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    // One inline block of each: nothing on the page runs or styles outside the two hashes.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html.match(/<style/g)).toHaveLength(1);
    expect(html).not.toMatch(/\son[a-z]+=|style="/);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});
