import { describe, expect, it } from "vitest";
import { validatePriceCsv } from "../../../worker/market-data/price-import.ts";

function errorsOf(text: string) {
  const result = validatePriceCsv(text);
  if (result.ok) throw new Error("expected validation errors");
  return result.errors;
}

describe("validatePriceCsv", () => {
  it("reads rows in any column order, normalizes symbols and keeps missing optional values as null", () => {
    const result = validatePriceCsv("symbol,close,date,volume,adj_close\r\n brk.b ,412.5,2025-01-02,1200,\r\naapl,243.85,2025-01-02,,243.1\r\n");
    expect(result).toEqual({
      ok: true,
      columns: ["symbol", "close", "date", "volume", "adj_close"],
      duplicateLines: [],
      rows: [
        { symbol: "BRK.B", date: "2025-01-02", close: 412.5, adjClose: null, volume: 1200, line: 2 },
        { symbol: "AAPL", date: "2025-01-02", close: 243.85, adjClose: 243.1, volume: null, line: 3 },
      ],
    });
  });

  it("accepts the minimal columns and header names in any case", () => {
    const result = validatePriceCsv("Date,SYMBOL,Close\n2025-01-02,SPY,590.1\n");
    expect(result.ok && result.rows).toEqual([{ symbol: "SPY", date: "2025-01-02", close: 590.1, adjClose: null, volume: null, line: 2 }]);
  });

  it("reports every bad row with its line number as the file shows it, and the column", () => {
    const text = [
      "date,symbol,close,adj_close,volume", // 1
      "2025-01-02,AAA,10,10,100", // 2 ok
      "2025-02-30,AAA,10,10,100", // 3 not a real date
      "02/01/2025,AAA,10,10,100", // 4 not ISO
      "2025-01-03,AAA,0,,", // 5 non-positive close
      "2025-01-06,AAA,-1.5,,", // 6 negative close
      "2025-01-07,AAA,NaN,,", // 7 non-finite
      "2025-01-08,AAA,1e999,,", // 8 overflows to infinity
      "2025-01-09,AAA,abc,,", // 9 not a number
      "", // 10 empty line: skipped
      "2025-01-10,AAA,,,", // 11 missing close
      "2025-01-13,AAA,10,Infinity,", // 12 adj_close non-finite
      "2025-01-14,AAA,10,,-5", // 13 negative volume
      "2025-01-15,AAA,10,,1.5", // 14 fractional volume
      "2025-01-16,,10,,", // 15 missing symbol
      "2025-01-17,AA A,10,,", // 16 invalid symbol
      "2025-01-20,AAA,10", // 17 too few fields
      "2025-01-21,AAA,\"1,234.50\",,", // 18 thousands separator
      "2025-01-22,AAA,0x10,,", // 19 hex
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      { line: 3, column: "date", reason: 'date "2025-02-30" is not a real calendar date' },
      { line: 4, column: "date", reason: 'date "02/01/2025" is not a date in the form YYYY-MM-DD' },
      { line: 5, column: "close", reason: "close 0 is not positive" },
      { line: 6, column: "close", reason: "close -1.5 is not positive" },
      { line: 7, column: "close", reason: 'close "NaN" is not a finite number' },
      { line: 8, column: "close", reason: 'close "1e999" is not a finite number' },
      { line: 9, column: "close", reason: 'close "abc" is not a number' },
      { line: 11, column: "close", reason: "close is empty" },
      { line: 12, column: "adj_close", reason: 'adj_close "Infinity" is not a finite number' },
      { line: 13, column: "volume", reason: "volume -5 is not a non-negative whole number" },
      { line: 14, column: "volume", reason: "volume 1.5 is not a non-negative whole number" },
      { line: 15, column: "symbol", reason: "symbol is empty" },
      { line: 16, column: "symbol", reason: expect.stringContaining('symbol "AA A" is not a valid ticker') },
      { line: 17, reason: "expected 5 fields as in the header, found 3" },
      { line: 18, column: "close", reason: 'close "1,234.50" is not a number' },
      { line: 19, column: "close", reason: 'close "0x10" is not a number' },
    ]);
  });

  it("reports several bad cells of one row, left to right", () => {
    expect(errorsOf("date,symbol,close\n2025-13-01,a b,-1\n")).toEqual([
      { line: 2, column: "symbol", reason: expect.stringContaining("not a valid ticker") },
      { line: 2, column: "date", reason: 'date "2025-13-01" is not a real calendar date' },
      { line: 2, column: "close", reason: "close -1 is not positive" },
    ]);
  });

  it("counts lines inside quoted fields, so later line numbers stay right", () => {
    expect(errorsOf('date,symbol,close\n2025-01-02,"AAA",10\n"2025-01\n-03",AAA,10\n2025-01-06,AAA,-1\n')).toEqual([
      { line: 3, column: "date", reason: expect.stringContaining("YYYY-MM-DD") },
      { line: 5, column: "close", reason: "close -1 is not positive" },
    ]);
  });

  it("names an unknown column, a repeated column and a missing required column in the header", () => {
    expect(errorsOf("date,symbol,close,price\n2025-01-02,AAA,10,10\n")).toEqual([
      { line: 1, column: "price", reason: 'unknown column "price"; allowed columns: date, symbol, close, adj_close, volume' },
    ]);
    expect(errorsOf("date,symbol,close,Close\n")).toEqual([{ line: 1, column: "close", reason: 'column "close" appears twice in the header' }]);
    expect(errorsOf("date,ticker,volume\n2025-01-02,AAA,1\n")).toEqual([
      { line: 1, column: "ticker", reason: expect.stringContaining('unknown column "ticker"') },
      { line: 1, column: "symbol", reason: 'required column "symbol" is missing from the header' },
      { line: 1, column: "close", reason: 'required column "close" is missing from the header' },
    ]);
  });

  it("still checks the rows when the header only has an unknown column", () => {
    expect(errorsOf("date,symbol,close,note\n2025-01-02,AAA,-3,x\n")).toEqual([
      { line: 1, column: "note", reason: expect.stringContaining("unknown column") },
      { line: 2, column: "close", reason: "close -3 is not positive" },
    ]);
  });

  it("refuses an empty file and reports syntax errors at their line", () => {
    expect(errorsOf("")).toEqual([{ line: 1, reason: expect.stringContaining("the file is empty") }]);
    expect(errorsOf("\n\n")).toEqual([{ line: 1, reason: expect.stringContaining("the file is empty") }]);
    expect(errorsOf('date,symbol,close\n2025-01-02,AAA,10\n2025-01-03,A"A,10\n')).toEqual([
      { line: 3, reason: expect.stringContaining("quote inside an unquoted field") },
    ]);
    expect(errorsOf('date,"symbol,close\n2025-01-02,AAA,10\n')).toEqual([{ line: 1, reason: expect.stringContaining("never closed") }]);
  });

  it("accepts a header-only file as an empty import", () => {
    expect(validatePriceCsv("date,symbol,close\n")).toEqual({ ok: true, rows: [], columns: ["date", "symbol", "close"], duplicateLines: [] });
  });

  it("keeps an identical repeat once and refuses a repeat with another value, citing the earlier line", () => {
    const same = validatePriceCsv("date,symbol,close,volume\n2025-01-02,AAA,10,5\n2025-01-02,aaa,10.0,5\n");
    expect(same).toMatchObject({ ok: true, duplicateLines: [3] });
    expect(same.ok && same.rows).toHaveLength(1);
    expect(errorsOf("date,symbol,close,volume\n2025-01-02,AAA,10,5\n2025-01-03,AAA,11,5\n2025-01-02,AAA,10.5,5\n2025-01-02,AAA,10,6\n")).toEqual([
      { line: 4, reason: "AAA on 2025-01-02 is already on line 2 with different values (close 10, volume 5 there, close 10.5, volume 5 here)" },
      { line: 5, reason: "AAA on 2025-01-02 is already on line 2 with different values (close 10, volume 5 there, close 10, volume 6 here)" },
    ]);
  });

  it("does not treat a repeat of a bad row as a conflict", () => {
    expect(errorsOf("date,symbol,close\n2025-01-02,AAA,-1\n2025-01-02,AAA,10\n")).toEqual([{ line: 2, column: "close", reason: "close -1 is not positive" }]);
  });

  it("skips rows whose cells are all blank, as spreadsheets export them", () => {
    const result = validatePriceCsv("date,symbol,close\n2025-01-02,AAA,10\n,,\n , , \n");
    expect(result.ok && result.rows).toHaveLength(1);
  });
});
