// A portfolio's first start (client/src/lib/history-run.ts): the run that computes a portfolio
// with no computed date — its own history run, or a run over every portfolio such as a backfill —
// with the time left at its pace so far, and, when nothing runs, the nightly schedule, which
// must be wrangler.toml's cron.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  batchCron,
  computingIndicator,
  computingText,
  emptyHistoryState,
  nextCronRun,
  noteLiveMessage,
  noteRunFacts,
  remainingText,
  scheduleText,
} from "../../../client/src/lib/history-run.ts";
import type { BatchCompleted } from "../../../worker/realtime/messages.ts";

const completed = (runId: string, date: string, trigger: string, portfolioId: string | null): BatchCompleted => ({
  type: "batch.completed",
  run_id: runId,
  run: { trigger, portfolio_id: portfolioId, dates_total: 40 },
  date,
  summary: { phases_ok: 2, phases_failed: 0, portfolios_updated: 1 },
});
const day = (n: number) => `2026-10-${String(n).padStart(2, "0")}`;

describe("what computes a portfolio with no computed date", () => {
  it("follows a backfill from the live messages alone (a viewer), with the time left at its pace", () => {
    let state = emptyHistoryState();
    // One date every 3 s, heard from the 1st on.
    for (let n = 1; n <= 12; n++) state = noteLiveMessage(state, completed("b1", day(n), "backfill", null), n * 3_000);
    const indicator = computingIndicator(state, "p1", 36_000);
    expect(indicator).toEqual({
      runId: "b1",
      kind: "batch",
      trigger: "backfill",
      done: 12,
      total: 40,
      remainingMs: 84_000,
    });
    expect(computingText(indicator!)).toBe(
      "A backfill is computing every portfolio: 12 of 40 dates, about 1 min left.",
    );
    // Quiet for longer than a backfill's date may take: no longer shown as running.
    expect(computingIndicator(state, "p1", 36_000 + 600_001)).toBeNull();
  });

  it("prefers the portfolio's own history run, paced from the start the admin API gives", () => {
    let state = noteLiveMessage(emptyHistoryState(), completed("b1", day(1), "backfill", null), 0);
    state = noteRunFacts(
      state,
      "h1",
      {
        trigger: "portfolio",
        portfolio_id: "p1",
        status: "running",
        dates_total: 40,
        dates_published: 10,
        started_at: new Date(0).toISOString(),
      },
      5,
    );
    const indicator = computingIndicator(state, "p1", 40_000);
    expect(indicator).toMatchObject({ runId: "h1", kind: "history", done: 10, total: 40, remainingMs: 120_000 });
    expect(computingText(indicator!)).toBe("Computing history: 10 of 40 dates, about 2 min left.");
    // Another portfolio's history run computes nothing of p2's; the backfill does.
    expect(computingIndicator(state, "p2", 40_000)?.runId).toBe("b1");
  });

  it("says nothing of the time left before a date lands, and nothing once every date is published", () => {
    const facts = { trigger: "portfolio", portfolio_id: "p1", status: "queued", dates_total: 3, dates_published: 0 };
    const state = noteRunFacts(emptyHistoryState(), "h1", facts, 0);
    expect(computingIndicator(state, "p1", 1_000)).toMatchObject({ done: 0, remainingMs: null });
    expect(computingText(computingIndicator(state, "p1", 1_000)!)).toBe("Computing history: 0 of 3 dates.");
    const done = noteRunFacts(state, "h1", { ...facts, status: "completed", dates_published: 3 }, 2_000);
    expect(computingIndicator(done, "p1", 2_000)).toBeNull();
  });

  it("words the time left as people read it", () => {
    expect(remainingText(20_000)).toBe("less than a minute left");
    expect(remainingText(150_000)).toBe("about 3 min left");
    expect(remainingText(70 * 60_000)).toBe("about 1 h 10 min left");
    expect(remainingText(120 * 60_000)).toBe("about 2 h left");
  });
});

describe("the nightly schedule", () => {
  it("is wrangler.toml's cron", () => {
    const toml = readFileSync(new URL("../../../wrangler.toml", import.meta.url), "utf8");
    expect(toml).toContain(`crons = ["${batchCron}"]`);
  });

  it("fires next on the coming weekday at 21:30 UTC", () => {
    // Thursday before, Thursday after, Friday after (→ Monday), Sunday.
    expect(nextCronRun(batchCron, new Date("2026-12-03T10:00:00Z")).toISOString()).toBe("2026-12-03T21:30:00.000Z");
    expect(nextCronRun(batchCron, new Date("2026-12-03T21:30:00Z")).toISOString()).toBe("2026-12-04T21:30:00.000Z");
    expect(nextCronRun(batchCron, new Date("2026-12-04T22:00:00Z")).toISOString()).toBe("2026-12-07T21:30:00.000Z");
    expect(nextCronRun(batchCron, new Date("2026-12-06T08:00:00Z")).toISOString()).toBe("2026-12-07T21:30:00.000Z");
    expect(scheduleText(new Date("2026-12-03T10:00:00Z"))).toBe(
      "The daily batch computes exposures on weekdays at 21:30 UTC, after the New York close; " +
        "next run Thu 2026-12-03 21:30 UTC (in 12 h).",
    );
  });
});
