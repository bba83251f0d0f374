#!/usr/bin/env python3
"""Reference fixtures for the factor engine, from independent implementations.

Writes test/unit/factors/fixtures/reference.json: deterministic input cases and the
coefficients, intercepts, R², standard errors and residual variances that scikit-learn
(StandardScaler + Ridge), statsmodels (OLS with a constant) and the design's ridge formula
compute for them. test/unit/factors/reference-fixtures.test.ts feeds the same inputs to the
engine and requires agreement to 1e-9 relative.

Also writes test/unit/factors/fixtures/risk-reference.json: return panels (a weekday
calendar, per symbol daily returns with null where missing), the risk lens (docs/design.md
§11) and, per calculation date, each symbol's joint loadings (statsmodels OLS on the seven
factor return series) and the exponentially weighted factor covariance (numpy).
test/unit/factors/risk-reference.test.ts compares worker/factors/risk-model.ts with them.

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
- standard errors (design §11, "Standard errors of the lens betas"). ols and spread:
  statsmodels' bse[1] and mse_resid (residual variance, SSR / (n - 2)); null when x is exactly
  constant or when n - 2 = 0 (statsmodels gives inf / nan). ridge, by direct numpy evaluation
  on the standardized non-constant columns Z (population sigma, q columns):
  A = ZᵀZ + αI, b = A⁻¹Zᵀ(y - ȳ), SSR = Σ(y - ȳ - Zb)², s² = SSR / (n - q - 1),
  Var(b) = s² A⁻¹ZᵀZA⁻¹, raw-unit standard error k = sqrt(Var(b)_kk) / σ_k; null for a dropped
  constant column, and all null (with the residual variance) when n - q - 1 <= 0.

Risk fixtures (design §11, "Loadings" and "Factor covariance"), per (symbol, date D):
- window: calendar dates t with day(t) > day(D) - 365 and t <= D; observations: window dates
  where the symbol's return and every factor return exist; factorObservations: window dates
  where every factor return exists. f_t = r_long - r_short in float64 (r_long when no short).
- factorObservations = 0: missing no_factor_data; observations < 60: insufficient_data;
  1/cond(XcᵀXc) < 1e-12 (Xc the centred factor matrix; a zero-variance column gives 0):
  degenerate; else statsmodels OLS(y, add_constant(X)): loadings = params[1:],
  standardErrors = bse[1:], residualVariance = mse_resid, rSquared (null when y is exactly
  constant), qualityFlag degenerate (y exactly constant) / limited_history
  (5·observations < 4·factorObservations) / ok. Loadings are not capped.
- covariance: the last (at most 504) dates <= D on which every factor return exists; fewer
  than 60: missing insufficient_history; else weights w_j ∝ 0.5^(j/90), j = 0 the most recent,
  normalized; μ = Σ w_j f_j; Σ = Σ w_j (f_j - μ)(f_j - μ)ᵀ in float64.
"""
import datetime
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

FIXTURES = Path(__file__).resolve().parent.parent / "test" / "unit" / "factors" / "fixtures"
OUTPUT = FIXTURES / "reference.json"
RISK_OUTPUT = FIXTURES / "risk-reference.json"
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
    standard_errors, residual_variance = ridge_standard_errors(X, y, alpha, constant)
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
            "standardErrors": standard_errors,
            "residualVariance": residual_variance,
        },
    }


def ridge_standard_errors(X, y, alpha, constant):
    """The design's ridge standard errors, evaluated directly (see the module docstring)."""
    n = len(y)
    active = [k for k in range(X.shape[1]) if not constant[k]]
    q = len(active)
    degrees_of_freedom = n - q - 1
    if degrees_of_freedom <= 0 or q == 0:
        return [None] * X.shape[1], None
    columns = X[:, active]
    sigma = columns.std(axis=0)  # population, ddof 0
    Z = (columns - columns.mean(axis=0)) / sigma
    gram = Z.T @ Z
    A = gram + alpha * np.eye(q)
    A_inv = np.linalg.solve(A, np.eye(q))
    centred = y - y.mean()
    b = np.linalg.solve(A, Z.T @ centred)
    residuals = centred - Z @ b
    s2 = float(residuals @ residuals) / degrees_of_freedom
    covariance = s2 * (A_inv @ gram @ A_inv)
    errors = [None] * X.shape[1]
    for a, k in enumerate(active):
        errors[k] = float(np.sqrt(covariance[a, a]) / sigma[a])
    return errors, s2


