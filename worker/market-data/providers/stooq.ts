// Stooq's daily CSV download as a market data provider.
//
// Stooq publishes no formal API reference. What this module relies on, and how sure it is:
//
// Known (the download link on Stooq's quote pages, and what its long-standing clients such as
// pandas-datareader's StooqDailyReader send and parse):
//   - GET https://stooq.com/q/d/l/?s=<ticker>&i=d&d1=YYYYMMDD&d2=YYYYMMDD — `i=d` daily bars,
//     `d1`/`d2` the first and last date. Tickers are lower case with a market suffix: `aapl.us`
//     for US stocks and ETFs (`spy.us`), `tsco.uk`, `sap.de`, `7203.jp`; indexes have a `^` and
//     no suffix (`^spx`).
//   - The body is CSV with the header `Date,Open,High,Low,Close,Volume`, dates YYYY-MM-DD,
//     oldest first. Instruments without volume (indexes, currencies) have no Volume column.
//   - An unknown ticker, or no bar in the range, answers with the plain text `No data`.
//   - A client over its daily quota gets the plain text `Exceeded the daily hits limit`.
//   - Since early 2026 the download needs an API key (`apikey` query parameter; keys are
//     requested at https://stooq.com/q/d/?s=spy.us&get_apikey). Without one Stooq answers with
//     an HTML page explaining how to get a key, and some non-browser clients have been served
//     an HTML browser-check page instead of CSV (pandas-datareader issue #1012 and reports in
//     other clients' trackers).
//
// Assumed (not documented anywhere we could find; where the code can, it is built so that being
// wrong shows up as a recorded failure or a missing value, not a made-up one):
//   - The failure texts come with HTTP 200, so the body is classified before the status; a
//     known failure text is honoured whatever the status.
//   - `d1`/`d2` are inclusive. Rows outside the requested range are dropped here anyway.
//   - The one Close column is what Stooq shows on its charts, adjusted for splits (and, as far as
//     we know, for dividends); since that is not stated, `adjClose` is null rather than a guess.
//     If it were unadjusted, returns across a split would be wrong: check before relying on it.
//   - US share classes use a hyphen (`brk-b.us` for BRK.B). Any other mapping is configured per
//     symbol (`symbolMap`, setting STOOQ_SYMBOL_MAP).
//   - Volume is a whole number for US listings (the import's rule); a fractional volume fails
//     the symbol's response as `invalid_row` instead of being rounded silently.
//   - The daily limit is per key (or per client address) for the rest of the day, so once it is
//     reported, requesting the remaining symbols only spends hits that fail the same way. An
//     HTTP 429 (not known from Stooq, but the standard "too many requests") is treated alike.
//
// Behaviour: at most `concurrency` requests in flight; each attempt has its own timeout
// (`AbortSignal.timeout`, covering the body too); timeouts and 5xx are retried with exponential
// backoff, nothing else is (`No data` and the daily limit will not change within seconds, and a
// 4xx other than 429 is the request's fault). After `outageThreshold` symbols in a row fail with a timeout, a
// network error or a 5xx, Stooq is treated as down and the rest fail with the same reason
// without requests, so an outage costs minutes, not hours. The API key is sent only as the
// query parameter and is redacted from every failure detail.
import { required } from "../../required.ts";
import { parseIsoDate, parseOptionalCount, parseRequiredPositive, readTable } from "../import-fields.ts";
import type { CellResult } from "../import-fields.ts";
import type {
  DailyClosesRequest,
  FetchOptions,
  MarketDataProvider,
  ProviderContext,
  ProviderFailure,
  ProviderPrice,
  ProviderResult,
} from "../provider.ts";
import { checkRange, readPositiveInteger, readSetting, ResultCollector } from "./result.ts";

export const stooqSource = "stooq";

