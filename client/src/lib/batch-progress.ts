// The batch page's pure parts: what is known about a run's progress, per date and phase, folded
// from two sources that arrive in any order — the run's detail (polled) and the live socket's
// `batch.progress` / `batch.completed` messages. Progress only moves forward within a run, so
// merging keeps the more advanced of two reports of the same phase. The phases are the run's
// own plan (`phase_plan`: a portfolio history run has only portfolio_analytics and publish), all
// six until its detail says. Also: the data warnings a phase's counts carry (price conflicts,
// rejected returns, stale betas recomputed), the default run date (the last weekday) and
// durations as people read them.
import { batchPhases } from "../../../worker/batch/telemetry.ts";
import type { BatchRunDetail } from "../../../.types/worker/batch/run-history";
import type { BatchCompleted, BatchProgress } from "../../../worker/realtime/messages.ts";

export type PhaseState = "pending" | "running" | "completed" | "failed";

/** One phase of one date: its chunks (the batch's units of queued work). */
export interface PhaseBar {
  phase: string;
  state: PhaseState;
  /** Chunks finished successfully. */
  done: number;
  /** Chunks dead-lettered. */
  failed: number;
  /** Chunks planned; null while the phase has not planned them yet (or no report said). */
  total: number | null;
}

export interface RunProgress {
  runId: string;
  /** The run's phases in order (its `phase_plan`; every phase until the detail says). */
  plan: readonly string[];
  /** Date → phase → bar. */
  dates: Readonly<Record<string, Readonly<Record<string, PhaseBar>>>>;
  /** Dates whose publish phase finished (a `batch.completed` or a recorded publish result). */
  completedDates: readonly string[];
}

/** The shape of the run detail this module reads (the API's `BatchRunDetail`, issues optional). */
export type RunDetailInput = Pick<BatchRunDetail, "progress"> & {
  run: Pick<BatchRunDetail["run"], "id" | "status"> & Partial<Pick<BatchRunDetail["run"], "phase_plan">>;
  phases: readonly Pick<BatchRunDetail["phases"][number], "date" | "name" | "success" | "counts">[];
};

const rank: Record<PhaseState, number> = { pending: 0, running: 1, completed: 2, failed: 2 };

export function emptyRunProgress(runId: string, plan: readonly string[] = batchPhases): RunProgress {
  return { runId, plan, dates: {}, completedDates: [] };
}

export function pendingBar(phase: string): PhaseBar {
  return { phase, state: "pending", done: 0, failed: 0, total: null };
}

function isTerminal(state: PhaseState): boolean {
  return state === "completed" || state === "failed";
}

/**
 * The more advanced of two reports of one phase: a finished phase beats a running one, which
 * beats a pending one; between two running reports the one with more chunks finished. Between
 * two finished reports the newer (`next`) wins: it is the recorded result.
 */
export function mergeBar(previous: PhaseBar | undefined, next: PhaseBar): PhaseBar {
  if (!previous) return next;
  if (rank[next.state] !== rank[previous.state]) return rank[next.state] > rank[previous.state] ? next : previous;
  if (isTerminal(next.state)) return next;
  const nextProgress = next.done + next.failed;
  const previousProgress = previous.done + previous.failed;
  const winner = nextProgress >= previousProgress ? next : previous;
  return { ...winner, total: winner.total ?? (winner === next ? previous.total : next.total) };
}

function withBar(progress: RunProgress, date: string, bar: PhaseBar): RunProgress {
  const phases = progress.dates[date] ?? {};
  const merged = mergeBar(phases[bar.phase], bar);
  if (merged === phases[bar.phase]) return progress;
  return { ...progress, dates: { ...progress.dates, [date]: { ...phases, [bar.phase]: merged } } };
}

function withCompletedDate(progress: RunProgress, date: string): RunProgress {
  return progress.completedDates.includes(date)
    ? progress
    : { ...progress, completedDates: [...progress.completedDates, date].sort() };
}

/** The phase after `phase` in the run's plan; undefined after the last (or for a phase not in it). */
export function nextPhaseOf(plan: readonly string[], phase: string): string | undefined {
  const index = plan.indexOf(phase);
  return index < 0 ? undefined : plan[index + 1];
}

function samePlan(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((phase, index) => phase === b[index]);
}

