import type { InStatement, InValue } from "@libsql/client/web";
import type { Database } from "./client.ts";
import type { WriteStatement } from "./upsert.ts";

/** A hand-built statement, or a drizzle write (with `returning`, to count its rows). */
export type Write = WriteStatement | { toSQL(): { sql: string; params: unknown[] } };

/**
 * Runs the upserts, then the deletions, as one transaction (a libSQL write batch): all of them
 * or none. Every statement has a `returning` clause, so the rows it returns are the rows it
 * wrote (an upsert that changes nothing returns none) or deleted.
 */
export async function runWrites(db: Pick<Database, "$client">, upserts: readonly Write[], deletions: readonly Write[] = []): Promise<{ written: number; deleted: number }> {
  const statements = [...upserts, ...deletions];
  if (statements.length === 0) return { written: 0, deleted: 0 };
  const batch: InStatement[] = statements.map((statement) => {
    if (!("toSQL" in statement)) return statement;
    const { sql, params } = statement.toSQL();
    // drizzle has already mapped the values to driver values in toSQL.
    return { sql, args: params as InValue[] };
  });
  const results = await db.$client.batch(batch, "write");
  const rows = results.map((result) => result.rows.length);
  const total = (counts: number[]) => counts.reduce((sum, count) => sum + count, 0);
  return { written: total(rows.slice(0, upserts.length)), deleted: total(rows.slice(upserts.length)) };
}
