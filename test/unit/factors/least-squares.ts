// An independent least-squares solver for the tests: Householder QR on the design matrix
// itself (no normal equations, no Cholesky), so it shares no arithmetic with the engine.

export interface LeastSquares {
  coefficients: number[];
  /** diag((XᵀX)⁻¹): the coefficients' variances per unit noise variance. */
  inverseGramDiagonal: number[];
}

/** min ‖X·b − y‖ for X given as columns (n × p, n ≥ p, full column rank). */
export function leastSquares(columns: readonly (readonly number[])[], y: readonly number[]): LeastSquares {
  const p = columns.length;
  const n = y.length;
  const a = columns.map((column) => [...column]);
  const rhs = [...y];
  for (let k = 0; k < p; k++) {
    const column = a[k]!;
    let norm = 0;
    for (let i = k; i < n; i++) norm += column[i]! * column[i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error(`column ${k} is zero`);
    const alpha = column[k]! > 0 ? -norm : norm;
    const v = new Array<number>(n).fill(0);
    for (let i = k; i < n; i++) v[i] = column[i]!;
    v[k] = v[k]! - alpha;
    let vNorm = 0;
    for (let i = k; i < n; i++) vNorm += v[i]! * v[i]!;
    const reflect = (target: number[]): void => {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i]! * target[i]!;
      const factor = (2 * dot) / vNorm;
      for (let i = k; i < n; i++) target[i] = target[i]! - factor * v[i]!;
    };
    for (let j = k; j < p; j++) reflect(a[j]!);
    reflect(rhs);
  }
  // R is a[j][i] for i ≤ j; back substitution.
  const coefficients = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let sum = rhs[i]!;
    for (let j = i + 1; j < p; j++) sum -= a[j]![i]! * coefficients[j]!;
    coefficients[i] = sum / a[i]![i]!;
  }
  // R⁻¹ by back substitution on the identity; (XᵀX)⁻¹ = R⁻¹R⁻ᵀ, so its diagonal is the squared row norms
  // of R⁻¹.
  const inverse: number[][] = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let c = 0; c < p; c++) {
    for (let i = p - 1; i >= 0; i--) {
      let sum = i === c ? 1 : 0;
      for (let j = i + 1; j < p; j++) sum -= a[j]![i]! * inverse[j]![c]!;
      inverse[i]![c] = sum / a[i]![i]!;
    }
  }
  const inverseGramDiagonal = inverse.map((row) => row.reduce((sum, value) => sum + value * value, 0));
  return { coefficients, inverseGramDiagonal };
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** (x − mean) / population σ. */
export function standardize(values: readonly number[]): { standardized: number[]; mean: number; scale: number } {
  const m = mean(values);
  const scale = Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / values.length);
  return { standardized: values.map((value) => (value - m) / scale), mean: m, scale };
}
