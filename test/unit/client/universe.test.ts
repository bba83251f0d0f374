// The universe table's pure rules: URL state round trips, the API query it stands for, sort
// toggling, the pager's numbers, sector discovery over a fake API, the CSV export's pages.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ariaSort,
  billionsText,
  defaultOrder,
  defaultUniverseState,
  dollarsFromBillions,
  exportQueries,
  factorColumns,
  factorExtent,
  formatRatio,
  joinCsvPages,
  pageQuery,
  pageRange,
  pageSizes,
  parseDecimal,
  qualityBadge,
  readUniverseState,
  sortColumns,
  sortedBy,
  universeSearch,
  type UniverseState,
} from "../../../client/src/lib/universe-query.ts";

const query = (search: string) => Object.fromEntries(new URLSearchParams(search));

describe("universe URL state", () => {
  it("reads the defaults from an empty query and writes them as no query at all", () => {
    expect(readUniverseState({})).toEqual(defaultUniverseState);
    expect(universeSearch(defaultUniverseState)).toBe("");
  });

  it("round-trips every valid state through the URL", () => {
    const state = fc.record<UniverseState>({
      sortBy: fc.constantFrom(...sortColumns),
      sortOrder: fc.constantFrom("asc", "desc"),
      sector: fc.option(fc.constantFrom("Energy", "Health Care", "Real Estate & Co", "ETF"), { nil: null }),
      minMarketCap: fc.option(fc.integer({ min: 0, max: 5e12 }), { nil: null }),
      maxPeRatio: fc.option(fc.double({ min: -500, max: 500, noNaN: true, noDefaultInfinity: true }), { nil: null }),
      pageSize: fc.constantFrom(...pageSizes),
      page: fc.integer({ min: 1, max: 1000 }),
      date: fc.option(fc.constantFrom("2026-11-20", "2025-01-02"), { nil: null }),
    });
    fc.assert(
      fc.property(state, (value) => {
        const normalized = { ...value, maxPeRatio: Object.is(value.maxPeRatio, -0) ? 0 : value.maxPeRatio };
        expect(readUniverseState(query(universeSearch(normalized)))).toEqual(normalized);
      }),
    );
  });

  it("ignores what the API would refuse: unknown sort columns, bad orders, sizes, pages, dates, numbers", () => {
    const state = readUniverseState(
      query(
        "sort_by=sortBy&sort_order=up&limit=7&page=-2&date=20261120&" +
          "min_market_cap=abc&max_pe_ratio=1e999&sector=%20%20",
      ),
    );
    expect(state).toEqual(defaultUniverseState);
    expect(readUniverseState(query("min_market_cap=-5")).minMarketCap).toBeNull();
  });

  it("leaves out a sort order that is the column's default", () => {
    expect(universeSearch({ ...defaultUniverseState, sortBy: "market_cap", sortOrder: "desc" })).toBe(
      "?sort_by=market_cap",
    );
    expect(universeSearch({ ...defaultUniverseState, sortBy: "market_cap", sortOrder: "asc" })).toBe(
      "?sort_by=market_cap&sort_order=asc",
    );
    expect(readUniverseState(query("sort_by=factor_value")).sortOrder).toBe("desc");
  });

  it("asks the API for the page's rows: limit, offset from the 1-based page, filters, pinned date", () => {
    const state: UniverseState = {
      ...defaultUniverseState,
      sortBy: "pe_ratio",
      sortOrder: "asc",
      sector: "Energy",
      minMarketCap: 2e9,
      maxPeRatio: 25,
      pageSize: 100,
      page: 3,
      date: "2026-11-20",
    };
    expect(pageQuery(state)).toEqual({
      sort_by: "pe_ratio",
      sort_order: "asc",
      sector: "Energy",
      min_market_cap: "2000000000",
      max_pe_ratio: "25",
      date: "2026-11-20",
      limit: "100",
      offset: "200",
    });
  });
});

describe("sorting", () => {
  it("every API sort column is listed, the factor columns among them", () => {
    expect(sortColumns).toEqual([
      "symbol",
      "sector",
      "market_cap",
      "pe_ratio",
      "ps_ratio",
      "return_1d",
      "return_ytd",
      ...factorColumns,
    ]);
    expect(factorColumns).toHaveLength(12);
  });

  it("a first click sorts text A→Z and numbers largest first; a second click flips; both go to page 1", () => {
    expect(defaultOrder("symbol")).toBe("asc");
    expect(defaultOrder("factor_momentum")).toBe("desc");
    const onPage4 = { ...defaultUniverseState, page: 4 };
    const byCap = sortedBy(onPage4, "market_cap");
    expect(byCap).toMatchObject({ sortBy: "market_cap", sortOrder: "desc", page: 1 });
    expect(sortedBy(byCap, "market_cap").sortOrder).toBe("asc");
    expect(sortedBy(sortedBy(byCap, "market_cap"), "market_cap").sortOrder).toBe("desc");
    expect(sortedBy(defaultUniverseState, "symbol").sortOrder).toBe("desc");
  });

  it("only the sorted column carries aria-sort", () => {
    const state = { ...defaultUniverseState, sortBy: "pe_ratio" as const, sortOrder: "asc" as const };
    expect(ariaSort(state, "pe_ratio")).toBe("ascending");
    expect(ariaSort({ ...state, sortOrder: "desc" }, "pe_ratio")).toBe("descending");
    expect(ariaSort(state, "symbol")).toBeUndefined();
  });
});

