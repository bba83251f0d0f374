// The backfill reuses work between dates (rolling sums); its results must equal the single-
// date engine's to 1e-10 relative: betas relative to max(|beta|, 1) — betas of daily returns
// on daily returns are O(1), so 1 is their natural scale and a beta near 0 is compared to it —
// and R² absolutely (its scale is 1). Statuses, flags and counts must be identical.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeBackfill } from "../../../worker/factors/backfill.ts";
import { createFactorEngineInput } from "../../../worker/factors/factor-plan.ts";
import type { FactorEngineInput } from "../../../worker/factors/factor-plan.ts";
import { buildReturnPanelFromReturns } from "../../../worker/factors/returns.ts";
import type { FactorSpec } from "../../../worker/factors/types.ts";
import { computeUniverseBetas } from "../../../worker/factors/universe.ts";
import type { UniverseBetas } from "../../../worker/factors/universe.ts";
import { closeTo, defaultFactorSpecs, generateUniverse, scaledFactorSpecs } from "./synthetic-universe.ts";
import type { TestUniverse } from "./synthetic-universe.ts";

const tolerance = 1e-10;

function engineInput(universe: TestUniverse, factors: readonly FactorSpec[]): FactorEngineInput {
  return createFactorEngineInput(buildReturnPanelFromReturns(universe.calendar, universe.returns), factors);
}

function standardErrors(table: UniverseBetas): Float64Array {
  return Float64Array.from({ length: table.rawBeta.length }, (_, at) => table.standardErrorAt(at));
}

function expectSameTables(actual: UniverseBetas, expected: UniverseBetas): void {
  expect(actual.calculationDate).toBe(expected.calculationDate);
  expect(Array.from(actual.factorObservations)).toEqual(Array.from(expected.factorObservations));
  expect(Array.from(actual.observations)).toEqual(Array.from(expected.observations));
  expect(Array.from(actual.outcome)).toEqual(Array.from(expected.outcome));
  for (let i = 0; i < expected.rawBeta.length; i++) {
    const beta = expected.rawBeta[i]!;
    const rSquared = expected.rSquared[i]!;
    const symbol = expected.symbols[Math.floor(i / expected.factorCount)];
    const where = `${expected.calculationDate} ${symbol} ${expected.factors[i % expected.factorCount]!.spec.key}`;
    if (Number.isNaN(beta)) expect(actual.rawBeta[i], where).toBeNaN();
    else
      expect(closeTo(actual.rawBeta[i]!, beta, tolerance, 1), `${where}: ${actual.rawBeta[i]} vs ${beta}`).toBe(true);
    if (Number.isNaN(rSquared)) expect(actual.rSquared[i], where).toBeNaN();
    else expect(Math.abs(actual.rSquared[i]! - rSquared), where).toBeLessThanOrEqual(tolerance);
    // Relative to themselves, with a floor from the beta's own precision: a beta off by δ moves
    // the residuals by δ·(x − x̄), so SE by about δ/√n and s² by that times SE·σ_x·2 — it matters
    // only for exact fits (SPY on SPY), where both are rounding noise.
    const seFloor = Number.isNaN(beta) ? 0 : Math.max(Math.abs(beta), 1) / Math.sqrt(expected.observations[i]!);
    for (const [name, values, expectedValues, floor] of [
      ["SE", standardErrors(actual), standardErrors(expected), seFloor],
      ["s²", actual.residualVariance, expected.residualVariance, 1e-10],
    ] as const) {
      const value = expectedValues[i]!;
      if (Number.isNaN(value)) expect(values[i], `${where} ${name}`).toBeNaN();
      else
        expect(closeTo(values[i]!, value, tolerance, floor), `${where} ${name}: ${values[i]} vs ${value}`).toBe(true);
    }
  }
}

function expectBackfillEqualsSingleDates(input: FactorEngineInput, dates: readonly string[], exactEvery?: number) {
  const backfill = computeBackfill(input, dates, exactEvery === undefined ? {} : { exactEvery });
  expect(backfill.calculationDates).toEqual([...new Set(dates)].sort());
  for (const [j, table] of backfill.results.entries())
    expectSameTables(table, computeUniverseBetas(input, backfill.calculationDates[j]!));
  return backfill;
}

