import { sql } from "drizzle-orm";
import { Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import journal from "../../schema/migrations/meta/_journal.json" with { type: "json" };
import { databaseFault, getDatabase } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import { liveHub } from "../realtime/live-hub.ts";

export interface MigrationState {
  applied: number;
  expected: number;
  pending: string[];
}

export interface StorageProblem {
  code: string;
  message: string;
}

export interface HealthReport {
  status: "ok" | "degraded" | "unavailable";
  db: "ok" | "unreachable";
  /**
   * The database server's own account of its storage, from its GET /health: "degraded" with the
   * problems it names (a disk nearly full, a recent SQLITE_FULL), "unknown" when the server does
   * not say (Turso's cloud, or a server that did not answer in time). Read without writing.
   */
  storage: "ok" | "degraded" | "unknown";
  migrations: MigrationState | null;
  live: "ok" | "unavailable";
  version: string;
  problems?: StorageProblem[];
  error?: { code: string; message: string };
}

// drizzle records each applied migration with the journal entry's `when` as created_at.
const expectedMigrations = journal.entries.map((entry) => ({ tag: entry.tag, when: entry.when }));

/**
 * How long each check may take: /health answers within about this long even when the database
 * or the live hub never answers (the database client's own deadline, and a race as a backstop).
 */
export const healthCheckTimeoutMs = 1500;

class CheckTimeoutError extends Error {
  constructor(what: string) {
    super(`${what} did not answer within ${healthCheckTimeoutMs} ms`);
    this.name = "CheckTimeoutError";
  }
}

/** `promise`, or a CheckTimeoutError after `healthCheckTimeoutMs`. */
async function withDeadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(what)), healthCheckTimeoutMs + 100);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function dbErrorMessage(error: Error): string {
  if (error instanceof CheckTimeoutError) return `the database did not answer within ${healthCheckTimeoutMs} ms`;
  const fault = databaseFault(error);
  if (fault?.reason === "timeout") return `the database did not answer within ${healthCheckTimeoutMs} ms`;
  return fault?.message ?? "the database did not answer";
}

export const healthRoutes = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const [migrations, live, storage] = await Promise.all([
    readMigrationState(c.env),
    pingLiveHub(c.env),
    readStorageState(c.env),
  ]);
  if (migrations instanceof Error) {
    const body: HealthReport = {
      status: "unavailable",
      db: "unreachable",
      storage: "unknown",
      migrations: null,
      live,
      version: packageJson.version,
      error: { code: "DB_UNAVAILABLE", message: dbErrorMessage(migrations) },
    };
    return c.json(body, 503, { "Retry-After": "5" });
  }
  const healthy = migrations.pending.length === 0 && live === "ok" && storage.state !== "degraded";
  const body: HealthReport = {
    status: healthy ? "ok" : "degraded",
    db: "ok",
    storage: storage.state,
    migrations,
    live,
    version: packageJson.version,
    ...(storage.problems.length > 0 ? { problems: storage.problems } : {}),
  };
  return c.json(body, healthy ? 200 : 503, healthy ? {} : { "Retry-After": "5" });
});

/** The database server's /health URL, for the HTTP(S) URLs a libSQL server answers on; null for others. */
export function databaseHealthUrl(databaseUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return null;
  }
  const protocol = { "http:": "http:", "https:": "https:", "libsql:": "https:", "ws:": "http:", "wss:": "https:" }[
    url.protocol
  ];
  if (protocol === undefined) return null;
  return `${protocol}//${url.host}/health`;
}

function isStorageProblem(value: unknown): value is StorageProblem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/**
 * Asks the database server how its storage is (our local server answers with free space and
 * recent SQLITE_FULL failures; see docs/libsql-server.md). Anything but a clear answer is
 * "unknown" and does not degrade /health: the SELECTs above already tell whether it answers.
 */
async function readStorageState(env: Env): Promise<{ state: HealthReport["storage"]; problems: StorageProblem[] }> {
  const unknown = { state: "unknown" as const, problems: [] };
  const url = databaseHealthUrl(env.TURSO_DATABASE_URL ?? "");
  if (url === null) return unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(healthCheckTimeoutMs) });
    if (!(response.headers.get("content-type") ?? "").includes("application/json")) {
      await response.body?.cancel();
      return unknown;
    }
    const body: unknown = await response.json();
    if (typeof body !== "object" || body === null) return unknown;
    const { status, problems } = body as { status?: unknown; problems?: unknown };
    if (status === "ok") return { state: "ok", problems: [] };
    if (status === "degraded" && Array.isArray(problems)) {
      return {
        state: "degraded",
        problems: problems.filter(isStorageProblem).map(({ code, message }) => ({ code, message })),
      };
    }
    return unknown;
  } catch (error) {
    logEvent("warn", "health.storage_unknown", { error: describeError(error) });
    return unknown;
  }
}

async function readMigrationState(env: Env): Promise<MigrationState | Error> {
  try {
    return await withDeadline("the database", queryMigrationState(env));
  } catch (error) {
    logEvent("error", "health.db_unreachable", { error: describeError(error) });
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Read-only, by design: /health never writes. A full disk shows through the database server's
 * own /health (readStorageState); writes that hit SQLITE_FULL answer 503 DATABASE_UNAVAILABLE
 * (reason "full") from the error boundary.
 */
async function queryMigrationState(env: Env): Promise<MigrationState> {
  // A missing or malformed TURSO_DATABASE_URL throws here, and is a 503 too.
  const db = getDatabase(env, { timeoutMs: healthCheckTimeoutMs });
  const table = await db.get<{ n: number }>(
    sql`select count(*) as n from sqlite_master where type = 'table' and name = '__drizzle_migrations'`,
  );
  const appliedRows: { created_at: number }[] =
    table && table.n > 0 ? await db.all(sql`select created_at from __drizzle_migrations`) : [];
  const applied = new Set(appliedRows.map((row) => Number(row.created_at)));
  const pending = expectedMigrations.filter((m) => !applied.has(m.when)).map((m) => m.tag);
  return { applied: expectedMigrations.length - pending.length, expected: expectedMigrations.length, pending };
}

async function pingLiveHub(env: Env): Promise<"ok" | "unavailable"> {
  try {
    // A hub of its own: health checks never wake a dashboard's hub.
    const status = await withDeadline("the live hub", liveHub(env, "service:health").status());
    return status.ok ? "ok" : "unavailable";
  } catch (error) {
    logEvent("error", "health.live_hub_unavailable", { error: describeError(error) });
    return "unavailable";
  }
}
