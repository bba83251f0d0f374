import { asc, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { marketPrices } from "../../schema/index.ts";
import { marketDataProviderFor, runMarketDataChunk } from "../../worker/batch/market-data-phase.ts";
import { phaseMessage } from "../../worker/batch/orchestrator.ts";
import { writePrices } from "../../worker/market-data/import-writer.ts";
import { addDays } from "../../worker/dates.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { describeError } from "../../worker/log.ts";
import { createMarketDataProvider } from "../../worker/market-data/provider.ts";
import type { DailyClosesRequest, MarketDataProvider, ProviderResult } from "../../worker/market-data/provider.ts";
import { createSyntheticProvider } from "../../worker/market-data/providers/synthetic.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";
import type { SyntheticMarketOptions } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);

// Six equities: index 3 lists late (mid-calendar), index 5 is delisted 40 calendar days before the end.
const marketOptions: SyntheticMarketOptions = {
  seed: 2023,
  equities: 6,
  startDate: "2023-01-02",
  endDate: "2023-06-30",
};
const market = generateSyntheticMarket(marketOptions);
const equities = market.instruments.filter((instrument) => instrument.assetType === "equity");
const delisted = equities.find((instrument) => instrument.gap === "delisting")!;

/**
 * The synthetic provider under other names. The worker test files share one database, and
 * another file stores SYN closes, so this file's symbols are `prefix + SYN…`: the adapter strips
 * the prefix from the request and puts it back on every row and failure, nothing else.
 */
function prefixed(provider: MarketDataProvider, prefix: string): MarketDataProvider {
  const strip = (symbol: string) => (symbol.startsWith(prefix) ? symbol.slice(prefix.length) : symbol);
  return {
    name: provider.name,
    async fetchDailyCloses(request, options) {
      const result = await provider.fetchDailyCloses({ ...request, symbols: request.symbols.map(strip) }, options);
      return {
        prices: result.prices.map((row) => ({ ...row, symbol: prefix + row.symbol })),
        failures: result.failures.map((failure) => ({ ...failure, symbol: prefix + failure.symbol })),
      };
    },
  };
}

/** A third-party source stand-in answering with a fixed result. */
function fixedProvider(name: string, result: ProviderResult): MarketDataProvider & { requests: DailyClosesRequest[] } {
  const requests: DailyClosesRequest[] = [];
  return {
    name,
    requests,
    async fetchDailyCloses(request) {
      requests.push(request);
      return result;
    },
  };
}

async function storedPrices(symbols: readonly string[]) {
  return db
    .select()
    .from(marketPrices)
    .where(inArray(marketPrices.symbol, [...symbols]))
    .orderBy(asc(marketPrices.symbol), asc(marketPrices.date));
}

/**
 * The market's closes of `symbols` in [from, to] as stored rows (the writer's JSON path may move a close by an
 * ulp).
 */
function expectedSyntheticRows(prefix: string, symbols: readonly string[], from: string, to: string) {
  return market.prices
    .filter((p) => symbols.includes(p.symbol) && p.date >= from && p.date <= to)
    .map((p) => ({
      symbol: prefix + p.symbol,
      date: p.date,
      close: expect.closeTo(p.close, 9),
      adjClose: expect.closeTo(p.close, 9),
      volume: p.volume,
      source: "synthetic",
    }))
    .sort((a, b) => (a.symbol === b.symbol ? (a.date < b.date ? -1 : 1) : a.symbol < b.symbol ? -1 : 1));
}

