// Number and date formatting for tables, tooltips and chart axes. A missing number is shown as
// an em dash, never as 0. Minus signs are U+2212 so columns of signed numbers line up. Dates are
// ISO 8601 everywhere (`2026-06-30`, instants `2026-06-30 14:05 UTC`), whatever the browser's
// locale: the API's dates are UTC trading days, and one format reads the same in every table.

const minus = "\u2212";
export const missing = "\u2014";

function signed(text: string, value: number, plus: boolean): string {
  if (value < 0) return minus + text;
  return plus && value > 0 ? `+${text}` : text;
}

/** An exposure or beta: fixed decimals, explicit sign (`+0.123`, `−0.045`, `0.000`). */
export function formatExposure(value: number | null | undefined, decimals = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const rounded = Number(value.toFixed(decimals));
  return signed(Math.abs(rounded).toFixed(decimals), rounded, true);
}

/** A share as a percentage (`0.1234` → `12.3%`). */
export function formatPercent(value: number | null | undefined, decimals = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const rounded = Number((value * 100).toFixed(decimals));
  return signed(`${Math.abs(rounded).toFixed(decimals)}%`, rounded, false);
}

/** Dollars, compact above a thousand (`$1.23M`, `−$45.6K`, `$950`). */
export function formatDollars(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const abs = Math.abs(value);
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) return signed(`$${(abs / size).toPrecision(3)}${suffix}`, value, false);
  }
  return signed(`$${abs.toFixed(0)}`, Math.round(value) === 0 ? 0 : value, false);
}

/** Compact dollars with an explicit sign (`−$200K`, `+$8.30K`): impacts beside bars. */
export function formatSignedDollars(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const text = formatDollars(value);
  return value > 0 && text !== "$0" ? `+${text}` : text;
}

/**
 * Dollars exactly, grouped: `$250,000`, `−$1,234.50`. Cents: "auto" shows them only when there
 * are any, "always" (prices) or "never" (rounded to whole dollars). `sign` adds "+" to positives.
 */
export function formatMoney(
  value: number | null | undefined,
  options: { cents?: "auto" | "always" | "never"; sign?: boolean } = {},
): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const cents = options.cents ?? "auto";
  const amount = cents === "never" ? Math.round(value) : Math.round(value * 100) / 100;
  const fraction = cents === "always" || (cents === "auto" && Math.round(Math.abs(amount) * 100) % 100 !== 0) ? 2 : 0;
  const digits = { minimumFractionDigits: fraction, maximumFractionDigits: fraction };
  const text = `$${Math.abs(amount).toLocaleString("en-US", digits)}`;
  return signed(text, amount, options.sign ?? false);
}

/** A plain number, grouped, up to `decimals` decimals, with a real minus sign (`1,250`, `−0.45`). */
export function formatNumber(value: number | null | undefined, decimals = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  const text = Math.abs(value).toLocaleString("en-US", { maximumFractionDigits: decimals });
  return text === "0" ? "0" : signed(text, value, false);
}

// ---- dates --------------------------------------------------------------------------------------

const isoDateForm = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days in `month` (1–12) of `year`, Gregorian (2000 leap, 1900 not). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Why `text` is not a real date written YYYY-MM-DD within [min, max], in words a person can act
 * on ("2026-02-30 is not a real date: February 2026 has 28 days"); null when it is one.
 */
export function dateProblem(text: string, bounds: { min?: string; max?: string } = {}): string | null {
  const trimmed = text.trim();
  const match = isoDateForm.exec(trimmed);
  if (!match) return `${trimmed} is not a date in YYYY-MM-DD form`;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12) return `${trimmed} is not a real date: the month must be 01 to 12`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days)
    return `${trimmed} is not a real date: ${monthNames[month - 1]} ${match[1]} has ${days} days`;
  if (bounds.min !== undefined && trimmed < bounds.min)
    return `${trimmed} is before ${bounds.min}, the earliest allowed`;
  if (bounds.max !== undefined && trimmed > bounds.max) return `${trimmed} is after ${bounds.max}, the latest allowed`;
  return null;
}

/** `text` (trimmed) when it is a real date written YYYY-MM-DD (`2026-02-28`), else null (`2026-2-28`, `2026-02-30`). */
export function parseIsoDate(text: string): string | null {
  return dateProblem(text) === null ? text.trim() : null;
}

/**
 * A typing aid for date fields, whose numeric keypad has no "-" on some phones: digits typed at
 * the end get their hyphens (`20261` → `2026-1`, `2026-121` → `2026-12-1`, `20261201` →
 * `2026-12-01`). Deleting, and anything else, is left as typed.
 */
export function typedDate(previous: string, next: string): string {
  if (next.length <= previous.length) return next;
  if (/^\d{8}$/.test(next)) return `${next.slice(0, 4)}-${next.slice(4, 6)}-${next.slice(6)}`;
  if (/^\d{5,6}$/.test(next)) return `${next.slice(0, 4)}-${next.slice(4)}`;
  if (/^\d{4}-\d{3,4}$/.test(next)) return `${next.slice(0, 7)}-${next.slice(7)}`;
  return next;
}

type Instant = string | number | Date;

function toDate(value: Instant): Date {
  return value instanceof Date ? value : new Date(value);
}

/**
 * A date as `YYYY-MM-DD`: an ISO date as it is, an instant (a timestamp, epoch milliseconds, a
 * Date) as its UTC calendar date. Missing or unreadable: an em dash.
 */
export function formatDate(value: Instant | null | undefined): string {
  if (value === null || value === undefined) return missing;
  if (typeof value === "string" && isoDateForm.test(value)) return value;
  const date = toDate(value);
  return Number.isNaN(date.getTime()) ? missing : date.toISOString().slice(0, 10);
}

/** An instant as `YYYY-MM-DD HH:MM UTC` (never the browser's zone or locale). Missing or unreadable: an em dash. */
export function formatInstant(value: Instant | null | undefined): string {
  if (value === null || value === undefined) return missing;
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return missing;
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const monthNames = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * An ISO date as an axis tick: `Jun 30`, with the year when it changes (`Jan 2 2026`). Ticks
 * only: a tooltip or a table shows the date itself (`formatDate`).
 */
export function formatDateTick(date: string, previous?: string): string {
  const [year, month, day] = date.split("-");
  const label = `${months[Number(month) - 1]} ${Number(day)}`;
  return previous === undefined || previous.slice(0, 4) !== year ? `${label} ${year}` : label;
}

/** Ticks for `dates` at most `max` labels apart evenly, always including the last date. */
export function dateTicks(dates: readonly string[], max: number): number[] {
  if (dates.length === 0 || max <= 0) return [];
  const step = Math.max(1, Math.ceil(dates.length / max));
  const ticks: number[] = [];
  for (let i = dates.length - 1; i >= 0; i -= step) ticks.unshift(i);
  return ticks;
}
