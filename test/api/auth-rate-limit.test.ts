// Refused requests are rate-limited per client address (worker/auth/guard.ts
// limitAuthFailures): a client hammering the API with bad tokens, or with a token that lacks the
// permission, gets 429 with Retry-After; a valid caller from the same address is not slowed, and
// another address is not affected. Each test uses addresses of its own (CF-Connecting-IP), so the
// shared no-address budget of the other API tests is left alone.
import { describe, expect, it } from "vitest";
import { captureLogs } from "../support/logs.ts";
import { tokenFor } from "../support/tokens.ts";
import { call, errorOf } from "./support.ts";

/** Sends `request` until a 429: at most 2 × 1,200 + 100 (a burst may straddle a 60 s window). */
async function hammer(request: () => Promise<Response>, expectedStatus: number): Promise<Response | undefined> {
  for (let i = 0; i < 2_500; i++) {
    const response = await request();
    if (response.status === 429) return response;
    expect(response.status).toBe(expectedStatus);
    await response.arrayBuffer();
  }
  return undefined;
}

describe("the budget of refused requests per client address", () => {
  it("answers 429 with Retry-After to an address sending bad tokens; not a valid caller, nor elsewhere", async () => {
    const logs = captureLogs("http.auth_failures_limited");
    const address = { "cf-connecting-ip": "203.0.113.41" };
    const limited = await hammer(() => call("/factors", { token: "not.a.jwt", headers: address }), 401);
    expect(limited, "no 429 after 2,500 refused requests").toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(limited!.headers.get("www-authenticate")).toBeNull();
    expect(limited!.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await errorOf(limited!, 429)).code).toBe("RATE_LIMITED");

    // Still refused from that address, while a valid token from it is served.
    expect((await call("/factors", { token: "not.a.jwt", headers: address })).status).toBe(429);
    expect((await call("/factors", { sub: "rate-limit-valid", headers: address })).status).toBe(200);
    // Another address has its own budget.
    const elsewhere = await call("/factors", { token: "not.a.jwt", headers: { "cf-connecting-ip": "203.0.113.42" } });
    expect((await errorOf(elsewhere, 401)).code).toBe("INVALID_TOKEN");
    // Each answer the budget turned into a 429 is logged with the address, never the token.
    expect(logs).toHaveLength(2);
    expect(logs).toMatchObject([
      { level: "warn", address: "203.0.113.41", status: 401, path: "/api/v1/factors" },
      { level: "warn", address: "203.0.113.41", status: 401, path: "/api/v1/factors" },
    ]);
    expect(JSON.stringify(logs)).not.toContain("not.a.jwt");
  });

  it("counts 403 answers too", async () => {
    const token = await tokenFor("rate-limit-viewer", ["VIEW_FACTOR_ANALYTICS"]);
    const logs = captureLogs("http.auth_failures_limited");
    const address = { "cf-connecting-ip": "2001:db8::43" };
    const limited = await hammer(() => call("/admin/batch/runs", { token, headers: address }), 403);
    expect(limited, "no 429 after 2,500 forbidden requests").toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect((await errorOf(limited!, 429)).code).toBe("RATE_LIMITED");
    expect(logs).toMatchObject([{ level: "warn", address: "2001:db8::43", status: 403 }]);
  });
});
