// The batch's tunables, read from the Worker's vars (wrangler.toml) with defaults chosen by
// `npm run bench:batch` (see README "Batch pipeline"). Invalid values throw at the start of a
// message, so a misconfiguration shows up as a failing (then dead-lettered) message with the
// setting's name, not as silently different chunks.
import { defaultRiskModelSettings } from "../factors/risk-settings.ts";
import { readPositiveInteger, readSetting } from "../market-data/providers/result.ts";

export interface BatchConfig {
  /** Symbols per chunk of the symbol phases (metrics, universe factors, denormalize). */
  symbolChunkSize: number;
  /**
   * Symbols per market data chunk. An HTTP provider (Stooq) makes one request per symbol, and
   * every request is a subrequest of the consumer invocation, which a batch of messages shares:
   * chunk size × max_batch_size (+ a few database requests per message) must stay inside the
   * plan's per-invocation subrequest limit.
   */
  marketDataChunkSize: number;
  /** Portfolios per portfolio analytics chunk. */
  portfolioChunkSize: number;
  /**
   * Positions per portfolio analytics chunk, summed over its portfolios: chunks are cut by size
   * as well as by count, so one large portfolio gets a chunk of its own (issue 15).
   */
  portfolioChunkPositions: number;
  /** A portfolio with more positions than this is not computed (`too_many_positions`), alone. */
  maxPositionsPerPortfolio: number;
  /** A cron run looks back this many calendar days for weekdays no run published. */
  catchUpDays: number;
  /** Write the per-position path too (`position_factor_exposures`), for dual-write validation. */
  dualWrite: boolean;
  /**
   * A symbol whose last close is more than this many trading days before the calculation date
   * gets no betas for it (`stale_prices`, docs/design.md §4.5): a delisted or halted symbol
   * must not keep "ok" betas for weeks.
   */
  stalePriceTradingDays: number;
  /**
   * A daily return whose gross move P_t / P_prev is beyond this factor either way is not used
   * (`suspect_move`, reported): a single bad tick must never silently move a beta.
   */
  maxDailyMove: number;
  /**
   * A queued or running run with no ledger activity (no chunk, phase result or run update)
   * for this many seconds is stalled: the sweep (./sweep.ts) re-enqueues what it waits for.
   */
  stallSeconds: number;
  /** Sweeps in a row without progress after which the sweep ends the run `failed` (or `partial`). */
  maxSweeps: number;
  /**
   * Half-life in trading days of the risk model's exponentially weighted factor covariance
   * (docs/design.md §11), `RISK_COVARIANCE_HALF_LIFE_DAYS`; the covariance is stored per half-life.
   */
  riskHalfLifeDays: number;
}

export const defaultBatchConfig: BatchConfig = {
  symbolChunkSize: 500,
  marketDataChunkSize: 100,
  portfolioChunkSize: 25,
  portfolioChunkPositions: 10_000,
  maxPositionsPerPortfolio: 10_000,
  catchUpDays: 10,
  dualWrite: false,
  stalePriceTradingDays: 5,
  maxDailyMove: 5,
  stallSeconds: 120,
  maxSweeps: 5,
  riskHalfLifeDays: defaultRiskModelSettings.halfLifeDays,
};

export function batchConfig(env: object): BatchConfig {
  const dualWrite = readSetting(env, "BATCH_DUAL_WRITE");
  if (dualWrite !== undefined && dualWrite !== "true" && dualWrite !== "false") {
    throw new Error(`setting BATCH_DUAL_WRITE must be "true" or "false", got "${dualWrite}"`);
  }
  return {
    symbolChunkSize: readPositiveInteger(env, "BATCH_SYMBOL_CHUNK_SIZE", defaultBatchConfig.symbolChunkSize),
    marketDataChunkSize: readPositiveInteger(
      env,
      "BATCH_MARKET_DATA_CHUNK_SIZE",
      defaultBatchConfig.marketDataChunkSize,
    ),
    portfolioChunkSize: readPositiveInteger(env, "BATCH_PORTFOLIO_CHUNK_SIZE", defaultBatchConfig.portfolioChunkSize),
    portfolioChunkPositions: readPositiveInteger(
      env,
      "BATCH_PORTFOLIO_CHUNK_POSITIONS",
      defaultBatchConfig.portfolioChunkPositions,
    ),
    // The same cap the API keeps on writes (worker/quotas.ts): a portfolio over it got there
    // around the API (a direct import, an older version) and is refused alone.
    maxPositionsPerPortfolio: readPositiveInteger(
      env,
      "MAX_POSITIONS_PER_PORTFOLIO",
      defaultBatchConfig.maxPositionsPerPortfolio,
    ),
    catchUpDays: readPositiveInteger(env, "BATCH_CATCH_UP_DAYS", defaultBatchConfig.catchUpDays),
    dualWrite: dualWrite === "true",
    stalePriceTradingDays: readPositiveInteger(env, "BATCH_STALE_PRICE_DAYS", defaultBatchConfig.stalePriceTradingDays),
    maxDailyMove: readMoveBound(env, "PRICE_MAX_DAILY_MOVE", defaultBatchConfig.maxDailyMove),
    stallSeconds: readPositiveInteger(env, "BATCH_STALL_SECONDS", defaultBatchConfig.stallSeconds),
    maxSweeps: readPositiveInteger(env, "BATCH_RUN_MAX_SWEEPS", defaultBatchConfig.maxSweeps),
    riskHalfLifeDays: readPositiveNumber(env, "RISK_COVARIANCE_HALF_LIFE_DAYS", defaultBatchConfig.riskHalfLifeDays),
  };
}

/** A finite number > 0 (e.g. "90" or "62.5"), or the default when the setting is absent or empty. */
function readPositiveNumber(env: object, name: string, fallback: number): number {
  const raw = readSetting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`setting ${name} must be a positive number, got "${raw}"`);
  return value;
}

/** A factor > 1 (e.g. "5"), or the default when the setting is absent or empty. */
function readMoveBound(env: object, name: string, fallback: number): number {
  const raw = readSetting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 1)
    throw new Error(`setting ${name} must be a number greater than 1, got "${raw}"`);
  return value;
}
