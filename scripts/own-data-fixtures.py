#!/usr/bin/env python3
"""A user's own data set and its betas, from independent implementations.

Writes test/own-data/fixtures/own-data.json: a prices CSV as a user would import it (the eight
factor ETFs and ten stocks over about 14 months, with market holidays, a late listing, a halt,
a delisting and scattered missing days) and, for each of the last `COMPUTED_DATES` trading
days, every symbol's 12 lens betas as statsmodels (OLS with a constant) and scikit-learn
(StandardScaler + Ridge) compute them, or the reason a beta is missing. The workerd test
test/own-data/own-data.test.ts imports the CSV into an empty database, runs the batch with the
clean start's configuration (provider `stored`) and requires every beta served by the API to
equal these to 1e-9.

Regenerate (Debian: apt-get install python3-sklearn python3-statsmodels python3-numpy):

    python3 scripts/own-data-fixtures.py

Definitions, written here from docs/design.md §4 (not from the engine's code):
- the trading calendar is SPY's dates; a return on trading day t exists when the symbol has a
  close on t and on the previous trading day; a window of W calendar days ending at D holds
  the returns dated in (D - W, D];
- a factor's observations are the window's dates where the symbol's return and every input
  return of the factor exist; fewer than 60: `insufficient_data`;
- a symbol whose last close is more than 5 trading days before D: `stale_prices`, no betas;
- `expected[i].betas[factor_key]` is [beta as stored, observations];
- market / rates: OLS slope on SPY / TLT; spreads: OLS slope on r_long - r_short (180 days);
  style: one joint ridge on VTV VUG MTUM QUAL IWM USMV, StandardScaler (ddof 0) then
  Ridge(alpha=1, fit_intercept=True), coefficient / scale; |beta| > 5 is stored as +-5.
"""
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
try:
    import numpy as np
    import sklearn
    import statsmodels
    import statsmodels.api as sm
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler
except ImportError as error:  # pragma: no cover - environment problem
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit(f"{error}: install python3-sklearn python3-statsmodels python3-numpy")

OUTPUT = Path(__file__).resolve().parent.parent / "test" / "own-data" / "fixtures" / "own-data.json"
START = date(2025, 4, 1)
END = date(2026, 6, 30)  # a Tuesday
HOLIDAYS = {date(2025, 5, 26), date(2025, 7, 4), date(2025, 9, 1), date(2025, 11, 27), date(2025, 12, 25), date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 4, 3), date(2026, 5, 25)}
COMPUTED_DATES = 45
STALE_AFTER = 5
MIN_OBS = 60
ETFS = ["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"]
STYLE = ["VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"]
FACTORS = [
    # key, method, inputs, window
    ("market_beta", "ols", ["SPY"], 365),
    ("interest_rate_beta", "ols", ["TLT"], 365),
    ("value", "ridge", ["VTV"], 365),
    ("growth", "ridge", ["VUG"], 365),
    ("momentum", "ridge", ["MTUM"], 365),
    ("quality", "ridge", ["QUAL"], 365),
    ("size", "ridge", ["IWM"], 365),
    ("low_volatility", "ridge", ["USMV"], 365),
    ("growth_value_spread", "spread", ["VUG", "VTV"], 180),
    ("momentum_spread", "spread", ["MTUM", "SPY"], 180),
    ("size_spread", "spread", ["IWM", "SPY"], 180),
    ("quality_spread", "spread", ["QUAL", "SPY"], 180),
]
BETA_CAP = 5.0


