// Corrections flow through (issue: "a corrected close, imported later, marks the dates whose
// windows it falls in as stale"). Three steps:
//   1. Writing closes (worker/market-data/import-writer.ts) records a `price_revisions` row per
//      symbol whose close changed or appeared on a date the batch had already computed, with
//      the earliest such date.
//   2. Creating a full run (here) turns every revision into `stale_betas` marks: the computed
//      dates whose factor windows hold the revised close — for the symbol itself, or for every
//      symbol (`*`) when the symbol is a factor input or the market reference — and adds all
//      pending stale dates to the run's dates, recorded on the run (`stale_dates`).
//   3. The universe factors phase recomputes marked betas as if forced (`recomputed_stale`);
//      when its phase for a date succeeds, the marks that existed when the run was created go.
//      Portfolio analytics, denormalize and publish then run for those dates as for any other.
// A run limited to one portfolio, or a portfolio history run, neither takes nor clears marks.
import { and, asc, eq, lte, sql } from "drizzle-orm";
import { batchPhaseResults, priceRevisions, staleBetas } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { runTransaction } from "../db/transaction.ts";
import { chunk } from "../chunk.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { marketReferenceSymbol } from "./calendar.ts";

/** Calendar days a close stays in some window: the longest factor window plus the price look-back. */
const extraDays = 10;

export interface StaleDate {
  date: string;
  /** Symbols whose betas are stale on the date; `*` = every symbol. */
  symbols: string[];
}

/**
 * Turns pending price revisions into stale marks and returns every pending stale date up to
 * `endDate` (ascending), for a new full run to add to its dates.
 */
export async function takeStaleDates(db: Database, endDate: string): Promise<StaleDate[]> {
  const revisions = await db.select().from(priceRevisions);
  if (revisions.length > 0) {
    const factors = await loadActiveFactors(db);
    const inputs = new Set([marketReferenceSymbol, ...factorInputSymbols(factors)]);
    const windowDays = Math.max(0, ...factors.map((factor) => factor.windowDays)) + extraDays;
    const computed = (
      await db
        .selectDistinct({ date: batchPhaseResults.calculationDate })
        .from(batchPhaseResults)
        .where(and(eq(batchPhaseResults.phase, "universe_factors"), eq(batchPhaseResults.success, true)))
        .orderBy(asc(batchPhaseResults.calculationDate))
    ).map((row) => row.date);
    const marks: { calculationDate: string; symbol: string; cause: string }[] = [];
    for (const revision of revisions) {
      const last = addDays(revision.earliestDate, windowDays);
      const symbol = inputs.has(revision.symbol) ? "*" : revision.symbol;
      for (const date of computed) {
        if (date >= revision.earliestDate && date <= last)
          marks.push({
            calculationDate: date,
            symbol,
            cause: `${revision.symbol} revised from ${revision.earliestDate}`,
          });
      }
    }
    // Marks and the revisions they replace in one transaction; a revision that moved earlier
    // meanwhile (another import) is not deleted and is taken by the next run.
    await runTransaction(db, [
      ...chunk(marks, 500).map((part) => db.insert(staleBetas).values(part).onConflictDoNothing()),
      ...revisions.map((revision) =>
        db
          .delete(priceRevisions)
          .where(
            and(eq(priceRevisions.symbol, revision.symbol), eq(priceRevisions.earliestDate, revision.earliestDate)),
          ),
      ),
    ]);
  }
  const pending = await db
    .select({ date: staleBetas.calculationDate, symbol: staleBetas.symbol })
    .from(staleBetas)
    .where(lte(staleBetas.calculationDate, endDate))
    .orderBy(asc(staleBetas.calculationDate), asc(staleBetas.symbol));
  const byDate = new Map<string, string[]>();
  for (const row of pending) byDate.set(row.date, [...(byDate.get(row.date) ?? []), row.symbol]);
  return [...byDate].map(([date, symbols]) => ({ date, symbols: symbols.includes("*") ? ["*"] : symbols }));
}

/** After a run's universe factors phase succeeded on `date`: the marks it honoured go. */
export async function clearStaleMarks(db: Database, date: string, runCreatedAt: string): Promise<void> {
  await db
    .delete(staleBetas)
    .where(and(eq(staleBetas.calculationDate, date), sql`${staleBetas.createdAt} <= ${runCreatedAt}`));
}
