// Factor engine benchmark: `npm run bench:factors` (node scripts/bench-factors.ts).
//
// A synthetic universe of 5,000 equities plus the factor ETFs and the 12 default factors,
// with a weekday calendar long enough that every date of a 252-date backfill has a full
// 365-day window (≈ 2 years of daily closes). Gaps as real data has them: late listings,
// delistings, halts, scattered missing days. Prints the figures and writes them to
// bench-results/factors.json. Data generation and input building are timed separately from
// the engine. Targets (2-core machine): one date ≤ 100 ms, the 252-date backfill ≤ 10 s,
// peak RSS ≤ 1 GiB, shared path ≥ 10× faster than the per-symbol path.
import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { defaultFactors } from "../schema/seed/default-factors.ts";
import {
  buildFactorEngineInput,
  computeBackfill,
  computeSymbolBetasDirect,
  computeUniverseBetas,
} from "../worker/factors/engine.ts";
import type { PriceRow } from "../worker/factors/engine.ts";
import type { FactorSpec } from "../worker/factors/types.ts";
import { defaultFactorSpecs } from "../worker/factors/factor-specs.ts";

const equities = Number(process.env.BENCH_EQUITIES ?? 5000);
const backfillDates = 252;
const seed = 20240611;

const factorSpecs: readonly FactorSpec[] = defaultFactorSpecs;

function createRandom(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weekdaysEndingOn(endDate: string, count: number): string[] {
  const dates: string[] = [];
  for (let t = Date.parse(`${endDate}T00:00:00Z`); dates.length < count; t -= 86_400_000) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) dates.push(new Date(t).toISOString().slice(0, 10));
  }
  return dates.reverse();
}

const etfs: readonly { symbol: string; marketBeta: number; noise: number }[] = [
  { symbol: "SPY", marketBeta: 1, noise: 0 },
  { symbol: "TLT", marketBeta: -0.25, noise: 0.008 },
  { symbol: "VTV", marketBeta: 0.9, noise: 0.003 },
  { symbol: "VUG", marketBeta: 1.1, noise: 0.0035 },
  { symbol: "MTUM", marketBeta: 1.0, noise: 0.005 },
  { symbol: "QUAL", marketBeta: 0.95, noise: 0.0025 },
  { symbol: "IWM", marketBeta: 1.15, noise: 0.006 },
  { symbol: "USMV", marketBeta: 0.7, noise: 0.003 },
  { symbol: "QQQ", marketBeta: 1.15, noise: 0.004 },
];

