// A deterministic synthetic market for the demo, tests and benchmarks. Everything it
// produces is labelled: tickers start with `SYN`, names end with "(synthetic)", prices carry
// `source: "synthetic"`. Pure and Node-free (it also runs in the Worker).
//
// The generating model
// --------------------
// Nine ETFs (the eight factor ETFs and the QQQ benchmark) follow a linear latent model:
//   E_k,t = c_k · m_t + Σ_j A_kj · u_j,t + d_k · η_k,t
// with the market m ~ N(μ_m, σ_m²), five unit-variance style shocks u (rates, growth-vs-value,
// size, momentum, defensive) and ETF-specific noise η. SPY is the market itself (c = 1, no
// noise), so the style ETFs move mostly with the market (correlation 0.86–0.92 with SPY) and
// TLT moves against it. The ETFs' population covariance Σ is known exactly (`market.model`).
//
// Every equity i is a linear combination of those ETF returns plus its own noise:
//   r_i,t = α_i + Σ_k b_ik · E_k,t + σ_i · ε_i,t
// `trueBetas` holds the generating loadings b_ik by ETF symbol (an ETF's are {itself: 1}).
// Because the ETFs are strongly collinear, b_ik is NOT what every engine factor estimates:
//   - Market Beta, Interest Rate Beta (OLS on one ETF x):  Cov(r_i, x) / Var(x) = (Σ b_i)_x / Σ_xx.
//     The market slope is the drawn market beta (0.3–1.8); the rates slope also carries the
//     market's negative co-movement with TLT.
//   - Spreads (OLS on s = E_long − E_short): (aᵀ Σ b_i) / (aᵀ Σ a) with a = e_long − e_short.
//   - Style (one joint ridge on VTV VUG MTUM QUAL IWM USMV): the population regression of r_i on
//     those six, Σ_SS⁻¹ (Σ b_i)_S, which equals b_i on the six only if b_i has no SPY or TLT part
//     (it has both, so the SPY/TLT loadings are absorbed by the style ETFs). Ridge shrinks this
//     slightly; `impliedFactorBetas` can include that shrinkage for a given α and sample size.
// `impliedFactorBetas(instrument, market)` computes all of these targets from Σ, so recovery tests
// compare estimates against what the engine should find rather than against b_ik.
//
// Gaps real data has, on a documented, deterministic subset of equities (equity index i, 0-based,
// in `instruments` order after the ETFs; `instrument.gap` and `market.gaps` name them too):
//   i % 100 === 3  late listing: no closes before the middle day of the calendar;
//   i % 100 === 5  delisting: no closes in the last 40 calendar days (`delistedOn` is the first);
//   i % 100 === 7  halt: 5 consecutive days missing from day 100 (day ⌊days/3⌋ in short calendars);
//   i % 100 === 9  scattered missing days: every day t with t % 37 === 11.
// The price path keeps moving through a halt, so trading resumes at a gapped price.
import { defaultFactors } from "../../schema/seed/default-factors.ts";
import { factorEtfSymbols } from "./etfs.ts";

export type SyntheticGapKind = "late_listing" | "delisting" | "halt" | "missing_days";

export interface SyntheticInstrument {
  symbol: string;
  assetType: "equity" | "etf";
  sector: string;
  industry: string;
  companyName: string;
  /** Generating loadings on each ETF's return, by ETF symbol; see the header for what they mean. */
  trueBetas: Record<string, number>;
  /** Daily alpha and idiosyncratic volatility of the generating model (0 for ETFs). */
  alpha: number;
  idiosyncraticVol: number;
  marketCap: number;
  /** Missing for financials, as providers usually leave it. */
  enterpriseValue: number | null;
  /** Missing for loss-makers and some others; ETFs have no fundamentals. */
  peRatio: number | null;
  psRatio: number | null;
  pbRatio: number | null;
  /** First and last calendar date with a close. */
  listedOn: string;
  lastTradedOn: string;
  /** The first calendar date without a close after the delisting, else null. */
  delistedOn: string | null;
  gap: SyntheticGapKind | null;
}

