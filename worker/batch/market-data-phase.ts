// Phase 1 of the daily batch, market data, for one chunk of symbols: fetch the chunk's daily
// closes from the configured provider and store them in `market_prices`.
//
// Decisions:
// - Lookback. The request covers [calculationDate − lookbackDays, calculationDate], 7 calendar
//   days by default, not the date alone. A close the provider published late, or that an
//   earlier run missed (outage, rate limit, a chunk that dead-lettered), is filled in by the
//   next day's run without a backfill; the writes are idempotent upserts, so closes already
//   stored cost nothing but an "unchanged" count. A provider's correction of a recent close
//   replaces the stored row (see import-writer.ts).
// - Computed, skipped, failed, per symbol (`unit: "symbols"`):
//   computed — the provider gave rows including a close ON the calculation date;
//   skipped `no_close_on_date` — the provider gave rows for the window, none on the date: the
//     symbol is halted or delisted, or the date is a holiday. Its earlier closes are still
//     stored. It is "skipped", not "failed": the source answered, the symbol did not trade.
//   failed — the provider could not serve the symbol; the provider's reason (`no_data`,
//     `rate_limited`, `timeout`, …) and detail are recorded as they are (providers redact
//     secrets from details). A failed symbol gets no rows: an outage never becomes a 0 close,
//     and the table's CHECK (close > 0) rejects the whole write if a provider ever sent one.
// - Per-symbol failures never abort the chunk. One unknown ticker or a throttled request says
//   nothing about the other symbols, and failing the message would make the queue re-fetch
//   the symbols that did succeed (spending provider quota) only to hit the same failure again.
//   So they are counted and listed, and the chunk succeeds with what it got. What does throw
//   is what a retry can fix or a person must: the provider throwing (misconfiguration, the
//   signal aborted), a result breaking the provider contract, or the database write failing.
//   The queue then retries the chunk and finally dead-letters it, marking the run partial.
// - Provenance (docs/design.md §4.6). The provider's rows never replace a close of another
//   source (an imported CSV, an upload): such a conflict is kept, counted
//   (`price_conflicts_kept`) and listed with both values (`source_conflict`), unless the run
//   was started with `replace_prices`, which replaces them and counts how many. The synthetic
//   demo market (`onlyOwnInstruments`) is not even asked for a symbol that has any close from
//   another source: skipped `other_source`. The `stored` provider (`fetchesNothing`) fetches
//   nothing; the phase reports from the database which symbols have a close on the date.
// - One transaction. All of the chunk's rows are one `writePrices` call, one `db.batch`: a
//   failure leaves none of them, and a redelivered message writes the same rows again.
//
// Constraint for the orchestrator's chunk size (this module does not choose it): the Workers
// subrequest budget. An HTTP provider such as Stooq makes one request per symbol (up to
// 1 + retries = 3 when a request times out or answers 5xx), and every libSQL round trip (Hrana
// over HTTP: this chunk's write, the ledger updates) is a subrequest too. The limit is per
// invocation — 50 on the Free plan; 1,000 on Paid as long documented (recent revisions of the
// limits page list 10,000) — and one queue consumer invocation handles up to `max_batch_size`
// messages (10 in wrangler.toml), which share it. So the market data chunk size
// (`marketDataChunkSize` in ./config.ts, BATCH_MARKET_DATA_CHUNK_SIZE) must keep
//   max_batch_size × (chunk size × 3 + the chunk's database requests) within the plan's limit:
// with 10 messages per batch, about 30 symbols per chunk for 1,000, about 330 for 10,000. Past it,
// fetch throws: Stooq reports the rest of the chunk as `network_error`, the database write
// fails, and the chunk is retried with the same size until it is dead-lettered. The synthetic
// and CSV providers make no subrequests.
import { and, inArray, lte, max, min, ne } from "drizzle-orm";
import { marketPrices } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { required } from "../required.ts";
import type { Database } from "../db/client.ts";
import { lastWeekday } from "../market-data/demo-market.ts";
import { parseSymbol } from "../market-data/import-fields.ts";
import { writePrices } from "../market-data/import-writer.ts";
import { createMarketDataProvider } from "../market-data/provider.ts";
import type { MarketDataProvider, ProviderFailure, ProviderPrice, ProviderResult } from "../market-data/provider.ts";
import { readSetting } from "../market-data/providers/result.ts";
import { emptyCounts, recordIssue } from "./telemetry.ts";
import type { ChunkOutcome, PhaseCounts, PhaseIssue } from "./telemetry.ts";

/** Calendar days before the calculation date whose closes every run fetches again. */
export const defaultMarketDataLookbackDays = 7;

export interface MarketDataChunk {
  calculationDate: string;
  symbols: readonly string[];
  /** Calendar days before `calculationDate` to fetch too; default 7. */
  lookbackDays?: number;
  /** Replace stored closes of another source that differ (default: keep them and report). */
  replacePrices?: boolean;
}

