// Small dense symmetric positive-definite systems (the ridge normal equations, at most a
// handful of columns): Cholesky factorization and the two triangular solves. Matrices are
// row-major Float64Arrays of order `size`; nothing allocates (vectors are addressed by offset
// rather than by `subarray` views, which would allocate one object per call), so the
// per-symbol solve can reuse one scratch vector for every symbol.

/**
 * Writes the lower-triangular `L` with `L·Lᵀ = matrix` into `factor` (upper part zeroed).
 * Returns false when a pivot is not positive and finite (matrix not positive definite), in
 * which case `factor` is unusable.
 */
export function choleskyFactor(matrix: Float64Array, size: number, factor: Float64Array): boolean {
  factor.fill(0, 0, size * size);
  for (let j = 0; j < size; j++) {
    let pivot = matrix[j * size + j]!;
    for (let k = 0; k < j; k++) {
      const ljk = factor[j * size + k]!;
      pivot -= ljk * ljk;
    }
    if (!(pivot > 0) || !Number.isFinite(pivot)) return false;
    const diagonal = Math.sqrt(pivot);
    factor[j * size + j] = diagonal;
    for (let i = j + 1; i < size; i++) {
      let sum = matrix[i * size + j]!;
      for (let k = 0; k < j; k++) sum -= factor[i * size + k]! * factor[j * size + k]!;
      factor[i * size + j] = sum / diagonal;
    }
  }
  return true;
}

/**
 * Solves `L·Lᵀ·x = rhs` given the Cholesky factor `L`, with `rhs` at `rhs[rhsOffset …]` and
 * `x` written to `x[xOffset …]`; `x` may alias `rhs` (same array and offset).
 */
export function choleskySolve(
  factor: Float64Array,
  size: number,
  rhs: Float64Array,
  rhsOffset: number,
  x: Float64Array,
  xOffset: number,
): void {
  // Forward: L·w = rhs.
  for (let i = 0; i < size; i++) {
    let sum = rhs[rhsOffset + i]!;
    for (let k = 0; k < i; k++) sum -= factor[i * size + k]! * x[xOffset + k]!;
    x[xOffset + i] = sum / factor[i * size + i]!;
  }
  // Backward: Lᵀ·x = w.
  for (let i = size - 1; i >= 0; i--) {
    let sum = x[xOffset + i]!;
    for (let k = i + 1; k < size; k++) sum -= factor[k * size + i]! * x[xOffset + k]!;
    x[xOffset + i] = sum / factor[i * size + i]!;
  }
}
