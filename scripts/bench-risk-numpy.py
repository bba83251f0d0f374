#!/usr/bin/python3
"""Vectorized numpy baseline for the risk model's loadings (issue 17), run by `npm run bench:factors`.

    /usr/bin/python3 scripts/bench-risk-numpy.py DIR

DIR holds what scripts/bench-factors.ts wrote for one calculation date:
  header.json  {"observations": n, "factors": K, "symbols": m, "factorKeys": [...], "symbolNames": [...],
                "check": c, "x": "x.f64", "y": "y.f64"}
  x.f64        the K risk factor return series on the n dates the symbols share, float64 little-endian,
               row-major n × K
  y.f64        the returns of the m symbols with complete history on those dates, row-major n × m

It times the joint OLS of docs/design.md §11 for all m symbols at once (the same numbers the
engine computes): centre X and Y, b = (XᵀX)⁻¹XᵀY in one solve, s² = SSR / (n − K − 1) per symbol,
se = sqrt(s² · diag((XᵀX)⁻¹)), R² = 1 − SSR/SST. Two vectorized variants:
  residuals  SSR from the residual matrix Y − X B (what the brief asks for, the textbook way);
  gram       SSR = yᵀy − bᵀXᵀy per symbol, without forming the n × m residuals (cheaper).
Both are timed (warm-up, then the median of several repetitions; file loading excluded) and
the faster one is the baseline; it is timed again with BLAS on one thread (threadpoolctl), as
the engine runs on one. Prints one JSON object on stdout: timings, the machine's
BLAS, and the first `check` symbols' results so the TypeScript side can verify that numpy and
the engine computed the same numbers.
"""

import json
import os
import sys
import time

import numpy as np

WARMUP = 5
REPETITIONS = 31


def fit_residuals(x, y):
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    gram = xc.T @ xc
    gram_inv = np.linalg.inv(gram)
    b = gram_inv @ (xc.T @ yc)
    residuals = yc - xc @ b
    ssr = np.einsum("ij,ij->j", residuals, residuals)
    sst = np.einsum("ij,ij->j", yc, yc)
    n, k = x.shape
    s2 = ssr / (n - k - 1)
    se = np.sqrt(np.outer(np.diag(gram_inv), s2))
    return b, se, s2, 1.0 - ssr / sst


def fit_gram(x, y):
    n, k = x.shape
    mean_x = x.mean(axis=0)
    mean_y = y.mean(axis=0)
    xc = x - mean_x
    # Xcᵀ Yc = Xcᵀ Y (the columns of Xc sum to zero): Y is never centred as a whole.
    xty = xc.T @ y
    gram = xc.T @ xc
    gram_inv = np.linalg.inv(gram)
    b = gram_inv @ xty
    sst = np.einsum("ij,ij->j", y, y) - n * mean_y * mean_y
    ssr = sst - np.einsum("ij,ij->j", b, xty)
    s2 = ssr / (n - k - 1)
    se = np.sqrt(np.outer(np.diag(gram_inv), s2))
    return b, se, s2, 1.0 - ssr / sst


def timed(fit, x, y):
    for _ in range(WARMUP):
        fit(x, y)
    runs = []
    for _ in range(REPETITIONS):
        started = time.perf_counter_ns()
        fit(x, y)
        runs.append((time.perf_counter_ns() - started) / 1e6)
    runs.sort()
    return {"medianMs": runs[len(runs) // 2], "minMs": runs[0], "runs": len(runs)}


def single_thread_timing(fit, x, y):
    """The same timing with BLAS limited to one thread (the engine runs on one), when threadpoolctl is there."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    with threadpool_limits(limits=1):
        return timed(fit, x, y)


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [
            {
                "api": p.get("internal_api"),
                "threads": p.get("num_threads"),
                "version": p.get("version"),
                "architecture": p.get("architecture"),
            }
            for p in threadpool_info()
        ]
    except Exception as error:  # threadpoolctl is optional
        return str(error)


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "header.json"), encoding="utf-8") as f:
        header = json.load(f)
    n, k, m = header["observations"], header["factors"], header["symbols"]
    x = np.fromfile(os.path.join(directory, header["x"]), dtype="<f8").reshape(n, k)
    y = np.fromfile(os.path.join(directory, header["y"]), dtype="<f8").reshape(n, m)

    fits = {"residuals": fit_residuals, "gram": fit_gram}
    timings = {name: timed(fit, x, y) for name, fit in fits.items()}
    fastest = min(timings, key=lambda name: timings[name]["medianMs"])
    single_thread = single_thread_timing(fits[fastest], x, y)

    # The checked results are the timed variant's; the variants agree with each other too.
    b, se, s2, r2 = fits[fastest](x, y)
    b_other, se_other, _, _ = fits["gram" if fastest == "residuals" else "residuals"](x, y)
    variant_difference = {
        "loadings": float(np.max(np.abs(b - b_other) / np.abs(b_other))),
        "standardErrors": float(np.max(np.abs(se - se_other) / np.abs(se_other))),
    }
    check = [
        {
            "symbol": header["symbolNames"][j],
            "loadings": b[:, j].tolist(),
            "standardErrors": se[:, j].tolist(),
            "residualVariance": float(s2[j]),
            "rSquared": float(r2[j]),
        }
        for j in range(min(header["check"], m))
    ]
    result = {
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "blas": blas_info(),
        "observations": n,
        "factors": k,
        "symbols": m,
        "warmup": WARMUP,
        "variants": timings,
        "fastest": fastest,
        "medianMs": timings[fastest]["medianMs"],
        "minMs": timings[fastest]["minMs"],
        "singleThread": single_thread,
        "maxRelativeDifferenceBetweenVariants": variant_difference,
        "check": check,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
