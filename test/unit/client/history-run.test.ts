// A portfolio's history run as the exposures page follows it: from the live messages' facts
// (every batch message says what its run is), and from the run's summary when the caller may
// read runs.
import { describe, expect, it } from "vitest";
import {
  emptyHistoryState,
  historyIndicator,
  historyText,
  noteLiveMessage,
  noteRunFacts,
  runsWithoutFacts,
} from "../../../client/src/lib/history-run.ts";
import type { BatchCompleted, BatchProgress, ExposuresUpdated } from "../../../worker/realtime/messages.ts";

const facts = (trigger: string, portfolioId: string | null, datesTotal: number) => ({
  trigger,
  portfolio_id: portfolioId,
  dates_total: datesTotal,
});
const completed = (runId: string, date: string, run = facts("portfolio", "p1", 3)): BatchCompleted => ({
  type: "batch.completed",
  run_id: runId,
  run,
  date,
  summary: { phases_ok: 1, phases_failed: 0, portfolios_updated: 1 },
});
const progress = (runId: string, date: string, phase: string, run = facts("portfolio", "p1", 3)): BatchProgress => ({
  type: "batch.progress",
  run_id: runId,
  run,
  date,
  phase,
  done: 1,
  total: 1,
  success: true,
});
const update = (portfolioId: string, date: string): ExposuresUpdated => ({
  type: "exposures.updated",
  portfolio_id: portfolioId,
  seq: 1,
  date,
  cause: "batch",
  equity: 1,
  exposures: [],
});

describe("history run indicator", () => {
  it("shows N of M from the run's facts while it runs, and nothing once every date is published", () => {
    let state = noteRunFacts(
      emptyHistoryState(),
      "r1",
      { trigger: "portfolio", portfolio_id: "p1", status: "running", dates_total: 25, dates_published: 3 },
      0,
    );
    expect(historyIndicator(state, "p1", 0)).toEqual({ runId: "r1", done: 3, total: 25 });
    expect(historyIndicator(state, "p2", 0)).toBeNull();
    for (let day = 1; day <= 9; day++)
      state = noteLiveMessage(state, completed("r1", `2026-10-0${day}`, facts("portfolio", "p1", 25)), 30);
    expect(historyIndicator(state, "p1", 30)?.done).toBe(9);
    expect(historyText(historyIndicator(state, "p1", 30)!)).toBe("computing history… 9 of 25 dates");
    state = noteRunFacts(
      state,
      "r1",
      { trigger: "portfolio", portfolio_id: "p1", status: "completed", dates_total: 25, dates_published: 25 },
      40,
    );
    expect(historyIndicator(state, "p1", 40)).toBeNull();
  });

  it("follows a history run from the live messages alone, and ends it at its last date", () => {
    let state = noteLiveMessage(emptyHistoryState(), progress("r2", "2026-10-01", "portfolio_analytics"), 0);
    expect(runsWithoutFacts(state)).toEqual(["r2"]);
    expect(historyIndicator(state, "p1", 0)).toEqual({ runId: "r2", done: 0, total: 3 });
    state = noteLiveMessage(state, completed("r2", "2026-10-01"), 10);
    state = noteLiveMessage(state, completed("r2", "2026-10-01"), 11); // a repeat counts once
    expect(historyIndicator(state, "p1", 11)).toEqual({ runId: "r2", done: 1, total: 3 });
    expect(historyIndicator(state, "p2", 11)).toBeNull();
    state = noteLiveMessage(state, completed("r2", "2026-10-02"), 20);
    state = noteLiveMessage(state, completed("r2", "2026-10-05"), 30);
    expect(historyIndicator(state, "p1", 30)).toBeNull();
  });

  it("takes a run heard of no more for quietMs as over", () => {
    const state = noteLiveMessage(emptyHistoryState(), completed("r3", "2026-10-01"), 0);
    expect(historyIndicator(state, "p1", 29_000)).not.toBeNull();
    expect(historyIndicator(state, "p1", 31_000)).toBeNull();
  });

  it("ignores daily runs, other portfolios' history runs and exposures updates", () => {
    let state = noteRunFacts(
      emptyHistoryState(),
      "daily",
      { trigger: "cron", portfolio_id: null, status: "running", dates_total: 1, dates_published: 0 },
      0,
    );
    state = noteRunFacts(
      state,
      "other",
      { trigger: "portfolio", portfolio_id: "p2", status: "running", dates_total: 5, dates_published: 0 },
      0,
    );
    state = noteLiveMessage(state, progress("full", "2026-10-01", "market_data", facts("admin", null, 1)), 0);
    state = noteLiveMessage(state, update("p1", "2026-10-01"), 0);
    expect(historyIndicator(state, "p1", 0)).toBeNull();
  });
});
