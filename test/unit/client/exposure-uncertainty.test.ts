// The heatmap's marking of cells that cannot be told from zero (|exposure| < 2 SE): which cells
// of each view are marked, what their labels say, and live updates: a standard error unknown
// rather than stale until the date's read from the route is folded in, and never a stale read.
import { describe, expect, it } from "vitest";
import type { Exposures, ExposureSeries } from "../../../client/src/api/types.ts";
import {
  applyUpdate,
  datesMatrix,
  foldDateReads,
  indistinguishableCells,
  indistinguishableLegend,
  portfoliosMatrix,
  retryFailedReads,
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
  const update = (exposure: number | null, seq = 3, standardError?: number | null) => ({
    type: "exposures.updated" as const,
    portfolio_id: "core",
    seq,
    date: "2026-06-26",
    cause: "positions" as const,
    equity: 1_000_000,
    exposures: [
      {
        factor_key: "market_beta",
        exposure,
        exposure_dollar: null,
        coverage: 1,
        r_squared: 0.5,
        ...(standardError === undefined ? {} : { standard_error: standardError }),
      },
    ],
  });
  // The exposures route's answer for that one date (`from=to=2026-06-26`, the page's benchmark):
  // the new exposure 0.4 ± 2 × 0.25, not told from zero; the benchmark's beta moved too (a batch
  // rerun); active 0.4 − 1.1 = −0.7 ± 2 × 0.3, told from zero.
  const answer = (exposure: number, standardError: number): Exposures => ({
    ...exposures,
    from: "2026-06-26",
    to: "2026-06-26",
    dates: ["2026-06-26"],
    equity: [1_000_000],
    factors: [
      {
        ...market,
        portfolio: [exposure],
        exposure_dollar: [exposure * 1_000_000],
        coverage: [1],
        coverage_count: [0.75],
        positions_used: [3],
        positions_total: [4],
        r_squared: [0.5],
        benchmark: [1.1],
        benchmark_r_squared: [0.9],
        active: [exposure - 1.1],
        standard_error: [standardError],
        standard_error_reason: [null],
        distinguishable: [Math.abs(exposure) >= 2 * standardError],
        benchmark_standard_error: [0.03],
        benchmark_standard_error_reason: [null],
        benchmark_distinguishable: [true],
        active_standard_error: [0.3],
        active_standard_error_reason: [null],
        active_distinguishable: [true],
      },
    ],
  });
  const cell = (loaded: Exposures, view: "portfolio" | "benchmark" | "active") =>
    datesMatrix(loaded, view, [1, 1]).uncertainty[0]![0];
  const text = (loaded: Exposures, view: "portfolio" | "benchmark" | "active") => {
    const matrix = datesMatrix(loaded, view, [1, 1]);
    return uncertaintyLabel(matrix.values[0]![0] ?? null, matrix.uncertainty[0]![0] ?? null)?.text;
  };

  it("makes a changed exposure's standard errors unknown (not the old ones), unmarked until the date's read", () => {
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
    expect(next.pending).toEqual({ "2026-06-26": { seq: 3, failed: false } });
    const matrix = datesMatrix(next, "portfolio", [0, 3]);
    expect(indistinguishableCells(matrix)).toEqual([[false, false, false, false]]);
    expect(uncertaintyLabel(0.4, matrix.uncertainty[0]![1] ?? null)).toEqual({
      value: "loading…",
      text: "Standard error unavailable: the exposure changed live; loading its standard error.",
      indistinguishable: false,
    });
  });

  it("takes the message's standard error for the portfolio view at once; active waits for the date's read", () => {
    const next = applyUpdate(exposures, update(0.4, 3, 0.25))!;
    expect(cell(next, "portfolio")).toEqual({ standardError: 0.25, distinguishable: false, reason: null });
    expect(indistinguishableCells(datesMatrix(next, "portfolio", [1, 1]))).toEqual([[true]]);
    expect(cell(next, "active")).toEqual({ standardError: null, distinguishable: null, reason: "live_loading" });
    // A message saying there is none: why is the route's to say (the read brings it).
    expect(cell(applyUpdate(exposures, update(0.4, 3, null))!, "portfolio")).toMatchObject({
      standardError: null,
      reason: "live_loading",
    });
    // Told from zero by the same rule as the route: |exposure| ≥ 2 SE and ≠ 0.
    expect(cell(applyUpdate(exposures, update(0.5, 3, 0.25))!, "portfolio")?.distinguishable).toBe(true);
    expect(cell(applyUpdate(exposures, update(0, 3, 0))!, "portfolio")?.distinguishable).toBe(false);
  });

  it("folds the date's read in: every view's standard error is the route's, the date no longer pending", () => {
    const next = applyUpdate(exposures, update(0.4))!;
    const read = foldDateReads(next, new Map([["2026-06-26", 3]]), answer(0.4, 0.25));
    expect(read.pending).toEqual({});
    expect(cell(read, "portfolio")).toEqual({ standardError: 0.25, distinguishable: false, reason: null });
    expect(cell(read, "benchmark")).toEqual({ standardError: 0.03, distinguishable: true, reason: null });
    expect(cell(read, "active")).toEqual({ standardError: 0.3, distinguishable: true, reason: null });
    expect(indistinguishableCells(datesMatrix(read, "portfolio", [0, 3]))).toEqual([[false, true, false, false]]);
    expect(text(read, "portfolio")).toMatch(/^Not distinguishable from zero: \|exposure\| < 2 SE, ±0\.500/);
    // The rest of the date is the route's too (counts and the benchmark the message lacks); other dates untouched.
    const factor = read.factors[0]!;
    expect(factor.positions_used[1]).toBe(3);
    expect(factor.benchmark[1]).toBe(1.1);
    expect(factor.active[1]).toBeCloseTo(-0.7, 12);
    expect(factor.standard_error).toEqual([0.1, 0.25, null, null]);
    expect(factor.standard_error_reason).toEqual([null, null, "standard_error_not_computed", "no_exposure"]);
  });

  it("never lets a stale read overwrite a newer update of the date", () => {
    const first = applyUpdate(exposures, update(0.4, 3))!;
    const second = applyUpdate(first, update(0.06, 4))!;
    // The read asked for update 3 arrives after update 4: dropped, update 4's numbers stay.
    const stale = foldDateReads(second, new Map([["2026-06-26", 3]]), answer(0.4, 0.25));
    expect(stale).toBe(second);
    expect(stale.factors[0]!.portfolio[1]).toBe(0.06);
    expect(cell(stale, "portfolio")?.reason).toBe("live_loading");
    // Update 4's own read is folded.
    const fresh = foldDateReads(stale, new Map([["2026-06-26", 4]]), answer(0.06, 0.05));
    expect(fresh.factors[0]!.portfolio[1]).toBe(0.06);
    expect(cell(fresh, "portfolio")).toEqual({ standardError: 0.05, distinguishable: false, reason: null });
    // After a full load (nothing pending) a late read is dropped too.
    expect(foldDateReads(exposures, new Map([["2026-06-26", 4]]), answer(9, 1))).toBe(exposures);
  });

  it("says when the read failed, and reads it again (same update) on the next update or reconnect", () => {
    const next = applyUpdate(exposures, update(0.4))!;
    const failed = foldDateReads(next, new Map([["2026-06-26", 3]]), null);
    expect(failed.pending).toEqual({ "2026-06-26": { seq: 3, failed: true } });
    expect(uncertaintyLabel(0.4, cell(failed, "active") ?? null)).toEqual({
      value: "unavailable",
      text:
        "Standard error unavailable: the exposure changed live and its standard error could not load " +
        "(tried again on the next update or reconnect).",
      indistinguishable: false,
    });
    // An answer without the date fails it too.
    expect(foldDateReads(next, new Map([["2026-06-26", 3]]), { ...answer(0.4, 0.25), dates: [] }).pending).toEqual({
      "2026-06-26": { seq: 3, failed: true },
    });
    const retry = retryFailedReads(failed);
    expect([...retry.read]).toEqual([["2026-06-26", 3]]);
    expect(cell(retry.exposures, "active")?.reason).toBe("live_loading");
    expect(retryFailedReads(retry.exposures).read.size).toBe(0);
    expect(cell(foldDateReads(retry.exposures, retry.read, answer(0.4, 0.25)), "active")?.standardError).toBe(0.3);
  });

  it("keeps them when the update has the same exposure (and standard error)", () => {
    const same = applyUpdate(exposures, update(0.05))!.factors[0]!;
    expect(same.standard_error[1]).toBe(0.1);
    expect(same.distinguishable[1]).toBe(false);
    expect(applyUpdate(exposures, update(0.05, 3, 0.1))!.factors[0]!.active_standard_error[1]).toBe(0.5);
    // A changed standard error alone makes the active one unknown.
    expect(applyUpdate(exposures, update(0.05, 3, 0.2))!.factors[0]!.active_standard_error[1]).toBeNull();
  });
});
