// Factor engine benchmark: `npm run bench:factors` (node scripts/bench-factors.ts).
//
// A synthetic universe of 5,000 equities plus the factor ETFs and the 12 default factors,
// with a weekday calendar long enough that every date of a 252-date backfill has a full
// 365-day window (≈ 2 years of daily closes). Gaps as real data has them: late listings,
// delistings, halts, scattered missing days. Prints the figures and writes them to
// bench-results/factors.json. Data generation and input building are timed separately from
// the engine. Targets (2-core machine): one date ≤ 100 ms, the 252-date backfill ≤ 10 s,
// peak RSS ≤ 1 GiB, shared path ≥ 10× faster than the per-symbol path.
//
// Timing one date: the speed of a shared (virtual) machine drifts by tens of percent, within
// a second as well as over minutes, and garbage left by the input build gets collected during
// whichever runs come first. So the heap is collected before each round, and the two paths
// run finely interleaved: a round is `slices` shared runs, each followed by the per-symbol
// path over the next 1/`slices` of the symbols, so both paths sample the same stretches of
// time (a round's per-symbol time is the sum of its slices). Reported: median and minimum of
// each path (per-symbol: over rounds), the ratio of the medians, of the minimums, and the
// median over rounds of (round's per-symbol time / round's median shared run) — the steadiest.
import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  buildFactorEngineInput,
  computeBackfill,
  computeSymbolBetasDirect,
  computeUniverseBetas,
} from "../worker/factors/engine.ts";
import type { PriceRow, UniverseBetas } from "../worker/factors/engine.ts";
import type { FactorSpec } from "../worker/factors/types.ts";
import { generateSyntheticMarket, type SyntheticMarket } from "../worker/market-data/synthetic.ts";
import { defaultFactorSpecs } from "../worker/factors/factor-specs.ts";

const equities = Number(process.env.BENCH_EQUITIES ?? 5000);
const backfillDates = 252;
const seed = 20240611;

const factorSpecs: readonly FactorSpec[] = defaultFactorSpecs;

/**
 * Price rows of the project's synthetic market (worker/market-data/synthetic.ts, the same
 * generator as the demo and the recovery tests), read lazily from its typed arrays so the
 * benchmark never holds millions of generator-side row objects.
 */
function* priceRowsOf(market: SyntheticMarket): Generator<PriceRow> {
  const { days, closes } = market.series;
  for (let slot = 0; slot < market.instruments.length; slot++) {
    const symbol = market.instruments[slot]!.symbol;
    for (let t = 0; t < days; t++) {
      const close = closes[slot * days + t]!;
      // NaN marks a day without a close (late listing, halt, missing day, delisting).
      if (Number.isNaN(close)) continue;
      yield { symbol, date: market.calendar[t]!, close, adjClose: close };
    }
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

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A full garbage collection, outside the timed regions (`global.gc` without a command-line flag). */
function exposeGarbageCollection(): () => void {
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext("gc");
  return typeof gc === "function" ? () => void gc() : () => undefined;
}
const collectGarbage = exposeGarbageCollection();

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

// About 2 years of weekdays: 252 backfill dates plus a full 365-day window before the first.
const generation = time(() => {
  const market = generateSyntheticMarket({
    seed,
    equities,
    startDate: "2023-07-03",
    endDate: "2025-06-30",
    priceRows: false,
  });
  return { market, rows: [...priceRowsOf(market)] };
});
const { market, rows } = generation.result;
const calendar = market.calendar;
const lastDate = calendar[calendar.length - 1]!;
const rowCount = rows.length;
const build = time(() => buildFactorEngineInput(rows, factorSpecs));
rows.length = 0;
const { input, rejectedPrices } = build.result;
const symbolCount = input.panel.symbols.length;
const afterBuild = memory();

// One date: the shared path's first (cold) run, a per-symbol warm-up over a tenth of the
// symbols (compiles its code), then the interleaved rounds (see the header).
const rounds = 5;
const slices = 16;
collectGarbage();
const fitPaths = { complete: 0, sharedPattern: 0, downdated: 0, perSymbol: 0 };
const cold = time(() => computeUniverseBetas(input, lastDate, { fitPaths }));
let universe = cold.result;
for (const symbol of input.panel.symbols.slice(0, Math.ceil(symbolCount / 10)))
  computeSymbolBetasDirect(input, symbol, lastDate);
const sharedRuns: number[] = [];
const directRuns: number[] = [];
const roundRatios: number[] = [];
let direct: ReturnType<typeof computeSymbolBetasDirect>[] = [];
for (let r = 0; r < rounds; r++) {
  direct = [];
  collectGarbage();
  const roundShared: number[] = [];
  let roundDirectMs = 0;
  for (let slice = 0; slice < slices; slice++) {
    const shared = time(() => computeUniverseBetas(input, lastDate));
    roundShared.push(shared.ms);
    universe = shared.result;
    const symbols = input.panel.symbols.slice(
      Math.floor((slice * symbolCount) / slices),
      Math.floor(((slice + 1) * symbolCount) / slices),
    );
    const timed = time(() => symbols.map((symbol) => computeSymbolBetasDirect(input, symbol, lastDate)));
    roundDirectMs += timed.ms;
    direct.push(...timed.result);
  }
  sharedRuns.push(...roundShared);
  directRuns.push(roundDirectMs);
  roundRatios.push(roundDirectMs / median(roundShared));
}
const materialize = time(() => universe.toArray());

// The two paths agree (sanity; the unit tests hold them to 1e-12).
let maxPathDifference = 0;
const shared = materialize.result;
for (let s = 0; s < symbolCount; s++) {
  for (const [key, a] of Object.entries(shared[s]!.betas)) {
    const b = direct[s]!.betas[key]!;
    if (a.status !== b.status) throw new Error(`paths disagree on ${shared[s]!.symbol} ${key}`);
    if (a.status === "estimated" && b.status === "estimated") {
      maxPathDifference = Math.max(
        maxPathDifference,
        Math.abs(a.rawBeta - b.rawBeta) / Math.max(1, Math.abs(a.rawBeta)),
      );
    }
  }
}
direct = [];

// The backfill: the last 252 trading dates, streamed (one date's table alive at a time).
const dates = calendar.slice(-backfillDates);
const sampleDates = new Set([dates[0]!, dates[126]!, dates[251]!]);
const tally = { estimated: 0, missing: 0, checksum: 0, maxBackfillDifference: 0, checkMs: 0 };
function tallyTable(betas: UniverseBetas): void {
  // Counters updated inside the loop: the loop is compiled while it runs (on-stack
  // replacement), and code after it would have had no type feedback yet — a deoptimization on
  // every date.
  const outcome = betas.outcome;
  const rawBeta = betas.rawBeta;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i]! <= 3) {
      tally.estimated++;
      tally.checksum += rawBeta[i]!;
    } else {
      tally.missing++;
    }
  }
}
function checkAgainstSingleDate(betas: UniverseBetas): void {
  const checkStarted = performance.now();
  const single = computeUniverseBetas(input, betas.calculationDate);
  for (let i = 0; i < single.rawBeta.length; i++) {
    const a = single.rawBeta[i]!;
    if (!Number.isNaN(a))
      tally.maxBackfillDifference = Math.max(
        tally.maxBackfillDifference,
        Math.abs(a - betas.rawBeta[i]!) / Math.max(1, Math.abs(a)),
      );
  }
  tally.checkMs += performance.now() - checkStarted;
}
const backfill = time(() =>
  computeBackfill(input, dates, {
    // The consumer's work in plain functions (`tallyTable`), checked with --trace-deopt.
    onDate: (betas) => {
      tallyTable(betas);
      if (sampleDates.has(betas.calculationDate)) checkAgainstSingleDate(betas);
    },
  }),
);
const afterBackfill = memory();
const maxRssKiB = process.resourceUsage().maxRSS;

