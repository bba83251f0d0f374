// Market data providers behind one interface, and the registry that picks one by name.
//
// A provider answers "daily closes of these symbols between these dates" with rows and, for
// every symbol it could not serve, a failure with its reason. The contract every provider
// keeps (and `providers/result.ts` enforces):
//   - every requested symbol ends up with rows or with exactly one failure, never silently
//     nothing; a symbol with no row in the range is a `no_data` failure;
//   - a value the source could not give is a failure, never a row with 0 (an outage, a
//     throttled request or a garbled response must not look like a price);
//   - a symbol's rows are all-or-nothing: one bad row in a response rejects the symbol's whole
//     response (an `invalid_row` failure naming the line), like the CSV import rejects a file,
//     because a partial history would pass for missing trading days;
//   - rows are PriceRow-compatible (`line` is where the row was in the provider's response), so
//     `writePrices(db, result.prices, { source: provider.name })` stores them as they are.
// Cancelling through `options.signal` rejects the call with the signal's reason: a cancelled
// fetch has no per-symbol outcome to report.
//
// Precedence (docs/design.md §4.6, "Where prices come from"): a provider never overwrites a close
// that came from another source (the market data phase keeps it and reports the conflict; an
// admin run with `replace_prices` replaces it and counts it). Two providers are special:
//   - `stored` fetches nothing: the batch runs on the closes already in the database (imported
//     CSV files, uploads) and reports each symbol without a close on the date. A CSV file is
//     imported (`npm run import:prices`), not fetched, so there is no `csv` provider.
//   - `synthetic` is the demo's market: it writes only the demo's own instruments, never a
//     symbol whose stored closes come from another source (`onlyOwnInstruments`).
//
// The provider in use is configuration (`MARKET_DATA_PROVIDER`). Adding one (Polygon, Tiingo,
// FMP) is one module under `providers/` exporting a `ProviderFactory`, plus one line in
// `marketDataProviders` below. Everything here runs in the Workers runtime: fetch, URL and
// AbortSignal only, no Node APIs.
import type { PriceRow } from "./price-import.ts";
import { storedProviderFromContext } from "./providers/stored.ts";
import { stooqProviderFromContext } from "./providers/stooq.ts";
import { syntheticProviderFromContext } from "./providers/synthetic.ts";

export interface DailyClosesRequest {
  /** Tickers as the service stores them (upper case, e.g. SPY, BRK.B); duplicates are served once. */
  symbols: readonly string[];
  /** Inclusive YYYY-MM-DD range; `from` after `to` or an impossible date is a programming error (throws). */
  from: string;
  to: string;
}

export interface FetchOptions {
  /** Cancels the whole call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ProviderPrice extends PriceRow {
  /** Stored in market_prices.source: the provider's name. */
  source: string;
}

export type ProviderFailureReason =
  /** The source has no close for the symbol in the range (unknown symbol, or nothing in range). */
  | "no_data"
  /** The source refused because a quota is spent (Stooq's daily hits limit). */
  | "rate_limited"
  /** A body that is neither data nor a known failure text (an HTML page, an unexpected header). */
  | "unexpected_response"
  /** A 2xx response with an empty body. */
  | "empty_response"
  /** No complete response within the configured time, after the allowed retries. */
  | "timeout"
  /** A non-2xx status that is not a known failure body (5xx after the allowed retries). */
  | "http_error"
  /** A row failed the shared field rules (non-positive close, bad date, …); `line` names it. */
  | "invalid_row"
  /** The request never got a response (connection refused, DNS, reset). */
  | "network_error"
  /** The requested symbol is not a valid ticker, so it was not requested at all. */
  | "invalid_symbol";

export const providerFailureReasons: readonly ProviderFailureReason[] = [
  "no_data",
  "rate_limited",
  "unexpected_response",
  "empty_response",
  "timeout",
  "http_error",
  "invalid_row",
  "network_error",
  "invalid_symbol",
];

export interface ProviderFailure {
  symbol: string;
  reason: ProviderFailureReason;
  /** For people and telemetry; never carries a secret (API keys are redacted). */
  detail: string;
  /** `invalid_row`: the first bad line of the response (1-based, the header is line 1). */
  line?: number;
  /** `http_error` (and a rate limit sent with a status): the last HTTP status. */
  status?: number;
  /** HTTP providers: requests made for this symbol (0 when it was skipped without one). */
  attempts?: number;
}

export interface ProviderResult {
  /** Symbols in request order, each symbol's dates ascending. */
  prices: ProviderPrice[];
  /** One per symbol without rows, in request order. */
  failures: ProviderFailure[];
}

export interface MarketDataProvider {
  readonly name: string;
  /**
   * True for `stored`: nothing is fetched and `fetchDailyCloses` is never called; the market
   * data phase reports, from the database, each symbol without a close on the date.
   */
  readonly fetchesNothing?: boolean;
  /**
   * True for the synthetic demo market: the phase never writes a symbol that has a close from
   * any other source (its own market's SPY must not extend a user's imported SPY).
   */
  readonly onlyOwnInstruments?: boolean;
  fetchDailyCloses(request: DailyClosesRequest, options?: FetchOptions): Promise<ProviderResult>;
}

/** What a provider factory may read: configuration by name, and the runtime's fetch. */
export interface ProviderContext {
  /** Vars and secrets by name: the Worker's `env`, or `process.env` in scripts. */
  env?: object;
  /** Defaults to the global fetch; tests and scripts may pass their own. */
  fetch?: typeof fetch;
  /** Today, for providers whose defaults depend on it (the synthetic market's window). */
  now?: () => Date;
}

export type ProviderFactory = (context: ProviderContext) => MarketDataProvider;

/** Every provider by its configuration name. Adding a provider is one line here. */
export const marketDataProviders = {
  stored: storedProviderFromContext,
  synthetic: syntheticProviderFromContext,
  stooq: stooqProviderFromContext,
} as const satisfies Record<string, ProviderFactory>;

export type MarketDataProviderName = keyof typeof marketDataProviders;

export const marketDataProviderNames = Object.keys(marketDataProviders) as MarketDataProviderName[];

export function isMarketDataProviderName(name: string): name is MarketDataProviderName {
  return Object.hasOwn(marketDataProviders, name);
}

export interface MarketDataProviderConfig extends ProviderContext {
  /** A key of `marketDataProviders`, e.g. the `MARKET_DATA_PROVIDER` var. */
  name: string;
}

/**
 * The provider called `config.name`, configured from `config.env`. An unknown name or a missing
 * setting (e.g. no STOOQ_API_KEY for `stooq`) throws an Error saying what is wrong, so a
 * misconfigured deployment fails at the start of the phase instead of recording a failure per
 * symbol.
 */
export function createMarketDataProvider(config: MarketDataProviderConfig): MarketDataProvider {
  const name = config.name.trim().toLowerCase();
  if (!isMarketDataProviderName(name)) {
    throw new Error(
      `unknown market data provider "${config.name}"; known providers: ${marketDataProviderNames.join(", ")}`,
    );
  }
  return marketDataProviders[name](config);
}
