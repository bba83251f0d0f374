#!/usr/bin/env python3
"""Reference numbers for worker/factors/portfolio-risk.ts, computed directly in numpy.

Writes test/unit/factors/fixtures/portfolio-risk-reference.json; compared by
test/unit/factors/portfolio-risk.test.ts to 1e-12 relative (1e-12 of the largest magnitude of
the group for entries near zero).

Regenerate (Debian: apt-get install python3-numpy):

    python3 scripts/portfolio-risk-fixtures.py

Another `python3` (pyenv, virtualenv) re-runs the script with Debian's /usr/bin/python3 when it exists.
The output is deterministic (fixed seed): re-running must leave the JSON unchanged.

The case (docs/design.md §4.7 and §11): a 50-holding portfolio over 20 weekdays — 40 stocks
(several short, one symbol in two lots), the benchmark SPY held long, 8 options on four of the
stocks (calls and puts, long and short, given deltas, some with a premium), one position opened
and one closed inside the range, one stock (NOLD) that never has loadings and one (S05) whose
loadings are missing on two dates — each date with its own closes, factor covariance Σ (AAᵀ + a
diagonal, symmetrized), loadings, standard errors and specific variances s², plus factor returns
(missing on one date entirely and for one factor on another).

What "expected" means, per date D (held: opened_on ≤ D < closed_on):
- mv_i = quantity × close (stocks), contracts × multiplier × underlying close (options);
  equity E = cash + Σ stock mv + Σ contracts × multiplier × premium; w_i = mv_i / E;
  X_s = Σ_{i on s} w_i δ_i over the symbols with loadings on D (δ = 1 for stocks).
- b_p = Σ_s X_s b_s; V_f = b_pᵀΣb_p; V_s = Σ_s X_s² s²_s; V = V_f + V_s; volatility
  sqrt(252 V); VaR = z × sqrt(V) × E (z = 1.6448536269514722, 2.3263478740408408);
  c_k = b_pk (Σb_p)_k; h_s = X_s (b_sᵀΣb_p + X_s s²_s); marginal (b_sᵀΣb_p + X_s s²_s)/sqrt(V);
  se_k = sqrt(Σ_s (X_s se_s,k)²).
- active vs SPY: X'_SPY = X_SPY − 1, the rest unchanged; b_a = Σ_s X'_s b_s; V_a likewise;
  tracking error sqrt(252 V_a); contributions likewise.
- P&L on D (the §4.7 snapshot, an input of the attribution): Σ mv_i δ_i r_i / (1 + r_i) over the
  positions held on D and on the previous date, r_i the beta symbol's close-to-close return.
- attribution of day t (t ≥ 1): factor P&L_k = E_{t−1} b_p,k(t−1) f_k,t; specific = P&L_t −
  Σ_k factor P&L; return parts = dollars / E_{t−1}; a day with a missing factor return is left
  out; cumulative sums over the days attributed so far (specific = Σ P&L − Σ_k Σ factor P&L).
"""
import datetime
import json
import os
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"

# Debian's interpreter and numpy make the reference: another `python3` (pyenv, virtualenv) hands over.
if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
    os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])

try:
    import numpy as np
except ImportError as error:  # pragma: no cover - environment problem, not a test outcome
    sys.exit(f"{error}: install python3-numpy")

FIXTURES = Path(__file__).resolve().parent.parent / "test" / "unit" / "factors" / "fixtures"
OUTPUT = FIXTURES / "portfolio-risk-reference.json"
SEED = 20250630
FACTOR_KEYS = ["market", "rates", "growth_value", "momentum", "size", "quality", "low_volatility"]
K = len(FACTOR_KEYS)
DAYS = 20
BENCHMARK = "SPY"
Z95 = 1.6448536269514722
Z99 = 2.3263478740408408


def weekdays(start, count):
    day = datetime.date.fromisoformat(start)
    out = []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += datetime.timedelta(days=1)
    return out


