// Seeds the demo data set into an empty database: a synthetic universe (the factor ETFs and
// QQQ plus 500 equities with sectors and company profiles), a year of daily closes ending at
// the last weekday, and demo portfolios owned by `demo` (org `demo-org`) with long, short,
// ETF, option, private and closed positions. Everything is labelled synthetic. Does nothing
// when the universe is not empty; one transaction, so a failure leaves an empty database and
// the next start seeds again.
import { createClient } from "@libsql/client";
import { count } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import * as schema from "../schema/index.ts";
import { demoMarket, demoMarketOptions, lastWeekday } from "../worker/market-data/demo-market.ts";
import { planPriceWrite } from "../worker/market-data/import-writer.ts";
import type { PriceRow } from "../worker/market-data/price-import.ts";
import { closesOf, generateSyntheticMarket } from "../worker/market-data/synthetic.ts";
import type { SyntheticInstrument, SyntheticMarket } from "../worker/market-data/synthetic.ts";
import { demoOrg, demoOwner } from "./dev-token.ts";
import { databaseTarget } from "./local-config.ts";
import { addDays } from "../worker/dates.ts";
import { chunk } from "../worker/chunk.ts";

// The demo analyst's identity lives with the tokens that sign it in (a module light enough for
// `npm run link`); the seed gives it the portfolios.
export { demoOrg, demoOwner };
export const demoEquities = demoMarket.equities;
export const demoSeed = demoMarket.seed;
// Shared with the synthetic market data provider, which must build the same market.
export { lastWeekday };

export interface DemoSeedSummary {
  seeded: boolean;
  symbols: number;
  prices: number;
  portfolios: number;
  positions: number;
  endDate: string;
}

export async function seedDemoData(
  url: string,
  authToken: string | undefined,
  now = new Date(),
): Promise<DemoSeedSummary> {
  const client = createClient(authToken ? { url, authToken } : { url });
  const db = drizzle(client, { schema });
  const endDate = lastWeekday(now);
  try {
    const existing = await db.select({ n: count() }).from(schema.symbolUniverse).get();
    if ((existing?.n ?? 0) > 0) {
      return { seeded: false, symbols: existing?.n ?? 0, prices: 0, portfolios: 0, positions: 0, endDate };
    }
    const market = generateSyntheticMarket(demoMarketOptions(endDate));

    const universeRows = market.instruments.map(universeRowOf);
    const profileRows = market.instruments.map((instrument) => profileRowOf(instrument, endDate));
    // Synthetic prices have no splits or dividends: the adjusted close is the close.
    const priceRows: PriceRow[] = market.prices.map((price, line) => ({
      symbol: price.symbol,
      date: price.date,
      close: price.close,
      adjClose: price.close,
      volume: price.volume,
      line,
    }));
    const prices = planPriceWrite(db, priceRows, { source: "synthetic" });
    const { portfolioRows, positionRows } = demoPortfolios(market);

    await db.batch([
      db.insert(schema.portfolios).values(portfolioRows),
      db.insert(schema.positions).values(positionRows),
      ...chunk(universeRows, 100).map((rows) => db.insert(schema.symbolUniverse).values(rows)),
      ...chunk(profileRows, 100).map((rows) => db.insert(schema.companyProfiles).values(rows)),
      ...prices.statements,
    ]);
    return {
      seeded: true,
      symbols: universeRows.length,
      prices: priceRows.length,
      portfolios: portfolioRows.length,
      positions: positionRows.length,
      endDate,
    };
  } finally {
    client.close();
  }
}

/** The symbol_universe row of a synthetic instrument. */
export function universeRowOf(instrument: SyntheticInstrument): typeof schema.symbolUniverse.$inferInsert {
  return {
    symbol: instrument.symbol,
    assetType: instrument.assetType,
    sector: instrument.sector,
    firstSeenDate: instrument.listedOn,
    lastSeenDate: instrument.lastTradedOn,
    isActive: instrument.delistedOn === null,
  };
}

/** The company_profiles row of a synthetic instrument, as of `asOf`. */
export function profileRowOf(
  instrument: SyntheticInstrument,
  asOf: string,
): typeof schema.companyProfiles.$inferInsert {
  return {
    symbol: instrument.symbol,
    companyName: instrument.companyName,
    sector: instrument.sector,
    industry: instrument.industry,
    marketCap: instrument.marketCap,
    enterpriseValue: instrument.enterpriseValue,
    peRatio: instrument.peRatio,
    psRatio: instrument.psRatio,
    pbRatio: instrument.pbRatio,
    asOf,
  };
}

