// Position CSV import (`POST /portfolios/:id/positions/import`, body text/csv): a header row
// naming the columns (any order; `symbol`, `instrument`, `quantity`, `opened_on` required, the
// rest of the position fields optional), one position per line. An empty field is an absent
// value. Every error is reported with its line (as an editor numbers it), field and reason;
// nothing is written unless the whole file is valid.
import { required } from "../required.ts";
import { eq } from "drizzle-orm";
import { positions } from "../../schema/index.ts";
import { positionCreateSchema, positionCsvColumns, type PositionCreate } from "../api/portfolios.ts";
import type { Database } from "../db/client.ts";
import { runTransaction, type Write } from "../db/transaction.ts";
import { ApiError } from "../http/errors.ts";
import { readBodyText } from "../http/validation.ts";
import { parseCsv } from "../market-data/csv.ts";
import type { HoldingWritePlan } from "./holding-writes.ts";
import { positionResponse, positionRow, type PositionInsert } from "./records.ts";

export const maxPositionImportBytes = 2 * 1024 * 1024;
export const maxPositionImportRows = 10_000;
/** Errors listed in the response; the count says how many there were. */
const maxListedErrors = 200;

const numericColumns = new Set(["quantity", "cost_basis", "strike", "multiplier", "delta", "implied_vol", "premium"]);
const requiredColumns = ["symbol", "instrument", "quantity", "opened_on"];

export interface ImportLineError {
  line: number;
  path: string;
  message: string;
}

function importFailed(errors: ImportLineError[]): ApiError {
  const listed = errors.slice(0, maxListedErrors);
  const more = errors.length > listed.length ? ` (the first ${listed.length} listed)` : "";
  return new ApiError(
    400,
    "VALIDATION_ERROR",
    `${errors.length} error(s) in the CSV${more}; nothing was imported`,
    listed,
  );
}

export async function importPositionsCsv(
  db: Database,
  request: Request,
  portfolioId: string,
  mode: "append" | "replace",
  planWrites: (rows: readonly PositionInsert[]) => Promise<HoldingWritePlan>,
) {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^text\/csv\b/i.test(contentType))
    throw new ApiError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `send the positions as text/csv (got ${contentType || "no Content-Type"})`,
    );
  const text = await readBodyText(request, maxPositionImportBytes);
  const parsed = parseCsv(text);
  const errors: ImportLineError[] = parsed.errors.map((error) => ({
    line: error.line,
    path: "",
    message: error.reason,
  }));
  const [header, ...records] = parsed.records;
  if (!header) throw importFailed([{ line: 1, path: "", message: "the file is empty; expected a header row" }]);
  const columns = header.fields.map((field) => field.trim().toLowerCase());
  const known = new Set<string>(positionCsvColumns);
  columns.forEach((column, index) => {
    if (!known.has(column))
      errors.push({
        line: header.line,
        path: column || `column ${index + 1}`,
        message: `unknown column "${header.fields[index]}"; columns are ${positionCsvColumns.join(", ")}`,
      });
  });
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) errors.push({ line: header.line, path: column, message: `column ${column} appears twice` });
    seen.add(column);
  }
  for (const column of requiredColumns)
    if (!seen.has(column))
      errors.push({ line: header.line, path: column, message: `the header lacks the required column ${column}` });
  if (records.length === 0) errors.push({ line: header.line, path: "", message: "no positions after the header" });
  if (records.length > maxPositionImportRows)
    throw importFailed([
      {
        line: required(records[maxPositionImportRows], "the first row over the limit").line,
        path: "",
        message: `at most ${maxPositionImportRows} positions per import`,
      },
    ]);
  if (errors.length > 0) throw importFailed(errors);

  const bodies: (PositionCreate & { line: number })[] = [];
  for (const record of records) {
    if (record.fields.length !== columns.length) {
      errors.push({
        line: record.line,
        path: "",
        message: `expected ${columns.length} fields, found ${record.fields.length}`,
      });
      continue;
    }
    const input: Record<string, unknown> = {};
    let lineOk = true;
    columns.forEach((column, index) => {
      const raw = required(record.fields[index], `field ${index + 1} of line ${record.line}`).trim();
      if (raw === "") return;
      if (numericColumns.has(column)) {
        const value = Number(raw);
        if (!Number.isFinite(value) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) {
          errors.push({ line: record.line, path: column, message: `${column} must be a number, got "${raw}"` });
          lineOk = false;
          return;
        }
        input[column] = value;
      } else input[column] = raw;
    });
    if (!lineOk) continue;
    const result = positionCreateSchema.safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues)
        errors.push({ line: record.line, path: issue.path.map(String).join("."), message: issue.message });
      continue;
    }
    bodies.push({ ...result.data, line: record.line });
  }
  if (errors.length > 0) throw importFailed(errors);

  const rows = bodies.map(({ line, ...body }) => ({ ...positionRow(portfolioId, crypto.randomUUID(), body), line }));
  const deletions: Write[] =
    mode === "replace"
      ? [
          db
            .delete(positions)
            .where(eq(positions.portfolioId, portfolioId))
            .returning({ id: positions.id, openedOn: positions.openedOn }),
        ]
      : [];
  const inserts: Write[] = [];
  for (let i = 0; i < rows.length; i += 500)
    inserts.push(
      db
        .insert(positions)
        .values(rows.slice(i, i + 500))
        .returning({ id: positions.id }),
    );
  // Deletions first (replace), then the universe and the rows, in one transaction.
  // The replaced positions' earliest opened_on matters to the history too: read it first.
  const replaced =
    mode === "replace"
      ? await db.select({ openedOn: positions.openedOn }).from(positions).where(eq(positions.portfolioId, portfolioId))
      : [];
  const plan = await planWrites(rows);
  const counts = await runTransaction(db, [...deletions, ...plan.before, ...inserts, ...plan.after]);
  const deleted = deletions.length > 0 ? (counts[0] ?? 0) : 0;
  const stored = await db.select().from(positions).where(eq(positions.portfolioId, portfolioId));
  const ids = new Set(rows.map((row) => row.id));
  return {
    mode,
    imported: rows.length,
    deleted,
    positions: stored.filter((row) => ids.has(row.id)).map(positionResponse),
    /** The imported rows with their lines, for the warnings. */
    rows,
    openedOn: rows.map((row) => row.openedOn),
    replacedOpenedOn: replaced.map((row) => row.openedOn),
  };
}
