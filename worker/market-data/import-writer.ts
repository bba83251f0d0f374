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
//   wins and the row counts as updated. The provider is the source of truth; its row replaces
//   the stored row whole (close, adj_close, volume, source), so a close is never paired with a
//   stale adjusted close.
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
}

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

async function runPlan<TSchema extends Record<string, unknown>, Summary>(db: ImportDatabase<TSchema>, plan: WritePlan<Summary>): Promise<Summary> {
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
  const chunkRows = options.chunkRows ?? 20_000;
  if (rows.length === 0) {
    return { statements: [], summarize: () => ({ rows: 0, inserted: 0, updated: 0, unchanged: 0, symbolsRegistered: 0, symbolsWidened: 0 }) };
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
  const countPrices = db.get(sql`select count(*) as n from market_prices where symbol in (select value from json_each(${symbolsJson}))`);
  const countUniverse = db.get(sql`select count(*) as n from symbol_universe where symbol in (select value from json_each(${symbolsJson}))`);

  const upserts = chunk(rows, chunkRows).map((part) => {
    const payload = JSON.stringify(part.map((row) => [row.symbol, row.date, row.close, row.adjClose, row.volume]));
    return db.run(sql`
      insert into market_prices (symbol, date, close, adj_close, volume, source)
      select j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, ${source}
      from json_each(${payload}) as j where true
      on conflict (symbol, date) do update set
        close = excluded.close, adj_close = excluded.adj_close, volume = excluded.volume, source = excluded.source
      where market_prices.close is not excluded.close or market_prices.adj_close is not excluded.adj_close
         or market_prices.volume is not excluded.volume or market_prices.source is not excluded.source`);
  });
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

  const statements: BatchItem<"sqlite">[] = [countPrices, countUniverse, ...upserts, registerSymbols, countPrices, countUniverse];
  return {
    statements,
    summarize(results) {
      const pricesBefore = countOf(results[0]);
      const universeBefore = countOf(results[1]);
      const upserted = results.slice(2, 2 + upserts.length).reduce<number>((sum, result) => sum + rowsAffected(result), 0);
      const universeChanged = rowsAffected(results[2 + upserts.length]);
      const inserted = countOf(results[3 + upserts.length]) - pricesBefore;
      const symbolsRegistered = countOf(results[4 + upserts.length]) - universeBefore;
      const updated = upserted - inserted;
      return {
        rows: rows.length,
        inserted,
        updated,
        unchanged: rows.length - inserted - updated,
        symbolsRegistered,
        symbolsWidened: universeChanged - symbolsRegistered,
      };
    },
  };
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
    return { statements: [], summarize: () => ({ rows: 0, inserted: 0, updated: 0, unchanged: 0, older: 0, symbolsRegistered: 0 }) };
  }
  // Column names come from the fixed list above, never from the file.
  const columns = fields.map((field) => profileFieldColumns[field]);
  const symbolsJson = JSON.stringify(rows.map((row) => row.symbol));
  const countProfiles = db.get(sql`select count(*) as n from company_profiles where symbol in (select value from json_each(${symbolsJson}))`);
  const countUniverse = db.get(sql`select count(*) as n from symbol_universe where symbol in (select value from json_each(${symbolsJson}))`);
  const asOfJson = JSON.stringify(rows.map((row) => [row.symbol, row.asOf]));
  const countOlder = db.get(sql`
    select count(*) as n from json_each(${asOfJson}) as j
    join company_profiles as c on c.symbol = j.value ->> 0 where c.as_of > j.value ->> 1`);

  const upserts = chunk(rows, options.chunkRows ?? 5_000).map((part) => {
    const payload = JSON.stringify(part.map((row) => [row.symbol, row.asOf, ...fields.map((field) => row.values[field] ?? null)]));
    const insertColumns = sql.raw(["symbol", "as_of", ...columns].join(", "));
    const selected = sql.raw(["symbol", "as_of", ...columns].map((_, index) => `j.value ->> ${index}`).join(", "));
    const assignments = sql.raw(["as_of", ...columns].map((column) => `${column} = excluded.${column}`).join(", "));
    const differs = sql.raw(["as_of", ...columns].map((column) => `company_profiles.${column} is not excluded.${column}`).join(" or "));
    return db.run(sql`
      insert into company_profiles (${insertColumns})
      select ${selected} from json_each(${payload}) as j where true
      on conflict (symbol) do update set ${assignments}
      where excluded.as_of >= company_profiles.as_of and (${differs})`);
  });

  const registerPayload = JSON.stringify(rows.map((row) => [row.symbol, row.asOf, fields.includes("sector") ? (row.values.sector ?? null) : null]));
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
      const upserted = results.slice(3, 3 + upserts.length).reduce<number>((sum, result) => sum + rowsAffected(result), 0);
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
      or exists (select 1 from factor_definitions as f where ${symbol} in (f.input_symbol, f.long_symbol, f.short_symbol))
    then 'etf' else 'equity' end`;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
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
  const value = typeof result === "object" && result !== null ? (result as Record<string, unknown>)["rowsAffected"] : undefined;
  if (typeof value !== "number") throw new Error(`expected rowsAffected, got ${String(value)}`);
  return value;
}