export interface SyntheticPrice {
  symbol: string;
  date: string;
  close: number;
  volume: number;
  source: "synthetic";
}

export interface SyntheticGap {
  symbol: string;
  kind: SyntheticGapKind;
  /** Calendar dates without a close. */
  missingDates: string[];
}

/** Column-major price storage: instrument `i`, day `t` at `i * days + t`; NaN = no close. */
export interface SyntheticSeries {
  days: number;
  closes: Float64Array;
  volumes: Float64Array;
}

/** The ETFs' return model: means and population covariance, indexed like `etfSymbols`. */
export interface SyntheticModel {
  etfSymbols: string[];
  means: number[];
  covariance: number[][];
}

export interface SyntheticMarket {
  calendar: string[];
  instruments: SyntheticInstrument[];
  /** One row per close, instruments in order, dates ascending; empty when `priceRows` is false. */
  prices: SyntheticPrice[];
  series: SyntheticSeries;
  model: SyntheticModel;
  gaps: SyntheticGap[];
}

export interface SyntheticMarketOptions {
  seed: number;
  equities: number;
  startDate: string;
  endDate: string;
  /** Leave out the documented gaps (default true: gaps included). */
  gaps?: boolean;
  /** Build `prices` rows (default true). Benchmarks at scale can read `series` instead. */
  priceRows?: boolean;
}

const latentShocks = ["rates", "growthValue", "size", "momentum", "defensive"] as const;
type LatentShock = (typeof latentShocks)[number];

interface EtfSpec {
  symbol: string;
  name: string;
  /** c_k: loading on the market m. */
  marketBeta: number;
  /** A_k: daily loadings on the unit-variance style shocks. */
  shocks: Partial<Record<LatentShock, number>>;
  /** d_k: ETF-specific daily noise. */
  ownVol: number;
  startPrice: number;
  /** Assets under management, shown as market cap. */
  assets: number;
}

const marketMean = 0.0004;
const marketVol = 0.011;

const etfSpecs: readonly EtfSpec[] = [
  { symbol: "SPY", name: "SPDR S&P 500 ETF", marketBeta: 1, shocks: {}, ownVol: 0, startPrice: 560, assets: 5.6e11 },
  {
    symbol: "TLT",
    name: "iShares 20+ Year Treasury Bond ETF",
    marketBeta: -0.2,
    shocks: { rates: 0.0085 },
    ownVol: 0.001,
    startPrice: 92,
    assets: 5.8e10,
  },
  {
    symbol: "VTV",
    name: "Vanguard Value ETF",
    marketBeta: 0.9,
    shocks: { rates: -0.0012, growthValue: -0.0035, size: 0.001 },
    ownVol: 0.002,
    startPrice: 170,
    assets: 1.3e11,
  },
  {
    symbol: "VUG",
    name: "Vanguard Growth ETF",
    marketBeta: 1.1,
    shocks: { rates: 0.001, growthValue: 0.005 },
    ownVol: 0.0025,
    startPrice: 400,
    assets: 1.5e11,
  },
  {
    symbol: "MTUM",
    name: "iShares MSCI USA Momentum Factor ETF",
    marketBeta: 1.0,
    shocks: { growthValue: 0.002, momentum: 0.0055 },
    ownVol: 0.002,
    startPrice: 200,
    assets: 1.2e10,
  },
  {
    symbol: "QUAL",
    name: "iShares MSCI USA Quality Factor ETF",
    marketBeta: 0.98,
    shocks: { growthValue: 0.001, defensive: 0.0036 },
    ownVol: 0.003,
    startPrice: 175,
    assets: 4.7e10,
  },
  {
    symbol: "IWM",
    name: "iShares Russell 2000 ETF",
    marketBeta: 1.15,
    shocks: { size: 0.0072, rates: -0.001 },
    ownVol: 0.002,
    startPrice: 220,
    assets: 6.5e10,
  },
  {
    symbol: "USMV",
    name: "iShares MSCI USA Min Vol Factor ETF",
    marketBeta: 0.72,
    shocks: { defensive: 0.004, rates: 0.0012 },
    ownVol: 0.0015,
    startPrice: 90,
    assets: 2.4e10,
  },
  {
    symbol: "QQQ",
    name: "Invesco QQQ Trust",
    marketBeta: 1.18,
    shocks: { growthValue: 0.005, rates: 0.001 },
    ownVol: 0.0025,
    startPrice: 490,
    assets: 3.0e11,
  },
];

