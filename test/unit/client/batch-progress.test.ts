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
  phaseBars,
  type PhaseBar,
  type RunDetailInput,
} from "../../../client/src/lib/batch-progress.ts";
import { batchPhases } from "../../../worker/batch/telemetry.ts";
import type { BatchCompleted, BatchProgress } from "../../../worker/realtime/messages.ts";

const runId = "run-1";
const date = "2026-11-20";

function progressMessage(phase: string, done: number, total: number, success = true, run = runId): BatchProgress {
  return { type: "batch.progress", run_id: run, date, phase, done, total, success };
}

function completedMessage(run = runId): BatchCompleted {
  return { type: "batch.completed", run_id: run, date, summary: { phases_ok: 6, phases_failed: 0, portfolios_updated: 5 } };
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
      phases: batchPhases.map((name) => ({ date, name, success: name !== "universe_factors", counts: name === "universe_factors" ? counts(1, 2, 1) : counts(2, 2) })),
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
    const bar = phaseBars(applyLiveMessage(emptyRunProgress(runId), progressMessage("universe_factors", 1, 2, false)), date)[2]!;
    expect(bar).toEqual({ phase: "universe_factors", state: "failed", done: 1, failed: 1, total: 2 });
  });

  it("publishes the date on batch.completed and ignores other runs", () => {
    const progress = applyLiveMessage(emptyRunProgress(runId), completedMessage());
    expect(progress.completedDates).toEqual([date]);
    expect(phaseBars(progress, date)[5]?.state).toBe("completed");
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
      fc.property(fc.array(fc.integer({ min: 0, max: sources.length - 1 }), { minLength: 1, maxLength: 8 }), (order) => {
        let progress = emptyRunProgress(runId);
        for (const index of order) {
          const before = phaseBars(progress, date).map(barFraction);
          progress = sources[index]!(progress);
          const after = phaseBars(progress, date).map(barFraction);
          after.forEach((value, i) => expect(value).toBeGreaterThanOrEqual(before[i]!));
        }
        // Once symbol_metrics' completion arrived, no later report undoes it.
        if (order.includes(2)) expect(phaseBars(progress, date)[1]?.state).toBe("completed");
      }),
    );
  });
});

describe("mergeBar", () => {
  const running = (done: number, total: number | null): PhaseBar => ({ phase: "p", state: "running", done, failed: 0, total });
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
