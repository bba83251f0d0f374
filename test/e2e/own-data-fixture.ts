// A small, realistic data set of "your own" prices for the own-data end-to-end test (README
// "Use your own data"): the eight factor ETFs and ten stocks, one close per weekday ending on a
// given date, from a deterministic random walk whose daily returns are correlated the way
// real ones are (a market factor, six style factors and a rates factor, plus each name's own
// noise); company profiles for the stocks; and a positions CSV of six stocks, one of them held
// for months. Nothing here is labelled synthetic because, to the service, it is a user's data.
import { addDays } from "../../worker/dates.ts";
import { createRandom } from "../../worker/market-data/synthetic.ts";

/** The factor inputs the default factor set names (schema/seed/default-factors.ts). */
export const factorEtfs = ["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"] as const;

export const priceHeader = "date,symbol,close,adj_close,volume";
export const profileHeader = "symbol,as_of,company_name,sector,industry,market_cap";
export const positionHeader = "symbol,instrument,quantity,opened_on,cost_basis";

interface Stock {
  symbol: string;
  name: string;
  sector: string;
  industry: string;
  marketCap: number;
  firstClose: number;
}

const stocks: readonly Stock[] = [
  {
    symbol: "AAPL",
    name: "Apple Inc.",
    sector: "Information Technology",
    industry: "Technology Hardware",
    marketCap: 3.4e12,
    firstClose: 190,
  },
  {
    symbol: "MSFT",
    name: "Microsoft Corporation",
    sector: "Information Technology",
    industry: "Software",
    marketCap: 3.1e12,
    firstClose: 410,
  },
  {
    symbol: "NVDA",
    name: "NVIDIA Corporation",
    sector: "Information Technology",
    industry: "Semiconductors",
    marketCap: 2.9e12,
    firstClose: 120,
  },
  {
    symbol: "JPM",
    name: "JPMorgan Chase & Co.",
    sector: "Financials",
    industry: "Banks",
    marketCap: 6.2e11,
    firstClose: 205,
  },
  {
    symbol: "XOM",
    name: "Exxon Mobil Corporation",
    sector: "Energy",
    industry: "Oil & Gas",
    marketCap: 4.9e11,
    firstClose: 112,
  },
  {
    symbol: "JNJ",
    name: "Johnson & Johnson",
    sector: "Health Care",
    industry: "Pharmaceuticals",
    marketCap: 3.8e11,
    firstClose: 155,
  },
  {
    symbol: "PG",
    name: "Procter & Gamble Company",
    sector: "Consumer Staples",
    industry: "Household Products",
    marketCap: 3.9e11,
    firstClose: 165,
  },
  {
    symbol: "KO",
    name: "Coca-Cola Company",
    sector: "Consumer Staples",
    industry: "Beverages",
    marketCap: 2.7e11,
    firstClose: 63,
  },
  {
    symbol: "CAT",
    name: "Caterpillar Inc.",
    sector: "Industrials",
    industry: "Machinery",
    marketCap: 1.8e11,
    firstClose: 340,
  },
  {
    symbol: "HD",
    name: "Home Depot Inc.",
    sector: "Consumer Discretionary",
    industry: "Specialty Retail",
    marketCap: 3.7e11,
    firstClose: 360,
  },
];

const etfFirstClose: Record<(typeof factorEtfs)[number], number> = {
  SPY: 520,
  TLT: 92,
  VTV: 165,
  VUG: 360,
  MTUM: 190,
  QUAL: 170,
  IWM: 205,
  USMV: 86,
};

/** The synthetic market's deterministic PRNG (mulberry32), enough for test data. */
const random = createRandom;

function normal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

function isWeekday(date: string): boolean {
  const day = new Date(`${date}T12:00:00Z`).getUTCDay();
  return day !== 0 && day !== 6;
}

/** The `count` weekdays ending on `to` (itself a weekday), ascending. */
export function weekdaysEndingOn(to: string, count: number): string[] {
  if (!isWeekday(to)) throw new Error(`${to} is not a weekday`);
  const dates: string[] = [];
  for (let date = to; dates.length < count; date = addDays(date, -1)) if (isWeekday(date)) dates.push(date);
  return dates.reverse();
}

export interface OwnDataFixture {
  /** Every weekday with closes, ascending. */
  calendar: string[];
  prices: string;
  profiles: string;
  positions: string;
  priceRows: number;
  /** Symbols of the positions file, in its order. */
  positionSymbols: string[];
}

export interface OwnDataOptions {
  /** The last date with closes: the end of the range the README's batch command computes. */
  to: string;
  /** The first date the batch computes; the positions are opened before it. */
  from: string;
  /** Weekdays of closes (default 300: more than a year of returns for the 365-day windows). */
  days?: number;
  seed?: number;
}

