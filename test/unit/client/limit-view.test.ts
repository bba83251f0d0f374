// The dashboard's limits (client/src/lib/limit-view.ts): the form's checks in the metric's unit
// (percent for fractions), a toast's text, which Risk page bars and tiles a breached limit
// outlines — only limits of the shown date — and which exposures heatmap cells breach a limit, on
// every date shown.
import { describe, expect, it } from "vitest";
import {
  alertText,
  type BreachColumn,
  draftOf,
  formatBounds,
  formatLimitValue,
  heatmapBreaches,
  isOwnBenchmark,
  readLimitDraft,
  riskBreaches,
} from "../../../client/src/lib/limit-view.ts";
import type { LimitResponse } from "../../../worker/api/limits.ts";

function limit(values: Partial<LimitResponse>): LimitResponse {
  return {
    id: "l",
    portfolio_id: "p",
    metric: "volatility",
    factor_key: null,
    min_value: null,
    max_value: 0.2,
    description: "",
    label: "volatility ≤ 20%",
    created_by: "me",
    created_at: "2026-06-30T00:00:00.000Z",
    updated_at: "2026-06-30T00:00:00.000Z",
    current: { date: "2026-06-30", value: 0.25, position: "breached", reason: null },
    state: "breached",
    last_alert: null,
    ...values,
  };
}

describe("readLimitDraft", () => {
  it("takes fractions of equity in percent and exposures as typed", () => {
    expect(readLimitDraft({ metric: "volatility", factorKey: "", min: "", max: "20", description: " cap " })).toEqual({
      body: { metric: "volatility", factor_key: null, min_value: null, max_value: 0.2, description: "cap" },
      errors: {},
    });
    expect(
      readLimitDraft({ metric: "exposure", factorKey: "market_beta", min: "-0.5", max: "1.2", description: "" }).body,
    ).toEqual({ metric: "exposure", factor_key: "market_beta", min_value: -0.5, max_value: 1.2, description: "" });
  });

  it("says what is wrong beside each field, before sending", () => {
    expect(readLimitDraft({ metric: "exposure", factorKey: "", min: "", max: "", description: "" }).errors).toEqual({
      factor_key: "Choose a factor",
      min_value: "Give a min, a max or both",
    });
    expect(
      readLimitDraft({ metric: "volatility", factorKey: "", min: "30", max: "20", description: "" }).errors,
    ).toEqual({ min_value: "Min must not be above max" });
    expect(
      readLimitDraft({ metric: "volatility", factorKey: "", min: "abc", max: "1e999", description: "" }).errors,
    ).toEqual({ min_value: "Min must be a number", max_value: "Max must be a number" });
  });

  it("round-trips a stored limit through its draft", () => {
    const stored = limit({ metric: "tracking_error", min_value: 0.01, max_value: 0.035 });
    const draft = draftOf(stored);
    expect(draft).toMatchObject({ min: "1", max: "3.5" });
    expect(readLimitDraft(draft).body).toMatchObject({ min_value: 0.01, max_value: 0.035 });
  });
});

describe("formatting", () => {
  it("shows a missing value as a dash, never 0, and bounds in the metric's unit", () => {
    expect(formatLimitValue("volatility", null)).toBe("—");
    expect(formatLimitValue("volatility", 0.1234)).toBe("12.34%");
    expect(formatLimitValue("exposure", 0)).toBe("0");
    expect(formatBounds("factor_share", 0.1, 0.5)).toBe("in [10%, 50%]");
    expect(formatBounds("exposure", null, 1.2)).toBe("≤ 1.2");
  });

  it("writes a toast for a raised and a cleared alert", () => {
    const message = {
      metric: "exposure",
      factor_key: "market_beta",
      value: 1.234,
      min_value: null,
      max_value: 1.2,
      date: "2026-06-30",
    };
    expect(alertText({ ...message, type: "alert.raised" })).toEqual({
      title: "Limit breached",
      body: "market_beta exposure 1.234 (limit ≤ 1.2) on 2026-06-30",
    });
    expect(alertText({ ...message, type: "alert.cleared", value: 1.1 }).title).toBe("Back within limit");
  });
});

describe("riskBreaches", () => {
  it("outlines the factor bars and tiles of breached limits of the shown date only", () => {
    const limits = [
      limit({ id: "vol" }),
      limit({ id: "te", metric: "tracking_error", description: "TE cap", current: { ...limit({}).current } }),
      limit({ id: "share", metric: "factor_share", factor_key: "market", max_value: 0.5 }),
      limit({ id: "active", metric: "active_risk_exposure", factor_key: "size", max_value: 0.1 }),
      limit({
        id: "within",
        metric: "risk_exposure",
        factor_key: "rates",
        state: "within",
        current: { date: "2026-06-30", value: 0.1, position: "within", reason: null },
      }),
      limit({
        id: "old",
        metric: "risk_exposure",
        factor_key: "quality",
        current: { date: "2026-06-29", value: 0.9, position: "breached", reason: null },
      }),
    ];
    const breaches = riskBreaches(limits, "2026-06-30");
    expect(breaches.volatility).toBe("volatility ≤ 20% (now 25%)");
    expect(breaches.trackingError).toBe("TE cap (now 25%)");
    expect([...breaches.total.keys()]).toEqual(["market"]);
    expect([...breaches.active.keys()]).toEqual(["size"]);
    const other = riskBreaches(limits, "2026-06-29");
    expect([...other.total.keys()]).toEqual(["quality"]);
    expect(other.volatility).toBeNull();
    expect(riskBreaches(limits, null).total.size).toBe(0);
  });
});

