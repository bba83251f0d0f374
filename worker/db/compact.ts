// Compact bulk reads: SQLite concatenates a group's rows into one text cell, so a read of
// thousands of values crosses Hrana as a handful of cells instead of one JSON object per value.
// Numbers are written with `printf('%!.17g')`, which round-trips a double exactly, and NULL as
// an empty field (printf would render it as 0.0). worker/db/prices.ts reads closes this way; the
// exposures route, which read its rows this way too, now has SQLite build its JSON outright
// (worker/db/portfolio-reads.ts).
import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/** A REAL column as exact text, NULL as ''. */
export function exactText(column: SQLWrapper): SQL<string> {
  return sql<string>`(case when ${column} is null then '' else printf('%!.17g', ${column}) end)`;
}

/** `exactText` for SQL written as text (`column` an expression such as `b.beta_value`). */
export function exactTextSql(column: string): string {
  return `(case when ${column} is null then '' else printf('%!.17g', ${column}) end)`;
}

/** `packedRows`' text (or one written the same way in SQL) as rows of fields; NULL or '' is no rows. */
export function packedLines(value: unknown): string[][] {
  return typeof value === "string" && value !== "" ? value.split(";").map((line) => line.split(",")) : [];
}

/** A packed field as a number, '' (NULL) as null. */
export function packedNumber(field: string | undefined): number | null {
  return field === undefined || field === "" ? null : Number(field);
}

/**
 * `group_concat` of `fields` joined by ',' per row and ';' between rows, in `orderBy`'s order when
 * given (SQL promises no order inside a group otherwise). A field that is NULL would make its whole
 * row NULL, and group_concat would drop the row without a word: wrap nullable columns in
 * `exactText`; the others must be NOT NULL.
 */
export function packedRows(fields: readonly SQL[], orderBy?: SQLWrapper): SQL<string> {
  const joined = sql.join([...fields], sql` || ',' || `);
  return orderBy === undefined
    ? sql<string>`group_concat(${joined}, ';')`
    : sql<string>`group_concat(${joined}, ';' order by ${orderBy})`;
}

/** `packedRows` for SQL written as text (fields such as `b.symbol`, `exactTextSql("b.beta_value")`). */
export function packedRowsSql(fields: readonly string[], orderBy?: string): string {
  return `group_concat(${fields.join(" || ',' || ")}, ';'${orderBy === undefined ? "" : ` order by ${orderBy}`})`;
}
