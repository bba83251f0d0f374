// The batch page's progress folding: run details and live messages, in any order, give the
// same per-phase bars; progress never moves backwards; other runs' messages are ignored.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyLiveMessage,
  barFraction,
  barLabel,
  elapsedMs,
  emptyRunProgress,
  focusDate,
  formatDuration,
  isWeekendDate,
  lastWeekday,
  mergeBar,
  mergeDetail,
  nextPhaseOf,
  phaseBars,
  phaseDataWarnings,
  runDataWarnings,
  type PhaseBar,
  type RunDetailInput,
} from "../../../client/src/lib/batch-progress.ts";
import { batchPhases } from "../../../worker/batch/telemetry.ts";
import type { BatchCompleted, BatchProgress } from "../../../worker/realtime/messages.ts";

const runId = "run-1";
const date = "2026-11-20";

function progressMessage(phase: string, done: number, total: number, success = true, run = runId): BatchProgress {
  return {
    type: "batch.progress",
    run_id: run,
    run: { trigger: "admin", portfolio_id: null, dates_total: 1 },
    date,
    phase,
    done,
    total,
    success,
  };
}

function completedMessage(run = runId): BatchCompleted {
  return {
    type: "batch.completed",
    run_id: run,
    run: { trigger: "admin", portfolio_id: null, dates_total: 1 },
    date,
    summary: { phases_ok: 6, phases_failed: 0, portfolios_updated: 5 },
  };
}

function counts(done: number, total: number, failed = 0) {
  return {
    unit: "symbols" as const,
    total: 505,
    computed: 504,
    skipped: 0,
    skipped_reasons: {},
    failed: 0,
    failed_reasons: {},
    rows_stored: 0,
    rows_unchanged: 0,
    rows_deleted: 0,
    chunks_total: total,
    chunks_done: done,
    chunks_failed: failed,
    slowest_chunk_ms: 10,
  };
}

/** A detail mid-run: market_data recorded, symbol_metrics 1 of 2 chunks done. */
const midRun: RunDetailInput = {
  run: { id: runId, status: "running" },
  phases: [{ date, name: "market_data", success: true, counts: counts(6, 6) }],
  progress: {
    dates_total: 1,
    dates_published: 0,
    current_date: date,
    current_phase: "symbol_metrics",
    current_date_chunks: [
      { phase: "market_data", pending: 0, done: 6, failed: 0 },
      { phase: "symbol_metrics", pending: 1, done: 1, failed: 0 },
    ],
    chunks: { pending: 1, done: 7, failed: 0 },
  },
};

describe("mergeDetail", () => {
  it("reads recorded phases as finished and the current date's chunk tallies as running", () => {
    const progress = mergeDetail(emptyRunProgress(runId), midRun);
    const bars = phaseBars(progress, date);
    expect(bars.map((bar) => bar.phase)).toEqual([...batchPhases]);
    expect(bars[0]).toEqual({ phase: "market_data", state: "completed", done: 6, failed: 0, total: 6 });
    expect(bars[1]).toEqual({ phase: "symbol_metrics", state: "running", done: 1, failed: 0, total: 2 });
    expect(bars[2]?.state).toBe("pending");
    expect(barFraction(bars[1]!)).toBe(0.5);
    expect(barLabel(bars[1]!)).toBe("running · 1 / 2 chunks");
    expect(focusDate(progress, [date])).toBe(date);
  });

  it("shows the current phase as running (planning) before it has chunks", () => {
    const detail: RunDetailInput = { ...midRun, progress: { ...midRun.progress, current_date_chunks: [] } };
    const bar = phaseBars(mergeDetail(emptyRunProgress(runId), detail), date)[1]!;
    expect(bar).toEqual({ phase: "symbol_metrics", state: "running", done: 0, failed: 0, total: null });
    expect(barLabel(bar)).toBe("running · planning");
    expect(barFraction(bar)).toBe(0);
  });

  it("marks a date with a publish result completed, and ignores another run's detail", () => {
    const detail: RunDetailInput = {
      run: { id: runId, status: "completed" },
      phases: batchPhases.map((name) => ({
        date,
        name,
        success: name !== "universe_factors",
        counts: name === "universe_factors" ? counts(1, 2, 1) : counts(2, 2),
      })),
      progress: { ...midRun.progress, current_date: null, current_phase: null, current_date_chunks: [] },
    };
    const progress = mergeDetail(emptyRunProgress(runId), detail);
    expect(progress.completedDates).toEqual([date]);
    const bars = phaseBars(progress, date);
    expect(bars.every((bar) => barFraction(bar) === 1)).toBe(true);
    expect(bars[2]?.state).toBe("failed");
    expect(barLabel(bars[2]!)).toBe("failed · 2 / 2 chunks, 1 failed");
    expect(mergeDetail(emptyRunProgress("other"), detail)).toEqual(emptyRunProgress("other"));
  });
});