const sharedMs = median(sharedRuns);
const directMs = median(directRuns);
const sharedMinMs = Math.min(...sharedRuns);
const directMinMs = Math.min(...directRuns);
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
      minMs: round(sharedMinMs),
      runs: sharedRuns.length,
      usPerSymbol: round((sharedMs * 1000) / symbolCount, 3),
      materializeMs: round(materialize.ms),
      medianWithMaterializeMs: round(sharedMs + materialize.ms),
      /** How each symbol × observation set was fitted (universe.ts, `FitPathCounts`). */
      fitPaths,
    },
    perSymbol: {
      medianMs: round(directMs),
      minMs: round(directMinMs),
      runs: directRuns.length,
      usPerSymbol: round((directMs * 1000) / symbolCount, 3),
    },
    ratioPerSymbolOverShared: round(directMs / sharedMs, 1),
    ratioOfMinimums: round(directMinMs / sharedMinMs, 1),
    ratioMedianOverRounds: round(median(roundRatios), 1),
    ratioRangeOverRounds: [round(Math.min(...roundRatios), 1), round(Math.max(...roundRatios), 1)],
    ratioPerSymbolOverSharedWithMaterialize: round(directMs / (sharedMs + materialize.ms), 1),
    maxRelativeDifferenceBetweenPaths: maxPathDifference,
  },
  backfill: {
    dates: dates.length,
    firstDate: dates[0],
    lastDate: dates[dates.length - 1],
    ms: round(backfill.ms - tally.checkMs, 0),
    msPerDate: round((backfill.ms - tally.checkMs) / dates.length),
    usPerSymbolDate: round(((backfill.ms - tally.checkMs) * 1000) / (dates.length * symbolCount), 3),
    stats: backfill.result.stats,
    estimatedBetas: tally.estimated,
    missingBetas: tally.missing,
    checksum: round(tally.checksum, 6),
    maxRelativeDifferenceToSingleDate: tally.maxBackfillDifference,
    excludedCheckMs: round(tally.checkMs, 0),
    note:
      "wall time excludes the three single-date recomputations of the difference check; " +
      "includes the consumer's pass over each table",
  },
  memory: { afterBuild, afterBackfill, peakRssMiB: round(maxRssKiB / 1024, 1) },
};

console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL("../bench-results/", import.meta.url), { recursive: true });
writeFileSync(new URL("../bench-results/factors.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
