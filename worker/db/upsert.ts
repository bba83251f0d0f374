// Idempotent bulk upserts for the batch writers, built as SQL text by hand.
//
// drizzle's insert builder turns every value into a Param object and walks them all again
// when rendering: 12 statements of 500 rows × 11 columns took ~200 ms of CPU to build (Node,
// measured), a fifth of a universe-factors chunk. These statements are fixed in shape — a
// column list, `?` placeholders, an ON CONFLICT clause — so building the text directly costs
// next to nothing. The column names, their driver-value mapping (JSON columns, enums) and the
// table's defaults still come from the drizzle schema, so the schema stays the one definition.
import { getTableColumns, getTableName } from "drizzle-orm";
import type { InValue } from "@libsql/client/web";
import { required } from "../required.ts";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";

/** One parameterised statement for `runWrites` (worker/db/transaction.ts). */
export interface WriteStatement {
  sql: string;
  args: InValue[];
}

/** Columns an upsert never rewrites: the surrogate id and the row's creation time. */
const neverUpdated = new Set(["id", "createdAt", "updatedAt"]);
/** `updated_at` is set to now only when a row really changes. */
const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
/** SQLite's bound-parameter limit is 32,766; statements stay well inside it. */
const maxParameters = 16_000;
const maxRowsPerStatement = 500;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Statements upserting `rows` into `table` on the natural key `keyProperties`: every column
 * except the key, the id and the timestamps takes the incoming value, and only when some
 * value differs (`IS NOT`, so NULLs compare), so a replay touches no row — not even
 * `updated_at` — and each statement returns exactly the rows written (`returning` the key's
 * first column). Columns a row leaves out take the table's SQL defaults; every row must give
 * the same columns (the batch writers build them from one type).
 */
export function upsertStatements<T extends SQLiteTable>(
  table: T,
  keyProperties: readonly (keyof T["_"]["columns"] & string)[],
  rows: readonly T["$inferInsert"][],
): WriteStatement[] {
  const first = rows[0];
  if (!first) return [];
  const all = getTableColumns(table) as Record<string, SQLiteColumn>;
  const properties = Object.keys(first).filter((property) => property in all);
  const unknown = Object.keys(first).filter((property) => !(property in all));
  if (unknown.length > 0) throw new Error(`upsert into ${getTableName(table)}: unknown columns ${unknown.join(", ")}`);
  const column = (property: string) => required(all[property], `column ${property} of ${getTableName(table)}`);
  const columns = properties.map(column);
  const fields = properties.map((property) => ({ property, column: column(property) }));
  const keys = keyProperties.map(column);
  const keyColumn = required(keys[0], `a key column of ${getTableName(table)}`);
  const updated = properties.filter(
    (property) => !neverUpdated.has(property) && !(keyProperties as readonly string[]).includes(property),
  );
  const tableName = quote(getTableName(table));
  const set = updated.map((property) => `${quote(column(property).name)} = excluded.${quote(column(property).name)}`);
  const updatedAt = all["updatedAt"];
  if (updatedAt) set.push(`${quote(updatedAt.name)} = ${now}`);
  const changed = updated.map(
    (property) => `${tableName}.${quote(column(property).name)} is not excluded.${quote(column(property).name)}`,
  );
  const conflict =
    ` on conflict (${keys.map((column) => quote(column.name)).join(", ")}) do ` +
    (set.length > 0
      ? `update set ${set.join(", ")} where ${changed.length > 0 ? changed.join(" or ") : "0"}`
      : "nothing") +
    ` returning ${quote(keyColumn.name)}`;
  const head = `insert into ${tableName} (${columns.map((column) => quote(column.name)).join(", ")}) values `;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  const perStatement = Math.max(1, Math.min(maxRowsPerStatement, Math.floor(maxParameters / columns.length)));

  const statements: WriteStatement[] = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const batch = rows.slice(start, start + perStatement);
    const args: InValue[] = [];
    for (const row of batch) {
      const record = row as Record<string, unknown>;
      for (const { property, column } of fields) {
        if (!(property in record)) throw new Error(`upsert into ${getTableName(table)}: a row lacks ${property}`);
        const value = record[property];
        args.push(value === null || value === undefined ? null : (column.mapToDriverValue(value) as InValue));
      }
    }
    statements.push({ sql: head + Array.from({ length: batch.length }, () => tuple).join(", ") + conflict, args });
  }
  return statements;
}