/** How many conflicts a chunk lists as issues (all are counted). */
const listedConflictsPerChunk = 5;

export async function runMarketDataChunk(
  db: Database,
  provider: MarketDataProvider,
  chunk: MarketDataChunk,
  options: { signal?: AbortSignal } = {},
): Promise<ChunkOutcome> {
  const started = Date.now();
  const lookbackDays = chunk.lookbackDays ?? defaultMarketDataLookbackDays;
  if (!Number.isSafeInteger(lookbackDays) || lookbackDays < 0)
    throw new RangeError(`lookbackDays must be a whole number ≥ 0, got ${lookbackDays}`);
  const { calculationDate } = chunk;
  const symbols = [...new Set(chunk.symbols.map(symbolKey))];
  const counts = emptyCounts("symbols", symbols.length);
  const issues: PhaseIssue[] = [];
  if (symbols.length === 0) return { counts, issues, duration_ms: Date.now() - started };

  if (provider.fetchesNothing) return reportStoredCloses(db, calculationDate, symbols, counts, started);

  let requested = symbols;
  if (provider.onlyOwnInstruments) {
    const others = await symbolsWithOtherSources(db, symbols, provider.name);
    requested = symbols.filter((symbol) => !others.has(symbol));
    for (const [symbol, source] of others) {
      recordIssue(counts, issues, {
        item: symbol,
        kind: "skipped",
        reason: "other_source",
        detail: `${symbol} has closes from ${source}: the ${provider.name} market writes only its own instruments`,
      });
    }
    if (requested.length === 0) return { counts, issues, duration_ms: Date.now() - started };
  }

  const from = addDays(calculationDate, -lookbackDays);
  const result = await provider.fetchDailyCloses(
    { symbols: requested, from, to: calculationDate },
    options.signal ? { signal: options.signal } : {},
  );
  const outcomes = outcomesBySymbol(requested, result, provider.name);
  const written = await writePrices(db, result.prices, {
    source: provider.name,
    otherSources: chunk.replacePrices ? "replace" : "keep",
  });
  counts.price_conflicts_kept = written.conflicts.kept;
  counts.price_conflicts_replaced = written.conflicts.replaced;
  for (const conflict of written.conflicts.examples.slice(0, listedConflictsPerChunk)) {
    // Listed, not counted as skipped items: the symbol's other closes were still written.
    issues.push({
      item: conflict.symbol,
      kind: "skipped",
      reason: chunk.replacePrices ? "source_conflict_replaced" : "source_conflict",
      detail:
        `${conflict.symbol} on ${conflict.date}: stored ${conflict.storedClose} (${conflict.storedSource}), ` +
        `${provider.name} has ${conflict.close}; ${
          chunk.replacePrices ? "replaced (replace_prices)" : `kept the ${conflict.storedSource} close`
        }`,
    });
  }

  for (const symbol of requested) {
    const outcome = required(outcomes.get(symbol), `the market-data outcome of ${symbol}`);
    if (outcome.kind === "failure") {
      recordIssue(counts, issues, {
        item: symbol,
        kind: "failed",
        reason: outcome.failure.reason,
        detail: outcome.failure.detail,
      });
    } else if (outcome.dates.includes(calculationDate)) {
      counts.computed++;
    } else {
      recordIssue(counts, issues, {
        item: symbol,
        kind: "skipped",
        reason: "no_close_on_date",
        detail:
          `${provider.name} has no close for ${symbol} on ${calculationDate}, ` +
          `its last from ${from} is on ${outcome.dates.at(-1)} (halted, delisted or not a trading day)`,
      });
    }
  }
  counts.rows_stored = written.inserted + written.updated;
  counts.rows_unchanged = written.unchanged;
  return { counts, issues, duration_ms: Date.now() - started };
}

/** Symbols of `symbols` with any close from a source other than `source`, with one such source. */
async function symbolsWithOtherSources(
  db: Database,
  symbols: readonly string[],
  source: string,
): Promise<Map<string, string>> {
  const rows = await db
    .select({ symbol: marketPrices.symbol, source: min(marketPrices.source) })
    .from(marketPrices)
    .where(and(inArray(marketPrices.symbol, [...symbols]), ne(marketPrices.source, source)))
    .groupBy(marketPrices.symbol);
  return new Map(rows.map((row) => [row.symbol, row.source ?? "another source"]));
}

/**
 * The `stored` provider's phase: nothing fetched. Each symbol with a stored close on the date
 * is computed; each without one is skipped `no_close_on_date`, with its last close before it.
 */
