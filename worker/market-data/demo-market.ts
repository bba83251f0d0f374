// The demo's synthetic market in one place: the demo seed (`scripts/seed-demo.ts`) writes it and
// the `synthetic` market data provider serves it, so both must build the market from the same
// parameters. The market depends on its whole window (prices compound from the first day, and
// the late-listing and delisting gaps sit at fixed fractions of the calendar), so the provider
// reproduces the seeded closes exactly only for the same end date; see
// `providers/synthetic.ts`.
import type { SyntheticMarketOptions } from "./synthetic.ts";
import { addDays } from "../dates.ts";

export const demoMarket = {
  seed: 20_261_121,
  equities: 500,
  /** Calendar days from the window's start to its end date (one year of closes). */
  lookbackDays: 365,
} as const;

/** The demo market's options for a window ending on `endDate` (a YYYY-MM-DD weekday). */
export function demoMarketOptions(endDate: string): SyntheticMarketOptions {
  return {
    seed: demoMarket.seed,
    equities: demoMarket.equities,
    startDate: addDays(endDate, -demoMarket.lookbackDays),
    endDate,
  };
}

/** The latest weekday on or before `now` (UTC): the demo's last close. */
export function lastWeekday(now: Date): string {
  const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  while (date.getUTCDay() === 0 || date.getUTCDay() === 6) date.setUTCDate(date.getUTCDate() - 1);
  return date.toISOString().slice(0, 10);
}