def ols_fit(x, y):
    x_constant = bool(np.ptp(x) == 0)
    y_constant = bool(np.ptp(y) == 0)
    result = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    # n - 2 = 0 (two points): statsmodels' mse_resid is nan and bse inf; no standard error.
    no_error = x_constant or result.df_resid <= 0
    return {
        "slope": None if x_constant else float(result.params[1]),
        "intercept": None if x_constant else float(result.params[0]),
        "rSquared": None if (x_constant or y_constant) else float(result.rsquared),
        "standardError": None if no_error else float(result.bse[1]),
        "residualVariance": None if no_error else float(result.mse_resid),
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
    return {
        "name": name,
        "note": note,
        "long": as_list(long),
        "short": as_list(short),
        "y": as_list(y),
        "expected": ols_fit(spread, y),
    }


# ---------------------------------------------------------------------------------------
# Risk model fixtures (docs/design.md §11): return panels, joint loadings, factor covariance.

RISK_FACTORS = [
    {"id": 1, "key": "market", "name": "Market", "longSymbol": "SPY", "shortSymbol": None},
    {"id": 2, "key": "rates", "name": "Rates", "longSymbol": "TLT", "shortSymbol": None},
    {"id": 3, "key": "growth_value", "name": "Growth - Value", "longSymbol": "VUG", "shortSymbol": "VTV"},
    {"id": 4, "key": "momentum", "name": "Momentum", "longSymbol": "MTUM", "shortSymbol": "SPY"},
    {"id": 5, "key": "size", "name": "Size", "longSymbol": "IWM", "shortSymbol": "SPY"},
    {"id": 6, "key": "quality", "name": "Quality", "longSymbol": "QUAL", "shortSymbol": "SPY"},
    {"id": 7, "key": "low_volatility", "name": "Low Volatility", "longSymbol": "USMV", "shortSymbol": "SPY"},
]
RISK_SETTINGS = {
    "windowDays": 365,
    "minObservations": 60,
    "halfLifeDays": 90,
    "maxCovarianceDays": 504,
    "minCovarianceDays": 60,
}
RISK_ETFS = ["SPY", "TLT", "VUG", "VTV", "MTUM", "IWM", "QUAL", "USMV"]
# ETF returns: market_beta * m_t + own noise (daily vols ~0.5-1.5%, correlated through m).
ETF_MARKET_BETA = {"SPY": 1.0, "TLT": -0.25, "VUG": 1.1, "VTV": 0.9, "MTUM": 1.05, "IWM": 1.15, "QUAL": 1.0,
                   "USMV": 0.7}
ETF_NOISE = {"SPY": 0.0008, "TLT": 0.009, "VUG": 0.004, "VTV": 0.0035, "MTUM": 0.005, "IWM": 0.007, "QUAL": 0.003,
             "USMV": 0.003}
RECIPROCAL_CONDITION_MIN = 1e-12


def weekdays(start, count):
    """Monday-Friday dates from `start` (as test/unit/factors/synthetic-universe.ts `weekdays`)."""
    day = datetime.date.fromisoformat(start)
    dates = []
    while len(dates) < count:
        if day.weekday() < 5:
            dates.append(day.isoformat())
        day += datetime.timedelta(days=1)
    return dates


def day_number(date):
    return datetime.date.fromisoformat(date).toordinal()


def shifted(date, days):
    return (datetime.date.fromisoformat(date) + datetime.timedelta(days=days)).isoformat()


def factor_returns(returns):
    """K × T matrix of f_t = r_long - r_short (NaN when an input is missing), float64."""
    rows = []
    for factor in RISK_FACTORS:
        long = returns[factor["longSymbol"]]
        f = long.copy() if factor["shortSymbol"] is None else long - returns[factor["shortSymbol"]]
        rows.append(f)
    return np.vstack(rows)


def etf_returns(rng, days):
    market = rng.normal(0.0004, 0.011, days)
    return {s: rounded(ETF_MARKET_BETA[s] * market + rng.normal(0, ETF_NOISE[s], days)) for s in RISK_ETFS}


def stock_returns(rng, factors, loadings, noise, intercept=0.0002):
    """intercept + Σ loading_k f_k + noise, 8 decimals; a random return where a factor is missing."""
    beta = np.array([loadings[f["key"]] for f in RISK_FACTORS])
    days = factors.shape[1]
    y = intercept + np.nan_to_num(factors).T @ beta + rng.normal(0, noise, days)
    y[np.isnan(factors).any(axis=0)] = rng.normal(0.0004, 0.015, int(np.isnan(factors).any(axis=0).sum()))
    return rounded(y)


def expected_loadings(y, factors, calendar_days, end_day):
    """The expectation for one symbol on one date (module docstring, "Risk fixtures")."""
    in_window = (calendar_days > end_day - RISK_SETTINGS["windowDays"]) & (calendar_days <= end_day)
    factor_ok = in_window & ~np.isnan(factors).any(axis=0)
    ok = factor_ok & ~np.isnan(y)
    factor_observations = int(factor_ok.sum())
    observations = int(ok.sum())
    counts = {"observations": observations, "factorObservations": factor_observations}
    if factor_observations == 0:
        return {"status": "missing", "reason": "no_factor_data", **counts}
    if observations < RISK_SETTINGS["minObservations"]:
        return {"status": "missing", "reason": "insufficient_data", **counts}
    X = factors[:, ok].T
    yy = y[ok]
    centred = X - X.mean(axis=0)
    gram = centred.T @ centred
    zero_variance = bool((np.ptp(X, axis=0) == 0).any())
    if zero_variance or 1.0 / np.linalg.cond(gram) < RECIPROCAL_CONDITION_MIN:
        return {"status": "missing", "reason": "degenerate", **counts}
    fit = sm.OLS(yy, sm.add_constant(X, has_constant="add")).fit()
    y_constant = bool(np.ptp(yy) == 0)
    if y_constant:
        flag = "degenerate"
    elif 5 * observations < 4 * factor_observations:
        flag = "limited_history"
    else:
        flag = "ok"
    keys = [f["key"] for f in RISK_FACTORS]
    return {
        "status": "estimated",
        "loadings": {k: float(v) for k, v in zip(keys, fit.params[1:])},
        "standardErrors": {k: float(v) for k, v in zip(keys, fit.bse[1:])},
        "residualVariance": float(fit.mse_resid),
        "rSquared": None if y_constant else float(fit.rsquared),
        "observations": int(fit.nobs),
        "factorObservations": factor_observations,
        "qualityFlag": flag,
    }


def expected_covariance(factors, calendar_days, end_day):
    complete = np.flatnonzero(~np.isnan(factors).any(axis=0) & (calendar_days <= end_day))
    days = complete[-RISK_SETTINGS["maxCovarianceDays"]:]
    observations = len(days)
    if observations < RISK_SETTINGS["minCovarianceDays"]:
        return {"status": "missing", "reason": "insufficient_history", "observations": observations}
    F = factors[:, days[::-1]].T  # row j = 0 is the most recent day
    j = np.arange(observations, dtype=np.float64)
    w = 0.5 ** (j / RISK_SETTINGS["halfLifeDays"])
    w = w / w.sum()
    mu = w @ F
    deviations = F - mu
    matrix = (deviations * w[:, None]).T @ deviations
    # Independent check of the float64 evaluation: the same sums in extended precision.
    wl = 0.5 ** (j.astype(np.longdouble) / RISK_SETTINGS["halfLifeDays"])
    wl = wl / wl.sum()
    Fl = F.astype(np.longdouble)
    dl = Fl - wl @ Fl
    check = (dl * wl[:, None]).T @ dl
    assert np.max(np.abs(matrix - check)) <= 1e-14 * np.max(np.abs(check))
    return {
        "status": "estimated",
        "matrix": [[float(v) for v in row] for row in matrix],
        "observations": observations,
        "firstDate": None,  # filled by the caller (needs the calendar)
        "lastDate": None,
        "_days": days,
    }


def risk_case(name, note, calendar, returns, dates, symbol_notes, combinations):
    """One panel with its expectations. `returns`: symbol -> float64 array, NaN = missing."""
    calendar_days = np.array([day_number(d) for d in calendar])
    factors = factor_returns(returns)
    expectations = []
    for date in dates:
        end_day = day_number(date)
        loadings = {s: expected_loadings(y, factors, calendar_days, end_day) for s, y in returns.items()}
        covariance = expected_covariance(factors, calendar_days, end_day)
        if covariance["status"] == "estimated":
            days = covariance.pop("_days")
            covariance["firstDate"] = calendar[days[0]]
            covariance["lastDate"] = calendar[days[-1]]
        expectations.append({"calculationDate": date, "loadings": loadings, "covariance": covariance})
    return {
        "name": name,
        "note": note,
        "calendar": calendar,
        "returns": {s: [None if np.isnan(v) else float(v) for v in y] for s, y in returns.items()},
        "symbols": symbol_notes,
        "exactCombinations": combinations,
        "dates": expectations,
    }


def risk_fixtures():
    rng = np.random.default_rng(20250117)
    keys = [f["key"] for f in RISK_FACTORS]

    # --- Main panel: 700 weekdays, every gap pattern.
    days = 700
    calendar = weekdays("2021-01-04", days)
    returns = etf_returns(rng, days)
    for symbol, count in (("TLT", 3), ("VTV", 2), ("IWM", 2)):
        returns[symbol][rng.choice(days, count, replace=False)] = np.nan
    factors = factor_returns(returns)

    def loadings(*values):
        return dict(zip(keys, values))

    normal = loadings(1.1, -0.2, 0.5, 0.3, 0.4, -0.2, -0.3)
    returns["NORM"] = stock_returns(rng, factors, normal, 0.015)
    gaps = stock_returns(rng, factors, loadings(0.9, 0.1, -0.4, 0.2, 0.6, 0.3, 0.2), 0.012)
    gaps[rng.random(days) < 0.08] = np.nan
    returns["GAPS"] = gaps
    late = stock_returns(rng, factors, loadings(1.3, -0.1, 0.8, -0.2, 0.9, 0.0, -0.5), 0.02)
    late[: int(0.4 * days)] = np.nan
    returns["LATE"] = late
    halt = stock_returns(rng, factors, loadings(0.8, 0.3, -0.3, 0.1, 0.2, 0.4, 0.5), 0.011)
    halt[400:430] = np.nan
    returns["HALT"] = halt
    gone = stock_returns(rng, factors, loadings(1.0, -0.4, 0.2, 0.5, -0.3, 0.1, 0.0), 0.018)
    gone[days - int(0.3 * days):] = np.nan
    returns["GONE"] = gone
    # Exact combination: full float64 (not rounded), so the residuals are rounding noise only.
    combination = loadings(0.8, -0.35, 0.6, 0.25, -0.45, 0.3, 0.55)
    combo_intercept = 0.0003
    beta = np.array([combination[k] for k in keys])
    combo = combo_intercept + np.nan_to_num(factors).T @ beta
    combo[np.isnan(factors).any(axis=0)] = rounded(rng.normal(0.0004, 0.015, int(np.isnan(factors).any(axis=0).sum())))
    returns["COMBO"] = combo
    few = stock_returns(rng, factors, normal, 0.015)
    few[: days - 45] = np.nan
    returns["FEW"] = few
    returns["FLAT"] = np.full(days, 0.00015)
    returns["LEVER"] = stock_returns(rng, factors, loadings(6.5, 0.5, 1.5, -0.8, 2.0, 0.3, -1.0), 0.02)

    # ETFs that are themselves exact combinations of the factors (f = long - short in float64).
    def unit(*pairs):
        weights = dict.fromkeys(keys, 0.0)
        weights.update(pairs)
        return weights

    combinations = [
        {"symbol": "COMBO", "intercept": combo_intercept, "loadings": combination},
        {"symbol": "SPY", "intercept": 0.0, "loadings": unit(("market", 1.0))},
        {"symbol": "TLT", "intercept": 0.0, "loadings": unit(("rates", 1.0))},
        {"symbol": "MTUM", "intercept": 0.0, "loadings": unit(("market", 1.0), ("momentum", 1.0))},
        {"symbol": "IWM", "intercept": 0.0, "loadings": unit(("market", 1.0), ("size", 1.0))},
        {"symbol": "QUAL", "intercept": 0.0, "loadings": unit(("market", 1.0), ("quality", 1.0))},
        {"symbol": "USMV", "intercept": 0.0, "loadings": unit(("market", 1.0), ("low_volatility", 1.0))},
    ]
    symbol_notes = {
        "NORM": "complete history",
        "GAPS": "about 8% of days missing at random",
        "LATE": "listed late: the first 40% of the calendar is null",
        "HALT": "halted: 30 consecutive nulls (calendar indices 400-429)",
        "GONE": "delisted: the last 30% of the calendar is null",
        "COMBO": "an exact linear combination of the factor returns plus a constant (not rounded)",
        "FEW": "only the last 45 days: always fewer than 60 observations",
        "FLAT": "constant returns: loadings ~0, R² null, flag degenerate",
        "LEVER": "market loading 6.5: loadings are not capped",
    }
    friday = next(i for i in range(520, days) if datetime.date.fromisoformat(calendar[i]).weekday() == 4)
    dates = [
        "2020-12-31",  # before the data: no factor observations
        calendar[40],  # window mostly before the data: < 60 observations and covariance days
        calendar[150],  # window partly before the data
        calendar[300],
        calendar[450],  # the halt inside the window; LATE limited
        shifted(calendar[friday], 1),  # not a trading day (the Saturday after a Friday)
        calendar[600],  # GONE limited; covariance capped at 504 days
        calendar[days - 1],
        shifted(calendar[days - 1], 200),  # after the data: the window holds its last ~165 days
    ]
    assert datetime.date.fromisoformat(dates[5]).weekday() == 5
    main = risk_case(
        "main",
        "700 weekdays, 8 ETFs (TLT, VTV, IWM with a few missing days) and stocks with every gap pattern",
        calendar,
        returns,
        dates,
        symbol_notes,
        combinations,
    )

    # --- A panel where the rates factor has zero variance: every estimate is degenerate.
    days = 300
    calendar = weekdays("2023-03-01", days)
    returns = etf_returns(rng, days)
    returns["TLT"] = np.full(days, 0.0001)
    factors = factor_returns(returns)
    returns["NORM"] = stock_returns(rng, factors, normal, 0.015)
    few = stock_returns(rng, factors, normal, 0.015)
    few[: days - 50] = np.nan
    returns["FEW"] = few
    degenerate = risk_case(
        "constant_rates",
        "TLT returns 0.0001 every day: the rates factor has zero variance, loadings are degenerate",
        calendar,
        returns,
        [calendar[150], calendar[days - 1]],
        {"NORM": "complete history", "FEW": "only the last 50 days"},
        [],
    )

    return {
        "generator": "scripts/reference-fixtures.py",
        "versions": {"numpy": np.__version__, "statsmodels": statsmodels.__version__},
        "settings": RISK_SETTINGS,
        "riskFactors": RISK_FACTORS,
        "cases": [main, degenerate],
    }


def main():
    rng = np.random.default_rng(20240611)
    true_betas = np.array([0.4, -0.3, 0.25, 0.1, 0.35, -0.2])

    def symbol_returns(columns, noise, intercept=0.0002):
        return intercept + np.column_stack(columns) @ true_betas[: len(columns)] + rng.normal(0, noise, len(columns[0]))

    ridge = []
    cols = etf_like(rng, 250)
    ridge.append(ridge_case("realistic_250", cols, symbol_returns(cols, 0.015), 1.0,
                            "250 days, six correlated ETF-like regressors"))
    cols = etf_like(rng, 60)
    ridge.append(ridge_case("minimum_window_60", cols, symbol_returns(cols, 0.015), 1.0,
                            "exactly the default minimum of 60 observations"))
    cols = etf_like(rng, 7)
    ridge.append(ridge_case("tiny_7", cols, symbol_returns(cols, 0.015), 1.0,
                            "fewer observations than columns + 1: only the penalty makes it solvable"))
    cols = etf_like(rng, 250)
    cols[1] = cols[0] + rng.normal(0, 1e-6, 250)
    cols[3] = cols[2] + rng.normal(0, 1e-6, 250)
    ridge.append(ridge_case("nearly_collinear", cols, symbol_returns(cols, 0.01), 1.0,
                            "columns 2 and 4 equal columns 1 and 3 up to 1e-6 noise"))
    cols = etf_like(rng, 250)
    ridge.append(ridge_case(
        "nearly_collinear_small_alpha",
        [cols[0], cols[0] + rng.normal(0, 1e-5, 250), cols[2]],
        symbol_returns([cols[0], cols[1], cols[2]], 0.01),
        1e-3,
        "collinear pair with a weak penalty (ill-conditioned)",
    ))
    cols = etf_like(rng, 120)
    y = symbol_returns(cols, 0.012)
    cols[2] = np.full(120, 0.0005)
    ridge.append(ridge_case("constant_column", cols, y, 1.0,
                            "column 3 is constant: no beta for it, the others as scikit-learn"))
    cols = etf_like(rng, 90)
    ridge.append(ridge_case("constant_y", cols, np.full(90, 0.001), 1.0,
                            "constant symbol returns: betas ~0, R² undefined"))
    cols = etf_like(rng, 250)
    ridge.append(ridge_case("alpha_10", cols, symbol_returns(cols, 0.02), 10.0, "a stronger penalty"))
    cols = [c * 100 for c in etf_like(rng, 200)]
    ridge.append(ridge_case("percent_units", cols, symbol_returns(cols, 1.5), 1.0,
                            "returns in percent: standardization makes the fit scale-free"))

    ols = []
    x = rounded(rng.normal(0.0004, 0.011, 250))
    ols.append(ols_case("realistic_250", x, 0.0001 + 1.2 * x + rng.normal(0, 0.015, 250), "market-like regressor"))
    x = rounded(rng.normal(0.0002, 0.008, 60))
    ols.append(ols_case("minimum_window_60", x, -0.3 * x + rng.normal(0, 0.01, 60),
                        "rates-like regressor, 60 observations"))
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
    ols.append(ols_case("large_mean_small_spread", x, 0.7 * x + rng.normal(0, 0.0001, 150),
                        "regressor mean 500x its standard deviation"))

    spread = []
    market = rng.normal(0.0004, 0.011, 180)
    long = 1.1 * market + rng.normal(0, 0.0035, 180)
    short = 0.9 * market + rng.normal(0, 0.003, 180)
    y = 0.9 * market + 0.6 * (long - short) + rng.normal(0, 0.012, 180)
    spread.append(spread_case("growth_minus_value_180", long, short, y, "180 days of a long-minus-short spread"))

    payload = {
        "generator": "scripts/reference-fixtures.py",
        "versions": {
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "ridge": ridge,
        "ols": ols,
        "spread": spread,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=None, separators=(",", ":"), allow_nan=False)
    OUTPUT.write_text(text + "\n")
    cases = f"{len(ridge)} ridge, {len(ols)} ols, {len(spread)} spread cases"
    print(f"wrote {OUTPUT} ({len(text) / 1024:.0f} KiB, {cases})")

    risk = risk_fixtures()
    text = json.dumps(risk, indent=None, separators=(",", ":"), allow_nan=False)
    RISK_OUTPUT.write_text(text + "\n")
    dates = sum(len(c["dates"]) for c in risk["cases"])
    print(f"wrote {RISK_OUTPUT} ({len(text) / 1024:.0f} KiB, {len(risk['cases'])} cases, {dates} calculation dates)")


if __name__ == "__main__":
    main()