/** Folds a run detail (a poll's answer) into what is known. A detail of another run is ignored. */
export function mergeDetail(progress: RunProgress, detail: RunDetailInput): RunProgress {
  if (detail.run.id !== progress.runId) return progress;
  const plan = detail.run.phase_plan;
  let next = plan && plan.length > 0 && !samePlan(plan, progress.plan) ? { ...progress, plan: [...plan] } : progress;
  for (const phase of detail.phases) {
    next = withBar(next, phase.date, {
      phase: phase.name,
      state: phase.success ? "completed" : "failed",
      done: phase.counts.chunks_done,
      failed: phase.counts.chunks_failed,
      total: phase.counts.chunks_total,
    });
    if (phase.name === "publish") next = withCompletedDate(next, phase.date);
  }
  const current = detail.progress.current_date;
  if (current !== null) {
    const recorded = new Set(detail.phases.filter((phase) => phase.date === current).map((phase) => phase.name));
    for (const tally of detail.progress.current_date_chunks) {
      if (recorded.has(tally.phase)) continue;
      next = withBar(next, current, {
        phase: tally.phase,
        state: "running",
        done: tally.done,
        failed: tally.failed,
        total: tally.pending + tally.done + tally.failed,
      });
    }
    const phase = detail.progress.current_phase;
    const active = detail.run.status === "running" || detail.run.status === "queued";
    if (active && phase !== null && !recorded.has(phase))
      next = withBar(next, current, { ...pendingBar(phase), state: "running" });
  }
  return next;
}

/**
 * Folds a live message into what is known. `batch.progress` says a phase finished (its chunk
 * counts and success) — the next phase starts at once, so it is shown running; `batch.completed`
 * says a date was published. Messages of other runs are ignored.
 */
export function applyLiveMessage(progress: RunProgress, message: BatchProgress | BatchCompleted): RunProgress {
  if (message.run_id !== progress.runId) return progress;
  if (message.type === "batch.completed") {
    const published = withBar(progress, message.date, {
      phase: "publish",
      state: "completed",
      done: 1,
      failed: 0,
      total: 1,
    });
    return withCompletedDate(published, message.date);
  }
  const total = Math.max(0, message.total);
  const done = Math.min(Math.max(0, message.done), total);
  let next = withBar(progress, message.date, {
    phase: message.phase,
    state: message.success ? "completed" : "failed",
    done,
    failed: total - done,
    total,
  });
  const following = nextPhaseOf(progress.plan, message.phase);
  if (following) next = withBar(next, message.date, { ...pendingBar(following), state: "running" });
  return next;
}

/**
 * The phases of a date in the run's plan order (phases reported outside it after them), pending where nothing is
 * known.
 */
export function phaseBars(progress: RunProgress, date: string): PhaseBar[] {
  const known = progress.dates[date] ?? {};
  const others = Object.keys(known)
    .filter((phase) => !progress.plan.includes(phase))
    .sort();
  return [...progress.plan, ...others].map((phase) => known[phase] ?? pendingBar(phase));
}

/** How full a bar is, 0..1: a finished phase is full; a running one by its finished chunks. */
export function barFraction(bar: PhaseBar): number {
  if (isTerminal(bar.state)) return 1;
  if (bar.state === "pending" || bar.total === null || bar.total <= 0) return 0;
  return Math.min(1, (bar.done + bar.failed) / bar.total);
}

/** The bar's words: "3 / 6 chunks", "done", "waiting" (colour is never the only signal). */
export function barLabel(bar: PhaseBar): string {
  const chunks = bar.total === null ? "" : `${bar.done + bar.failed} / ${bar.total} chunks`;
  const failed = bar.failed > 0 ? `, ${bar.failed} failed` : "";
  switch (bar.state) {
    case "pending":
      return "waiting";
    case "running":
      return chunks ? `running · ${chunks}${failed}` : "running · planning";
    case "completed":
      return chunks ? `done · ${chunks}${failed}` : "done";
    case "failed":
      return chunks ? `failed · ${chunks}${failed}` : "failed";
  }
}

/**
 * The date to show the phase bars of: the latest date with work under way (not yet published),
 * else the latest date with any report, else the run's first date.
 */
export function focusDate(progress: RunProgress, runDates: readonly string[]): string | null {
  const reported = Object.keys(progress.dates).sort();
  const active = reported.filter((date) => !progress.completedDates.includes(date));
  return active.at(-1) ?? reported.at(-1) ?? runDates[0] ?? null;
}

const dayMs = 86_400_000;

/** The last weekday on or before `today` (YYYY-MM-DD, read as UTC): the default run date. */
export function lastWeekday(today: string): string {
  const date = new Date(`${today}T00:00:00Z`);
  const day = date.getUTCDay();
  const back = day === 0 ? 2 : day === 6 ? 1 : 0;
  return new Date(date.getTime() - back * dayMs).toISOString().slice(0, 10);
}

