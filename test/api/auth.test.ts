// Authentication and authorization across the whole route table: every route × (no token,
// expired, wrong audience, wrong algorithm, alg none, missing permission, another owner's
// object); none of those may answer 2xx. Plus: the table and the app serve the same routes,
// the rate limit, the body size limit, and errors that never leak internals.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { positions, portfolios, stressScenarios } from "../../schema/index.ts";
import { routeKey, routes, type RouteContract } from "../../worker/api/contract.ts";
import { permissions, type Permission } from "../../worker/auth/permissions.ts";
import { app } from "../../worker/index.ts";
import { devAudience, devIssuer } from "../../scripts/dev-token.ts";
import { captureLogs } from "../support/logs.ts";
import { tokenFor } from "../support/tokens.ts";
import { call, db, ensureBatchOutput, errorOf } from "./support.ts";

const owner = "matrix-owner";
const ownerOrg = "matrix-org";
const ids = { portfolio: "matrix-portfolio", position: "matrix-position", scenario: "matrix-scenario" };

beforeAll(async () => {
  await ensureBatchOutput();
  await db.insert(portfolios).values({ id: ids.portfolio, owner, org: ownerOrg, name: "Matrix" }).onConflictDoNothing();
  await db
    .insert(positions)
    .values({
      id: ids.position,
      portfolioId: ids.portfolio,
      symbol: "SPY",
      instrument: "etf",
      quantity: 1,
      openedOn: "2026-01-02",
    })
    .onConflictDoNothing();
  await db
    .insert(stressScenarios)
    .values({ id: ids.scenario, name: "Matrix", shocks: { market_beta: -0.1 }, owner })
    .onConflictDoNothing();
});

/** A concrete request for a route of the table: its path with ids filled in and a valid body. */
function requestFor(route: RouteContract): { path: string; body?: unknown; headers?: Record<string, string> } {
  const path = route.path
    .replace(":symbol", "SPY")
    .replace(":positionId", ids.position)
    .replace(
      ":id",
      route.path.startsWith("/stress/") ? ids.scenario : route.path.startsWith("/admin/") ? "some-run" : ids.portfolio,
    );
  const bodies: Partial<Record<string, unknown>> = {
    "POST /portfolios": { name: `matrix ${crypto.randomUUID()}` },
    "PATCH /portfolios/:id": { cash: 5 },
    "POST /portfolios/:id/positions": { symbol: "SPY", instrument: "etf", quantity: 1, opened_on: "2026-01-02" },
    "PATCH /portfolios/:id/positions/:positionId": { quantity: 2 },
    "POST /portfolios/:id/stress": { shocks: { market_beta: -0.1 } },
    "POST /portfolios/:id/hedge": { target: "total" },
    "POST /stress/scenarios": { name: `matrix ${crypto.randomUUID()}`, shocks: { market_beta: -0.1 } },
    "POST /what-if": { holdings: [], portfolio_id: ids.portfolio },
    "POST /admin/batch/run": { date: "2021-06-01" },
    "POST /admin/batch/backfill": { from: "2021-06-01", to: "2021-06-02" },
    "POST /admin/market-data/prices": { prices: [] },
    "PATCH /webhooks/:id": { description: "probe" },
  };
  const queries: Partial<Record<string, string>> = { "GET /portfolios/:id/exposures/stocks": "?factor=market_beta" };
  const query = queries[routeKey(route)] ?? "";
  if (route.bodyMediaType === "text/csv")
    return {
      path: path + query,
      body: "symbol,instrument,quantity,opened_on\nSPY,etf,1,2026-01-02\n",
      headers: { "content-type": "text/csv" },
    };
  const body = bodies[routeKey(route)];
  return body === undefined ? { path: path + query } : { path: path + query, body };
}

const protectedRoutes = (Object.entries(routes) as [string, RouteContract][]).filter(
  ([, route]) => route.permission !== "public" && route.permission !== "ticket",
);

async function send(route: RouteContract, token: string | null): Promise<Response> {
  const request = requestFor(route);
  return call(request.path, {
    method: route.method.toUpperCase(),
    token,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(request.headers ? { headers: request.headers } : {}),
  });
}

const secret = () => new TextEncoder().encode(env.JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function signed(
  alg: "HS256" | "HS384",
  claims: { aud?: string; iss?: string; exp?: number; sub?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ permissions: [...permissions] })
    .setProtectedHeader({ alg })
    .setIssuedAt(now() - 60)
    .setIssuer(claims.iss ?? devIssuer)
    .setAudience(claims.aud ?? devAudience)
    .setExpirationTime(claims.exp ?? now() + 600);
  if (claims.sub !== "") jwt.setSubject(claims.sub ?? owner);
  return jwt.sign(secret());
}

