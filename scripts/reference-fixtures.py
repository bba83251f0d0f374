#!/usr/bin/env python3
"""Reference fixtures for the factor engine, from independent implementations.

Writes test/unit/factors/fixtures/reference.json: deterministic input cases and the
coefficients, intercepts and R² that scikit-learn (StandardScaler + Ridge) and statsmodels
(OLS with a constant) compute for them. test/unit/factors/reference-fixtures.test.ts feeds
the same inputs to the engine and requires agreement to 1e-9 relative.

Regenerate (Debian: apt-get install python3-sklearn python3-statsmodels python3-numpy):

    python3 scripts/reference-fixtures.py

If `python3` is a pyenv/virtualenv interpreter without those packages, the script re-runs
itself with /usr/bin/python3 (where Debian installs them). Output is deterministic for given library
versions (recorded in the file); re-running must leave the JSON unchanged or the test is
compared against different reference numbers.

What "expected" means (mirrors docs/design.md §4 and docs/factor-engine.md):
- ridge: StandardScaler() (population sigma) then Ridge(alpha, fit_intercept=True); raw-unit
  coefficient = coef_ / scale_, intercept = intercept_ - sum(coef_ * mean_ / scale_),
  R² = r2_score in sample. A column that is exactly constant is reported as null (the engine
  drops it: no beta); the others are scikit-learn's numbers, where that column's zero
  standardized values contribute nothing. R² is null when y is exactly constant (0/0).
- ols: statsmodels OLS(y, add_constant(x)); slope/intercept null when x is exactly constant,
  R² null when y is exactly constant.
- spread: the regressor is long - short (computed here in float64 exactly as the engine does).
"""
import json
import os
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy as np
    import sklearn
    import statsmodels
    import statsmodels.api as sm
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler
except ImportError as error:  # pragma: no cover - environment problem, not a test outcome
    # A pyenv/virtualenv `python3` shadows Debian's packages: retry once with the system one.
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit(f"{error}: install python3-sklearn python3-statsmodels python3-numpy")

OUTPUT = Path(__file__).resolve().parent.parent / "test" / "unit" / "factors" / "fixtures" / "reference.json"
DECIMALS = 8  # returns with 8 decimals: realistic precision, compact JSON, exact round trip


def rounded(values):
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS)


def as_list(values):
    return [float(v) for v in values]


def etf_like(rng, n, correlation_noise=(0.003, 0.0035, 0.005, 0.0025, 0.006, 0.003)):
    """Six ETF-like return columns: each mostly the market plus its own noise (correlated)."""
    market = rng.normal(0.0004, 0.011, n)
    loadings = (0.9, 1.1, 1.0, 0.95, 1.15, 0.7)
    return [rounded(b * market + rng.normal(0, s, n)) for b, s in zip(loadings, correlation_noise)]


def ridge_case(name, columns, y, alpha, note):
    columns = [rounded(c) for c in columns]
    y = rounded(y)
    X = np.column_stack(columns)
    scaler = StandardScaler()
    Z = scaler.fit_transform(X)
    model = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(Z, y)
    constant = [bool(np.ptp(c) == 0) for c in columns]
    raw = model.coef_ / scaler.scale_
    intercept = float(model.intercept_ - np.sum(model.coef_ * scaler.mean_ / scaler.scale_))
    y_constant = bool(np.ptp(y) == 0)
    r2 = None if y_constant else float(r2_score(y, model.predict(Z)))
    return {
        "name": name,
        "note": note,
        "alpha": alpha,
        "columns": [as_list(c) for c in columns],
        "y": as_list(y),
        "expected": {
            "coefficients": [None if constant[k] else float(raw[k]) for k in range(len(columns))],
            "standardizedCoefficients": [None if constant[k] else float(model.coef_[k]) for k in range(len(columns))],
            "intercept": intercept,
            "rSquared": r2,
        },
    }


def ols_fit(x, y):
    x_constant = bool(np.ptp(x) == 0)
    y_constant = bool(np.ptp(y) == 0)
    result = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    return {
        "slope": None if x_constant else float(result.params[1]),
        "intercept": None if x_constant else float(result.params[0]),
        "rSquared": None if (x_constant or y_constant) else float(result.rsquared),
    }


def ols_case(name, x, y, note):
    x = rounded(x)
    y = rounded(y)
    return {"name": name, "note": note, "x": as_list(x), "y": as_list(y), "expected": ols_fit(x, y)}


def spread_case(name, long, short, y, note):
    long = rounded(long)
    short = rounded(short)
    y = rounded(y)
    spread = long - short  # float64 subtraction, as the engine's s_t = r_long - r_short
    return {"name": name, "note": note, "long": as_list(long), "short": as_list(short), "y": as_list(y), "expected": ols_fit(spread, y)}


