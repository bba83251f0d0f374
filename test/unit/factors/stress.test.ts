import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aggregatePortfolio } from "../../../worker/factors/portfolio.ts";
import type { StressScenario } from "../../../worker/factors/stress.ts";
import {
  BUILTIN_STRESS_SCENARIOS,
  runStressTest,
  StressScenarioError,
  validateStressScenario,
} from "../../../worker/factors/stress.ts";
import { aggregationInput, PROPERTY_FACTORS } from "./portfolio-arbitraries.ts";
import { ALL_FACTORS, DATE, HAND_PORTFOLIO } from "./portfolio-fixtures.ts";

const scenario = (shocks: Record<string, number>): StressScenario => ({
  id: "s",
  name: "test",
  description: "",
  shocks,
});

describe("runStressTest", () => {
  const portfolio = aggregatePortfolio(HAND_PORTFOLIO);

  it("multiplies each dollar exposure by its shock and sums the impacts", () => {
    const result = runStressTest(portfolio, scenario({ value: 0.05, market_beta: -0.2 }));
    expect(result.impacts.map((i) => [i.factorKey, i.shock])).toEqual([
      ["market_beta", -0.2],
      ["value", 0.05],
    ]);
    expect(result.impacts[0]?.impact).toBeCloseTo(86_964.772399291941 * -0.2, 8);
    expect(result.impacts[1]?.impact).toBeCloseTo(-5_516.1930998229852 * 0.05, 8);
    expect(result.total).toBeCloseTo(-17_668.764134849537, 8);
    expect(result.totalReturn).toBeCloseTo(-17_668.764134849537 / 34_000, 12);
    expect(result).toMatchObject({ scenarioId: "s", scenarioName: "test", missing: [], complete: true });
  });

  it("reports a shocked factor without exposure as missing, not as a 0 impact", () => {
    const noBetas = aggregatePortfolio({ ...HAND_PORTFOLIO, betas: new Map() });
    const result = runStressTest(noBetas, scenario({ market_beta: -0.2 }));
    expect(result.impacts).toEqual([
      { factorId: 1, factorKey: "market_beta", shock: -0.2, exposureDollar: null, impact: null },
    ]);
    expect(result).toMatchObject({ missing: ["market_beta"], total: null, totalReturn: null, complete: false });
  });

  it("still gives dollar impacts when equity ≤ 0, without a return", () => {
    const negative = aggregatePortfolio({ ...HAND_PORTFOLIO, cash: -1_000_000 });
    const result = runStressTest(negative, scenario({ market_beta: -0.1 }));
    expect(result.total).toBeCloseTo(-8_696.4772399291941, 8);
    expect(result.totalReturn).toBeNull();
  });

  it("rejects unknown factor keys (naming them), non-finite shocks and empty scenarios", () => {
    expect(() => runStressTest(portfolio, scenario({ market_beta: -0.1, smallcap: -0.1 }))).toThrow(
      /unknown factor key: smallcap/,
    );
    expect(() => runStressTest(portfolio, scenario({ market_beta: Number.NaN }))).toThrow(
      /shock of market_beta must be a finite number/,
    );
    expect(() => runStressTest(portfolio, scenario({ value: Number.POSITIVE_INFINITY }))).toThrow(StressScenarioError);
    expect(() => runStressTest(portfolio, scenario({}))).toThrow(/at least one shock/);
    try {
      validateStressScenario(scenario({ nope: 1, also_nope: Number.NaN }), ALL_FACTORS);
      expect.unreachable();
    } catch (error) {
      expect((error as StressScenarioError).issues.map((i) => i.factorKey)).toEqual(["nope", "also_nope", "also_nope"]);
    }
  });
});

