// The heatmap's marking of cells that cannot be told from zero (|exposure| < 2 SE): which cells
// of each view are marked, what their labels say, and live updates that make a standard error
// unknown rather than stale.
import { describe, expect, it } from "vitest";
import type { Exposures, ExposureSeries } from "../../../client/src/api/types.ts";
import {
  applyUpdate,
  datesMatrix,
  indistinguishableCells,
  indistinguishableLegend,
  portfoliosMatrix,
  uncertaintyLabel,
} from "../../../client/src/lib/heatmap-grid.ts";

const dates = ["2026-06-25", "2026-06-26", "2026-06-29", "2026-06-30"];

// Date 0: 0.30 ± 2 × 0.10, told from zero; date 1: 0.05 ± 2 × 0.10, not; date 2: no standard
// error (a beta without one); date 3: missing. The benchmark's: 1.0 ± 2 × 0.02, then not known.
// Active: 0.30 − 1.0 = −0.70 told from zero, then −0.95 ± 2 × 0.5 not.
const market: ExposureSeries = {
  key: "market_beta",
  name: "Market Beta",
  portfolio: [0.3, 0.05, 0.2, null],
  exposure_dollar: [300_000, 50_000, 200_000, null],
  coverage: [1, 1, 1, null],
  coverage_count: [1, 1, 1, null],
  positions_used: [4, 4, 4, null],
  positions_total: [4, 4, 4, null],
  r_squared: [0.5, 0.5, 0.5, null],
  benchmark: [1, 1, 1, 1],
  benchmark_r_squared: [0.9, 0.9, 0.9, 0.9],
  active: [-0.7, -0.95, -0.8, null],
  standard_error: [0.1, 0.1, null, null],
  standard_error_reason: [null, null, "standard_error_not_computed", "no_exposure"],
  distinguishable: [true, false, null, null],
  benchmark_standard_error: [0.02, 0.02, null, null],
  benchmark_standard_error_reason: [null, null, "standard_error_not_computed", "standard_error_not_computed"],
  benchmark_distinguishable: [true, true, null, null],
  active_standard_error: [0.1, 0.5, null, null],
  active_standard_error_reason: [null, null, "standard_error_not_computed", "no_exposure"],
  active_distinguishable: [true, false, null, null],
};

const exposures: Exposures = {
  portfolio_id: "core",
  from: dates[0]!,
  to: dates.at(-1)!,
  benchmark: "SPY",
  dates,
  equity: dates.map(() => 1_000_000),
  factors: [market],
  data_quality: null,
};

describe("marking cells not distinguishable from zero", () => {
  it("marks exactly the cells whose view says distinguishable = false, in each view", () => {
    const portfolio = datesMatrix(exposures, "portfolio", [0, 3]);
    expect(indistinguishableCells(portfolio)).toEqual([[false, true, false, false]]);
    expect(portfolio.uncertainty[0]![1]).toEqual({ standardError: 0.1, distinguishable: false, reason: null });
    // A missing cell has no standard error to show at all.
    expect(portfolio.uncertainty[0]![3]).toBeNull();
    expect(indistinguishableCells(datesMatrix(exposures, "benchmark", [0, 3]))).toEqual([[false, false, false, false]]);
    expect(indistinguishableCells(datesMatrix(exposures, "active", [0, 3]))).toEqual([[false, true, false, false]]);
    expect(datesMatrix(exposures, "active", [1, 1]).uncertainty).toEqual([
      [{ standardError: 0.5, distinguishable: false, reason: null }],
    ]);
  });

  it("marks portfolios as columns on one date, a portfolio without it unmarked", () => {
    const matrix = portfoliosMatrix(
      [
        { id: "core", exposures },
        { id: "loading", exposures: undefined },
      ],
      ["market_beta"],
      "portfolio",
      "2026-06-26",
    );
    expect(matrix.values).toEqual([[0.05, null]]);
    expect(indistinguishableCells(matrix)).toEqual([[true, false]]);
  });

  it("says so with the 2 SE band, and says why where the standard error is unavailable", () => {
    const matrix = datesMatrix(exposures, "portfolio", [0, 3]);
    const label = (column: number) =>
      uncertaintyLabel(matrix.values[0]![column] ?? null, matrix.uncertainty[0]![column] ?? null);
    expect(label(1)).toEqual({
      value: "±0.200 (2 SE)",
      text:
        "Not distinguishable from zero: |exposure| < 2 SE, ±0.200 (2 SE); " +
        "errors taken as independent across symbols.",
      indistinguishable: true,
    });
    expect(label(0)).toMatchObject({ value: "±0.200 (2 SE)", indistinguishable: false });
    expect(label(0)?.text).toMatch(/^Distinguishable from zero/);
    expect(label(2)).toEqual({
      value: "unavailable",
      text:
        "Standard error unavailable: a beta used has no stored standard error " +
        "(computed before standard errors existed).",
      indistinguishable: false,
    });
    expect(label(3)).toBeNull();
    expect(indistinguishableLegend).toBe(
      "|exposure| < 2 SE: not distinguishable from zero (errors taken as independent across symbols)",
    );
  });
});

describe("a live update and the standard errors", () => {
  const update = (exposure: number | null) => ({
    type: "exposures.updated" as const,
    portfolio_id: "core",
    seq: 3,
    date: "2026-06-26",
    cause: "positions" as const,
    equity: 1_000_000,
    exposures: [{ factor_key: "market_beta", exposure, exposure_dollar: null, coverage: 1, r_squared: 0.5 }],
  });

  it("makes a changed exposure's standard errors unknown (not the old ones), its mark gone until a reload", () => {
    const next = applyUpdate(exposures, update(0.4))!;
    const factor = next.factors[0]!;
    expect(factor.standard_error[1]).toBeNull();
    expect(factor.distinguishable[1]).toBeNull();
    expect(factor.active_standard_error[1]).toBeNull();
    expect(factor.active_distinguishable[1]).toBeNull();
    // The benchmark's are its beta's: the portfolio's update does not touch them.
    expect(factor.benchmark_standard_error[1]).toBe(0.02);
    // Other dates keep theirs.
    expect(factor.standard_error[0]).toBe(0.1);
    const matrix = datesMatrix(next, "portfolio", [0, 3]);
    expect(indistinguishableCells(matrix)).toEqual([[false, false, false, false]]);
    expect(uncertaintyLabel(0.4, matrix.uncertainty[0]![1] ?? null)?.text).toBe(
      "Standard error unavailable: the exposure changed live; the next load brings its standard error.",
    );
  });

  it("keeps them when the update has the same exposure", () => {
    const same = applyUpdate(exposures, update(0.05))!.factors[0]!;
    expect(same.standard_error[1]).toBe(0.1);
    expect(same.distinguishable[1]).toBe(false);
  });
});