type PortfolioRow = typeof schema.portfolios.$inferInsert;
type PositionRow = typeof schema.positions.$inferInsert;

/**
 * Five portfolios that exercise the engine: longs and shorts, ETFs, options with a given delta
 * or only an implied volatility (some with a premium, one already expired), a private holding,
 * positions opened mid-year and closed before the end (effective dating), and holdings in
 * symbols with a late listing and a delisting.
 */
function demoPortfolios(market: SyntheticMarket): { portfolioRows: PortfolioRow[]; positionRows: PositionRow[] } {
  const { calendar } = market;
  const startDate = calendar[0];
  const endDate = calendar.at(-1);
  const midDate = calendar[Math.floor(calendar.length / 2)];
  if (startDate === undefined || endDate === undefined || midDate === undefined)
    throw new Error("the synthetic market has no trading days to hold positions on");
  const closeOn = (symbol: string, date: string): number => {
    const closes = closesOf(market, symbol);
    for (let t = calendar.indexOf(date); t >= 0; t--) {
      const close = closes[t];
      if (close !== undefined && !Number.isNaN(close)) return close;
    }
    const first = closes.find((close) => !Number.isNaN(close));
    if (first === undefined) throw new Error(`${symbol} has no close`);
    return first;
  };
  const equities = market.instruments.filter((instrument) => instrument.assetType === "equity");
  const regular = equities.filter((instrument) => instrument.gap === null);
  const bySector = (sector: string) => regular.filter((instrument) => instrument.sector === sector);
  const largest = [...regular].sort((a, b) => b.marketCap - a.marketCap);
  const smallest = [...regular].sort((a, b) => a.marketCap - b.marketCap);
  const lateListing = equities.find((instrument) => instrument.gap === "late_listing");
  const delisted = equities.find((instrument) => instrument.gap === "delisting" && instrument.delistedOn !== null);

  const portfolioRows: PortfolioRow[] = [
    {
      id: "demo-core-equity",
      owner: demoOwner,
      org: demoOrg,
      name: "Core Equity (synthetic)",
      cash: 250_000,
      benchmarkSymbol: "SPY",
    },
    {
      id: "demo-long-short",
      owner: demoOwner,
      org: demoOrg,
      name: "Long/Short Tech (synthetic)",
      cash: 1_000_000,
      benchmarkSymbol: "QQQ",
    },
    {
      id: "demo-options",
      owner: demoOwner,
      org: demoOrg,
      name: "Options Overlay (synthetic)",
      cash: 500_000,
      benchmarkSymbol: "SPY",
    },
    {
      id: "demo-defensive",
      owner: demoOwner,
      org: demoOrg,
      name: "Defensive Income (synthetic)",
      cash: 100_000,
      benchmarkSymbol: "USMV",
    },
    {
      id: "demo-small-cap",
      owner: demoOwner,
      org: demoOrg,
      name: "Small Cap Tilt (synthetic)",
      cash: 50_000,
      benchmarkSymbol: "IWM",
    },
  ];
  const positionRows: PositionRow[] = [];
  let next = 0;
  const add = (row: Omit<PositionRow, "id">) => positionRows.push({ id: `demo-position-${++next}`, ...row });
  /** Shares worth about `dollars` on the opening date (negative dollars: a short). */
  const shares = (symbol: string, dollars: number, openedOn: string) => Math.round(dollars / closeOn(symbol, openedOn));
  const hold = (
    portfolioId: string,
    instrument: SyntheticInstrument | undefined,
    dollars: number,
    openedOn = startDate,
    closedOn: string | null = null,
  ) => {
    if (!instrument) return;
    const quantity = shares(instrument.symbol, dollars, openedOn);
    add({
      portfolioId,
      symbol: instrument.symbol,
      instrument: instrument.assetType === "etf" ? "etf" : "stock",
      quantity,
      costBasis: Math.round(quantity * closeOn(instrument.symbol, openedOn) * 100) / 100,
      openedOn,
      closedOn,
    });
  };
  const etf = (symbol: string) => market.instruments.find((instrument) => instrument.symbol === symbol);
  const option = (
    portfolioId: string,
    underlying: string,
    optionType: "call" | "put",
    contracts: number,
    moneyness: number,
    expiry: string,
    pricing: { delta?: number; impliedVol?: number; premium?: number },
    openedOn = startDate,
  ) => {
    const strike = Math.max(1, Math.round(closeOn(underlying, openedOn) * moneyness));
    const occ =
      `${underlying} ${expiry.slice(2).replaceAll("-", "")}` +
      `${optionType === "call" ? "C" : "P"}${String(strike * 1000).padStart(8, "0")}`;
    add({
      portfolioId,
      symbol: occ,
      instrument: "option",
      quantity: contracts,
      openedOn,
      underlyingSymbol: underlying,
      optionType,
      strike,
      expiry,
      multiplier: 100,
      delta: pricing.delta ?? null,
      impliedVol: pricing.impliedVol ?? null,
      premium: pricing.premium ?? null,
    });
  };

  // Core equity: the largest names across sectors, an index ETF, a private holding, and a
  // position closed three months ago.
  for (const instrument of largest.slice(0, 15)) hold("demo-core-equity", instrument, 40_000);
  hold("demo-core-equity", etf("SPY"), 200_000);
  add({
    portfolioId: "demo-core-equity",
    symbol: "Private Co. LP (synthetic)",
    instrument: "private",
    quantity: 1,
    costBasis: 150_000,
    openedOn: startDate,
  });
  hold("demo-core-equity", largest[15], 60_000, startDate, addDays(endDate, -91));

  // Long/short tech against QQQ.
  for (const instrument of bySector("Information Technology").slice(0, 8)) hold("demo-long-short", instrument, 80_000);
  for (const instrument of [
    ...bySector("Communication Services").slice(0, 3),
    ...bySector("Consumer Discretionary").slice(0, 3),
  ]) {
    hold("demo-long-short", instrument, -60_000);
  }
  hold("demo-long-short", etf("QQQ"), -150_000);

  // Options overlay: given deltas, implied vols only, premiums on some, one expired mid-year.
  const optionNames = largest.slice(20, 25);
  for (const instrument of optionNames) hold("demo-options", instrument, 50_000);
  const [first, second, third] = optionNames;
  if (first && second && third) {
    option("demo-options", first.symbol, "call", 20, 1.05, addDays(endDate, 182), { delta: 0.55, premium: 4.2 });
    option("demo-options", "SPY", "put", 10, 0.9, addDays(endDate, 119), { impliedVol: 0.22, premium: 6.5 });
    option("demo-options", second.symbol, "put", -10, 0.85, addDays(endDate, 238), { delta: -0.35 });
    option("demo-options", third.symbol, "call", 15, 1.1, addDays(endDate, 301), { impliedVol: 0.35 });
    option("demo-options", first.symbol, "call", 10, 1.0, addDays(midDate, -1), { delta: 0.5, premium: 3.1 });
  }

  // Defensive income: utilities and staples, bonds, the min-vol ETF (bought mid-year).
  for (const instrument of [...bySector("Utilities").slice(0, 5), ...bySector("Consumer Staples").slice(0, 5)])
    hold("demo-defensive", instrument, 25_000);
  hold("demo-defensive", etf("TLT"), 60_000);
  hold("demo-defensive", etf("USMV"), 40_000, midDate);

  // Small caps, including a late listing (bought when it listed) and a delisted name (sold
  // on its delisting date), hedged with IWM.
  for (const instrument of smallest.slice(0, 10)) hold("demo-small-cap", instrument, 8_000);
  if (lateListing) hold("demo-small-cap", lateListing, 8_000, lateListing.listedOn);
  if (delisted?.delistedOn) hold("demo-small-cap", delisted, 8_000, startDate, delisted.delistedOn);
  hold("demo-small-cap", etf("IWM"), -30_000);
  return { portfolioRows, positionRows };
}

if (import.meta.main) {
  const { url, authToken } = databaseTarget();
  const started = performance.now();
  const summary = await seedDemoData(url, authToken);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    summary.seeded
      ? `seeded demo data in ${seconds} s: ${JSON.stringify(summary)}`
      : "demo data already present; nothing seeded",
  );
}
