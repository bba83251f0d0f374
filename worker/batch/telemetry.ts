// The batch's telemetry shapes, shared by the chunk processors that produce them, the
// orchestrator that sums them into `batch_phase_results`, the admin API that serves them and
// the scripts that print them: a key renamed on one side fails to compile on the others.
//
// Counts are generic over the phase's unit of work — symbols for the symbol phases,
// portfolios for portfolio analytics, the date itself for publish — and `unit` says which.
// A skipped or failed item always carries a reason, counted in `skipped_reasons` /
// `failed_reasons` and listed (up to `maxListedIssues` per phase) in `issues`.

/** The daily phases in docs/design.md §5's order. */
export const batchPhases = [
  "market_data",
  "symbol_metrics",
  "universe_factors",
  "risk_model",
  "portfolio_analytics",
  "denormalize",
  "publish",
] as const;
export type BatchPhase = (typeof batchPhases)[number];

export function isBatchPhase(value: string): value is BatchPhase {
  return (batchPhases as readonly string[]).includes(value);
}

/** A run's phases in order: every phase (`null`), or the subset it was created with (a portfolio history run). */
export function phasesOfRun(phases: readonly string[] | null): readonly BatchPhase[] {
  if (!phases) return batchPhases;
  return batchPhases.filter((phase) => phases.includes(phase));
}

/** What a phase's items are. */
export type PhaseUnit = "symbols" | "portfolios" | "dates";

export interface PhaseCounts {
  unit: PhaseUnit;
  /** Items the phase was given. */
  total: number;
  /** Items it did its work for. */
  computed: number;
  /** Items it did not need to work on (already stored, not trading on the date, …): by reason. */
  skipped: number;
  skipped_reasons: Record<string, number>;
  /** Items it could not do (no prices, provider failure, bad data): by reason. */
  failed: number;
  failed_reasons: Record<string, number>;
  /** Rows inserted or changed. */
  rows_stored: number;
  /** Rows already stored with the same values (a redelivery, a rerun without changes). */
  rows_unchanged: number;
  /** Stale rows removed (e.g. a beta no longer estimable after a price correction). */
  rows_deleted: number;
  /** Universe factors: betas stored, and betas not estimable for a computed symbol, by reason. */
  betas_estimated?: number;
  betas_missing?: number;
  betas_missing_reasons?: Record<string, number>;
  /** Publish: live hubs told about the date. */
  hubs_notified?: number;
  /**
   * Market data: closes the provider had that differ from a stored close of another source
   * (an import, say). Kept by default (`price_conflicts_kept`, listed as `source_conflict`
   * issues with both values); replaced only by a run with `replace_prices`.
   */
  price_conflicts_kept?: number;
  price_conflicts_replaced?: number;
  /** Universe factors: symbols recomputed because a price revision made their stored betas stale. */
  recomputed_stale?: number;
  /** Universe factors: daily returns not used (a `suspect_move` beyond PRICE_MAX_DAILY_MOVE, …), listed as issues. */
  returns_rejected?: number;
  /**
   * Risk model: symbols whose joint loadings were stored, and symbols stored without loadings, by
   * reason (`insufficient_data`, `degenerate`, `no_factor_data`, `stale_prices`, `no_prices`).
   */
  loadings_estimated?: number;
  loadings_missing?: number;
  loadings_missing_reasons?: Record<string, number>;
  /** Risk model (its chunk 0): `factor_returns` rows inserted or changed, already equal, removed. */
  factor_returns_stored?: number;
  factor_returns_unchanged?: number;
  factor_returns_deleted?: number;
  /**
   * Risk model (its chunk 0): the date's factor covariance, estimated or stored with its reason
   * (`insufficient_history`, also listed as an issue; `no_factors`), the days it used, and
   * whether its row was inserted or changed (1) or already equal (0).
   */
  covariance?: "estimated" | "insufficient_history" | "no_factors";
  covariance_observations?: number;
  covariance_stored?: number;
  /**
   * Portfolio analytics: `portfolio_risk_summaries` rows inserted or changed, already equal, and
   * removed (counted apart from rows_*); portfolios whose summary has a volatility; why the
   * others have none (`no_covariance`, `no_positions_covered`, `weights_unavailable`, or
   * `risk_error`: no row stored), and why one with a volatility has no tracking error
   * (`no_benchmark`, `benchmark_without_loadings`).
   */
  risk_summaries_stored?: number;
  risk_summaries_unchanged?: number;
  risk_summaries_deleted?: number;
  risk_computed?: number;
  risk_missing_reasons?: Record<string, number>;
  tracking_error_missing_reasons?: Record<string, number>;
}

