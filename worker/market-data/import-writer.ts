// Writes validated imports to libSQL. Each file is one `db.batch` (one transaction): a
// failure anywhere leaves the database as it was. Writes are upserts on the natural key that
// only touch a row whose values differ, so re-importing a file changes nothing, not even
// `updated_at`.
//
// Rows travel as one JSON text per chunk, expanded by SQLite's json_each: about a tenth of
// the request size of one bound parameter per value, which keeps a year of prices for a
// large universe in one request. SQLite parses the JSON numbers; a value with 16–17
// significant digits may be stored one unit in the last place away from JavaScript's
// reading, far below any price's precision, and re-imports compare like with like.
//
// Counts come from inside the transaction: rows of the file's symbols before and after the
// upserts give `inserted`, the upserts' affected rows minus that give `updated` (an upsert
// whose values are equal affects no row), the rest are `unchanged`.
//
// Decisions:
// - A price that differs from the stored one for (symbol, date) is a correction: the file
//   wins and the row counts as updated; its row replaces the stored row whole (close,
//   adj_close, volume, source), so a close is never paired with a stale adjusted close. A
//   provider's write (`otherSources: "keep"`) never replaces a close from another source: the
//   conflict is counted and listed instead. Either way the summary says how many closes of
//   another source were replaced or kept, with examples.
// - A close that changes on a date the batch has computed records a price revision, so the
//   next run recomputes the dates whose windows hold it (worker/batch/revisions.ts).
// - A profile row is applied when its as_of is on or after the stored as_of, field by field for
//   the columns the file has (a column the file lacks keeps its stored value; an empty cell
//   stores NULL). A profile older than the stored one is skipped and counted as `older`.
// - Every symbol of a file is registered in symbol_universe (an `etf` when it is a known ETF or
//   a factor input, else an `equity`). Price imports widen first/last_seen_date to the file's
//   dates, never narrow them; a profile import registers a new symbol with its as_of as both
//   dates and copies a provided sector into the universe.
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { isoNow } from "../../schema/columns.ts";
import { chunk } from "../chunk.ts";
import { knownEtfSymbols } from "./etfs.ts";
import type { PriceRow } from "./price-import.ts";
import type { ProfileField, ProfileRow } from "./profile-import.ts";

/** Any drizzle libSQL database: `drizzle-orm/libsql` in scripts, `drizzle-orm/libsql/web` in the Worker. */
export type ImportDatabase<TSchema extends Record<string, unknown> = Record<string, unknown>> = LibSQLDatabase<TSchema>;

