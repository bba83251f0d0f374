// What the CSV importers share: the error shape, the header check, and the parsers of one
// cell. Pure (no I/O), so the API and the scripts validate a file the same way.
import { parseCsv } from "./csv.ts";

/** One problem in a file, at the 1-based line the user sees (the header is line 1). */
export interface ImportError {
  line: number;
  column?: string;
  reason: string;
}

export interface TableSpec<Column extends string> {
  /** Every allowed column, in the order the file format documents them. */
  columns: readonly Column[];
  required: readonly Column[];
}

export interface TableRow<Column extends string> {
  line: number;
  /** Trimmed cell text by column; a column absent from the header has no entry. */
  cells: Partial<Record<Column, string>>;
}

export interface Table<Column extends string> {
  /** Columns present in the header, in the file's order. */
  columns: Column[];
  rows: TableRow<Column>[];
  /** Syntax and header errors; when a required column is missing there are no rows. */
  errors: ImportError[];
}

/**
 * Parses `text` as CSV with a header line. Header names are matched case-insensitively after
 * trimming; column order is free. A record whose cells are all blank (",,,") is skipped like an
 * empty line; a record with another number of fields than the header is an error.
 */
export function readTable<Column extends string>(text: string, spec: TableSpec<Column>): Table<Column> {
  const { records, errors: syntaxErrors } = parseCsv(text);
  const errors: ImportError[] = syntaxErrors.map((error) => ({ line: error.line, reason: error.reason }));
  const isBlank = (fields: readonly string[]) => fields.every((field) => field.trim() === "");
  const headerIndex = records.findIndex((record) => !isBlank(record.fields));
  const header = records[headerIndex];
  // A header line with a syntax error is not in `records`; the next line must not stand in for it.
  if (!header || errors.some((error) => error.line < header.line)) {
    if (errors.length === 0)
      errors.push({
        line: 1,
        reason: `the file is empty; expected a header line with columns ${spec.columns.join(",")}`,
      });
    return { columns: [], rows: [], errors: sortErrors(errors) };
  }

  const allowed = new Set<string>(spec.columns);
  const positions = new Map<Column, number>();
  const columns: Column[] = [];
  header.fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (name === "") {
      errors.push({ line: header.line, reason: `column ${index + 1} of the header has no name` });
    } else if (!allowed.has(name)) {
      errors.push({
        line: header.line,
        column: raw.trim(),
        reason: `unknown column "${raw.trim()}"; allowed columns: ${spec.columns.join(", ")}`,
      });
    } else if (positions.has(name as Column)) {
      errors.push({ line: header.line, column: name, reason: `column "${name}" appears twice in the header` });
    } else {
      positions.set(name as Column, index);
      columns.push(name as Column);
    }
  });
  const missing = spec.required.filter((column) => !positions.has(column));
  for (const column of missing) {
    errors.push({ line: header.line, column, reason: `required column "${column}" is missing from the header` });
  }
  if (missing.length > 0) return { columns, rows: [], errors: sortErrors(errors) };

  const rows: TableRow<Column>[] = [];
  for (const record of records.slice(headerIndex + 1)) {
    if (isBlank(record.fields)) continue;
    if (record.fields.length !== header.fields.length) {
      errors.push({
        line: record.line,
        reason: `expected ${header.fields.length} fields as in the header, found ${record.fields.length}`,
      });
      continue;
    }
    const cells: Partial<Record<Column, string>> = {};
    for (const [column, index] of positions) cells[column] = (record.fields[index] ?? "").trim();
    rows.push({ line: record.line, cells });
  }
  return { columns, rows, errors };
}

export function sortErrors(errors: ImportError[]): ImportError[] {
  // Stable: errors of one line keep the order they were found in (left to right).
  return errors
    .map((error, index) => ({ error, index }))
    .sort((a, b) => a.error.line - b.error.line || a.index - b.index)
    .map(({ error }) => error);
}

