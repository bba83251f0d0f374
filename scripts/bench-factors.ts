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
//
// The risk model (issue 17, docs/design.md §11), on the same panel and date, measured in the
// same run and printed as ratios:
// - `oneDate.riskModel`: loadings of every symbol + the factor covariance vs the 12 lens factors, runs
//   interleaved pair by pair (order alternating), medians; target risk / lens ≤ 1.
// - `numpyBaseline`: scripts/bench-risk-numpy.py times a vectorized numpy solve of the same
//   loadings (and standard errors) over the symbols with complete history, which this script
//   writes to a temporary directory (float64 little-endian, plus a JSON header); its results for
//   a few symbols must equal the engine's to 1e-9 relative (else the run exits 1). Target
//   numpy / engine ≥ 1 (numpy no faster). Skipped, with the reason, when Debian's
//   /usr/bin/python3 (`BENCH_PYTHON` to use another) or its numpy is missing. Beside it,
//   `numpyBaseline.floor`: the same symbols' products and sums alone on contiguous rows, with the
//   engine's kernels and with WebAssembly SIMD (bench-factors/products-floor.ts), the least any
//   engine of this design does; numpy's whole solve / the SIMD floor < 1 means no such engine can
//   be level with numpy here.
// - `backfillEverything`: the 252-date backfill of the lens betas, the risk loadings and one
//   covariance per date vs the lens-only backfill above; target ≤ 2×.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  buildFactorEngineInput,
  computeBackfill,
  computeSymbolBetasDirect,
  computeUniverseBetas,
  Outcome,
} from "../worker/factors/engine.ts";
import type { PriceRow, UniverseBetas } from "../worker/factors/engine.ts";
import type { FactorSpec } from "../worker/factors/types.ts";
import { generateSyntheticMarket, type SyntheticMarket } from "../worker/market-data/synthetic.ts";
import { defaultFactorSpecs } from "../worker/factors/factor-specs.ts";
import {
  computeFactorCovariance,
  computeRiskBackfill,
  computeUniverseRiskLoadings,
  createRiskEngineInput,
  riskFactorReturnSeries,
} from "../worker/factors/risk-model.ts";
import type { FactorCovariance, RiskFactorSpec, RiskLoadingsTable } from "../worker/factors/risk-model.ts";
import { defaultRiskModelSettings } from "../worker/factors/risk-settings.ts";
import { dayNumber, windowEnd, windowStart } from "../worker/factors/returns.ts";
import type { ReturnPanel } from "../worker/factors/returns.ts";
import { defaultRiskFactors } from "../schema/seed/default-risk-factors.ts";
import { planDate } from "../worker/factors/universe.ts";
import { floorColumns, measureProductsFloor } from "./bench-factors/products-floor.ts";
import type { ProductsFloor } from "./bench-factors/products-floor.ts";

const equities = Number(process.env.BENCH_EQUITIES ?? 5000);
const backfillDates = 252;
const seed = 20240611;

const factorSpecs: readonly FactorSpec[] = defaultFactorSpecs;
const riskFactorSpecs: readonly RiskFactorSpec[] = defaultRiskFactors.map((f) => ({
  id: f.id,
  key: f.key,
  name: f.name,
  longSymbol: f.longSymbol,
  shortSymbol: f.shortSymbol ?? null,
}));

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

// --- The risk model's tables, read through these few functions only. ---

/** One symbol's risk loadings and their standard errors from the engine's table; null when it has none. */
function engineLoadingsOf(
  table: RiskLoadingsTable,
  symbolIndex: number,
): { loadings: number[]; standardErrors: number[] } | null {
  const row = table.loadings(symbolIndex);
  if (row.status !== "estimated") return null;
  return {
    loadings: riskFactorSpecs.map((f) => row.loadings[f.key]!),
    standardErrors: riskFactorSpecs.map((f) => row.standardErrors[f.key]!),
  };
}

