// Field schemas shared by the API's request schemas: each names its field in its messages, so
// a 400 reads "limit must be an integer from 1 to 500, got "abc"" rather than zod's default.
import { z } from "zod";

export function isoDate(field: string) {
  return z
    .iso.date({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(issue.input)}`) })
    .meta({ format: "date", examples: ["2026-06-30"] });
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

/** A finite number query parameter. */
export function queryNumber(field: string) {
  return z
    .string({ error: `${field} must be a number` })
    .regex(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, { error: (issue) => `${field} must be a number, got ${JSON.stringify(issue.input)}` })
    .transform(Number)
    .pipe(z.number().finite({ error: `${field} must be a finite number` }))
    .meta({ type: "number" });
}

/** `?format=csv` asks for CSV, as `Accept: text/csv` does. */
export const formatField = z.enum(["json", "csv"], { error: "format must be json or csv" }).optional().meta({ description: "csv for a CSV download (as Accept: text/csv)." });

/** A symbol as stored: upper case letters, digits, dot and dash. */
export const symbolField = z
  .string({ error: "symbol must be a string" })
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9][A-Z0-9.\-]{0,19}$/, { error: (issue) => `symbol must be 1-20 letters, digits, dots or dashes, got ${JSON.stringify(issue.input)}` });