/** A cell's value, or the reason it is unacceptable (the column is added by the caller). */
export type CellResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const symbolPattern = /^[A-Z0-9^][A-Z0-9.^=/_-]{0,23}$/;

/** Trimmed and upper-cased; letters, digits and . - ^ = / _ (BRK.B, BRK-B, ^GSPC), at most 24. */
export function parseSymbol(raw: string): CellResult<string> {
  const symbol = raw.trim().toUpperCase();
  if (symbol === "") return { ok: false, reason: "symbol is empty" };
  if (!symbolPattern.test(symbol)) {
    return {
      ok: false,
      reason: `symbol "${raw}" is not a valid ticker (letters, digits and . - ^ = / _, at most 24 characters)`,
    };
  }
  return { ok: true, value: symbol };
}

/** A real calendar date written YYYY-MM-DD (2025-02-30 is not one). */
export function parseIsoDate(raw: string, column: string): CellResult<string> {
  if (raw === "") return { ok: false, reason: `${column} is empty` };
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!match) return { ok: false, reason: `${column} "${raw}" is not a date in the form YYYY-MM-DD` };
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (year < 1800 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, reason: `${column} "${raw}" is not a real calendar date` };
  }
  return { ok: true, value: raw };
}

const decimalPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const nonFinitePattern = /^[+-]?(?:nan|inf|infinity)$/i;

/** A plain decimal number (no thousands separators, hex or spaces inside); "" is missing (null). */
export function parseOptionalNumber(raw: string, column: string): CellResult<number | null> {
  if (raw === "") return { ok: true, value: null };
  if (nonFinitePattern.test(raw)) return { ok: false, reason: `${column} "${raw}" is not a finite number` };
  if (!decimalPattern.test(raw)) return { ok: false, reason: `${column} "${raw}" is not a number` };
  const value = Number(raw);
  if (!Number.isFinite(value)) return { ok: false, reason: `${column} "${raw}" is not a finite number` };
  // -0 would compare equal to 0 anyway; store the plain zero.
  return { ok: true, value: value === 0 ? 0 : value };
}

/**
 * The largest close a price file may carry: far above any traded price, far below what overflows a product (issue 15).
 */
export const maxPrice = 1e9;
/** The largest positive amount otherwise (a market cap, an enterprise value). */
export const maxAmount = 1e15;

export function parseOptionalPositive(raw: string, column: string, max = maxAmount): CellResult<number | null> {
  const parsed = parseOptionalNumber(raw, column);
  if (parsed.ok && parsed.value !== null && parsed.value <= 0) {
    return { ok: false, reason: `${column} ${raw} is not positive` };
  }
  if (parsed.ok && parsed.value !== null && parsed.value > max) {
    return { ok: false, reason: `${column} ${raw} is over the largest accepted value, ${max}` };
  }
  return parsed;
}

/** A required price (a close): positive and at most `maxPrice`. */
export function parseRequiredPositive(raw: string, column: string): CellResult<number> {
  if (raw === "") return { ok: false, reason: `${column} is empty` };
  const parsed = parseOptionalPositive(raw, column, maxPrice);
  return parsed.ok ? { ok: true, value: parsed.value ?? Number.NaN } : parsed;
}

export function parseOptionalCount(raw: string, column: string): CellResult<number | null> {
  const parsed = parseOptionalNumber(raw, column);
  if (parsed.ok && parsed.value !== null && (!Number.isSafeInteger(parsed.value) || parsed.value < 0)) {
    return { ok: false, reason: `${column} ${raw} is not a non-negative whole number` };
  }
  return parsed;
}

/** Free text; "" is missing (null). Control characters are refused (a sign of a broken file). */
export function parseOptionalText(raw: string, column: string, maxLength = 200): CellResult<string | null> {
  if (raw === "") return { ok: true, value: null };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
  if (/[\u0000-\u001f\u007f]/.test(raw))
    return { ok: false, reason: `${column} contains a control character or line break` };
  if (raw.length > maxLength) return { ok: false, reason: `${column} is longer than ${maxLength} characters` };
  return { ok: true, value: raw };
}
