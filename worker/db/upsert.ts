import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { isoNow } from "../../schema/columns.ts";

/** Columns an upsert never rewrites: the surrogate id and the row's creation time. */
const neverUpdated = new Set(["id", "createdAt", "updatedAt"]);

/**
 * The `set` and `setWhere` of an idempotent upsert (`onConflictDoUpdate`) on `table`: every
 * column except the natural key (`keyProperties`), the id and the timestamps takes the
 * incoming value, and only when some value differs (`IS NOT`, so NULLs compare), so a replay
 * touches no row — not even `updated_at`, which is set to now only on a real change — and
 * `returning` counts exactly the rows written.
 */
export function changedColumnsUpdate<T extends SQLiteTable>(table: T, keyProperties: readonly (keyof T["_"]["columns"] & string)[]): { set: Record<string, SQL>; setWhere: SQL } {
  const all = getTableColumns(table);
  const columns = Object.entries(all).filter(([property]) => !neverUpdated.has(property) && !(keyProperties as readonly string[]).includes(property));
  const set: Record<string, SQL> = Object.fromEntries(columns.map(([property, column]) => [property, sql.raw(`excluded.${column.name}`)]));
  if ("updatedAt" in all) set["updatedAt"] = sql`${isoNow}`;
  const setWhere = sql.join(
    columns.map(([, column]) => sql`${column} is not ${sql.raw(`excluded.${column.name}`)}`),
    sql` or `,
  );
  return { set, setWhere };
}