def r(values, decimals):
    return np.round(np.asarray(values, dtype=np.float64), decimals)


def build_case(rng):
    dates = weekdays("2025-06-02", DAYS)
    stocks = [f"S{i:02d}" for i in range(39)]
    symbols = stocks + [BENCHMARK, "NOLD"]
    # Closes: a random walk per symbol from a random level.
    level = r(rng.uniform(20, 500, len(symbols)), 2)
    steps = rng.normal(0.0003, 0.015, (DAYS, len(symbols)))
    closes = r(level * np.cumprod(1 + steps, axis=0), 2)

    holdings = []
    for i, symbol in enumerate(stocks):
        quantity = float(rng.integers(10, 400))
        if i % 5 == 3:  # every fifth stock is short
            quantity = -quantity
        holdings.append({"id": f"p{len(holdings):02d}", "symbol": symbol, "instrument": "stock", "quantity": quantity})
    # A second lot of S07, opened inside the range; S11 closed inside it.
    second_lot = {"symbol": "S07", "instrument": "stock", "quantity": 150.0, "openedOn": dates[9]}
    holdings.append({"id": f"p{len(holdings):02d}", **second_lot})
    holdings[11]["closedOn"] = dates[14]
    holdings.append({"id": f"p{len(holdings):02d}", "symbol": BENCHMARK, "instrument": "etf", "quantity": 300.0})
    # Options sharing underlyings S00, S01, S02, S04 (each also held as stock).
    options = [
        ("S00", "call", 3.0, 0.55, 12.5),
        ("S00", "put", -2.0, -0.35, None),
        ("S01", "call", -4.0, 0.62, 8.0),
        ("S01", "call", 5.0, 0.30, None),
        ("S02", "put", 6.0, -0.48, 6.25),
        ("S02", "call", 2.0, 0.71, None),
        ("S04", "put", -3.0, -0.22, 3.5),
        ("S04", "call", 1.0, 0.95, None),
    ]
    for underlying, option_type, contracts, delta, premium in options:
        spot = float(closes[0, symbols.index(underlying)])
        holdings.append(
            {
                "id": f"p{len(holdings):02d}",
                "symbol": f"{underlying}-{option_type}-{len(holdings)}",
                "instrument": "option",
                "quantity": contracts,
                "underlyingSymbol": underlying,
                "optionType": option_type,
                "strike": float(np.round(spot * (1.05 if option_type == "call" else 0.95), 0)),
                "expiry": "2025-12-19",
                "multiplier": 100,
                "delta": delta,
                "premium": premium,
            }
        )
    holdings.append({"id": f"p{len(holdings):02d}", "symbol": "NOLD", "instrument": "stock", "quantity": 75.0})
    assert len(holdings) == 50 and len({h["id"] for h in holdings}) == 50

    cash = 250_000.0
    base_loadings = rng.normal(0, 0.3, (len(symbols), K))
    base_loadings[:, 0] = rng.uniform(0.5, 1.6, len(symbols))  # market loadings around 1
    base_loadings[symbols.index(BENCHMARK)] = [1.0, 0.02, 0.01, -0.01, 0.0, 0.02, -0.03]
    per_date = []
    for t, date in enumerate(dates):
        a = rng.normal(0, 0.006, (K, K))
        sigma = a @ a.T + np.diag(rng.uniform(1e-5, 4e-5, K))
        sigma = (sigma + sigma.T) / 2
        loadings = {}
        for s, symbol in enumerate(symbols):
            if symbol == "NOLD" or (symbol == "S05" and t in (3, 4)):
                continue
            b = r(base_loadings[s] + rng.normal(0, 0.02, K), 10)
            se = r(rng.uniform(0.01, 0.12, K), 10)
            s2 = float(r(rng.uniform(5e-5, 6e-4), 12))
            loadings[symbol] = {"loadings": b.tolist(), "standardErrors": se.tolist(), "residualVariance": s2}
        factor_returns = r(rng.normal(0.0002, 0.008, K), 8).tolist()
        if t == 12:
            factor_returns = None
        per_date.append(
            {
                "date": date,
                "closes": {symbol: float(closes[t, s]) for s, symbol in enumerate(symbols)},
                "covariance": sigma.tolist(),
                "loadings": loadings,
                "factorReturns": factor_returns,
            }
        )
    # Date 16: the quality factor has no return.
    per_date[16]["factorReturnsMissing"] = ["quality"]
    return dates, symbols, holdings, cash, per_date