describe("market data phase (one chunk)", () => {
  it(
    "stores the synthetic provider's closes of the lookback window, " +
      "skips a delisted symbol and fails one the market lacks",
    async () => {
      const prefix = "MDA";
      // The delisting date: the delisted equity has closes in the week before, none on the date.
      const calculationDate = delisted.delistedOn!;
      const from = addDays(calculationDate, -7);
      const symbols = equities.map((instrument) => instrument.symbol);
      const trading = symbols.filter((symbol) =>
        market.prices.some((p) => p.symbol === symbol && p.date === calculationDate),
      );
      expect(trading).toHaveLength(equities.length - 1);
      expect(
        market.prices.some((p) => p.symbol === delisted.symbol && p.date >= from && p.date < calculationDate),
      ).toBe(true);

      const chunkSymbols = [...symbols.map((symbol) => prefix + symbol), `${prefix}NOSUCH`];
      const outcome = await runMarketDataChunk(
        db,
        prefixed(createSyntheticProvider({ market: marketOptions }), prefix),
        {
          calculationDate,
          symbols: chunkSymbols,
        },
      );

      const expected = expectedSyntheticRows(prefix, symbols, from, calculationDate);
      expect(await storedPrices(chunkSymbols)).toEqual(expected);
      // The window reaches 7 calendar days back: a close missed earlier in the week is filled in.
      expect(expected[0]!.date).toBe(market.calendar.find((date) => date >= from));
      expect(outcome.counts).toEqual({
        unit: "symbols",
        total: symbols.length + 1,
        computed: trading.length,
        skipped: 1,
        skipped_reasons: { no_close_on_date: 1 },
        failed: 1,
        failed_reasons: { no_data: 1 },
        rows_stored: expected.length,
        rows_unchanged: 0,
        rows_deleted: 0,
        price_conflicts_kept: 0,
        price_conflicts_replaced: 0,
      });
      expect(outcome.issues).toEqual([
        {
          item: prefix + delisted.symbol,
          kind: "skipped",
          reason: "no_close_on_date",
          detail: expect.stringContaining(calculationDate),
        },
        {
          item: `${prefix}NOSUCH`,
          kind: "failed",
          reason: "no_data",
          detail: expect.stringContaining("not in the synthetic market"),
        },
      ]);
      expect(outcome.duration_ms).toBeGreaterThanOrEqual(0);
    },
  );

  it("stores nothing new when the same chunk runs twice, and leaves the table as it was", async () => {
    const prefix = "MDB";
    const calculationDate = marketOptions.endDate;
    const chunk = { calculationDate, symbols: equities.slice(0, 3).map((instrument) => prefix + instrument.symbol) };
    const provider = prefixed(createSyntheticProvider({ market: marketOptions }), prefix);

    const first = await runMarketDataChunk(db, provider, chunk);
    const afterFirst = await storedPrices(chunk.symbols);
    expect(first.counts).toMatchObject({ computed: 3, rows_unchanged: 0 });
    expect(first.counts.rows_stored).toBe(afterFirst.length);
    expect(afterFirst.length).toBeGreaterThan(3);

    const second = await runMarketDataChunk(db, provider, chunk);
    expect(second.counts).toEqual({ ...first.counts, rows_stored: 0, rows_unchanged: first.counts.rows_stored });
    expect(second.issues).toEqual([]);
    expect(await storedPrices(chunk.symbols)).toEqual(afterFirst);
  });

  it(
    "records Stooq's per-symbol answers with their reasons " + "and stores rows only for the symbol answered with CSV",
    async () => {
      const apiKey = "md-t3st-k3y";
      const calculationDate = "2023-03-15";
      // Stooq's daily CSV (Date,Open,High,Low,Close,Volume), kept to d1..d2 as Stooq does.
      const csvLines = [
        "2023-03-07,151.04,153.4,150.1,151.6,56182028",
        "2023-03-08,153.88,154.54,153.47,152.87,47204791",
        "2023-03-09,153.56,154.54,150.23,150.59,53833582",
        "2023-03-10,150.21,150.94,147.61,148.5,68572400",
        "2023-03-13,147.81,153.14,147.7,150.47,84457122",
        "2023-03-14,151.28,153.4,150.1,152.59,73695893",
        "2023-03-15,151.19,153.25,149.92,152.99,77167866",
      ];
      const answers: Record<string, (d1: string, d2: string) => Response> = {
        "mdsqcsv.us": (d1, d2) => {
          const rows = csvLines.filter((line) => {
            const date = line.slice(0, 10).replaceAll("-", "");
            return date >= d1 && date <= d2;
          });
          return new Response(`${["Date,Open,High,Low,Close,Volume", ...rows].join("\r\n")}\r\n`, {
            headers: { "content-type": "text/csv" },
          });
        },
        "mdsqnodata.us": () => new Response("No data", { headers: { "content-type": "text/plain" } }),
        "mdsqhtml.us": () =>
          new Response(
            "<!DOCTYPE html><html><head><title>Stooq - Error</title></head>" +
              "<body><p>Service unavailable, try later.</p></body></html>",
            {
              headers: { "content-type": "text/html; charset=utf-8" },
            },
          ),
        "mdsqlimit.us": () =>
          new Response("Exceeded the daily hits limit", { headers: { "content-type": "text/plain" } }),
      };
      const requested: URL[] = [];
      const stooqStandIn: typeof fetch = async (input) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        requested.push(url);
        const answer =
          url.pathname === "/q/d/l/" && url.searchParams.get("apikey") === apiKey
            ? answers[url.searchParams.get("s") ?? ""]
            : undefined;
        return answer
          ? answer(url.searchParams.get("d1") ?? "", url.searchParams.get("d2") ?? "")
          : new Response("not found", { status: 404 });
      };
      // One request at a time, so the daily limit (which stops further requests) is met last.
      const provider = createMarketDataProvider({
        name: "stooq",
        env: { STOOQ_API_KEY: apiKey, STOOQ_CONCURRENCY: "1" },
        fetch: stooqStandIn,
      });
      const symbols = ["MDSQCSV", "MDSQNODATA", "MDSQHTML", "MDSQLIMIT"];

      const outcome = await runMarketDataChunk(db, provider, { calculationDate, symbols });

      expect(
        requested.map((url) => [url.searchParams.get("s"), url.searchParams.get("d1"), url.searchParams.get("d2")]),
      ).toEqual(symbols.map((symbol) => [`${symbol.toLowerCase()}.us`, "20230308", "20230315"]));
      expect(outcome.counts).toMatchObject({
        total: 4,
        computed: 1,
        skipped: 0,
        failed: 3,
        failed_reasons: { no_data: 1, unexpected_response: 1, rate_limited: 1 },
        rows_stored: 6,
        rows_unchanged: 0,
      });
      expect(outcome.issues.map(({ item, kind, reason }) => ({ item, kind, reason }))).toEqual([
        { item: "MDSQNODATA", kind: "failed", reason: "no_data" },
        { item: "MDSQHTML", kind: "failed", reason: "unexpected_response" },
        { item: "MDSQLIMIT", kind: "failed", reason: "rate_limited" },
      ]);
      for (const issue of outcome.issues) {
        expect(issue.detail).not.toBe("");
        expect(issue.detail).not.toContain(apiKey);
      }
      // The CSV's rows in the window, as sent; nothing at all (no zeros) for the failed symbols.
      expect(await storedPrices(symbols)).toEqual(
        csvLines.slice(1).map((line) => {
          const [date, , , , close, volume] = line.split(",");
          return {
            symbol: "MDSQCSV",
            date,
            close: Number(close),
            adjClose: null,
            volume: Number(volume),
            source: "stooq",
          };
        }),
      );
    },
  );

  it("counts a corrected close as stored and replaces the stored row", async () => {
    const row = { symbol: "MDFIX", date: "2023-04-14", adjClose: null, volume: 500, source: "md-third-party", line: 2 };
    const chunk = { calculationDate: "2023-04-14", symbols: ["MDFIX"] };
    await runMarketDataChunk(
      db,
      fixedProvider("md-third-party", { prices: [{ ...row, close: 10 }], failures: [] }),
      chunk,
    );
    const corrected = await runMarketDataChunk(
      db,
      fixedProvider("md-third-party", { prices: [{ ...row, close: 10.25 }], failures: [] }),
      chunk,
    );
    expect(corrected.counts).toMatchObject({ computed: 1, rows_stored: 1, rows_unchanged: 0 });
    expect(await storedPrices(["MDFIX"])).toEqual([
      { symbol: "MDFIX", date: "2023-04-14", close: 10.25, adjClose: null, volume: 500, source: "md-third-party" },
    ]);
  });

  it("rejects and writes nothing when the provider throws or the run is cancelled", async () => {
    const symbols = ["MDTHROW1", "MDTHROW2"];
    const broken: MarketDataProvider = {
      name: "md-broken",
      async fetchDailyCloses() {
        throw new Error("md-broken: not configured");
      },
    };
    await expect(runMarketDataChunk(db, broken, { calculationDate: "2023-04-14", symbols })).rejects.toThrow(
      "md-broken: not configured",
    );

    const cancelled = AbortSignal.abort(new Error("md: cancelled"));
    const synthetic = prefixed(createSyntheticProvider({ market: marketOptions }), "MDTHROW");
    await expect(
      runMarketDataChunk(
        db,
        synthetic,
        { calculationDate: "2023-04-14", symbols: [`MDTHROW${equities[0]!.symbol}`] },
        { signal: cancelled },
      ),
    ).rejects.toThrow("md: cancelled");
    expect(await storedPrices([...symbols, `MDTHROW${equities[0]!.symbol}`])).toEqual([]);
  });

  it(
    "writes the chunk in one transaction: " +
      "a close of 0 from a provider rejects the chunk and stores none of its rows",
    async () => {
      const row = { date: "2023-04-14", adjClose: null, volume: 1000, source: "md-third-party", line: 2 };
      const provider = fixedProvider("md-third-party", {
        prices: [
          { ...row, symbol: "MDTXGOOD", close: 10.5 },
          { ...row, symbol: "MDTXZERO", close: 0 },
        ],
        failures: [],
      });
      await expect(
        runMarketDataChunk(db, provider, { calculationDate: "2023-04-14", symbols: ["MDTXGOOD", "MDTXZERO"] }),
      ).rejects.toSatisfy((error: unknown) => describeError(error).includes("CHECK constraint failed"));
      expect(await storedPrices(["MDTXGOOD", "MDTXZERO"])).toEqual([]);
    },
  );

  it("rejects a result that leaves a symbol without rows or a failure, before writing anything", async () => {
    const provider = fixedProvider("md-third-party", {
      prices: [
        {
          symbol: "MDOMITA",
          date: "2023-04-14",
          close: 20,
          adjClose: null,
          volume: null,
          source: "md-third-party",
          line: 2,
        },
      ],
      failures: [],
    });
    await expect(
      runMarketDataChunk(db, provider, { calculationDate: "2023-04-14", symbols: ["MDOMITA", "MDOMITB"] }),
    ).rejects.toThrow(/MDOMITB without rows or a failure/);
    expect(await storedPrices(["MDOMITA", "MDOMITB"])).toEqual([]);
  });

  it("asks for the lookback window it is given, and fetches nothing for an empty chunk", async () => {
    const provider = fixedProvider("md-third-party", {
      prices: [],
      failures: [{ symbol: "MDLOOK", reason: "no_data", detail: "none" }],
    });
    await runMarketDataChunk(db, provider, {
      calculationDate: "2023-03-01",
      symbols: ["MDLOOK", "mdlook "],
      lookbackDays: 3,
    });
    expect(provider.requests).toEqual([{ symbols: ["MDLOOK"], from: "2023-02-26", to: "2023-03-01" }]);

    const empty = await runMarketDataChunk(db, provider, { calculationDate: "2023-03-01", symbols: [] });
    expect(provider.requests).toHaveLength(1);
    expect(empty.counts).toMatchObject({ total: 0, computed: 0, skipped: 0, failed: 0, rows_stored: 0 });
  });
});