describe("applyLiveMessage", () => {
  it("finishes the phase a progress message names and starts the next one", () => {
    const progress = applyLiveMessage(emptyRunProgress(runId), progressMessage("market_data", 6, 6));
    const bars = phaseBars(progress, date);
    expect(bars[0]).toEqual({ phase: "market_data", state: "completed", done: 6, failed: 0, total: 6 });
    expect(bars[1]?.state).toBe("running");
    expect(bars[2]?.state).toBe("pending");
  });

  it("records a failed phase with its dead-lettered chunks", () => {
    const bar = phaseBars(
      applyLiveMessage(emptyRunProgress(runId), progressMessage("universe_factors", 1, 2, false)),
      date,
    )[2]!;
    expect(bar).toEqual({ phase: "universe_factors", state: "failed", done: 1, failed: 1, total: 2 });
  });

  it("publishes the date on batch.completed and ignores other runs", () => {
    const progress = applyLiveMessage(emptyRunProgress(runId), completedMessage());
    expect(progress.completedDates).toEqual([date]);
    expect(phaseBars(progress, date).at(-1)?.state).toBe("completed");
    const untouched = emptyRunProgress(runId);
    expect(applyLiveMessage(untouched, progressMessage("market_data", 6, 6, true, "run-2"))).toBe(untouched);
    expect(applyLiveMessage(untouched, completedMessage("run-2"))).toBe(untouched);
  });

  it("never moves a phase backwards, whatever order details and messages arrive in", () => {
    const sources = [
      (p: ReturnType<typeof emptyRunProgress>) => mergeDetail(p, midRun),
      (p: ReturnType<typeof emptyRunProgress>) => applyLiveMessage(p, progressMessage("market_data", 6, 6)),
      (p: ReturnType<typeof emptyRunProgress>) => applyLiveMessage(p, progressMessage("symbol_metrics", 2, 2)),
    ];
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: sources.length - 1 }), { minLength: 1, maxLength: 8 }),
        (order) => {
          let progress = emptyRunProgress(runId);
          for (const index of order) {
            const before = phaseBars(progress, date).map(barFraction);
            progress = sources[index]!(progress);
            const after = phaseBars(progress, date).map(barFraction);
            for (const [i, value] of after.entries()) expect(value).toBeGreaterThanOrEqual(before[i]!);
          }
          // Once symbol_metrics' completion arrived, no later report undoes it.
          if (order.includes(2)) expect(phaseBars(progress, date)[1]?.state).toBe("completed");
        },
      ),
    );
  });
});

describe("the run's phase plan", () => {
  const historyPlan = ["portfolio_analytics", "publish"];
  const historyDetail: RunDetailInput = {
    run: { id: runId, status: "running", phase_plan: ["portfolio_analytics", "publish"] },
    phases: [],
    progress: {
      dates_total: 20,
      dates_published: 0,
      current_date: date,
      current_phase: "portfolio_analytics",
      current_date_chunks: [],
      chunks: { pending: 1, done: 0, failed: 0 },
    },
  };

  it("shows only the plan's phases for a portfolio history run", () => {
    const progress = mergeDetail(emptyRunProgress(runId), historyDetail);
    expect(progress.plan).toEqual(historyPlan);
    const bars = phaseBars(progress, date);
    expect(bars.map((bar) => bar.phase)).toEqual(historyPlan);
    expect(bars[0]?.state).toBe("running");
    expect(bars[1]?.state).toBe("pending");
  });

  it("starts the plan's next phase, not the batch's (portfolio_analytics → publish, no denormalize)", () => {
    const progress = applyLiveMessage(
      emptyRunProgress(runId, historyPlan),
      progressMessage("portfolio_analytics", 1, 1),
    );
    const bars = phaseBars(progress, date);
    expect(bars.map((bar) => [bar.phase, bar.state])).toEqual([
      ["portfolio_analytics", "completed"],
      ["publish", "running"],
    ]);
    expect(progress.dates[date]?.["denormalize"]).toBeUndefined();
    // The last phase of the plan starts nothing.
    const last = applyLiveMessage(progress, progressMessage("publish", 1, 1));
    expect(Object.keys(last.dates[date] ?? {}).sort()).toEqual(["portfolio_analytics", "publish"]);
  });

  it("knows the next phase of any plan", () => {
    expect(nextPhaseOf(batchPhases, "portfolio_analytics")).toBe("denormalize");
    expect(nextPhaseOf(historyPlan, "portfolio_analytics")).toBe("publish");
    expect(nextPhaseOf(historyPlan, "publish")).toBeUndefined();
    expect(nextPhaseOf(historyPlan, "market_data")).toBeUndefined();
  });

  it(
    "keeps the full plan when a detail names none (an older Worker) " +
      "and lists phases reported outside the plan after it",
    () => {
      expect(mergeDetail(emptyRunProgress(runId), midRun).plan).toEqual([...batchPhases]);
      const progress = applyLiveMessage(emptyRunProgress(runId, historyPlan), progressMessage("market_data", 1, 1));
      expect(phaseBars(progress, date).map((bar) => bar.phase)).toEqual([...historyPlan, "market_data"]);
    },
  );
});

