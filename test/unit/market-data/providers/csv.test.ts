import { describe, expect, it } from "vitest";
import { createCsvProvider } from "../../../../worker/market-data/providers/csv.ts";

const file = [
  "symbol,date,close,adj_close,volume",
  "SPY,2025-01-03,591.95,590.1,37000000",
  "spy,2025-01-02,584.64,,",
  "SPY,2025-01-06,595.36,593.4,47000000",
  "QQQ,2025-01-02,510.23,,",
  "TLT,2024-12-31,86.9,,",
].join("\n");

describe("CSV provider", () => {
  it("serves the requested symbols in the range, dates ascending, with their file lines", async () => {
    const result = await createCsvProvider({ text: file }).fetchDailyCloses({ symbols: ["SPY", "TLT", "AAPL"], from: "2025-01-02", to: "2025-01-03" });
    expect(result.prices).toEqual([
      { symbol: "SPY", date: "2025-01-02", close: 584.64, adjClose: null, volume: null, line: 3, source: "csv" },
      { symbol: "SPY", date: "2025-01-03", close: 591.95, adjClose: 590.1, volume: 37000000, line: 2, source: "csv" },
    ]);
    expect(result.failures.map((f) => [f.symbol, f.reason])).toEqual([
      ["TLT", "no_data"],
      ["AAPL", "no_data"],
    ]);
    expect(result.failures[1]?.detail).toBe("the price file has no row for AAPL");
  });

  it("rejects the whole file when a line is bad, for every requested symbol, citing the first bad line", async () => {
    const bad = `${file}\nSPY,2025-01-07,0,,\nQQQ,2025-02-30,500,,\n`;
    const result = await createCsvProvider({ text: bad }).fetchDailyCloses({ symbols: ["SPY", "QQQ", "TLT"], from: "2025-01-01", to: "2025-12-31" });
    expect(result.prices).toEqual([]);
    expect(result.failures.map((f) => [f.symbol, f.reason, f.line])).toEqual([
      ["SPY", "invalid_row", 7],
      ["QQQ", "invalid_row", 7],
      ["TLT", "invalid_row", 7],
    ]);
    expect(result.failures[0]?.detail).toBe("the price file is rejected whole (2 errors); first: line 7: close: close 0 is not positive");
  });
});