describe("heatmapBreaches", () => {
  const rows = ["market_beta", "size"];
  const marketCap = limit({
    id: "cap",
    metric: "exposure",
    factor_key: "market_beta",
    min_value: null,
    max_value: 1.2,
    label: "market_beta exposure ≤ 1.2",
  });
  const activeBand = limit({
    id: "band",
    metric: "active_exposure",
    factor_key: "size",
    min_value: -0.5,
    max_value: 0.5,
    description: "size tilt",
    label: "size active exposure in [-0.5, 0.5]",
  });
  // Risk and headline metrics are not heatmap numbers, whatever their factor key.
  const others = [
    limit({ id: "risk", metric: "risk_exposure", factor_key: "market_beta", max_value: 0 }),
    limit({ id: "share", metric: "factor_share", factor_key: "size", max_value: 0 }),
    limit({ id: "vol", metric: "volatility", max_value: 0 }),
  ];
  const own: BreachColumn = { limits: [marketCap, activeBand, ...others], ownBenchmark: true };
  const dates = (column: BreachColumn, count: number) => Array.from({ length: count }, () => column);

  it("outlines the portfolio view's cells outside an exposure limit of the row's factor, on every date", () => {
    // Three dates of history: the limit's bounds apply to each, not only the latest.
    const values = [
      [1.3, 1.1, 1.25],
      [0.9, -0.9, 0.2],
    ];
    const result = heatmapBreaches(values, rows, "portfolio", dates(own, 3));
    expect(result.breached).toEqual([
      [true, false, true],
      [false, false, false],
    ]);
    expect(result.texts[0]?.[0]).toBe("Breaches market_beta exposure ≤ 1.2: ≤ 1.2");
    expect(result.texts[0]?.[1]).toBeNull();
  });

  it("outlines the active view against active exposure limits only with the portfolio's own benchmark", () => {
    const values = [
      [1.5, 1.5],
      [0.6, -0.7],
    ];
    const result = heatmapBreaches(values, rows, "active", dates(own, 2));
    // The exposure cap is no active limit; the band names itself by its description.
    expect(result.breached).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(result.texts[1]?.[1]).toBe("Breaches size tilt: in [-0.5, 0.5]");
    // Against another benchmark (or none) the limits were not evaluated on these numbers: nothing.
    const other = heatmapBreaches(values, rows, "active", dates({ ...own, ownBenchmark: false }, 2));
    expect(other.breached.flat().some(Boolean)).toBe(false);
    expect(other.texts.flat().every((text) => text === null)).toBe(true);
  });

  it("outlines nothing in the benchmark view", () => {
    const result = heatmapBreaches([[5], [5]], rows, "benchmark", [own]);
    expect(result.breached).toEqual([[false], [false]]);
  });

  it("takes the bounds as inclusive and never outlines a missing number", () => {
    const values = [
      [1.2, 1.2000001, null],
      [0.5, -0.5, null],
    ];
    expect(heatmapBreaches(values, rows, "portfolio", dates(own, 3)).breached[0]).toEqual([false, true, false]);
    expect(heatmapBreaches(values, rows, "active", dates(own, 3)).breached[1]).toEqual([false, false, false]);
    // A min-only limit: below it breaches, at it does not.
    const floor = limit({ metric: "exposure", factor_key: "size", min_value: 0, max_value: null, label: "size ≥ 0" });
    expect(
      heatmapBreaches([[0, -0.001]], ["size"], "portfolio", dates({ limits: [floor], ownBenchmark: false }, 2)),
    ).toMatchObject({ breached: [[false, true]], texts: [[null, "Breaches size ≥ 0: ≥ 0"]] });
  });

  it("names every limit a cell breaches", () => {
    const tight = limit({
      id: "tight",
      metric: "exposure",
      factor_key: "market_beta",
      min_value: 0,
      max_value: 1,
      description: "tight",
    });
    const result = heatmapBreaches([[1.3]], ["market_beta"], "portfolio", [
      { limits: [marketCap, tight], ownBenchmark: true },
    ]);
    expect(result.texts[0]?.[0]).toBe("Breaches market_beta exposure ≤ 1.2: ≤ 1.2; Breaches tight: in [0, 1]");
  });

  it("uses each column's own portfolio's limits and benchmark with portfolios as columns", () => {
    const otherCap = limit({ metric: "exposure", factor_key: "market_beta", max_value: 2, label: "cap 2" });
    const columns: BreachColumn[] = [
      own,
      { limits: [otherCap], ownBenchmark: false },
      { limits: [], ownBenchmark: true },
    ];
    const values = [
      [1.5, 1.5, 9],
      [0.9, 0.9, 9],
    ];
    expect(heatmapBreaches(values, rows, "portfolio", columns).breached).toEqual([
      [true, false, false],
      [false, false, false],
    ]);
    expect(heatmapBreaches(values, rows, "active", columns).breached).toEqual([
      [false, false, false],
      [true, false, false],
    ]);
  });

  it("takes the served benchmark as the portfolio's own only when it is that symbol", () => {
    expect(isOwnBenchmark("SPY", "SPY")).toBe(true);
    expect(isOwnBenchmark("QQQ", "SPY")).toBe(false);
    expect(isOwnBenchmark(null, "SPY")).toBe(false);
    expect(isOwnBenchmark(null, null)).toBe(false);
    expect(isOwnBenchmark(undefined, undefined)).toBe(false);
  });
});