describe("marketDataProviderFor", () => {
  it("reuses one provider per configuration and builds another when a setting it reads changes", () => {
    const pinned = { ...env, MARKET_DATA_PROVIDER: "synthetic", SYNTHETIC_MARKET_END_DATE: "2023-06-30" };
    const provider = marketDataProviderFor(pinned);
    expect(provider.name).toBe("synthetic");
    expect(marketDataProviderFor({ ...pinned })).toBe(provider);
    expect(marketDataProviderFor({ ...pinned, SYNTHETIC_MARKET_END_DATE: "2023-06-29" })).not.toBe(provider);
    // Unrelated settings are not part of the configuration.
    expect(marketDataProviderFor({ ...pinned, STOOQ_MARKET: "uk" })).toBe(provider);

    const stooq = { ...env, MARKET_DATA_PROVIDER: "stooq", STOOQ_API_KEY: "md-key" };
    const stooqProvider = marketDataProviderFor(stooq);
    expect(stooqProvider.name).toBe("stooq");
    expect(marketDataProviderFor({ ...stooq })).toBe(stooqProvider);
    const rotated = { ...stooq, STOOQ_API_KEY: "md-rotated-key" };
    expect(marketDataProviderFor(rotated)).not.toBe(stooqProvider);
  });

  it("builds the default synthetic market once per isolate and fails fast when a provider is misconfigured", () => {
    const defaults = { ...env, MARKET_DATA_PROVIDER: "synthetic", SYNTHETIC_MARKET_END_DATE: "" };
    expect(marketDataProviderFor(defaults)).toBe(marketDataProviderFor({ ...defaults }));
    expect(() => marketDataProviderFor({ ...env, MARKET_DATA_PROVIDER: "stooq" })).toThrow(/STOOQ_API_KEY/);
    expect(() => marketDataProviderFor({ ...env, MARKET_DATA_PROVIDER: "md-nope" })).toThrow(
      /unknown market data provider/,
    );
  });
});