async function reportStoredCloses(
  db: Database,
  calculationDate: string,
  symbols: readonly string[],
  counts: PhaseCounts,
  started: number,
): Promise<ChunkOutcome> {
  const issues: PhaseIssue[] = [];
  const rows = await db
    .select({ symbol: marketPrices.symbol, last: max(marketPrices.date) })
    .from(marketPrices)
    .where(and(inArray(marketPrices.symbol, [...symbols]), lte(marketPrices.date, calculationDate)))
    .groupBy(marketPrices.symbol);
  const lastClose = new Map(rows.map((row) => [row.symbol, row.last]));
  for (const symbol of symbols) {
    const last = lastClose.get(symbol) ?? null;
    if (last === calculationDate) {
      counts.computed++;
      continue;
    }
    recordIssue(counts, issues, {
      item: symbol,
      kind: "skipped",
      reason: "no_close_on_date",
      detail:
        last === null
          ? `no close of ${symbol} is stored on or before ${calculationDate}`
          : `no stored close of ${symbol} on ${calculationDate}; its last is on ${last}`,
    });
  }
  return { counts, issues, duration_ms: Date.now() - started };
}

type SymbolOutcome = { kind: "rows"; dates: string[] } | { kind: "failure"; failure: ProviderFailure };

/** A symbol as providers key it (trimmed, upper case); an invalid ticker as given. */
function symbolKey(symbol: string): string {
  const parsed = parseSymbol(symbol);
  return parsed.ok ? parsed.value : symbol;
}

/**
 * Each requested symbol's outcome. A result that breaks the provider contract (a symbol with
 * no outcome or two, rows of a symbol not requested) throws before anything is written: counts
 * built from it would not be true.
 */
function outcomesBySymbol(
  symbols: readonly string[],
  result: ProviderResult,
  providerName: string,
): Map<string, SymbolOutcome> {
  const requested = new Set(symbols);
  const outcomes = new Map<string, SymbolOutcome>();
  const broken = (message: string) =>
    new Error(`market data provider "${providerName}" broke its contract: ${message}`);
  const rowsOf = (row: ProviderPrice): string[] => {
    const symbol = symbolKey(row.symbol);
    if (!requested.has(symbol)) throw broken(`it returned rows for ${row.symbol}, which was not requested`);
    let outcome = outcomes.get(symbol);
    if (!outcome) {
      outcome = { kind: "rows", dates: [] };
      outcomes.set(symbol, outcome);
    }
    if (outcome.kind !== "rows") throw broken(`it returned both rows and a failure for ${row.symbol}`);
    return outcome.dates;
  };
  for (const row of result.prices) rowsOf(row).push(row.date);
  for (const failure of result.failures) {
    const symbol = symbolKey(failure.symbol);
    if (!requested.has(symbol)) throw broken(`it reported a failure for ${failure.symbol}, which was not requested`);
    if (outcomes.has(symbol)) throw broken(`it returned more than one outcome for ${failure.symbol}`);
    outcomes.set(symbol, { kind: "failure", failure });
  }
  const missing = symbols.filter((symbol) => !outcomes.has(symbol));
  if (missing.length > 0) throw broken(`it left ${missing.join(", ")} without rows or a failure`);
  for (const outcome of outcomes.values()) if (outcome.kind === "rows") outcome.dates.sort();
  return outcomes;
}

// One provider per configuration and isolate. The synthetic provider generates its market on
// the first call (the demo's 500 equities × one year), which is far too slow to repeat for
// every chunk. A few entries are kept so a long-lived isolate does not keep one market per day.
const providerCache = new Map<string, MarketDataProvider>();
const maxCachedProviders = 4;

/**
 * The configured provider (`MARKET_DATA_PROVIDER`), cached per isolate by its configuration.
 * Throws, like `createMarketDataProvider`, when the name is unknown or a setting is missing.
 */
export function marketDataProviderFor(env: Env): MarketDataProvider {
  const now = new Date();
  const key = providerCacheKey(env, now);
  const cached = providerCache.get(key);
  if (cached) return cached;
  const provider = createMarketDataProvider({ name: env.MARKET_DATA_PROVIDER, env, now: () => now });
  if (providerCache.size >= maxCachedProviders) {
    const oldest = providerCache.keys().next();
    if (!oldest.done) providerCache.delete(oldest.value);
  }
  providerCache.set(key, provider);
  return provider;
}

/**
 * The provider's name plus every setting it can read: by convention a provider's settings are
 * named with its name as prefix (STOOQ_API_KEY, STOOQ_BASE_URL, …, SYNTHETIC_MARKET_END_DATE),
 * so a setting added to a provider is part of the key without a change here. The synthetic
 * market's default end date (the last weekday on or before today) is part of its configuration
 * too: the cached market must roll over with the date.
 */
function providerCacheKey(env: Env, now: Date): string {
  const name = env.MARKET_DATA_PROVIDER.trim().toLowerCase();
  const prefix = `${name.toUpperCase()}_`;
  const settings: [string, string][] = [];
  for (const setting of Object.keys(env).sort()) {
    const value: unknown = Reflect.get(env, setting);
    if (setting.startsWith(prefix) && typeof value === "string") settings.push([setting, value]);
  }
  if (name === "synthetic" && readSetting(env, "SYNTHETIC_MARKET_END_DATE") === undefined)
    settings.push(["(default end date)", lastWeekday(now)]);
  return JSON.stringify([name, settings]);
}
