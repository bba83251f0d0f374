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

/** `group_concat` of `fields` joined by ',' per row and ';' between rows. */
export function packedRows(fields: readonly SQL[]): SQL<string> {
  return sql<string>`group_concat(${sql.join([...fields], sql` || ',' || `)}, ';')`;
}
