/** ISO calendar date (`YYYY-MM-DD`) `days` after `date` (negative: before), in UTC. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** First and last of sorted ISO dates; throws on an empty list (callers check for it first). */
export function dateBounds(dates: readonly string[]): { first: string; last: string } {
  const first = dates[0];
  const last = dates.at(-1);
  if (first === undefined || last === undefined) throw new Error("internal error: no dates");
  return { first, last };
}