def held(h, date):
    return h.get("openedOn", "0000") <= date and ("closedOn" not in h or date < h["closedOn"])


def beta_symbol(h):
    return h["underlyingSymbol"] if h["instrument"] == "option" else h["symbol"]


def valuation(holdings, cash, closes, date):
    """(position, mv, delta) of the held positions, and equity."""
    rows = []
    equity = cash
    for h in holdings:
        if not held(h, date):
            continue
        price = closes[beta_symbol(h)]
        if h["instrument"] == "option":
            units = h["quantity"] * h["multiplier"]
            mv = units * price
            if h["premium"] is not None:
                equity += units * h["premium"]
            rows.append((h, mv, h["delta"]))
        else:
            mv = h["quantity"] * price
            equity += mv
            rows.append((h, mv, 1.0))
    return rows, equity


def decompose(sigma, names, x, b, s2):
    """V and its contributions for weights x (per symbol), loadings b (n × K), s² (n)."""
    bp = x @ b
    sigma_b = sigma @ bp
    c = bp * sigma_b
    vf = float(bp @ sigma_b)
    vs = float(np.sum(x * x * s2))
    v = vf + vs
    marginal = b @ sigma_b + x * s2
    h = x * marginal
    return {
        "variance": v,
        "factorVariance": vf,
        "specificVariance": vs,
        "exposures": dict(zip(FACTOR_KEYS, bp.tolist())),
        "factorContributions": dict(zip(FACTOR_KEYS, c.tolist())),
        "holdingContributions": dict(zip(names, h.tolist())),
        "marginal": dict(zip(names, (marginal / np.sqrt(v)).tolist())),
        "weights": dict(zip(names, x.tolist())),
    }


def expected_for(holdings, cash, day):
    rows, equity = valuation(holdings, cash, day["closes"], day["date"])
    x_by_symbol = {}
    for h, mv, delta in rows:
        symbol = beta_symbol(h)
        if symbol in day["loadings"]:
            x_by_symbol[symbol] = x_by_symbol.get(symbol, 0.0) + (mv / equity) * delta
    names = sorted(x_by_symbol)
    x = np.array([x_by_symbol[n] for n in names])
    b = np.array([day["loadings"][n]["loadings"] for n in names])
    se = np.array([day["loadings"][n]["standardErrors"] for n in names])
    s2 = np.array([day["loadings"][n]["residualVariance"] for n in names])
    sigma = np.array(day["covariance"])
    total = decompose(sigma, names, x, b, s2)
    total["standardErrors"] = dict(zip(FACTOR_KEYS, np.sqrt(np.sum((x[:, None] * se) ** 2, axis=0)).tolist()))
    total["volatility"] = float(np.sqrt(252 * total["variance"]))
    total["valueAtRisk95"] = Z95 * float(np.sqrt(total["variance"])) * equity
    total["valueAtRisk99"] = Z99 * float(np.sqrt(total["variance"])) * equity

    active_x = dict(x_by_symbol)
    active_x[BENCHMARK] = active_x.get(BENCHMARK, 0.0) - 1.0
    active_names = sorted(active_x)
    xa = np.array([active_x[n] for n in active_names])
    ba = np.array([day["loadings"][n]["loadings"] for n in active_names])
    s2a = np.array([day["loadings"][n]["residualVariance"] for n in active_names])
    active = decompose(sigma, active_names, xa, ba, s2a)
    active["trackingError"] = float(np.sqrt(252 * active["variance"]))
    return equity, total, active


