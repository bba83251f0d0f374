// Number and date formatting for tables, tooltips and chart axes. A missing number is shown as
// an em dash, never as 0. Minus signs are U+2212 so columns of signed numbers line up.

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

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An ISO date as an axis tick: `Jun 30`, with the year when it changes (`Jan 2 2026`). */
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
