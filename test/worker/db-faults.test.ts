// The Worker against a database that is down (a closed port) or frozen (a TCP server that
// accepts and never answers; test/worker/db-faults-setup.mjs starts both): the API answers 503
// DATABASE_UNAVAILABLE with Retry-After, never a 500 or a stack, and /health answers within 2 s.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import worker from "../../worker/index.ts";
import type { ApiErrorBody } from "../../worker/http/errors.ts";
import type { HealthReport } from "../../worker/routes/health.ts";
import { captureLogs, eventsOf } from "../support/logs.ts";
import { authHeaders } from "../support/tokens.ts";

async function callWorker(path: string, overrides: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`http://factor.test${path}`, init),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function expectDatabaseUnavailable(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe("5");
  const text = await response.text();
  const body = JSON.parse(text) as ApiErrorBody;
  expect(body.error.code).toBe("DATABASE_UNAVAILABLE");
  expect(body.error.details).toMatchObject({ retry_after_seconds: 5 });
  // No stack, no SQL, no host.
  expect(text).not.toMatch(/at .*\.ts:\d+|select |insert |127\.0\.0\.1/i);
}

const cases = [
  { name: "down (connection refused)", url: () => inject("closedDbUrl"), reason: "unreachable" },
  { name: "frozen (accepts, never answers)", url: () => inject("silentDbUrl"), reason: "timeout" },
] as const;

describe.each(cases)("a database that is $name", ({ url, reason }) => {
  it("makes an API read answer 503 DATABASE_UNAVAILABLE with Retry-After, not 500", async () => {
    const logs = captureLogs("http.database_unavailable");
    const started = Date.now();
    const response = await callWorker(
      "/api/v1/portfolios",
      { TURSO_DATABASE_URL: url(), DB_TIMEOUT_MS: "1000" },
      { headers: await authHeaders("db-faults") },
    );
    await expectDatabaseUnavailable(response.clone());
    expect((await response.json<ApiErrorBody>()).error.details).toMatchObject({ reason });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The cause is logged for the operator, with the route and the reason.
    expect(logs).toMatchObject([{ level: "error", method: "GET", path: "/api/v1/portfolios", reason }]);
  });

  it("makes an API write answer 503 DATABASE_UNAVAILABLE too", async () => {
    const logs = captureLogs("http.database_unavailable");
    const response = await callWorker(
      "/api/v1/portfolios",
      { TURSO_DATABASE_URL: url(), DB_TIMEOUT_MS: "1000" },
      {
        method: "POST",
        headers: { ...(await authHeaders("db-faults")), "content-type": "application/json" },
        body: JSON.stringify({ name: "never stored" }),
      },
    );
    await expectDatabaseUnavailable(response);
    expect(logs).toMatchObject([{ level: "error", method: "POST", path: "/api/v1/portfolios", reason }]);
  });

  it("makes /health answer 503 unavailable within 2 s, with the default database timeout", async () => {
    const logs = captureLogs("health.db_unreachable", "health.storage_unknown");
    const started = Date.now();
    const response = await callWorker("/api/v1/health", { TURSO_DATABASE_URL: url() });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2_000);
    expect(response.status).toBe(503);
    const health = await response.json<HealthReport>();
    expect(health).toMatchObject({
      status: "unavailable",
      db: "unreachable",
      migrations: null,
      error: { code: "DB_UNAVAILABLE" },
    });
    expect(JSON.stringify(health)).not.toMatch(/at .*\.ts:\d+|select /i);
    expect(eventsOf(logs).sort()).toEqual(["health.db_unreachable", "health.storage_unknown"]);
  });
});

describe("a frozen database with the default timeout", () => {
  it("fails an API request after DB_TIMEOUT_MS's default (10 s) rather than hanging", async () => {
    const logs = captureLogs("http.database_unavailable");
    const started = Date.now();
    const response = await callWorker(
      "/api/v1/portfolios",
      { TURSO_DATABASE_URL: inject("silentDbUrl") },
      { headers: await authHeaders("db-faults") },
    );
    const elapsed = Date.now() - started;
    await expectDatabaseUnavailable(response);
    expect(elapsed).toBeGreaterThanOrEqual(9_000);
    expect(elapsed).toBeLessThan(15_000);
    expect(logs).toMatchObject([{ level: "error", reason: "timeout" }]);
  });
});
