// Reads that travel together: a route's statements sent as one libSQL batch, that is one HTTP
// request (one Hrana pipeline) and one read transaction, instead of one request per query.
// Each request to the database cost the Worker about a millisecond of CPU (the fetch, encoding
// the pipeline and decoding the answer; `npm run bench:api -- --profile`), and the
// transaction makes the statements read one snapshot: a data version read with the data
// describes exactly that data (worker/http/etag.ts).
//
// Statements are SQL text with `?` arguments. Hot routes build their text once per isolate and
// shape, rather than through drizzle's query builder on every request (building and mapping a
// query cost a tenth of the routes' CPU), and read their rows by index.
import type { InValue, ResultSet, Row } from "@libsql/client/web";
import type { SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";

export interface ReadStatement {
  sql: string;
  args: InValue[];
}

/** Runs `statements` as one read transaction in one request; one result per statement, in order. */
export async function readTogether(
  db: Pick<Database, "$client">,
  statements: readonly ReadStatement[],
): Promise<ResultSet[]> {
  if (statements.length === 0) return [];
  return db.$client.batch([...statements], "read");
}

/** The first row of a result, or undefined. */
export function firstRow(result: ResultSet | undefined): Row | undefined {
  return result?.rows[0];
}

const dialect = new SQLiteSyncDialect();

/** A drizzle SQL fragment as text and arguments (values already mapped for the driver). */
export function toStatement(query: SQL): ReadStatement {
  const { sql, params } = dialect.sqlToQuery(query);
  return { sql, args: params as InValue[] };
}
