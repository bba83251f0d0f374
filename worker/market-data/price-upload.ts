// Validation of a bulk JSON price upload, `{"prices": [{date, symbol, close, adj_close?, volume?}]}`:
// the JSON twin of the prices CSV (`price-import.ts`). The zod schema checks the shape and applies
// the CSV import's per-field rules (the same parsers from `import-fields.ts`, so the same
// messages); errors point at the element, `prices[3].close`, instead of a line. Repeats are
// handled as in the CSV: an identical repeat of (symbol, date) is kept once and listed, a repeat
// with different values is an error citing the first. Every problem is reported, not just the
// first, and the upload is all-or-nothing like a file; the rows feed `writePrices` unchanged.
//
// JSON carries numbers as numbers: close, adj_close and volume must be JSON numbers (a numeric
// string is a type error), and adj_close / volume may be null or left out (the CSV's empty cell).
// Strings are trimmed as the CSV reader trims cells, and symbols are upper-cased, so the same
// data uploaded as CSV or JSON gives the same rows.
//
// Bad ticks are refused as in the CSV: a symbol's close or adjusted close moving by more than a
// factor of `max_daily_move` (default 5) between its consecutive elements by date is an error at
// the later element's field, citing the earlier element. The body may set the bound for its
// own rows; it may only be a number > 1 (JSON has no Infinity; a caller that must disable the
// check passes `maxDailyMove: Infinity` in the options).
import { z } from "zod";
import {
  maxPrice,
  parseIsoDate,
  parseOptionalCount,
  parseOptionalPositive,
  parseRequiredPositive,
  parseSymbol,
} from "./import-fields.ts";
import type { CellResult } from "./import-fields.ts";
import { checkMaxDailyMove, defaultMaxDailyMove, describeSuspectMove, findSuspectMoves } from "./price-import.ts";
import type { PriceRow } from "./price-import.ts";

/** More rows than this in one request is refused; larger histories go in several uploads. */
export const maxPriceUploadRows = 100_000;

const fieldNames = ["date", "symbol", "close", "adj_close", "volume"] as const;
const bodyFieldNames = ["prices", "max_daily_move"] as const;
/** The order the CSV import checks a row's cells in, so one row's errors read the same in both. */
const checkOrder: readonly string[] = ["symbol", "date", "close", "adj_close", "volume"];