/** One skipped or failed item of a phase, with its reason. */
export interface PhaseIssue {
  item: string;
  kind: "skipped" | "failed";
  reason: string;
  detail: string;
  /** The factor, when the issue concerns one factor of a symbol. */
  factor?: string;
}

/** What one chunk reports; the orchestrator stores it on the chunk's ledger row. */
export interface ChunkOutcome {
  counts: PhaseCounts;
  /** Every skipped or failed item of the chunk (the phase result keeps the first `maxListedIssues`). */
  issues: PhaseIssue[];
  /** Wall time of the chunk's work in the consumer, for "slowest message". */
  duration_ms: number;
}

/** A phase's counts: its chunks' counts summed, and the chunks themselves. */
export interface PhaseResultCounts extends PhaseCounts {
  chunks_total: number;
  chunks_done: number;
  /** Chunks dead-lettered after their retries: their items are missing from the phase. */
  chunks_failed: number;
  slowest_chunk_ms: number;
}

/** What `batch_phase_results.counts` holds (JSON): the counts and the phase's listed issues. */
export interface StoredPhaseCounts extends PhaseResultCounts {
  /** The first `maxListedIssues` issues of the phase, in chunk order. */
  issues: PhaseIssue[];
  issues_truncated: boolean;
}

/** The phase result, as stored in `batch_phase_results` and logged as one line. */
export interface PhaseTelemetry {
  name: BatchPhase;
  date: string;
  success: boolean;
  message: string;
  counts: StoredPhaseCounts;
  duration_ms: number;
}

export const maxListedIssues = 200;

export function emptyCounts(unit: PhaseUnit, total = 0): PhaseCounts {
  return {
    unit,
    total,
    computed: 0,
    skipped: 0,
    skipped_reasons: {},
    failed: 0,
    failed_reasons: {},
    rows_stored: 0,
    rows_unchanged: 0,
    rows_deleted: 0,
  };
}

/** Records a skipped or failed item in both the counts and the issue list. */
export function recordIssue(counts: PhaseCounts, issues: PhaseIssue[], issue: PhaseIssue): void {
  if (issue.kind === "skipped") {
    counts.skipped++;
    counts.skipped_reasons[issue.reason] = (counts.skipped_reasons[issue.reason] ?? 0) + 1;
  } else {
    counts.failed++;
    counts.failed_reasons[issue.reason] = (counts.failed_reasons[issue.reason] ?? 0) + 1;
  }
  issues.push(issue);
}

