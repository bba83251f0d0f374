// Benchmark and active exposures (docs/factor-engine.md): a benchmark held at 100% has, as
// its exposure to each factor, its own beta; active = portfolio − benchmark.
//
// Decisions: a benchmark factor without an estimate is null with the reason (the same
// reasons as data_quality's symbols_missing). Active is null, with what was missing, when
// either side is null — including a portfolio whose equity ≤ 0 (no weight-based exposure).
// `activeDollar` = active × equity, the dollar tilt a stress of that factor acts on relative
// to holding the benchmark with the same equity; null when active is null.
import { lookUpBeta } from "./data-quality.ts";
import type { SymbolMissingReason } from "./data-quality.ts";
import { betasOf } from "./portfolio.ts";
import type { BetaTable, PortfolioAggregation } from "./portfolio.ts";
import type { EstimatedQualityFlag, FactorSpec } from "./types.ts";

export interface BenchmarkFactorExposure {
  factorId: number;
  factorKey: string;
  exposure: number | null;
  qualityFlag: EstimatedQualityFlag | null;
  /** Why `exposure` is null; null when it is not. */
  reason: SymbolMissingReason | null;
  detail: string | null;
}

export interface BenchmarkExposures {
  symbol: string;
  exposures: BenchmarkFactorExposure[];
}

export function benchmarkExposures(
  symbol: string,
  betas: BetaTable,
  factors: readonly FactorSpec[],
): BenchmarkExposures {
  const symbolBetas = betasOf(
    betas,
    symbol,
    factors.map((f) => f.key),
  );
  return {
    symbol,
    exposures: factors.map((factor) => {
      const lookup = lookUpBeta(symbolBetas, factor.key);
      if ("estimate" in lookup) {
        return {
          factorId: factor.id,
          factorKey: factor.key,
          exposure: lookup.estimate.beta,
          qualityFlag: lookup.estimate.qualityFlag,
          reason: null,
          detail: null,
        };
      }
      return {
        factorId: factor.id,
        factorKey: factor.key,
        exposure: null,
        qualityFlag: null,
        reason: lookup.reason,
        detail: lookup.detail ?? null,
      };
    }),
  };
}

export interface ActiveFactorExposure {
  factorId: number;
  factorKey: string;
  portfolio: number | null;
  benchmark: number | null;
  /** portfolio − benchmark; null when either is null. */
  active: number | null;
  /** active × equity; null when active is null. */
  activeDollar: number | null;
  /** Which side was null when active is null. */
  missing: "portfolio" | "benchmark" | "both" | null;
}

/** Active exposures for the portfolio's factors, in its order. */
export function activeExposures(
  portfolio: Pick<PortfolioAggregation, "exposures" | "equity">,
  benchmark: BenchmarkExposures,
): ActiveFactorExposure[] {
  const byKey = new Map(benchmark.exposures.map((e) => [e.factorKey, e]));
  return portfolio.exposures.map((p) => {
    const b = byKey.get(p.factorKey)?.exposure ?? null;
    const missing = p.exposure === null ? (b === null ? "both" : "portfolio") : b === null ? "benchmark" : null;
    const active = p.exposure !== null && b !== null ? p.exposure - b : null;
    return {
      factorId: p.factorId,
      factorKey: p.factorKey,
      portfolio: p.exposure,
      benchmark: b,
      active,
      activeDollar: active === null ? null : active * portfolio.equity,
      missing,
    };
  });
}
