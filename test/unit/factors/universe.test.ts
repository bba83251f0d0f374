// The universe engine: the shared path against the per-symbol path, quality flags and their
// precedence, degenerate cases, and the guarantees on every result (finite numbers; a missing
// beta is never a number).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FactorEngineError } from "../../../worker/factors/errors.ts";
import { createFactorEngineInput } from "../../../worker/factors/factor-plan.ts";
import type { FactorEngineInput } from "../../../worker/factors/factor-plan.ts";
import { fitStandardizedRidge, fitUnivariateOls } from "../../../worker/factors/regression.ts";
import { buildReturnPanelFromReturns } from "../../../worker/factors/returns.ts";
import type { FactorSpec, SymbolBetas, SymbolFactorBeta } from "../../../worker/factors/types.ts";
import {
  computeSymbolBetasDirect,
  computeUniverseBetas,
  createFitPathCounts,
} from "../../../worker/factors/universe.ts";
import type { FitPathCounts, UniverseBetas } from "../../../worker/factors/universe.ts";
import {
  closeTo,
  createRandom,
  defaultFactorSpecs,
  generateUniverse,
  scaledFactorSpecs,
} from "./synthetic-universe.ts";
import type { TestUniverse } from "./synthetic-universe.ts";

function engineInput(universe: TestUniverse, factors: readonly FactorSpec[] = defaultFactorSpecs): FactorEngineInput {
  return createFactorEngineInput(buildReturnPanelFromReturns(universe.calendar, universe.returns), factors);
}

/** Every number in the results is finite, and a missing beta carries no beta at all. */
function expectWellFormed(results: readonly SymbolBetas[]): void {
  for (const symbolBetas of results) {
    for (const beta of Object.values(symbolBetas.betas)) {
      for (const [field, value] of Object.entries(beta)) {
        if (typeof value === "number")
          expect(Number.isFinite(value), `${symbolBetas.symbol} ${beta.factorKey}.${field}`).toBe(true);
      }
      if (beta.status === "missing") {
        expect(beta).not.toHaveProperty("beta");
        expect(beta).not.toHaveProperty("rawBeta");
      } else {
        expect(Math.abs(beta.beta)).toBeLessThanOrEqual(5);
        if (beta.qualityFlag !== "capped") expect(beta.beta).toBe(beta.rawBeta);
        expect(beta.observations).toBeLessThanOrEqual(beta.factorObservations);
      }
    }
  }
}

/**
 * Same status, flag and counts, and numbers within `tolerance` relative (scale 1 for betas; R²
 * absolute). `slopes` is the number of slopes fitted with the beta (1, or the joint ridge's count).
 */
function expectSameBeta(
  actual: SymbolFactorBeta,
  expected: SymbolFactorBeta,
  tolerance: number,
  where: string,
  slopes = 1,
): void {
  expect(actual.status, where).toBe(expected.status);
  expect(actual.observations, where).toBe(expected.observations);
  expect(actual.factorObservations, where).toBe(expected.factorObservations);
  if (actual.status === "missing" && expected.status === "missing") {
    expect(actual.reason, where).toBe(expected.reason);
    return;
  }
  if (actual.status !== "estimated" || expected.status !== "estimated") return;
  expect(actual.qualityFlag, where).toBe(expected.qualityFlag);
  expect(
    closeTo(actual.rawBeta, expected.rawBeta, tolerance, 0),
    `${where}: ${actual.rawBeta} vs ${expected.rawBeta}`,
  ).toBe(true);
  expect(actual.rSquared === null, where).toBe(expected.rSquared === null);
  if (actual.rSquared !== null && expected.rSquared !== null) {
    expect(closeTo(actual.rSquared, expected.rSquared, tolerance, 0), `${where} R²`).toBe(true);
  }
  // The standard error relative to itself (the beta's scale would hide its own digits), with a
  // floor far below any real one for exact fits (SPY on SPY), where it is rounding noise.
  // Missing only where the residual has no degrees of freedom left (n ≤ slopes + intercept), on
  // both paths alike.
  expect(actual.standardError === null, `${where} SE missing`).toBe(expected.standardError === null);
  if (actual.standardError === null || expected.standardError === null) {
    expect(actual.observations, `${where} SE missing with enough observations`).toBeLessThanOrEqual(slopes + 1);
    return;
  }
  expect(
    closeTo(actual.standardError, expected.standardError, tolerance, 1e-6),
    `${where} SE: ${actual.standardError} vs ${expected.standardError}`,
  ).toBe(true);
}