def weekdays(start, end):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def main():
    rng = np.random.default_rng(20260630)
    calendar = [d for d in weekdays(START, END) if d not in HOLIDAYS]
    n = len(calendar)
    # ETF returns: a market factor plus style tilts (correlated like the real ones), TLT apart.
    market = rng.normal(0.0004, 0.010, n)
    etf_returns = {
        "SPY": market,
        "TLT": -0.25 * market + rng.normal(0.0001, 0.008, n),
        "VTV": 0.90 * market + rng.normal(0.0, 0.004, n),
        "VUG": 1.10 * market + rng.normal(0.0, 0.005, n),
        "MTUM": 1.05 * market + rng.normal(0.0, 0.006, n),
        "QUAL": 0.95 * market + rng.normal(0.0, 0.004, n),
        "IWM": 1.15 * market + rng.normal(0.0, 0.007, n),
        "USMV": 0.70 * market + rng.normal(0.0, 0.004, n),
    }
    stocks = {}
    for i in range(10):
        loadings = rng.normal(0.0, 0.5, len(STYLE))
        r = 0.8 * market + sum(l * (etf_returns[s] - market) for l, s in zip(loadings, STYLE)) + rng.normal(0.0, 0.015, n)
        stocks[f"STK{i}"] = r
    names = {"STK0": "LATE", "STK1": "HALT", "STK2": "GONE", "STK3": "GAPS"}
    stocks = {names.get(k, k): v for k, v in stocks.items()}

    closes = {}
    for symbol, r in {**etf_returns, **stocks}.items():
        start_price = 50.0 + 200.0 * rng.random()
        closes[symbol] = np.round(start_price * np.cumprod(1.0 + r), 4)
    present = {symbol: np.ones(n, dtype=bool) for symbol in closes}
    present["LATE"][: n - 95] = False  # listed 95 trading days before the end
    present["HALT"][n - 20 : n - 12] = False  # halted 8 trading days, 12 before the end
    present["GONE"][n - 30 :] = False  # delisted 30 trading days before the end
    gaps = rng.choice(np.arange(5, n - 5), size=12, replace=False)
    present["GAPS"][gaps] = False  # scattered missing days

    lines = ["date,symbol,close"]
    for t, day in enumerate(calendar):
        for symbol in closes:
            if present[symbol][t]:
                lines.append(f"{day.isoformat()},{symbol},{closes[symbol][t]:.4f}")
    csv_text = "\n".join(lines) + "\n"

    # Returns as the definitions say (NaN = no return).
    returns = {}
    for symbol, c in closes.items():
        r = np.full(n, np.nan)
        for t in range(1, n):
            if present[symbol][t] and present[symbol][t - 1]:
                r[t] = c[t] / c[t - 1] - 1.0
        returns[symbol] = r
    day_number = np.array([d.toordinal() for d in calendar])

    computed = list(range(n - COMPUTED_DATES, n))
    expected = []
    for t_end in computed:
        d = calendar[t_end]
        for symbol in closes:
            last = max((t for t in range(t_end + 1) if present[symbol][t]), default=None)
            row = {"date": d.isoformat(), "symbol": symbol, "betas": {}, "missing": {}}
            if last is None:
                for key, *_ in FACTORS:
                    row["missing"][key] = {"reason": "no_prices"}
                expected.append(row)
                continue
            behind = t_end - last
            if behind > STALE_AFTER:
                for key, *_ in FACTORS:
                    row["missing"][key] = {"reason": "stale_prices", "last_close_date": calendar[last].isoformat()}
                expected.append(row)
                continue
            y_all = returns[symbol]
            ridge_done = None
            for key, method, inputs, window in FACTORS:
                in_window = (day_number > calendar[t_end].toordinal() - window) & (day_number <= calendar[t_end].toordinal())
                if method == "ridge":
                    used = in_window & ~np.isnan(y_all)
                    for s in STYLE:
                        used &= ~np.isnan(returns[s])
                    obs = int(used.sum())
                    if obs < MIN_OBS:
                        row["missing"][key] = {"reason": "insufficient_data", "observations": obs, "min_observations": MIN_OBS}
                        continue
                    if ridge_done is None:
                        X = np.column_stack([returns[s][used] for s in STYLE])
                        y = y_all[used]
                        scaler = StandardScaler().fit(X)
                        model = Ridge(alpha=1.0, fit_intercept=True).fit(scaler.transform(X), y)
                        ridge_done = dict(zip(STYLE, model.coef_ / scaler.scale_))
                    raw = float(ridge_done[inputs[0]])
                else:
                    x_all = returns[inputs[0]] - returns[inputs[1]] if method == "spread" else returns[inputs[0]]
                    used = in_window & ~np.isnan(y_all) & ~np.isnan(x_all)
                    obs = int(used.sum())
                    if obs < MIN_OBS:
                        row["missing"][key] = {"reason": "insufficient_data", "observations": obs, "min_observations": MIN_OBS}
                        continue
                    fit = sm.OLS(y_all[used], sm.add_constant(x_all[used])).fit()
                    raw = float(fit.params[1])
                row["betas"][key] = [max(-BETA_CAP, min(BETA_CAP, raw)), obs]
            expected.append(row)

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    fixture = {
        "generator": "scripts/own-data-fixtures.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__},
        "symbols": list(closes),
        "computed_dates": [calendar[t].isoformat() for t in computed],
        "csv": csv_text,
        "expected": expected,
    }
    OUTPUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT}: {len(closes)} symbols, {n} trading days, {len(expected)} symbol-dates")


if __name__ == "__main__":
    main()
