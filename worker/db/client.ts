import { createClient, LibsqlError, type Client } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";

/**
 * drizzle over a libSQL client; the batch writers send hand-built statements through `$client`.
 * No relational schema is passed: nothing uses `db.query`, and drizzle would rebuild the
 * relations table on every `getDatabase` call (measured at ~1 s of CPU per backfill of 8 dates).
 */
export type Database = LibSQLDatabase & { $client: Client };

/** The database settings a Worker needs; production points them at Turso. */
export interface DatabaseConfig {
  TURSO_DATABASE_URL: string;
  TURSO_AUTH_TOKEN: string;
  /**
   * Optional: how long one database request may take, in ms (default 10 000). Not a wrangler.toml var; set it as a
   * secret or in .dev.vars to change it.
   */
  DB_TIMEOUT_MS?: string | number;
}

/** How long one HTTP request to the database may take before it fails with `DatabaseUnavailableError` ("timeout"). */
export const defaultDbTimeoutMs = 10_000;

/** Why the database cannot serve a request right now; each is worth retrying later. */
export type DatabaseFaultReason = "timeout" | "unreachable" | "full" | "busy" | "io_error" | "server_error";

/**
 * The database did not answer (timeout, connection refused or dropped): thrown by the client's
 * fetch wrapper, so it reaches callers as the cause of drizzle's "Failed query" error.
 */
export class DatabaseUnavailableError extends Error {
  readonly reason: "timeout" | "unreachable";
  constructor(reason: "timeout" | "unreachable", message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "DatabaseUnavailableError";
    this.reason = reason;
  }
}

/** `DB_TIMEOUT_MS` when it is a positive number, else the default. */
export function dbTimeoutMs(config: Pick<DatabaseConfig, "DB_TIMEOUT_MS">): number {
  const value = Number(config.DB_TIMEOUT_MS);
  return config.DB_TIMEOUT_MS !== undefined && config.DB_TIMEOUT_MS !== "" && Number.isFinite(value) && value > 0
    ? value
    : defaultDbTimeoutMs;
}

/**
 * fetch with a deadline: the signal covers the response headers and the body the client reads
 * afterwards, so a frozen server fails the query after `timeoutMs` instead of hanging the request.
 */
export function timedFetch(
  timeoutMs: number,
): (input: Request | string | URL, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // The client passes a Request; `init` fields (the signal) apply over it.
      return await fetch(input, { ...init, signal });
    } catch (error) {
      if (signal.aborted)
        throw new DatabaseUnavailableError("timeout", `the database did not answer within ${timeoutMs} ms`, error);
      throw new DatabaseUnavailableError(
        "unreachable",
        `the database could not be reached (${error instanceof Error ? error.message : String(error)})`,
        error,
      );
    }
  };
}

/**
 * A client for one request or one queue/cron invocation: call it once per invocation and
 * pass the result down. It is deliberately not cached per isolate: the web client queues
 * queries behind a shared concurrency limiter, so a client shared by concurrent invocations
 * resolves one request's promises from another's I/O, which workerd forbids ("a promise was
 * resolved from a different request context") and answers with a hung request. The client
 * is a thin wrapper over fetch, so creating one costs next to nothing.
 *
 * Every request to the database has a deadline (`DB_TIMEOUT_MS`, default 10 s; `timeoutMs`
 * overrides it, e.g. for /health).
 */
export function getDatabase(config: DatabaseConfig, options: { timeoutMs?: number } = {}): Database {
  const client = createClient({
    url: config.TURSO_DATABASE_URL,
    // An empty token means "none" (a local server started without auth).
    ...(config.TURSO_AUTH_TOKEN ? { authToken: config.TURSO_AUTH_TOKEN } : {}),
    fetch: timedFetch(options.timeoutMs ?? dbTimeoutMs(config)),
  });
  return drizzle(client);
}

/** A database fault worth a 503: why, and a message safe to show a caller (no SQL, no host). */
export interface DatabaseFault {
  reason: DatabaseFaultReason;
  message: string;
}

const faultMessages: Record<DatabaseFaultReason, string> = {
  timeout: "the database did not answer in time",
  unreachable: "the database cannot be reached",
  full: "the database is full (SQLITE_FULL): writes fail until space is freed",
  busy: "the database is busy",
  io_error: "the database reported an I/O error",
  server_error: "the database server answered with an error",
};

function faultOf(error: unknown): DatabaseFaultReason | null {
  if (error instanceof DatabaseUnavailableError) return error.reason;
  if (!(error instanceof LibsqlError)) return null;
  const code = error.code;
  if (code.startsWith("SQLITE_FULL")) return "full";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy";
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN")) return "io_error";
  if (code === "SERVER_ERROR") {
    // An HTTP status from the server (hrana's HttpServerError): 5xx and 429 are the server's trouble, not the query's.
    const status = (error.cause as { status?: unknown } | undefined)?.status;
    if (typeof status === "number" && (status >= 500 || status === 429)) return "server_error";
  }
  return null;
}

/**
 * Whether `error` (or one of its causes: drizzle wraps the client's error) means the database
 * cannot serve requests right now: timed out, unreachable, full, busy, I/O error, a 5xx. The one
 * classification the error boundary and /health use; anything else is not a database fault.
 */
export function databaseFault(error: unknown): DatabaseFault | null {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    const reason = faultOf(current);
    if (reason !== null) return { reason, message: faultMessages[reason] };
    current = current instanceof Error ? current.cause : undefined;
  }
  return null;
}
