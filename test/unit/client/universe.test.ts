// The universe table's pure rules: URL state round trips (the search among them), the API query
// it stands for, sort toggling, the pager's numbers, the CSV export's pages, the words shown for
// codes, and where a header's tooltip sits.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ariaSort,
  assetTypeLabel,
  billionsText,
  codeTitle,
  defaultOrder,
  defaultUniverseState,
  dollarsFromBillions,
  exportQueries,
  factorColumns,
  formatRatio,
  joinCsvPages,
  pageQuery,
  pageRange,
  pageSizes,
  parseDecimal,
  qualityBadge,
  readUniverseState,
  searchText,
  sortColumns,
  sortedBy,
  tooltipLeft,
  universeSearch,
  type UniverseState,
} from "../../../client/src/lib/universe-query.ts";
import { reasonLabel } from "../../../client/src/lib/data-quality.ts";

const query = (search: string) => Object.fromEntries(new URLSearchParams(search));

describe("universe URL state", () => {
  it("reads the defaults from an empty query and writes them as no query at all", () => {
    expect(readUniverseState({})).toEqual(defaultUniverseState);
    expect(universeSearch(defaultUniverseState)).toBe("");
  });

  it("round-trips every valid state through the URL", () => {
    const state = fc.record<UniverseState>({
      q: fc.option(fc.constantFrom("SPY", "software", "a b", "50%_off", "Ü&ö=?#", "x".repeat(40)), { nil: null }),
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

  it("reads the search as the API's q: trimmed, without control characters, at most 40 characters", () => {
    expect(readUniverseState(query("q=%20soft%20")).q).toBe("soft");
    expect(readUniverseState(query("q=%20%20")).q).toBeNull();
    expect(readUniverseState(query("q=a%00b%0Ac")).q).toBe("a b c");
    expect(readUniverseState(query(`q=${"y".repeat(60)}`)).q).toBe("y".repeat(40));
    expect(searchText("\u007f")).toBeNull();
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (typed) => {
        const q = searchText(typed);
        if (q === null) return;
        expect(q.length).toBeGreaterThan(0);
        expect(q.length).toBeLessThanOrEqual(40);
        expect(q).toBe(q.trim());
        expect([...q].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)).toBe(false);
        expect(searchText(q)).toBe(q);
      }),
    );
  });

  it("sends the search with the table's query and the export's, and keeps it out of the URL when empty", () => {
    const state: UniverseState = { ...defaultUniverseState, q: "Halion", page: 2 };
    expect(pageQuery(state)).toMatchObject({ q: "Halion", offset: "50" });
    expect(exportQueries(state, 10, null)[0]).toMatchObject({ q: "Halion", format: "csv" });
    expect(universeSearch(state)).toBe("?q=Halion&page=2");
    expect(pageQuery(defaultUniverseState)).not.toHaveProperty("q");
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

  it("labels quality flags in words from the one reason map, with a tone and the code in the tooltip", () => {
    expect(qualityBadge("ok")).toMatchObject({ label: "OK", tone: "ok" });
    expect(qualityBadge("capped")).toMatchObject({ label: "Capped", tone: "warn" });
    expect(qualityBadge("limited_history")).toMatchObject({ label: "Limited history", tone: "warn" });
    // The same words data-quality.ts gives the reason anywhere else.
    expect(qualityBadge("insufficient_data")).toMatchObject({ label: reasonLabel("insufficient_data"), tone: "bad" });
    expect(qualityBadge("degenerate").label).toBe(reasonLabel("degenerate"));
    for (const flag of ["ok", "limited_history", "capped", "degenerate", "insufficient_data", "new_flag"]) {
      const badge = qualityBadge(flag);
      expect(badge.label).not.toContain("_");
      expect(badge.title.toLowerCase()).toContain(`code: ${flag}`);
    }
    expect(qualityBadge("limited_history").title).toMatch(/80%/);
  });

  it("puts a code in a tooltip after its meaning", () => {
    expect(codeTitle("no_price")).toBe("Code: no_price");
    expect(codeTitle("no_price", "No close on the date")).toBe("No close on the date (code: no_price)");
    expect(codeTitle("no_price", "")).toBe("Code: no_price");
  });

  it("names asset types in words", () => {
    expect(assetTypeLabel("etf")).toBe("ETF");
    expect(assetTypeLabel("equity")).toBe("Equity");
    expect(assetTypeLabel("option_underlying")).toBe("Option underlying");
    expect(assetTypeLabel("closed_end_fund")).toBe("Closed end fund");
  });
});

describe("header tooltip", () => {
  it("sits under the header when it fits, else as far right as fits, never off either edge", () => {
    expect(tooltipLeft(100, 300, 1280)).toBe(100);
    expect(tooltipLeft(1200, 300, 1280)).toBe(1280 - 8 - 300);
    expect(tooltipLeft(-40, 300, 1280)).toBe(8);
    expect(tooltipLeft(50, 374, 390)).toBe(8);
    fc.assert(
      fc.property(
        fc.integer({ min: -2000, max: 4000 }),
        fc.integer({ min: 320, max: 3000 }),
        fc.integer({ min: 50, max: 400 }),
        (anchor, viewport, width) => {
          const left = tooltipLeft(anchor, width, viewport);
          expect(left).toBeGreaterThanOrEqual(8);
          if (width + 16 <= viewport) expect(left + width).toBeLessThanOrEqual(viewport - 8);
          if (anchor >= 8 && anchor + width <= viewport - 8) expect(left).toBe(anchor);
        },
      ),
    );
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
