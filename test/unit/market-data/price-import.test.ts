import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeFlag } from "../../../scripts/import-cli.ts";
import { defaultMaxDailyMove, parseMaxDailyMove, validatePriceCsv } from "../../../worker/market-data/price-import.ts";
import type { PriceValidationOptions } from "../../../worker/market-data/price-import.ts";

function errorsOf(text: string, options?: PriceValidationOptions) {
  const result = validatePriceCsv(text, options);
  if (result.ok) throw new Error("expected validation errors");
  return result.errors;
}

describe("validatePriceCsv", () => {
  it("reads rows in any column order, normalizes symbols and keeps missing optional values as null", () => {
    const result = validatePriceCsv(
      "symbol,close,date,volume,adj_close\r\n brk.b ,412.5,2025-01-02,1200,\r\naapl,243.85,2025-01-02,,243.1\r\n",
    );
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
    expect(result.ok && result.rows).toEqual([
      { symbol: "SPY", date: "2025-01-02", close: 590.1, adjClose: null, volume: null, line: 2 },
    ]);
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
      '2025-01-21,AAA,"1,234.50",,', // 18 thousands separator
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
      {
        line: 1,
        column: "price",
        reason: 'unknown column "price"; allowed columns: date, symbol, close, adj_close, volume',
      },
    ]);
    expect(errorsOf("date,symbol,close,Close\n")).toEqual([
      { line: 1, column: "close", reason: 'column "close" appears twice in the header' },
    ]);
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
    expect(errorsOf('date,"symbol,close\n2025-01-02,AAA,10\n')).toEqual([
      { line: 1, reason: expect.stringContaining("never closed") },
    ]);
  });

  it("accepts a header-only file as an empty import", () => {
    expect(validatePriceCsv("date,symbol,close\n")).toEqual({
      ok: true,
      rows: [],
      columns: ["date", "symbol", "close"],
      duplicateLines: [],
    });
  });

  it("keeps an identical repeat once and refuses a repeat with another value, citing the earlier line", () => {
    const same = validatePriceCsv("date,symbol,close,volume\n2025-01-02,AAA,10,5\n2025-01-02,aaa,10.0,5\n");
    expect(same).toMatchObject({ ok: true, duplicateLines: [3] });
    expect(same.ok && same.rows).toHaveLength(1);
    expect(
      errorsOf(
        "date,symbol,close,volume\n2025-01-02,AAA,10,5\n2025-01-03,AAA,11,5\n2025-01-02,AAA,10.5,5\n" +
          "2025-01-02,AAA,10,6\n",
      ),
    ).toEqual([
      {
        line: 4,
        reason:
          "AAA on 2025-01-02 is already on line 2 with different values (close 10, volume 5 there, close 10.5, " +
          "volume 5 here)",
      },
      {
        line: 5,
        reason:
          "AAA on 2025-01-02 is already on line 2 with different values (close 10, volume 5 there, close 10, " +
          "volume 6 here)",
      },
    ]);
  });

  it("does not treat a repeat of a bad row as a conflict", () => {
    expect(errorsOf("date,symbol,close\n2025-01-02,AAA,-1\n2025-01-02,AAA,10\n")).toEqual([
      { line: 2, column: "close", reason: "close -1 is not positive" },
    ]);
  });

  it("skips rows whose cells are all blank, as spreadsheets export them", () => {
    const result = validatePriceCsv("date,symbol,close\n2025-01-02,AAA,10\n,,\n , , \n");
    expect(result.ok && result.rows).toHaveLength(1);
  });
});

/** A file with a 1000× tick in AAPL on line 12, other symbols interleaved. */
const spike = [
  "date,symbol,close", // 1
  "2025-02-26,AAPL,148", // 2
  "2025-02-26,MSFT,400", // 3
  "2025-02-27,AAPL,149", // 4
  "2025-02-27,MSFT,401", // 5
  "2025-02-28,AAPL,149.5", // 6
  "2025-02-28,MSFT,402", // 7
  "2025-03-03,MSFT,403", // 8
  "2025-03-04,MSFT,404", // 9
  "2025-03-05,MSFT,405", // 10
  "2025-03-03,AAPL,150", // 11
  "2025-03-04,AAPL,150000", // 12: a 1000× tick
  "2025-03-05,AAPL,151", // 13: and back
].join("\n");

