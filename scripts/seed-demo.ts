// Seeds the demo data set into an empty database: a synthetic universe (factor ETFs plus
// equities with sectors and profiles), a year of daily closes, and demo portfolios with
// long, short, option and private positions. Does nothing when the universe is not empty.
import { createClient } from "@libsql/client";
import { count } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import * as schema from "../schema/index.ts";
import { generateSyntheticMarket } from "../worker/market-data/synthetic.ts";
import { loadLocalSecrets, localDatabaseUrl } from "./local-config.ts";

export const demoOwner = "demo";
export const demoOrg = "demo-org";

export interface DemoSeedSummary {
  seeded: boolean;
  symbols: number;
  prices: number;
  portfolios: number;
  positions: number;
  endDate: string;
}

/** The latest weekday on or before `now` (UTC): the demo's last close. */
export function lastWeekday(now: Date): string {
  const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  while (date.getUTCDay() === 0 || date.getUTCDay() === 6) date.setUTCDate(date.getUTCDate() - 1);
  return date.toISOString().slice(0, 10);
}

export async function seedDemoData(url: string, authToken: string | undefined, now = new Date()): Promise<DemoSeedSummary> {
  const client = createClient(authToken ? { url, authToken } : { url });
  const db = drizzle(client, { schema });
  const endDate = lastWeekday(now);
  try {
    const existing = await db.select({ n: count() }).from(schema.symbolUniverse).get();
    if ((existing?.n ?? 0) > 0) {
      return { seeded: false, symbols: existing?.n ?? 0, prices: 0, portfolios: 0, positions: 0, endDate };
    }
    const startDate = new Date(Date.parse(`${endDate}T00:00:00Z`) - 365 * 86_400_000).toISOString().slice(0, 10);
    const market = generateSyntheticMarket({ seed: 20_261_121, equities: 60, startDate, endDate });
    const firstSeen = new Map<string, string>();
    const lastSeen = new Map<string, string>();
    for (const price of market.prices) {
      if (!firstSeen.has(price.symbol)) firstSeen.set(price.symbol, price.date);
      lastSeen.set(price.symbol, price.date);
    }

    const universeRows = market.instruments.map((instrument) => ({
      symbol: instrument.symbol,
      assetType: instrument.assetType,
      sector: instrument.sector,
      firstSeenDate: firstSeen.get(instrument.symbol) ?? startDate,
      lastSeenDate: lastSeen.get(instrument.symbol) ?? startDate,
      isActive: lastSeen.get(instrument.symbol) === endDate,
    }));
    const profileRows = market.instruments.map((instrument) => ({
      symbol: instrument.symbol,
      companyName: instrument.companyName,
      sector: instrument.sector,
      industry: instrument.industry,
      marketCap: instrument.marketCap,
      enterpriseValue: Math.round(instrument.marketCap * 1.1),
      peRatio: instrument.peRatio,
      psRatio: instrument.psRatio,
      pbRatio: instrument.pbRatio,
      asOf: endDate,
    }));
    const priceRows = market.prices.map((price) => ({ ...price, adjClose: price.close, source: "synthetic" }));
    const { portfolioRows, positionRows } = demoPortfolios(startDate, market.instruments.map((i) => i.symbol));

    // One transaction: a failure halfway leaves an empty database, so the next start seeds again.
    const statements = [
      ...chunk(universeRows, 200).map((rows) => db.insert(schema.symbolUniverse).values(rows)),
      ...chunk(profileRows, 200).map((rows) => db.insert(schema.companyProfiles).values(rows)),
      ...chunk(priceRows, 1_000).map((rows) => db.insert(schema.marketPrices).values(rows)),
      db.insert(schema.portfolios).values(portfolioRows),
      db.insert(schema.positions).values(positionRows),
    ];
    const [first, ...rest] = statements;
    if (first) await db.batch([first, ...rest]);
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

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

type PortfolioRow = typeof schema.portfolios.$inferInsert;
type PositionRow = typeof schema.positions.$inferInsert;

function demoPortfolios(openedOn: string, symbols: readonly string[]): { portfolioRows: PortfolioRow[]; positionRows: PositionRow[] } {
  const equities = symbols.filter((symbol) => symbol.startsWith("SYN"));
  const pick = (index: number) => equities[index % equities.length]!;
  const portfolioRows: PortfolioRow[] = [
    { id: "demo-core-equity", owner: demoOwner, org: demoOrg, name: "Core Equity (synthetic)", cash: 250_000, benchmarkSymbol: "SPY" },
    { id: "demo-long-short", owner: demoOwner, org: demoOrg, name: "Long/Short Tech (synthetic)", cash: 1_000_000, benchmarkSymbol: "QQQ" },
    { id: "demo-options", owner: demoOwner, org: demoOrg, name: "Options Overlay (synthetic)", cash: 500_000, benchmarkSymbol: "SPY" },
  ];
  let next = 0;
  const id = () => `demo-position-${++next}`;
  const stock = (portfolioId: string, symbol: string, quantity: number): PositionRow => ({
    id: id(), portfolioId, symbol, instrument: "stock", quantity, costBasis: null, openedOn,
  });
  const positionRows: PositionRow[] = [
    ...Array.from({ length: 12 }, (_, i) => stock("demo-core-equity", pick(i * 3 + 1), 200 + 50 * i)),
    { id: id(), portfolioId: "demo-core-equity", symbol: "SPY", instrument: "etf", quantity: 400, openedOn },
    { id: id(), portfolioId: "demo-core-equity", symbol: "Private Co. LP (synthetic)", instrument: "private", quantity: 1, costBasis: 150_000, openedOn },
    ...Array.from({ length: 8 }, (_, i) => stock("demo-long-short", pick(i * 2), 500 + 100 * i)),
    ...Array.from({ length: 6 }, (_, i) => stock("demo-long-short", pick(i * 2 + 17), -(300 + 80 * i))),
    { id: id(), portfolioId: "demo-long-short", symbol: "QQQ", instrument: "etf", quantity: -600, openedOn },
    ...Array.from({ length: 5 }, (_, i) => stock("demo-options", pick(i * 5 + 2), 300)),
    {
      id: id(), portfolioId: "demo-options", symbol: `${pick(2)} call (synthetic)`, instrument: "option", quantity: 20,
      openedOn, underlyingSymbol: pick(2), optionType: "call", strike: 150, expiry: "2027-06-18", multiplier: 100, delta: 0.55,
    },
    {
      id: id(), portfolioId: "demo-options", symbol: "SPY put (synthetic)", instrument: "option", quantity: 30,
      openedOn, underlyingSymbol: "SPY", optionType: "put", strike: 400, expiry: "2027-03-19", multiplier: 100, impliedVol: 0.22,
    },
    {
      id: id(), portfolioId: "demo-options", symbol: `${pick(7)} put (synthetic)`, instrument: "option", quantity: -10,
      openedOn, underlyingSymbol: pick(7), optionType: "put", strike: 80, expiry: "2027-01-15", multiplier: 100, delta: -0.35,
    },
  ];
  return { portfolioRows, positionRows };
}

if (import.meta.main) {
  const url = process.env["TURSO_DATABASE_URL"] ?? localDatabaseUrl();
  const authToken = process.env["TURSO_DATABASE_URL"] ? process.env["TURSO_AUTH_TOKEN"] : loadLocalSecrets().libsqlAuthToken;
  const summary = await seedDemoData(url, authToken);
  console.log(summary.seeded ? `seeded demo data: ${JSON.stringify(summary)}` : "demo data already present; nothing seeded");
}