/** Sums chunk counts of one phase (same unit). */
export function addCounts(total: PhaseCounts, add: PhaseCounts): void {
  total.total += add.total;
  total.computed += add.computed;
  total.skipped += add.skipped;
  total.failed += add.failed;
  total.rows_stored += add.rows_stored;
  total.rows_unchanged += add.rows_unchanged;
  total.rows_deleted += add.rows_deleted;
  if (add.betas_estimated !== undefined) total.betas_estimated = (total.betas_estimated ?? 0) + add.betas_estimated;
  if (add.betas_missing !== undefined) total.betas_missing = (total.betas_missing ?? 0) + add.betas_missing;
  if (add.hubs_notified !== undefined) total.hubs_notified = (total.hubs_notified ?? 0) + add.hubs_notified;
  if (add.price_conflicts_kept !== undefined)
    total.price_conflicts_kept = (total.price_conflicts_kept ?? 0) + add.price_conflicts_kept;
  if (add.price_conflicts_replaced !== undefined)
    total.price_conflicts_replaced = (total.price_conflicts_replaced ?? 0) + add.price_conflicts_replaced;
  if (add.returns_rejected !== undefined) total.returns_rejected = (total.returns_rejected ?? 0) + add.returns_rejected;
  if (add.recomputed_stale !== undefined) total.recomputed_stale = (total.recomputed_stale ?? 0) + add.recomputed_stale;
  for (const [reason, n] of Object.entries(add.betas_missing_reasons ?? {})) {
    total.betas_missing_reasons ??= {};
    total.betas_missing_reasons[reason] = (total.betas_missing_reasons[reason] ?? 0) + n;
  }
  if (add.loadings_estimated !== undefined)
    total.loadings_estimated = (total.loadings_estimated ?? 0) + add.loadings_estimated;
  if (add.loadings_missing !== undefined) total.loadings_missing = (total.loadings_missing ?? 0) + add.loadings_missing;
  for (const [reason, n] of Object.entries(add.loadings_missing_reasons ?? {})) {
    total.loadings_missing_reasons ??= {};
    total.loadings_missing_reasons[reason] = (total.loadings_missing_reasons[reason] ?? 0) + n;
  }
  if (add.factor_returns_stored !== undefined)
    total.factor_returns_stored = (total.factor_returns_stored ?? 0) + add.factor_returns_stored;
  if (add.factor_returns_unchanged !== undefined)
    total.factor_returns_unchanged = (total.factor_returns_unchanged ?? 0) + add.factor_returns_unchanged;
  if (add.factor_returns_deleted !== undefined)
    total.factor_returns_deleted = (total.factor_returns_deleted ?? 0) + add.factor_returns_deleted;
  // One chunk of the phase (its first) reports the covariance: taken as it is.
  if (add.covariance !== undefined) total.covariance = add.covariance;
  if (add.covariance_observations !== undefined) total.covariance_observations = add.covariance_observations;
  if (add.covariance_stored !== undefined)
    total.covariance_stored = (total.covariance_stored ?? 0) + add.covariance_stored;
  if (add.risk_summaries_stored !== undefined)
    total.risk_summaries_stored = (total.risk_summaries_stored ?? 0) + add.risk_summaries_stored;
  if (add.risk_summaries_unchanged !== undefined)
    total.risk_summaries_unchanged = (total.risk_summaries_unchanged ?? 0) + add.risk_summaries_unchanged;
  if (add.risk_summaries_deleted !== undefined)
    total.risk_summaries_deleted = (total.risk_summaries_deleted ?? 0) + add.risk_summaries_deleted;
  if (add.risk_computed !== undefined) total.risk_computed = (total.risk_computed ?? 0) + add.risk_computed;
  for (const [reason, n] of Object.entries(add.risk_missing_reasons ?? {})) {
    total.risk_missing_reasons ??= {};
    total.risk_missing_reasons[reason] = (total.risk_missing_reasons[reason] ?? 0) + n;
  }
  for (const [reason, n] of Object.entries(add.tracking_error_missing_reasons ?? {})) {
    total.tracking_error_missing_reasons ??= {};
    total.tracking_error_missing_reasons[reason] = (total.tracking_error_missing_reasons[reason] ?? 0) + n;
  }
  for (const [reason, n] of Object.entries(add.skipped_reasons))
    total.skipped_reasons[reason] = (total.skipped_reasons[reason] ?? 0) + n;
  for (const [reason, n] of Object.entries(add.failed_reasons))
    total.failed_reasons[reason] = (total.failed_reasons[reason] ?? 0) + n;
}
