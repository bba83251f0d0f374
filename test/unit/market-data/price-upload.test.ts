import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatCsv } from "../../../worker/market-data/csv.ts";
import { validatePriceCsv } from "../../../worker/market-data/price-import.ts";
import { priceUploadSchema, validatePriceUpload } from "../../../worker/market-data/price-upload.ts";
import type { PriceUploadOptions } from "../../../worker/market-data/price-upload.ts";

function errorsOf(body: unknown, options?: PriceUploadOptions) {
  const result = validatePriceUpload(body, options);
  if (result.ok) throw new Error("expected validation errors");
  return result.errors;
}

describe("validatePriceUpload", () => {
  it("accepts rows, normalizes symbols and dates like the CSV import, and keeps missing values as null", () => {
    // A tiny close is a valid number; the one-day move from 243.85 to it is refused unless the
    // check is off (see "one-day moves" below).
    const unchecked = { maxDailyMove: Number.POSITIVE_INFINITY };
    const result = validatePriceUpload(
      {
        prices: [
          { date: "2025-01-02", symbol: " brk.b ", close: 412.5, volume: 1200 },
          { date: " 2025-01-02 ", symbol: "AAPL", close: 243.85, adj_close: 243.1, volume: null },
          { date: "2025-01-03", symbol: "AAPL", close: 1e-7, adj_close: null, volume: -0 },
        ],
      },
      unchecked,
    );
    expect(result).toEqual({
      ok: true,
      duplicateIndexes: [],
      rows: [
        { symbol: "BRK.B", date: "2025-01-02", close: 412.5, adjClose: null, volume: 1200, line: 0 },
        { symbol: "AAPL", date: "2025-01-02", close: 243.85, adjClose: 243.1, volume: null, line: 1 },
        { symbol: "AAPL", date: "2025-01-03", close: 1e-7, adjClose: null, volume: 0, line: 2 },
      ],
    });
    expect(result.ok && Object.is(result.rows[2]?.volume, 0)).toBe(true);
  });

  it("reports every bad field with its path and the CSV import's message", () => {
    const errors = errorsOf({
      prices: [
        { date: "2025-01-02", symbol: "AAA", close: 10 }, // 0 ok
        { date: "2025-02-30", symbol: "AAA", close: 10 }, // 1 impossible date
        { date: "02/01/2025", symbol: "AAA", close: 10 }, // 2 not ISO
        { date: "2025-01-03", symbol: "AAA", close: 0 }, // 3 non-positive close
        { date: "2025-01-06", symbol: "AAA", close: -1.5, adj_close: 0, volume: 1.5 }, // 4 three bad fields
        { date: "2025-01-07", symbol: "AA A", close: 10, volume: -1 }, // 5 bad symbol, negative volume
        { date: "", symbol: "", close: 10 }, // 6 empty strings
        { date: "2025-01-08", symbol: "AAA", close: 10, volume: 2 ** 60 }, // 7 not a safe integer
      ],
    });
    expect(errors).toEqual([
      { path: "prices[1].date", index: 1, field: "date", reason: 'date "2025-02-30" is not a real calendar date' },
      {
        path: "prices[2].date",
        index: 2,
        field: "date",
        reason: 'date "02/01/2025" is not a date in the form YYYY-MM-DD',
      },
      { path: "prices[3].close", index: 3, field: "close", reason: "close 0 is not positive" },
      { path: "prices[4].close", index: 4, field: "close", reason: "close -1.5 is not positive" },
      { path: "prices[4].adj_close", index: 4, field: "adj_close", reason: "adj_close 0 is not positive" },
      { path: "prices[4].volume", index: 4, field: "volume", reason: "volume 1.5 is not a non-negative whole number" },
      {
        path: "prices[5].symbol",
        index: 5,
        field: "symbol",
        reason: 'symbol "AA A" is not a valid ticker (letters, digits and . - ^ = / _, at most 24 characters)',
      },
      { path: "prices[5].volume", index: 5, field: "volume", reason: "volume -1 is not a non-negative whole number" },
      { path: "prices[6].symbol", index: 6, field: "symbol", reason: "symbol is empty" },
      { path: "prices[6].date", index: 6, field: "date", reason: "date is empty" },
      {
        path: "prices[7].volume",
        index: 7,
        field: "volume",
        reason: "volume 1152921504606847000 is not a non-negative whole number",
      },
    ]);
  });

  it("reports wrong types, missing and unknown fields per element", () => {
    const errors = errorsOf({
      prices: [
        { date: 20250102, symbol: "AAA", close: "10.5" },
        { symbol: "AAA", adj_close: "x", volume: true, open: 3 },
        "2025-01-02,AAA,10",
        null,
      ],
    });
    expect(errors).toEqual([
      { path: "prices[0].date", index: 0, field: "date", reason: "date must be a string, got number 20250102" },
      { path: "prices[0].close", index: 0, field: "close", reason: 'close must be a number, got the string "10.5"' },
      { path: "prices[1].date", index: 1, field: "date", reason: "date is missing" },
      { path: "prices[1].close", index: 1, field: "close", reason: "close is missing" },
      {
        path: "prices[1].adj_close",
        index: 1,
        field: "adj_close",
        reason: 'adj_close must be a number or null, got the string "x"',
      },
      {
        path: "prices[1].volume",
        index: 1,
        field: "volume",
        reason: "volume must be a number or null, got boolean true",
      },
      {
        path: "prices[1].open",
        index: 1,
        field: "open",
        reason: 'unknown field "open"; allowed fields: date, symbol, close, adj_close, volume',
      },
      {
        path: "prices[2]",
        index: 2,
        reason:
          'each price must be an object {date, symbol, close, adj_close?, volume?}, got the string "2025-01-02,AAA,10"',
      },
      {
        path: "prices[3]",
        index: 3,
        reason: "each price must be an object {date, symbol, close, adj_close?, volume?}, got null",
      },
    ]);
  });

  it("reports a body that is not {prices: [...]}", () => {
    expect(errorsOf([])).toEqual([
      { path: "", reason: 'the body must be a JSON object {"prices": [...]}, got an array' },
    ]);
    expect(errorsOf({})).toEqual([{ path: "prices", reason: "prices is missing" }]);
    expect(errorsOf({ prices: {}, extra: 1 })).toEqual([
      { path: "prices", reason: "prices must be an array, got an object" },
      { path: "extra", reason: 'unknown field "extra"; allowed fields: prices, max_daily_move' },
    ]);
  });

  it("keeps an identical repeat once and refuses a repeat with other values, citing the first", () => {
    const same = validatePriceUpload({
      prices: [
        { date: "2025-01-02", symbol: "AAA", close: 10, volume: 5 },
        { date: "2025-01-02", symbol: "aaa", close: 10, volume: 5, adj_close: null },
      ],
    });
    expect(same).toMatchObject({ ok: true, duplicateIndexes: [1] });
    expect(same.ok && same.rows).toHaveLength(1);

    expect(
      errorsOf({
        prices: [
          { date: "2025-01-02", symbol: "AAA", close: 10, volume: 5 },
          { date: "2025-01-02", symbol: "BBB", close: 0 },
          { date: "2025-01-02", symbol: "AAA", close: 10.5, adj_close: 10.4 },
        ],
      }),
    ).toEqual([
      { path: "prices[1].close", index: 1, field: "close", reason: "close 0 is not positive" },
      {
        path: "prices[2]",
        index: 2,
        reason:
          "AAA on 2025-01-02 is already at prices[0] with different values (close 10, volume 5 there, close 10.5, " +
          "adj_close 10.4 here)",
      },
    ]);
  });

  it("accepts an empty upload, like a CSV with only a header", () => {
    expect(validatePriceUpload({ prices: [] })).toEqual({ ok: true, rows: [], duplicateIndexes: [] });
  });

  it("exports a schema the API can document as JSON Schema", () => {
    expect(z.toJSONSchema(priceUploadSchema)).toMatchObject({
      type: "object",
      required: ["prices"],
      properties: {
        prices: {
          type: "array",
          maxItems: 100_000,
          items: {
            required: ["date", "symbol", "close"],
            additionalProperties: false,
            properties: { date: { type: "string", format: "date" }, close: { type: "number", exclusiveMinimum: 0 } },
          },
        },
      },
    });
  });

  it("accepts and refuses the same data as the CSV import, with the same rows and field messages", () => {
    // Move errors cite the other row as the file names it: `(line 4, …)` in the CSV, `(prices[2], …)`
    // in the upload, and the bound's setting as each caller knows it; the rest of the message is shared.
    const sameCitation = (reason: string, at: (position: number) => number) =>
      reason
        .replace(/\((?:line |prices\[)(\d+)\]?, /, (_, position: string) => `(#${at(Number(position))}, `)
        .replace(/ \((?:--max-daily-move|max_daily_move)\)$/, "");
    const symbol = fc.constantFrom("AAA", "aaa", " BBB ", "BRK.B", "^SPX", "C C", "");
    const date = fc.constantFrom("2025-01-02", "2025-01-03", "2025-02-28", "2025-02-30", "2025-1-2", "");
    const price = fc.oneof(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.constantFrom(0, -1, 3, 1e-300, 1.5e21));
    const volume = fc.oneof(fc.nat(), fc.constantFrom(-1, 0.5, 2 ** 53, 1e21));
    const row = fc.record(
      { symbol, date, close: price, adj_close: fc.option(price), volume: fc.option(volume) },
      { requiredKeys: ["symbol", "date", "close"] },
    );
    const bound = fc.constantFrom(undefined, 2, 1e4, Number.POSITIVE_INFINITY);
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), bound, (rows, maxDailyMove) => {
        const csv = formatCsv([
          ["date", "symbol", "close", "adj_close", "volume"],
          ...rows.map((r) => [
            r.date,
            r.symbol,
            String(r.close),
            r.adj_close == null ? "" : String(r.adj_close),
            r.volume == null ? "" : String(r.volume),
          ]),
        ]);
        const fromCsv = validatePriceCsv(csv, { maxDailyMove });
        const fromJson = validatePriceUpload({ prices: rows }, { maxDailyMove });
        expect(fromJson.ok).toBe(fromCsv.ok);
        if (fromCsv.ok && fromJson.ok) {
          // CSV lines count from the header (line 1), upload indexes from 0.
          expect(fromJson.rows).toEqual(fromCsv.rows.map((r) => ({ ...r, line: r.line - 2 })));
          expect(fromJson.duplicateIndexes).toEqual(fromCsv.duplicateLines.map((line) => line - 2));
        } else if (!fromCsv.ok && !fromJson.ok) {
          const csvFieldErrors = fromCsv.errors
            .filter((e) => e.column !== undefined)
            .map((e) => [e.line - 2, e.column, sameCitation(e.reason, (line) => line - 2)]);
          const jsonFieldErrors = fromJson.errors
            .filter((e) => e.field !== undefined)
            .map((e) => [e.index, e.field, sameCitation(e.reason, (index) => index)]);
          expect(jsonFieldErrors).toEqual(csvFieldErrors);
          const csvRowErrors = fromCsv.errors.filter((e) => e.column === undefined).map((e) => e.line - 2);
          const jsonRowErrors = fromJson.errors.filter((e) => e.field === undefined).map((e) => e.index);
          expect(jsonRowErrors).toEqual(csvRowErrors);
        }
      }),
      { numRuns: 300 },
    );
  });

  describe("one-day moves", () => {
    const spike = [
      { date: "2025-03-03", symbol: "AAPL", close: 150 },
      { date: "2025-03-03", symbol: "MSFT", close: 400 },
      { date: "2025-03-05", symbol: "AAPL", close: 151, adj_close: 151 },
      { date: "2025-03-04", symbol: "AAPL", close: 150_000, adj_close: 150_000 },
      { date: "2025-03-04", symbol: "MSFT", close: 401 },
    ];

    it("refuses a move beyond a factor of 5 at the later element's field, citing the earlier element", () => {
      // 03-04 → 03-05: both have an adjusted close, which is what the return uses; 03-03 → 03-04: closes.
      expect(errorsOf({ prices: spike })).toEqual([
        {
          path: "prices[2].adj_close",
          index: 2,
          field: "adj_close",
          reason:
            "AAPL adj_close moves ×0.001007 from 2025-03-04 (prices[3], 150000) to 2025-03-05 (151); " +
            "the bound is a factor of 5 (max_daily_move)",
        },
        {
          path: "prices[3].close",
          index: 3,
          field: "close",
          reason:
            "AAPL close moves ×1000 from 2025-03-03 (prices[0], 150) to 2025-03-04 (150000); " +
            "the bound is a factor of 5 (max_daily_move)",
        },
      ]);
    });

    it("accepts a move of exactly the bound either way", () => {
      const edge = [
        { date: "2025-03-03", symbol: "AAA", close: 10 },
        { date: "2025-03-04", symbol: "AAA", close: 50 },
        { date: "2025-03-05", symbol: "AAA", close: 10 },
      ];
      expect(validatePriceUpload({ prices: edge }).ok).toBe(true);
      expect(errorsOf({ prices: [...edge, { date: "2025-03-06", symbol: "AAA", close: 1.999 }] })).toEqual([
        {
          path: "prices[3].close",
          index: 3,
          field: "close",
          reason: expect.stringContaining("AAA close moves ×0.1999 from 2025-03-05 (prices[2], 10)"),
        },
      ]);
    });

    it("takes the bound from the body's max_daily_move, else from the options; Infinity turns the check off", () => {
      const sixfold = [
        { date: "2025-03-03", symbol: "AAA", close: 10 },
        { date: "2025-03-04", symbol: "AAA", close: 60 },
      ];
      expect(errorsOf({ prices: sixfold })).toHaveLength(1);
      expect(validatePriceUpload({ prices: sixfold, max_daily_move: 8 }).ok).toBe(true);
      expect(validatePriceUpload({ prices: sixfold }, { maxDailyMove: 8 }).ok).toBe(true);
      expect(errorsOf({ prices: sixfold, max_daily_move: 5.5 }, { maxDailyMove: 8 })[0]?.reason).toContain(
        "the bound is a factor of 5.5 (max_daily_move)",
      );
      expect(errorsOf({ prices: spike, max_daily_move: 8 })[1]?.reason).toContain(
        "the bound is a factor of 8 (max_daily_move)",
      );
      expect(validatePriceUpload({ prices: spike }, { maxDailyMove: Number.POSITIVE_INFINITY })).toMatchObject({
        ok: true,
      });
      expect(() => validatePriceUpload({ prices: sixfold }, { maxDailyMove: 1 })).toThrow(RangeError);
    });

    it("refuses a max_daily_move that is not a number > 1, and still checks every row", () => {
      const rows = [...spike, { date: "2025-03-05", symbol: "MSFT", close: -1 }];
      expect(errorsOf({ prices: rows, max_daily_move: 1 })).toEqual([
        { path: "max_daily_move", reason: "max_daily_move must be a factor > 1, e.g. 5, got 1" },
        { path: "prices[5].close", index: 5, field: "close", reason: "close -1 is not positive" },
      ]);
      expect(errorsOf({ prices: [], max_daily_move: "8" })).toEqual([
        { path: "max_daily_move", reason: 'max_daily_move must be a number, got the string "8"' },
      ]);
      expect(errorsOf({ prices: [], max_daily_move: null })).toEqual([
        { path: "max_daily_move", reason: "max_daily_move must be a number, got null" },
      ]);
    });

    it("documents max_daily_move in the JSON Schema", () => {
      expect(z.toJSONSchema(priceUploadSchema)).toMatchObject({
        additionalProperties: false,
        properties: {
          max_daily_move: { type: "number", exclusiveMinimum: 1, description: expect.stringContaining("default 5") },
        },
      });
    });
  });
});
