// A deterministic synthetic market for the demo and tests. Everything it produces is
// labelled `source: "synthetic"`. Returns follow a factor model with known true loadings:
//   r_i,t = α_i + Σ_k β_i,k · f_k,t + ε_i,t
// where the style ETFs move mostly with the market (f_style = b·f_market + own noise).
// Real data's gaps are reproduced on purpose: a late listing, a trading halt and a delisting.

export interface SyntheticInstrument {
  symbol: string;
  assetType: "equity" | "etf";
  sector: string;
  industry: string;
  companyName: string;
  /** True loading on each input ETF's return, by ETF symbol (equities only). */
  trueBetas: Record<string, number>;
  marketCap: number;
  peRatio: number | null;
  psRatio: number;
  pbRatio: number;
}

export interface SyntheticPrice {
  symbol: string;
  date: string;
  close: number;
  volume: number;
}

export interface SyntheticMarket {
  calendar: string[];
  instruments: SyntheticInstrument[];
  prices: SyntheticPrice[];
}

export interface SyntheticMarketOptions {
  seed: number;
  equities: number;
  startDate: string;
  endDate: string;
}

/** Factor and benchmark ETFs: market sensitivity and idiosyncratic daily volatility. */
const etfSpecs: readonly { symbol: string; name: string; marketBeta: number; noise: number }[] = [
  { symbol: "SPY", name: "SPDR S&P 500 ETF", marketBeta: 1, noise: 0 },
  { symbol: "TLT", name: "iShares 20+ Year Treasury Bond ETF", marketBeta: -0.25, noise: 0.008 },
  { symbol: "VTV", name: "Vanguard Value ETF", marketBeta: 0.9, noise: 0.003 },
  { symbol: "VUG", name: "Vanguard Growth ETF", marketBeta: 1.1, noise: 0.0035 },
  { symbol: "MTUM", name: "iShares MSCI USA Momentum Factor ETF", marketBeta: 1.0, noise: 0.005 },
  { symbol: "QUAL", name: "iShares MSCI USA Quality Factor ETF", marketBeta: 0.95, noise: 0.0025 },
  { symbol: "IWM", name: "iShares Russell 2000 ETF", marketBeta: 1.15, noise: 0.006 },
  { symbol: "USMV", name: "iShares MSCI USA Min Vol Factor ETF", marketBeta: 0.7, noise: 0.003 },
  { symbol: "QQQ", name: "Invesco QQQ Trust", marketBeta: 1.15, noise: 0.004 },
];

const sectors: readonly { sector: string; industries: readonly string[] }[] = [
  { sector: "Information Technology", industries: ["Software", "Semiconductors", "IT Services"] },
  { sector: "Health Care", industries: ["Pharmaceuticals", "Biotechnology", "Health Care Equipment"] },
  { sector: "Financials", industries: ["Banks", "Insurance", "Capital Markets"] },
  { sector: "Consumer Discretionary", industries: ["Retail", "Automobiles", "Hotels & Leisure"] },
  { sector: "Industrials", industries: ["Machinery", "Aerospace & Defense", "Transportation"] },
  { sector: "Energy", industries: ["Oil & Gas", "Energy Equipment"] },
  { sector: "Utilities", industries: ["Electric Utilities", "Gas Utilities"] },
  { sector: "Consumer Staples", industries: ["Food Products", "Beverages", "Household Products"] },
];

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; enough for synthetic data. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function createNormal(random: () => number): () => number {
  // Box–Muller; 1 - u keeps the logarithm finite.
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Weekdays from start to end inclusive (the synthetic market has no holidays). */
export function weekdayCalendar(startDate: string, endDate: string): string[] {
  const dates: string[] = [];
  const end = Date.parse(`${endDate}T00:00:00Z`);
  for (let t = Date.parse(`${startDate}T00:00:00Z`); t <= end; t += 86_400_000) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) dates.push(new Date(t).toISOString().slice(0, 10));
  }
  return dates;
}

