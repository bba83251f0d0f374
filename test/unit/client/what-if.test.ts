// The what-if editor's pure parts: drafts → request holdings, the API's field errors back to
// rows, data_quality notes per row, the comparison table, and the symbol autocomplete.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  blankDraft,
  buildHoldings,
  cashAfterTrades,
  draftFromPosition,
  exposureComparison,
  holdingNotes,
  isBlankDraft,
  issuesByRow,
  matchSymbols,
  parseNumberInput,
  sameHolding,
  tradeFunding,
  type HoldingDraft,
  type PositionLike,
} from "../../../client/src/lib/what-if-holdings.ts";

const draft = (key: string, change: Partial<HoldingDraft>): HoldingDraft => ({ ...blankDraft(key), ...change });

const optionPosition: PositionLike = {
  symbol: "SPY 270319P00504000",
  instrument: "option",
  quantity: 10,
  underlying_symbol: "SPY",
  option_type: "put",
  strike: 504,
  expiry: "2027-03-19",
  multiplier: 100,
  delta: null,
  implied_vol: 0.22,
  premium: 6.5,
};

describe("parseNumberInput", () => {
  it("reads what people type and never yields NaN", () => {
    expect(parseNumberInput("")).toBe("empty");
    expect(parseNumberInput("   ")).toBe("empty");
    expect(parseNumberInput("1,000")).toBe(1000);
    expect(parseNumberInput(" -2.5 ")).toBe(-2.5);
    expect(parseNumberInput("\u221210")).toBe(-10);
    expect(parseNumberInput("+3")).toBe(3);
    expect(parseNumberInput("1e3")).toBe(1000);
    expect(parseNumberInput(".5")).toBe(0.5);
    expect(parseNumberInput("12abc")).toBe("invalid");
    expect(parseNumberInput("-")).toBe("invalid");
    expect(parseNumberInput("1e")).toBe("invalid");
    expect(parseNumberInput("Infinity")).toBe("invalid");
    expect(parseNumberInput("1e400")).toBe("invalid");
  });

  it("round-trips every finite number's own text", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(parseNumberInput(String(value))).toBe(value === 0 ? 0 : value);
      }),
    );
  });

  it("returns a finite number, 'empty' or 'invalid' for any text", () => {
    fc.assert(
      fc.property(fc.string(), (input) => {
        const parsed = parseNumberInput(input);
        expect(parsed === "empty" || parsed === "invalid" || Number.isFinite(parsed)).toBe(true);
      }),
    );
  });
});

describe("drafts", () => {
  it("copies a stored option position into a draft and back without loss", () => {
    const row = draftFromPosition(optionPosition, "r1");
    expect(row).toMatchObject({
      key: "r1",
      quantity: "10",
      strike: "504",
      delta: "",
      implied_vol: "0.22",
      option_type: "put",
    });
    const { holdings, rowKeys, localIssues } = buildHoldings([row]);
    expect(localIssues.size).toBe(0);
    expect(rowKeys).toEqual(["r1"]);
    expect(holdings).toEqual([
      {
        symbol: "SPY 270319P00504000",
        instrument: "option",
        quantity: 10,
        underlying_symbol: "SPY",
        option_type: "put",
        strike: 504,
        expiry: "2027-03-19",
        multiplier: 100,
        implied_vol: 0.22,
        premium: 6.5,
      },
    ]);
  });

  it("leaves blank rows out, upper-cases tickers and drops stale option fields from a stock", () => {
    const rows = [
      draft("a", { symbol: " aapl ", quantity: "100" }),
      blankDraft("b"),
      draft("c", { symbol: "msft", instrument: "stock", quantity: "-5", strike: "100", option_type: "call" }),
    ];
    expect(isBlankDraft(rows[1]!)).toBe(true);
    const { holdings, rowKeys } = buildHoldings(rows);
    expect(rowKeys).toEqual(["a", "c"]);
    expect(holdings).toEqual([
      { symbol: "AAPL", instrument: "stock", quantity: 100 },
      { symbol: "MSFT", instrument: "stock", quantity: -5 },
    ]);
  });

  it("keeps a private holding's label as typed", () => {
    expect(
      buildHoldings([draft("p", { symbol: "Private Co. LP", instrument: "private", quantity: "1" })]).holdings[0]!
        .symbol,
    ).toBe("Private Co. LP");
  });

  it("leaves out a row whose number cannot be read, naming the field, and keeps the others", () => {
    const { holdings, rowKeys, localIssues } = buildHoldings([
      draft("a", { symbol: "AAPL", quantity: "10x" }),
      draft("b", { symbol: "SPY", quantity: "3" }),
    ]);
    expect(rowKeys).toEqual(["b"]);
    expect(holdings).toHaveLength(1);
    expect(localIssues.get("a")).toEqual([{ path: "quantity", message: 'quantity must be a number, got "10x"' }]);
  });

  it("sends an empty quantity absent so the API names it", () => {
    const { holdings } = buildHoldings([draft("a", { symbol: "AAPL" })]);
    expect(holdings[0]).toEqual({ symbol: "AAPL", instrument: "stock" });
  });

  it("leaves out the rows asked to be excluded", () => {
    const rows = [draft("a", { symbol: "AAPL", quantity: "1" }), draft("b", { symbol: "SPY", quantity: "2" })];
    expect(buildHoldings(rows, new Set(["a"])).rowKeys).toEqual(["b"]);
  });

  it("tells an edited holding from an unchanged one by what the API reads", () => {
    const base = draft("a", { symbol: "AAPL", quantity: "100" });
    expect(sameHolding(base, { ...base, quantity: "100.0" })).toBe(true);
    expect(sameHolding(base, { ...base, quantity: "101" })).toBe(false);
    expect(sameHolding(base, { ...base, strike: "5" })).toBe(true); // not an option: strike is not sent
    const option = draftFromPosition(optionPosition, "o");
    expect(sameHolding(option, { ...option, strike: "505" })).toBe(false);
  });
});

