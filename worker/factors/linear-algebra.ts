// Small dense symmetric positive-definite systems (the ridge normal equations, at most a
// handful of columns): Cholesky factorization and the two triangular solves. Matrices are
// row-major Float64Arrays of order `size`; nothing allocates, so the per-symbol solve can
// reuse one scratch vector for every symbol.

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

/** Solves `L·Lᵀ·x = rhs` given the Cholesky factor `L`; `x` may alias `rhs`. */
export function choleskySolve(factor: Float64Array, size: number, rhs: Float64Array, x: Float64Array): void {
  // Forward: L·w = rhs.
  for (let i = 0; i < size; i++) {
    let sum = rhs[i]!;
    for (let k = 0; k < i; k++) sum -= factor[i * size + k]! * x[k]!;
    x[i] = sum / factor[i * size + i]!;
  }
  // Backward: Lᵀ·x = w.
  for (let i = size - 1; i >= 0; i--) {
    let sum = x[i]!;
    for (let k = i + 1; k < size; k++) sum -= factor[k * size + i]! * x[k]!;
    x[i] = sum / factor[i * size + i]!;
  }
}
