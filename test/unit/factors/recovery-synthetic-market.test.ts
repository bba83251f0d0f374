// The engine against the project's own synthetic market: every estimated beta must land
// near the value the generating model implies (worker/market-data/synthetic.ts
// `impliedFactorBetas`), within 5 standard errors computed from the same model.
import { describe, expect, it } from "vitest";
import { defaultFactors } from "../../../schema/seed/default-factors.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../../../worker/factors/engine.ts";
import { defaultFactorSpecs } from "../../../worker/factors/factor-specs.ts";
import type { FactorSpec } from "../../../worker/factors/types.ts";
import {
  generateSyntheticMarket,
  impliedFactorBetas,
  modelDailyVolatility,
  solveLinearSystem,
  type SyntheticInstrument,
} from "../../../worker/market-data/synthetic.ts";

const market = generateSyntheticMarket({
  seed: 5,
  equities: 30,
  startDate: "2023-01-02",
  endDate: "2025-06-30",
  gaps: false,
});
const calculationDate = market.calendar.at(-1)!;
const { input } = buildFactorEngineInput(
  market.prices.map((p) => ({ symbol: p.symbol, date: p.date, close: p.close })),
  defaultFactorSpecs,
);
const universe = computeUniverseBetas(input, calculationDate);
const { etfSymbols, covariance } = market.model;
const cov = (a: string, b: string) => covariance[etfSymbols.indexOf(a)]![etfSymbols.indexOf(b)]!;
const ridgeSpecs = defaultFactorSpecs.filter((f) => f.method === "ridge");
const ridgeInputs = ridgeSpecs.map((f) => f.inputSymbol!);

/**
 * Standard error of the estimate from the population model. Univariate slope:
 * SE² = (Var y − β²·Var x) / (n·Var x). Joint (ridge, unshrunk analogue):
 * SE_k² = σ²_resid · (Σ⁻¹)_kk / n with σ²_resid = Var y − bᵀΣb. Ridge variance is below
 * that of OLS, so the OLS standard error bounds the ridge estimate's noise.
 */
function standardError(factor: FactorSpec, instrument: SyntheticInstrument, n: number): number {
  const varY = modelDailyVolatility(instrument, market) ** 2;
  const implied = impliedFactorBetas(instrument, market, defaultFactors);
  if (factor.method === "ridge") {
    const sigma = ridgeInputs.map((a) => ridgeInputs.map((b) => cov(a, b)));
    const b = ridgeSpecs.map((f) => implied[f.key]!);
    const explained = b.reduce((sum, bi, i) => sum + bi * b.reduce((inner, bj, j) => inner + sigma[i]![j]! * bj, 0), 0);
    const k = ridgeSpecs.indexOf(factor);
    const inverseColumn = solveLinearSystem(
      sigma,
      ridgeInputs.map((_, i) => (i === k ? 1 : 0)),
    );
    return Math.sqrt(((varY - explained) * inverseColumn[k]!) / n);
  }
  const varX =
    factor.method === "spread"
      ? cov(factor.longSymbol!, factor.longSymbol!) +
        cov(factor.shortSymbol!, factor.shortSymbol!) -
        2 * cov(factor.longSymbol!, factor.shortSymbol!)
      : cov(factor.inputSymbol!, factor.inputSymbol!);
  const beta = implied[factor.key]!;
  return Math.sqrt((varY - beta * beta * varX) / (n * varX));
}

interface Comparison {
  label: string;
  /** (estimate − model value) / SE, against the symbol's own model betas. */
  z: number;
  /** The same against the next symbol's model betas: what a mixed-up result would score. */
  wrongZ: number;
}

function compareAll(): { comparisons: Comparison[]; missing: string[] } {
  const equities = market.instruments.filter((i) => i.assetType === "equity");
  const comparisons: Comparison[] = [];
  const missing: string[] = [];
  for (const factor of defaultFactorSpecs) {
    equities.forEach((instrument, i) => {
      const estimate = universe.symbolBetasFor(instrument.symbol)!.betas[factor.key]!;
      if (estimate.status !== "estimated") {
        missing.push(`${instrument.symbol} ${factor.key}: ${estimate.reason}`);
        return;
      }
      // A full, gap-free history: anything but `ok` would be a wrong flag.
      if (estimate.qualityFlag !== "ok")
        missing.push(`${instrument.symbol} ${factor.key}: flagged ${estimate.qualityFlag}`);
      // The ridge targets include the shrinkage α implies at this many observations.
      const options =
        factor.method === "ridge" ? { ridgeAlpha: factor.ridgeAlpha!, observations: estimate.observations } : {};
      const target = impliedFactorBetas(instrument, market, defaultFactors, options)[factor.key]!;
      const otherTarget = impliedFactorBetas(equities[(i + 1) % equities.length]!, market, defaultFactors, options)[
        factor.key
      ]!;
      const se = standardError(factor, instrument, estimate.observations);
      comparisons.push({
        label:
          `${instrument.symbol} ${factor.key}: ${estimate.rawBeta.toFixed(4)} vs ${target.toFixed(4)}` +
          ` (SE ${se.toFixed(4)})`,
        z: (estimate.rawBeta - target) / se,
        wrongZ: (estimate.rawBeta - otherTarget) / se,
      });
    });
  }
  return { comparisons, missing };
}

const rms = (values: number[]) => Math.sqrt(values.reduce((sum, v) => sum + v * v, 0) / values.length);

// Errors of different symbols share one sample path of the ETF returns, so they are
// correlated within a factor (their mean is not ~N(0, 1/√30): across seeds it changes sign).
// Hence bounds per estimate and on the RMS, not on the mean.
describe("recovery on the synthetic market", () => {
  const { comparisons, missing } = compareAll();

  it("estimates every factor of every synthetic equity, with the flag ok", () => {
    expect(missing).toEqual([]);
    expect(comparisons).toHaveLength(30 * defaultFactorSpecs.length);
  });

  it("lands every estimate within 5 standard errors of its model value", () => {
    expect(comparisons.filter((c) => Math.abs(c.z) > 5).map((c) => c.label)).toEqual([]);
  });

  it("has errors the size the noise predicts (RMS z near 1)", () => {
    const value = rms(comparisons.map((c) => c.z));
    expect(value).toBeGreaterThan(0.6);
    expect(value).toBeLessThan(1.5);
  });

  it("would notice mixed-up results: against another symbol's model betas the errors are far larger", () => {
    expect(rms(comparisons.map((c) => c.wrongZ))).toBeGreaterThan(1.8 * rms(comparisons.map((c) => c.z)));
  });
});