/** How many symbols got loadings, and a checksum of the loadings (the consumer's pass over a table). */
interface RiskTally {
  estimated: number;
  missing: number;
  checksum: number;
}
function tallyRiskTable(table: RiskLoadingsTable, into: RiskTally): void {
  // Over the typed arrays under the table (as the lens tally), one outcome per symbol × factor.
  const { outcome, rawBeta, factorCount } = table.table;
  for (let i = 0; i < outcome.length; i += factorCount) {
    if (outcome[i]! <= Outcome.degenerateEstimate) {
      into.estimated++;
      for (let k = 0; k < factorCount; k++) into.checksum += rawBeta[i + k]!;
    } else {
      into.missing++;
    }
  }
}
/** Largest difference between two tables' loadings, relative to max(1, |loading|) as the lens check. */
function compareRiskTables(a: RiskLoadingsTable, b: RiskLoadingsTable): number {
  let max = 0;
  for (let s = 0; s < input.panel.symbols.length; s++) {
    const x = engineLoadingsOf(a, s);
    const y = engineLoadingsOf(b, s);
    if ((x === null) !== (y === null)) throw new Error(`risk tables disagree on ${input.panel.symbols[s]}`);
    if (x === null || y === null) continue;
    for (let k = 0; k < x.loadings.length; k++) {
      const loading = y.loadings[k]!;
      max = Math.max(max, Math.abs(x.loadings[k]! - loading) / Math.max(1, Math.abs(loading)));
    }
  }
  return max;
}
/** The sum of a covariance's entries (a consumer's pass over it; 0 when the date has none). */
function covarianceSum(covariance: FactorCovariance): number {
  if (covariance.status !== "estimated") return 0;
  let sum = 0;
  for (const row of covariance.matrix) for (const value of row) sum += value;
  return sum;
}
function summarizeRiskTable(table: RiskLoadingsTable): RiskTally {
  const into = { estimated: 0, missing: 0, checksum: 0 };
  tallyRiskTable(table, into);
  return into;
}

