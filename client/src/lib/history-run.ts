// A portfolio's history filling in: after its positions change, the Worker starts a "portfolio"
// history run (portfolio_analytics and publish over every computed date since the change). Its
// `batch.progress` (RUN_BATCH sockets only) and `batch.completed` messages say what the run is
// (`run`: trigger, portfolio, dates total), and a caller who may read runs also gets the run's
// summary from the admin API. This module folds both into "computing history… N of M dates"
// for one portfolio. Pure functions.
import type { BatchCompleted, BatchProgress, ExposuresUpdated } from "../../../worker/realtime/messages.ts";

/** What is known of a run: the admin API's `BatchRunSummary` subset, or the live messages' facts (`status: "live"`). */
export interface RunFacts {
  trigger: string;
  portfolio_id: string | null;
  status: string;
  dates_total: number;
  dates_published: number;
}

interface TrackedRun {
  runId: string;
  facts: RunFacts | null;
  /** Dates a `batch.completed` announced, sorted. */
  published: string[];
  lastHeard: number;
}

export interface HistoryState {
  runs: Readonly<Record<string, TrackedRun>>;
}

export interface HistoryIndicator {
  runId: string;
  /** Dates published so far. */
  done: number;
  total: number;
}

export function emptyHistoryState(): HistoryState {
  return { runs: {} };
}

function withRun(state: HistoryState, run: TrackedRun): HistoryState {
  return { ...state, runs: { ...state.runs, [run.runId]: run } };
}

/** Folds what the admin API said of a run (it wins over the live messages' facts). */
export function noteRunFacts(state: HistoryState, runId: string, facts: RunFacts, now: number): HistoryState {
  const run = state.runs[runId];
  return withRun(state, {
    runId,
    published: run?.published ?? [],
    facts,
    lastHeard: Math.max(run?.lastHeard ?? 0, now),
  });
}

/** Folds a live message (an exposures update carries nothing about runs and is ignored). */
export function noteLiveMessage(
  state: HistoryState,
  message: BatchProgress | BatchCompleted | ExposuresUpdated,
  now: number,
): HistoryState {
  if (message.type === "exposures.updated") return state;
  const previous = state.runs[message.run_id];
  const published =
    message.type === "batch.completed" && !(previous?.published ?? []).includes(message.date)
      ? [...(previous?.published ?? []), message.date].sort()
      : (previous?.published ?? []);
  const fromApi = previous?.facts && previous.facts.status !== "live" ? previous.facts : null;
  const facts: RunFacts = fromApi ?? {
    trigger: message.run.trigger,
    portfolio_id: message.run.portfolio_id,
    status: "live",
    dates_total: message.run.dates_total,
    dates_published: published.length,
  };
  return withRun(state, { runId: message.run_id, published, facts, lastHeard: now });
}

/** `live`: facts from the live messages (the run is under way while they arrive). */
const activeStatuses = new Set(["queued", "running", "live"]);

/** The runs the admin API has not told about yet, newest news first. */
export function runsWithoutFacts(state: HistoryState): string[] {
  return Object.values(state.runs)
    .filter((run) => run.facts === null || run.facts.status === "live")
    .sort((a, b) => b.lastHeard - a.lastHeard)
    .map((run) => run.runId);
}

/**
 * The open portfolio's history run under way, if any: a `portfolio` run of this portfolio,
 * queued or running (or, known from live messages only, heard within `quietMs`), with dates
 * still to publish.
 */
export function historyIndicator(
  state: HistoryState,
  portfolioId: string,
  now: number,
  quietMs = 30_000,
): HistoryIndicator | null {
  const candidates = Object.values(state.runs).sort((a, b) => b.lastHeard - a.lastHeard);
  for (const run of candidates) {
    const { facts } = run;
    if (facts?.trigger !== "portfolio" || facts.portfolio_id !== portfolioId || !activeStatuses.has(facts.status))
      continue;
    if (facts.status === "live" && now - run.lastHeard > quietMs) continue;
    const done = Math.min(facts.dates_total, Math.max(facts.dates_published, run.published.length));
    if (done >= facts.dates_total) continue;
    return { runId: run.runId, done, total: facts.dates_total };
  }
  return null;
}

/** "computing history… 12 of 60 dates". */
export function historyText(indicator: HistoryIndicator): string {
  return `computing history… ${indicator.done} of ${indicator.total} date${indicator.total === 1 ? "" : "s"}`;
}