function expectSharedEqualsDirect(
  input: FactorEngineInput,
  calculationDate: string,
  fitPaths?: FitPathCounts,
): UniverseBetas {
  const table = computeUniverseBetas(input, calculationDate, fitPaths === undefined ? {} : { fitPaths });
  const shared = table.toArray();
  shared.forEach((symbolBetas) => {
    const direct = computeSymbolBetasDirect(input, symbolBetas.symbol, calculationDate);
    const betas = Object.values(symbolBetas.betas);
    const ridgeSlopes = betas.filter((b) => b.method === "ridge" && b.status === "estimated").length;
    for (const [key, beta] of Object.entries(symbolBetas.betas)) {
      const where = `${symbolBetas.symbol} ${key} ${calculationDate}`;
      expectSameBeta(beta, direct.betas[key]!, 1e-12, where, beta.method === "ridge" ? ridgeSlopes : 1);
    }
  });
  expectWellFormed(shared);
  return table;
}

describe("shared path versus per-symbol path", () => {
  it("agree to 1e-12 on random universes with gaps in symbols and factor ETFs", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          equities: fc.integer({ min: 1, max: 10 }),
          days: fc.integer({ min: 30, max: 220 }),
          gapShare: fc.double({ min: 0, max: 1, noNaN: true }),
          etfGaps: fc.boolean(),
          dateShare: fc.double({ min: 0, max: 1, noNaN: true }),
          minObservations: fc.integer({ min: 2, max: 60 }),
        }),
        ({ seed, equities, days, gapShare, etfGaps, dateShare, minObservations }) => {
          const universe = generateUniverse({ seed, equities, days, gapShare, etfGaps });
          const input = engineInput(universe, scaledFactorSpecs(180, 90, minObservations));
          expectSharedEqualsDirect(input, universe.calendar[Math.floor(dateShare * (days - 1))]!);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("agree with the default factors on a year and a half of data", () => {
    const universe = generateUniverse({ seed: 5, equities: 40, days: 400, gapShare: 0.3 });
    const input = engineInput(universe);
    const table = expectSharedEqualsDirect(input, universe.calendar[399]!);
    // Sanity: most equities have every factor estimated.
    const complete = table.toArray().filter((s) => Object.values(s.betas).every((b) => b.status === "estimated"));
    expect(complete.length).toBeGreaterThan(25);
  });

  it("recover a known market beta within 5 standard errors", () => {
    // Equities load on all eight ETFs; each ETF is m_b·market + own noise, so the univariate
    // market beta is Σ_k β_k·m_b,k with residual variance σ² + Σ_k β_k²·noise_k² (the own noises
    // are independent of SPY). SE = σ_resid / (σ_market·√n).
    const marketBeta: Record<string, number> = {
      SPY: 1,
      TLT: -0.25,
      VTV: 0.9,
      VUG: 1.1,
      MTUM: 1,
      QUAL: 0.95,
      IWM: 1.15,
      USMV: 0.7,
    };
    const etfNoise: Record<string, number> = {
      SPY: 0,
      TLT: 0.008,
      VTV: 0.003,
      VUG: 0.0035,
      MTUM: 0.005,
      QUAL: 0.0025,
      IWM: 0.006,
      USMV: 0.003,
    };
    const universe = generateUniverse({ seed: 17, equities: 30, days: 270, noise: 0.015 });
    const table = computeUniverseBetas(engineInput(universe), universe.calendar[269]!);
    for (const symbol of universe.equities) {
      const beta = table.symbolBetasFor(symbol)!.betas.market_beta!;
      expect(beta.status).toBe("estimated");
      if (beta.status !== "estimated") continue;
      const trueBetas = universe.trueBetas[symbol]!;
      const expected = Object.entries(trueBetas).reduce((sum, [etf, b]) => sum + b * marketBeta[etf]!, 0);
      const residual = Math.sqrt(
        0.015 ** 2 + Object.entries(trueBetas).reduce((sum, [etf, b]) => sum + (b * etfNoise[etf]!) ** 2, 0),
      );
      const standardError = residual / (0.011 * Math.sqrt(beta.observations));
      expect(Math.abs(beta.rawBeta - expected)).toBeLessThan(5 * standardError);
    }
  });
});