describe("the route table", () => {
  it("lists exactly the routes the app serves, each with a permission", () => {
    const served = new Set(
      app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method} ${route.path.replace(/^\/api\/v1/, "").replace(/(.)\/$/, "$1")}`),
    );
    const declared = new Set(Object.values(routes).map((route) => routeKey(route)));
    expect([...served].sort()).toEqual([...declared].sort());
    for (const route of Object.values(routes) as RouteContract[])
      expect(
        route.permission === "public" ||
          route.permission === "ticket" ||
          permissions.includes(route.permission as Permission),
        routeKey(route),
      ).toBe(true);
  });
});

describe("every protected route refuses", () => {
  const cases: [string, () => Promise<string | null>, number][] = [
    ["no token", async () => null, 401],
    ["an expired token", async () => signed("HS256", { exp: now() - 3_600 }), 401],
    ["a token for another audience", async () => signed("HS256", { aud: "someone-else" }), 401],
    ["a token from another issuer", async () => signed("HS256", { iss: "evil" }), 401],
    ["a token signed with another algorithm", async () => signed("HS384"), 401],
    [
      "an unsigned token (alg none)",
      async () =>
        new UnsecuredJWT({ permissions: [...permissions] })
          .setSubject(owner)
          .setIssuer(devIssuer)
          .setAudience(devAudience)
          .setExpirationTime(now() + 600)
          .encode(),
      401,
    ],
    ["a token without sub", async () => signed("HS256", { sub: "" }), 401],
    ["garbage", async () => "not.a.jwt", 401],
  ];
  for (const [name, token, status] of cases) {
    it(`${name}: ${status} on all ${protectedRoutes.length} routes`, async () => {
      const value = await token();
      for (const [routeName, route] of protectedRoutes) {
        const response = await send(route, value);
        expect(response.status, `${routeName} ${routeKey(route)}`).toBe(status);
        expect(response.headers.get("www-authenticate"), routeName).toMatch(/^Bearer realm=/);
        await errorOf(response, status);
      }
    });
  }

  it("a token lacking the route's permission: 403 naming it", async () => {
    for (const [routeName, route] of protectedRoutes) {
      const others = permissions.filter((permission) => permission !== route.permission);
      const response = await send(route, await tokenFor(owner, others, { org: ownerOrg }));
      const error = await errorOf(response, 403);
      expect(error.details, routeName).toEqual({ required: route.permission });
    }
  });

  it("another owner's portfolio, position or scenario: 404, as if it did not exist", async () => {
    const stranger = await tokenFor("matrix-stranger", permissions, { org: "stranger-org" });
    const objectRoutes = protectedRoutes.filter(
      ([, route]) => route.path.includes(":id") && !route.path.startsWith("/admin/"),
    );
    expect(objectRoutes.length).toBeGreaterThan(10);
    for (const [routeName, route] of objectRoutes) {
      const response = await send(route, stranger);
      expect(response.status, routeName).toBe(404);
    }
    // what-if comparing with someone else's portfolio
    const whatIf = await call("/what-if", {
      method: "POST",
      token: stranger,
      body: { holdings: [], portfolio_id: ids.portfolio },
    });
    expect(whatIf.status).toBe(404);
    // and nothing changed
    expect((await db.select().from(portfolios).where(eq(portfolios.id, ids.portfolio)).get())?.cash).toBe(0);
  });
});

describe("limits and errors", () => {
  it("answers 413 for a JSON body over the limit, before parsing it", async () => {
    const response = await call("/portfolios", {
      sub: owner,
      method: "POST",
      body: JSON.stringify({ name: "x".repeat(70_000) }),
      headers: { "content-type": "application/json" },
    });
    expect((await errorOf(response, 413)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("rate-limits a caller with 429 and Retry-After, without affecting another caller", async () => {
    const logs = captureLogs("http.rate_limited");
    const token = await tokenFor("matrix-burst", ["VIEW_FACTOR_ANALYTICS"]);
    let limited: Response | undefined;
    // The limiter's 60 s windows are aligned to the wall clock, so a burst may straddle a
    // window boundary and have its count reset midway: 2 × 1,200 + 100 requests exceed the
    // limit within one window whichever way they split (the loop stops at the first 429).
    for (let i = 0; i < 2_500 && !limited; i++) {
      const response = await call("/data/symbols?limit=0", { token });
      if (response.status === 429) limited = response;
      else await response.arrayBuffer();
    }
    expect(limited, "no 429 after 2,500 requests").toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect((await errorOf(limited!, 429)).code).toBe("RATE_LIMITED");
    expect((await call("/factors", { sub: "matrix-calm" })).status).toBe(200);
    expect(logs).toMatchObject([{ level: "warn", sub: "matrix-burst", route: "GET /data/symbols" }]);
  });

  it("answers 404 JSON for an unknown route, and 503 on a non-development Worker without a JWKS URL", async () => {
    expect((await errorOf(await call("/nothing-here"), 404)).code).toBe("NOT_FOUND");
    const token = await tokenFor(owner);
    const response = await app.fetch(
      new Request("http://localhost/api/v1/factors", { headers: { authorization: `Bearer ${token}` } }),
      { ...env, ENVIRONMENT: "production" },
    );
    const error = await errorOf(response, 503);
    expect(error).toMatchObject({ code: "AUTH_NOT_CONFIGURED" });
  });

  it(
    "answers 503 DATABASE_UNAVAILABLE with Retry-After when the database cannot be reached: no stack, no SQL, " +
      "no connection details",
    async () => {
      const logs = captureLogs("http.database_unavailable");
      const token = await tokenFor(owner);
      const response = await app.fetch(
        new Request("http://localhost/api/v1/data/symbols?sort_by=pe_ratio", {
          headers: { authorization: `Bearer ${token}` },
        }),
        { ...env, TURSO_DATABASE_URL: "http://127.0.0.1:9" },
      );
      const text = await response.text();
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(JSON.parse(text)).toMatchObject({
        error: { code: "DATABASE_UNAVAILABLE", details: { reason: "unreachable" } },
      });
      expect(text).not.toMatch(/select|127\.0\.0\.1|Error:/i);
      // The detail the caller does not get goes to the log.
      expect(logs).toMatchObject([{ level: "error", path: "/api/v1/data/symbols", reason: "unreachable" }]);
    },
  );
});
