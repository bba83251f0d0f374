import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  computeSymbolMetrics,
  monthsBefore,
  type DailyClose,
  type SymbolMetricsInput,
} from "../../../worker/factors/symbol-metrics.ts";
import { defaultFactorSpecs } from "../../../worker/factors/factor-specs.ts";
import type { EstimatedBeta, MissingBeta } from "../../../worker/factors/types.ts";

const factorKeys = defaultFactorSpecs.map((f) => f.key);
const close = (date: string, value: number, adjClose: number | null = null): DailyClose => ({
  date,
  close: value,
  adjClose,
});
const estimated = (key: string, beta: number): EstimatedBeta => ({
  factorId: 1,
  factorKey: key,
  method: "ols",
  calculationDate: "2025-03-31",
  windowDays: 365,
  observations: 250,
  factorObservations: 250,
  status: "estimated",
  beta,
  rawBeta: beta,
  rSquared: 0.5,
  standardError: 0.04,
  qualityFlag: "ok",
  regularizationAlpha: null,
});
const missing = (key: string): MissingBeta => ({
  factorId: 1,
  factorKey: key,
  method: "ols",
  calculationDate: "2025-03-31",
  windowDays: 365,
  observations: 10,
  factorObservations: 250,
  status: "missing",
  reason: "insufficient_data",
  detail: "10 observations, 60 required",
});
const fullProfile = {
  companyName: "Synthetic Co (synthetic)",
  sector: "Energy",
  industry: "Oil & Gas",
  marketCap: 1e10,
  enterpriseValue: 1.2e10,
  peRatio: 14,
  psRatio: 2,
  pbRatio: 1.5,
};

const history = [
  close("2024-03-28", 80),
  close("2024-12-30", 99),
  close("2024-12-31", 100),
  close("2025-01-31", 110),
  close("2025-02-28", 120),
  close("2025-03-28", 125),
  close("2025-03-31", 130),
];
const base: SymbolMetricsInput = {
  symbol: "SYNA",
  metricsDate: "2025-03-31",
  closes: history,
  previousTradingDate: "2025-03-28",
  profile: fullProfile,
  betas: Object.fromEntries(factorKeys.map((key, i) => [key, estimated(key, 0.1 * (i + 1))])),
  factorKeys,
};