describe("pager", () => {
  it("numbers the rows shown and knows the ends", () => {
    expect(pageRange(1, 50, 505, 50)).toEqual({
      first: 1,
      last: 50,
      total: 505,
      pages: 11,
      hasPrevious: false,
      hasNext: true,
    });
    expect(pageRange(11, 50, 505, 5)).toEqual({
      first: 501,
      last: 505,
      total: 505,
      pages: 11,
      hasPrevious: true,
      hasNext: false,
    });
    expect(pageRange(1, 50, 0, 0)).toEqual({
      first: 0,
      last: 0,
      total: 0,
      pages: 1,
      hasPrevious: false,
      hasNext: false,
    });
    expect(pageRange(20, 50, 505, 0).hasNext).toBe(false);
  });
});

describe("filters", () => {
  it("parses typed decimals, blank as no filter, anything else as invalid", () => {
    expect(parseDecimal(" 12.5 ")).toBe(12.5);
    expect(parseDecimal(".5")).toBe(0.5);
    expect(parseDecimal("-3")).toBe(-3);
    expect(parseDecimal("2e3")).toBe(2000);
    expect(parseDecimal("")).toBeNull();
    expect(parseDecimal("12,5")).toBe("invalid");
    expect(parseDecimal("1e999")).toBe("invalid");
    expect(parseDecimal("ten")).toBe("invalid");
  });

  it("converts the market cap filter between billions and whole dollars without float noise", () => {
    expect(dollarsFromBillions(0.1)).toBe(100_000_000);
    expect(dollarsFromBillions(2.5)).toBe(2_500_000_000);
    expect(billionsText(100_000_000)).toBe("0.1");
    expect(billionsText(null)).toBe("");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (tenths) => {
        expect(billionsText(dollarsFromBillions(tenths / 10))).toBe(String(tenths / 10));
      }),
    );
  });
});

describe("formatting", () => {
  it("prints ratios to one decimal, U+2212 for negatives, an em dash when missing", () => {
    expect(formatRatio(41.75)).toBe("41.8");
    expect(formatRatio(-3.04)).toBe("\u22123.0");
    expect(formatRatio(-0.01)).toBe("0.0");
    expect(formatRatio(null)).toBe("\u2014");
    expect(formatRatio(Number.NaN)).toBe("\u2014");
  });

  it("colours market beta on ±2 and every other factor on ±1", () => {
    expect(factorExtent("factor_market_beta")).toBe(2);
    expect(factorExtent("factor_value")).toBe(1);
  });

  it("labels quality flags with a tone", () => {
    expect(qualityBadge("ok")).toEqual({ label: "OK", tone: "ok" });
    expect(qualityBadge("capped").tone).toBe("warn");
    expect(qualityBadge("insufficient_data").tone).toBe("bad");
  });
});

describe("CSV export", () => {
  it("fetches every matching row in pages of 500 with the table's filters, sort and date", () => {
    const state = {
      ...defaultUniverseState,
      sortBy: "factor_value" as const,
      sortOrder: "desc" as const,
      sector: "Energy",
      page: 3,
    };
    const queries = exportQueries(state, 1001, "2026-11-20");
    expect(queries.map((q) => q["offset"])).toEqual(["0", "500", "1000"]);
    expect(queries[0]).toEqual({
      sort_by: "factor_value",
      sort_order: "desc",
      sector: "Energy",
      date: "2026-11-20",
      format: "csv",
      limit: "500",
      offset: "0",
    });
    expect(exportQueries(state, 500, null)).toHaveLength(1);
  });

  it("joins pages with the header once", () => {
    const header = "symbol,sector";
    expect(joinCsvPages([`${header}\r\nA,X\r\nB,Y\r\n`, `${header}\r\nC,"Z, Inc."\r\n`])).toBe(
      `${header}\r\nA,X\r\nB,Y\r\nC,"Z, Inc."\r\n`,
    );
    expect(joinCsvPages([`${header}\r\nA,X`, `${header}\r\nB,Y`])).toBe(`${header}\r\nA,X\r\nB,Y`);
    expect(joinCsvPages([`${header}\r\n`, `${header}\r\n`])).toBe(`${header}\r\n`);
  });
});