describe("data warnings", () => {
  const phase = (
    name: string,
    extra: Record<string, number>,
    issues: { item: string; reason: string; detail: string; factor?: string }[] = [],
    day = date,
  ) => ({ date: day, name, counts: extra, issues });

  it("makes a kept price conflict a warning with its listed examples (both values)", () => {
    const warnings = phaseDataWarnings(
      phase("market_data", { price_conflicts_kept: 2 }, [
        {
          item: "AAPL",
          reason: "source_conflict",
          detail: "stored 272.41 (csv), provider 271.90 (stooq): kept 272.41",
        },
        {
          item: "MSFT",
          reason: "source_conflict",
          detail: "stored 501.00 (upload), provider 499.10 (stooq): kept 501.00",
        },
        { item: "ZZZQ", reason: "no_close", detail: "no close" },
      ]),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ kind: "price_conflicts_kept", tone: "warn", count: 2 });
    expect(warnings[0]!.text).toMatch(/^2 price conflicts: /);
    expect(warnings[0]!.examples.map((example) => example.item)).toEqual(["AAPL", "MSFT"]);
  });

  it("reports rejected returns, replaced closes and stale betas recomputed; nothing for plain counts", () => {
    const warnings = phaseDataWarnings(
      phase("universe_factors", { returns_rejected: 1, recomputed_stale: 3, price_conflicts_replaced: 0 }, [
        { item: "XYZ", reason: "suspect_move", detail: "+85% on 2026-11-19", factor: "market_beta" },
      ]),
    );
    expect(warnings.map((warning) => [warning.kind, warning.tone, warning.count])).toEqual([
      ["returns_rejected", "warn", 1],
      ["recomputed_stale", "info", 3],
    ]);
    expect(warnings[0]!.examples).toEqual([{ item: "XYZ · market_beta", detail: "+85% on 2026-11-19" }]);
    expect(phaseDataWarnings(phase("market_data", {}))).toEqual([]);
  });

  it("sums a run's warnings over its dates, conflicts first", () => {
    const summary = runDataWarnings([
      phase("universe_factors", { recomputed_stale: 2 }, [], "2026-11-19"),
      phase("market_data", { price_conflicts_kept: 1 }, [], "2026-11-19"),
      phase("market_data", { price_conflicts_kept: 3, price_conflicts_replaced: 0 }, [], "2026-11-20"),
    ]);
    expect(summary).toEqual([
      { kind: "price_conflicts_kept", tone: "warn", count: 4, dates: ["2026-11-19", "2026-11-20"] },
      { kind: "recomputed_stale", tone: "info", count: 2, dates: ["2026-11-19"] },
    ]);
  });
});

describe("mergeBar", () => {
  const running = (done: number, total: number | null): PhaseBar => ({
    phase: "p",
    state: "running",
    done,
    failed: 0,
    total,
  });
  it("keeps the more advanced report and the known total", () => {
    expect(mergeBar(running(3, 6), running(1, 6))).toEqual(running(3, 6));
    expect(mergeBar(running(1, 6), running(2, null))).toEqual(running(2, 6));
    const done: PhaseBar = { phase: "p", state: "completed", done: 6, failed: 0, total: 6 };
    expect(mergeBar(done, running(5, 6))).toBe(done);
    expect(mergeBar(undefined, done)).toBe(done);
  });
});

describe("focusDate", () => {
  it("is the latest date under way, else the latest reported, else the first", () => {
    let progress = emptyRunProgress(runId);
    expect(focusDate(progress, ["2026-11-19", date])).toBe("2026-11-19");
    expect(focusDate(progress, [])).toBeNull();
    progress = applyLiveMessage(progress, { ...progressMessage("market_data", 6, 6), date: "2026-11-19" });
    progress = applyLiveMessage(progress, progressMessage("market_data", 6, 6));
    expect(focusDate(progress, ["2026-11-19", date])).toBe(date);
    progress = applyLiveMessage(progress, completedMessage());
    expect(focusDate(progress, ["2026-11-19", date])).toBe("2026-11-19");
  });
});

describe("dates and durations", () => {
  it("defaults the run date to the last weekday", () => {
    expect(lastWeekday("2026-11-21")).toBe("2026-11-20"); // Saturday → Friday
    expect(lastWeekday("2026-11-22")).toBe("2026-11-20"); // Sunday → Friday
    expect(lastWeekday("2026-11-23")).toBe("2026-11-23"); // Monday
    expect(lastWeekday("2027-01-03")).toBe("2027-01-01");
    expect(isWeekendDate("2026-11-21")).toBe(true);
    expect(isWeekendDate("2026-11-20")).toBe(false);
  });

  it("formats durations, missing as null", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
    expect(formatDuration(7_380_000)).toBe("2 h 03 min");
    expect(formatDuration(null)).toBeNull();
    expect(formatDuration(Number.NaN)).toBeNull();
    expect(elapsedMs("2026-11-21T21:25:16.141Z", "2026-11-21T21:25:30.833Z")).toBe(14_692);
    expect(elapsedMs(null, "2026-11-21T21:25:30.833Z")).toBeNull();
  });
});
