import type { InStatement, InValue } from "@libsql/client/web";
import type { Database } from "./client.ts";
import type { WriteStatement } from "./upsert.ts";

/** A hand-built statement, or a drizzle write (with `returning`, to count its rows). */
export type Write = WriteStatement | { toSQL(): { sql: string; params: unknown[] } };

/**
 * Runs the statements in order as one transaction (a libSQL write batch): all of them or none.
 * Returns, per statement, the number of rows it returned (with `returning`: the rows it wrote
 * or deleted; an upsert that changes nothing returns none).
 */
export async function runTransaction(db: Pick<Database, "$client">, statements: readonly Write[]): Promise<number[]> {
  if (statements.length === 0) return [];
  const batch: InStatement[] = statements.map((statement) => {
    if (!("toSQL" in statement)) return statement;
    const { sql, params } = statement.toSQL();
    // drizzle has already mapped the values to driver values in toSQL.
    return { sql, args: params as InValue[] };
  });
  const results = await db.$client.batch(batch, "write");
  return results.map((result) => result.rows.length);
}

const total = (counts: readonly number[]) => counts.reduce((sum, count) => sum + count, 0);

/** The upserts, then the deletions, as one transaction: the rows written and deleted. */
export async function runWrites(
  db: Pick<Database, "$client">,
  upserts: readonly Write[],
  deletions: readonly Write[] = [],
): Promise<{ written: number; deleted: number }> {
  const rows = await runTransaction(db, [...upserts, ...deletions]);
  return { written: total(rows.slice(0, upserts.length)), deleted: total(rows.slice(upserts.length)) };
}
