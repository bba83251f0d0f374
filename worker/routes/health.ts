import { sql } from "drizzle-orm";
import { Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import journal from "../../schema/migrations/meta/_journal.json" with { type: "json" };
import { getDatabase } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import { liveHub } from "../realtime/live-hub.ts";

export interface MigrationState {
  applied: number;
  expected: number;
  pending: string[];
}

export interface HealthReport {
  status: "ok" | "degraded" | "unavailable";
  db: "ok" | "unreachable";
  migrations: MigrationState | null;
  live: "ok" | "unavailable";
  version: string;
  error?: { code: string; message: string };
}

// drizzle records each applied migration with the journal entry's `when` as created_at.
const expectedMigrations = journal.entries.map((entry) => ({ tag: entry.tag, when: entry.when }));

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const [migrations, live] = await Promise.all([readMigrationState(c.env), pingLiveHub(c.env)]);
  if (migrations instanceof Error) {
    const body: HealthReport = {
      status: "unavailable",
      db: "unreachable",
      migrations: null,
      live,
      version: packageJson.version,
      error: { code: "DB_UNAVAILABLE", message: "the database did not answer" },
    };
    return c.json(body, 503);
  }
  const healthy = migrations.pending.length === 0 && live === "ok";
  const body: HealthReport = {
    status: healthy ? "ok" : "degraded",
    db: "ok",
    migrations,
    live,
    version: packageJson.version,
  };
  return c.json(body, healthy ? 200 : 503);
});

async function readMigrationState(env: Env): Promise<MigrationState | Error> {
  try {
    // Inside the try: a missing or malformed TURSO_DATABASE_URL throws here, and is a 503 too.
    const db = getDatabase(env);
    const table = await db.get<{ n: number }>(
      sql`select count(*) as n from sqlite_master where type = 'table' and name = '__drizzle_migrations'`,
    );
    const appliedRows: { created_at: number }[] =
      table && table.n > 0 ? await db.all(sql`select created_at from __drizzle_migrations`) : [];
    const applied = new Set(appliedRows.map((row) => Number(row.created_at)));
    const pending = expectedMigrations.filter((m) => !applied.has(m.when)).map((m) => m.tag);
    return { applied: expectedMigrations.length - pending.length, expected: expectedMigrations.length, pending };
  } catch (error) {
    logEvent("error", "health.db_unreachable", { error: describeError(error) });
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function pingLiveHub(env: Env): Promise<"ok" | "unavailable"> {
  try {
    // A hub of its own: health checks never wake a dashboard's hub.
    const status = await liveHub(env, "service:health").status();
    return status.ok ? "ok" : "unavailable";
  } catch (error) {
    logEvent("error", "health.live_hub_unavailable", { error: describeError(error) });
    return "unavailable";
  }
}