describe("symbols missing some of the factor observation dates", () => {
  // Such a symbol's own dates S differ from the set's F. Symbols sharing S share one regressor
  // side (bit for bit the per-symbol fit); one alone with S is downdated from the plan when it
  // misses few dates and the rounding model trusts the result, else fitted per symbol.
  type Gap = "none" | "few" | "many" | "clustered" | "shared";

  /** Removes returns from equities by kind, over the last `span` days (where windows are). */
  function withGaps(universe: TestUniverse, seed: number, kinds: readonly Gap[], span: number): TestUniverse {
    const random = createRandom(seed);
    const days = universe.calendar.length;
    const from = Math.max(0, days - span);
    const pick = () => from + Math.floor(random() * (days - from));
    const sharedStart = pick();
    const sharedPattern = new Set([sharedStart, sharedStart + 1, pick(), pick()]);
    const returns = { ...universe.returns };
    universe.equities.forEach((symbol, e) => {
      const kind = kinds[e % kinds.length]!;
      const missing = new Set<number>();
      if (kind === "few") for (let j = 1 + Math.floor(random() * 3); j > 0; j--) missing.add(pick());
      if (kind === "many") for (let j = Math.floor(random() * 0.5 * (days - from)); j > 0; j--) missing.add(pick());
      if (kind === "clustered") {
        const length = 1 + Math.floor(random() * 0.4 * (days - from));
        const blockStart = pick();
        for (let t = blockStart; t < Math.min(days, blockStart + length); t++) missing.add(t);
      }
      if (kind === "shared") for (const t of sharedPattern) missing.add(t);
      returns[symbol] = returns[symbol]!.map((value, t) => (missing.has(t) ? null : value));
    });
    return { ...universe, returns };
  }

  it("agree with the per-symbol path to 1e-12 whether they share a pattern, are downdated or fitted alone", () => {
    const totals = createFitPathCounts();
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          equities: fc.integer({ min: 6, max: 16 }),
          days: fc.integer({ min: 80, max: 300 }),
          olsOnly: fc.boolean(),
          calmRates: fc.boolean(),
          etfGaps: fc.boolean(),
        }),
        ({ seed, equities, days, olsOnly, calmRates, etfGaps }) => {
          let universe = generateUniverse({ seed, equities, days, etfGaps });
          if (calmRates) {
            // Awkward regressor: TLT nearly constant over the last third of the calendar, so a
            // symbol missing the earlier days sees a near-constant TLT over its own dates.
            const calmFrom = Math.floor((2 * days) / 3);
            const tlt = universe.returns.TLT!.map((r, t) =>
              r === null || t < calmFrom ? r : 0.0002 + (r - 0.0002) * 1e-6,
            );
            universe = { ...universe, returns: { ...universe.returns, TLT: tlt } };
          }
          const gaps = withGaps(
            universe,
            seed + 1,
            ["none", "few", "few", "many", "clustered", "shared", "shared"],
            150,
          );
          const specs = scaledFactorSpecs(150, 75, 20).filter((spec) => !olsOnly || spec.method !== "ridge");
          expectSharedEqualsDirect(engineInput(gaps, specs), gaps.calendar[days - 1]!, totals);
        },
      ),
      { numRuns: 60 },
    );
    // Every path ran (and was checked above).
    expect(totals.complete).toBeGreaterThan(0);
    expect(totals.sharedPattern).toBeGreaterThan(0);
    expect(totals.downdated).toBeGreaterThan(0);
    expect(totals.perSymbol).toBeGreaterThan(0);
  });

  it("share the regressor side when they miss the same dates, with the per-symbol results bit for bit", () => {
    const universe = generateUniverse({ seed: 31, equities: 9, days: 260 });
    const returns = { ...universe.returns };
    // Six equities listed late (no returns before day 100), three complete.
    for (const symbol of universe.equities.slice(0, 6))
      returns[symbol] = returns[symbol]!.map((r, t) => (t < 100 ? null : r));
    const input = engineInput({ ...universe, returns });
    const fitPaths = createFitPathCounts();
    const calculationDate = universe.calendar[259]!;
    const table = computeUniverseBetas(input, calculationDate, { fitPaths });
    // The 365-day set's F starts before day 100; the 180-day set's does not. The eight ETFs
    // are symbols too, complete on both sets.
    expect(fitPaths).toEqual({ complete: 2 * 8 + 3 + 9, sharedPattern: 6, downdated: 0, perSymbol: 0 });
    for (const symbol of universe.equities) {
      expect(table.symbolBetasFor(symbol)).toEqual(computeSymbolBetasDirect(input, symbol, calculationDate));
    }
  });
});