describe("validatePriceCsv: one-day moves", () => {
  it(
    "refuses a move beyond a factor of 5 with its line, citing the other line, both dates and values, " +
      "the ratio and the bound",
    () => {
      expect(defaultMaxDailyMove).toBe(5);
      expect(errorsOf(spike)).toEqual([
        {
          line: 12,
          column: "close",
          reason:
            "AAPL close moves ×1000 from 2025-03-03 (line 11, 150) to 2025-03-04 (150000); " +
            "the bound is a factor of 5 (--max-daily-move)",
        },
        {
          line: 13,
          column: "close",
          reason:
            "AAPL close moves ×0.001007 from 2025-03-04 (line 12, 150000) to 2025-03-05 (151); " +
            "the bound is a factor of 5 (--max-daily-move)",
        },
      ]);
    },
  );

  it("compares a symbol's rows in date order, whatever the file's order", () => {
    const shuffled = [
      "date,symbol,close",
      "2025-03-05,AAA,10",
      "2025-03-03,AAA,10",
      "2025-03-04,AAA,1",
      "2025-03-04,BBB,1",
    ].join("\n");
    expect(errorsOf(shuffled)).toEqual([
      {
        line: 2,
        column: "close",
        reason:
          "AAA close moves ×10 from 2025-03-04 (line 4, 1) to 2025-03-05 (10); the bound is a factor of 5 " +
          "(--max-daily-move)",
      },
      {
        line: 4,
        column: "close",
        reason:
          "AAA close moves ×0.1 from 2025-03-03 (line 3, 10) to 2025-03-04 (1); the bound is a factor of 5 " +
          "(--max-daily-move)",
      },
    ]);
  });

  it("accepts a move of exactly the bound either way and refuses one just beyond it", () => {
    expect(validatePriceCsv("date,symbol,close\n2025-03-03,AAA,10\n2025-03-04,AAA,50\n2025-03-05,AAA,10\n").ok).toBe(
      true,
    );
    expect(
      errorsOf("date,symbol,close\n2025-03-03,AAA,10\n2025-03-04,AAA,50.01\n2025-03-05,BBB,10\n2025-03-06,BBB,1.999\n"),
    ).toEqual([
      {
        line: 3,
        column: "close",
        reason: expect.stringContaining("AAA close moves ×5.001 from 2025-03-03 (line 2, 10) to 2025-03-04 (50.01)"),
      },
      {
        line: 5,
        column: "close",
        reason: expect.stringContaining("BBB close moves ×0.1999 from 2025-03-05 (line 4, 10) to 2025-03-06 (1.999)"),
      },
    ]);
  });

  it("checks the price the return uses: adj_close when both rows have one (a split is no bad tick), else close", () => {
    const text = [
      "date,symbol,close,adj_close",
      "2025-03-03,SPLT,1000,100",
      "2025-03-04,SPLT,101,101", // a 10:1 split: the close moves ×0.101, the adjusted close is smooth: accepted
      "2025-03-03,ADJ,20,20",
      "2025-03-04,ADJ,20.2,2020", // a bad adjusted close
      "2025-03-05,ADJ,20.4,", // no adjusted close: only closes compared
      "2025-03-06,ADJ,20.6,20.6", // the previous row has none: nothing to compare it with
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      {
        line: 5,
        column: "adj_close",
        reason:
          "ADJ adj_close moves ×101 from 2025-03-03 (line 4, 20) to 2025-03-04 (2020); " +
          "the bound is a factor of 5 (--max-daily-move)",
      },
    ]);
  });

  it("takes another bound, and Infinity turns the check off", () => {
    const sixfold = "date,symbol,close\n2025-03-03,AAA,10\n2025-03-04,AAA,60\n";
    expect(errorsOf(sixfold)).toHaveLength(1);
    expect(validatePriceCsv(sixfold, { maxDailyMove: 8 }).ok).toBe(true);
    expect(errorsOf(spike, { maxDailyMove: 8 })[0]?.reason).toContain("the bound is a factor of 8 (--max-daily-move)");
    const unchecked = validatePriceCsv(spike, { maxDailyMove: Number.POSITIVE_INFINITY });
    expect(unchecked.ok && unchecked.rows).toHaveLength(12);
    for (const bad of [1, 0.5, -2, Number.NaN])
      expect(() => validatePriceCsv(sixfold, { maxDailyMove: bad })).toThrow(RangeError);
  });

  it("lists the moves with every other error of the file, over the rows that passed their own checks", () => {
    const text = [
      "date,symbol,close,volume",
      "2025-03-03,AAA,10,1",
      "2025-03-04,AAA,-1,1",
      "2025-03-05,AAA,100,1",
      "2025-03-06,AAA,101,x",
      "2025-03-05,AAA,99,1",
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      { line: 3, column: "close", reason: "close -1 is not positive" },
      {
        line: 4,
        column: "close",
        reason:
          "AAA close moves ×10 from 2025-03-03 (line 2, 10) to 2025-03-05 (100); the bound is a factor of 5 " +
          "(--max-daily-move)",
      },
      { line: 5, column: "volume", reason: 'volume "x" is not a number' },
      {
        line: 6,
        reason:
          "AAA on 2025-03-05 is already on line 4 with different values (close 100, volume 1 there, close 99, " +
          "volume 1 here)",
      },
    ]);
  });
});