/** zod's type error for `field`, worded like the CSV import's messages. */
function typeError(field: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is missing` : `${field} must be ${expected}, got ${jsonType(issue.input)}`;
}

/** Applies a shared import rule as a zod refinement, so its message is the CSV import's. */
function rule<T>(parse: (value: T) => CellResult<unknown>) {
  return (value: T, ctx: z.RefinementCtx) => {
    const result = parse(value);
    if (!result.ok) ctx.addIssue({ code: "custom", message: result.reason });
  };
}

const text = (value: number) => String(value);

const rowShape = {
  date: z
    .string({ error: typeError("date", "a string") })
    .superRefine(rule((value: string) => parseIsoDate(value.trim(), "date")))
    .meta({
      format: "date",
      description: "Trading date, YYYY-MM-DD (a real calendar date).",
      examples: ["2025-01-02"],
    }),
  symbol: z
    .string({ error: typeError("symbol", "a string") })
    .superRefine(rule(parseSymbol))
    .meta({
      description: "Ticker; trimmed and upper-cased. Letters, digits and . - ^ = / _, at most 24 characters.",
      examples: ["AAPL", "BRK.B"],
    }),
  close: z
    .number({ error: typeError("close", "a number") })
    .superRefine(rule((value: number) => parseRequiredPositive(text(value), "close")))
    .meta({ exclusiveMinimum: 0, description: "Closing price, > 0.", examples: [243.85] }),
  adj_close: z
    .number({ error: typeError("adj_close", "a number or null") })
    .superRefine(rule((value: number) => parseOptionalPositive(text(value), "adj_close", maxPrice)))
    .nullable()
    .optional()
    .meta({ exclusiveMinimum: 0, description: "Adjusted close, > 0; null or absent when unknown." }),
  volume: z
    .number({ error: typeError("volume", "a number or null") })
    .superRefine(rule((value: number) => parseOptionalCount(text(value), "volume")))
    .nullable()
    .optional()
    .meta({ description: "Shares traded, a non-negative whole number; null or absent when unknown." }),
};

export const priceUploadRowSchema = z
  .strictObject(rowShape, {
    error: (issue) =>
      issue.code === "invalid_type"
        ? `each price must be an object {date, symbol, close, adj_close?, volume?}, got ${jsonType(issue.input)}`
        : undefined,
  })
  .meta({ description: "One daily close." });

/** The body's optional bound on a one-day move (the CSV import's `--max-daily-move`). */
const maxDailyMoveSchema = z
  .number({ error: typeError("max_daily_move", "a number") })
  .gt(1, { error: (issue) => `max_daily_move must be a factor > 1, e.g. 5, got ${String(issue.input)}` })
  .meta({
    description:
      "The largest factor a symbol's close (or adjusted close) may move by " +
      `between its consecutive rows by date in this upload, ` +
      `either way: a ratio above it or below its inverse is refused. > 1; default ${defaultMaxDailyMove}.`,
    examples: [8],
  });

/** The request body. Exported for the API's OpenAPI document. */
export const priceUploadSchema = z
  .strictObject({
    prices: z
      .array(priceUploadRowSchema)
      .max(maxPriceUploadRows)
      .meta({ description: `At most ${maxPriceUploadRows} rows.` }),
    max_daily_move: maxDailyMoveSchema.optional(),
  })
  .meta({ description: "A bulk price upload; validated like the prices CSV import, all-or-nothing." });

export type PriceUploadBody = z.input<typeof priceUploadSchema>;

export interface PriceUploadError {
  /** Where the problem is: `prices[3].close`, `prices[3]` (the row), `prices`, or "" (the body). */
  path: string;
  /** The element's 0-based index in `prices`, when the problem is in one. */
  index?: number;
  field?: string;
  reason: string;
}

export type PriceUploadResult =
  | {
      ok: true;
      /** One row per (symbol, date); `line` is the element's 0-based index in `prices`. */
      rows: PriceRow[];
      /** Indexes of elements that repeated an earlier one exactly and were skipped. */
      duplicateIndexes: number[];
    }
  | { ok: false; errors: PriceUploadError[] };

export interface PriceUploadOptions {
  /**
   * The bound on a one-day move when the body has no `max_daily_move` (> 1; `Infinity`
   * disables the check). Default `defaultMaxDailyMove`.
   */
  maxDailyMove?: number;
}

// The envelope only: rows are checked one by one below and `max_daily_move` on its own, so a
// bad element or bound never hides the other problems.
const bodySchema = z.strictObject({
  prices: z.array(z.unknown(), { error: typeError("prices", "an array") }),
  max_daily_move: z.unknown().optional(),
});

/** Validates a parsed JSON body (`unknown`: whatever `JSON.parse` / `c.req.json()` gave). */
export function validatePriceUpload(body: unknown, options: PriceUploadOptions = {}): PriceUploadResult {
  const defaultBound = checkMaxDailyMove(options.maxDailyMove ?? defaultMaxDailyMove);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      errors: [{ path: "", reason: `the body must be a JSON object {"prices": [...]}, got ${jsonType(body)}` }],
    };
  }
  const shape = bodySchema.safeParse(body);
  if (!shape.success) return { ok: false, errors: shape.error.issues.flatMap((issue) => toErrors(issue, [])) };
  const elements = shape.data.prices;
  if (elements.length > maxPriceUploadRows) {
    return {
      ok: false,
      errors: [
        {
          path: "prices",
          reason: `at most ${maxPriceUploadRows} rows per upload, got ${elements.length}; split the upload`,
        },
      ],
    };
  }

  const errors: PriceUploadError[] = [];
  let maxDailyMove: number | undefined = defaultBound;
  if (shape.data.max_daily_move !== undefined) {
    const bound = maxDailyMoveSchema.safeParse(shape.data.max_daily_move);
    if (bound.success) maxDailyMove = bound.data;
    else {
      // Without a bound the caller meant, the move check is skipped rather than run on a guess.
      maxDailyMove = undefined;
      errors.push(...bound.error.issues.flatMap((issue) => toErrors(issue, ["max_daily_move"])));
    }
  }
  const rows: PriceRow[] = [];
  const duplicateIndexes: number[] = [];
  const firstBySymbolDate = new Map<string, PriceRow>();
  elements.forEach((element, index) => {
    const parsed = priceUploadRowSchema.safeParse(element);
    if (!parsed.success) {
      errors.push(...parsed.error.issues.flatMap((issue) => toErrors(issue, ["prices", index])));
      return;
    }
    const value = parsed.data;
    // Valid by the refinements above; parsed again for the normalized values (trimmed, upper case).
    // Numbers go through the same parsers too (a JavaScript number's String() reads back exactly),
    // so e.g. a volume of -0 is stored as 0, as the CSV import stores it.
    const row: PriceRow = {
      symbol: validatedValue(parseSymbol(value.symbol)),
      date: validatedValue(parseIsoDate(value.date.trim(), "date")),
      close: validatedValue(parseRequiredPositive(text(value.close), "close")),
      adjClose:
        value.adj_close == null ? null : validatedValue(parseOptionalPositive(text(value.adj_close), "adj_close")),
      volume: value.volume == null ? null : validatedValue(parseOptionalCount(text(value.volume), "volume")),
      line: index,
    };
    const key = `${row.symbol}\u0000${row.date}`;
    const earlier = firstBySymbolDate.get(key);
    if (!earlier) {
      firstBySymbolDate.set(key, row);
      rows.push(row);
    } else if (earlier.close === row.close && earlier.adjClose === row.adjClose && earlier.volume === row.volume) {
      duplicateIndexes.push(index);
    } else {
      errors.push({
        path: `prices[${index}]`,
        index,
        reason:
          `${row.symbol} on ${row.date} is already at prices[${earlier.line}] with different values ` +
          `(${describe(earlier)} there, ${describe(row)} here)`,
      });
    }
  });
  if (maxDailyMove !== undefined) {
    for (const move of findSuspectMoves(rows, maxDailyMove)) {
      errors.push({
        path: `prices[${move.to.line}].${move.field}`,
        index: move.to.line,
        field: move.field,
        reason: describeSuspectMove(move, maxDailyMove, (row) => `prices[${row.line}]`, "max_daily_move"),
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, rows, duplicateIndexes };
}

/** `prices[3].close` from zod's path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function toErrors(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): PriceUploadError[] {
  const path = [...prefix, ...issue.path];
  const index = typeof path[1] === "number" && path[0] === "prices" ? path[1] : undefined;
  const at = (full: readonly PropertyKey[], reason: string): PriceUploadError => {
    const field = full.length === 3 && typeof full[2] === "string" ? full[2] : undefined;
    return {
      path: formatPath(full),
      ...(index === undefined ? {} : { index }),
      ...(field === undefined ? {} : { field }),
      reason,
    };
  };
  if (issue.code === "unrecognized_keys") {
    const allowed = (path.length === 0 ? bodyFieldNames : fieldNames).join(", ");
    return issue.keys.map((key) => at([...path, key], `unknown field "${key}"; allowed fields: ${allowed}`));
  }
  return [at(path, issue.message)];
}

function sortErrors(errors: PriceUploadError[]): PriceUploadError[] {
  // Stable: by element, and within one in the order the fields were checked.
  const fieldOrder = (error: PriceUploadError) => {
    const at = error.field === undefined ? -1 : checkOrder.indexOf(error.field);
    return at < 0 ? checkOrder.length : at;
  };
  return errors
    .map((error, position) => ({ error, position }))
    .sort(
      (a, b) =>
        (a.error.index ?? -1) - (b.error.index ?? -1) ||
        fieldOrder(a.error) - fieldOrder(b.error) ||
        a.position - b.position,
    )
    .map(({ error }) => error);
}

function validatedValue<T>(result: CellResult<T>): T {
  if (!result.ok) throw new Error(`validated value failed again: ${result.reason}`);
  return result.value;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function describe(row: PriceRow): string {
  const parts = [`close ${row.close}`];
  if (row.adjClose !== null) parts.push(`adj_close ${row.adjClose}`);
  if (row.volume !== null) parts.push(`volume ${row.volume}`);
  return parts.join(", ");
}