/** Largest relative difference |a − b| / |b| over paired values (b the reference). */
function maxRelativeDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} values against ${b.length}`);
  let max = 0;
  for (let i = 0; i < b.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return max;
}

/** A panel of some of `panel`'s symbols (same calendar), rows copied. */
function subPanel(panel: ReturnPanel, symbolIndexes: readonly number[]): ReturnPanel {
  const days = panel.calendar.length;
  const returns = new Float64Array(symbolIndexes.length * days);
  const symbols = symbolIndexes.map((s, i) => {
    returns.set(panel.returns.subarray(s * days, (s + 1) * days), i * days);
    return panel.symbols[s]!;
  });
  return {
    calendar: panel.calendar,
    calendarDays: panel.calendarDays,
    symbols,
    symbolIndex: new Map(symbols.map((symbol, i) => [symbol, i])),
    returns,
  };
}

interface NumpyTiming {
  medianMs: number;
  minMs: number;
  runs: number;
}
interface NumpyCheck {
  symbol: string;
  loadings: number[];
  standardErrors: number[];
  residualVariance: number;
  rSquared: number;
}
interface NumpyOutput {
  numpy: string;
  python: string;
  blas: unknown;
  observations: number;
  factors: number;
  symbols: number;
  warmup: number;
  variants: Record<string, NumpyTiming>;
  fastest: string;
  medianMs: number;
  minMs: number;
  singleThread: NumpyTiming | null;
  maxRelativeDifferenceBetweenVariants: { loadings: number; standardErrors: number };
  check: NumpyCheck[];
}

/** Debian's Python (with python3-numpy); `BENCH_PYTHON` overrides it. */
const python = process.env["BENCH_PYTHON"] ?? "/usr/bin/python3";
const numpyScript = fileURLToPath(new URL("./bench-risk-numpy.py", import.meta.url));
/** Symbols whose numpy results are checked against the engine's. */
const numpyCheckSymbols = 8;

/**
 * The floor under any engine (scripts/bench-factors/products-floor.ts): the complete symbols'
 * products with the joint regression's own weight columns (the engine's plan for the date) and
 * their sums, on contiguous rows of deviations d_i = y_i − y_0 over the factor dates (numpy's
 * layout), and, when the factor dates are consecutive trading days, on rows at the panel's
 * stride (the engine's layout: a symbol's whole calendar per row).
 */
async function productsFloorOf(
  complete: readonly number[],
  factorDates: readonly number[],
): Promise<{ contiguous: ProductsFloor; panelRows: ProductsFloor | null } | { skipped: string }> {
  const summary = planDate(riskInput.engine, lastDate).summaries[0];
  if (summary === undefined || summary.columnCount !== floorColumns || summary.observations !== factorDates.length)
    return { skipped: `the kernel is written for ${floorColumns} risk factors on the plan's dates` };
  const n = factorDates.length;
  const m = complete.length;
  const days = input.panel.calendar.length;
  const returns = input.panel.returns;
  const start = factorDates[0]!;
  // One row per complete symbol: its returns on `columns` (calendar indices) less its first factor date's.
  const deviationRows = (columns: readonly number[]): Float64Array => {
    const rows = new Float64Array(m * columns.length);
    complete.forEach((s, j) => {
      const first = returns[s * days + start]!;
      columns.forEach((t, i) => {
        rows[j * columns.length + i] = returns[s * days + t]! - first;
      });
    });
    return rows;
  };
  const contiguous = await measureProductsFloor(
    { values: deviationRows(factorDates), m, n, stride: n, offset: 0 },
    summary.weights,
    31,
  );
  if (factorDates[n - 1]! - start !== n - 1) return { contiguous, panelRows: null };
  const panelRows = await measureProductsFloor(
    { values: deviationRows(Array.from({ length: days }, (_, t) => t)), m, n, stride: days, offset: start },
    summary.weights,
    31,
  );
  return { contiguous, panelRows };
}

