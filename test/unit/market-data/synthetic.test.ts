import { describe, expect, it } from "vitest";
import { factorEtfSymbols } from "../../../worker/market-data/etfs.ts";
import {
  closesOf,
  gapForEquity,
  generateSyntheticMarket,
  impliedFactorBetas,
  modelDailyVolatility,
  solveLinearSystem,
} from "../../../worker/market-data/synthetic.ts";
import type { SyntheticMarket } from "../../../worker/market-data/synthetic.ts";

const year = { startDate: "2025-01-01", endDate: "2025-12-31" };
const styleEtfs = ["VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"];

/** Daily simple returns from closes; NaN where either day has no close. */
function returnsOf(closes: ArrayLike<number>): number[] {
  const returns: number[] = [];
  for (let t = 1; t < closes.length; t++) returns.push(closes[t]! / closes[t - 1]! - 1);
  return returns;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

function correlation(x: readonly number[], y: readonly number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * OLS of y on the columns of `xs` with an intercept: coefficients and their classical standard
 * errors sqrt(s² · (XᵀX)⁻¹_kk) on centered data.
 */
function regress(y: readonly number[], xs: readonly (readonly number[])[]): { beta: number[]; se: number[] } {
  const n = y.length;
  const k = xs.length;
  const centered = xs.map((x) => {
    const m = mean(x);
    return x.map((value) => value - m);
  });
  const my = mean(y);
  const yc = y.map((value) => value - my);
  const gram = centered.map((a) => centered.map((b) => a.reduce((sum, value, i) => sum + value * b[i]!, 0)));
  const xty = centered.map((a) => a.reduce((sum, value, i) => sum + value * yc[i]!, 0));
  const beta = solveLinearSystem(gram, xty);
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    let fitted = 0;
    for (let j = 0; j < k; j++) fitted += beta[j]! * centered[j]![i]!;
    ssr += (yc[i]! - fitted) ** 2;
  }
  const s2 = ssr / (n - k - 1);
  const se = beta.map((_, j) =>
    Math.sqrt(
      s2 *
        solveLinearSystem(
          gram,
          gram.map((__, i) => (i === j ? 1 : 0)),
        )[j]!,
    ),
  );
  return { beta, se };
}

function etfReturns(market: SyntheticMarket, symbol: string): number[] {
  return returnsOf(closesOf(market, symbol));
}

describe("synthetic market: determinism and scale", () => {
  it("is deterministic for a seed and different for another", () => {
    const options = { seed: 11, equities: 30, ...year };
    const a = generateSyntheticMarket(options);
    expect(generateSyntheticMarket(options)).toEqual(a);
    const other = generateSyntheticMarket({ ...options, seed: 12 });
    expect(closesOf(other, "SPY")).not.toEqual(closesOf(a, "SPY"));
    expect(other.instruments[20]?.trueBetas).not.toEqual(a.instruments[20]?.trueBetas);
  });

  it("gives an equity the same data whatever the universe size", () => {
    const small = generateSyntheticMarket({ seed: 5, equities: 20, ...year });
    const large = generateSyntheticMarket({ seed: 5, equities: 200, ...year });
    expect(large.instruments.slice(0, small.instruments.length)).toEqual(small.instruments);
    for (const instrument of small.instruments)
      expect(closesOf(large, instrument.symbol)).toEqual(closesOf(small, instrument.symbol));
  });

  it("generates 5,000 symbols over ~330 trading days as typed series", () => {
    const market = generateSyntheticMarket({
      seed: 1,
      equities: 5_000,
      startDate: "2024-09-02",
      endDate: "2025-12-19",
      priceRows: false,
    });
    const days = market.calendar.length;
    expect(days).toBe(340);
    expect(market.instruments).toHaveLength(5_009);
    expect(new Set(market.instruments.map((instrument) => instrument.symbol)).size).toBe(5_009);
    expect(market.series.closes).toBeInstanceOf(Float64Array);
    expect(market.series.closes).toHaveLength(5_009 * days);
    expect(market.prices).toEqual([]);
    const missing = market.gaps.reduce((sum, gap) => sum + gap.missingDates.length, 0);
    const present = market.series.closes.reduce((sum, close) => sum + (Number.isNaN(close) ? 0 : 1), 0);
    expect(present).toBe(5_009 * days - missing);
    expect(market.gaps).toHaveLength(200);
  });

  it("builds one price row per close, labelled synthetic, matching the series", () => {
    const market = generateSyntheticMarket({ seed: 3, equities: 12, ...year });
    const present = market.series.closes.reduce((sum, close) => sum + (Number.isNaN(close) ? 0 : 1), 0);
    expect(market.prices).toHaveLength(present);
    const calendar = new Set(market.calendar);
    for (const price of market.prices) {
      expect(price.source).toBe("synthetic");
      expect(calendar.has(price.date)).toBe(true);
      expect(Number.isFinite(price.close) && price.close > 0).toBe(true);
      expect(Number.isInteger(price.volume) && price.volume >= 0).toBe(true);
    }
  });
});

describe("synthetic market: realism", () => {
  it("style ETFs correlate 0.8–0.95 with SPY and TLT negatively, in the model and in a year of data", () => {
    const { covariance, etfSymbols } = generateSyntheticMarket({ seed: 1, equities: 0, ...year }).model;
    const spy = etfSymbols.indexOf("SPY");
    for (const etf of styleEtfs) {
      const k = etfSymbols.indexOf(etf);
      const rho = covariance[spy]![k]! / Math.sqrt(covariance[spy]![spy]! * covariance[k]![k]!);
      expect(rho, etf).toBeGreaterThan(0.85);
      expect(rho, etf).toBeLessThan(0.93);
    }
    for (const seed of [1, 2, 3, 4, 5]) {
      const market = generateSyntheticMarket({ seed, equities: 0, ...year });
      const spyReturns = etfReturns(market, "SPY");
      for (const etf of styleEtfs) {
        const rho = correlation(spyReturns, etfReturns(market, etf));
        expect(rho, `${etf} seed ${seed}`).toBeGreaterThan(0.8);
        expect(rho, `${etf} seed ${seed}`).toBeLessThan(0.95);
      }
      expect(correlation(spyReturns, etfReturns(market, "TLT"))).toBeLessThan(-0.1);
    }
  });

  it("has equity daily vols of 1–3%, market betas of 0.3–1.8, 10 sectors and plausible fundamentals", () => {
    const market = generateSyntheticMarket({ seed: 9, equities: 1_000, ...year, priceRows: false });
    const equities = market.instruments.filter((instrument) => instrument.assetType === "equity");
    for (const instrument of equities) {
      const vol = modelDailyVolatility(instrument, market);
      expect(vol).toBeGreaterThanOrEqual(0.01);
      expect(vol).toBeLessThanOrEqual(0.03 + 1e-9);
      const beta = impliedFactorBetas(instrument, market)["market_beta"]!;
      expect(beta).toBeGreaterThanOrEqual(0.3 - 1e-12);
      expect(beta).toBeLessThanOrEqual(1.8 + 1e-12);
    }
    // A year of data shows the model's volatility (sample sd within 15% for all but a few).
    const days = market.calendar.length;
    const off = equities.filter((instrument, i) => {
      if (instrument.gap !== null) return false;
      const returns = returnsOf(market.series.closes.subarray((9 + i) * days, (10 + i) * days));
      const sd = Math.sqrt(mean(returns.map((r) => (r - mean(returns)) ** 2)));
      return Math.abs(sd / modelDailyVolatility(instrument, market) - 1) > 0.15;
    });
    expect(off.length).toBeLessThan(10);

    expect(new Set(equities.map((instrument) => instrument.sector)).size).toBe(10);
    const industries = new Set(equities.map((instrument) => `${instrument.sector}/${instrument.industry}`));
    expect(industries.size).toBeGreaterThanOrEqual(20);
    const logCaps = equities.map((instrument) => Math.log(instrument.marketCap));
    const logMean = mean(logCaps);
    expect(Math.exp(logMean)).toBeGreaterThan(6e9);
    expect(Math.exp(logMean)).toBeLessThan(2.4e10);
    expect(Math.sqrt(mean(logCaps.map((x) => (x - logMean) ** 2)))).toBeGreaterThan(1);
    const missingPe = equities.filter((instrument) => instrument.peRatio === null).length / equities.length;
    expect(missingPe).toBeGreaterThan(0.03);
    expect(missingPe).toBeLessThan(0.15);
    for (const instrument of equities) {
      for (const ratio of [instrument.peRatio, instrument.psRatio, instrument.pbRatio])
        if (ratio !== null) expect(ratio).toBeGreaterThan(0);
      expect(instrument.enterpriseValue === null).toBe(instrument.sector === "Financials");
    }
    // ETFs have no fundamentals: missing, not 0.
    for (const instrument of market.instruments.filter((i) => i.assetType === "etf"))
      expect([instrument.peRatio, instrument.psRatio, instrument.pbRatio]).toEqual([null, null, null]);
  });

  it("labels everything as synthetic", () => {
    const market = generateSyntheticMarket({ seed: 2, equities: 50, ...year });
    for (const instrument of market.instruments) {
      expect(instrument.companyName).toMatch(/\(synthetic\)$/);
      if (instrument.assetType === "equity") expect(instrument.symbol).toMatch(/^SYN[A-Z]+$/);
    }
    expect(new Set(market.prices.map((price) => price.source))).toEqual(new Set(["synthetic"]));
  });
});

describe("synthetic market: gaps", () => {
  const market = generateSyntheticMarket({ seed: 4, equities: 210, ...year });
  const days = market.calendar.length;
  const equities = market.instruments.filter((instrument) => instrument.assetType === "equity");
  const present = (symbol: string) => Array.from(closesOf(market, symbol), (close) => !Number.isNaN(close));

  it("puts each kind of gap on the documented equities, and nowhere else", () => {
    for (const [index, instrument] of equities.entries())
      expect(instrument.gap, instrument.symbol).toBe(gapForEquity(index));
    expect(market.gaps.map((gap) => [gap.symbol, gap.kind])).toEqual(
      [3, 5, 7, 9, 103, 105, 107, 109, 203, 205, 207, 209].map((index) => [
        equities[index]!.symbol,
        gapForEquity(index),
      ]),
    );
    for (const etf of market.instruments.filter((instrument) => instrument.assetType === "etf"))
      expect(present(etf.symbol).every(Boolean)).toBe(true);
    expect(present(equities[0]!.symbol).every(Boolean)).toBe(true);
  });

  it("has the late listing, delisting, halt and missing days where they are documented", () => {
    const late = equities[3]!;
    expect(present(late.symbol).indexOf(true)).toBe(Math.floor(days / 2));
    expect(late.listedOn).toBe(market.calendar[Math.floor(days / 2)]);

    const delisted = equities[5]!;
    expect(present(delisted.symbol).lastIndexOf(true)).toBe(days - 41);
    expect(delisted.delistedOn).toBe(market.calendar[days - 40]);
    expect(delisted.lastTradedOn).toBe(market.calendar[days - 41]);

    const halted = present(equities[7]!.symbol);
    expect(halted.map((p, t) => (p ? -1 : t)).filter((t) => t >= 0)).toEqual([100, 101, 102, 103, 104]);

    const scattered = present(equities[9]!.symbol);
    expect(scattered.map((p, t) => (p ? -1 : t)).filter((t) => t >= 0)).toEqual(
      market.calendar.map((_, t) => t).filter((t) => t % 37 === 11),
    );

    for (const gap of market.gaps) {
      const closes = closesOf(market, gap.symbol);
      expect(gap.missingDates).toEqual(market.calendar.filter((_, t) => Number.isNaN(closes[t]!)));
    }
  });

  it("leaves the gaps out on request", () => {
    const clean = generateSyntheticMarket({ seed: 4, equities: 210, ...year, gaps: false });
    expect(clean.gaps).toEqual([]);
    expect(clean.series.closes.some(Number.isNaN)).toBe(false);
  });
});

describe("impliedFactorBetas", () => {
  it("gives the ETFs their own identities", () => {
    const market = generateSyntheticMarket({ seed: 1, equities: 0, ...year });
    const etf = (symbol: string) => market.instruments.find((instrument) => instrument.symbol === symbol)!;
    expect(impliedFactorBetas(etf("SPY"), market)["market_beta"]).toBeCloseTo(1, 12);
    expect(impliedFactorBetas(etf("TLT"), market)["interest_rate_beta"]).toBeCloseTo(1, 12);
    const vtv = impliedFactorBetas(etf("VTV"), market);
    expect(vtv["value"]).toBeCloseTo(1, 10);
    for (const key of ["growth", "momentum", "quality", "size", "low_volatility"]) expect(vtv[key]).toBeCloseTo(0, 10);
    // SPY on (MTUM − SPY): Cov(SPY, MTUM − SPY) / Var(MTUM − SPY), negative since MTUM's market beta is 1.
    const { covariance, etfSymbols } = market.model;
    const [s, m] = [etfSymbols.indexOf("SPY"), etfSymbols.indexOf("MTUM")];
    const expected =
      (covariance[s]![m]! - covariance[s]![s]!) / (covariance[m]![m]! + covariance[s]![s]! - 2 * covariance[s]![m]!);
    expect(impliedFactorBetas(etf("SPY"), market)["momentum_spread"]).toBeCloseTo(expected, 12);
  });

  it("is what regressions on many simulated days converge to (within 4.5 standard errors)", () => {
    // ~19 years of weekdays: enough for the sample slopes to sit close to the population ones.
    // With ~40 symbols × 16 coefficients, a 4.5-SE miss by chance has probability ~0.5%.
    const market = generateSyntheticMarket({
      seed: 21,
      equities: 40,
      startDate: "2000-01-03",
      endDate: "2018-12-31",
      gaps: false,
      priceRows: false,
    });
    const etf = Object.fromEntries([...factorEtfSymbols].map((symbol) => [symbol, etfReturns(market, symbol)]));
    const spread = (long: string, short: string) => etf[long]!.map((r, t) => r - etf[short]![t]!);
    const spreads: Record<string, number[]> = {
      growth_value_spread: spread("VUG", "VTV"),
      momentum_spread: spread("MTUM", "SPY"),
      size_spread: spread("IWM", "SPY"),
      quality_spread: spread("QUAL", "SPY"),
    };
    const styleKeys = ["value", "growth", "momentum", "quality", "size", "low_volatility"];
    const misses: string[] = [];
    const check = (label: string, estimate: number, se: number, target: number) => {
      if (Math.abs(estimate - target) > 4.5 * se)
        misses.push(`${label}: ${estimate.toFixed(4)} ± ${se.toFixed(4)} vs ${target.toFixed(4)}`);
    };
    for (const instrument of market.instruments.filter((i) => i.assetType === "equity")) {
      const y = etfReturns(market, instrument.symbol);
      const implied = impliedFactorBetas(instrument, market);
      const market1 = regress(y, [etf["SPY"]!]);
      check(`${instrument.symbol} market`, market1.beta[0]!, market1.se[0]!, implied["market_beta"]!);
      const rates = regress(y, [etf["TLT"]!]);
      check(`${instrument.symbol} rates`, rates.beta[0]!, rates.se[0]!, implied["interest_rate_beta"]!);
      for (const [key, x] of Object.entries(spreads)) {
        const fit = regress(y, [x]);
        check(`${instrument.symbol} ${key}`, fit.beta[0]!, fit.se[0]!, implied[key]!);
      }
      const style = regress(
        y,
        styleEtfs.map((symbol) => etf[symbol]!),
      );
      for (const [j, key] of styleKeys.entries())
        check(`${instrument.symbol} ${key}`, style.beta[j]!, style.se[j]!, implied[key]!);
      // On all eight ETFs the regression recovers the generating loadings themselves.
      const all = regress(
        y,
        [...factorEtfSymbols].map((symbol) => etf[symbol]!),
      );
      for (const [j, symbol] of [...factorEtfSymbols].entries())
        check(`${instrument.symbol} loading ${symbol}`, all.beta[j]!, all.se[j]!, instrument.trueBetas[symbol]!);
    }
    expect(misses).toEqual([]);
  });

  it("differs from the generating loadings where the regressors are collinear", () => {
    const market = generateSyntheticMarket({ seed: 21, equities: 40, ...year });
    const equities = market.instruments.filter((instrument) => instrument.assetType === "equity");
    const gaps = equities.map((instrument) =>
      Math.abs(impliedFactorBetas(instrument, market)["market_beta"]! - instrument.trueBetas["SPY"]!),
    );
    expect(Math.max(...gaps)).toBeGreaterThan(0.3);
  });

  it("includes ridge shrinkage on request, vanishing as the sample grows", () => {
    const market = generateSyntheticMarket({ seed: 21, equities: 20, ...year });
    const styleKeys = ["value", "growth", "momentum", "quality", "size", "low_volatility"];
    for (const instrument of market.instruments.filter((i) => i.assetType === "equity")) {
      const plain = impliedFactorBetas(instrument, market);
      const shrunk = impliedFactorBetas(instrument, market, undefined, { ridgeAlpha: 1, observations: 250 });
      const huge = impliedFactorBetas(instrument, market, undefined, { ridgeAlpha: 1, observations: 1e9 });
      // Ridge shrinks the standardized coefficient vector's length.
      const { covariance, etfSymbols } = market.model;
      const norm = (betas: Record<string, number>) =>
        Math.hypot(
          ...styleKeys.map(
            (key, j) =>
              betas[key]! *
              Math.sqrt(covariance[etfSymbols.indexOf(styleEtfs[j]!)]![etfSymbols.indexOf(styleEtfs[j]!)]!),
          ),
        );
      expect(norm(shrunk)).toBeLessThan(norm(plain));
      for (const key of styleKeys) expect(huge[key]).toBeCloseTo(plain[key]!, 6);
      expect(shrunk["market_beta"]).toBe(plain["market_beta"]);
    }
  });
});