export interface StooqProviderOptions {
  /** Sent as the `apikey` query parameter; from the STOOQ_API_KEY secret. */
  apiKey: string;
  /** Default https://stooq.com; tests point it at a local stand-in. A path prefix is kept. */
  baseUrl?: string;
  /** Per attempt, headers and body together; default 10,000 ms. */
  timeoutMs?: number;
  /** Requests in flight at most; default 4. */
  concurrency?: number;
  /** Further attempts after a timeout or a 5xx; default 2. */
  retries?: number;
  /** Wait before the first retry, doubled for each further one; default 500 ms. */
  retryDelayMs?: number;
  /** Symbols failing in a row (timeout, network error, 5xx) before the rest are not requested; default 8. */
  outageThreshold?: number;
  /** Suffix for symbols without a mapping; default "us" (US stocks and ETFs). */
  market?: string;
  /** Stooq tickers for symbols the default rule gets wrong, e.g. { "BRK.B": "brk-b.us" }. */
  symbolMap?: Readonly<Record<string, string>>;
  fetch?: typeof fetch;
}

export const stooqDefaults = {
  baseUrl: "https://stooq.com",
  timeoutMs: 10_000,
  concurrency: 4,
  retries: 2,
  retryDelayMs: 500,
  outageThreshold: 8,
  market: "us",
} as const;

/**
 * Stooq's ticker for one of our symbols: the configured mapping if any; an index (`^SPX`) lower
 * case as it is; otherwise lower case, share-class dot as hyphen, plus the market suffix.
 */
export function stooqTicker(symbol: string, options: Pick<StooqProviderOptions, "market" | "symbolMap"> = {}): string {
  const mapped = options.symbolMap?.[symbol];
  if (mapped !== undefined) return mapped.toLowerCase();
  if (symbol.startsWith("^")) return symbol.toLowerCase();
  return `${symbol.toLowerCase().replaceAll(".", "-")}.${(options.market ?? stooqDefaults.market).toLowerCase()}`;
}

/** The columns Stooq's daily CSV may have (OpenInt for futures); only Date and Close are used. */
const stooqColumns = ["date", "open", "high", "low", "close", "volume", "openint"] as const;

const dailyLimitText = /exceeded the daily hits limit/i;
const noDataText = /^no data$/i;
const htmlStart = /^(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])/i;

type Attempt =
  | { kind: "rows"; rows: ProviderPrice[]; emptyDetail: string }
  | { kind: "failure"; failure: Omit<ProviderFailure, "symbol" | "attempts">; retryable: boolean; transport: boolean };

