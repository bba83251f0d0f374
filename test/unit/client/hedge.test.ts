// The what-if page's hedge panel and "Save as portfolio", their pure parts: the penalty slider's
// log scale, the instrument choices, the request options, applying trades to the holdings (merged
// by symbol, paid for with cash through the what-if's trade funding), the holdings as an import CSV, and the save sequence's rollback.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultPenalty,
  formatPenalty,
  hedgeOptions,
  instrumentChoices,
  normalizedSymbol,
  penaltyAt,
  penaltySteps,
  sliderPositionOf,
  toggleInstrument,
} from "../../../client/src/lib/hedge.ts";
import {
  applyTrades,
  blankDraft,
  buildHoldings,
  type HoldingDraft,
  holdingsCsv,
  type SaveSteps,
  saveAsPortfolio,
  tradeFunding,
} from "../../../client/src/lib/what-if-holdings.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";
import { DEFAULT_HEDGE_PENALTY } from "../../../worker/factors/hedge.ts";

const draft = (key: string, change: Partial<HoldingDraft>): HoldingDraft => ({ ...blankDraft(key), ...change });

describe("the penalty slider", () => {
  it("is a log scale from 1e-8 to 100 whose default is the API's", () => {
    expect(defaultPenalty).toBe(DEFAULT_HEDGE_PENALTY);
    expect(penaltyAt(0)).toBe(1e-8);
    expect(penaltyAt(penaltySteps)).toBe(100);
    expect(penaltyAt(sliderPositionOf(defaultPenalty))).toBe(1e-5);
    expect(formatPenalty(1e-5)).toBe("1.0e-5");
    expect(formatPenalty(100)).toBe("1.0e2");
    expect(formatPenalty(0)).toBe("0");
  });

  it("round-trips every position, grows with it, and clamps what is off the scale (never NaN)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: penaltySteps - 1 }), (position) => {
        expect(sliderPositionOf(penaltyAt(position))).toBe(position);
        expect(penaltyAt(position + 1)).toBeGreaterThan(penaltyAt(position));
      }),
    );
    expect(penaltyAt(-5)).toBe(1e-8);
    expect(penaltyAt(1e9)).toBe(100);
    expect(penaltyAt(Number.NaN)).toBe(1e-8);
    expect(sliderPositionOf(0)).toBe(0);
    expect(sliderPositionOf(1e9)).toBe(penaltySteps);
  });
});

describe("the instrument choices", () => {
  const defaults = ["SPY", "TLT", "VTV"];

  it("sends instruments only once the user changed the default selection", () => {
    expect(hedgeOptions({ target: "total", penalty: 1e-5, selected: null })).toEqual({
      target: "total",
      penalty: 1e-5,
    });
    const selected = toggleInstrument(null, defaults, "TLT", false);
    expect(selected).toEqual(["SPY", "VTV"]);
    expect(hedgeOptions({ target: "tracking_error", penalty: 1, selected })).toEqual({
      target: "tracking_error",
      penalty: 1,
      instruments: ["SPY", "VTV"],
    });
    expect(toggleInstrument(selected, defaults, "QQQ", true)).toEqual(["SPY", "VTV", "QQQ"]);
    expect(toggleInstrument(["SPY"], defaults, "SPY", true)).toEqual(["SPY"]);
    expect(instrumentChoices(defaults, ["QQQ", "SPY"])).toEqual(["SPY", "TLT", "VTV", "QQQ"]);
  });

  it("takes typed tickers the API takes, upper case", () => {
    expect(normalizedSymbol(" qqq ")).toBe("QQQ");
    expect(normalizedSymbol("BRK.B")).toBe("BRK.B");
    expect(normalizedSymbol("")).toBeNull();
    expect(normalizedSymbol("two words")).toBeNull();
  });
});