/** Whether `date` (YYYY-MM-DD) is a Saturday or Sunday. */
export function isWeekendDate(date: string): boolean {
  const day = new Date(`${date}T00:00:00Z`).getUTCDay();
  return day === 0 || day === 6;
}

/** A duration as people read it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`; missing as null. */
export function formatDuration(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return null;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Milliseconds between two ISO timestamps, or null when either is missing. */
export function elapsedMs(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? ms : null;
}

// ---- data warnings of a phase ---------------------------------------------------------------------

/** What this module reads of a phase result's counts and issues. */
export interface PhaseDataInput {
  date: string;
  name: string;
  counts: Pick<
    BatchRunDetail["phases"][number]["counts"],
    "price_conflicts_kept" | "price_conflicts_replaced" | "recomputed_stale" | "returns_rejected"
  >;
  issues?: readonly { item: string; reason: string; detail: string; factor?: string | undefined }[] | undefined;
}

export interface DataWarning {
  kind: "price_conflicts_kept" | "price_conflicts_replaced" | "returns_rejected" | "recomputed_stale";
  /** "warn": the operator must look (a kept conflict, a rejected return); "info": done as asked. */
  tone: "warn" | "info";
  count: number;
  text: string;
  /** The phase's listed issues that show it (both values of a conflict, the suspect move). */
  examples: { item: string; detail: string }[];
}

const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/** The data warnings a phase's counts carry, most important first. */
export function phaseDataWarnings(phase: PhaseDataInput): DataWarning[] {
  const { counts } = phase;
  const issues = phase.issues ?? [];
  const examples = (reason: string) =>
    issues
      .filter((issue) => issue.reason === reason)
      .map((issue) => ({ item: issue.factor ? `${issue.item} · ${issue.factor}` : issue.item, detail: issue.detail }));
  const warnings: DataWarning[] = [];
  const kept = counts.price_conflicts_kept ?? 0;
  if (kept > 0) {
    warnings.push({
      kind: "price_conflicts_kept",
      tone: "warn",
      count: kept,
      text:
        `${plural(kept, "price conflict")}: the provider's close differs from a stored close of another source ` +
        `(an import); the stored close was kept. Check the examples, then rerun with "replace prices" ` +
        "if the provider is right.",
      examples: examples("source_conflict"),
    });
  }
  const rejected = counts.returns_rejected ?? 0;
  if (rejected > 0) {
    warnings.push({
      kind: "returns_rejected",
      tone: "warn",
      count: rejected,
      text:
        `${plural(rejected, "daily return")} not used in the regressions: ` +
        "a suspect move (beyond the allowed daily change).",
      examples: examples("suspect_move"),
    });
  }
  const replaced = counts.price_conflicts_replaced ?? 0;
  if (replaced > 0) {
    warnings.push({
      kind: "price_conflicts_replaced",
      tone: "info",
      count: replaced,
      text: `${plural(replaced, "stored close")} of another source replaced by the provider's (replace prices).`,
      examples: examples("source_conflict_replaced"),
    });
  }
  const stale = counts.recomputed_stale ?? 0;
  if (stale > 0) {
    warnings.push({
      kind: "recomputed_stale",
      tone: "info",
      count: stale,
      text: `${plural(stale, "symbol")} recomputed: a price revision had made their stored betas stale.`,
      examples: [],
    });
  }
  return warnings;
}

/** A run's data warnings summed over its dates (for the run's banner), by kind, with the dates they occurred on. */
export function runDataWarnings(
  phases: readonly PhaseDataInput[],
): { kind: DataWarning["kind"]; tone: DataWarning["tone"]; count: number; dates: string[] }[] {
  const byKind = new Map<
    DataWarning["kind"],
    { kind: DataWarning["kind"]; tone: DataWarning["tone"]; count: number; dates: string[] }
  >();
  for (const phase of phases) {
    for (const warning of phaseDataWarnings(phase)) {
      const entry = byKind.get(warning.kind) ?? { kind: warning.kind, tone: warning.tone, count: 0, dates: [] };
      entry.count += warning.count;
      if (!entry.dates.includes(phase.date)) entry.dates.push(phase.date);
      byKind.set(warning.kind, entry);
    }
  }
  const order: DataWarning["kind"][] = [
    "price_conflicts_kept",
    "returns_rejected",
    "price_conflicts_replaced",
    "recomputed_stale",
  ];
  return order.flatMap((kind) => {
    const entry = byKind.get(kind);
    return entry ? [{ ...entry, dates: [...entry.dates].sort() }] : [];
  });
}
