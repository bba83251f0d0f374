import { createClient } from "@libsql/client/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import * as schema from "../../schema/index.ts";

export type Database = LibSQLDatabase<typeof schema>;

/** The database settings a Worker needs; production points them at Turso. */
export interface DatabaseConfig {
  TURSO_DATABASE_URL: string;
  TURSO_AUTH_TOKEN: string;
}

/**
 * A client for one request or one queue/cron invocation: call it once per invocation and
 * pass the result down. It is deliberately not cached per isolate: the web client queues
 * queries behind a shared concurrency limiter, so a client shared by concurrent invocations
 * resolves one request's promises from another's I/O, which workerd forbids ("a promise was
 * resolved from a different request context") and answers with a hung request. The client
 * is a thin wrapper over fetch, so creating one costs next to nothing.
 */
export function getDatabase(config: DatabaseConfig): Database {
  const client = createClient({
    url: config.TURSO_DATABASE_URL,
    // An empty token means "none" (a local server started without auth).
    ...(config.TURSO_AUTH_TOKEN ? { authToken: config.TURSO_AUTH_TOKEN } : {}),
  });
  return drizzle(client, { schema });
}