describe("applyTrades", () => {
  let counter = 0;
  const nextKey = () => `new-${++counter}`;

  it("adds shares to a stock or ETF row of the same symbol, appends new ones, funded as any trade", () => {
    const drafts = [
      draft("a", { symbol: "SPY", instrument: "etf", quantity: "100" }),
      draft("b", { symbol: "AAPL", instrument: "stock", quantity: "1,000" }),
      draft("c", { symbol: "SPY 270319P00504000", instrument: "option", quantity: "2", underlying_symbol: "SPY" }),
    ];
    const closes = new Map([
      ["SPY", 500],
      ["TLT", 90],
      ["AAPL", 200],
    ]);
    const { drafts: rows } = applyTrades(
      drafts,
      [
        { symbol: "SPY", instrument: "etf", shares: -40.123456, close: 500 },
        { symbol: "TLT", instrument: "etf", shares: 12.5, close: 90 },
        { symbol: "AAPL", instrument: "stock", shares: 0.00001, close: 200 },
      ],
      nextKey,
    );
    expect(rows.map((row) => [row.symbol, row.instrument, row.quantity])).toEqual([
      ["SPY", "etf", "59.8765"],
      ["AAPL", "stock", "1,000"],
      ["SPY 270319P00504000", "option", "2"],
      ["TLT", "etf", "12.5"],
    ]);
    // The option row is untouched (not a share of SPY); AAPL's trade rounds to nothing.
    expect(rows[2]).toBe(drafts[2]);
    // What they cost, by the one funding rule: the rounded shares at their closes.
    const funding = tradeFunding(drafts, rows, (symbol) => closes.get(symbol) ?? null);
    expect(funding.cost).toBeCloseTo(-40.1235 * 500 + 12.5 * 90, 8);
    expect(funding.unpriced).toEqual([]);
    // The request built from them sends the new quantities.
    expect(buildHoldings(rows).holdings.find((h) => h.symbol === "SPY" && h.instrument === "etf")?.quantity).toBe(
      59.8765,
    );
  });

  it("removes a row sold down to nothing (a quantity of 0 is refused), and keeps equity with cash", () => {
    const drafts = [draft("a", { symbol: "MTUM", instrument: "etf", quantity: "500" })];
    const { drafts: rows } = applyTrades(
      drafts,
      [{ symbol: "MTUM", instrument: "etf", shares: -500.00000001, close: 200 }],
      nextKey,
    );
    expect(rows).toEqual([]);
    expect(tradeFunding(drafts, rows, () => 200).cost).toBe(-100_000);
  });

  it("appends a new row beside one whose quantity does not read as a number", () => {
    const drafts = [draft("a", { symbol: "SPY", instrument: "etf", quantity: "1e" })];
    const { drafts: rows } = applyTrades(drafts, [{ symbol: "SPY", instrument: "etf", shares: 3, close: 10 }], nextKey);
    expect(rows.map((row) => row.quantity)).toEqual(["1e", "3"]);
  });
});

describe("saving the holdings as a portfolio", () => {
  const holdings = [
    { symbol: "SPY", instrument: "etf" as const, quantity: 59.8765 },
    {
      symbol: 'Odd, "label"',
      instrument: "private" as const,
      quantity: 1,
    },
    {
      symbol: "SPY 270319P00504000",
      instrument: "option" as const,
      quantity: -2,
      underlying_symbol: "SPY",
      option_type: "put" as const,
      strike: 504,
      expiry: "2027-03-19",
      delta: -0.4,
    },
  ];

  it("writes the import's CSV: the columns used, each holding opened on the date, quoted where needed", () => {
    const csv = holdingsCsv(holdings, "2026-06-30");
    const parsed = parseCsv(csv);
    expect(parsed.errors).toEqual([]);
    expect(parsed.records.map((record) => record.fields)).toEqual([
      [
        "symbol",
        "instrument",
        "quantity",
        "opened_on",
        "underlying_symbol",
        "option_type",
        "strike",
        "expiry",
        "delta",
      ],
      ["SPY", "etf", "59.8765", "2026-06-30", "", "", "", "", ""],
      ['Odd, "label"', "private", "1", "2026-06-30", "", "", "", "", ""],
      ["SPY 270319P00504000", "option", "-2", "2026-06-30", "SPY", "put", "504", "2027-03-19", "-0.4"],
    ]);
  });

  function steps(fail: { create?: boolean; import?: boolean; remove?: boolean }) {
    const calls: string[] = [];
    const fake: SaveSteps = {
      async create(body) {
        calls.push(`create ${body.name} ${body.cash} ${body.benchmark_symbol ?? "-"}`);
        if (fail.create) throw new Error("name taken");
        return { id: "p-1" };
      },
      async importCsv(id, csv) {
        calls.push(`import ${id} ${csv.split("\n").length - 2}`);
        if (fail.import) throw new Error("bad line");
      },
      async remove(id) {
        calls.push(`remove ${id}`);
        if (fail.remove) throw new Error("database down");
      },
    };
    return { fake, calls };
  }
  const request = { name: "Hedged", cash: 1_000, benchmark: "QQQ", holdings, openedOn: "2026-06-30" };

  it("creates the portfolio, then imports every holding in one request", async () => {
    const { fake, calls } = steps({});
    expect(await saveAsPortfolio(fake, request)).toEqual({ status: "saved", id: "p-1" });
    expect(calls).toEqual(["create Hedged 1000 QQQ", "import p-1 3"]);
    const empty = steps({});
    expect(await saveAsPortfolio(empty.fake, { ...request, holdings: [] })).toEqual({ status: "saved", id: "p-1" });
    expect(empty.calls).toEqual(["create Hedged 1000 QQQ"]);
  });

  it("deletes the new portfolio again when the positions cannot be added, and says so when even that fails", async () => {
    const nothing = steps({ create: true });
    expect(await saveAsPortfolio(nothing.fake, request)).toMatchObject({ status: "not_created" });
    expect(nothing.calls).toHaveLength(1);
    const rolledBack = steps({ import: true });
    expect(await saveAsPortfolio(rolledBack.fake, request)).toMatchObject({ status: "rolled_back" });
    expect(rolledBack.calls).toEqual(["create Hedged 1000 QQQ", "import p-1 3", "remove p-1"]);
    const left = steps({ import: true, remove: true });
    const outcome = await saveAsPortfolio(left.fake, request);
    expect(outcome).toMatchObject({ status: "left_empty", id: "p-1" });
    expect(String((outcome as { cleanupError: unknown }).cleanupError)).toContain("database down");
  });
});