/** A controlled universe: the ETFs and chosen symbols on `days` weekdays. */
function controlled(
  days: number,
  symbols: Record<string, (t: number, market: (t: number) => number) => number | null>,
  seed = 3,
) {
  const base = generateUniverse({ seed, equities: 0, days });
  const spy = base.returns.SPY!;
  const market = (t: number) => spy[t]!;
  const returns: Record<string, (number | null)[]> = { ...base.returns };
  for (const [symbol, at] of Object.entries(symbols)) returns[symbol] = base.calendar.map((_, t) => at(t, market));
  return { calendar: base.calendar, returns, trueBetas: {}, equities: Object.keys(symbols) } satisfies TestUniverse;
}

function noiseAt(t: number): number {
  // Deterministic pseudo-noise of ~1% daily.
  return 0.01 * Math.sin(12.9898 * t + 78.233) * Math.cos(4.1414 * t);
}

describe("quality flags", () => {
  const specs = scaledFactorSpecs(200, 100, 60);

  it("flags ok, limited_history at < 80% of the factor observations, and insufficient_data below the minimum", () => {
    const days = 150;
    const calendar = controlled(days, {}).calendar;
    const calculationDate = calendar[days - 1]!;
    // The window (D − W, D] holds the last N trading days; a symbol with returns on the last
    // k of them has k observations. k = 0.8·N is ok (not fewer than 80%), one less is not.
    // The window length is chosen so that 0.8·N is a whole number: the boundary itself is tested.
    const inWindow = (windowDays: number) =>
      calendar.filter(
        (date) =>
          Date.parse(`${date}T00:00:00Z`) > Date.parse(`${calculationDate}T00:00:00Z`) - windowDays * 86_400_000,
      ).length;
    let windowDays = 200;
    while (inWindow(windowDays) % 5 !== 0) windowDays++;
    const factorObservations = inWindow(windowDays);
    const eighty = (4 * factorObservations) / 5;
    const universe = controlled(days, {
      FULL: (t, m) => 1.1 * m(t) + noiseAt(t),
      EIGHTY: (t, m) => (t >= days - eighty ? 0.9 * m(t) + noiseAt(t) : null),
      BELOW_EIGHTY: (t, m) => (t >= days - eighty + 1 ? 0.9 * m(t) + noiseAt(t) : null),
      SHORT: (t, m) => (t >= days - 59 ? m(t) + noiseAt(t) : null),
    });
    const table = expectSharedEqualsDirect(
      engineInput(universe, scaledFactorSpecs(windowDays, 100, 60)),
      calculationDate,
    );
    const market = (symbol: string) => table.symbolBetasFor(symbol)!.betas.market_beta!;
    expect(market("FULL")).toMatchObject({
      status: "estimated",
      qualityFlag: "ok",
      observations: factorObservations,
      factorObservations,
    });
    expect(market("EIGHTY")).toMatchObject({ status: "estimated", qualityFlag: "ok", observations: eighty });
    expect(market("BELOW_EIGHTY")).toMatchObject({
      status: "estimated",
      qualityFlag: "limited_history",
      observations: eighty - 1,
    });
    expect(market("SHORT")).toMatchObject({
      status: "missing",
      reason: "insufficient_data",
      observations: 59,
      detail: "59 observations, 60 required",
    });
    expect(market("SHORT")).not.toHaveProperty("beta");
  });

  it("caps |beta| > 5 at ±5 and keeps the raw value", () => {
    const universe = controlled(150, { LEVERED: (t, m) => -7 * m(t) + 0.1 * noiseAt(t) });
    const beta = computeUniverseBetas(engineInput(universe, specs), universe.calendar[149]!).symbolBetasFor("LEVERED")!
      .betas.market_beta!;
    expect(beta.status).toBe("estimated");
    if (beta.status !== "estimated") return;
    expect(beta.qualityFlag).toBe("capped");
    expect(beta.beta).toBe(-5);
    expect(beta.rawBeta).toBeCloseTo(-7, 2);
  });

  it("flags constant returns degenerate with slope 0 and R² null, ahead of limited_history", () => {
    const universe = controlled(150, { FLAT: () => 0, FLAT_SHORT: (t) => (t >= 50 ? 0.001 : null) });
    const table = expectSharedEqualsDirect(engineInput(universe, specs), universe.calendar[149]!);
    for (const symbol of ["FLAT", "FLAT_SHORT"]) {
      for (const beta of Object.values(table.symbolBetasFor(symbol)!.betas)) {
        expect(beta).toMatchObject({ status: "estimated", qualityFlag: "degenerate", beta: 0, rSquared: null });
      }
    }
  });

  it("gives no beta (reason degenerate) on a regressor with zero variance; ridge drops only that column", () => {
    const universe = controlled(150, { STOCK: (t, m) => 0.8 * m(t) + noiseAt(t) });
    const returns: Record<string, (number | null)[]> = { ...universe.returns };
    returns.TLT = returns.TLT!.map((r) => (r === null ? null : 0.0002));
    returns.QUAL = returns.QUAL!.map((r) => (r === null ? null : -0.001));
    const flatEtfs = { ...universe, returns };
    const calculationDate = universe.calendar[149]!;
    const table = expectSharedEqualsDirect(engineInput(flatEtfs, specs), calculationDate);
    const betas = table.symbolBetasFor("STOCK")!.betas;
    expect(betas.interest_rate_beta).toMatchObject({ status: "missing", reason: "degenerate" });
    expect(betas.quality).toMatchObject({ status: "missing", reason: "degenerate" });
    expect(betas.quality_spread).toMatchObject({ status: "estimated" });
    // The other ridge betas are those of the joint ridge without QUAL.
    const withoutQuality = specs.filter((spec) => spec.key !== "quality");
    const reference = computeUniverseBetas(engineInput(flatEtfs, withoutQuality), calculationDate).symbolBetasFor(
      "STOCK",
    )!.betas;
    for (const key of ["value", "growth", "momentum", "size", "low_volatility"]) {
      expect(betas[key]).toEqual(reference[key]);
    }
  });

  it(
    "reports no_factor_data when an input has no returns " + "in the window (one missing ETF stops every ridge beta)",
    () => {
      const universe = controlled(150, { STOCK: (t, m) => m(t) + noiseAt(t) });
      const { MTUM: _removed, ...returns } = universe.returns;
      const table = expectSharedEqualsDirect(engineInput({ ...universe, returns }, specs), universe.calendar[149]!);
      const betas = table.symbolBetasFor("STOCK")!.betas;
      for (const key of ["value", "growth", "momentum", "quality", "size", "low_volatility", "momentum_spread"]) {
        expect(betas[key], key).toMatchObject({
          status: "missing",
          reason: "no_factor_data",
          observations: 0,
          factorObservations: 0,
        });
      }
      expect(betas.market_beta).toMatchObject({ status: "estimated" });
      expect(betas.size_spread).toMatchObject({ status: "estimated" });
    },
  );

  it("estimates every estimated beta finite and never writes a missing beta as a number, whatever the data", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 120 }), (seed, days) => {
        const universe = generateUniverse({ seed, equities: 6, days, gapShare: 0.7, etfGaps: true });
        const input = engineInput(universe, scaledFactorSpecs(120, 60, 2));
        expectWellFormed(computeUniverseBetas(input, universe.calendar[days - 1]!).toArray());
      }),
      { numRuns: 40 },
    );
  });
});