describe("backfill", () => {
  it("equals the single-date engine on random universes, date ranges and rebuild periods", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          equities: fc.integer({ min: 1, max: 8 }),
          days: fc.integer({ min: 40, max: 200 }),
          gapShare: fc.double({ min: 0, max: 1, noNaN: true }),
          etfGaps: fc.boolean(),
          first: fc.double({ min: 0, max: 1, noNaN: true }),
          length: fc.integer({ min: 1, max: 60 }),
          step: fc.integer({ min: 1, max: 3 }),
          exactEvery: fc.constantFrom(1, 2, 7, 20, 1000),
          minObservations: fc.integer({ min: 2, max: 40 }),
        }),
        ({ seed, equities, days, gapShare, etfGaps, first, length, step, exactEvery, minObservations }) => {
          const universe = generateUniverse({ seed, equities, days, gapShare, etfGaps });
          const input = engineInput(universe, scaledFactorSpecs(120, 60, minObservations));
          const start = Math.floor(first * (days - 1));
          const dates: string[] = [];
          for (let t = start; t < days && dates.length < length; t += step) dates.push(universe.calendar[t]!);
          expectBackfillEqualsSingleDates(input, dates, exactEvery);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("equals the single-date engine over 80 consecutive dates with the default factors", () => {
    const universe = generateUniverse({ seed: 31, equities: 25, days: 380, gapShare: 0.4 });
    const input = engineInput(universe, defaultFactorSpecs);
    const backfill = expectBackfillEqualsSingleDates(input, universe.calendar.slice(300));
    expect(backfill.stats).toMatchObject({ dates: 80, rebuilds: 4 * input.sets.length });
    expect(backfill.stats.symbolFallbacks).toBeGreaterThan(0);
  });

  it("takes dates in any order, de-duplicates them, and streams them in ascending order", () => {
    const universe = generateUniverse({ seed: 2, equities: 4, days: 120 });
    const input = engineInput(universe, scaledFactorSpecs(90, 45, 20));
    const dates = [
      universe.calendar[110]!,
      universe.calendar[100]!,
      universe.calendar[119]!,
      universe.calendar[100]!,
      "2024-06-01",
    ];
    const streamed: UniverseBetas[] = [];
    const result = computeBackfill(input, dates, { onDate: (betas) => streamed.push(betas) });
    expect(result.results).toEqual([]);
    expect(streamed.map((t) => t.calculationDate)).toEqual([...new Set(dates)].sort());
    for (const table of streamed) expectSameTables(table, computeUniverseBetas(input, table.calculationDate));
    expect(computeBackfill(input, []).results).toEqual([]);
    expect(() => computeBackfill(input, ["2024-13-01"])).toThrow(/2024-13-01/);
  });

  it("recomputes exactly where rolling sums would lose precision (near-constant returns, drifting regressors)", () => {
    const universe = generateUniverse({ seed: 77, equities: 4, days: 220 });
    const returns = { ...universe.returns };
    // Stops moving half-way (returns exactly 0), then trades again: Syy ≪ S2 around the switch.
    returns.STALE = universe.calendar.map((_, t) => (t > 90 && t < 170 ? 0 : 0.01 * Math.sin(t * 1.7)));
    // Returns far from their mean's scale: a large constant plus tiny noise.
    returns.OFFSET = universe.calendar.map((_, t) => 0.3 + 1e-6 * Math.sin(t * 2.3));
    // A regressor whose level jumps: the window mean moves far from the range's central value.
    returns.TLT = universe.calendar.map((_, t) => (t < 110 ? -0.05 : 0.05) + 0.0005 * Math.cos(t));
    const input = engineInput({ ...universe, returns }, scaledFactorSpecs(120, 60, 20));
    const backfill = expectBackfillEqualsSingleDates(input, universe.calendar.slice(100), 50);
    expect(backfill.stats.exactRecomputes).toBeGreaterThan(0);
  });
});
