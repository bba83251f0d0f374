// Field schemas shared by the API's request schemas: each names its field in its messages, so
// a 400 reads "limit must be an integer from 1 to 500, got "abc"" rather than zod's default.
// The bounds here are the API's input limits (docs/api.md, "Errors and limits"): every number
// a caller sends is finite and within a range whose products cannot overflow a double, and
// every text is free of control characters (worker/http/validation.ts checks every input for
// them too, before its schema).
import { z } from "zod";
import { controlCharacterMessage } from "../http/control-characters.ts";

/** The first and last year a date input may name: SQL and date arithmetic stay in range. */
export const minDateYear = 1900;
export const maxDateYear = 2199;

/**
 * Cross-field refinements of an object run only when every field parsed: a rule comparing
 * `from` with `to` must not see a `from` that is not a date (zod runs refinements after
 * field-level issues otherwise).
 */
export const whenFieldsValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

export function isoDate(field: string) {
  const inRange = (value: string) => {
    const year = Number(value.slice(0, 4));
    return year >= minDateYear && year <= maxDateYear;
  };
  const got = (input: unknown) => `got ${JSON.stringify(input)}`;
  return z.iso
    .date({
      error: (issue) =>
        issue.input === undefined
          ? `${field} is required`
          : `${field} must be a calendar date YYYY-MM-DD, ${got(issue.input)}`,
    })
    .refine(inRange, {
      error: (issue) =>
        `${field} must be a date from ${minDateYear}-01-01 to ${maxDateYear}-12-31, ${got(issue.input)}`,
      // Only for a well-formed date (one message per problem); the format issue stays
      // continuable, so an object's rules across fields still report theirs.
      ...whenFieldsValid,
    })
    .meta({ format: "date", examples: ["2026-06-30"] });
}

/**
 * A one-line text field: trimmed (unless `trim: false`), `min`..`max` characters, no control
 * characters (no line breaks, tabs or NUL).
 */
export function plainText(field: string, options: { min?: number; max: number; trim?: boolean }) {
  const min = options.min ?? 1;
  const text = z.string({ error: `${field} must be a string` });
  return (options.trim === false ? text : text.trim())
    .min(min, { error: min === 1 ? `${field} must not be empty` : `${field} must be at least ${min} characters` })
    .max(options.max, { error: `${field} must be at most ${options.max} characters` })
    .superRefine((value, ctx) => {
      const message = controlCharacterMessage(value, "line", field);
      if (message !== null) ctx.addIssue({ code: "custom", message });
    });
}

/** An id in a path or body (a portfolio's, a position's, a scenario's, a run's), as sent. */
export function idField(field: string) {
  return plainText(field, { max: 100, trim: false });
}

/** The largest magnitude of a position's quantity (shares or contracts). */
export const maxQuantity = 1e12;
/** The largest per-unit price a caller may send (strike, premium). */
export const maxUnitPrice = 1e9;
/** The largest magnitude of an amount of money (cash, cost basis). */
export const maxAmount = 1e15;
/** The largest option contract multiplier. */
export const maxMultiplier = 1e6;

/**
 * A finite JSON number within [-max, max] (or [min, max]); one message for every way it can be
 * wrong. `1e308` is refused here, so no stored number can overflow a sum or a product.
 */
export function boundedNumber(field: string, bounds: { min?: number; max: number }) {
  const min = bounds.min ?? -bounds.max;
  const range = `from ${min.toExponential().replace("e+", "e")} to ${bounds.max.toExponential().replace("e+", "e")}`;
  return (
    z
      // JSON's 1e999 parses to Infinity, which zod refuses as not a number: say what is wrong with it.
      .number({
        error: (issue) => `${field} must be a ${typeof issue.input === "number" ? "finite number" : "number"}`,
      })
      .finite({ error: `${field} must be a finite number` })
      .min(min, { error: (issue) => `${field} must be a number ${range}, got ${String(issue.input)}` })
      .max(bounds.max, { error: (issue) => `${field} must be a number ${range}, got ${String(issue.input)}` })
  );
}

/** An integer query parameter (query values arrive as text); one message for every way it can be wrong. */
export function queryInteger(field: string, min: number, max: number) {
  const message = `${field} must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: message })
    .regex(/^-?\d+$/, { error: message })
    .transform(Number)
    .pipe(z.number().int({ error: message }).min(min, { error: message }).max(max, { error: message }))
    .meta({ type: "integer", minimum: min, maximum: max });
}

/** The largest magnitude of a numeric query filter (market cap, P/E). */
export const maxQueryNumber = 1e18;

/** A finite number query parameter, within ±`maxQueryNumber`. */
export function queryNumber(field: string) {
  return z
    .string({ error: `${field} must be a number` })
    .regex(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, {
      error: (issue) => `${field} must be a number, got ${JSON.stringify(issue.input)}`,
    })
    .transform(Number)
    .pipe(
      z
        .number()
        .finite({ error: `${field} must be a finite number` })
        .min(-maxQueryNumber, { error: `${field} must be from -1e18 to 1e18` })
        .max(maxQueryNumber, { error: `${field} must be from -1e18 to 1e18` }),
    )
    .meta({ type: "number" });
}

/** `?format=csv` asks for CSV, as `Accept: text/csv` does. */
export const formatField = z
  .enum(["json", "csv"], { error: "format must be json or csv" })
  .optional()
  .meta({ description: "csv for a CSV download (as Accept: text/csv)." });

/** A symbol as stored: upper case letters, digits, dot and dash. */
export const symbolField = z
  .string({ error: "symbol must be a string" })
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9.-]{0,19}$/, {
    error: (issue) => `symbol must be 1-20 letters, digits, dots or dashes, got ${JSON.stringify(issue.input)}`,
  });

/** A free-text description (saved scenarios, episodes): at most 1,000 characters, no control characters. */
export const descriptionField = z
  .string({ error: "description must be a string" })
  .max(1000, { error: "description must be at most 1000 characters" })
  .superRefine((value, ctx) => {
    const message = controlCharacterMessage(value, "text", "description");
    if (message !== null) ctx.addIssue({ code: "custom", message });
  });