def daily_pnl(holdings, previous, day):
    rows, _ = valuation(holdings, 0.0, day["closes"], day["date"])
    pnl = 0.0
    for h, mv, delta in rows:
        if not held(h, previous["date"]):
            continue  # opened on D: not in the P&L
        symbol = beta_symbol(h)
        ret = day["closes"][symbol] / previous["closes"][symbol] - 1
        pnl += mv * delta * ret / (1 + ret)
    return pnl


def main():
    rng = np.random.default_rng(SEED)
    dates, symbols, holdings, cash, per_date = build_case(rng)
    expected_dates = []
    for day in per_date:
        equity, total, active = expected_for(holdings, cash, day)
        expected_dates.append({"date": day["date"], "equity": equity, "total": total, "active": active})

    attribution = []
    cum_pnl = 0.0
    cum_return = 0.0
    cum_factor = np.zeros(K)
    cum_factor_return = np.zeros(K)
    for t in range(1, DAYS):
        day = per_date[t]
        pnl = daily_pnl(holdings, per_date[t - 1], day)
        day["pnl"] = pnl
        missing = day["factorReturns"] is None or bool(day.get("factorReturnsMissing"))
        if missing:
            attribution.append({"date": day["date"], "attributed": False})
            continue
        e_prev = expected_dates[t - 1]["equity"]
        b_prev = np.array([expected_dates[t - 1]["total"]["exposures"][k] for k in FACTOR_KEYS])
        f = np.array(day["factorReturns"])
        factor_pnl = e_prev * b_prev * f
        specific = pnl - float(np.sum(factor_pnl))
        cum_pnl += pnl
        cum_return += pnl / e_prev
        cum_factor += factor_pnl
        cum_factor_return += factor_pnl / e_prev
        attribution.append(
            {
                "date": day["date"],
                "attributed": True,
                "pnl": pnl,
                "factorPnl": dict(zip(FACTOR_KEYS, factor_pnl.tolist())),
                "specificPnl": specific,
                "totalReturn": pnl / e_prev,
                "factorReturn": dict(zip(FACTOR_KEYS, (factor_pnl / e_prev).tolist())),
                "specificReturn": specific / e_prev,
                "cumulative": {
                    "pnl": cum_pnl,
                    "factorPnl": dict(zip(FACTOR_KEYS, cum_factor.tolist())),
                    "specificPnl": cum_pnl - float(np.sum(cum_factor)),
                    "totalReturn": cum_return,
                    "factorReturn": dict(zip(FACTOR_KEYS, cum_factor_return.tolist())),
                    "specificReturn": cum_return - float(np.sum(cum_factor_return)),
                },
            }
        )

    inputs = []
    for t, day in enumerate(per_date):
        returns = day["factorReturns"]
        factor_returns = None
        if returns is not None:
            absent = day.get("factorReturnsMissing", [])
            factor_returns = {k: v for k, v in zip(FACTOR_KEYS, returns) if k not in absent}
        inputs.append(
            {
                "date": day["date"],
                "closes": day["closes"],
                "covariance": day["covariance"],
                "loadings": day["loadings"],
                "factorReturns": factor_returns,
                "pnl": day.get("pnl"),
            }
        )
    payload = {
        "generator": "scripts/portfolio-risk-fixtures.py",
        "seed": SEED,
        "versions": {"numpy": np.__version__},
        "factorKeys": FACTOR_KEYS,
        "benchmarkSymbol": BENCHMARK,
        "cash": cash,
        "holdings": holdings,
        "dates": inputs,
        "expected": {"dates": expected_dates, "attribution": attribution},
    }
    text = json.dumps(payload, indent=None, separators=(",", ":"), allow_nan=False)
    OUTPUT.write_text(text + "\n")
    print(f"wrote {OUTPUT} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