describe("built-in scenarios", () => {
  it("cover a market drop, a rates shock, a growth-to-value rotation, a momentum crash and a small-cap selloff", () => {
    expect(BUILTIN_STRESS_SCENARIOS.map((s) => s.id)).toEqual([
      "builtin-market-drop",
      "builtin-rates-shock",
      "builtin-growth-to-value-rotation",
      "builtin-momentum-crash",
      "builtin-small-cap-selloff",
    ]);
    const shocks = Object.fromEntries(BUILTIN_STRESS_SCENARIOS.map((s) => [s.id, s.shocks]));
    expect(shocks["builtin-market-drop"]?.market_beta).toBeLessThan(0);
    expect(shocks["builtin-rates-shock"]?.interest_rate_beta).toBeLessThan(0);
    expect(shocks["builtin-growth-to-value-rotation"]?.growth_value_spread).toBeLessThan(0);
    expect(shocks["builtin-momentum-crash"]?.momentum_spread).toBeLessThan(0);
    expect(shocks["builtin-small-cap-selloff"]?.size_spread).toBeLessThan(0);
  });

  it("are valid for the default factors, uniquely named and described", () => {
    for (const s of BUILTIN_STRESS_SCENARIOS) {
      expect(() => validateStressScenario(s, ALL_FACTORS)).not.toThrow();
      expect(s.description.length).toBeGreaterThan(10);
    }
    expect(new Set(BUILTIN_STRESS_SCENARIOS.map((s) => s.name)).size).toBe(BUILTIN_STRESS_SCENARIOS.length);
  });

  it("never shock a ridge style factor (each carries the market: it would count the market twice)", () => {
    const ridge = new Set(ALL_FACTORS.filter((f) => f.method === "ridge").map((f) => f.key));
    for (const s of BUILTIN_STRESS_SCENARIOS)
      for (const key of Object.keys(s.shocks)) expect(ridge.has(key), `${s.id}: ${key}`).toBe(false);
  });

  it("run on a portfolio exposed to every default factor", () => {
    const portfolio = aggregatePortfolio({
      date: DATE,
      cash: 0,
      holdings: [{ id: "a", symbol: "AAA", instrument: "stock", quantity: 100 }],
      closes: new Map([["AAA", 10]]),
      betas: new Map([
        [
          "AAA",
          Object.fromEntries(
            ALL_FACTORS.map((f) => [
              f.key,
              {
                status: "estimated" as const,
                factorId: f.id,
                factorKey: f.key,
                method: f.method,
                calculationDate: DATE,
                windowDays: f.windowDays,
                observations: 250,
                factorObservations: 250,
                beta: 1,
                rawBeta: 1,
                rSquared: 0.5,
                standardError: 0.05,
                qualityFlag: "ok" as const,
                regularizationAlpha: f.ridgeAlpha,
              },
            ]),
          ),
        ],
      ]),
      factors: ALL_FACTORS,
    });
    const drop = runStressTest(portfolio, BUILTIN_STRESS_SCENARIOS[0]!);
    // 1,000 of exposure at beta 1 on each: 1,000 × (−0.20 − 0.05 + 0.03).
    expect(drop.total).toBeCloseTo(-220, 10);
    expect(drop.complete).toBe(true);
  });
});

describe("stress properties", () => {
  const shocks = fc
    .subarray(
      PROPERTY_FACTORS.map((f) => f.key),
      { minLength: 1 },
    )
    .chain((keys) =>
      fc
        .tuple(...keys.map(() => fc.double({ min: -1, max: 1, noNaN: true })))
        .map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]!]))),
    );

  it("is additive in the shocks (impact of a + b = impact of a + impact of b) and total = Σ impacts", () => {
    fc.assert(
      fc.property(aggregationInput(), shocks, fc.double({ min: -1, max: 1, noNaN: true }), (input, a, bScale) => {
        const portfolio = aggregatePortfolio(input);
        const b = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v * bScale + 0.01]));
        const sum = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + (b[k] ?? 0)]));
        const [ra, rb, rs] = [a, b, sum].map((s) => runStressTest(portfolio, scenario(s)));
        rs!.impacts.forEach((impact, i) => {
          const ia = ra!.impacts[i]!.impact;
          const ib = rb!.impacts[i]!.impact;
          if (impact.impact === null) {
            expect([ia, ib]).toEqual([null, null]);
          } else {
            const scale =
              Math.abs(impact.exposureDollar ?? 0) *
              (Math.abs(a[impact.factorKey] ?? 0) + Math.abs(b[impact.factorKey] ?? 0));
            expect(Math.abs(impact.impact - ((ia ?? Number.NaN) + (ib ?? Number.NaN)))).toBeLessThanOrEqual(
              1e-15 * scale,
            );
          }
        });
        for (const r of [ra!, rb!, rs!]) {
          const present = r.impacts.filter((i) => i.impact !== null);
          expect(r.total).toBe(present.length === 0 ? null : present.reduce((s, i) => s + (i.impact ?? 0), 0));
          expect(r.missing).toEqual(r.impacts.filter((i) => i.impact === null).map((i) => i.factorKey));
          for (const i of r.impacts) if (i.impact !== null) expect(Number.isFinite(i.impact)).toBe(true);
        }
      }),
    );
  });
});