interface SectorSpec {
  sector: string;
  industries: readonly string[];
  marketBeta: number;
  /** Mean generating loading on TLT (positive: rate-sensitive, like bonds). */
  rates: number;
  /** Mean style tilts (generating loadings on the style ETFs). */
  tilts: Partial<Record<"VTV" | "VUG" | "MTUM" | "QUAL" | "USMV", number>>;
  pe: number;
  ps: number;
  pb: number;
  /** Net debt as a share of market cap (EV = cap × (1 + debt)); null: EV not meaningful. */
  debt: number | null;
}

const sectors: readonly SectorSpec[] = [
  {
    sector: "Information Technology",
    industries: ["Software", "Semiconductors", "IT Services"],
    marketBeta: 1.25,
    rates: 0.05,
    tilts: { VUG: 0.35, MTUM: 0.15, QUAL: 0.1 },
    pe: 32,
    ps: 7,
    pb: 9,
    debt: 0.02,
  },
  {
    sector: "Health Care",
    industries: ["Pharmaceuticals", "Biotechnology", "Health Care Equipment"],
    marketBeta: 0.85,
    rates: 0.05,
    tilts: { QUAL: 0.2, USMV: 0.15 },
    pe: 24,
    ps: 4.5,
    pb: 5,
    debt: 0.1,
  },
  {
    sector: "Financials",
    industries: ["Banks", "Insurance", "Capital Markets"],
    marketBeta: 1.1,
    rates: -0.25,
    tilts: { VTV: 0.4 },
    pe: 13,
    ps: 2.5,
    pb: 1.4,
    debt: null,
  },
  {
    sector: "Consumer Discretionary",
    industries: ["Retail", "Automobiles", "Hotels & Leisure"],
    marketBeta: 1.2,
    rates: 0,
    tilts: { VUG: 0.15 },
    pe: 22,
    ps: 1.8,
    pb: 5,
    debt: 0.2,
  },
  {
    sector: "Industrials",
    industries: ["Machinery", "Aerospace & Defense", "Transportation"],
    marketBeta: 1.05,
    rates: -0.05,
    tilts: { VTV: 0.2 },
    pe: 20,
    ps: 2,
    pb: 4,
    debt: 0.2,
  },
  {
    sector: "Energy",
    industries: ["Oil & Gas", "Energy Equipment"],
    marketBeta: 0.95,
    rates: -0.15,
    tilts: { VTV: 0.35, MTUM: -0.1 },
    pe: 11,
    ps: 1.2,
    pb: 1.8,
    debt: 0.25,
  },
  {
    sector: "Utilities",
    industries: ["Electric Utilities", "Gas Utilities"],
    marketBeta: 0.5,
    rates: 0.35,
    tilts: { USMV: 0.45, VTV: 0.15 },
    pe: 18,
    ps: 2.5,
    pb: 1.9,
    debt: 0.6,
  },
  {
    sector: "Consumer Staples",
    industries: ["Food Products", "Beverages", "Household Products"],
    marketBeta: 0.6,
    rates: 0.15,
    tilts: { USMV: 0.35, QUAL: 0.2 },
    pe: 21,
    ps: 1.6,
    pb: 5,
    debt: 0.2,
  },
  {
    sector: "Real Estate",
    industries: ["REITs", "Real Estate Services"],
    marketBeta: 0.9,
    rates: 0.4,
    tilts: { VTV: 0.2, USMV: 0.1 },
    pe: 35,
    ps: 6,
    pb: 2,
    debt: 0.5,
  },
  {
    sector: "Communication Services",
    industries: ["Media", "Telecom Services", "Interactive Media"],
    marketBeta: 1.0,
    rates: 0,
    tilts: { VUG: 0.2 },
    pe: 19,
    ps: 3,
    pb: 3,
    debt: 0.25,
  },
];

