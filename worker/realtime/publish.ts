// What reaches the live hubs: exposure updates of portfolios (after the batch's publish phase
// and after every position change), batch progress and completed dates. Each goes to the hub
// of the portfolio's org, or of its owner without one (worker/realtime/live-hub.ts).
import { and, eq, inArray, sql } from "drizzle-orm";
import { portfolioFactorExposures, portfolioSnapshots, portfolios, positions } from "../../schema/index.ts";
import { runPortfolioAnalyticsChunk } from "../batch/portfolio-analytics-phase.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { describeError, logEvent } from "../log.ts";
import { latestBetaDate } from "../db/betas.ts";
import { hubNameFor, liveHub, type ExposureUpdate } from "./live-hub.ts";
import type { BatchCompleted, BatchProgress } from "./messages.ts";

/** Hub name of each portfolio (all of them when `ids` is null). */
export async function hubsOfPortfolios(db: Database, ids: readonly string[] | null): Promise<Map<string, string>> {
  const rows = await db
    .select({ id: portfolios.id, org: portfolios.org, owner: portfolios.owner })
    .from(portfolios)
    .where(ids === null ? undefined : inArray(portfolios.id, [...ids]));
  return new Map(rows.map((row) => [row.id, hubNameFor({ org: row.org, sub: row.owner })]));
}

/** The stored exposures of `ids` on `date` as live updates (every active factor; null where none). */
export async function storedExposureUpdates(
  db: Database,
  ids: readonly string[],
  date: string,
  cause: ExposureUpdate["cause"],
): Promise<ExposureUpdate[]> {
  if (ids.length === 0) return [];
  const [factors, exposures, snapshots] = await Promise.all([
    loadActiveFactors(db),
    db
      .select({
        portfolioId: portfolioFactorExposures.portfolioId,
        factorId: portfolioFactorExposures.factorId,
        exposure: portfolioFactorExposures.exposureValue,
        dollars: portfolioFactorExposures.exposureDollar,
        coverage: portfolioFactorExposures.coverage,
        rSquared: portfolioFactorExposures.rSquared,
      })
      .from(portfolioFactorExposures)
      .where(
        and(
          inArray(portfolioFactorExposures.portfolioId, [...ids]),
          eq(portfolioFactorExposures.calculationDate, date),
        ),
      ),
    db
      .select({ portfolioId: portfolioSnapshots.portfolioId, equity: portfolioSnapshots.equity })
      .from(portfolioSnapshots)
      .where(and(inArray(portfolioSnapshots.portfolioId, [...ids]), eq(portfolioSnapshots.date, date))),
  ]);
  const byKey = new Map(exposures.map((row) => [`${row.portfolioId}|${row.factorId}`, row]));
  const equity = new Map(snapshots.map((row) => [row.portfolioId, row.equity]));
  // Only portfolios the date was computed for (a snapshot exists) are news.
  return ids
    .filter((id) => equity.has(id))
    .map((id) => ({
      portfolio_id: id,
      date,
      cause,
      equity: equity.get(id) ?? null,
      exposures: factors.map((factor) => {
        const row = byKey.get(`${id}|${factor.id}`);
        return {
          factor_key: factor.key,
          exposure: row?.exposure ?? null,
          exposure_dollar: row?.dollars ?? null,
          coverage: row?.coverage ?? null,
          r_squared: row?.rSquared ?? null,
        };
      }),
    }));
}

/** Sends each update to its portfolio's hub; returns how many sockets received one. */
export async function publishExposureUpdates(
  env: Env,
  db: Database,
  updates: readonly ExposureUpdate[],
): Promise<number> {
  if (updates.length === 0) return 0;
  const hubs = await hubsOfPortfolios(
    db,
    updates.map((update) => update.portfolio_id),
  );
  const byHub = new Map<string, ExposureUpdate[]>();
  for (const update of updates) {
    const hub = hubs.get(update.portfolio_id);
    if (hub) byHub.set(hub, [...(byHub.get(hub) ?? []), update]);
  }
  let delivered = 0;
  for (const [hub, list] of byHub) delivered += (await liveHub(env, hub).publishExposures(list)).delivered;
  return delivered;
}

/** Batch events go to the hubs of the portfolios the run covers (all, or its one portfolio). */
export async function publishBatchEvent(
  env: Env,
  db: Database,
  portfolioId: string | null,
  event: BatchProgress | BatchCompleted,
): Promise<number> {
  const hubs = new Set((await hubsOfPortfolios(db, portfolioId === null ? null : [portfolioId])).values());
  let delivered = 0;
  for (const hub of hubs) delivered += (await liveHub(env, hub).publishBatch(event)).delivered;
  return delivered;
}

/**
 * After a position change: the portfolio's latest date recomputed from the cached symbol
 * betas (the batch's own portfolio analytics for that one portfolio, so the stored exposures,
 * snapshot and stress results agree with what is pushed), then pushed to its hub. Runs after
 * the response (waitUntil); a failure is logged, and the next batch run stores the numbers.
 */
export async function refreshLatestExposures(env: Env, db: Database, portfolioId: string): Promise<void> {
  try {
    // The latest date with betas, never one whose betas are not written yet (a batch in progress).
    const date = await latestBetaDate(db);
    if (date === null) return;
    // Two changes close together refresh concurrently; one that read the positions before the
    // other's change could store and push the older numbers last. So: compute, then check the
    // positions did not change meanwhile, else compute again — the last store is always of the
    // latest positions.
    for (let attempt = 1; attempt <= maxRefreshAttempts; attempt++) {
      const before = await positionsVersion(db, portfolioId);
      await runPortfolioAnalyticsChunk(db, { calculationDate: date, portfolioIds: [portfolioId], dualWrite: false });
      if ((await positionsVersion(db, portfolioId)) === before || attempt === maxRefreshAttempts) break;
    }
    await publishExposureUpdates(env, db, await storedExposureUpdates(db, [portfolioId], date, "positions"));
  } catch (error) {
    logEvent("error", "live.refresh_failed", { portfolioId, error: describeError(error) });
  }
}

const maxRefreshAttempts = 5;

/** Changes whenever the portfolio's positions or cash do (count and last update of each). */
async function positionsVersion(db: Database, portfolioId: string): Promise<string> {
  const [positionsRow, portfolioRow] = await Promise.all([
    db
      .select({ n: sql<number>`count(*)`, last: sql<string | null>`max(${positions.updatedAt})` })
      .from(positions)
      .where(eq(positions.portfolioId, portfolioId))
      .get(),
    db
      .select({ updatedAt: portfolios.updatedAt, cash: portfolios.cash })
      .from(portfolios)
      .where(eq(portfolios.id, portfolioId))
      .get(),
  ]);
  return JSON.stringify([
    positionsRow?.n ?? 0,
    positionsRow?.last ?? null,
    portfolioRow?.updatedAt ?? null,
    portfolioRow?.cash ?? null,
  ]);
}
