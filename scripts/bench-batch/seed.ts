// The batch benchmark's data set: the synthetic market the `synthetic` provider serves for the
// same options (seed, equities, window), written as scripts/seed-demo.ts writes the demo's
// (symbol_universe, company_profiles, market_prices with source "synthetic"), plus portfolios
// of stocks (long and short), ETFs and options (a given delta, or an implied volatility with a
// premium on some), owned by `bench`. Deterministic: the same options write the same rows.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { performance } from "node:perf_hooks";
import * as schema from "../../schema/index.ts";
import { addDays } from "../../worker/dates.ts";
import { chunk } from "../../worker/chunk.ts";
import { required } from "../../worker/required.ts";
import { profileRowOf, universeRowOf } from "../seed-demo.ts";
import { demoMarketOptions } from "../../worker/market-data/demo-market.ts";
import { planPriceWrite } from "../../worker/market-data/import-writer.ts";
import type { PriceRow } from "../../worker/market-data/price-import.ts";
import { createRandom, generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";
import type {
  SyntheticInstrument,
  SyntheticMarket,
  SyntheticMarketOptions,
} from "../../worker/market-data/synthetic.ts";

export const benchOwner = "bench";
export const benchOrg = "bench-org";

export interface BenchMarketSpec {
  /** The market's last day (a weekday). */
  endDate: string;
  /** Symbols in the universe, ETFs included. */
  symbols: number;
  /** Calendar days from the window's first day to `endDate` (SYNTHETIC_MARKET_LOOKBACK_DAYS). */
  lookbackDays: number;
  portfolios: number;
  positionsPerPortfolio: number;
  /** Positions are opened on or before this date, so every benchmarked date sees them. */
  firstMeasuredDate: string;
}

/**
 * The market options, exactly as `syntheticProviderFromContext` builds them from
 * SYNTHETIC_MARKET_END_DATE / _EQUITIES / _LOOKBACK_DAYS: the demo seed with more equities and
 * a longer window. `equities` is the universe size minus the ETFs the generator always adds.
 */
export function benchMarketOptions(
  spec: Pick<BenchMarketSpec, "endDate" | "symbols" | "lookbackDays">,
): SyntheticMarketOptions & { etfs: number } {
  const demo = demoMarketOptions(spec.endDate);
  const etfs = generateSyntheticMarket({ ...demo, equities: 0, startDate: addDays(spec.endDate, -7), priceRows: false })
    .instruments.length;
  if (spec.symbols <= etfs)
    throw new Error(`the universe needs more than the generator's ${etfs} ETFs, got ${spec.symbols} symbols`);
  return { ...demo, equities: spec.symbols - etfs, startDate: addDays(spec.endDate, -spec.lookbackDays), etfs };
}

export interface SeedSummary {
  symbols: number;
  etfs: number;
  equities: number;
  seed: number;
  marketStartDate: string;
  marketEndDate: string;
  tradingDays: number;
  priceRows: number;
  portfolios: number;
  positions: number;
  optionPositions: number;
  /** Wall time of each step. */
  ms: { generate: number; universe: number; portfolios: number; prices: number; total: number };
  /** Price write requests (one transaction each) and rows per request. */
  priceRequests: number;
  priceRowsPerRequest: number;
}

/** Symbols per price transaction: ~100k rows, 5 statements of ~1 MB JSON each. */
const priceSymbolsPerRequest = 260;

export async function seedBenchData(
  url: string,
  authToken: string,
  spec: BenchMarketSpec,
  log: (line: string) => void,
): Promise<SeedSummary> {
  const started = performance.now();
  const options = benchMarketOptions(spec);
  const { etfs, ...marketOptions } = options;
  const generated = performance.now();
  const market = generateSyntheticMarket({ ...marketOptions, priceRows: false });
  const generateMs = performance.now() - generated;
  const { calendar, instruments, series } = market;
  log(
    `generated the market: ${instruments.length} symbols (${etfs} ETFs), ${calendar.length} ` +
      `weekdays ${calendar[0]} to ${calendar.at(-1)} in ${(generateMs / 1000).toFixed(1)} s`,
  );

  const client = createClient({ url, authToken });
  const db = drizzle(client, { schema });
  try {
    const universeStarted = performance.now();
    const universeRows = instruments.map(universeRowOf);
    const profileRows = instruments.map((instrument) => profileRowOf(instrument, spec.endDate));
    const [firstUniverse, ...restUniverse] = [
      ...chunk(universeRows, 100).map((rows) => db.insert(schema.symbolUniverse).values(rows)),
      ...chunk(profileRows, 100).map((rows) => db.insert(schema.companyProfiles).values(rows)),
    ];
    if (firstUniverse) await db.batch([firstUniverse, ...restUniverse]);
    const universeMs = performance.now() - universeStarted;

    const portfoliosStarted = performance.now();
    const { portfolioRows, positionRows } = benchPortfolios(market, spec, marketOptions.seed);
    const [firstPortfolios, ...restPortfolios] = [
      db.insert(schema.portfolios).values(portfolioRows),
      ...chunk(positionRows, 500).map((rows) => db.insert(schema.positions).values(rows)),
    ];
    await db.batch([firstPortfolios, ...restPortfolios]);
    const portfoliosMs = performance.now() - portfoliosStarted;

    // Prices: one transaction per group of symbols, rows built from the typed series (the
    // generator's row objects for ~1.2M closes are not needed). Synthetic prices have no splits
    // or dividends: the adjusted close is the close.
    const pricesStarted = performance.now();
    let priceRows = 0;
    let requests = 0;
    for (let first = 0; first < instruments.length; first += priceSymbolsPerRequest) {
      const rows: PriceRow[] = [];
      for (let slot = first; slot < Math.min(first + priceSymbolsPerRequest, instruments.length); slot++) {
        const { symbol } = required(instruments[slot], "an instrument of the synthetic market");
        // Constant descriptions: this loop runs for every close (~1.2M), so it builds no strings.
        for (let t = 0; t < series.days; t++) {
          const close = required(series.closes[slot * series.days + t], "a synthetic close");
          if (Number.isNaN(close)) continue;
          rows.push({
            symbol,
            date: required(calendar[t], "a date of the synthetic calendar"),
            close,
            adjClose: close,
            volume: required(series.volumes[slot * series.days + t], "a synthetic volume"),
            line: rows.length + 1,
          });
        }
      }
      const plan = planPriceWrite(db, rows, { source: "synthetic" });
      const [firstStatement, ...rest] = plan.statements;
      if (firstStatement) await db.batch([firstStatement, ...rest]);
      priceRows += rows.length;
      requests++;
    }
    const pricesMs = performance.now() - pricesStarted;
    log(
      `wrote ${priceRows.toLocaleString("en-US")} closes in ${requests} ` +
        `transactions in ${(pricesMs / 1000).toFixed(1)} s ` +
        `(${Math.round(priceRows / (pricesMs / 1000)).toLocaleString("en-US")} rows/s)`,
    );

    return {
      symbols: instruments.length,
      etfs,
      equities: marketOptions.equities,
      seed: marketOptions.seed,
      marketStartDate: required(calendar[0], "the first date of the synthetic calendar"),
      marketEndDate: required(calendar.at(-1), "the last date of the synthetic calendar"),
      tradingDays: calendar.length,
      priceRows,
      portfolios: portfolioRows.length,
      positions: positionRows.length,
      optionPositions: positionRows.filter((row) => row.instrument === "option").length,
      ms: {
        generate: round(generateMs),
        universe: round(universeMs),
        portfolios: round(portfoliosMs),
        prices: round(pricesMs),
        total: round(performance.now() - started),
      },
      priceRequests: requests,
      priceRowsPerRequest: Math.round(priceRows / requests),
    };
  } finally {
    client.close();
  }
}

type PortfolioRow = typeof schema.portfolios.$inferInsert;
type PositionRow = typeof schema.positions.$inferInsert;

/**
 * `spec.portfolios` portfolios of `spec.positionsPerPortfolio` positions each: about three
 * quarters stocks (a third of them short), a few ETFs, and options on stocks and index ETFs —
 * half with a given delta, half with only an implied volatility (Black–Scholes delta), a
 * premium on some of each. Most positions are open from before the first measured date; a few
 * open or close inside the measured range (effective dating).
 */
export function benchPortfolios(
  market: SyntheticMarket,
  spec: BenchMarketSpec,
  seed: number,
): { portfolioRows: PortfolioRow[]; positionRows: PositionRow[] } {
  const random = createRandom(seed ^ 0x62656e63);
  const { calendar, series } = market;
  const slotOf = new Map(market.instruments.map((instrument, slot) => [instrument.symbol, slot]));
  const pick = <T>(items: readonly T[]): T => required(items[Math.floor(random() * items.length)], "an item to pick");
  const between = (low: number, high: number) => low + (high - low) * random();
  /** The last close on or before `date` (the first close when there is none before it). */
  const closeOn = (symbol: string, date: string): number => {
    const slot = required(slotOf.get(symbol), `the synthetic series of ${symbol}`);
    const closes = series.closes.subarray(slot * series.days, (slot + 1) * series.days);
    const isClose = (close: number) => !Number.isNaN(close);
    // The last trading day on or before `date`, or the first day when there is none.
    const t = Math.max(
      0,
      calendar.findLastIndex((day) => day <= date),
    );
    const close = closes.subarray(0, t + 1).findLast(isClose) ?? closes.subarray(t + 1).find(isClose);
    if (close === undefined) throw new Error(`${symbol} has no close`);
    return close;
  };
  // Stocks that trade through the measured range (no late listing, delisting or long halt).
  const stocks = market.instruments.filter(
    (instrument) => instrument.assetType === "equity" && (instrument.gap === null || instrument.gap === "missing_days"),
  );
  const etfs = market.instruments.filter((instrument) => instrument.assetType === "etf");
  const indexEtfs = ["SPY", "QQQ", "IWM"].filter((symbol) => slotOf.has(symbol));
  const measured = calendar.filter((date) => date >= spec.firstMeasuredDate);
  const openedOn = addDays(spec.firstMeasuredDate, -14);
  const midRange = () => measured[Math.floor(between(0.2, 0.8) * measured.length)] ?? spec.endDate;

  const options = Math.max(1, Math.round(spec.positionsPerPortfolio * 0.16));
  const etfPositions = Math.max(1, Math.round(spec.positionsPerPortfolio * 0.08));
  const stockPositions = spec.positionsPerPortfolio - options - etfPositions;

  const portfolioRows: PortfolioRow[] = [];
  const positionRows: PositionRow[] = [];
  for (let p = 0; p < spec.portfolios; p++) {
    const id = `bench-portfolio-${String(p + 1).padStart(3, "0")}`;
    portfolioRows.push({
      id,
      owner: benchOwner,
      org: benchOrg,
      name: `Bench portfolio ${p + 1} (synthetic)`,
      cash: Math.round(between(50_000, 2_000_000)),
      benchmarkSymbol: pick(indexEtfs),
    });
    let n = 0;
    const add = (row: Omit<PositionRow, "id" | "portfolioId">) =>
      positionRows.push({ id: `${id}-position-${++n}`, portfolioId: id, ...row });
    const held = new Set<string>();
    const hold = (instrument: SyntheticInstrument, dollars: number) => {
      // Effective dating: 1 in 10 opens inside the measured range, 1 in 20 closes inside it.
      const lateOpen = random() < 0.1;
      const opened = lateOpen ? midRange() : openedOn;
      const closedOn = !lateOpen && random() < 0.05 ? midRange() : null;
      const price = closeOn(instrument.symbol, opened);
      const quantity = Math.round(dollars / price) || Math.sign(dollars);
      add({
        symbol: instrument.symbol,
        instrument: instrument.assetType === "etf" ? "etf" : "stock",
        quantity,
        costBasis: Math.round(quantity * price * 100) / 100,
        openedOn: opened,
        closedOn,
      });
    };
    while (held.size < stockPositions) {
      const instrument = pick(stocks);
      if (held.has(instrument.symbol)) continue;
      held.add(instrument.symbol);
      const dollars = Math.round(between(10_000, 150_000));
      hold(instrument, random() < 1 / 3 ? -dollars : dollars);
    }
    for (let e = 0; e < etfPositions; e++) hold(pick(etfs), Math.round(between(-100_000, 300_000)));
    for (let o = 0; o < options; o++) {
      const underlying = random() < 0.3 ? pick(indexEtfs) : pick(stocks).symbol;
      const optionType = random() < 0.5 ? "call" : "put";
      const spot = closeOn(underlying, openedOn);
      const strike = Math.max(1, Math.round(spot * between(0.85, 1.15)));
      // A Friday between one month and a year after the benchmarked range.
      let expiry = addDays(spec.endDate, Math.round(between(30, 365)));
      while (new Date(`${expiry}T00:00:00Z`).getUTCDay() !== 5) expiry = addDays(expiry, 1);
      const givenDelta = o % 2 === 0;
      const delta = givenDelta ? (Math.round(between(0.2, 0.8) * 100) / 100) * (optionType === "call" ? 1 : -1) : null;
      const impliedVol = givenDelta ? null : Math.round(between(0.15, 0.6) * 100) / 100;
      const premium = random() < 0.5 ? Math.round(spot * between(0.01, 0.08) * 100) / 100 : null;
      const occ =
        `${underlying} ${expiry.slice(2).replaceAll("-", "")}` +
        `${optionType === "call" ? "C" : "P"}${String(strike * 1000).padStart(8, "0")}`;
      add({
        symbol: occ,
        instrument: "option",
        quantity: Math.round(between(-20, 40)) || 1,
        openedOn,
        underlyingSymbol: underlying,
        optionType,
        strike,
        expiry,
        multiplier: 100,
        delta,
        impliedVol,
        premium,
      });
    }
  }
  return { portfolioRows, positionRows };
}

function round(ms: number): number {
  return Math.round(ms);
}