const nameStems = [
  "Ald",
  "Bren",
  "Cor",
  "Dax",
  "Elv",
  "Fen",
  "Gal",
  "Hal",
  "Ist",
  "Jor",
  "Kel",
  "Lum",
  "Mar",
  "Nor",
  "Orv",
  "Pel",
  "Quin",
  "Ros",
  "Sel",
  "Tor",
  "Ulm",
  "Ver",
  "Wyn",
  "Xan",
  "Yor",
  "Zel",
];
const nameEndings = ["era", "ion", "ex", "ara", "on", "is", "ix", "ent", "ica", "ora"];
const nameSuffixes = ["Inc.", "Corp.", "Holdings", "Group", "Co."];

/** Median market cap and log-sd of the cap distribution (log-normal). */
const medianMarketCap = 1.2e10;
const marketCapLogSd = 1.3;

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; enough for synthetic data. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of two integers, so each instrument gets its own stream from (seed, index). */
function mixSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function createNormal(random: () => number): () => number {
  // Box–Muller, using both values of each pair; 1 − u keeps the logarithm finite.
  let spare = Number.NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const value = spare;
      spare = Number.NaN;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

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

/** SYN-prefixed so synthetic symbols never collide with real tickers: SYNA … SYNZ, SYNAA, … */
export function syntheticTicker(index: number): string {
  let name = "";
  let n = index;
  do {
    name = String.fromCharCode(65 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `SYN${name}`;
}

/** The documented gap of equity number `index` (see the header), or null. */
export function gapForEquity(index: number): SyntheticGapKind | null {
  switch (index % 100) {
    case 3:
      return "late_listing";
    case 5:
      return "delisting";
    case 7:
      return "halt";
    case 9:
      return "missing_days";
    default:
      return null;
  }
}

function isMissing(kind: SyntheticGapKind | null, t: number, days: number): boolean {
  switch (kind) {
    case null:
      return false;
    case "late_listing":
      return t < Math.floor(days / 2);
    case "delisting":
      return t >= days - 40;
    case "halt": {
      const start = days > 110 ? 100 : Math.floor(days / 3);
      return t >= start && t < start + 5;
    }
    case "missing_days":
      return t % 37 === 11;
  }
}

function buildModel(): SyntheticModel {
  const n = etfSpecs.length;
  const covariance = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) {
    const ea = etfSpecs[a]!;
    for (let b = 0; b < n; b++) {
      const eb = etfSpecs[b]!;
      let value = ea.marketBeta * eb.marketBeta * marketVol * marketVol;
      for (const shock of latentShocks) value += (ea.shocks[shock] ?? 0) * (eb.shocks[shock] ?? 0);
      if (a === b) value += ea.ownVol * ea.ownVol;
      covariance[a]![b] = value;
    }
  }
  return {
    etfSymbols: etfSpecs.map((spec) => spec.symbol),
    means: etfSpecs.map((spec) => spec.marketBeta * marketMean),
    covariance,
  };
}

/** Daily ETF returns, ETF-major: etf k, day t at `k * days + t`. */
function simulateEtfReturns(seed: number, days: number): Float64Array {
  const normal = createNormal(createRandom(mixSeed(seed, -1)));
  const returns = new Float64Array(etfSpecs.length * days);
  const shocks = new Float64Array(latentShocks.length);
  for (let t = 0; t < days; t++) {
    const market = marketMean + marketVol * normal();
    for (let j = 0; j < latentShocks.length; j++) shocks[j] = normal();
    for (let k = 0; k < etfSpecs.length; k++) {
      const spec = etfSpecs[k]!;
      let r = spec.marketBeta * market;
      for (let j = 0; j < latentShocks.length; j++) r += (spec.shocks[latentShocks[j]!] ?? 0) * shocks[j]!;
      if (spec.ownVol > 0) r += spec.ownVol * normal();
      returns[k * days + t] = r;
    }
  }
  return returns;
}

function companyName(random: () => number, industry: string): string {
  const stem = nameStems[Math.floor(random() * nameStems.length)]!;
  const ending = nameEndings[Math.floor(random() * nameEndings.length)]!;
  const suffix = nameSuffixes[Math.floor(random() * nameSuffixes.length)]!;
  return `${stem}${ending} ${industry} ${suffix} (synthetic)`;
}

interface EquityDraw {
  instrument: Omit<SyntheticInstrument, "listedOn" | "lastTradedOn" | "delistedOn">;
  /** Generating loadings indexed like the ETF model. */
  loadings: Float64Array;
  startPrice: number;
  turnover: number;
}

function drawEquity(seed: number, index: number, model: SyntheticModel, withGaps: boolean): EquityDraw {
  const random = createRandom(mixSeed(seed, index));
  const normal = createNormal(random);
  const symbol = syntheticTicker(index);
  const sector = sectors[index % sectors.length]!;
  const industry = sector.industries[Math.floor(random() * sector.industries.length)]!;
  const marketCap = Math.round(clamp(medianMarketCap * Math.exp(marketCapLogSd * normal()), 3e8, 2.5e12));
  const smallness = Math.log(medianMarketCap / marketCap); // > 0 for small caps

  // Draw in interpretable terms (univariate market beta, rate sensitivity, style tilts), then
  // express them as loadings on the raw ETF returns: r = β·m + ρ·TLT + Σ γ_s·S_s with
  // S_s = c_s·m + own_s means the SPY loading is β − ρ·c_TLT − Σ γ_s·c_s.
  const marketBeta = clamp(sector.marketBeta + 0.22 * normal() + 0.04 * smallness, 0.3, 1.8);
  const rates = sector.rates + 0.12 * normal();
  const tilts: Record<string, number> = {
    VTV: (sector.tilts.VTV ?? 0) + 0.12 * normal(),
    VUG: (sector.tilts.VUG ?? 0) + 0.12 * normal(),
    MTUM: (sector.tilts.MTUM ?? 0) + 0.12 * normal(),
    QUAL: (sector.tilts.QUAL ?? 0) + 0.1 * normal() - 0.04 * smallness,
    IWM: clamp(0.2 + 0.18 * smallness + 0.1 * normal(), -0.3, 0.8),
    USMV: (sector.tilts.USMV ?? 0) + 0.1 * normal(),
  };
  const loadings = new Float64Array(model.etfSymbols.length);
  const etfIndex = (etf: string) => model.etfSymbols.indexOf(etf);
  let spyLoading = marketBeta;
  loadings[etfIndex("TLT")] = rates;
  spyLoading -= rates * etfSpecs[etfIndex("TLT")]!.marketBeta;
  for (const [etf, tilt] of Object.entries(tilts)) {
    loadings[etfIndex(etf)] = tilt;
    spyLoading -= tilt * etfSpecs[etfIndex(etf)]!.marketBeta;
  }
  loadings[etfIndex("SPY")] = spyLoading;

  // Total daily vol 1–3% (higher for small caps); the idiosyncratic part fills the rest.
  const systematicVariance = quadraticForm(model.covariance, loadings);
  const totalVol = clamp(0.017 * Math.exp(0.22 * normal() + 0.06 * smallness), 0.011, 0.03);
  const idiosyncraticVol = Math.sqrt(Math.max(totalVol * totalVol - systematicVariance, 0.005 * 0.005));

  const trueBetas: Record<string, number> = {};
  for (const etf of factorEtfSymbols) trueBetas[etf] = loadings[etfIndex(etf)]!;

  // Fundamentals: log-normal around the sector's medians; a loss-maker has no P/E.
  const peRatio = random() < 0.08 ? null : round(sector.pe * Math.exp(0.35 * normal()), 2);
  const psRatio = random() < 0.03 ? null : round(sector.ps * Math.exp(0.45 * normal()), 2);
  const pbRatio = random() < 0.04 ? null : round(sector.pb * Math.exp(0.4 * normal()), 2);
  const enterpriseValue =
    sector.debt === null ? null : Math.round(marketCap * (1 + sector.debt * Math.exp(0.5 * normal())));

  return {
    instrument: {
      symbol,
      assetType: "equity",
      sector: sector.sector,
      industry,
      companyName: companyName(random, industry),
      trueBetas,
      alpha: 0.0002 * normal(),
      idiosyncraticVol,
      marketCap,
      enterpriseValue,
      peRatio,
      psRatio,
      pbRatio,
      gap: withGaps ? gapForEquity(index) : null,
    },
    loadings,
    startPrice: clamp(60 * Math.exp(0.8 * normal()), 4, 2000),
    turnover: 0.008 * Math.exp(0.4 * normal()),
  };
}

function quadraticForm(matrix: readonly (readonly number[])[], vector: ArrayLike<number>): number {
  let sum = 0;
  for (let a = 0; a < vector.length; a++) {
    const row = matrix[a]!;
    for (let b = 0; b < vector.length; b++) sum += vector[a]! * row[b]! * vector[b]!;
  }
  return sum;
}

export function generateSyntheticMarket(options: SyntheticMarketOptions): SyntheticMarket {
  const withGaps = options.gaps ?? true;
  const calendar = weekdayCalendar(options.startDate, options.endDate);
  const days = calendar.length;
  const model = buildModel();
  const etfCount = etfSpecs.length;
  const etfReturns = simulateEtfReturns(options.seed, days);
  const count = etfCount + options.equities;
  const closes = new Float64Array(count * days).fill(Number.NaN);
  const volumes = new Float64Array(count * days).fill(Number.NaN);
  const instruments: SyntheticInstrument[] = [];
  const gaps: SyntheticGap[] = [];
  const dayReturns = new Float64Array(days);

  // Prices compound the day's simple return; 4 decimals like a data vendor's adjusted closes.
  const writePath = (
    slot: number,
    startPrice: number,
    baseVolume: number,
    normal: () => number,
    kind: SyntheticGapKind | null,
  ) => {
    let close = startPrice;
    let first = -1;
    let last = -1;
    for (let t = 0; t < days; t++) {
      if (t > 0) close *= 1 + Math.max(dayReturns[t]!, -0.5);
      const volumeNoise = Math.exp(0.3 * normal());
      if (isMissing(kind, t, days)) continue;
      if (first < 0) {
        // A late listing starts trading at its own start price.
        close = startPrice;
        first = t;
      }
      closes[slot * days + t] = Math.max(round(close, 4), 0.0001);
      volumes[slot * days + t] = Math.round(baseVolume * volumeNoise);
      last = t;
    }
    return { first, last };
  };

  for (let k = 0; k < etfCount; k++) {
    const spec = etfSpecs[k]!;
    const normal = createNormal(createRandom(mixSeed(options.seed, -2 - k)));
    for (let t = 0; t < days; t++) dayReturns[t] = etfReturns[k * days + t]!;
    const { first, last } = writePath(k, spec.startPrice, (spec.assets / spec.startPrice) * 0.01, normal, null);
    instruments.push({
      symbol: spec.symbol,
      assetType: "etf",
      sector: "ETF",
      industry: "Exchange Traded Fund",
      companyName: `${spec.name} (synthetic)`,
      trueBetas: { [spec.symbol]: 1 },
      alpha: 0,
      idiosyncraticVol: 0,
      marketCap: spec.assets,
      enterpriseValue: null,
      peRatio: null,
      psRatio: null,
      pbRatio: null,
      listedOn: calendar[first] ?? options.startDate,
      lastTradedOn: calendar[last] ?? options.startDate,
      delistedOn: null,
      gap: null,
    });
  }

  for (let i = 0; i < options.equities; i++) {
    const draw = drawEquity(options.seed, i, model, withGaps);
    const normal = createNormal(createRandom(mixSeed(options.seed ^ 0x5bd1e995, i)));
    const { alpha, idiosyncraticVol } = draw.instrument;
    const loadings = draw.loadings;
    for (let t = 0; t < days; t++) {
      let r = alpha + idiosyncraticVol * normal();
      for (let k = 0; k < etfCount; k++) {
        const loading = loadings[k]!;
        if (loading !== 0) r += loading * etfReturns[k * days + t]!;
      }
      dayReturns[t] = r;
    }
    const slot = etfCount + i;
    const kind = draw.instrument.gap;
    const shares = draw.instrument.marketCap / draw.startPrice;
    const { first, last } = writePath(slot, draw.startPrice, shares * draw.turnover, normal, kind);
    const delisted = kind === "delisting" && last >= 0 && last < days - 1;
    instruments.push({
      ...draw.instrument,
      listedOn: calendar[first] ?? options.startDate,
      lastTradedOn: calendar[last] ?? options.startDate,
      delistedOn: delisted ? calendar[last + 1]! : null,
    });
    if (kind !== null) {
      const missingDates: string[] = [];
      for (let t = 0; t < days; t++) if (isMissing(kind, t, days)) missingDates.push(calendar[t]!);
      gaps.push({ symbol: draw.instrument.symbol, kind, missingDates });
    }
  }

  const prices: SyntheticPrice[] = [];
  if (options.priceRows ?? true) {
    for (let slot = 0; slot < count; slot++) {
      const symbol = instruments[slot]!.symbol;
      for (let t = 0; t < days; t++) {
        const close = closes[slot * days + t]!;
        if (Number.isNaN(close)) continue;
        prices.push({ symbol, date: calendar[t]!, close, volume: volumes[slot * days + t]!, source: "synthetic" });
      }
    }
  }
  return { calendar, instruments, prices, series: { days, closes, volumes }, model, gaps };
}

/** The closes of one instrument aligned to `market.calendar` (NaN = no close), without copying. */
export function closesOf(market: SyntheticMarket, symbol: string): Float64Array {
  const slot = market.instruments.findIndex((instrument) => instrument.symbol === symbol);
  if (slot < 0) throw new Error(`${symbol} is not in the synthetic market`);
  const { days, closes } = market.series;
  return closes.subarray(slot * days, (slot + 1) * days);
}

/** How a factor's regressor is built, as in `factor_definitions`. */
export interface FactorRegressor {
  key: string;
  method: "ols" | "ridge" | "spread";
  inputSymbol?: string | null;
  longSymbol?: string | null;
  shortSymbol?: string | null;
}

export interface ImpliedBetaOptions {
  /**
   * With a ridge α and a sample size n, the style targets include ridge's shrinkage:
   * on standardized columns b = (n·R + α·I)⁻¹ · n · D⁻¹ c, beta = D⁻¹ b, the population analogue
   * of the engine's estimate. Without them (default) the targets are the unshrunk joint loadings.
   */
  ridgeAlpha?: number;
  observations?: number;
}

/**
 * The population value of every factor beta the engine estimates for `instrument`, from the
 * generating model's covariance (see the header): univariate OLS slopes for `ols` and `spread`
 * factors, the joint regression on all `ridge` inputs for style factors. Keyed by factor key.
 */
export function impliedFactorBetas(
  instrument: SyntheticInstrument,
  market: SyntheticMarket,
  factors: readonly FactorRegressor[] = defaultFactors,
  options: ImpliedBetaOptions = {},
): Record<string, number> {
  const { etfSymbols, covariance } = market.model;
  const indexOf = (symbol: string | null | undefined): number => {
    const index = symbol ? etfSymbols.indexOf(symbol) : -1;
    if (index < 0) throw new Error(`no synthetic ETF ${String(symbol)} for a factor regressor`);
    return index;
  };
  const loadings = etfSymbols.map((symbol) => instrument.trueBetas[symbol] ?? 0);
  // Cov(r_i, E_k) = (Σ b_i)_k: the idiosyncratic part is independent of every ETF.
  const covWithEtfs = covariance.map((row) => row.reduce((sum, value, k) => sum + value * loadings[k]!, 0));
  const result: Record<string, number> = {};

  for (const factor of factors) {
    if (factor.method === "ols") {
      const k = indexOf(factor.inputSymbol);
      result[factor.key] = covWithEtfs[k]! / covariance[k]![k]!;
    } else if (factor.method === "spread") {
      const long = indexOf(factor.longSymbol);
      const short = indexOf(factor.shortSymbol);
      const variance = covariance[long]![long]! + covariance[short]![short]! - 2 * covariance[long]![short]!;
      result[factor.key] = (covWithEtfs[long]! - covWithEtfs[short]!) / variance;
    }
  }

  const ridge = factors.filter((factor) => factor.method === "ridge");
  if (ridge.length > 0) {
    const columns = ridge.map((factor) => indexOf(factor.inputSymbol));
    const scale = columns.map((k) => Math.sqrt(covariance[k]![k]!));
    const alpha = options.ridgeAlpha ?? 0;
    const n = options.observations ?? 1;
    // Standardized normal equations: (n·R + α·I) b = n · D⁻¹ c.
    const matrix = columns.map((ka, a) =>
      columns.map((kb, b) => (n * covariance[ka]![kb]!) / (scale[a]! * scale[b]!) + (a === b ? alpha : 0)),
    );
    const rhs = columns.map((k, a) => (n * covWithEtfs[k]!) / scale[a]!);
    const standardized = solveLinearSystem(matrix, rhs);
    ridge.forEach((factor, a) => {
      result[factor.key] = standardized[a]! / scale[a]!;
    });
  }
  return result;
}

/** Population daily volatility of an instrument's return under the generating model. */
export function modelDailyVolatility(instrument: SyntheticInstrument, market: SyntheticMarket): number {
  const loadings = market.model.etfSymbols.map((symbol) => instrument.trueBetas[symbol] ?? 0);
  return Math.sqrt(quadraticForm(market.model.covariance, loadings) + instrument.idiosyncraticVol ** 2);
}

/** Gaussian elimination with partial pivoting; the systems here are small and well-conditioned. */
export function solveLinearSystem(matrix: readonly (readonly number[])[], rhs: readonly number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row]![col]!) > Math.abs(a[pivot]![col]!)) pivot = row;
    if (a[pivot]![col] === 0) throw new Error("singular system");
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const pivotRow = a[col]!;
    for (let row = col + 1; row < n; row++) {
      const target = a[row]!;
      const factor = target[col]! / pivotRow[col]!;
      for (let c = col; c <= n; c++) target[c] = target[c]! - factor * pivotRow[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    const r = a[row]!;
    let sum = r[n]!;
    for (let c = row + 1; c < n; c++) sum -= r[c]! * x[c]!;
    x[row] = sum / r[row]!;
  }
  return x;
}