/** Runs scripts/bench-risk-numpy.py on the complete-history symbols of `lastDate` (see the call). */
async function runNumpyBaseline() {
  const panel = input.panel;
  const days = panel.calendar.length;
  const { keys, series } = riskFactorReturnSeries(riskInput);
  const endDay = dayNumber(lastDate);
  const from = windowStart(panel.calendarDays, endDay, defaultRiskModelSettings.windowDays);
  const to = windowEnd(panel.calendarDays, endDay);
  const factorDates: number[] = [];
  for (let t = from; t < to; t++) if (series.every((f) => !Number.isNaN(f[t]!))) factorDates.push(t);
  const factorSymbols = new Set(riskFactorSpecs.flatMap((f) => [f.longSymbol, f.shortSymbol ?? f.longSymbol]));
  const complete: number[] = [];
  for (let s = 0; s < panel.symbols.length; s++) {
    if (factorSymbols.has(panel.symbols[s]!)) continue;
    const row = s * days;
    if (factorDates.every((t) => !Number.isNaN(panel.returns[row + t]!))) complete.push(s);
  }
  const n = factorDates.length;
  const k = series.length;
  const m = complete.length;
  const shape = { observations: n, factors: k, completeSymbols: m, universeSymbols: panel.symbols.length };

  // The engine's loadings over a panel of only those symbols (plus the factor ETFs, which the
  // factor returns need): the same work as numpy's, give or take the 8 ETFs.
  const completePanelInput = createRiskEngineInput(
    subPanel(panel, [...complete, ...[...factorSymbols].flatMap((symbol) => panel.symbolIndex.get(symbol) ?? [])]),
    riskFactorSpecs,
  );
  // Both engine figures again, interleaved (order alternating), just before numpy runs.
  for (let warm = 0; warm < 3; warm++) computeUniverseRiskLoadings(completePanelInput, lastDate);
  collectGarbage();
  const universeRuns: number[] = [];
  const completePanelRuns: number[] = [];
  for (let r = 0; r < 31; r++) {
    const universeFirst = r % 2 === 0;
    if (universeFirst) universeRuns.push(time(() => computeUniverseRiskLoadings(riskInput, lastDate)).ms);
    completePanelRuns.push(time(() => computeUniverseRiskLoadings(completePanelInput, lastDate)).ms);
    if (!universeFirst) universeRuns.push(time(() => computeUniverseRiskLoadings(riskInput, lastDate)).ms);
  }
  const engineUniverseMs = median(universeRuns);
  const engineCompleteMs = median(completePanelRuns);
  const engine = {
    universeLoadingsMedianMs: round(engineUniverseMs),
    universeLoadingsMinMs: round(Math.min(...universeRuns)),
    completePanelLoadingsMedianMs: round(engineCompleteMs),
    completePanelLoadingsMinMs: round(Math.min(...completePanelRuns)),
    runs: completePanelRuns.length,
  };

  const floor = await productsFloorOf(complete, factorDates);
  for (const measured of "contiguous" in floor ? [floor.contiguous, floor.panelRows] : []) {
    if (measured !== null && measured.maxRelativeDifference !== 0) {
      process.exitCode = 1;
      console.error(`bench:factors: the SIMD products differ from dotProduct's (${measured.maxRelativeDifference})`);
    }
  }
  const simdMs = "contiguous" in floor ? floor.contiguous.webAssemblySimd.medianMs : null;

  const skipped = (reason: string) => {
    console.error(`bench:factors: numpy comparison skipped: ${reason}`);
    return { skipped: true as const, reason, ...shape, engine, floor };
  };
  if (new Uint8Array(new Float64Array([1]).buffer)[7] !== 0x3f) return skipped("this machine is not little-endian");
  const directory = mkdtempSync(join(tmpdir(), "bench-risk-numpy-"));
  let run: ReturnType<typeof spawnSync>;
  try {
    const x = new Float64Array(n * k);
    const y = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      const t = factorDates[i]!;
      for (let f = 0; f < k; f++) x[i * k + f] = series[f]![t]!;
      for (let j = 0; j < m; j++) y[i * m + j] = panel.returns[complete[j]! * days + t]!;
    }
    writeFileSync(join(directory, "x.f64"), x);
    writeFileSync(join(directory, "y.f64"), y);
    const header = {
      observations: n,
      factors: k,
      symbols: m,
      factorKeys: keys,
      symbolNames: complete.map((s) => panel.symbols[s]!),
      check: numpyCheckSymbols,
      x: "x.f64",
      y: "y.f64",
    };
    writeFileSync(join(directory, "header.json"), JSON.stringify(header));
    run = spawnSync(python, [numpyScript, directory], { encoding: "utf8", maxBuffer: 64 << 20, timeout: 600_000 });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  if (run.error !== undefined) {
    const code = (run.error as NodeJS.ErrnoException).code;
    return skipped(code === "ENOENT" ? `${python} not found` : `${python} failed to run: ${run.error.message}`);
  }
  const stderr = String(run.stderr);
  if (run.status !== 0) {
    if (/No module named '?numpy/.test(stderr))
      return skipped(`numpy is not installed for ${python} (apt-get install -y python3-numpy)`);
    process.exitCode = 1;
    return skipped(`scripts/bench-risk-numpy.py exited with ${run.status}: ${stderr.trim().split("\n").at(-1)}`);
  }
  const output = JSON.parse(String(run.stdout)) as NumpyOutput;

  // Same numbers? numpy's results for the first symbols against the engine's table.
  let maxLoadingDifference = 0;
  let maxStandardErrorDifference = 0;
  for (const expected of output.check) {
    const actual = engineLoadingsOf(riskTable, panel.symbolIndex.get(expected.symbol)!);
    if (actual === null) throw new Error(`the engine has no risk loadings for ${expected.symbol}, numpy does`);
    maxLoadingDifference = Math.max(maxLoadingDifference, maxRelativeDifference(actual.loadings, expected.loadings));
    maxStandardErrorDifference = Math.max(
      maxStandardErrorDifference,
      maxRelativeDifference(actual.standardErrors, expected.standardErrors),
    );
  }
  const agree = maxLoadingDifference <= 1e-9 && maxStandardErrorDifference <= 1e-9;
  if (!agree) {
    process.exitCode = 1;
    console.error(
      `bench:factors: numpy and the engine disagree (loadings ${maxLoadingDifference}, ` +
        `standard errors ${maxStandardErrorDifference}): the comparison is void`,
    );
  }
  return {
    skipped: false as const,
    ...shape,
    numpy: {
      version: output.numpy,
      python: output.python,
      blas: output.blas,
      medianMs: round(output.medianMs, 3),
      minMs: round(output.minMs, 3),
      fastestVariant: output.fastest,
      variants: Object.fromEntries(
        Object.entries(output.variants).map(([name, v]) => [
          name,
          { medianMs: round(v.medianMs, 3), minMs: round(v.minMs, 3), runs: v.runs },
        ]),
      ),
      warmup: output.warmup,
      singleThread:
        output.singleThread === null
          ? null
          : { medianMs: round(output.singleThread.medianMs, 3), minMs: round(output.singleThread.minMs, 3) },
      maxRelativeDifferenceBetweenVariants: output.maxRelativeDifferenceBetweenVariants,
    },
    engine,
    floor,
    /** numpy's whole solve / the SIMD products alone: below 1, no engine doing this work is level with numpy. */
    ratioNumpyOverSimdProducts: simdMs === null ? null : round(output.medianMs / simdMs, 2),
    ratioNumpySingleThreadOverSimdProducts:
      simdMs === null || output.singleThread === null ? null : round(output.singleThread.medianMs / simdMs, 2),
    ratioNumpyOverSimdProductsOnPanelRows:
      "contiguous" in floor && floor.panelRows !== null
        ? round(output.medianMs / floor.panelRows.webAssemblySimd.medianMs, 2)
        : null,
    /** numpy / engine: ≥ 1 means numpy is no faster (the target). */
    ratioNumpyOverEngineUniverse: round(output.medianMs / engineUniverseMs, 2),
    ratioNumpyOverEngineCompletePanel: round(output.medianMs / engineCompleteMs, 2),
    ratioOfMinimumsNumpyOverEngineCompletePanel: round(output.minMs / Math.min(...completePanelRuns), 2),
    ratioNumpySingleThreadOverEngineCompletePanel:
      output.singleThread === null ? null : round(output.singleThread.medianMs / engineCompleteMs, 2),
    check: {
      symbols: output.check.length,
      maxRelativeDifferenceLoadings: maxLoadingDifference,
      maxRelativeDifferenceStandardErrors: maxStandardErrorDifference,
      agreeTo1e9: agree,
    },
    note:
      `numpy solves the ${m} symbols with a return on every one of the ${n} factor dates (loadings and ` +
      "standard errors; file loading excluded); `engine.universeLoadingsMedianMs` is the engine's loadings " +
      `for all ${panel.symbols.length} symbols (incomplete histories included, more work), ` +
      "`engine.completePanelLoadingsMedianMs` on a panel of only the complete symbols and the factor ETFs " +
      "(the same work as numpy's); numpy's BLAS uses every core unless `singleThread`, the engine one",
  };
}

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
const riskBuild = time(() => createRiskEngineInput(input.panel, riskFactorSpecs));
const riskInput = riskBuild.result;
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

// Risk model vs the 12 lens factors, same panel and date (issue 17). Warm-up: the cold runs
// and three more of each; then `rounds` rounds (heap collected before each) of `slices` pairs
// — a lens run and a risk run (loadings of every symbol, then the covariance) — the order
// within a pair alternating, so both sides sample the same stretches of time.
collectGarbage();
const riskCold = time(() => computeUniverseRiskLoadings(riskInput, lastDate));
const covarianceCold = time(() => computeFactorCovariance(riskInput, lastDate));
for (let warm = 0; warm < 3; warm++) {
  computeUniverseBetas(input, lastDate);
  computeUniverseRiskLoadings(riskInput, lastDate);
  computeFactorCovariance(riskInput, lastDate);
}
let riskTable = riskCold.result;
let covariance = covarianceCold.result;
const lensRuns: number[] = [];
const riskRuns: number[] = [];
const riskLoadingRuns: number[] = [];
const covarianceRuns: number[] = [];
const pairRatios: number[] = [];
function timeRiskModel(): number {
  const loadings = time(() => computeUniverseRiskLoadings(riskInput, lastDate));
  const factorCovariance = time(() => computeFactorCovariance(riskInput, lastDate));
  riskTable = loadings.result;
  covariance = factorCovariance.result;
  riskLoadingRuns.push(loadings.ms);
  covarianceRuns.push(factorCovariance.ms);
  return loadings.ms + factorCovariance.ms;
}
for (let r = 0; r < rounds; r++) {
  collectGarbage();
  for (let pair = 0; pair < slices; pair++) {
    let lensMs: number;
    let riskMs: number;
    if (pair % 2 === 0) {
      lensMs = time(() => computeUniverseBetas(input, lastDate)).ms;
      riskMs = timeRiskModel();
    } else {
      riskMs = timeRiskModel();
      lensMs = time(() => computeUniverseBetas(input, lastDate)).ms;
    }
    lensRuns.push(lensMs);
    riskRuns.push(riskMs);
    pairRatios.push(riskMs / lensMs);
  }
}
const riskSummary = summarizeRiskTable(riskTable);

// The numpy baseline: the symbols with a return on every date of the window on which every risk
// factor has one (the factor ETFs themselves left out: they are regressors), their returns and
// the factor returns on those dates, handed to scripts/bench-risk-numpy.py.
const numpyBaseline = await runNumpyBaseline();

// The backfill: the last 252 trading dates, streamed (one date's table alive at a time).
const dates = calendar.slice(-backfillDates);
const sampleDates = new Set([dates[0]!, dates[126]!, dates[251]!]);
const tally = { estimated: 0, missing: 0, checksum: 0, maxBackfillDifference: 0, checkMs: 0 };
function tallyTable(betas: UniverseBetas, into: { estimated: number; missing: number; checksum: number }): void {
  // Counters updated inside the loop: the loop is compiled while it runs (on-stack
  // replacement), and code after it would have had no type feedback yet — a deoptimization on
  // every date.
  const outcome = betas.outcome;
  const rawBeta = betas.rawBeta;
  for (let i = 0; i < outcome.length; i++) {
    if (outcome[i]! <= 3) {
      into.estimated++;
      into.checksum += rawBeta[i]!;
    } else {
      into.missing++;
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
      tallyTable(betas, tally);
      if (sampleDates.has(betas.calculationDate)) checkAgainstSingleDate(betas);
    },
  }),
);