/** Price rows, produced lazily so the generator never holds millions of row objects. */
function* generatePriceRows(calendar: readonly string[]): Generator<PriceRow> {
  const random = createRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const days = calendar.length;
  const market = Float64Array.from({ length: days }, () => 0.0004 + 0.011 * normal());
  const etfReturns = etfs.map((etf) => Float64Array.from(market, (m) => etf.marketBeta * m + etf.noise * normal()));
  const closes = new Float64Array(days);
  const emit = function* (symbol: string, returns: Float64Array, missing: (t: number) => boolean): Generator<PriceRow> {
    let close = 20 + random() * 380;
    for (let t = 0; t < days; t++) {
      close *= 1 + returns[t]!;
      closes[t] = Math.round(close * 10_000) / 10_000;
    }
    for (let t = 0; t < days; t++) {
      if (missing(t)) continue;
      yield { symbol, date: calendar[t]!, close: closes[t]!, adjClose: closes[t]! };
    }
  };
  for (let e = 0; e < etfs.length; e++) yield* emit(etfs[e]!.symbol, etfReturns[e]!, () => false);
  const returns = new Float64Array(days);
  for (let i = 0; i < equities; i++) {
    const betas = etfs.slice(0, 8).map((etf) => (etf.symbol === "SPY" ? 0.5 + random() * 1.1 : -0.3 + random() * 0.6));
    const alpha = (random() - 0.5) * 0.0004;
    const noise = 0.008 + random() * 0.014;
    for (let t = 0; t < days; t++) {
      let r = alpha + noise * normal();
      for (let e = 0; e < 8; e++) r += betas[e]! * etfReturns[e]![t]!;
      returns[t] = r;
    }
    const gap = random();
    const at = Math.floor(random() * days);
    // ~2% late listings, 1% delistings, 2% week-long halts, 2% scattered missing days.
    const missing =
      gap < 0.02 ? (t: number) => t < at
      : gap < 0.03 ? (t: number) => t > at
      : gap < 0.05 ? (t: number) => t >= at && t < at + 5
      : gap < 0.07 ? (t: number) => (t * 7919 + i) % 31 === 0
      : () => false;
    yield* emit(`SYN${String(i).padStart(5, "0")}`, returns, missing);
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}

function memory(): { rssMiB: number; heapUsedMiB: number; arrayBuffersMiB: number } {
  const usage = process.memoryUsage();
  return { rssMiB: mib(usage.rss), heapUsedMiB: mib(usage.heapUsed), arrayBuffersMiB: mib(usage.arrayBuffers) };
}

function time<T>(run: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = run();
  return { result, ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

// About 2 years of weekdays: 252 backfill dates plus a full 365-day window before the first.
const calendar = weekdaysEndingOn("2025-06-30", backfillDates + 262 + 5);
const lastDate = calendar[calendar.length - 1]!;

const generation = time(() => [...generatePriceRows(calendar)]);
const rows = generation.result;
const rowCount = rows.length;
const build = time(() => buildFactorEngineInput(rows, factorSpecs));
rows.length = 0;
const { input, rejectedPrices } = build.result;
const symbolCount = input.panel.symbols.length;
const afterBuild = memory();

// One date, shared path: first (cold) run, then the median of warm runs.
const sharedRuns: number[] = [];
const cold = time(() => computeUniverseBetas(input, lastDate));
let universe = cold.result;
for (let run = 0; run < 7; run++) {
  const timed = time(() => computeUniverseBetas(input, lastDate));
  sharedRuns.push(timed.ms);
  universe = timed.result;
}
const materialize = time(() => universe.toArray());

// One date, per-symbol path.
const directRuns: number[] = [];
let direct: ReturnType<typeof computeSymbolBetasDirect>[] = [];
for (let run = 0; run < 3; run++) {
  const timed = time(() => input.panel.symbols.map((symbol) => computeSymbolBetasDirect(input, symbol, lastDate)));
  directRuns.push(timed.ms);
  direct = timed.result;
}

// The two paths agree (sanity; the unit tests hold them to 1e-12).
let maxPathDifference = 0;
const shared = materialize.result;
for (let s = 0; s < symbolCount; s++) {
  for (const [key, a] of Object.entries(shared[s]!.betas)) {
    const b = direct[s]!.betas[key]!;
    if (a.status !== b.status) throw new Error(`paths disagree on ${shared[s]!.symbol} ${key}`);
    if (a.status === "estimated" && b.status === "estimated") {
      maxPathDifference = Math.max(maxPathDifference, Math.abs(a.rawBeta - b.rawBeta) / Math.max(1, Math.abs(a.rawBeta)));
    }
  }
}
direct = [];

// The backfill: the last 252 trading dates, streamed (one date's table alive at a time).
const dates = calendar.slice(-backfillDates);
let estimated = 0;
let missing = 0;
let checksum = 0;
const sampleDates = new Set([dates[0]!, dates[126]!, dates[251]!]);
let maxBackfillDifference = 0;
let checkMs = 0;
const backfill = time(() =>
  computeBackfill(input, dates, {
    onDate: (betas) => {
      for (let i = 0; i < betas.outcome.length; i++) {
        if (betas.outcome[i]! <= 3) {
          estimated++;
          checksum += betas.rawBeta[i]!;
        } else {
          missing++;
        }
      }
      if (sampleDates.has(betas.calculationDate)) {
        const checkStarted = performance.now();
        const single = computeUniverseBetas(input, betas.calculationDate);
        for (let i = 0; i < single.rawBeta.length; i++) {
          const a = single.rawBeta[i]!;
          if (a === a) maxBackfillDifference = Math.max(maxBackfillDifference, Math.abs(a - betas.rawBeta[i]!) / Math.max(1, Math.abs(a)));
        }
        checkMs += performance.now() - checkStarted;
      }
    },
  }),
);
const afterBackfill = memory();
const maxRssKiB = process.resourceUsage().maxRSS;

const sharedMs = median(sharedRuns);
const directMs = median(directRuns);
const results = {
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  universe: {
    symbols: symbolCount,
    equities,
    factors: factorSpecs.length,
    calendarDays: calendar.length,
    firstDate: calendar[0],
    lastDate,
    priceRows: rowCount,
    rejectedPrices: rejectedPrices.length,
  },
  dataGeneration: { ms: round(generation.ms, 0) },
  inputBuild: { ms: round(build.ms, 0), usPerRow: round((build.ms * 1000) / rowCount, 3) },
  oneDate: {
    calculationDate: lastDate,
    shared: {
      coldMs: round(cold.ms),
      medianMs: round(sharedMs),
      usPerSymbol: round((sharedMs * 1000) / symbolCount, 3),
      materializeMs: round(materialize.ms),
      medianWithMaterializeMs: round(sharedMs + materialize.ms),
    },
    perSymbol: { medianMs: round(directMs), usPerSymbol: round((directMs * 1000) / symbolCount, 3) },
    ratioPerSymbolOverShared: round(directMs / sharedMs, 1),
    ratioPerSymbolOverSharedWithMaterialize: round(directMs / (sharedMs + materialize.ms), 1),
    maxRelativeDifferenceBetweenPaths: maxPathDifference,
  },
  backfill: {
    dates: dates.length,
    firstDate: dates[0],
    lastDate: dates[dates.length - 1],
    ms: round(backfill.ms - checkMs, 0),
    msPerDate: round((backfill.ms - checkMs) / dates.length),
    usPerSymbolDate: round(((backfill.ms - checkMs) * 1000) / (dates.length * symbolCount), 3),
    stats: backfill.result.stats,
    estimatedBetas: estimated,
    missingBetas: missing,
    checksum: round(checksum, 6),
    maxRelativeDifferenceToSingleDate: maxBackfillDifference,
    excludedCheckMs: round(checkMs, 0),
    note: "wall time excludes the three single-date recomputations of the difference check; includes the consumer's pass over each table",
  },
  memory: { afterBuild, afterBackfill, peakRssMiB: round(maxRssKiB / 1024, 1) },
};

console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL("../bench-results/", import.meta.url), { recursive: true });
writeFileSync(new URL("../bench-results/factors.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