export function ownDataFixture(options: OwnDataOptions): OwnDataFixture {
  const calendar = weekdaysEndingOn(options.to, options.days ?? 300);
  const fromIndex = calendar.indexOf(options.from);
  if (fromIndex < 130) throw new Error(`${options.from} must be a weekday at least 130 weekdays after ${calendar[0]}`);
  const uniform = random(options.seed ?? 20261113);
  const gauss = normal(uniform);

  // Each name's loadings: market, rates, and the six style factors (value, growth, momentum,
  // quality, size, low volatility), plus its own daily volatility.
  const styleCount = 6;
  const etfLoadings: Record<(typeof factorEtfs)[number], { market: number; rates: number; style: number | null }> = {
    SPY: { market: 1, rates: 0, style: null },
    TLT: { market: -0.25, rates: 1, style: null },
    VTV: { market: 0.9, rates: 0.05, style: 0 },
    VUG: { market: 1.1, rates: -0.05, style: 1 },
    MTUM: { market: 1.0, rates: 0, style: 2 },
    QUAL: { market: 0.95, rates: 0, style: 3 },
    IWM: { market: 1.15, rates: -0.1, style: 4 },
    USMV: { market: 0.7, rates: 0.1, style: 5 },
  };
  const stockModels = stocks.map((stock) => ({
    stock,
    alpha: (uniform() - 0.5) * 0.0006,
    market: 0.6 + uniform() * 0.8,
    rates: (uniform() - 0.5) * 0.4,
    style: Array.from({ length: styleCount }, () => (uniform() - 0.5) * 1.2),
    vol: 0.011 + uniform() * 0.01,
  }));

  const closes = new Map<string, number[]>();
  const volumes = new Map<string, number[]>();
  const etfBase = new Map<string, number>(Object.entries(etfFirstClose));
  for (const symbol of factorEtfs) closes.set(symbol, [etfBase.get(symbol)!]);
  for (const { stock } of stockModels) closes.set(stock.symbol, [stock.firstClose]);
  for (const symbol of closes.keys()) volumes.set(symbol, [Math.round(2e6 + uniform() * 8e6)]);

  for (let t = 1; t < calendar.length; t++) {
    const market = 0.0004 + 0.01 * gauss();
    const rates = 0.006 * gauss();
    const style = Array.from({ length: styleCount }, () => 0.004 * gauss());
    const step = (symbol: string, dailyReturn: number) => {
      const series = closes.get(symbol)!;
      series.push(series[t - 1]! * (1 + dailyReturn));
      volumes.get(symbol)!.push(Math.round(volumes.get(symbol)![0]! * Math.exp(0.3 * gauss())));
    };
    for (const symbol of factorEtfs) {
      const loading = etfLoadings[symbol];
      const own = symbol === "SPY" ? 0.0008 : 0.0015;
      step(
        symbol,
        loading.market * market +
          loading.rates * rates +
          (loading.style === null ? 0 : style[loading.style]!) +
          own * gauss(),
      );
    }
    for (const model of stockModels) {
      const styleReturn = model.style.reduce((sum, loading, k) => sum + loading * style[k]!, 0);
      step(
        model.stock.symbol,
        model.alpha + model.market * market + model.rates * rates + styleReturn + model.vol * gauss(),
      );
    }
  }

  const round = (value: number) => Math.round(value * 100) / 100;
  const priceLines = [priceHeader];
  for (let t = 0; t < calendar.length; t++) {
    for (const [symbol, series] of closes) {
      const close = round(series[t]!).toFixed(2);
      priceLines.push(`${calendar[t]},${symbol},${close},${close},${volumes.get(symbol)![t]}`);
    }
  }

  const asOf = calendar.at(-1)!;
  const profileLines = [
    profileHeader,
    ...stocks.map((stock) =>
      [stock.symbol, asOf, stock.name, stock.sector, stock.industry, String(stock.marketCap)].join(","),
    ),
  ];

  // Six holdings: one bought about six months before the computed range, the others a week before it.
  const monthsAgo = calendar[fromIndex - 125]!;
  const weekAgo = calendar[fromIndex - 5]!;
  const holdings: { symbol: string; quantity: number; openedOn: string }[] = [
    { symbol: "AAPL", quantity: 150, openedOn: monthsAgo },
    { symbol: "MSFT", quantity: 80, openedOn: weekAgo },
    { symbol: "JPM", quantity: 120, openedOn: weekAgo },
    { symbol: "XOM", quantity: 200, openedOn: weekAgo },
    { symbol: "JNJ", quantity: 90, openedOn: weekAgo },
    { symbol: "KO", quantity: 300, openedOn: weekAgo },
  ];
  const positionLines = [
    positionHeader,
    ...holdings.map(({ symbol, quantity, openedOn }) => {
      const close = round(closes.get(symbol)![calendar.indexOf(openedOn)]!);
      return `${symbol},stock,${quantity},${openedOn},${(quantity * close).toFixed(2)}`;
    }),
  ];

  return {
    calendar,
    prices: `${priceLines.join("\n")}\n`,
    profiles: `${profileLines.join("\n")}\n`,
    positions: `${positionLines.join("\n")}\n`,
    priceRows: priceLines.length - 1,
    positionSymbols: holdings.map((holding) => holding.symbol),
  };
}