describe("issuesByRow", () => {
  it("maps holdings[i] paths to the rows sent, in either notation, and keeps the rest", () => {
    const { rows, other } = issuesByRow(
      [
        { path: "holdings[1].quantity", message: "quantity must not be 0" },
        { path: "holdings.0.symbol", message: "bad ticker" },
        { path: "holdings[1]", message: "whole row" },
        { path: "cash", message: "cash must be a finite number" },
        { path: "holdings[9].symbol", message: "no such row" },
      ],
      ["a", "c"],
    );
    expect(rows.get("c")).toEqual([
      { path: "quantity", message: "quantity must not be 0" },
      { path: "", message: "whole row" },
    ]);
    expect(rows.get("a")).toEqual([{ path: "symbol", message: "bad ticker" }]);
    expect(other.map((issue) => issue.path)).toEqual(["cash", "holdings[9].symbol"]);
  });
});

describe("holdingNotes", () => {
  it("names the rows data_quality counts as missing or not valued (what-if-<i+1> = holdings[i])", () => {
    const notes = holdingNotes(
      {
        symbols_missing: [{ symbol: "NEWCO", reason: "no_price", position_ids: ["what-if-2"] }],
        positions_excluded: [
          { position_id: "what-if-2", symbol: "NEWCO", reason: "no_price", detail: "" },
          { position_id: "demo-position-1", symbol: "X", reason: "no_price", detail: "" },
        ],
      },
      ["a", "b"],
    );
    expect([...notes.keys()]).toEqual(["b"]);
    expect(notes.get("b")).toEqual(["NEWCO: no price on this date", "not valued: no price on this date"]);
  });
});

