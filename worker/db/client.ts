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

// One client per isolate and database: the web client is a thin HTTP wrapper, so reusing
// it only saves re-parsing the URL, but it keeps request handlers free of set-up code.
const clients = new Map<string, Database>();

export function getDatabase(config: DatabaseConfig): Database {
  const cacheKey = `${config.TURSO_DATABASE_URL}\u0000${config.TURSO_AUTH_TOKEN}`;
  let db = clients.get(cacheKey);
  if (!db) {
    const client = createClient({
      url: config.TURSO_DATABASE_URL,
      // An empty token means "none" (a local server started without auth).
      ...(config.TURSO_AUTH_TOKEN ? { authToken: config.TURSO_AUTH_TOKEN } : {}),
    });
    db = drizzle(client, { schema });
    clients.set(cacheKey, db);
  }
  return db;
}
