// What the portfolio list and a portfolio's page share: dates, holdings on a date, where an
// API error's issues go in a form, and whether the caller may edit.
import type { PortfolioResponse, PositionResponse } from "../../../.types/worker/api/portfolios";
import { ApiFailure } from "../api/client.ts";
import { can } from "../state/session.ts";

/** Today's date (the browser's calendar) as YYYY-MM-DD. */
export function todayIso(): string {
  const now = new Date();
  const month = String(now.getMonth() + 1).padStart(2, "0");
  const day = String(now.getDate()).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${day}`;
}

/** Whether a position is held on `date` (opened on or before it, not yet closed). */
export function heldOn(position: Pick<PositionResponse, "opened_on" | "closed_on">, date: string): boolean {
  return position.opened_on <= date && (position.closed_on === null || position.closed_on > date);
}

/**
 * Splits an error into messages for the named fields (shown beside them) and the rest (shown
 * above the form). `fields` are the form's field names.
 */
export function splitIssues(
  error: unknown,
  fields: readonly string[],
): { byField: Record<string, string>; rest: unknown } {
  if (!(error instanceof ApiFailure)) return { byField: {}, rest: error };
  const byField: Record<string, string> = {};
  let unplaced = 0;
  for (const issue of error.issues) {
    const field = issue.path.split(".")[0] ?? "";
    if (fields.includes(field) && issue.line === undefined)
      byField[field] = byField[field] ? `${byField[field]}; ${issue.message}` : issue.message;
    else unplaced++;
  }
  const placed = Object.keys(byField).length > 0;
  // Every issue sits beside its field: the summary above the form says only that.
  return { byField, rest: placed && unplaced === 0 ? null : error };
}

/** Whether the caller may change this portfolio (its own, and the permission to). */
export function canEdit(portfolio: Pick<PortfolioResponse, "writable">): boolean {
  return portfolio.writable && can("MANAGE_PORTFOLIOS");
}

/**
 * The portfolio form's own checks, before the API's: a name, and cash as a finite number.
 * Empty cash is `undefined` (the API's default, 0) when creating, a problem when editing.
 */
export function checkPortfolioFields(
  name: string,
  cash: string,
  cashRequired: boolean,
): { problems: Record<string, string>; cash: number | undefined } {
  const problems: Record<string, string> = {};
  if (name.trim() === "") problems["name"] = "give the portfolio a name";
  const value = cash.trim() === "" ? (cashRequired ? Number.NaN : undefined) : Number(cash);
  if (value !== undefined && !Number.isFinite(value))
    problems["cash"] = cashRequired ? "cash must be a number (0 for none)" : "cash must be a number";
  return { problems, cash: value };
}
