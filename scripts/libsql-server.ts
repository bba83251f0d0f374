// Runs the local Hrana-over-HTTP server (a stand-in for Turso) until SIGINT or SIGTERM.
// Flags win over environment variables: --port/LIBSQL_PORT, --host/LIBSQL_HOST,
// --db/LIBSQL_DB_PATH, --auth-token/LIBSQL_AUTH_TOKEN; LIBSQL_MAX_CONNECTIONS (128) and
// LIBSQL_MIN_FREE_BYTES (16 MiB, under which /health says degraded) from the environment only.
// Prefer LIBSQL_AUTH_TOKEN to --auth-token: a command line is readable by every local user
// (`ps`, /proc/<pid>/cmdline), a process's environment only by its owner.
import { chmodSync, existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./libsql-server/server.ts";

// Owner-only files: the database holds every tenant's portfolios. The umask is process-wide, so
// it also covers what the native libsql library creates (the database file, its -wal and -shm)
// and the database directory the server creates (0700). Set before anything is created.
process.umask(0o077);

function fail(message: string): never {
  process.stderr.write(`libsql-server: ${message}\n`);
  process.exit(1);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        db: { type: "string" },
        "auth-token": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail(describeError(error));
  }
}

const flags = parseFlags();

const portText = flags.port ?? process.env.LIBSQL_PORT ?? "8080";
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65_535) fail(`invalid port ${JSON.stringify(portText)}`);
const host = flags.host ?? process.env.LIBSQL_HOST ?? "127.0.0.1";
const dbPath = flags.db ?? process.env.LIBSQL_DB_PATH ?? ".data/factor.db";
const authToken = flags["auth-token"] ?? process.env.LIBSQL_AUTH_TOKEN;

function positiveIntegerFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) fail(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}
const maxConnections = positiveIntegerFromEnv("LIBSQL_MAX_CONNECTIONS");
const minFreeBytes = positiveIntegerFromEnv("LIBSQL_MIN_FREE_BYTES");

// A database created before the umask above (0644) is tightened too; an existing directory is
// left as it is (it may be shared, e.g. a --db under /tmp).
for (const suffix of ["", "-wal", "-shm"]) {
  const file = dbPath + suffix;
  if (existsSync(file)) chmodSync(file, 0o600);
}

const server = await startLibsqlServer({
  dbPath,
  port,
  host,
  ...(authToken ? { authToken } : {}),
  ...(maxConnections === undefined ? {} : { maxConnections }),
  ...(minFreeBytes === undefined ? {} : { minFreeBytes }),
}).catch((error: unknown) => fail(`could not start: ${describeError(error)}`));
process.stdout.write(`libsql-server listening on ${server.url} (db: ${dbPath})\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      fail(`error while closing: ${describeError(error)}`);
    },
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
