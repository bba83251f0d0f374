import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { activeExposures, benchmarkExposures } from "../../../worker/factors/portfolio-benchmark.ts";
import { factorDrillDown } from "../../../worker/factors/portfolio-drill-down.ts";
import type { AggregationInput, PortfolioAggregation } from "../../../worker/factors/portfolio.ts";
import { aggregatePortfolio } from "../../../worker/factors/portfolio.ts";
import { aggregationInput, close, numbersIn, PROPERTY_FACTORS, twoPortfolios } from "./portfolio-arbitraries.ts";

const scaled = (input: AggregationInput, c: number): AggregationInput => ({
  ...input,
  cash: input.cash * c,
  holdings: input.holdings.map((h) => ({ ...h, quantity: h.quantity * c })),
});

/** Σ|premium value|: with cash and gross, the magnitudes that equity nets out. */
const premiums = (a: PortfolioAggregation) => a.positions.reduce((s, p) => s + Math.abs(p.premiumValue ?? 0), 0);

/** Equity that is not a near-total cancellation of its parts (else weights are ill-conditioned). */
const wellConditioned = (a: PortfolioAggregation) =>
  Math.abs(a.equity) > 1e-6 * (Math.abs(a.cash) + a.gross + premiums(a));

describe("aggregation properties", () => {
  it(
    "scaling every quantity and the cash by a power of 2 scales dollars exactly " + "and leaves exposures unchanged",
    () => {
      fc.assert(
        fc.property(aggregationInput(), fc.constantFrom(0.25, 0.5, 2, 8, 1024), (input, c) => {
          const base = aggregatePortfolio(input);
          const big = aggregatePortfolio(scaled(input, c));
          expect(big.equity).toBe(base.equity * c);
          expect(big.gross).toBe(base.gross * c);
          expect(big.net).toBe(base.net * c);
          big.exposures.forEach((e, i) => {
            const b = base.exposures[i]!;
            expect(e.exposure).toBe(b.exposure);
            expect(e.exposureDollar).toBe(b.exposureDollar === null ? null : b.exposureDollar * c);
            expect(e.coverage).toBe(b.coverage);
            expect([e.positionsUsed, e.positionsTotal]).toEqual([b.positionsUsed, b.positionsTotal]);
          });
        }),
      );
    },
  );

  it("scaling by any c > 0 scales dollars by c and leaves exposures unchanged (to rounding)", () => {
    fc.assert(
      fc.property(aggregationInput(), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (input, c) => {
        const base = aggregatePortfolio(input);
        fc.pre(wellConditioned(base));
        const big = aggregatePortfolio(scaled(input, c));
        expect(big.weightsAvailable).toBe(base.weightsAvailable);
        const dollarScale = 5 * base.gross * c; // |β| ≤ 5, |δ| ≤ 1
        big.exposures.forEach((e, i) => {
          const b = base.exposures[i]!;
          if (b.exposureDollar === null) expect(e.exposureDollar).toBeNull();
          else
            expect(Math.abs((e.exposureDollar ?? Number.NaN) - b.exposureDollar * c)).toBeLessThanOrEqual(
              1e-12 * dollarScale + 1e-300,
            );
          if (b.exposure === null) expect(e.exposure).toBeNull();
          else
            expect(close(e.exposure ?? Number.NaN, b.exposure, 1e-9, (5 * base.gross) / Math.abs(base.equity))).toBe(
              true,
            );
          if (b.coverage !== null) expect(close(e.coverage ?? Number.NaN, b.coverage, 1e-12, 1)).toBe(true);
        });
      }),
    );
  });

  it("adding two disjoint portfolios adds equity, gross, net and dollar exposures", () => {
    fc.assert(
      fc.property(twoPortfolios, ({ a, b }) => {
        const ra = aggregatePortfolio(a);
        const rb = aggregatePortfolio(b);
        const both = aggregatePortfolio({ ...a, cash: a.cash + b.cash, holdings: [...a.holdings, ...b.holdings] });
        const scale = Math.abs(a.cash) + Math.abs(b.cash) + ra.gross + rb.gross + premiums(ra) + premiums(rb);
        expect(close(both.equity, ra.equity + rb.equity, 1e-12, scale)).toBe(true);
        expect(close(both.gross, ra.gross + rb.gross, 1e-12, scale)).toBe(true);
        expect(close(both.net, ra.net + rb.net, 1e-12, scale)).toBe(true);
        both.exposures.forEach((e, i) => {
          const ea = ra.exposures[i]!;
          const eb = rb.exposures[i]!;
          expect(e.positionsUsed).toBe(ea.positionsUsed + eb.positionsUsed);
          expect(e.positionsTotal).toBe(ea.positionsTotal + eb.positionsTotal);
          if (ea.exposureDollar === null && eb.exposureDollar === null) {
            expect(e.exposureDollar).toBeNull();
          } else {
            const sum = (ea.exposureDollar ?? 0) + (eb.exposureDollar ?? 0);
            expect(close(e.exposureDollar ?? Number.NaN, sum, 1e-12, 5 * scale)).toBe(true);
          }
          if (e.coverage !== null) {
            const covered = (ea.coverage ?? 0) * ra.gross + (eb.coverage ?? 0) * rb.gross;
            expect(close(e.coverage, covered / (ra.gross + rb.gross), 1e-12, 1)).toBe(true);
          }
        });
      }),
    );
  });

  it("never puts NaN or ±Infinity in any output for finite inputs", () => {
    fc.assert(
      fc.property(aggregationInput(), fc.constantFrom("SPY", "S0", "S3"), (input, benchmarkSymbol) => {
        const aggregation = aggregatePortfolio(input);
        const outputs: unknown[] = [aggregation];
        for (const f of PROPERTY_FACTORS) outputs.push(factorDrillDown(input, f.key));
        outputs.push(activeExposures(aggregation, benchmarkExposures(benchmarkSymbol, input.betas, input.factors)));
        for (const [path, value] of numbersIn(outputs)) expect(Number.isFinite(value), path).toBe(true);
        for (const e of aggregation.exposures) {
          if (e.coverage !== null) expect(e.coverage >= 0 && e.coverage <= 1).toBe(true);
          if (e.exposure !== null) expect(aggregation.equity).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe("drill-down properties", () => {
  it("contributions sum to the exposure, and every held position is listed exactly once", () => {
    fc.assert(
      fc.property(aggregationInput(), fc.constantFrom(...PROPERTY_FACTORS.map((f) => f.key)), (input, key) => {
        const drill = factorDrillDown(input, key);
        const scale = drill.rows.reduce((s, r) => s + Math.abs(r.contributionDollar), 0);
        if (drill.exposure.exposureDollar === null) expect(drill.totals.contributionDollar).toBeNull();
        else
          expect(
            Math.abs((drill.totals.contributionDollar ?? Number.NaN) - drill.exposure.exposureDollar),
          ).toBeLessThanOrEqual(1e-12 * scale);
        if (drill.exposure.exposure === null) expect(drill.totals.contribution).toBeNull();
        else {
          const weightScale = drill.rows.reduce((s, r) => s + Math.abs(r.contribution ?? 0), 0);
          expect(Math.abs((drill.totals.contribution ?? Number.NaN) - drill.exposure.exposure)).toBeLessThanOrEqual(
            1e-12 * weightScale,
          );
        }
        for (let i = 1; i < drill.rows.length; i++) {
          expect(Math.abs(drill.rows[i - 1]!.contributionDollar)).toBeGreaterThanOrEqual(
            Math.abs(drill.rows[i]!.contributionDollar),
          );
        }
        const listed = [...drill.rows, ...drill.missing].flatMap((r) => r.positionIds).sort();
        const held = aggregatePortfolio(input)
          .positions.map((p) => p.positionId)
          .sort();
        expect(listed).toEqual(held);
        expect(drill.rows.reduce((n, r) => n + r.positionIds.length, 0)).toBe(drill.exposure.positionsUsed);
      }),
    );
  });
});
