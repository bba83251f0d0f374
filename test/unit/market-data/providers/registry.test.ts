import { afterEach, describe, expect, it } from "vitest";
import { createMarketDataProvider, marketDataProviderNames } from "../../../../worker/market-data/provider.ts";
import { standInKey, startStandIn, stooqCsv } from "./stooq-stand-in.ts";
import type { StandIn } from "./stooq-stand-in.ts";

let standIn: StandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

describe("market data provider registry", () => {
  it("knows stored, synthetic and stooq (a CSV file is imported, not fetched)", () => {
    expect(marketDataProviderNames).toEqual(["stored", "synthetic", "stooq"]);
  });

  it("selects each provider by name (trimmed, any case)", () => {
    expect(createMarketDataProvider({ name: "synthetic" }).name).toBe("synthetic");
    expect(createMarketDataProvider({ name: " Stooq ", env: { STOOQ_API_KEY: "key" } }).name).toBe("stooq");
    expect(createMarketDataProvider({ name: "STORED" }).name).toBe("stored");
    expect(createMarketDataProvider({ name: "stored" }).fetchesNothing).toBe(true);
    expect(createMarketDataProvider({ name: "synthetic" }).onlyOwnInstruments).toBe(true);
  });

  it("refuses an unknown name, listing the known ones", () => {
    expect(() => createMarketDataProvider({ name: "polygon" })).toThrow(
      'unknown market data provider "polygon"; known providers: stored, synthetic, stooq',
    );
  });

  it("refuses a provider whose settings are missing or malformed", () => {
    expect(() => createMarketDataProvider({ name: "stooq", env: {} })).toThrow(/STOOQ_API_KEY/);
    expect(() =>
      createMarketDataProvider({ name: "stooq", env: { STOOQ_API_KEY: "k", STOOQ_TIMEOUT_MS: "10s" } }),
    ).toThrow(/STOOQ_TIMEOUT_MS/);
    expect(() =>
      createMarketDataProvider({ name: "stooq", env: { STOOQ_API_KEY: "k", STOOQ_BASE_URL: "ftp://x" } }),
    ).toThrow(/STOOQ_BASE_URL/);
    expect(() => createMarketDataProvider({ name: "csv" })).toThrow(/unknown market data provider "csv"/);
  });

  it("configures Stooq from env the way a Worker passes it", async () => {
    standIn = await startStandIn({
      "brk-b.us": stooqCsv(["2025-01-02,452,455,450,453.2,3000000"]),
      "spy.us": stooqCsv(["2025-01-02,589,591,580,584.64,50000000"]),
    });
    const env = {
      MARKET_DATA_PROVIDER: "stooq",
      STOOQ_API_KEY: standInKey,
      STOOQ_BASE_URL: standIn.baseUrl,
      STOOQ_TIMEOUT_MS: "500",
      STOOQ_CONCURRENCY: "1",
      STOOQ_SYMBOL_MAP: "SPDR=spy.us",
    };
    const provider = createMarketDataProvider({ name: env.MARKET_DATA_PROVIDER, env });
    const result = await provider.fetchDailyCloses({
      symbols: ["BRK.B", "SPDR"],
      from: "2025-01-02",
      to: "2025-01-02",
    });
    expect(result.failures).toEqual([]);
    expect(result.prices.map((p) => [p.symbol, p.close, p.source])).toEqual([
      ["BRK.B", 453.2, "stooq"],
      ["SPDR", 584.64, "stooq"],
    ]);
    expect(standIn.requests.map((r) => r.ticker)).toEqual(["brk-b.us", "spy.us"]);
  });
});