export function createStooqProvider(options: StooqProviderOptions): MarketDataProvider {
  if (options.apiKey.trim() === "") throw new Error("Stooq needs an API key (STOOQ_API_KEY)");
  const apiKey = options.apiKey;
  const baseUrl = (options.baseUrl ?? stooqDefaults.baseUrl).replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? stooqDefaults.timeoutMs;
  const concurrency = Math.max(1, options.concurrency ?? stooqDefaults.concurrency);
  const retries = Math.max(0, options.retries ?? stooqDefaults.retries);
  const retryDelayMs = options.retryDelayMs ?? stooqDefaults.retryDelayMs;
  const outageThreshold = Math.max(1, options.outageThreshold ?? stooqDefaults.outageThreshold);
  // Called as a plain function: workerd refuses a fetch invoked as a method of another object.
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));

  const redact = (text: string): string => text.replaceAll(apiKey, "***").replaceAll(encodeURIComponent(apiKey), "***");

  const urlFor = (ticker: string, from: string, to: string, key: string): string => {
    const url = new URL(`${baseUrl}/q/d/l/`);
    url.searchParams.set("s", ticker);
    url.searchParams.set("i", "d");
    url.searchParams.set("d1", from.replaceAll("-", ""));
    url.searchParams.set("d2", to.replaceAll("-", ""));
    url.searchParams.set("apikey", key);
    return url.toString();
  };

  /** One request: its outcome, or a throw when the caller cancelled. */
  const attempt = async (
    symbol: string,
    ticker: string,
    from: string,
    to: string,
    outer: AbortSignal | undefined,
  ): Promise<Attempt> => {
    const shownUrl = urlFor(ticker, from, to, "***");
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = outer ? AbortSignal.any([timeout, outer]) : timeout;
    let status: number;
    let body: string;
    try {
      const response = await fetchImpl(urlFor(ticker, from, to, apiKey), {
        signal,
        headers: { accept: "text/csv, text/plain;q=0.9" },
      });
      status = response.status;
      body = await readBody(response, signal);
    } catch (error) {
      if (outer?.aborted) throw outer.reason;
      if (timeout.aborted) {
        return {
          kind: "failure",
          failure: { reason: "timeout", detail: `no complete response within ${timeoutMs} ms: GET ${shownUrl}` },
          retryable: true,
          transport: true,
        };
      }
      return {
        kind: "failure",
        failure: { reason: "network_error", detail: redact(`${describeFetchError(error)}: GET ${shownUrl}`) },
        retryable: false,
        transport: true,
      };
    }
    return classify(symbol, ticker, status, body, from, to, shownUrl);
  };

  const classify = (
    symbol: string,
    ticker: string,
    status: number,
    raw: string,
    from: string,
    to: string,
    shownUrl: string,
  ): Attempt => {
    const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    const trimmed = text.trim();
    const statusNote = status >= 200 && status < 300 ? "" : ` (HTTP ${status})`;
    const withStatus = status >= 200 && status < 300 ? {} : { status };
    const fail = (
      failure: Omit<ProviderFailure, "symbol" | "attempts">,
      retryable = false,
      transport = false,
    ): Attempt => ({
      kind: "failure",
      failure: { ...failure, detail: redact(failure.detail) },
      retryable,
      transport,
    });

    // Known failure texts first: they mean the same whatever status they come with.
    if (dailyLimitText.test(trimmed)) {
      return fail({ reason: "rate_limited", detail: `Stooq: "${snippet(trimmed)}"${statusNote}`, ...withStatus });
    }
    if (noDataText.test(trimmed))
      return fail({
        reason: "no_data",
        detail: `Stooq has no data for ${symbol} (${ticker}) from ${from} to ${to}${statusNote}`,
        ...withStatus,
      });
    if (status === 429) {
      return fail({
        reason: "rate_limited",
        detail: `HTTP 429 from GET ${shownUrl}${trimmed === "" ? "" : `: ${snippet(stripTags(trimmed))}`}`,
        status,
      });
    }
    if (status < 200 || status > 299) {
      return fail(
        {
          reason: "http_error",
          detail: `HTTP ${status} from GET ${shownUrl}${trimmed === "" ? "" : `: ${snippet(stripTags(trimmed))}`}`,
          status,
        },
        status >= 500,
        status >= 500,
      );
    }
    if (trimmed === "") return fail({ reason: "empty_response", detail: `an empty body from GET ${shownUrl}` });
    if (htmlStart.test(trimmed) || /<html[\s>]/i.test(trimmed.slice(0, 2000))) {
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
      return fail({
        reason: "unexpected_response",
        detail:
          `an HTML page instead of CSV${title ? ` ("${snippet(title)}")` : ""}; ` +
          "Stooq sends one when the API key is missing or not accepted, or a browser check",
      });
    }
    return parseCsvBody(symbol, text, from, to, fail);
  };

  const parseCsvBody = (
    symbol: string,
    text: string,
    from: string,
    to: string,
    fail: (failure: Omit<ProviderFailure, "symbol" | "attempts">) => Attempt,
  ): Attempt => {
    // The header decides whether this is Stooq's CSV at all; a wrong one is a response we do not
    // understand, not a bad row.
    const firstLine = text.split(/\r\n|\n|\r/).find((line) => line.trim() !== "") ?? "";
    const header = firstLine.split(",").map((name) => name.trim().toLowerCase());
    const known = new Set<string>(stooqColumns);
    if (!header.includes("date") || !header.includes("close") || header.some((name) => !known.has(name))) {
      return fail({
        reason: "unexpected_response",
        detail: `not Stooq's daily CSV (expected a header Date,Open,High,Low,Close[,Volume]): "${snippet(firstLine)}"`,
      });
    }
    const table = readTable(text, { columns: stooqColumns, required: ["date", "close"] });
    const problems = table.errors.map((error) => ({ line: error.line, text: error.reason }));
    const byDate = new Map<string, ProviderPrice>();
    for (const row of table.rows) {
      const cellProblems: string[] = [];
      const take = <T>(result: CellResult<T>): T | undefined => {
        if (result.ok) return result.value;
        cellProblems.push(result.reason);
        return undefined;
      };
      // The shared rules of the CSV import: a real date, a finite close > 0 (never 0), a whole volume.
      const date = take(parseIsoDate(row.cells.date ?? "", "date"));
      const close = take(parseRequiredPositive(row.cells.close ?? "", "close"));
      const volume = take(parseOptionalCount(row.cells.volume ?? "", "volume"));
      if (date === undefined || close === undefined || volume === undefined) {
        problems.push({ line: row.line, text: cellProblems.join("; ") });
        continue;
      }
      const earlier = byDate.get(date);
      if (earlier) {
        if (earlier.close !== close || earlier.volume !== volume) {
          problems.push({ line: row.line, text: `${date} is already on line ${earlier.line} with different values` });
        }
        continue;
      }
      byDate.set(date, { symbol, date, close, adjClose: null, volume, source: stooqSource, line: row.line });
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.line - b.line);
      const first = required(problems[0], "the first problem");
      const more =
        problems.length > 1 ? ` (and ${problems.length - 1} more bad line${problems.length > 2 ? "s" : ""})` : "";
      return fail({
        reason: "invalid_row",
        detail: `line ${first.line}: ${first.text}${more}; the response is rejected whole`,
        line: first.line,
      });
    }
    const rows = [...byDate.values()]
      .filter((row) => row.date >= from && row.date <= to)
      .sort((a, b) => (a.date < b.date ? -1 : 1));
    return { kind: "rows", rows, emptyDetail: `Stooq's CSV for ${symbol} has no row from ${from} to ${to}` };
  };

  return {
    name: stooqSource,
    async fetchDailyCloses(request: DailyClosesRequest, fetchOptions: FetchOptions = {}): Promise<ProviderResult> {
      const outer = fetchOptions.signal;
      outer?.throwIfAborted();
      const { from, to } = checkRange(request);
      const collector = new ResultCollector(request.symbols);
      const queue = collector.symbols;
      // Why the remaining symbols are not requested: the daily limit, or an outage.
      let stop: Omit<ProviderFailure, "symbol" | "attempts"> | null = null;
      let failuresInARow = 0;

      const serve = async (symbol: string): Promise<void> => {
        const ticker = stooqTicker(symbol, options);
        let attempts = 0;
        for (;;) {
          if (stop) {
            collector.fail({ symbol, ...stop, attempts });
            return;
          }
          attempts++;
          const outcome = await attempt(symbol, ticker, from, to, outer);
          if (outcome.kind === "rows") {
            failuresInARow = 0;
            collector.succeed(symbol, outcome.rows, outcome.emptyDetail);
            return;
          }
          const { failure, retryable, transport } = outcome;
          if (retryable && attempts <= retries && !stop) {
            await delay(retryDelayMs * 2 ** (attempts - 1), outer);
            continue;
          }
          collector.fail({ symbol, ...failure, attempts });
          if (failure.reason === "rate_limited") {
            // The quota is spent: every further request would fail the same way and burn hits,
            // so the symbols not yet requested fail as rate_limited without a request.
            stop ??= {
              reason: "rate_limited",
              detail: `not requested: Stooq refused ${symbol} for its rate limit earlier in this run`,
            };
          } else if (transport) {
            failuresInARow++;
            if (failuresInARow >= outageThreshold) {
              stop ??= {
                reason: failure.reason,
                detail:
                  `not requested: ${failuresInARow} symbols in a row failed (last: ${failure.reason}), ` +
                  "so Stooq is treated as down for the rest of this run",
              };
            }
          } else {
            failuresInARow = 0;
          }
          return;
        }
      };

      let next = 0;
      const worker = async () => {
        for (let symbol = queue[next++]; symbol !== undefined; symbol = queue[next++]) await serve(symbol);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      return collector.finish();
    },
  };
}

