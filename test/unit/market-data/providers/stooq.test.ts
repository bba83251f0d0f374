import { afterEach, describe, expect, it } from "vitest";
import type { ProviderFailure, ProviderResult } from "../../../../worker/market-data/provider.ts";
import { createStooqProvider, parseSymbolMap, stooqTicker } from "../../../../worker/market-data/providers/stooq.ts";
import type { StooqProviderOptions } from "../../../../worker/market-data/providers/stooq.ts";
import {
  closedPortUrl,
  csvHeader,
  dailyLimit,
  htmlPage,
  noData,
  standInKey,
  startStandIn,
  stooqCsv,
} from "./stooq-stand-in.ts";
import type { Script, StandIn } from "./stooq-stand-in.ts";

const aaplLines = [
  "2024-12-31,252.44,253.28,249.43,250.42,39480718",
  "2025-01-02,248.93,249.1,241.82,243.85,55740731",
  "2025-01-03,243.36,244.18,241.89,243.36,40244114",
  "2025-01-06,244.31,247.33,243.2,245,45045571",
  "2025-01-07,242.98,245.55,241.35,242.21,40855960",
];

let standIn: StandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function serve(scripts: Record<string, Script>) {
  standIn = await startStandIn(scripts);
  return standIn;
}

function provider(server: { baseUrl: string }, options: Partial<StooqProviderOptions> = {}) {
  return createStooqProvider({
    apiKey: standInKey,
    baseUrl: server.baseUrl,
    timeoutMs: 200,
    retryDelayMs: 10,
    ...options,
  });
}

const range = { from: "2025-01-02", to: "2025-01-06" };

function failureOf(result: ProviderResult, symbol: string): ProviderFailure {
  const found = result.failures.find((failure) => failure.symbol === symbol);
  if (!found) throw new Error(`no failure for ${symbol}: ${JSON.stringify(result.failures)}`);
  return found;
}