// The backfill of everything: the same lens backfill and consumer pass (without the check),
// then the risk loadings' backfill and one factor covariance per date, over the same dates.
collectGarbage();
const everythingTally = { estimated: 0, missing: 0, checksum: 0 };
const riskBackfillTally: RiskTally = { estimated: 0, missing: 0, checksum: 0 };
let covarianceChecksum = 0;
let maxRiskBackfillDifference = 0;
const everythingLens = time(() =>
  computeBackfill(input, dates, { onDate: (betas) => tallyTable(betas, everythingTally) }),
);
const everythingRisk = time(() =>
  computeRiskBackfill(riskInput, dates, {
    onDate: (table) => {
      tallyRiskTable(table, riskBackfillTally);
      if (table.calculationDate === lastDate) maxRiskBackfillDifference = compareRiskTables(table, riskTable);
    },
  }),
);
const everythingCovariance = time(() => {
  for (const date of dates) covarianceChecksum += covarianceSum(computeFactorCovariance(riskInput, date));
});
if (everythingTally.estimated !== tally.estimated || everythingTally.checksum !== tally.checksum)
  throw new Error("the second lens backfill differs from the first");
const afterBackfill = memory();
const maxRssKiB = process.resourceUsage().maxRSS;

const sharedMs = median(sharedRuns);
const directMs = median(directRuns);
const sharedMinMs = Math.min(...sharedRuns);
const directMinMs = Math.min(...directRuns);
const lensMs = median(lensRuns);
const riskMs = median(riskRuns);
const todayBackfillMs = backfill.ms - tally.checkMs;
const everythingMs = everythingLens.ms + everythingRisk.ms + everythingCovariance.ms;
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
  inputBuild: {
    ms: round(build.ms, 0),
    usPerRow: round((build.ms * 1000) / rowCount, 3),
    riskInputMs: round(riskBuild.ms, 1),
  },
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
    /** Issue 17: loadings of every symbol + the factor covariance vs the 12 lens factors, interleaved. */
    riskModel: {
      factors: riskFactorSpecs.length,
      coldLoadingsMs: round(riskCold.ms),
      coldCovarianceMs: round(covarianceCold.ms),
      medianMs: round(riskMs),
      minMs: round(Math.min(...riskRuns)),
      loadingsMedianMs: round(median(riskLoadingRuns)),
      covarianceMedianMs: round(median(covarianceRuns), 3),
      runs: riskRuns.length,
      usPerSymbol: round((riskMs * 1000) / symbolCount, 3),
      lensMedianMs: round(lensMs),
      lensMinMs: round(Math.min(...lensRuns)),
      ratioRiskOverLens: round(riskMs / lensMs, 2),
      ratioOfMinimums: round(Math.min(...riskRuns) / Math.min(...lensRuns), 2),
      ratioMedianOverPairs: round(median(pairRatios), 2),
      withinLensCost: riskMs <= lensMs,
      symbolsWithLoadings: riskSummary.estimated,
      symbolsWithoutLoadings: riskSummary.missing,
      covarianceChecksum: covarianceSum(covariance),
    },
  },
  numpyBaseline,
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
  /** Issue 17: the 252-date backfill of the lens betas, the risk loadings and the covariance. */
  backfillEverything: {
    dates: dates.length,
    ms: round(everythingMs, 0),
    msPerDate: round(everythingMs / dates.length),
    lensMs: round(everythingLens.ms, 0),
    riskLoadingsMs: round(everythingRisk.ms, 0),
    covarianceMs: round(everythingCovariance.ms, 0),
    todayMs: round(todayBackfillMs, 0),
    ratioEverythingOverToday: round(everythingMs / todayBackfillMs, 2),
    ratioEverythingOverSameRunLens: round(everythingMs / everythingLens.ms, 2),
    withinTwiceToday: everythingMs <= 2 * todayBackfillMs,
    riskStats: everythingRisk.result.stats,
    riskLoadingsEstimated: riskBackfillTally.estimated,
    riskLoadingsMissing: riskBackfillTally.missing,
    riskChecksum: round(riskBackfillTally.checksum, 6),
    covarianceChecksum: covarianceChecksum,
    maxRelativeDifferenceToSingleDate: maxRiskBackfillDifference,
    note:
      "today = the lens backfill above (`backfill.ms`); everything = a second lens backfill with the same " +
      "consumer pass, then the risk loadings' backfill (consumer pass over each table) and " +
      "computeFactorCovariance on each date, one after the other",
  },
  memory: { afterBuild, afterBackfill, peakRssMiB: round(maxRssKiB / 1024, 1) },
};

