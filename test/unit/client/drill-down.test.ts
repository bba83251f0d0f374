// The drill-down's pure parts (client/src/lib/drill-down.ts): sorting by any column (missing last,
// ties in the API's order), the symbol/name filter and its note, the totals with the cash row
// that reconcile the weights with equity (a property: totals are the sums of the rows, and the
// weights sum to 1 + options' notional beyond premium), and the CSV without float noise.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DrillDownLike,
  type DrillDownRowLike,
  drillDownCsv,
  drillDownTotals,
  filterNote,
  formatDelta,
  holdingLine,
  holdingRows,
  leftOutRows,
  matchesFilter,
  nextSort,
  optionTerms,
  sortHoldings,
  sortLeftOut,
  weightsNote,
} from "../../../client/src/lib/drill-down.ts";
import { roundDecimals, roundSignificant } from "../../../client/src/lib/csv.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";

const csvRows = (text: string) => parseCsv(text).records.map((record) => record.fields);

function row(symbol: string, fields: Partial<DrillDownRowLike> = {}): DrillDownRowLike {
  const weight = fields.weight === undefined ? 0.1 : fields.weight;
  const delta = fields.delta ?? 1;
  const beta = fields.beta ?? 1;
  return {
    symbol,
    beta_symbol: symbol,
    instrument: "stock",
    position_ids: [`p-${symbol}`],
    market_value: (weight ?? 0) * 1_000,
    weight,
    delta,
    beta,
    quality_flag: "ok",
    contribution: weight === null ? null : weight * delta * beta,
    contribution_dollar: (weight ?? 0) * 1_000 * delta * beta,
    name: null,
    ...fields,
  };
}

/**
 * A portfolio of equity 1,000: 300 cash, AAA 400, BBB 200 (a short of −100 is in CCC), an
 * option on AAA at notional 1,000 with premium 100, and an unpriced stock left out.
 */
const example: DrillDownLike = {
  equity: 1_000,
  cash: 300,
  options_notional: 1_000,
  options_premium: 100,
  weights_available: true,
  rows: [
    row("AAA", { weight: 0.4, beta: 1.2, name: "Alpha Corp" }),
    row("AAA 270401P00100000", {
      beta_symbol: "AAA",
      instrument: "option",
      weight: 1,
      delta: -0.0005,
      beta: 1.2,
      name: "Alpha Corp",
      premium_value: 100,
    }),
    row("BBB", { weight: 0.3, beta: 0.5, name: "Beta Industries" }),
    row("CCC", { weight: -0.1, beta: 0.8, name: "Gamma Shorts" }),
  ],
  missing: [
    {
      symbol: "ZZZ",
      beta_symbol: "ZZZ",
      instrument: "stock",
      position_ids: ["p-zzz"],
      reason: "no_price",
      detail: "no close for ZZZ on the date",
      market_value: null,
      weight: null,
      name: "Zeta",
    },
  ],
  exposure: 0.4 * 1.2 + 1 * -0.0005 * 1.2 + 0.3 * 0.5 + -0.1 * 0.8,
  exposure_dollar: (0.4 * 1.2 + 1 * -0.0005 * 1.2 + 0.3 * 0.5 + -0.1 * 0.8) * 1_000,
};

const symbols = (rows: readonly { symbol: string }[]) => rows.map((entry) => entry.symbol);

describe("rows", () => {
  it("gives an option its delta-adjusted weight beside the notional one", () => {
    const option = holdingRows(example).find((entry) => entry.instrument === "option")!;
    expect(option.weight).toBe(1);
    expect(option.deltaWeight).toBeCloseTo(-0.0005, 15);
    expect(option.contribution).toBeCloseTo(option.deltaWeight! * option.beta, 15);
    expect(holdingRows(example)[0]!.deltaWeight).toBe(0.4);
  });

  it("shows a tiny delta with four decimals and reads an option's terms from its symbol", () => {
    expect(formatDelta(-0.00055)).toBe("\u22120.0006");
    expect(formatDelta(0.55)).toBe("+0.55");
    expect(formatDelta(1)).toBe("+1.00");
    expect(optionTerms("SPY 270401P00504000")).toEqual({ type: "put", strike: 504, expiry: "2027-04-01" });
    expect(optionTerms("SYNDC 270603C00053500")).toEqual({ type: "call", strike: 53.5, expiry: "2027-06-03" });
    expect(optionTerms("SPY")).toBeNull();
    expect(optionTerms("SPY 271301P00504000")).toBeNull();
    const put = { symbol: "SPY 270401P00504000", betaSymbol: "SPY", name: "S&P" };
    expect(holdingLine(put)).toBe("put 504 · Apr 1 2027");
    expect(holdingLine({ symbol: "AAA-X", betaSymbol: "AAA", name: "Alpha" })).toBe("on AAA · Alpha");
    expect(holdingLine({ symbol: "AAA", betaSymbol: "AAA", name: null })).toBe("");
  });
});

