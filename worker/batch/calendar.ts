import { addDays } from "../dates.ts";

/** The market reference: its closes are the trading calendar (no close on a weekday means no trading). */
export const marketReferenceSymbol = "SPY";

/**
 * The calculation date of a cron firing: the UTC calendar date of the scheduled time.
 * The trigger fires at 21:30 UTC, after the New York close of that same date.
 */
export function calculationDateFor(scheduledTime: number): string {
  return new Date(scheduledTime).toISOString().slice(0, 10);
}

/** Saturday or Sunday; holidays are found later, when the market reference has no close. */
export function isWeekend(date: string): boolean {
  const day = new Date(`${date}T00:00:00Z`).getUTCDay();
  return day === 0 || day === 6;
}

/** The weekdays from `start` to `end`, inclusive, ascending. */
export function weekdaysBetween(start: string, end: string): string[] {
  const dates: string[] = [];
  for (let date = start; date <= end; date = addDays(date, 1)) if (!isWeekend(date)) dates.push(date);
  return dates;
}