describe("Stooq provider against a local stand-in", () => {
  it("requests Stooq's documented URL with the key as a query parameter and parses the CSV exactly", async () => {
    const server = await serve({ "aapl.us": stooqCsv(aaplLines) });
    const result = await provider(server).fetchDailyCloses({ symbols: ["AAPL"], ...range });

    expect(server.requests).toEqual([
      {
        ticker: "aapl.us",
        path: "/q/d/l/",
        params: { s: "aapl.us", i: "d", d1: "20250102", d2: "20250106", apikey: standInKey },
      },
    ]);
    expect(result).toEqual({
      failures: [],
      prices: [
        {
          symbol: "AAPL",
          date: "2025-01-02",
          close: 243.85,
          adjClose: null,
          volume: 55740731,
          source: "stooq",
          line: 2,
        },
        {
          symbol: "AAPL",
          date: "2025-01-03",
          close: 243.36,
          adjClose: null,
          volume: 40244114,
          source: "stooq",
          line: 3,
        },
        { symbol: "AAPL", date: "2025-01-06", close: 245, adjClose: null, volume: 45045571, source: "stooq", line: 4 },
      ],
    });
  });

  it("keeps only the requested range even when more rows are sent, and reads CSV without a Volume column", async () => {
    const everything: Script = () => ({ body: [csvHeader, ...aaplLines].join("\n") });
    const index: Script = () => ({ body: "Date,Open,High,Low,Close\n2025-01-02,5903.26,5935.09,5829.53,5868.55\n" });
    const server = await serve({ "aapl.us": everything, "^spx": index });
    const result = await provider(server).fetchDailyCloses({ symbols: ["AAPL", "^SPX"], ...range });
    expect(result.failures).toEqual([]);
    expect(result.prices.map((p) => `${p.symbol} ${p.date}`)).toEqual([
      "AAPL 2025-01-02",
      "AAPL 2025-01-03",
      "AAPL 2025-01-06",
      "^SPX 2025-01-02",
    ]);
    expect(result.prices.at(-1)).toMatchObject({ close: 5868.55, volume: null });
  });

  it("records each documented failure per symbol with its reason, retrying only timeouts and 5xx", async () => {
    const server = await serve({
      "aapl.us": stooqCsv(aaplLines),
      "nodata.us": noData,
      "nodata2.us": () => ({ body: "No data\r\n" }),
      "html.us": htmlPage,
      "empty.us": () => ({ body: "" }),
      "hang.us": () => ({ hang: "headers" }),
      "slowbody.us": () => ({ hang: "body", partial: `${csvHeader}\r\n2025-01-02,1,1,1,` }),
      "flaky.us": (request, attempt) =>
        attempt === 1 ? { status: 503, body: "Service Unavailable" } : stooqCsv(aaplLines)(request, attempt),
      "badrow.us": () => ({
        body:
          `${csvHeader}\r\n2025-01-02,1,1,1,10,100\r\n2025-01-03,1,1,1,11,100\r\n` +
          "2025-01-06,1,1,1,0,100\r\n2025-01-07,1,1,1,abc,100\r\n",
      }),
      "garbage.us": () => ({ body: "Error: unknown parameter\n" }),
      "gone.us": () => ({ status: 404, body: "Not Found" }),
      "broken.us": () => ({ status: 500, body: "<html><body>Internal error</body></html>" }),
    });
    const symbols = [
      "AAPL",
      "NODATA",
      "NODATA2",
      "HTML",
      "EMPTY",
      "HANG",
      "SLOWBODY",
      "FLAKY",
      "BADROW",
      "GARBAGE",
      "GONE",
      "BROKEN",
    ];
    const result = await provider(server, { retries: 2 }).fetchDailyCloses({ symbols, ...range });

    const reasons = Object.fromEntries(result.failures.map((failure) => [failure.symbol, failure.reason]));
    expect(reasons).toEqual({
      NODATA: "no_data",
      NODATA2: "no_data",
      HTML: "unexpected_response",
      EMPTY: "empty_response",
      HANG: "timeout",
      SLOWBODY: "timeout",
      BADROW: "invalid_row",
      GARBAGE: "unexpected_response",
      GONE: "http_error",
      BROKEN: "http_error",
    });
    // Rows only for the symbols that answered with good CSV; the bad-row file is rejected whole.
    expect([...new Set(result.prices.map((p) => p.symbol))]).toEqual(["AAPL", "FLAKY"]);
    expect(result.prices.every((p) => Number.isFinite(p.close) && p.close > 0)).toBe(true);
    expect(failureOf(result, "BADROW")).toMatchObject({ line: 4, attempts: 1 });
    expect(failureOf(result, "BADROW").detail).toContain("close 0 is not positive");
    expect(failureOf(result, "BADROW").detail).toContain("and 1 more");
    expect(failureOf(result, "GONE")).toMatchObject({ status: 404, attempts: 1 });
    expect(failureOf(result, "BROKEN")).toMatchObject({ status: 500, attempts: 3 });
    expect(failureOf(result, "HANG")).toMatchObject({ attempts: 3 });
    expect(failureOf(result, "HTML").detail).toContain("Stooq - Error");

    // What went over the wire: one request each, three for timeouts and 5xx, two for the 503.
    const counts = Object.fromEntries(symbols.map((s) => [s, server.countFor(`${s.toLowerCase()}.us`)]));
    expect(counts).toEqual({
      AAPL: 1,
      NODATA: 1,
      NODATA2: 1,
      HTML: 1,
      EMPTY: 1,
      HANG: 3,
      SLOWBODY: 3,
      FLAKY: 2,
      BADROW: 1,
      GARBAGE: 1,
      GONE: 1,
      BROKEN: 3,
    });
  });

  it("stops at the daily hits limit: the symbols after it fail as rate_limited without a request", async () => {
    const server = await serve({
      "aapl.us": stooqCsv(aaplLines),
      "limit.us": dailyLimit,
      "msft.us": stooqCsv(aaplLines),
      "spy.us": stooqCsv(aaplLines),
    });
    const result = await provider(server, { concurrency: 1 }).fetchDailyCloses({
      symbols: ["AAPL", "LIMIT", "MSFT", "SPY"],
      ...range,
    });

    expect(server.requests.map((r) => r.ticker)).toEqual(["aapl.us", "limit.us"]);
    expect(result.prices.map((p) => p.symbol)).toEqual(["AAPL", "AAPL", "AAPL"]);
    expect(result.failures.map((f) => [f.symbol, f.reason, f.attempts])).toEqual([
      ["LIMIT", "rate_limited", 1],
      ["MSFT", "rate_limited", 0],
      ["SPY", "rate_limited", 0],
    ]);
    expect(failureOf(result, "MSFT").detail).toMatch(/not requested/);
  });

  it("treats an HTTP 429 like the daily limit: rate_limited, not retried, the rest not requested", async () => {
    const server = await serve({
      "busy.us": () => ({ status: 429, body: "Too Many Requests" }),
      "msft.us": stooqCsv(aaplLines),
    });
    const result = await provider(server, { concurrency: 1 }).fetchDailyCloses({ symbols: ["BUSY", "MSFT"], ...range });
    expect(server.requests.map((r) => r.ticker)).toEqual(["busy.us"]);
    expect(result.failures.map((f) => [f.symbol, f.reason, f.attempts, f.status])).toEqual([
      ["BUSY", "rate_limited", 1, 429],
      ["MSFT", "rate_limited", 0, undefined],
    ]);
  });

  it("keeps at most `concurrency` requests in flight", async () => {
    const slow: Script = (request, attempt) => ({
      ...(stooqCsv(aaplLines)(request, attempt) as { body: string }),
      delayMs: 40,
    });
    const symbols = Array.from({ length: 10 }, (_, i) => `S${i}`);
    const server = await serve(Object.fromEntries(symbols.map((s) => [`${s.toLowerCase()}.us`, slow])));
    const result = await provider(server, { concurrency: 3 }).fetchDailyCloses({ symbols, ...range });

    expect(result.failures).toEqual([]);
    expect(server.requests).toHaveLength(10);
    expect(server.maxInFlight()).toBe(3);
  });

  it("never returns the API key: not in details of any failure, even when a page echoes it", async () => {
    const echo: Script = (request) => ({
      status: 502,
      body: `bad gateway for ${JSON.stringify(request.params)} key=${standInKey}`,
    });
    const server = await serve({ "echo.us": echo, "html.us": htmlPage, "hang.us": () => ({ hang: "headers" }) });
    const result = await provider(server, { retries: 0 }).fetchDailyCloses({
      symbols: ["ECHO", "HTML", "HANG"],
      ...range,
    });

    expect(server.requests.every((r) => r.params["apikey"] === standInKey)).toBe(true);
    expect(result.failures.map((f) => f.reason)).toEqual(["http_error", "unexpected_response", "timeout"]);
    const text = JSON.stringify(result);
    expect(text).not.toContain(standInKey);
    expect(text).not.toContain(encodeURIComponent(standInKey));
    expect(text).toContain("apikey=***");
  });

  it("reports a wrong key's HTML page as unexpected_response, and refuses to start without a key", async () => {
    const server = await serve({ "aapl.us": stooqCsv(aaplLines) });
    const result = await provider(server, { apiKey: "wrong" }).fetchDailyCloses({ symbols: ["AAPL"], ...range });
    expect(result.prices).toEqual([]);
    expect(result.failures).toMatchObject([{ symbol: "AAPL", reason: "unexpected_response" }]);
    expect(result.failures[0]?.detail).toContain("get your apikey");
    expect(result.failures[0]?.detail).not.toContain("wrong");
    expect(() => createStooqProvider({ apiKey: " " })).toThrow(/STOOQ_API_KEY/);
  });

  it("turns an outage into network_error failures for every symbol and no rows", async () => {
    const baseUrl = await closedPortUrl();
    const symbols = ["AAPL", "MSFT", "SPY", "QQQ", "TLT"];
    const result = await provider({ baseUrl }).fetchDailyCloses({ symbols, ...range });
    expect(result.prices).toEqual([]);
    expect(result.failures.map((f) => [f.symbol, f.reason])).toEqual(symbols.map((s) => [s, "network_error"]));
    expect(result.failures.every((f) => f.attempts === 1)).toBe(true);
  });

  it("treats Stooq as down after failures in a row and fails the rest without requests", async () => {
    const unavailable: Script = () => ({ status: 503, body: "Service Unavailable" });
    const symbols = Array.from({ length: 12 }, (_, i) => `D${i}`);
    const server = await serve(Object.fromEntries(symbols.map((s) => [`${s.toLowerCase()}.us`, unavailable])));
    const result = await provider(server, { concurrency: 2, retries: 1, outageThreshold: 3 }).fetchDailyCloses({
      symbols,
      ...range,
    });

    expect(result.prices).toEqual([]);
    expect(result.failures).toHaveLength(12);
    expect(result.failures.every((f) => f.reason === "http_error")).toBe(true);
    // Three failures in a row trip it; the second worker may have one symbol in flight then.
    const requested = new Set(server.requests.map((r) => r.ticker));
    expect(requested.size).toBeGreaterThanOrEqual(3);
    expect(requested.size).toBeLessThanOrEqual(4);
    const skipped = result.failures.filter((f) => f.attempts === 0);
    expect(skipped).toHaveLength(12 - requested.size);
    expect(skipped.every((f) => /treated as down/.test(f.detail))).toBe(true);
  });

  it("rejects a response with a repeated date that disagrees, and keeps an identical repeat once", async () => {
    const server = await serve({
      "same.us": () => ({ body: `${csvHeader}\n2025-01-02,1,1,1,10,5\n2025-01-02,1,1,1,10,5\n` }),
      "diff.us": () => ({ body: `${csvHeader}\n2025-01-02,1,1,1,10,5\n2025-01-02,1,1,1,11,5\n` }),
    });
    const result = await provider(server).fetchDailyCloses({ symbols: ["SAME", "DIFF"], ...range });
    expect(result.prices).toMatchObject([{ symbol: "SAME", date: "2025-01-02", close: 10 }]);
    expect(result.failures).toMatchObject([{ symbol: "DIFF", reason: "invalid_row", line: 3 }]);
  });

  it("fails invalid tickers without a request and serves each distinct symbol once", async () => {
    const server = await serve({ "aapl.us": stooqCsv(aaplLines) });
    const result = await provider(server).fetchDailyCloses({ symbols: ["aapl", "AAPL", "not a ticker!"], ...range });
    expect(server.requests).toHaveLength(1);
    expect(result.prices).toHaveLength(3);
    expect(result.failures).toMatchObject([{ symbol: "not a ticker!", reason: "invalid_symbol" }]);
  });

  it("rejects when the caller cancels, and on a bad range before any request", async () => {
    const server = await serve({ "hang.us": () => ({ hang: "headers" }) });
    const controller = new AbortController();
    const pending = provider(server, { timeoutMs: 5_000 }).fetchDailyCloses(
      { symbols: ["HANG"], ...range },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error("batch cancelled")), 50);
    await expect(pending).rejects.toThrow("batch cancelled");
    await expect(
      provider(server).fetchDailyCloses({ symbols: ["HANG"], from: "2025-01-06", to: "2025-01-02" }),
    ).rejects.toThrow(/after/);
    expect(server.requests).toHaveLength(1);
  });
});

describe("Stooq tickers", () => {
  it("maps US symbols, share classes, indexes and configured exceptions", () => {
    expect(stooqTicker("AAPL")).toBe("aapl.us");
    expect(stooqTicker("SPY")).toBe("spy.us");
    expect(stooqTicker("BRK.B")).toBe("brk-b.us");
    expect(stooqTicker("^SPX")).toBe("^spx");
    expect(stooqTicker("TSCO", { market: "uk" })).toBe("tsco.uk");
    expect(stooqTicker("GOOGL", { symbolMap: { GOOGL: "GOOGL.US" } })).toBe("googl.us");
  });

  it("reads the symbol map setting and refuses a malformed one", () => {
    expect(parseSymbolMap(" BRK.B=brk-b.us, ^gspc=^SPX ,")).toEqual({ "BRK.B": "brk-b.us", "^GSPC": "^spx" });
    expect(() => parseSymbolMap("BRK.B")).toThrow(/SYMBOL=stooq-ticker/);
  });
});
