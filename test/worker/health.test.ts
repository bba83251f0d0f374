import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import journal from "../../schema/migrations/meta/_journal.json" with { type: "json" };
import worker from "../../worker/index.ts";
import { databaseHealthUrl, type HealthReport } from "../../worker/routes/health.ts";
import { captureLogs, eventsOf } from "../support/logs.ts";

async function callWorker(request: Request, overrides: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("GET /api/v1/health", () => {
  it(
    "reports ok after real queries through drizzle, " + "with every migration applied and the live hub reachable",
    async () => {
      const response = await exports.default.fetch("http://factor.test/api/v1/health");
      expect(response.status).toBe(200);
      const health = await response.json<HealthReport>();
      expect(health).toEqual({
        status: "ok",
        db: "ok",
        storage: "ok",
        migrations: { applied: journal.entries.length, expected: journal.entries.length, pending: [] },
        live: "ok",
        version: packageJson.version,
      });
    },
  );

  it("answers 503 with a JSON error when the database is unreachable", async () => {
    const logs = captureLogs("health.db_unreachable", "health.storage_unknown");
    // Port 9 (discard) on loopback has no libSQL server behind it.
    const response = await callWorker(new Request("http://factor.test/api/v1/health"), {
      TURSO_DATABASE_URL: "http://127.0.0.1:9",
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toContain("application/json");
    const health = await response.json<HealthReport>();
    expect(health.status).toBe("unavailable");
    expect(health.db).toBe("unreachable");
    expect(health.error?.code).toBe("DB_UNAVAILABLE");
    expect(JSON.stringify(health)).not.toMatch(/at .*\.ts:\d+|select/i);
    // The cause goes to the log, not to the caller.
    expect(eventsOf(logs).sort()).toEqual(["health.db_unreachable", "health.storage_unknown"]);
    expect(logs.find((line) => line.event === "health.db_unreachable")).toMatchObject({
      level: "error",
      error: expect.stringMatching(/could not be reached|Network connection lost/),
    });
  });

  it("answers 503 rather than crashing when TURSO_DATABASE_URL is not configured", async () => {
    const logs = captureLogs("health.db_unreachable");
    const response = await callWorker(new Request("http://factor.test/api/v1/health"), { TURSO_DATABASE_URL: "" });
    expect(response.status).toBe(503);
    expect(await response.json<HealthReport>()).toMatchObject({ status: "unavailable", db: "unreachable" });
    expect(eventsOf(logs)).toEqual(["health.db_unreachable"]);
  });

  it("answers 503 degraded and lists pending migrations on a database that was never migrated", async () => {
    const response = await callWorker(new Request("http://factor.test/api/v1/health"), {
      TURSO_DATABASE_URL: inject("emptyLibsqlUrl"),
    });
    expect(response.status).toBe(503);
    const health = await response.json<HealthReport>();
    expect(health.status).toBe("degraded");
    expect(health.db).toBe("ok");
    expect(health.migrations?.applied).toBe(0);
    expect(health.migrations?.pending).toEqual(journal.entries.map((entry) => entry.tag));
  });

  it("answers 503 degraded, with the database server's storage problem, when its disk is nearly full", async () => {
    const started = Date.now();
    const response = await callWorker(new Request("http://factor.test/api/v1/health"), {
      TURSO_DATABASE_URL: inject("lowDiskLibsqlUrl"),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    const health = await response.json<HealthReport>();
    expect(health).toMatchObject({
      status: "degraded",
      db: "ok",
      storage: "degraded",
      live: "ok",
      migrations: { pending: [] },
    });
    expect(health.problems).toEqual([
      { code: "DISK_LOW", message: expect.stringMatching(/bytes free, under the \d+ the server requires/) },
    ]);
  });

  it("finds the database server's /health from its URL, and none for other schemes", () => {
    expect(databaseHealthUrl("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080/health");
    expect(databaseHealthUrl("libsql://db-org.turso.io")).toBe("https://db-org.turso.io/health");
    expect(databaseHealthUrl("wss://db.example:8443/some/path")).toBe("https://db.example:8443/health");
    expect(databaseHealthUrl("file:local.db")).toBeNull();
    expect(databaseHealthUrl("")).toBeNull();
  });

  it("rejects a wrong database token as unreachable rather than crashing", async () => {
    const logs = captureLogs("health.db_unreachable");
    const response = await callWorker(new Request("http://factor.test/api/v1/health"), {
      TURSO_AUTH_TOKEN: "not-the-token",
    });
    expect(response.status).toBe(503);
    expect((await response.json<HealthReport>()).db).toBe("unreachable");
    expect(eventsOf(logs)).toEqual(["health.db_unreachable"]);
  });
});

describe("API errors", () => {
  it("answers an unknown API route with a JSON 404", async () => {
    const response = await exports.default.fetch("http://factor.test/api/v1/no-such-thing");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no route for GET /api/v1/no-such-thing" },
    });
  });
});

describe("static assets", () => {
  // In production Cloudflare's router sends non-API paths to the assets before the Worker
  // (wrangler.toml run_worker_first); here we check what the ASSETS binding serves.
  it("serves the dashboard page from the built client, and index.html for client routes", async () => {
    const client = await env.ASSETS.fetch("http://factor.test/portfolios/demo");
    expect(client.status).toBe(200);
    expect(await client.text()).toContain("<title>Factor Exposure</title>");
    const response = await env.ASSETS.fetch("http://factor.test/");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<title>Factor Exposure</title>");
  });
});
