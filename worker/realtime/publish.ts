// What reaches the live hubs: exposure updates of portfolios (after the batch's publish phase
// and after every position change), each followed by the portfolio's stored risk summary of the
// same date (`risk.updated`, when the batch stored one), batch progress and completed dates.
// Each goes to the hub of the portfolio's org, or of its owner without one
// (worker/realtime/live-hub.ts).
import { and, eq, inArray, sql } from "drizzle-orm";
import {
  portfolioFactorExposures,
  portfolioRiskSummaries,
  portfolioSnapshots,
  portfolios,
  positions,
} from "../../schema/index.ts";
import { batchConfig } from "../batch/config.ts";
import { runPortfolioAnalyticsChunk } from "../batch/portfolio-analytics-phase.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { describeError, logEvent } from "../log.ts";
import { latestBetaDate } from "../db/betas.ts";
import { hubNameFor, liveHub, type ExposureUpdate, type RiskUpdate } from "./live-hub.ts";
import type { BatchCompleted, BatchProgress, RiskSummaryValue } from "./messages.ts";

/** Hub name of each portfolio (all of them when `ids` is null). */
export async function hubsOfPortfolios(db: Database, ids: readonly string[] | null): Promise<Map<string, string>> {
  const rows = await db
    .select({ id: portfolios.id, org: portfolios.org, owner: portfolios.owner })
    .from(portfolios)
    .where(ids === null ? undefined : inArray(portfolios.id, [...ids]));
  return new Map(rows.map((row) => [row.id, hubNameFor({ org: row.org, sub: row.owner })]));
}

/**
 * The stored exposures of `ids` on `date` as live updates (every active factor; null where none),
 * each with its stored standard error (the benchmark's and active ones are the exposures route's).
 */
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
        standardError: portfolioFactorExposures.standardError,
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
          standard_error: row?.standardError ?? null,
        };
      }),
    }));
}

/** The columns of a stored risk summary a live message carries (the detail's reasons only, not the whole block). */
const summaryColumns = {
  portfolioId: portfolioRiskSummaries.portfolioId,
  date: portfolioRiskSummaries.date,
  benchmarkSymbol: portfolioRiskSummaries.benchmarkSymbol,
  equity: portfolioRiskSummaries.equity,
  totalVariance: portfolioRiskSummaries.totalVariance,
  factorVariance: portfolioRiskSummaries.factorVariance,
  specificVariance: portfolioRiskSummaries.specificVariance,
  volatility: portfolioRiskSummaries.volatility,
  factorShare: portfolioRiskSummaries.factorShare,
  valueAtRisk95: portfolioRiskSummaries.valueAtRisk95,
  valueAtRisk99: portfolioRiskSummaries.valueAtRisk99,
  activeVariance: portfolioRiskSummaries.activeVariance,
  trackingError: portfolioRiskSummaries.trackingError,
  // Why numbers are null: the detail's `total_unavailable` (no volatility), else its `active_unavailable`.
  reason: sql<string | null>`coalesce(json_extract(${portfolioRiskSummaries.detail}, '$.total_unavailable.reason'),
    json_extract(${portfolioRiskSummaries.detail}, '$.active_unavailable.reason'))`,
  reasonDetail: sql<string | null>`case
    when json_extract(${portfolioRiskSummaries.detail}, '$.total_unavailable.reason') is not null
      then json_extract(${portfolioRiskSummaries.detail}, '$.total_unavailable.detail')
    else json_extract(${portfolioRiskSummaries.detail}, '$.active_unavailable.detail') end`,
};

/** The stored summaries of `portfolioIds` on `dates` (every pair; the caller picks). */
function selectSummaries(db: Database, portfolioIds: string[], dates: string[]) {
  return db
    .select(summaryColumns)
    .from(portfolioRiskSummaries)
    .where(and(inArray(portfolioRiskSummaries.portfolioId, portfolioIds), inArray(portfolioRiskSummaries.date, dates)));
}

type StoredSummary = Awaited<ReturnType<typeof selectSummaries>>[number];

/** A stored risk summary as the live message's `risk` block. */
export function riskSummaryValueOf(row: StoredSummary): RiskSummaryValue {
  return {
    benchmark_symbol: row.benchmarkSymbol,
    equity: row.equity,
    total_variance: row.totalVariance,
    factor_variance: row.factorVariance,
    specific_variance: row.specificVariance,
    volatility: row.volatility,
    factor_share: row.factorShare,
    value_at_risk_95: row.valueAtRisk95,
    value_at_risk_99: row.valueAtRisk99,
    active_variance: row.activeVariance,
    tracking_error: row.trackingError,
    reason: row.reason,
    detail: row.reasonDetail,
  };
}

/** The stored risk summaries of the updates' portfolios on their dates, as `risk.updated` bodies. */
export async function storedRiskUpdates(db: Database, updates: readonly ExposureUpdate[]): Promise<RiskUpdate[]> {
  if (updates.length === 0) return [];
  const dates = [...new Set(updates.map((update) => update.date))];
  const rows = await selectSummaries(db, [...new Set(updates.map((update) => update.portfolio_id))], dates);
  const byKey = new Map(rows.map((row) => [`${row.portfolioId}\u001f${row.date}`, row]));
  const risks: RiskUpdate[] = [];
  for (const update of updates) {
    const row = byKey.get(`${update.portfolio_id}\u001f${update.date}`);
    if (row)
      risks.push({
        portfolio_id: update.portfolio_id,
        date: update.date,
        cause: update.cause,
        risk: riskSummaryValueOf(row),
      });
  }
  return risks;
}

/**
 * Sends each update to its portfolio's hub, followed by the portfolio's stored risk summary of
 * the date (`risk.updated`) when there is one; returns how many sockets received an update.
 */
export async function publishExposureUpdates(
  env: Env,
  db: Database,
  updates: readonly ExposureUpdate[],
): Promise<number> {
  if (updates.length === 0) return 0;
  const [hubs, risks] = await Promise.all([
    hubsOfPortfolios(
      db,
      updates.map((update) => update.portfolio_id),
    ),
    storedRiskUpdates(db, updates),
  ]);
  const byHub = new Map<string, ExposureUpdate[]>();
  for (const update of updates) {
    const hub = hubs.get(update.portfolio_id);
    if (hub) byHub.set(hub, [...(byHub.get(hub) ?? []), update]);
  }
  let delivered = 0;
  for (const [hub, list] of byHub) {
    const ids = new Set(list.map((update) => update.portfolio_id));
    const hubRisks = risks.filter((risk) => ids.has(risk.portfolio_id));
    delivered += (await liveHub(env, hub).publishExposures(list, hubRisks)).delivered;
  }
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
 * betas and the stored risk model (the batch's own portfolio analytics for that one portfolio,
 * so the stored exposures, snapshot, stress results and risk summary agree with what is
 * pushed), then pushed to its hub: `exposures.updated`, then `risk.updated`. Runs after the
 * response (waitUntil); a failure is logged, and the next batch run stores the numbers.
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
      await runPortfolioAnalyticsChunk(db, {
        calculationDate: date,
        portfolioIds: [portfolioId],
        dualWrite: false,
        riskHalfLifeDays: batchConfig(env).riskHalfLifeDays,
        // Its limits' alerts (pushed by the phase, before the exposures below) say what caused them.
        alertCause: "positions",
      });
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