describe("exposureComparison", () => {
  const factors = [
    { key: "market_beta", name: "Market Beta" },
    { key: "size", name: "Size" },
  ];

  it("follows the factors' display order, with original, what-if and change from the comparison", () => {
    const rows = exposureComparison(
      {
        what_if: {
          exposures: [
            { factor_key: "size", exposure: -0.1, exposure_dollar: -100, coverage: 1 },
            { factor_key: "market_beta", exposure: 0.9, exposure_dollar: 900, coverage: 0.95 },
          ],
        },
        original: {
          exposures: [
            { factor_key: "size", exposure: null, exposure_dollar: null, coverage: 0 },
            { factor_key: "market_beta", exposure: 0.8, exposure_dollar: 800, coverage: 1 },
          ],
        },
        comparison: {
          factors: [
            {
              factor_key: "market_beta",
              exposure: { original: 0.8, what_if: 0.9, change: 0.1 },
              exposure_dollar: { original: 800, what_if: 900, change: 100 },
            },
            {
              factor_key: "size",
              exposure: { original: null, what_if: -0.1, change: null },
              exposure_dollar: { original: null, what_if: -100, change: null },
            },
          ],
        },
      },
      factors,
    );
    expect(rows.map((row) => row.key)).toEqual(["market_beta", "size"]);
    expect(rows[0]).toMatchObject({
      name: "Market Beta",
      original: 0.8,
      whatIf: 0.9,
      change: 0.1,
      whatIfDollar: 900,
      coverage: 0.95,
    });
    // A factor the original had no exposure to: its change is unknown, not the what-if value.
    expect(rows[1]).toMatchObject({ original: null, whatIf: -0.1, change: null });
  });

  it("without an original portfolio leaves original and change empty, and keeps factors missing from the list", () => {
    const rows = exposureComparison(
      {
        what_if: {
          exposures: [
            { factor_key: "market_beta", exposure: 1, exposure_dollar: 5, coverage: 1 },
            { factor_key: "extra", exposure: Number.NaN, exposure_dollar: null, coverage: null },
          ],
        },
        original: null,
        comparison: null,
      },
      factors,
    );
    expect(rows.map((row) => row.key)).toEqual(["market_beta", "extra"]);
    expect(rows[0]).toMatchObject({ original: null, whatIf: 1, change: null });
    expect(rows[1]).toMatchObject({ name: "extra", whatIf: null });
  });
});

describe("matchSymbols", () => {
  const universe = [
    { symbol: "AAPL", name: "Apple Inc." },
    { symbol: "A", name: "Agilent" },
    { symbol: "AA", name: "Alcoa" },
    { symbol: "MSFT", name: "Microsoft" },
    { symbol: "PAA", name: "Plains All American" },
    { symbol: "SPY", name: null },
  ];

  it("offers ticker prefixes first (shortest first), then company names containing the text", () => {
    expect(matchSymbols(universe, "a").map((option) => option.symbol)).toEqual(["A", "AA", "AAPL", "PAA"]);
    expect(matchSymbols(universe, "micro").map((option) => option.symbol)).toEqual(["MSFT"]);
    expect(matchSymbols(universe, "a", 2).map((option) => option.symbol)).toEqual(["A", "AA"]);
    expect(matchSymbols(universe, "  ")).toEqual([]);
    expect(matchSymbols(universe, "zzz")).toEqual([]);
  });
});