def main():
    rng = np.random.default_rng(20240611)
    true_betas = np.array([0.4, -0.3, 0.25, 0.1, 0.35, -0.2])

    def symbol_returns(columns, noise, intercept=0.0002):
        return intercept + np.column_stack(columns) @ true_betas[: len(columns)] + rng.normal(0, noise, len(columns[0]))

    ridge = []
    cols = etf_like(rng, 250)
    ridge.append(ridge_case("realistic_250", cols, symbol_returns(cols, 0.015), 1.0, "250 days, six correlated ETF-like regressors"))
    cols = etf_like(rng, 60)
    ridge.append(ridge_case("minimum_window_60", cols, symbol_returns(cols, 0.015), 1.0, "exactly the default minimum of 60 observations"))
    cols = etf_like(rng, 7)
    ridge.append(ridge_case("tiny_7", cols, symbol_returns(cols, 0.015), 1.0, "fewer observations than columns + 1: only the penalty makes it solvable"))
    cols = etf_like(rng, 250)
    cols[1] = cols[0] + rng.normal(0, 1e-6, 250)
    cols[3] = cols[2] + rng.normal(0, 1e-6, 250)
    ridge.append(ridge_case("nearly_collinear", cols, symbol_returns(cols, 0.01), 1.0, "columns 2 and 4 equal columns 1 and 3 up to 1e-6 noise"))
    cols = etf_like(rng, 250)
    ridge.append(ridge_case("nearly_collinear_small_alpha", [cols[0], cols[0] + rng.normal(0, 1e-5, 250), cols[2]], symbol_returns([cols[0], cols[1], cols[2]], 0.01), 1e-3, "collinear pair with a weak penalty (ill-conditioned)"))
    cols = etf_like(rng, 120)
    y = symbol_returns(cols, 0.012)
    cols[2] = np.full(120, 0.0005)
    ridge.append(ridge_case("constant_column", cols, y, 1.0, "column 3 is constant: no beta for it, the others as scikit-learn"))
    cols = etf_like(rng, 90)
    ridge.append(ridge_case("constant_y", cols, np.full(90, 0.001), 1.0, "constant symbol returns: betas ~0, R² undefined"))
    cols = etf_like(rng, 250)
    ridge.append(ridge_case("alpha_10", cols, symbol_returns(cols, 0.02), 10.0, "a stronger penalty"))
    cols = [c * 100 for c in etf_like(rng, 200)]
    ridge.append(ridge_case("percent_units", cols, symbol_returns(cols, 1.5) , 1.0, "returns in percent: standardization makes the fit scale-free"))

    ols = []
    x = rounded(rng.normal(0.0004, 0.011, 250))
    ols.append(ols_case("realistic_250", x, 0.0001 + 1.2 * x + rng.normal(0, 0.015, 250), "market-like regressor"))
    x = rounded(rng.normal(0.0002, 0.008, 60))
    ols.append(ols_case("minimum_window_60", x, -0.3 * x + rng.normal(0, 0.01, 60), "rates-like regressor, 60 observations"))
    x = rounded(rng.normal(0, 0.01, 3))
    ols.append(ols_case("three_points", x, 0.8 * x + rng.normal(0, 0.01, 3), "three observations"))
    x = rounded(rng.normal(0, 0.01, 2))
    ols.append(ols_case("two_points", x, 0.8 * x + rng.normal(0, 0.01, 2), "two observations: an exact line, R² = 1"))
    x = rounded(rng.normal(0, 0.01, 100))
    ols.append(ols_case("constant_y", x, np.full(100, -0.002), "constant symbol returns: slope ~0, R² undefined"))
    ols.append(ols_case("constant_x", np.full(100, 0.0003), rng.normal(0, 0.01, 100), "constant regressor: no slope"))
    x = rounded(rng.normal(0, 0.01, 150))
    ols.append(ols_case("near_exact_line", x, 2.5 * x - 0.0001 + rng.normal(0, 1e-7, 150), "R² within 1e-6 of 1"))
    x = rounded(rng.normal(0.05, 0.0001, 150))
    ols.append(ols_case("large_mean_small_spread", x, 0.7 * x + rng.normal(0, 0.0001, 150), "regressor mean 500x its standard deviation"))

    spread = []
    market = rng.normal(0.0004, 0.011, 180)
    long = 1.1 * market + rng.normal(0, 0.0035, 180)
    short = 0.9 * market + rng.normal(0, 0.003, 180)
    y = 0.9 * market + 0.6 * (long - short) + rng.normal(0, 0.012, 180)
    spread.append(spread_case("growth_minus_value_180", long, short, y, "180 days of a long-minus-short spread"))

    payload = {
        "generator": "scripts/reference-fixtures.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__},
        "ridge": ridge,
        "ols": ols,
        "spread": spread,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=None, separators=(",", ":"))
    OUTPUT.write_text(text + "\n")
    print(f"wrote {OUTPUT} ({len(text) / 1024:.0f} KiB, {len(ridge)} ridge, {len(ols)} ols, {len(spread)} spread cases)")


if __name__ == "__main__":
    main()