/**
 * From configuration: STOOQ_API_KEY (secret, required), STOOQ_BASE_URL, STOOQ_TIMEOUT_MS,
 * STOOQ_CONCURRENCY, STOOQ_MARKET and STOOQ_SYMBOL_MAP ("BRK.B=brk-b.us,RDS.A=shel.uk").
 */
export function stooqProviderFromContext(context: ProviderContext): MarketDataProvider {
  const { env } = context;
  const apiKey = readSetting(env, "STOOQ_API_KEY");
  if (apiKey === undefined)
    throw new Error('market data provider "stooq" needs the STOOQ_API_KEY secret (wrangler secret put STOOQ_API_KEY)');
  const baseUrl = readSetting(env, "STOOQ_BASE_URL");
  if (baseUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(baseUrl).protocol;
    } catch {
      // Reported below with the value.
    }
    if (protocol !== "https:" && protocol !== "http:")
      throw new Error(`setting STOOQ_BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  }
  const market = readSetting(env, "STOOQ_MARKET");
  if (market !== undefined && !/^[a-z]{2,4}$/i.test(market))
    throw new Error(`setting STOOQ_MARKET must be a market suffix such as "us", got "${market}"`);
  const mapSetting = readSetting(env, "STOOQ_SYMBOL_MAP");
  return createStooqProvider({
    apiKey,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    timeoutMs: readPositiveInteger(env, "STOOQ_TIMEOUT_MS", stooqDefaults.timeoutMs),
    concurrency: readPositiveInteger(env, "STOOQ_CONCURRENCY", stooqDefaults.concurrency),
    ...(market === undefined ? {} : { market }),
    ...(mapSetting === undefined ? {} : { symbolMap: parseSymbolMap(mapSetting) }),
    ...(context.fetch === undefined ? {} : { fetch: context.fetch }),
  });
}

/** "BRK.B=brk-b.us, ^GSPC=^spx" → { "BRK.B": "brk-b.us", "^GSPC": "^spx" }. */
export function parseSymbolMap(setting: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of setting.split(",")) {
    if (entry.trim() === "") continue;
    const match = /^\s*([^=\s]+)\s*=\s*([^=\s]+)\s*$/.exec(entry);
    if (!match) throw new Error(`setting STOOQ_SYMBOL_MAP: "${entry.trim()}" is not SYMBOL=stooq-ticker`);
    const [, symbol = "", ticker = ""] = match;
    map[symbol.toUpperCase()] = ticker.toLowerCase();
  }
  return map;
}

/** The body, or a rejection as soon as `signal` aborts (a body that never ends must time out too). */
async function readBody(response: Response, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      // Release the connection; the stream may already be errored by fetch itself.
      response.body?.cancel().catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([response.text(), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Waits `ms`, or rejects with the caller's reason when it cancels. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** "TypeError: fetch failed (ECONNREFUSED)": the error and the first cause's code or message. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  let note = "";
  if (cause instanceof Error) {
    const code: unknown = Reflect.get(cause, "code");
    note = ` (${typeof code === "string" ? code : cause.message})`;
  }
  return `${error.name}: ${error.message}${note}`;
}

function stripTags(text: string): string {
  return text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function snippet(text: string, max = 120): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
