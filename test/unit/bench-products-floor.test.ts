// The benchmark's arithmetic floor (scripts/bench-factors/products-floor.ts), the evidence
// behind issue 17's numpy comparison: its WebAssembly SIMD kernel must compute exactly the
// engine's products, or its timing would be of other work.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { floorColumns, measureProductsFloor } from "../../scripts/bench-factors/products-floor.ts";
import { dotProduct } from "../../worker/factors/regression.ts";

const finite = fc.double({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true });

describe("bench:factors products floor", () => {
  it("computes the engine's products bit for bit (dotProduct's summation order), for any rows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 2, max: 41 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (rows, observations, seed) => {
          const m = rows * 4;
          const values = fc.sample(finite, { seed, numRuns: (m + floorColumns) * observations });
          const deviations = Float64Array.from(values.slice(0, m * observations));
          const weights = Float64Array.from(values.slice(m * observations));
          const floor = await measureProductsFloor(
            { values: deviations, m, n: observations, stride: observations, offset: 0 },
            weights,
            1,
          );
          expect(floor.observations).toBe(observations - (observations % 2));
          expect(floor.maxRelativeDifference).toBe(0);
          // The same rows inside longer ones (the panel's layout): the same products.
          const stride = observations + 3;
          const padded = new Float64Array(m * stride).fill(Number.NaN);
          for (let s = 0; s < m; s++)
            padded.set(deviations.subarray(s * observations, (s + 1) * observations), s * stride + 2);
          const strided = await measureProductsFloor(
            { values: padded, m, n: observations, stride, offset: 2 },
            weights,
            1,
          );
          expect(strided.javascript).toBeNull();
          expect(strided.maxRelativeDifference).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("never counts a NaN product as agreement", async () => {
    // A NaN weight makes the kernel's product and dotProduct's NaN: the check must report it.
    const n = 4;
    const deviations = Float64Array.from({ length: 4 * n }, (_, i) => i + 1);
    const weights = new Float64Array(floorColumns * n);
    weights[0] = Number.NaN;
    const floor = await measureProductsFloor({ values: deviations, m: 4, n, stride: n, offset: 0 }, weights, 1);
    expect(floor.maxRelativeDifference).toBe(Number.POSITIVE_INFINITY);
    expect(dotProduct(weights, 0, deviations, 0, n)).toBeNaN();
  });
});