describe("sorting", () => {
  const rows = holdingRows(example);

  it("keeps the API's order without a sort, and sorts every column both ways", () => {
    expect(symbols(sortHoldings([...rows].reverse(), null))).toEqual(symbols(rows));
    expect(symbols(sortHoldings(rows, { key: "symbol", direction: "ascending" }))).toEqual([
      "AAA",
      "AAA 270401P00100000",
      "BBB",
      "CCC",
    ]);
    expect(symbols(sortHoldings(rows, { key: "weight", direction: "descending" }))).toEqual([
      "AAA 270401P00100000",
      "AAA",
      "BBB",
      "CCC",
    ]);
    expect(symbols(sortHoldings(rows, { key: "delta_weight", direction: "descending" }))).toEqual([
      "AAA",
      "BBB",
      "AAA 270401P00100000",
      "CCC",
    ]);
    expect(symbols(sortHoldings(rows, { key: "contribution", direction: "ascending" }))).toEqual([
      "CCC",
      "AAA 270401P00100000",
      "BBB",
      "AAA",
    ]);
    expect(symbols(sortHoldings(rows, { key: "beta", direction: "ascending" }))[0]).toBe("BBB");
    expect(symbols(sortHoldings(rows, { key: "delta", direction: "ascending" }))[0]).toBe("AAA 270401P00100000");
    expect(symbols(sortHoldings(rows, { key: "instrument", direction: "descending" }))[3]).toBe("AAA 270401P00100000");
    expect(symbols(sortHoldings(rows, { key: "contribution_dollar", direction: "descending" }))[0]).toBe("AAA");
  });

  it("puts missing numbers last in either direction and keeps ties in the API's order", () => {
    const withNull = holdingRows({ rows: [row("N1", { weight: null }), row("A", { weight: 0.2 }), row("B")] });
    for (const direction of ["ascending", "descending"] as const)
      expect(symbols(sortHoldings(withNull, { key: "weight", direction })).at(-1)).toBe("N1");
    const ties = holdingRows({ rows: [row("T3"), row("T1"), row("T2")] });
    expect(symbols(sortHoldings(ties, { key: "beta", direction: "descending" }))).toEqual(["T3", "T1", "T2"]);
  });

  it("starts a column A→Z (text) or largest first (numbers), and reverses on a second click", () => {
    expect(nextSort(null, "symbol")).toEqual({ key: "symbol", direction: "ascending" });
    expect(nextSort(null, "beta")).toEqual({ key: "beta", direction: "descending" });
    expect(nextSort({ key: "beta", direction: "descending" }, "beta")).toEqual({
      key: "beta",
      direction: "ascending",
    });
    expect(nextSort({ key: "beta", direction: "ascending" }, "weight").direction).toBe("descending");
  });

  it("sorts left-out rows by symbol or weight and keeps them in place for the other columns", () => {
    const missing = leftOutRows({
      missing: [
        { ...example.missing[0]!, symbol: "B", weight: 0.1 },
        { ...example.missing[0]!, symbol: "A", weight: null },
      ],
    });
    expect(symbols(sortLeftOut(missing, { key: "symbol", direction: "ascending" }))).toEqual(["A", "B"]);
    expect(symbols(sortLeftOut(missing, { key: "weight", direction: "ascending" }))).toEqual(["B", "A"]);
    expect(symbols(sortLeftOut(missing, { key: "beta", direction: "ascending" }))).toEqual(["B", "A"]);
  });
});

describe("filter", () => {
  it("matches every word in the symbol, the underlying or the company name, any case", () => {
    const rows = holdingRows(example);
    expect(symbols(rows.filter((entry) => matchesFilter(entry, "aaa")))).toEqual(["AAA", "AAA 270401P00100000"]);
    expect(symbols(rows.filter((entry) => matchesFilter(entry, "beta ind")))).toEqual(["BBB"]);
    expect(symbols(rows.filter((entry) => matchesFilter(entry, "  ")))).toEqual(symbols(rows));
    expect(rows.filter((entry) => matchesFilter(entry, "nothing"))).toEqual([]);
  });

  it("says how many rows a filter shows and that the totals are of all", () => {
    expect(filterNote({ holdings: 14, leftOut: 0 }, { holdings: 14, leftOut: 0 })).toBeNull();
    expect(filterNote({ holdings: 3, leftOut: 0 }, { holdings: 14, leftOut: 0 })).toBe(
      "3 of 14 holdings shown; totals are of all holdings",
    );
    expect(filterNote({ holdings: 1, leftOut: 0 }, { holdings: 4, leftOut: 2 })).toBe(
      "1 of 4 holdings and 0 of 2 left out shown; totals are of all holdings",
    );
  });
});