describe("trade funding", () => {
  const prices = new Map([
    ["SPY", 530.25],
    ["QQQ", 508.1],
    ["AAPL", 201.37],
  ]);
  const priceOf = (symbol: string) => prices.get(symbol) ?? null;
  const start = [
    draft("spy", { symbol: "SPY", instrument: "etf", quantity: "500" }),
    draft("aapl", { symbol: "AAPL", instrument: "stock", quantity: "1,000" }),
    draftFromPosition(optionPosition, "put"),
    draft("priv", { symbol: "Fund II", instrument: "private", quantity: "1" }),
  ];
  const startCash = 25_000;
  /** Σ holdings (quantity × unit value, options at premium × multiplier) + cash. */
  const equity = (drafts: readonly HoldingDraft[], cash: number) =>
    cash +
    drafts.reduce((sum, row) => {
      const quantity = parseNumberInput(row.quantity);
      if (typeof quantity !== "number" || row.instrument === "private") return sum;
      const unit = row.instrument === "option" ? Number(row.premium) * 100 : priceOf(row.symbol.toUpperCase())!;
      return sum + quantity * unit;
    }, 0);

  it("costs nothing and keeps the starting cash when nothing changed", () => {
    const funding = tradeFunding(start, start, priceOf);
    expect(funding).toEqual({ cost: 0, unpriced: [] });
    expect(cashAfterTrades(startCash, funding, null)).toBe(startCash);
  });

  it("adds a removed holding's value to cash and takes an added one's from it", () => {
    const removed = tradeFunding(
      start,
      start.filter((row) => row.key !== "spy"),
      priceOf,
    );
    expect(removed.cost).toBeCloseTo(-500 * 530.25, 8);
    expect(cashAfterTrades(startCash, removed, null)).toBe(25_000 + 265_125);
    const added = tradeFunding(
      start,
      [...start, draft("new", { symbol: "qqq", instrument: "etf", quantity: "1000" })],
      priceOf,
    );
    expect(added.cost).toBeCloseTo(508_100, 8);
    expect(cashAfterTrades(startCash, added, null)).toBe(25_000 - 508_100);
  });

  it("funds a resize by Δquantity, an option by premium × multiplier, a re-typed symbol as a sale and a buy", () => {
    const current = start.map((row) =>
      row.key === "aapl"
        ? { ...row, quantity: "1,250" }
        : row.key === "put"
          ? { ...row, quantity: "4" }
          : row.key === "spy"
            ? { ...row, symbol: "QQQ" }
            : row,
    );
    const funding = tradeFunding(start, current, priceOf);
    expect(funding.unpriced).toEqual([]);
    expect(funding.cost).toBeCloseTo(250 * 201.37 + (4 - 10) * 6.5 * 100 + 500 * (508.1 - 530.25), 8);
  });

  it("leaves equity (Σ holdings + cash) unchanged by any trades it can price", () => {
    const symbols = ["SPY", "QQQ", "AAPL"];
    const row = fc.record({
      symbol: fc.constantFrom(...symbols),
      quantity: fc.integer({ min: -5_000, max: 5_000 }).filter((q) => q !== 0),
    });
    fc.assert(
      fc.property(fc.array(fc.option(row), { minLength: 4, maxLength: 8 }), (edits) => {
        // Each start row is kept, resized or removed (null); rows past the start are added.
        const current: HoldingDraft[] = [];
        edits.forEach((edit, i) => {
          const base = start[i];
          if (edit === null) return;
          if (base && base.instrument !== "stock" && base.instrument !== "etf") current.push(base);
          else
            current.push(
              draft(base?.key ?? `added-${i}`, {
                symbol: edit.symbol,
                instrument: "etf",
                quantity: String(edit.quantity),
              }),
            );
        });
        const funding = tradeFunding(start, current, priceOf);
        // Only the private row is never priced; it adds nothing to equity either side.
        expect(funding.unpriced.every((entry) => entry.key === "priv")).toBe(true);
        const cash = cashAfterTrades(startCash, funding, null);
        expect(typeof cash).toBe("number");
        expect(equity(current, cash as number)).toBeCloseTo(equity(start, startCash), 6);
      }),
    );
  });

  it("lets typed cash win (an empty field falls back to the funded cash)", () => {
    const funding = tradeFunding(start, start.slice(1), priceOf);
    expect(cashAfterTrades(startCash, funding, "1,000")).toBe(1_000);
    expect(cashAfterTrades(startCash, funding, "12x")).toBe("invalid");
    expect(cashAfterTrades(startCash, funding, " ")).toBe(startCash + 265_125);
  });

  it("reports the trades it cannot price instead of guessing", () => {
    const current = [
      { ...start[0]!, quantity: "12x" },
      start[1]!,
      { ...start[2]!, premium: "", quantity: "20" },
      { ...start[3]!, quantity: "2" },
      draft("new", { symbol: "NOPX", instrument: "stock", quantity: "10" }),
      draft("typing", { symbol: "MSFT", instrument: "stock", quantity: "" }),
    ];
    const funding = tradeFunding(start, current, priceOf);
    expect(funding.cost).toBe(0);
    expect(funding.unpriced.map(({ key, reason }) => [key, reason])).toEqual([
      ["spy", "quantity is not a number"],
      ["put", "option without a premium"],
      ["priv", "private holding, not priced"],
      ["new", "no close on the date"],
    ]);
  });
});

describe("a quantity that is not a number", () => {
  it("is an error on its row, never a holding dropped silently", () => {
    const drafts = [
      draft("a", { symbol: "SPY", instrument: "etf", quantity: "12x" }),
      draft("b", { symbol: "QQQ", instrument: "etf", quantity: "10" }),
    ];
    expect(parseNumberInput("12x")).toBe("invalid");
    const built = buildHoldings(drafts);
    expect(built.localIssues.get("a")).toEqual([{ path: "quantity", message: 'quantity must be a number, got "12x"' }]);
    // The page stops the recompute while any row has such an issue (what-if.tsx `blocked`).
    expect(built.holdings.map((h) => h.symbol)).toEqual(["QQQ"]);
  });
});
