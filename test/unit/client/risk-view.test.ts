// The Risk page's pure parts: the holdings sort, the attribution's stacked layers (whose top is
// the P&L on every day), sparkline gaps, and the CSV exports (every number as served).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attributionCsv,
  attributionStack,
  type HoldingRow,
  sortHoldings,
  sparklinePoints,
} from "../../../client/src/lib/risk-view.ts";
import type { AttributionResponse } from "../../../worker/api/portfolio-risk.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";

const holding = (symbol: string, share: number | null, weight: number): HoldingRow => ({
  symbol,
  position_ids: [symbol.toLowerCase()],
  weight,
  factor_part: 0,
  specific_part: 0,
  contribution: share ?? 0,
  share,
  marginal: share,
});

describe("sortHoldings", () => {
  const rows = [holding("B", 0.2, 0.1), holding("A", null, 0.3), holding("C", 0.5, -0.2), holding("D", 0.2, 0.4)];

  it("sorts by a number both ways, missing numbers last either way, ties by symbol", () => {
    expect(sortHoldings(rows, "share", "descending").map((r) => r.symbol)).toEqual(["C", "B", "D", "A"]);
    expect(sortHoldings(rows, "share", "ascending").map((r) => r.symbol)).toEqual(["B", "D", "C", "A"]);
    expect(sortHoldings(rows, "weight", "ascending").map((r) => r.symbol)).toEqual(["C", "B", "A", "D"]);
  });

  it("sorts by symbol and leaves its input alone", () => {
    expect(sortHoldings(rows, "symbol", "descending").map((r) => r.symbol)).toEqual(["D", "C", "B", "A"]);
    expect(rows.map((r) => r.symbol)).toEqual(["B", "A", "C", "D"]);
  });
});

/** An attribution answer from daily parts, with the API's running sums (missing days add nothing). */
function attribution(days: { pnl: number; parts: Record<string, number> | null }[]): AttributionResponse {
  const factors = ["market", "size"];
  const sum = { pnl: 0, factor: { market: 0, size: 0 } as Record<string, number>, days: 0 };
  const out = days.map((day, t) => {
    const date = `2026-01-${String(t + 2).padStart(2, "0")}`;
    const factorTotal = day.parts ? Object.values(day.parts).reduce((a, b) => a + b, 0) : null;
    if (day.parts) {
      sum.pnl += day.pnl;
      sum.days += 1;
      for (const key of factors) sum.factor[key]! += day.parts[key] ?? 0;
    }
    const factorSum = factors.reduce((a, key) => a + sum.factor[key]!, 0);
    return {
      date,
      previous_date: null,
      status: day.parts ? ("attributed" as const) : ("missing" as const),
      reason: day.parts ? null : ("factor_returns_missing" as const),
      detail: null,
      pnl: day.pnl,
      equity_previous: 1e6,
      factor_pnl: day.parts,
      factor_pnl_total: factorTotal,
      specific_pnl: factorTotal === null ? null : day.pnl - factorTotal,
      total_return: day.pnl / 1e6,
      factor_return: null,
      factor_return_total: null,
      specific_return: null,
      cumulative: {
        days: sum.days,
        pnl: sum.pnl,
        factor_pnl: { ...sum.factor },
        factor_pnl_total: factorSum,
        specific_pnl: sum.pnl - factorSum,
        total_return: sum.pnl / 1e6,
        factor_return: { market: 0, size: 0 },
        factor_return_total: 0,
        specific_return: 0,
      },
    };
  });
  const last = out.at(-1);
  if (!last) throw new Error("no days");
  return {
    portfolio_id: "p",
    from: out[0]!.date,
    to: last.date,
    factors,
    days: out,
    total: last.cumulative,
    days_attributed: sum.days,
    days_missing: days.length - sum.days,
  };
}

describe("attributionStack", () => {
  it("stacks factors then specific, and its top is the cumulative P&L on every day", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pnl: fc.double({ min: -1e5, max: 1e5, noNaN: true }),
            parts: fc.option(
              fc.record({
                market: fc.double({ min: -1e5, max: 1e5, noNaN: true }),
                size: fc.double({ min: -1e5, max: 1e5, noNaN: true }),
              }),
            ),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (days) => {
          const response = attribution(days);
          const stack = attributionStack(response);
          expect(stack.layers.map((layer) => layer.key)).toEqual(["market", "size", "specific"]);
          expect(stack.dates).toEqual(response.days.map((day) => day.date));
          const top = stack.stacked.at(-1)!;
          response.days.forEach((day, t) => {
            const scale = Math.max(1, Math.abs(day.cumulative.pnl), ...days.map((d) => Math.abs(d.pnl)));
            expect(Math.abs(top[t]! - day.cumulative.pnl)).toBeLessThanOrEqual(1e-9 * scale * days.length);
            expect(stack.stacked[0]![t]).toBe(day.cumulative.factor_pnl["market"]);
          });
        },
      ),
    );
  });

  it("keeps the running sums through a day that is not attributed", () => {
    const stack = attributionStack(
      attribution([
        { pnl: 100, parts: { market: 60, size: 10 } },
        { pnl: 999, parts: null },
        { pnl: -50, parts: { market: -20, size: 0 } },
      ]),
    );
    expect(stack.layers[0]!.values).toEqual([60, 60, 40]);
    expect(stack.layers[2]!.values).toEqual([30, 30, 0]);
    expect(stack.pnl).toEqual([100, 100, 50]);
  });
});

describe("sparklinePoints", () => {
  it("breaks the line at a missing value instead of bridging it", () => {
    expect(sparklinePoints([1, 2, null, 3, 4], 40, 10)).toEqual(["0.0,10.0 10.0,6.7", "30.0,3.3 40.0,0.0"]);
  });

  it("draws a flat series mid-height and nothing without numbers", () => {
    expect(sparklinePoints([2, 2], 10, 10)).toEqual(["0.0,5.0 10.0,5.0"]);
    expect(sparklinePoints([null, null], 10, 10)).toEqual([]);
  });
});

describe("attributionCsv", () => {
  it("has one line per day with its reason, and a total line whose parts add up to the P&L", () => {
    const response = attribution([
      { pnl: 100, parts: { market: 60, size: 10 } },
      { pnl: 7, parts: null },
    ]);
    const [header, first, second, total] = parseCsv(attributionCsv(response)).records.map((r) => r.fields);
    expect(header).toEqual([
      "date",
      "status",
      "reason",
      "pnl",
      "factor_pnl_market",
      "factor_pnl_size",
      "factor_pnl_total",
      "specific_pnl",
      "total_return",
      "factor_return_market",
      "factor_return_size",
      "specific_return",
    ]);
    expect(first!.slice(0, 8)).toEqual(["2026-01-02", "attributed", "", "100", "60", "10", "70", "30"]);
    // A missing day's parts are empty, never 0.
    expect(second!.slice(0, 8)).toEqual(["2026-01-03", "missing", "factor_returns_missing", "7", "", "", "", ""]);
    expect(total!.slice(0, 8)).toEqual(["total", "1 days attributed", "", "100", "60", "10", "70", "30"]);
  });
});
