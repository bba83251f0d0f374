// The packed reads (worker/db/compact.ts, factor-return-reads.ts, portfolio-reads.ts) run in real
// SQLite (the `libsql` package the local server uses) and must give back exactly the rows a plain
// SELECT gives: every double to the last bit, NULL as null, retired keys left out, no rows as none.
import fc from "fast-check";
import Database from "libsql";
import { describe, expect, it } from "vitest";
import { packedLines } from "../../worker/db/compact.ts";
import { alignFactorReturns, packedFactorReturnsColumn } from "../../worker/db/factor-return-reads.ts";
import { packedBetasColumn, storedBetasFrom } from "../../worker/db/betas.ts";
import type { ResultSet } from "@libsql/client/web";

/** A one-cell result as the libSQL client gives it (rows indexable by column position). */
/** The first column of a one-row query. */
function cell(db: Database.Database, sql: string): unknown {
  const row: unknown = db.prepare(sql).raw(true).get();
  return Array.isArray(row) ? row[0] : undefined;
}

function oneCell(value: unknown): ResultSet {
  return { rows: [[value]] } as unknown as ResultSet;
}

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

describe("packedLines", () => {
  it("reads NULL and '' as no rows, and splits rows and fields", () => {
    expect(packedLines(null)).toEqual([]);
    expect(packedLines("")).toEqual([]);
    expect(packedLines(undefined)).toEqual([]);
    expect(packedLines("a,1,;b,,2")).toEqual([
      ["a", "1", ""],
      ["b", "", "2"],
    ]);
  });
});

describe("packed factor returns", () => {
  const keys = ["market", "rates", "size"];

  function database(rows: readonly { date: string; key: string; value: number }[]) {
    const db = new Database(":memory:");
    db.exec("create table factor_returns (kind text, date text, factor_key text, value real not null)");
    const insert = db.prepare("insert into factor_returns values ('risk', ?, ?, ?)");
    for (const row of rows) insert.run(row.date, row.key, row.value);
    return db;
  }

  it("align the same doubles as a plain select, by date, with null where a factor has no return", () => {
    const row = fc.record({
      date: fc.constantFrom("2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07"),
      key: fc.constantFrom(...keys, "retired"),
      value: finiteDouble,
    });
    fc.assert(
      fc.property(fc.uniqueArray(row, { selector: (r) => `${r.date}/${r.key}`, maxLength: 16 }), (rows) => {
        const db = database(rows);
        const packed = cell(db, `select ${packedFactorReturnsColumn} from factor_returns fr`);
        const aligned = alignFactorReturns(packed, keys);
        // What a plain SELECT gives (SQLite stores −0 as 0, for one): the packed read must equal it.
        const plain = db.prepare("select date, factor_key, value from factor_returns").raw(true).all() as [
          string,
          string,
          number,
        ][];
        const served = plain.map(([date, key, value]) => ({ date, key, value })).filter((r) => keys.includes(r.key));
        expect(served.length).toBe(rows.filter((r) => keys.includes(r.key)).length);
        expect(aligned.dates).toEqual([...new Set(served.map((r) => r.date))].sort());
        aligned.dates.forEach((date, t) => {
          keys.forEach((key, k) => {
            const stored = served.find((r) => r.date === date && r.key === key);
            // toBe: Object.is, so −0 and every last bit must survive the text.
            expect(aligned.columns[k]?.[t]).toBe(stored === undefined ? null : stored.value);
          });
        });
        db.close();
      }),
      { numRuns: 200 },
    );
  });

  it("align nothing from an empty table (group_concat over no rows is NULL)", () => {
    const db = database([]);
    const packed = cell(db, `select ${packedFactorReturnsColumn} from factor_returns fr`);
    expect(packed).toBeNull();
    expect(alignFactorReturns(packed, keys)).toEqual({ dates: [], columns: [[], [], []] });
    db.close();
  });
});

describe("packed betas", () => {
  it("read back every column of every row as stored, nullable ones as null", () => {
    const db = new Database(":memory:");
    db.exec(`create table symbol_factor_exposures (symbol text, factor_id integer, calculation_date text,
      beta_value real not null, raw_beta_value real, r_squared real, observations integer, quality_flag text,
      calculation_method text, regularization_alpha real, regression_window_days integer, standard_error real)`);
    const nullable = fc.option(finiteDouble, { nil: null });
    const beta = fc.record({
      symbol: fc.constantFrom("AAPL", "BRK.B", "RDS-A"),
      factorId: fc.integer({ min: 1, max: 12 }),
      betaValue: finiteDouble,
      rawBetaValue: nullable,
      rSquared: nullable,
      observations: fc.integer({ min: 0, max: 400 }),
      qualityFlag: fc.constantFrom("ok", "limited_history", "capped"),
      calculationMethod: fc.constantFrom("ols", "ridge"),
      regularizationAlpha: nullable,
      regressionWindowDays: fc.constantFrom(365, 730),
      standardError: nullable,
    });
    fc.assert(
      fc.property(fc.uniqueArray(beta, { selector: (b) => `${b.symbol}/${b.factorId}`, maxLength: 20 }), (betas) => {
        db.exec("delete from symbol_factor_exposures");
        const insert = db.prepare("insert into symbol_factor_exposures values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (const b of betas)
          insert.run(
            b.symbol,
            b.factorId,
            "2026-06-30",
            b.betaValue,
            b.rawBetaValue,
            b.rSquared,
            b.observations,
            b.qualityFlag,
            b.calculationMethod,
            b.regularizationAlpha,
            b.regressionWindowDays,
            b.standardError,
          );
        const packed = cell(db, `select ${packedBetasColumn} from symbol_factor_exposures b`);
        const read = storedBetasFrom(oneCell(packed));
        const key = (b: { symbol: string; factorId: number }) => `${b.symbol}/${b.factorId}`;
        expect(read.map(key).sort()).toEqual(betas.map(key).sort());
        // What a plain SELECT gives (SQLite stores −0 as 0, for one): the packed read must equal it,
        // column by column (toEqual compares numbers with Object.is: every bit).
        const plain = db.prepare("select * from symbol_factor_exposures").raw(true).all() as (
          | string
          | number
          | null
        )[][];
        for (const row of plain) {
          const got = read.find((r) => r.symbol === row[0] && r.factorId === row[1]);
          expect(got).toEqual({
            symbol: row[0],
            factorId: row[1],
            calculationDate: row[2],
            betaValue: row[3],
            rawBetaValue: row[4],
            rSquared: row[5],
            observations: row[6],
            qualityFlag: row[7],
            calculationMethod: row[8],
            regularizationAlpha: row[9],
            regressionWindowDays: row[10],
            standardError: row[11],
          });
        }
        // And the plain select is the inserted betas (nullable columns stay null, doubles other than −0 intact).
        for (const b of betas) {
          const got = read.find((r) => key(r) === key(b));
          expect(got?.betaValue).toBe(b.betaValue === 0 ? 0 : b.betaValue);
          expect(got?.standardError).toBe(b.standardError === 0 ? 0 : b.standardError);
        }
      }),
      { numRuns: 150 },
    );
    db.close();
  });
});