describe("factor set as data", () => {
  it("computes a new factor row without new code (an OLS on QQQ and a spread IWM − TLT)", () => {
    const universe = generateUniverse({ seed: 9, equities: 5, days: 200 });
    const returns: Record<string, (number | null)[]> = {
      ...universe.returns,
      QQQ: universe.returns.VUG!.map((r, t) => r! + 0.001 * Math.sin(t)),
    };
    const extra: FactorSpec[] = [
      {
        id: 13,
        key: "nasdaq_beta",
        name: "Nasdaq Beta",
        category: "market",
        method: "ols",
        inputSymbol: "QQQ",
        longSymbol: null,
        shortSymbol: null,
        windowDays: 200,
        minObservations: 60,
        ridgeAlpha: null,
      },
      {
        id: 14,
        key: "size_rates_spread",
        name: "Size-Rates Spread",
        category: "spread",
        method: "spread",
        inputSymbol: null,
        longSymbol: "IWM",
        shortSymbol: "TLT",
        windowDays: 120,
        minObservations: 30,
        ridgeAlpha: null,
      },
    ];
    const input = engineInput({ ...universe, returns }, [...scaledFactorSpecs(200, 100, 60), ...extra]);
    const calculationDate = universe.calendar[199]!;
    const table = expectSharedEqualsDirect(input, calculationDate);
    const symbol = universe.equities[0]!;
    const betas = table.symbolBetasFor(symbol)!.betas;
    // Reference: the stand-alone OLS on the aligned window.
    const start = Date.parse(`${calculationDate}T00:00:00Z`) - 120 * 86_400_000;
    const inWindow = universe.calendar
      .map((date, t) => [Date.parse(`${date}T00:00:00Z`) > start, t] as const)
      .filter(([inside]) => inside)
      .map(([, t]) => t);
    const spread = inWindow.map((t) => returns.IWM![t]! - returns.TLT![t]!);
    const y = inWindow.map((t) => returns[symbol]![t]!);
    const reference = fitUnivariateOls(spread, y);
    const beta = betas.size_rates_spread!;
    expect(beta.status === "estimated" && closeTo(beta.rawBeta, reference.slope!, 1e-12, 0)).toBe(true);
    expect(betas.nasdaq_beta).toMatchObject({ status: "estimated", factorId: 13, windowDays: 200 });
  });

  it("matches the stand-alone ridge on the symbol's aligned window", () => {
    const universe = generateUniverse({ seed: 21, equities: 3, days: 260 });
    const input = engineInput(universe);
    const calculationDate = universe.calendar[259]!;
    const table = computeUniverseBetas(input, calculationDate);
    const etfs = ["VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"];
    const start = Date.parse(`${calculationDate}T00:00:00Z`) - 365 * 86_400_000;
    // The generator gives every ETF a return on every day, the first included.
    const dates = universe.calendar
      .map((date, t) => (Date.parse(`${date}T00:00:00Z`) > start ? t : -1))
      .filter((t) => t >= 0);
    const symbol = universe.equities[1]!;
    const fit = fitStandardizedRidge(
      etfs.map((etf) => dates.map((t) => universe.returns[etf]![t]!)),
      dates.map((t) => universe.returns[symbol]![t]!),
      1,
    );
    const betas = table.symbolBetasFor(symbol)!.betas;
    ["value", "growth", "momentum", "quality", "size", "low_volatility"].forEach((key, k) => {
      const beta = betas[key]!;
      expect(beta.status === "estimated" && closeTo(beta.rawBeta, fit.coefficients[k]!, 1e-12, 0)).toBe(true);
      expect(beta.status === "estimated" && beta.rSquared).toBe(fit.rSquared);
    });
  });

  it("rejects factor sets the engine cannot run, naming the factor", () => {
    const cases: [string, (specs: readonly FactorSpec[]) => FactorSpec[], RegExp][] = [
      ["two ridge α", (specs) => specs.map((s) => (s.key === "size" ? { ...s, ridgeAlpha: 2 } : s)), /size.*α/],
      [
        "two ridge windows",
        (specs) => specs.map((s) => (s.key === "momentum" ? { ...s, windowDays: 180 } : s)),
        /momentum.*window/,
      ],
      [
        "no input symbol",
        (specs) => specs.map((s) => (s.key === "market_beta" ? { ...s, inputSymbol: null } : s)),
        /market_beta.*input_symbol/,
      ],
      [
        "spread without short",
        (specs) => specs.map((s) => (s.key === "size_spread" ? { ...s, shortSymbol: null } : s)),
        /size_spread.*short_symbol/,
      ],
      ["duplicate key", (specs) => [...specs, { ...specs[0]!, id: 99 }], /market_beta.*duplicate key/],
      [
        "minimum below 2",
        (specs) => specs.map((s) => (s.key === "value" ? { ...s, minObservations: 1 } : s)),
        /value.*min_observations/,
      ],
      [
        "negative α",
        (specs) => specs.map((spec) => (spec.method === "ridge" ? { ...spec, ridgeAlpha: -1 } : spec)),
        /ridge_alpha/,
      ],
      [
        "α on an OLS factor",
        (specs) => specs.map((s) => (s.key === "market_beta" ? { ...s, ridgeAlpha: 1 } : s)),
        /market_beta.*ridge_alpha/,
      ],
    ];
    const panel = buildReturnPanelFromReturns(["2024-01-02"], { SPY: [null] });
    for (const [name, change, message] of cases) {
      const attempt = () => createFactorEngineInput(panel, change(defaultFactorSpecs));
      expect(attempt, name).toThrow(FactorEngineError);
      expect(attempt, name).toThrow(message);
    }
  });
});