describe("provenance (docs/design.md §4.6, where prices come from)", () => {
  const calculationDate = "2023-06-30";
  const from = addDays(calculationDate, -7);
  /** A provider whose every close is 101 for the window's weekdays. */
  const quoting = (name: string, symbols: readonly string[], close = 101): MarketDataProvider =>
    fixedProvider(name, {
      prices: symbols.flatMap((symbol) =>
        market.calendar
          .filter((date) => date >= from && date <= calculationDate)
          .map((date, index) => ({
            symbol,
            date,
            close,
            adjClose: close,
            volume: 1000,
            line: index + 2,
            source: name,
          })),
      ),
      failures: [],
    });

  it("never overwrites an imported close: the conflict is kept, counted and listed with both values", async () => {
    const symbol = "PVAAA";
    await writePrices(db, [{ symbol, date: calculationDate, close: 55.5, adjClose: null, volume: null, line: 2 }], {
      source: "csv",
    });
    const outcome = await runMarketDataChunk(db, quoting("stooq", [symbol]), { calculationDate, symbols: [symbol] });
    expect(outcome.counts).toMatchObject({ computed: 1, price_conflicts_kept: 1, price_conflicts_replaced: 0 });
    expect(outcome.issues).toEqual([
      {
        item: symbol,
        kind: "skipped",
        reason: "source_conflict",
        detail: `${symbol} on ${calculationDate}: stored 55.5 (csv), stooq has 101; kept the csv close`,
      },
    ]);
    const rows = await storedPrices([symbol]);
    expect(rows.find((row) => row.date === calculationDate)).toMatchObject({ close: 55.5, source: "csv" });
    // The provider's other dates were written: only the conflicting close was kept.
    expect(rows.filter((row) => row.source === "stooq").length).toBeGreaterThan(2);
    expect(
      phaseMessage({
        ...outcome.counts,
        chunks_total: 1,
        chunks_done: 1,
        chunks_failed: 0,
        slowest_chunk_ms: 0,
        issues: outcome.issues,
        issues_truncated: false,
      }),
    ).toContain("1 closes of another source kept (source_conflict");
  });

  it("replaces conflicting closes with replace_prices, and says how many", async () => {
    const symbol = "PVBBB";
    await writePrices(
      db,
      [
        { symbol, date: calculationDate, close: 55.5, adjClose: null, volume: null, line: 2 },
        { symbol, date: addDays(calculationDate, -1), close: 56, adjClose: null, volume: null, line: 3 },
      ],
      { source: "csv" },
    );
    const outcome = await runMarketDataChunk(db, quoting("stooq", [symbol]), {
      calculationDate,
      symbols: [symbol],
      replacePrices: true,
    });
    expect(outcome.counts).toMatchObject({ price_conflicts_kept: 0, price_conflicts_replaced: 2 });
    expect(outcome.issues.map((issue) => issue.reason)).toEqual([
      "source_conflict_replaced",
      "source_conflict_replaced",
    ]);
    expect((await storedPrices([symbol])).every((row) => row.close === 101 && row.source === "stooq")).toBe(true);
  });

  it("the synthetic market never writes a symbol that has closes from another source", async () => {
    const own = equities[0]!.symbol;
    const imported = equities[1]!.symbol;
    const prefix = "PVS";
    await writePrices(
      db,
      [{ symbol: prefix + imported, date: "2023-05-01", close: 42, adjClose: null, volume: null, line: 2 }],
      { source: "csv" },
    );
    const provider = {
      ...prefixed(createSyntheticProvider({ market: marketOptions }), prefix),
      onlyOwnInstruments: true,
    };
    const outcome = await runMarketDataChunk(db, provider, {
      calculationDate,
      symbols: [prefix + own, prefix + imported],
    });
    expect(outcome.issues).toEqual([
      {
        item: prefix + imported,
        kind: "skipped",
        reason: "other_source",
        detail: `${prefix + imported} has closes from csv: the synthetic market writes only its own instruments`,
      },
    ]);
    expect((await storedPrices([prefix + imported])).map((row) => row.source)).toEqual(["csv"]);
    expect((await storedPrices([prefix + own])).length).toBeGreaterThan(2);
  });

  it("`stored` fetches nothing and reports each symbol without a close on the date, with its last one", async () => {
    await writePrices(
      db,
      [
        { symbol: "PVSTA", date: calculationDate, close: 10, adjClose: null, volume: null, line: 2 },
        { symbol: "PVSTB", date: "2023-06-20", close: 10, adjClose: null, volume: null, line: 3 },
      ],
      { source: "csv" },
    );
    const provider = createMarketDataProvider({ name: "stored" });
    const outcome = await runMarketDataChunk(db, provider, { calculationDate, symbols: ["PVSTA", "PVSTB", "PVSTC"] });
    expect(outcome.counts).toMatchObject({
      total: 3,
      computed: 1,
      skipped: 2,
      skipped_reasons: { no_close_on_date: 2 },
      rows_stored: 0,
    });
    expect(outcome.issues).toEqual([
      {
        item: "PVSTB",
        kind: "skipped",
        reason: "no_close_on_date",
        detail: `no stored close of PVSTB on ${calculationDate}; its last is on 2023-06-20`,
      },
      {
        item: "PVSTC",
        kind: "skipped",
        reason: "no_close_on_date",
        detail: `no close of PVSTC is stored on or before ${calculationDate}`,
      },
    ]);
    expect(await storedPrices(["PVSTC"])).toEqual([]);
  });
});