describe("--max-daily-move", () => {
  it("parses a factor > 1 or Infinity, and explains anything else", () => {
    expect(parseMaxDailyMove("8")).toEqual({ ok: true, value: 8 });
    expect(parseMaxDailyMove("2.5")).toEqual({ ok: true, value: 2.5 });
    expect(parseMaxDailyMove("Infinity")).toEqual({ ok: true, value: Number.POSITIVE_INFINITY });
    expect(parseMaxDailyMove("inf")).toEqual({ ok: true, value: Number.POSITIVE_INFINITY });
    expect(parseMaxDailyMove("1")).toEqual({
      ok: false,
      reason: 'the maximum daily move must be a factor > 1, e.g. 5, or Infinity, got "1"',
    });
    expect(parseMaxDailyMove("0.5")).toMatchObject({ ok: false });
    expect(parseMaxDailyMove("")).toMatchObject({ ok: false });
    expect(parseMaxDailyMove("five")).toEqual({
      ok: false,
      reason: 'the maximum daily move "five" is not a number; expected a factor > 1, e.g. 5, or Infinity',
    });
  });

  it("is taken out of the arguments, as --flag VALUE or --flag=VALUE, anywhere", () => {
    expect(takeFlag(["a.csv", "--max-daily-move", "8"], "--max-daily-move", parseMaxDailyMove)).toEqual({
      ok: true,
      value: 8,
      rest: ["a.csv"],
    });
    expect(takeFlag(["--max-daily-move=8", "a.csv"], "--max-daily-move", parseMaxDailyMove)).toEqual({
      ok: true,
      value: 8,
      rest: ["a.csv"],
    });
    expect(takeFlag(["a.csv"], "--max-daily-move", parseMaxDailyMove)).toEqual({
      ok: true,
      value: undefined,
      rest: ["a.csv"],
    });
    expect(takeFlag(["a.csv", "--max-daily-move"], "--max-daily-move", parseMaxDailyMove)).toEqual({
      ok: false,
      reason: "--max-daily-move needs a value",
    });
    expect(takeFlag(["--max-daily-move", "8", "--max-daily-move=9"], "--max-daily-move", parseMaxDailyMove)).toEqual({
      ok: false,
      reason: "--max-daily-move is given twice",
    });
    expect(takeFlag(["a.csv", "--max-daily-move", "1"], "--max-daily-move", parseMaxDailyMove)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^--max-daily-move: .*factor > 1/),
    });
  });

  describe("npm run import:prices", () => {
    const projectRoot = path.resolve(import.meta.dirname, "../../..");
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), "factor-price-import-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    // Every case here fails before the script opens a database; the unreachable URL makes sure.
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["scripts/import-prices.ts", ...args], {
        cwd: projectRoot,
        env: { ...process.env, TURSO_DATABASE_URL: "http://127.0.0.1:9", TURSO_AUTH_TOKEN: "" },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: error.code ?? -1,
          stdout: error.stdout ?? "",
          stderr: error.stderr ?? "",
        }),
      );

    it("refuses a bad tick with its line, and uses the bound the flag gives", async () => {
      const file = path.join(dir, "spike.csv");
      writeFileSync(file, spike);
      const plain = await run(file);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain(
        `${file}: line 12: AAPL close moves ×1000 from 2025-03-03 (line 11, 150) to 2025-03-04 (150000); ` +
          "the bound is a factor of 5 (--max-daily-move)",
      );
      expect(plain.stderr).toContain(`2 error(s) in ${file}; nothing was imported`);
      const wider = await run(file, "--max-daily-move", "8");
      expect(wider.code).toBe(1);
      expect(wider.stderr).toContain(
        "line 12: AAPL close moves ×1000 from 2025-03-03 (line 11, 150) to 2025-03-04 (150000); " +
          "the bound is a factor of 8 (--max-daily-move)",
      );
    });

    it("exits 1 with a clear message for a bad flag value", async () => {
      const file = path.join(dir, "fine.csv");
      writeFileSync(file, "date,symbol,close\n2025-03-03,AAA,10\n");
      for (const value of ["0.5", "five"]) {
        const result = await run(file, "--max-daily-move", value);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^--max-daily-move: .*factor > 1, e\.g\. 5, or Infinity/);
        expect(result.stderr).toContain("usage: npm run import:prices -- FILE.csv [--max-daily-move FACTOR]");
      }
      expect(await run(file, "--max-daily-move")).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("--max-daily-move needs a value"),
      });
    });
  });
});
