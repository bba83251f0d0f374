import type { FactorSpec } from "../../../worker/factors/types.ts";
import { defaultFactorSpecs } from "../../../worker/factors/factor-specs.ts";
import { createRandom } from "../../../worker/market-data/synthetic.ts";

export const factorEtfs = ["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"] as const;

/** The seeded default factors as the engine's `FactorSpec`s. */
export { defaultFactorSpecs };

/** The default factor set with other windows and minimums (small universes, fast tests). */
export function scaledFactorSpecs(longWindow: number, shortWindow: number, minObservations: number): FactorSpec[] {
  return defaultFactorSpecs.map((spec) => ({
    ...spec,
    windowDays: spec.windowDays === 365 ? longWindow : shortWindow,
    minObservations,
  }));
}

export { createRandom };

export function createNormal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function weekdays(startDate: string, count: number): string[] {
  const dates: string[] = [];
  for (let t = Date.parse(`${startDate}T00:00:00Z`); dates.length < count; t += 86_400_000) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) dates.push(new Date(t).toISOString().slice(0, 10));
  }
  return dates;
}

export interface UniverseOptions {
  seed: number;
  equities: number;
  days: number;
  startDate?: string;
  /** Share of equities given a gap (late listing, delisting, halt or scattered days). */
  gapShare?: number;
  /** Remove a few days from some factor ETFs too (changes the factors' own dates). */
  etfGaps?: boolean;
  /** Idiosyncratic daily volatility of equities. */
  noise?: number;
}

export interface TestUniverse {
  calendar: string[];
  returns: Record<string, (number | null)[]>;
  /** True loadings of each equity on each ETF's return. */
  trueBetas: Record<string, Record<string, number>>;
  equities: string[];
}

const etfMarketBeta: Record<string, number> = {
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

export function generateUniverse(options: UniverseOptions): TestUniverse {
  const random = createRandom(options.seed);
  const normal = createNormal(random);
  const days = options.days;
  const calendar = weekdays(options.startDate ?? "2024-01-01", days);
  const market = Array.from({ length: days }, () => 0.0004 + 0.011 * normal());
  const returns: Record<string, (number | null)[]> = {};
  for (const etf of factorEtfs) {
    returns[etf] = market.map((m) => etfMarketBeta[etf]! * m + etfNoise[etf]! * normal());
  }
  if (options.etfGaps) {
    for (const etf of ["TLT", "MTUM", "IWM"]) {
      const series = returns[etf]!;
      for (let k = 0; k < 3; k++) series[Math.floor(random() * days)] = null;
    }
  }
  const trueBetas: Record<string, Record<string, number>> = {};
  const equities: string[] = [];
  const noise = options.noise ?? 0.015;
  for (let i = 0; i < options.equities; i++) {
    const symbol = `EQ${String(i).padStart(4, "0")}`;
    equities.push(symbol);
    const betas: Record<string, number> = {};
    for (const etf of factorEtfs) betas[etf] = etf === "SPY" ? 0.4 + random() * 1.2 : -0.4 + random() * 0.8;
    trueBetas[symbol] = betas;
    const alpha = (random() - 0.5) * 0.0004;
    const series: (number | null)[] = [];
    for (let t = 0; t < days; t++) {
      let r = alpha + noise * normal();
      for (const etf of factorEtfs) r += betas[etf]! * (returns[etf]![t] ?? market[t]!);
      series.push(r);
    }
    if (random() < (options.gapShare ?? 0)) {
      const kind = Math.floor(random() * 4);
      const at = Math.floor(random() * days);
      for (let t = 0; t < days; t++) {
        const missing =
          kind === 0 ? t < at : kind === 1 ? t > at : kind === 2 ? t >= at && t < at + 5 : random() < 0.03;
        if (missing) series[t] = null;
      }
    }
    returns[symbol] = series;
  }
  return { calendar, returns, trueBetas, equities };
}

/**
 * |actual − expected| ≤ tolerance · max(|actual|, |expected|, scale): relative, with `scale`
 * standing for the size of the quantity's natural unit so values near zero are compared to it.
 */
export function closeTo(actual: number, expected: number, tolerance: number, scale: number): boolean {
  return Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(actual), Math.abs(expected), scale);
}
