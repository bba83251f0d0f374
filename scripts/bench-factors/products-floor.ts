// The arithmetic floor of the risk loadings, for `npm run bench:factors` (issue 17's numpy
// comparison): how long the cross products and sums alone take — no gathering of returns, no
// solve, no recording — on rows laid out contiguously as numpy's matrix is, with
//   - the engine's own product kernels (`dotProductBatch4x2`, `dotProductBatch4`), and
//   - WebAssembly SIMD (products-floor.wat, f64x2: the widest vectors Workers run; one thread).
// Whatever else an engine does, it does at least this work, so numpy's whole solve being faster
// than these figures means no engine of this design can be level with numpy on this machine.
// The WebAssembly kernel sums in the engine's order; its products are checked bit for bit
// against `dotProduct` (a mismatch makes the benchmark exit 1).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import wabt from "wabt";
import { dotProduct, dotProductBatch4, dotProductBatch4x2 } from "../../worker/factors/regression.ts";

// The Node scripts' types (no DOM library) declare no WebAssembly values: the little this uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmRuntime {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmRuntime }).WebAssembly;

/** The kernel's fixed width: the seven risk factors of docs/design.md §11. */
export const floorColumns = 7;

export interface FloorTiming {
  medianMs: number;
  minMs: number;
  runs: number;
}

/** m rows of n deviations d_i = y_i − y_0: row s at `values[s·stride + offset …]`. */
export interface FloorRows {
  values: Float64Array;
  m: number;
  n: number;
  stride: number;
  offset: number;
}

export interface ProductsFloor {
  symbols: number;
  /** Observations per row: the factor dates, rounded down to even for the SIMD kernel. */
  observations: number;
  columns: number;
  /** Values from one row to the next (= observations: contiguous rows). */
  stride: number;
  /** The engine's kernels; null unless the rows are contiguous (they take no stride). */
  javascript: FloorTiming | null;
  webAssemblySimd: FloorTiming;
  /** Largest |P_wasm − P_dotProduct| / |P_dotProduct| over every row and column (0: bit for bit). */
  maxRelativeDifference: number;
}

function timing(run: () => void, runs: number): FloorTiming {
  for (let warm = 0; warm < 5; warm++) run();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { medianMs: round(times[times.length >> 1]!), minMs: round(times[0]!), runs };
}

async function assemble(): Promise<object> {
  const source = readFileSync(new URL("./products-floor.wat", import.meta.url), "utf8");
  const toolkit = await wabt();
  const parsed = toolkit.parseWat("products-floor.wat", source, { simd: true });
  try {
    parsed.validate();
    return new wasm.Module(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** The engine's kernels, four contiguous rows at a time (its batch): products, then the sums. */
function engineKernels(rows: FloorRows, weights: Float64Array, runs: number): FloorTiming {
  const { values, m, n } = rows;
  const K = floorColumns;
  const products = new Float64Array(4 * K);
  const sums = new Float64Array(2 * m);
  return timing(() => {
    for (let s = 0; s + 4 <= m; s += 4) {
      const batch = values.subarray(s * n, (s + 4) * n);
      for (let k = 0; k + 1 < K; k += 2)
        dotProductBatch4x2(weights, k * n, weights, (k + 1) * n, batch, n, products, k, k + 1, K);
      dotProductBatch4(weights, (K - 1) * n, batch, n, products, K - 1, K);
      for (let q = 0; q < 4; q++) {
        let sum = 0;
        let squares = 0;
        const row = (s + q) * n;
        for (let i = 0; i < n; i++) {
          const d = values[row + i]!;
          sum += d;
          squares += d * d;
        }
        sums[2 * (s + q)] = sum;
        sums[2 * (s + q) + 1] = squares;
      }
    }
  }, runs);
}

/** Times the floor on `rows` with the seven weight columns `weights` (column k at k·n). */
export async function measureProductsFloor(
  rows: FloorRows,
  weights: Float64Array,
  runs: number,
): Promise<ProductsFloor> {
  const { values, m, n: observations, stride, offset } = rows;
  const n = observations - (observations % 2);
  const K = floorColumns;
  const contiguous = stride === observations && offset === 0;
  const javascript = contiguous ? engineKernels(rows, weights, runs) : null;

  // WebAssembly: rows, interleaved weights and results in its memory.
  const instance = new wasm.Instance(await assemble());
  const memory = instance.exports["memory"] as WasmMemory;
  const kernel = instance.exports["products"] as (
    rows: number,
    m: number,
    n: number,
    stride: number,
    x: number,
    out: number,
  ) => void;
  const rowsAt = 0;
  const xAt = rowsAt + values.length * 8;
  const outAt = xAt + n * K * 8;
  const bytes = outAt + m * (K + 2) * 8;
  memory.grow(Math.max(0, Math.ceil((bytes - memory.buffer.byteLength) / 65536)));
  const heap = new Float64Array(memory.buffer);
  heap.set(values, rowsAt >> 3);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < K; k++) heap[(xAt >> 3) + (i >> 1) * 2 * K + 2 * k + (i & 1)] = weights[k * observations + i]!;
  const webAssemblySimd = timing(() => kernel(rowsAt + offset * 8, m, n, stride, xAt, outAt), runs);

  let maxRelativeDifference = 0;
  for (let s = 0; s < m; s++) {
    for (let k = 0; k < K; k++) {
      const expected = dotProduct(weights, k * observations, values, s * stride + offset, n);
      const actual = heap[(outAt >> 3) + s * (K + 2) + k]!;
      const difference = actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
      maxRelativeDifference = Math.max(maxRelativeDifference, Number.isNaN(difference) ? Infinity : difference);
    }
  }
  return { symbols: m, observations: n, columns: K, stride, javascript, webAssemblySimd, maxRelativeDifference };
}