describe("edge inputs", () => {
  it("handles an empty panel and a symbol whose series is empty or a single close", () => {
    const empty = createFactorEngineInput(buildReturnPanelFromReturns([], {}), defaultFactorSpecs);
    expect(computeUniverseBetas(empty, "2025-01-31").toArray()).toEqual([]);

    const universe = controlled(120, { EMPTY: () => null });
    const input = engineInput(universe);
    const betas = computeSymbolBetasDirect(input, "EMPTY", universe.calendar[119]!).betas;
    for (const beta of Object.values(betas))
      expect(beta).toMatchObject({ status: "missing", reason: "insufficient_data", observations: 0 });
    expectSharedEqualsDirect(input, universe.calendar[119]!);
  });

  it("computes on a calculation date that is not a trading day, and before the data starts", () => {
    const universe = generateUniverse({ seed: 4, equities: 2, days: 100, startDate: "2024-01-01" });
    const input = engineInput(universe, scaledFactorSpecs(120, 60, 20));
    // 2024-05-18 is a Saturday: the window (D − W, D] ends with Friday's return.
    const saturday = expectSharedEqualsDirect(input, "2024-05-18");
    const friday = computeUniverseBetas(input, "2024-05-17");
    expect(saturday.observations[0]).toBeGreaterThan(0);
    expect(Array.from(saturday.outcome)).toEqual(Array.from(friday.outcome));
    const before = computeUniverseBetas(input, "2023-06-30").toArray();
    for (const beta of before.flatMap((s) => Object.values(s.betas)))
      expect(beta).toMatchObject({ status: "missing", reason: "no_factor_data" });
  });

  it("rejects an unknown symbol and an invalid calculation date with a typed error", () => {
    const universe = generateUniverse({ seed: 4, equities: 1, days: 30 });
    const input = engineInput(universe);
    expect(() => computeSymbolBetasDirect(input, "NOPE", "2024-02-09")).toThrow(/NOPE/);
    expect(() => computeSymbolBetasDirect(input, "NOPE", "2024-02-09")).toThrow(FactorEngineError);
    expect(() => computeUniverseBetas(input, "2024-02-30")).toThrow(FactorEngineError);
    expect(() => computeUniverseBetas(input, "yesterday")).toThrow(/yesterday/);
  });
});