function tickerFor(index: number): string {
  // SYN-prefixed so synthetic symbols never collide with real tickers.
  let name = "";
  let n = index;
  do {
    name = String.fromCharCode(65 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `SYN${name}`;
}

export function generateSyntheticMarket(options: SyntheticMarketOptions): SyntheticMarket {
  const random = createRandom(options.seed);
  const normal = createNormal(random);
  const calendar = weekdayCalendar(options.startDate, options.endDate);
  const days = calendar.length;

  const marketReturns = Array.from({ length: days }, () => 0.0004 + 0.011 * normal());
  const etfReturns = new Map<string, number[]>();
  for (const spec of etfSpecs) {
    etfReturns.set(
      spec.symbol,
      marketReturns.map((m) => spec.marketBeta * m + spec.noise * normal()),
    );
  }

  const instruments: SyntheticInstrument[] = etfSpecs.map((spec) => ({
    symbol: spec.symbol,
    assetType: "etf",
    sector: "ETF",
    industry: "Exchange Traded Fund",
    companyName: `${spec.name} (synthetic)`,
    trueBetas: {},
    marketCap: Math.round(2e10 + random() * 4e11),
    peRatio: null,
    psRatio: 0,
    pbRatio: 0,
  }));
  const returnsBySymbol = new Map<string, (number | null)[]>();
  for (const [symbol, returns] of etfReturns) returnsBySymbol.set(symbol, returns);

  for (let i = 0; i < options.equities; i++) {
    const symbol = tickerFor(i);
    const sectorSpec = sectors[i % sectors.length]!;
    const trueBetas: Record<string, number> = {
      SPY: 0.5 + random() * 1.1,
      TLT: -0.4 + random() * 0.8,
      VTV: -0.3 + random() * 0.6,
      VUG: -0.3 + random() * 0.6,
      MTUM: -0.2 + random() * 0.4,
      IWM: -0.2 + random() * 0.5,
    };
    const alpha = (random() - 0.5) * 0.0004;
    const idiosyncratic = 0.008 + random() * 0.014;
    const returns = calendar.map((_, t) => {
      let r = alpha + idiosyncratic * normal();
      for (const [etf, beta] of Object.entries(trueBetas)) {
        // Load on the ETF's own move net of its market part, so loadings stay identifiable.
        const spec = etfSpecs.find((s) => s.symbol === etf)!;
        const own = etf === "SPY" ? marketReturns[t]! : etfReturns.get(etf)![t]! - spec.marketBeta * marketReturns[t]!;
        r += beta * own;
      }
      return r;
    });
    returnsBySymbol.set(symbol, applyGaps(i, returns));
    const marketCap = Math.round(Math.exp(21 + random() * 6));
    instruments.push({
      symbol,
      assetType: "equity",
      sector: sectorSpec.sector,
      industry: sectorSpec.industries[i % sectorSpec.industries.length]!,
      companyName: `Synthetic ${sectorSpec.industries[0]} ${symbol.slice(3)} Inc.`,
      trueBetas,
      marketCap,
      peRatio: random() < 0.1 ? null : Math.round((8 + random() * 40) * 100) / 100,
      psRatio: Math.round((0.5 + random() * 12) * 100) / 100,
      pbRatio: Math.round((0.8 + random() * 9) * 100) / 100,
    });
  }

  const prices: SyntheticPrice[] = [];
  for (const instrument of instruments) {
    const returns = returnsBySymbol.get(instrument.symbol)!;
    let close = 20 + random() * 380;
    for (let t = 0; t < days; t++) {
      const r = returns[t];
      if (r === null || r === undefined) continue;
      close *= 1 + r;
      prices.push({
        symbol: instrument.symbol,
        date: calendar[t]!,
        close: Math.round(close * 10_000) / 10_000,
        volume: Math.round(2e5 + random() * 5e6),
      });
    }
  }
  return { calendar, instruments, prices };
}

/** Missing days as real data has them; `null` means no close that day. */
function applyGaps(index: number, returns: number[]): (number | null)[] {
  const days = returns.length;
  if (index === 3) return returns.map((r, t) => (t < Math.floor(days / 2) ? null : r)); // late listing
  if (index === 5) return returns.map((r, t) => (t >= days - 40 ? null : r)); // delisted
  if (index === 7) return returns.map((r, t) => (t >= 100 && t < 105 ? null : r)); // halted a week
  if (index === 9) return returns.map((r, t) => (t % 37 === 11 ? null : r)); // scattered missing days
  return returns;
}