describe("symbol metrics", () => {
  it("computes price and every trailing return against its documented base close", () => {
    const metrics = computeSymbolMetrics(base);
    expect(metrics.currentPrice).toBe(130);
    expect(metrics.return1d).toBeCloseTo(130 / 125 - 1, 15);
    expect(metrics.returnMtd).toBeCloseTo(130 / 120 - 1, 15); // last close of February
    expect(metrics.returnYtd).toBeCloseTo(0.3, 15); // last close of 2024
    expect(metrics.return1m).toBeCloseTo(130 / 120 - 1, 15); // 31 Mar − 1 month → 28 Feb
    expect(metrics.return3m).toBeCloseTo(0.3, 15); // 31 Dec
    expect(metrics.return1y).toBeCloseTo(130 / 80 - 1, 15); // last close on or before 31 Mar 2024
    expect(metrics.factorBetas["market_beta"]).toBeCloseTo(0.1, 15);
    expect(metrics.dataQualityScore).toBe(100);
  });

  it("uses adjusted closes only when both ends have one", () => {
    const adjusted = computeSymbolMetrics({
      ...base,
      closes: [close("2025-03-28", 125, 62.5), close("2025-03-31", 130, 65)],
    });
    expect(adjusted.return1d).toBeCloseTo(65 / 62.5 - 1, 15);
    const mixed = computeSymbolMetrics({
      ...base,
      closes: [close("2025-03-28", 125, null), close("2025-03-31", 130, 65)],
    });
    expect(mixed.return1d).toBeCloseTo(130 / 125 - 1, 15);
  });

  it("reports no price and no returns when the symbol has no close on the date", () => {
    const metrics = computeSymbolMetrics({ ...base, closes: history.slice(0, -1) });
    expect(metrics.currentPrice).toBeNull();
    expect([
      metrics.return1d,
      metrics.returnMtd,
      metrics.returnYtd,
      metrics.return1m,
      metrics.return3m,
      metrics.return1y,
    ]).toEqual(Array(6).fill(null));
  });

  it("gives no 1-day return across a gap (the previous trading day has no close)", () => {
    const metrics = computeSymbolMetrics({ ...base, closes: history.filter((c) => c.date !== "2025-03-28") });
    expect(metrics.return1d).toBeNull();
    expect(metrics.returnMtd).toBeCloseTo(130 / 120 - 1, 15);
  });

  it("leaves a return null when the symbol has no close before its base date (listed later)", () => {
    const listedInFebruary = computeSymbolMetrics({ ...base, closes: history.filter((c) => c.date >= "2025-02-28") });
    expect(listedInFebruary.returnYtd).toBeNull();
    expect(listedInFebruary.return1y).toBeNull();
    expect(listedInFebruary.returnMtd).toBeCloseTo(130 / 120 - 1, 15);
  });

  it("treats a base close more than 31 days before its target date as stale (null)", () => {
    // Halted from mid-January to the end of February: no close near 28 Feb.
    const halted = [
      close("2024-12-31", 100),
      close("2025-01-15", 105),
      close("2025-03-28", 125),
      close("2025-03-31", 130),
    ];
    const metrics = computeSymbolMetrics({ ...base, closes: halted });
    expect(metrics.returnMtd).toBeNull(); // base 15 Jan is 44 days before 28 Feb
    expect(metrics.return1m).toBeNull();
    expect(metrics.returnYtd).toBeCloseTo(0.3, 15);
    expect(metrics.return1y).toBeNull(); // nothing within 31 days before 31 Mar 2024
  });

  it("counts missing betas and profile fields as absent in the score, never as 0", () => {
    const metrics = computeSymbolMetrics({
      ...base,
      profile: { ...fullProfile, peRatio: null, enterpriseValue: null },
      betas: { ...base.betas, value: missing("value"), growth: undefined },
    });
    expect(metrics.factorBetas["value"]).toBeNull();
    expect(metrics.factorBetas["growth"]).toBeNull();
    expect(metrics.peRatio).toBeNull();
    // 27 fields (price, 6 returns, 8 profile fields, 12 betas), 4 absent.
    expect(metrics.dataQualityScore).toBe(Math.round((100 * 23) / 27));
    const empty = computeSymbolMetrics({ ...base, closes: [], profile: null, betas: {} });
    expect(empty.dataQualityScore).toBe(0);
  });

  it("never produces a non-finite number for any positive finite closes", () => {
    const day = fc.integer({ min: 0, max: 800 });
    const price = fc.double({ min: 1e-6, max: 1e9, noNaN: true });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(day, price, fc.option(price)), { selector: ([d]) => d, minLength: 1, maxLength: 60 }),
        (points) => {
          const closes = points
            .toSorted((a, b) => a[0] - b[0])
            .map(([d, p, adj]) =>
              close(new Date(Date.UTC(2023, 0, 2) + d * 86_400_000).toISOString().slice(0, 10), p, adj),
            );
          const last = closes.at(-1)!;
          const metrics = computeSymbolMetrics({
            ...base,
            metricsDate: last.date,
            closes,
            previousTradingDate: closes.at(-2)?.date ?? null,
          });
          for (const value of [
            metrics.return1d,
            metrics.returnMtd,
            metrics.returnYtd,
            metrics.return1m,
            metrics.return3m,
            metrics.return1y,
          ]) {
            expect(value === null || Number.isFinite(value)).toBe(true);
          }
          expect(metrics.currentPrice).toBe(last.close);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("monthsBefore", () => {
  it("clamps to the end of shorter months, leap years included", () => {
    expect(monthsBefore("2025-03-31", 1)).toBe("2025-02-28");
    expect(monthsBefore("2024-03-31", 1)).toBe("2024-02-29");
    expect(monthsBefore("2025-01-15", 1)).toBe("2024-12-15");
    expect(monthsBefore("2024-02-29", 12)).toBe("2023-02-28");
    expect(monthsBefore("2025-05-31", 3)).toBe("2025-02-28");
  });
});