console.log(JSON.stringify(results, null, 2));
mkdirSync(new URL("../bench-results/", import.meta.url), { recursive: true });
writeFileSync(new URL("../bench-results/factors.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`);

// The issue 17 figures as ratios.
const risk = results.oneDate.riskModel;
const yesNo = (ok: boolean): string => (ok ? "yes" : "NO");
console.log(
  `\nrisk model (loadings + covariance) / 12-factor engine, one date: ${risk.medianMs} / ${risk.lensMedianMs} ms` +
    ` = ${risk.ratioRiskOverLens}× (median over pairs ${risk.ratioMedianOverPairs}×) — ≤ 1: ` +
    yesNo(risk.withinLensCost),
);
if (numpyBaseline.skipped) {
  console.log(`numpy / engine: skipped (${numpyBaseline.reason})`);
} else {
  const { numpy, engine } = numpyBaseline;
  const completeRatio = numpyBaseline.ratioNumpyOverEngineCompletePanel;
  console.log(
    `numpy loadings + standard errors (${numpyBaseline.completeSymbols} complete symbols, ${numpy.fastestVariant}, ` +
      `BLAS on every core) ${numpy.medianMs} ms / engine loadings on a panel of those symbols ` +
      `${engine.completePanelLoadingsMedianMs} ms = ${completeRatio}× — ` +
      `numpy no faster: ${yesNo(completeRatio >= 1)}`,
  );
  console.log(
    `  / engine loadings, all ${symbolCount} symbols ${engine.universeLoadingsMedianMs} ms = ` +
      `${numpyBaseline.ratioNumpyOverEngineUniverse}×` +
      (numpy.singleThread === null
        ? ""
        : `; numpy with BLAS on one thread ${numpy.singleThread.medianMs} ms / engine on those symbols = ` +
          `${numpyBaseline.ratioNumpySingleThreadOverEngineCompletePanel}×`),
  );
}
if ("contiguous" in numpyBaseline.floor) {
  const { contiguous, panelRows } = numpyBaseline.floor;
  console.log(
    `  floor: the products and sums alone (no gathering, no solve; ${contiguous.symbols} contiguous rows × ` +
      `${contiguous.observations} dates × ${contiguous.columns} columns): the engine's kernels ` +
      `${contiguous.javascript?.medianMs} ms, WebAssembly SIMD ${contiguous.webAssemblySimd.medianMs} ms` +
      (panelRows === null ? "" : ` (${panelRows.webAssemblySimd.medianMs} ms on rows at the panel's stride)`) +
      (numpyBaseline.skipped
        ? ""
        : `; numpy's whole solve / SIMD products = ${numpyBaseline.ratioNumpyOverSimdProducts}×` +
          (numpyBaseline.ratioNumpySingleThreadOverSimdProducts === null
            ? ""
            : ` (BLAS on one thread ${numpyBaseline.ratioNumpySingleThreadOverSimdProducts}×)`) +
          (numpyBaseline.ratioNumpyOverSimdProductsOnPanelRows === null
            ? ""
            : `, on the panel's rows ${numpyBaseline.ratioNumpyOverSimdProductsOnPanelRows}×`)),
  );
} else {
  console.log(`  floor: skipped (${numpyBaseline.floor.skipped})`);
}
const everything = results.backfillEverything;
console.log(
  `backfill of everything / today's backfill, ${everything.dates} dates: ${everything.ms} / ${everything.todayMs} ms` +
    ` = ${everything.ratioEverythingOverToday}× (over the same run's lens part ` +
    `${everything.ratioEverythingOverSameRunLens}×) — ≤ 2: ${yesNo(everything.withinTwiceToday)}`,
);
