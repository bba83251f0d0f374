// A portfolio's history filling in: after its positions change, the Worker starts a "portfolio"
// history run (portfolio_analytics and publish over every computed date since the change). Its
// `batch.progress` (to RUN_BATCH sockets and to sockets subscribed to the portfolio) and
// `batch.completed` messages say what the run is (`run`: trigger, portfolio, dates total), and a
// caller who may read runs also gets the run's
// summary from the admin API. This module folds both into "computing history… N of M dates"
// for one portfolio, and, for a portfolio with no computed date yet, into what computes it: its
// history run or a batch over every portfolio (a backfill), with the time left at the pace so
// far, or, when nothing runs, the nightly schedule. Pure functions.
import type { BatchCompleted, BatchProgress, ExposuresUpdated } from "../../../worker/realtime/messages.ts";

/** What is known of a run: the admin API's `BatchRunSummary` subset, or the live messages' facts (`status: "live"`). */
export interface RunFacts {
  trigger: string;
  portfolio_id: string | null;
  status: string;
  dates_total: number;
  dates_published: number;
  /** When the run started (ISO; the admin API's), for its pace. */
  started_at?: string | null;
}

/** A moment and the dates published by then: two of them give a run's pace. */
interface Sample {
  at: number;
  done: number;
}

interface TrackedRun {
  runId: string;
  facts: RunFacts | null;
  /** Dates a `batch.completed` announced, sorted. */
  published: string[];
  lastHeard: number;
  /** The first and the latest count of published dates seen (the pace without a start time). */
  firstSeen?: Sample;
  lastSeen?: Sample;
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

const doneOf = (run: Pick<TrackedRun, "facts" | "published">): number =>
  Math.max(run.facts?.dates_published ?? 0, run.published.length);

function withRun(state: HistoryState, run: TrackedRun): HistoryState {
  const previous = state.runs[run.runId];
  const done = doneOf(run);
  const sample = { at: run.lastHeard, done };
  const firstSeen = previous?.firstSeen ?? sample;
  const lastSeen = previous?.lastSeen && previous.lastSeen.done >= done ? previous.lastSeen : sample;
  return { ...state, runs: { ...state.runs, [run.runId]: { ...run, firstSeen, lastSeen } } };
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

// ---- first start: what computes a portfolio that has no computed date yet ------------------

export interface ComputingIndicator {
  runId: string;
  /** `history`: the portfolio's own history run; `batch`: a run over every portfolio (trigger in `trigger`). */
  kind: "history" | "batch";
  trigger: string;
  done: number;
  total: number;
  /** The time left at the run's pace so far; null until the pace is known. */
  remainingMs: number | null;
}

/**
 * The run under way that computes the portfolio's dates: its history run first, else a run over
 * every portfolio (a backfill, the nightly batch, an operator's run). A run known from live
 * messages only counts while heard within `quietMs` (a viewer hears of it once per published
 * date, and a backfill's date can take minutes).
 */
export function computingIndicator(
  state: HistoryState,
  portfolioId: string,
  now: number,
  quietMs = 600_000,
): ComputingIndicator | null {
  const candidates = Object.values(state.runs)
    .filter((run) => {
      const { facts } = run;
      if (!facts || !activeStatuses.has(facts.status)) return false;
      if (facts.status === "live" && now - run.lastHeard > quietMs) return false;
      const ours = facts.trigger === "portfolio" ? facts.portfolio_id === portfolioId : facts.portfolio_id === null;
      return ours && doneOf(run) < facts.dates_total;
    })
    .sort(
      (a, b) =>
        Number(b.facts?.trigger === "portfolio") - Number(a.facts?.trigger === "portfolio") ||
        b.lastHeard - a.lastHeard,
    );
  const run = candidates[0];
  if (!run?.facts) return null;
  const done = Math.min(run.facts.dates_total, doneOf(run));
  return {
    runId: run.runId,
    kind: run.facts.trigger === "portfolio" ? "history" : "batch",
    trigger: run.facts.trigger,
    done,
    total: run.facts.dates_total,
    remainingMs: remainingMs(run, done, now),
  };
}

/**
 * The time left at the pace so far: from the run's start when the admin API said it, else
 * between the first and the latest count heard. Null before a date is published.
 */
function remainingMs(run: TrackedRun, done: number, now: number): number | null {
  const total = run.facts?.dates_total ?? 0;
  if (done <= 0 || done >= total) return null;
  const started = run.facts?.started_at ? Date.parse(run.facts.started_at) : Number.NaN;
  let perDate: number | null = null;
  if (Number.isFinite(started) && now > started) perDate = (now - started) / done;
  else if (run.firstSeen && run.lastSeen && run.lastSeen.done > run.firstSeen.done)
    perDate = (run.lastSeen.at - run.firstSeen.at) / (run.lastSeen.done - run.firstSeen.done);
  return perDate === null ? null : Math.max(0, Math.round(perDate * (total - done)));
}

/** "about 2 min left", "less than a minute left", "about 1 h 10 min left". */
export function remainingText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return "less than a minute left";
  if (minutes < 60) return `about ${minutes} min left`;
  return `about ${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ""} left`;
}

const triggerWords: Record<string, string> = {
  backfill: "A backfill",
  cron: "The nightly batch",
  admin: "A batch run",
};

/**
 * "Computing history: 12 of 40 dates, about 2 min left." (the portfolio's history run), or
 * "A backfill is computing every portfolio: 12 of 40 dates, about 2 min left."
 */
export function computingText(indicator: ComputingIndicator): string {
  const dates = `${indicator.done} of ${indicator.total} date${indicator.total === 1 ? "" : "s"}`;
  const left = indicator.remainingMs === null ? "" : `, ${remainingText(indicator.remainingMs)}`;
  const who =
    indicator.kind === "history"
      ? "Computing history"
      : `${triggerWords[indicator.trigger] ?? "A batch run"} is computing every portfolio`;
  return `${who}: ${dates}${left}.`;
}

/** The daily batch's schedule: wrangler.toml's `[triggers] crons` (a unit test checks they agree). */
export const batchCron = "30 21 * * 1-5";

/**
 * The next time `cron` (minute, hour, any day of month and month, weekdays as `a-b` or `*`) fires
 * after `now`, in UTC.
 */
export function nextCronRun(cron: string, now: Date): Date {
  const [minute, hour, , , weekdays] = cron.split(" ");
  const [fromDay, toDay] = weekdays === "*" || weekdays === undefined ? [0, 6] : weekdays.split("-").map(Number);
  const next = new Date(now.getTime());
  next.setUTCSeconds(0, 0);
  next.setUTCHours(Number(hour), Number(minute));
  for (let day = 0; day < 8; day++) {
    const candidate = new Date(next.getTime() + day * 86_400_000);
    const weekday = candidate.getUTCDay();
    if (candidate > now && weekday >= (fromDay ?? 0) && weekday <= (toDay ?? fromDay ?? 6)) return candidate;
  }
  return next;
}

/**
 * When nothing computes the portfolio: what will, and when — "The daily batch computes exposures
 * on weekdays at 21:30 UTC, after the New York close; next run Mon 2026-11-30 21:30 UTC (in 5 h)."
 */
export function scheduleText(now: Date, cron = batchCron): string {
  const [minute, hour] = cron.split(" ");
  const at = `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")} UTC`;
  const next = nextCronRun(cron, now);
  const weekday = next.toLocaleDateString("en-US", { weekday: "short", timeZone: "UTC" });
  const hours = Math.round((next.getTime() - now.getTime()) / 3_600_000);
  const wait = hours < 1 ? "within the hour" : `in ${hours} h`;
  return (
    `The daily batch computes exposures on weekdays at ${at}, after the New York close; ` +
    `next run ${weekday} ${next.toISOString().slice(0, 10)} ${at} (${wait}).`
  );
}