export interface WriteCounts {
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface PriceWriteSummary extends WriteCounts {
  /** Symbols new to symbol_universe. */
  symbolsRegistered: number;
  /** Known symbols whose first/last_seen_date the file widened. */
  symbolsWidened: number;
  /**
   * Rows whose (symbol, date) holds a different close from another source. With
   * `otherSources: "keep"` (providers) they are left alone and counted in `kept`; with
   * "replace" (imports, or an admin's `replace_prices`) they are written and counted in
   * `replaced`. `examples` shows the first few.
   */
  conflicts: PriceConflicts;
}

export interface PriceConflicts {
  kept: number;
  replaced: number;
  examples: PriceConflict[];
}

export interface PriceConflict {
  symbol: string;
  date: string;
  storedClose: number;
  storedSource: string;
  close: number;
  source: string;
}

/** How many conflicts a write lists (per statement chunk of 20,000 rows). */
export const maxConflictExamples = 5;

export interface ProfileWriteSummary extends WriteCounts {
  /** Rows skipped because the stored profile has a later as_of. */
  older: number;
  symbolsRegistered: number;
}

/** Statements to run in one batch, and how to read their results (in the same order). */
export interface WritePlan<Summary> {
  statements: BatchItem<"sqlite">[];
  summarize(results: readonly unknown[]): Summary;
}

export interface PriceWriteOptions {
  /** Stored in market_prices.source; default "csv". */
  source?: string;
  /**
   * A stored close from another source with a different value: "replace" it (an import: the
   * user's file is the source of truth; an admin's forced provider run) or "keep" it (a
   * provider: docs/design.md §4.6, a provider never overwrites another source's close).
   * Default "replace".
   */
  otherSources?: "replace" | "keep";
  /** Rows per statement; default 20,000 (about 1 MB of JSON). */
  chunkRows?: number;
}

export async function writePrices<TSchema extends Record<string, unknown>>(
  db: ImportDatabase<TSchema>,
  rows: readonly PriceRow[],
  options: PriceWriteOptions = {},
): Promise<PriceWriteSummary> {
  return runPlan(db, planPriceWrite(db, rows, options));
}

export async function writeProfiles<TSchema extends Record<string, unknown>>(
  db: ImportDatabase<TSchema>,
  rows: readonly ProfileRow[],
  fields: readonly ProfileField[],
  options: { chunkRows?: number } = {},
): Promise<ProfileWriteSummary> {
  return runPlan(db, planProfileWrite(db, rows, fields, options));
}

async function runPlan<TSchema extends Record<string, unknown>, Summary>(
  db: ImportDatabase<TSchema>,
  plan: WritePlan<Summary>,
): Promise<Summary> {
  const [first, ...rest] = plan.statements;
  if (!first) return plan.summarize([]);
  return plan.summarize(await db.batch([first, ...rest]));
}

/** The statements of a price import, for callers that add them to a larger transaction. */
export function planPriceWrite<TSchema extends Record<string, unknown>>(
  db: ImportDatabase<TSchema>,
  rows: readonly PriceRow[],
  options: PriceWriteOptions = {},
): WritePlan<PriceWriteSummary> {
  const source = options.source ?? "csv";
  const replaceOthers = options.otherSources !== "keep";
  const chunkRows = options.chunkRows ?? 20_000;
  if (rows.length === 0) {
    return {
      statements: [],
      summarize: () => ({
        rows: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        symbolsRegistered: 0,
        symbolsWidened: 0,
        conflicts: { kept: 0, replaced: 0, examples: [] },
      }),
    };
  }
  const seen = new Map<string, { first: string; last: string }>();
  for (const row of rows) {
    const dates = seen.get(row.symbol);
    if (!dates) seen.set(row.symbol, { first: row.date, last: row.date });
    else {
      if (row.date < dates.first) dates.first = row.date;
      if (row.date > dates.last) dates.last = row.date;
    }
  }
  const symbolsJson = JSON.stringify([...seen.keys()]);
  const countPrices = db.get(
    sql`select count(*) as n from market_prices where symbol in (select value from json_each(${symbolsJson}))`,
  );
  const countUniverse = db.get(
    sql`select count(*) as n from symbol_universe where symbol in (select value from json_each(${symbolsJson}))`,
  );

  const payloads = chunk(rows, chunkRows).map((part) =>
    JSON.stringify(part.map((row) => [row.symbol, row.date, row.close, row.adjClose, row.volume])),
  );
  // A different close from another source, before the write (both modes count them).
  const conflictsOf = (payload: string) => sql`
      from json_each(${payload}) as j join market_prices as p on p.symbol = j.value ->> 0 and p.date = j.value ->> 1
      where p.source is not ${source} and (p.close is not j.value ->> 2 or p.adj_close is not j.value ->> 3)`;
  const conflictCounts = payloads.map((payload) => db.get(sql`select count(*) as n ${conflictsOf(payload)}`));
  const conflictExamples = payloads.map((payload) =>
    db.all(sql`select j.value ->> 0 as symbol, j.value ->> 1 as date, p.close as stored_close,
        p.source as stored_source, j.value ->> 2 as close
      ${conflictsOf(payload)} order by 1, 2 limit ${maxConflictExamples}`),
  );
  // A close that changes (or appears) on a date the batch already computed is a revision: the
  // betas of the dates whose windows hold it are stale, and the next run recomputes them
  // (worker/batch/revisions.ts). Closes after the last computed date are simply new.
  const revisions = payloads.map((payload) =>
    db.run(sql`
      insert into price_revisions (symbol, earliest_date, updated_at)
      select j.value ->> 0, min(j.value ->> 1), ${isoNow}
      from json_each(${payload}) as j
      left join market_prices as p on p.symbol = j.value ->> 0 and p.date = j.value ->> 1
      where (p.symbol is null or p.close is not j.value ->> 2 or p.adj_close is not j.value ->> 3)
        and (${replaceOthers ? 1 : 0} or p.symbol is null or p.source = ${source})
        and j.value ->> 1 <= (select max(r.calculation_date) from batch_phase_results as r
          where r.phase = 'universe_factors')
      group by j.value ->> 0
      on conflict (symbol) do update set
        earliest_date = min(price_revisions.earliest_date, excluded.earliest_date), updated_at = excluded.updated_at`),
  );
  const upserts = payloads.map((payload) =>
    db.run(sql`
      insert into market_prices (symbol, date, close, adj_close, volume, source)
      select j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, ${source}
      from json_each(${payload}) as j where true
      on conflict (symbol, date) do update set
        close = excluded.close, adj_close = excluded.adj_close, volume = excluded.volume, source = excluded.source
      where (${replaceOthers ? 1 : 0} or market_prices.source = excluded.source)
        and (market_prices.close is not excluded.close or market_prices.adj_close is not excluded.adj_close
         or market_prices.volume is not excluded.volume or market_prices.source is not excluded.source)`),
  );
  const universePayload = JSON.stringify([...seen].map(([symbol, dates]) => [symbol, dates.first, dates.last]));
  const registerSymbols = db.run(sql`
    insert into symbol_universe (symbol, asset_type, sector, first_seen_date, last_seen_date)
    select j.value ->> 0, ${assetTypeOf(sql`j.value ->> 0`)},
      (select c.sector from company_profiles as c where c.symbol = j.value ->> 0),
      j.value ->> 1, j.value ->> 2
    from json_each(${universePayload}) as j where true
    on conflict (symbol) do update set
      first_seen_date = min(symbol_universe.first_seen_date, excluded.first_seen_date),
      last_seen_date = max(symbol_universe.last_seen_date, excluded.last_seen_date),
      updated_at = ${isoNow}
    where excluded.first_seen_date < symbol_universe.first_seen_date
       or excluded.last_seen_date > symbol_universe.last_seen_date`);

  const statements: BatchItem<"sqlite">[] = [
    countPrices,
    countUniverse,
    ...conflictCounts,
    ...conflictExamples,
    ...revisions,
    ...upserts,
    registerSymbols,
    countPrices,
    countUniverse,
  ];
  const n = payloads.length;
  return {
    statements,
    summarize(results) {
      const pricesBefore = countOf(results[0]);
      const universeBefore = countOf(results[1]);
      const conflicting = results.slice(2, 2 + n).reduce<number>((sum, result) => sum + countOf(result), 0);
      const examples = results
        .slice(2 + n, 2 + 2 * n)
        .flatMap((result) => conflictRows(result))
        .slice(0, maxConflictExamples)
        .map((row) => ({ ...row, source }));
      const upsertsAt = 2 + 3 * n;
      const upserted = results
        .slice(upsertsAt, upsertsAt + n)
        .reduce<number>((sum, result) => sum + rowsAffected(result), 0);
      const universeChanged = rowsAffected(results[upsertsAt + n]);
      const inserted = countOf(results[upsertsAt + n + 1]) - pricesBefore;
      const symbolsRegistered = countOf(results[upsertsAt + n + 2]) - universeBefore;
      const updated = upserted - inserted;
      return {
        rows: rows.length,
        inserted,
        updated,
        unchanged: rows.length - inserted - updated,
        symbolsRegistered,
        symbolsWidened: universeChanged - symbolsRegistered,
        conflicts: { kept: replaceOthers ? 0 : conflicting, replaced: replaceOthers ? conflicting : 0, examples },
      };
    },
  };
}

/** The conflict examples' rows, read defensively (libSQL returns plain row objects). */
function conflictRows(result: unknown): Omit<PriceConflict, "source">[] {
  if (!Array.isArray(result)) throw new Error("expected the conflict examples' rows");
  return result.map((row: unknown) => {
    const record = (typeof row === "object" && row !== null ? row : {}) as Record<string, unknown>;
    return {
      symbol: String(record["symbol"]),
      date: String(record["date"]),
      storedClose: Number(record["stored_close"]),
      storedSource: String(record["stored_source"]),
      close: Number(record["close"]),
    };
  });
}

const profileFieldColumns: Record<ProfileField, string> = {
  company_name: "company_name",
  sector: "sector",
  industry: "industry",
  market_cap: "market_cap",
  enterprise_value: "enterprise_value",
  pe_ratio: "pe_ratio",
  ps_ratio: "ps_ratio",
  pb_ratio: "pb_ratio",
};

export function planProfileWrite<TSchema extends Record<string, unknown>>(
  db: ImportDatabase<TSchema>,
  rows: readonly ProfileRow[],
  fields: readonly ProfileField[],
  options: { chunkRows?: number } = {},
): WritePlan<ProfileWriteSummary> {
  if (rows.length === 0) {
    return {
      statements: [],
      summarize: () => ({ rows: 0, inserted: 0, updated: 0, unchanged: 0, older: 0, symbolsRegistered: 0 }),
    };
  }
  // Column names come from the fixed list above, never from the file.
  const columns = fields.map((field) => profileFieldColumns[field]);
  const symbolsJson = JSON.stringify(rows.map((row) => row.symbol));
  const countProfiles = db.get(
    sql`select count(*) as n from company_profiles where symbol in (select value from json_each(${symbolsJson}))`,
  );
  const countUniverse = db.get(
    sql`select count(*) as n from symbol_universe where symbol in (select value from json_each(${symbolsJson}))`,
  );
  const asOfJson = JSON.stringify(rows.map((row) => [row.symbol, row.asOf]));
  const countOlder = db.get(sql`
    select count(*) as n from json_each(${asOfJson}) as j
    join company_profiles as c on c.symbol = j.value ->> 0 where c.as_of > j.value ->> 1`);

  const upserts = chunk(rows, options.chunkRows ?? 5_000).map((part) => {
    const payload = JSON.stringify(
      part.map((row) => [row.symbol, row.asOf, ...fields.map((field) => row.values[field] ?? null)]),
    );
    const insertColumns = sql.raw(["symbol", "as_of", ...columns].join(", "));
    const selected = sql.raw(["symbol", "as_of", ...columns].map((_, index) => `j.value ->> ${index}`).join(", "));
    const assignments = sql.raw(["as_of", ...columns].map((column) => `${column} = excluded.${column}`).join(", "));
    const differs = sql.raw(
      ["as_of", ...columns].map((column) => `company_profiles.${column} is not excluded.${column}`).join(" or "),
    );
    return db.run(sql`
      insert into company_profiles (${insertColumns})
      select ${selected} from json_each(${payload}) as j where true
      on conflict (symbol) do update set ${assignments}
      where excluded.as_of >= company_profiles.as_of and (${differs})`);
  });

  const registerPayload = JSON.stringify(
    rows.map((row) => [row.symbol, row.asOf, fields.includes("sector") ? (row.values.sector ?? null) : null]),
  );
  const registerSymbols = db.run(sql`
    insert into symbol_universe (symbol, asset_type, sector, first_seen_date, last_seen_date)
    select j.value ->> 0, ${assetTypeOf(sql`j.value ->> 0`)}, j.value ->> 2, j.value ->> 1, j.value ->> 1
    from json_each(${registerPayload}) as j where true
    on conflict (symbol) do nothing`);
  const statements: BatchItem<"sqlite">[] = [countProfiles, countUniverse, countOlder, ...upserts, registerSymbols];
  if (fields.includes("sector")) {
    // The universe's sector follows the stored profile (so an older, skipped row changes nothing).
    statements.push(
      db.run(sql`
        update symbol_universe set sector = c.sector, updated_at = ${isoNow}
        from company_profiles as c
        where c.symbol = symbol_universe.symbol
          and symbol_universe.symbol in (select value from json_each(${symbolsJson}))
          and c.sector is not null and symbol_universe.sector is not c.sector`),
    );
  }
  statements.push(countProfiles, countUniverse);
  return {
    statements,
    summarize(results) {
      const profilesBefore = countOf(results[0]);
      const universeBefore = countOf(results[1]);
      const older = countOf(results[2]);
      const upserted = results
        .slice(3, 3 + upserts.length)
        .reduce<number>((sum, result) => sum + rowsAffected(result), 0);
      const inserted = countOf(results.at(-2)) - profilesBefore;
      const updated = upserted - inserted;
      return {
        rows: rows.length,
        inserted,
        updated,
        unchanged: rows.length - inserted - updated - older,
        older,
        symbolsRegistered: countOf(results.at(-1)) - universeBefore,
      };
    },
  };
}

function assetTypeOf(symbol: SQL): SQL {
  return sql`case when ${symbol} in (select value from json_each(${JSON.stringify(knownEtfSymbols)}))
      or exists (select 1 from factor_definitions as f
        where ${symbol} in (f.input_symbol, f.long_symbol, f.short_symbol))
    then 'etf' else 'equity' end`;
}

/** `count(*) as n` from a `db.get` result (a row object). */
function countOf(result: unknown): number {
  const n = typeof result === "object" && result !== null ? (result as Record<string, unknown>)["n"] : undefined;
  const value = typeof n === "bigint" ? Number(n) : n;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`expected a count, got ${String(n)}`);
  return value;
}

/** `rowsAffected` from a `db.run` result (a libSQL ResultSet). */
function rowsAffected(result: unknown): number {
  const value =
    typeof result === "object" && result !== null ? (result as Record<string, unknown>)["rowsAffected"] : undefined;
  if (typeof value !== "number") throw new Error(`expected rowsAffected, got ${String(value)}`);
  return value;
}