describe("totals", () => {
  it("adds a cash row and explains the weights' sum: cash, options' notional, shorts", () => {
    const totals = drillDownTotals(example);
    expect(totals.cashWeight).toBe(0.3);
    expect(totals.weight).toBeCloseTo(1.6, 12);
    expect(totals.allWeights).toBeCloseTo(1.9, 12);
    // Σ weights = 1 + (notional − premium) / equity.
    expect(totals.allWeights).toBeCloseTo(1 + (1_000 - 100) / 1_000, 12);
    expect(totals.contribution).toBeCloseTo(example.exposure!, 14);
    expect(totals.cellExposure).toBe(example.exposure);
    expect(totals.shortWeight).toBeCloseTo(-0.1, 14);
    const note = weightsNote(totals);
    expect(note).toContain("Weights sum to 190.00% of equity: 160.00% in 4 holdings with a beta, 30.00% cash.");
    expect(note).toContain("options count at their notional (100.00% of equity)");
    expect(note).toContain("at their premium (10.00%) in equity");
    expect(note).toContain("Short positions count negative (\u221210.00%)");
    expect(note).toContain("1 left-out holding has no value");
  });

  it("makes 100% without options, and says weights are unavailable when equity is not positive", () => {
    const plain: DrillDownLike = {
      ...example,
      options_notional: 0,
      options_premium: 0,
      rows: [row("AAA", { weight: 0.7 })],
      missing: [],
    };
    const totals = drillDownTotals(plain);
    expect(totals.allWeights).toBeCloseTo(1, 14);
    expect(weightsNote(totals)).toBe(
      "Weights sum to 100.00% of equity: 70.00% in 1 holding with a beta, 30.00% cash. " +
        "Equity is cash plus the holdings' market values, so the weights make 100%.",
    );
    const negative = drillDownTotals({ ...plain, equity: -5, weights_available: false });
    expect(negative.allWeights).toBeNull();
    expect(negative.contribution).toBeNull();
    expect(negative.contributionDollar).toBe(700);
    expect(weightsNote(negative)).toMatch(/^Weights are not available/);
  });

  it("has totals equal to the sums of the rows, and weights that reconcile with equity (property)", () => {
    const position = fc.record({
      kind: fc.constantFrom("stock", "option"),
      quantity: fc.integer({ min: -500, max: 500 }),
      price: fc.double({ min: 1, max: 500, noNaN: true }),
      delta: fc.double({ min: -1, max: 1, noNaN: true }),
      beta: fc.double({ min: -3, max: 3, noNaN: true }),
      premium: fc.double({ min: 0, max: 20, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(position, { maxLength: 12 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (positions, cash) => {
          // Equity as the aggregation counts it: cash + stocks' values + options' premiums.
          const values = positions.map((p) => p.quantity * (p.kind === "option" ? 100 : 1) * p.price);
          const premiums = positions.map((p) => (p.kind === "option" ? p.quantity * 100 * p.premium : 0));
          const equity = cash + positions.reduce((s, p, i) => s + (p.kind === "option" ? premiums[i]! : values[i]!), 0);
          fc.pre(equity > 1);
          const rows = positions.map((p, i) => {
            const weight = values[i]! / equity;
            const delta = p.kind === "option" ? p.delta : 1;
            return row(`S${i}`, {
              instrument: p.kind,
              market_value: values[i]!,
              weight,
              delta,
              beta: p.beta,
              contribution: weight * delta * p.beta,
              contribution_dollar: values[i]! * delta * p.beta,
            });
          });
          const optionsNotional = positions.reduce((s, p, i) => s + (p.kind === "option" ? values[i]! : 0), 0);
          const optionsPremium = premiums.reduce((s, v) => s + v, 0);
          const data: DrillDownLike = {
            equity,
            cash,
            options_notional: optionsNotional,
            options_premium: optionsPremium,
            weights_available: true,
            rows,
            missing: [],
            exposure: rows.reduce((s, r) => s + r.contribution!, 0),
            exposure_dollar: rows.reduce((s, r) => s + r.contribution_dollar, 0),
          };
          const totals = drillDownTotals(data);
          const tolerance = 1e-9 * (1 + rows.reduce((s, r) => s + Math.abs(r.weight!), 0) + cash / equity);
          expect(totals.holdings).toBe(rows.length);
          expect(Math.abs(totals.weight! - rows.reduce((s, r) => s + r.weight!, 0))).toBeLessThanOrEqual(tolerance);
          expect(totals.contribution === null ? 0 : totals.contribution).toBeCloseTo(data.exposure!, 9);
          expect(totals.contributionDollar).toBeCloseTo(data.exposure_dollar!, 3);
          expect(Math.abs(totals.allWeights! - (1 + (optionsNotional - optionsPremium) / equity))).toBeLessThanOrEqual(
            tolerance * 10,
          );
          // The CSV's total row is the same sum, rounded to the stated precision.
          const total = csvRows(drillDownCsv(data, meta)).find((fields) => fields[0] === "total")!;
          expect(Number(total[6])).toBe(roundDecimals(totals.allWeights));
        },
      ),
      { numRuns: 300 },
    );
  });
});

const meta = {
  portfolioName: "Options, Overlay",
  portfolioId: "demo-options",
  factorName: "Market Beta",
  factorKey: "market_beta",
  date: "2026-12-03",
  view: "portfolio exposure",
};

describe("CSV", () => {
  it("has a header block, every row, the cash row and the totals, rounded to the stated precision", () => {
    const noisy: DrillDownLike = {
      ...example,
      rows: [row("AAA", { weight: 0.1 + 0.2, beta: 1.23456789, name: "Alpha Corp" }), ...example.rows.slice(1)],
    };
    const text = drillDownCsv(noisy, meta, { key: "symbol", direction: "descending" });
    expect(text).not.toMatch(/0000000000|9999999999/);
    const rows = csvRows(text);
    expect(rows.slice(0, 6)).toEqual([
      ["factor", "Market Beta (market_beta)"],
      ["portfolio", "Options, Overlay (demo-options)"],
      ["date", "2026-12-03"],
      ["view", "portfolio exposure"],
      ["equity", "1000"],
      [
        "precision",
        "weights and deltas to 6 decimals; betas and contributions to 6 significant digits; dollars to the cent",
      ],
    ]);
    // A blank line separates the header block from the table (the parser skips it).
    expect(text).toContain("\r\n\r\nrow,symbol,name,instrument,positions,market_value,weight,delta_adjusted_weight,");
    expect(rows[6]![0]).toBe("row");
    const body = rows.slice(7);
    expect(body.map((fields) => fields[0])).toEqual([
      "holding",
      "holding",
      "holding",
      "holding",
      "left out",
      "cash",
      "total",
    ]);
    // In the table's order (symbol, Z to A).
    expect(body.slice(0, 4).map((fields) => fields[1])).toEqual(["CCC", "BBB", "AAA 270401P00100000", "AAA"]);
    const aaa = body.find((fields) => fields[1] === "AAA")!;
    expect(aaa[6]).toBe("0.3");
    expect(aaa[9]).toBe("1.23457");
    expect(aaa[10]).toBe(String(roundSignificant(0.3 * 1.23456789)));
    const option = body.find((fields) => fields[3] === "option")!;
    expect(option[6]).toBe("1");
    expect(option[7]).toBe("-0.0005");
    expect(option[13]).toBe("beta of AAA");
    expect(body.find((fields) => fields[0] === "left out")![13]).toBe("no_price: no close for ZZZ on the date");
    const cash = body.find((fields) => fields[0] === "cash")!;
    expect(cash.slice(5, 8)).toEqual(["300", "0.3", ""]);
    expect(cash[13]).toBe("no factor loading");
    const total = body.at(-1)!;
    expect(Number(total[6])).toBeCloseTo(0.3 + 1 + 0.3 - 0.1 + 0.3, 12);
    expect(total[13]).toContain("Weights sum to");
    expect(total[13]).toContain("sum to the cell's exposure");
    // No field carries float noise: every number has at most 6 decimals (or 6 significant digits).
    for (const fields of body)
      for (const field of fields.slice(4, 12))
        if (field !== "") expect(field.replace(/^-/, "").replace(/e.*$/, "").length).toBeLessThanOrEqual(14);
  });

  it("rounds without -0 and leaves missing values empty", () => {
    expect(roundDecimals(-1e-9)).toBe(0);
    expect(Object.is(roundDecimals(-1e-9), -0)).toBe(false);
    expect(roundDecimals(0.1 + 0.2)).toBe(0.3);
    expect(roundSignificant(0.1 + 0.2)).toBe(0.3);
    expect(roundDecimals(null)).toBeNull();
    expect(roundSignificant(Number.NaN)).toBeNull();
  });
});
