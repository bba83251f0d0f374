// Creating batch runs: the cron's daily run, an admin run for one date, a backfill over a
// range. Starting is idempotent where it must be:
// - a cron run is keyed `cron:<date>` for good, so two invocations for a date make one run;
// - an admin or backfill run is keyed by its request plus `:active` while it is queued or
//   running, so repeating the same request meanwhile returns the run already under way; when
//   the run ends the key gets the run id appended (see `finishRun`), and the same request may
//   run again later (e.g. after a price correction).
// A cron run also catches up: weekdays of the last `BATCH_CATCH_UP_DAYS` calendar days that no
// run has published are added to its dates, so a day whose run went missing is backfilled.
import { and, asc, eq, gte, inArray, lt, ne, sql } from "drizzle-orm";
import { batchPhaseResults, batchRuns, type BatchTrigger } from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { addDays, dateBounds } from "../dates.ts";
import { describeError, logEvent } from "../log.ts";
import { calculationDateFor, isWeekend, weekdaysBetween } from "./calendar.ts";
import type { BatchMessage } from "./messages.ts";
import { takeStaleDates } from "./revisions.ts";
import type { BatchPhase } from "./telemetry.ts";

export interface RunRequest {
  trigger: BatchTrigger;
  startDate: string;
  endDate: string;
  portfolioId?: string | null;
  forceRerun?: boolean;
  /** Market data replaces closes of another source (default: keeps and reports them). */
  replacePrices?: boolean;
  /** The phases to run, in order (default every phase). */
  phases?: readonly BatchPhase[];
  requestedBy?: string | null;
}

export type CreateRunResult =
  | { outcome: "started" | "already_running"; runId: string; dates: string[] }
  | { outcome: "skipped"; reason: "no_weekdays"; dates: string[] };

export type StartRunResult =
  | { outcome: "started"; runId: string; date: string; dates: string[] }
  | { outcome: "already_started"; runId: string; date: string }
  | { outcome: "skipped"; date: string; reason: "weekend" };

/** Default look-back of a cron run for weekdays that no run published. */
export const defaultCatchUpDays = 10;

/** The dedupe key of a run while it is active; `finishRun` makes it unique to the run. */
export function activeDedupeKey(request: RunRequest): string {
  if (request.trigger === "cron") return `cron:${request.endDate}`;
  // At most one queued history run per portfolio: later changes join it until it starts.
  if (request.trigger === "portfolio") return `portfolio:${request.portfolioId ?? "*"}:queued`;
  return [
    request.trigger,
    request.startDate,
    request.endDate,
    request.portfolioId ?? "*",
    request.forceRerun ? "force" : "normal",
    ...(request.replacePrices ? ["replace-prices"] : []),
    "active",
  ].join(":");
}

/** Weekdays before `date` within `days` calendar days that no run has published. */
export async function unpublishedWeekdays(db: Database, date: string, days: number): Promise<string[]> {
  if (days <= 0) return [];
  const candidates = weekdaysBetween(addDays(date, -days), addDays(date, -1));
  const earliest = candidates[0];
  if (earliest === undefined) return [];
  // Published by a run that computed the universe (a portfolio's history run computes nothing of it).
  const published = await db
    .selectDistinct({ date: batchPhaseResults.calculationDate })
    .from(batchPhaseResults)
    .innerJoin(batchRuns, eq(batchRuns.id, batchPhaseResults.runId))
    .where(
      and(
        eq(batchPhaseResults.phase, "publish"),
        ne(batchRuns.trigger, "portfolio"),
        gte(batchPhaseResults.calculationDate, earliest),
        lt(batchPhaseResults.calculationDate, date),
        inArray(batchPhaseResults.calculationDate, candidates),
      ),
    );
  const done = new Set(published.map((row) => row.date));
  return candidates.filter((candidate) => !done.has(candidate));
}

/**
 * Creates the run (or finds the one already under way for the same request) and enqueues
 * its start. `dates` defaults to the weekdays of the range.
 */
export async function createRun(
  db: Database,
  queue: Queue<BatchMessage>,
  request: RunRequest,
  requestedDates = weekdaysBetween(request.startDate, request.endDate),
): Promise<CreateRunResult> {
  if (requestedDates.length === 0) return { outcome: "skipped", reason: "no_weekdays", dates: requestedDates };
  // A full run also recomputes the dates a price revision made stale (./revisions.ts).
  const staleDates =
    (request.portfolioId ?? null) === null && request.trigger !== "portfolio"
      ? await takeStaleDates(db, request.endDate)
      : [];
  const dates = [...new Set([...requestedDates, ...staleDates.map((stale) => stale.date)])].sort();
  const dedupeKey = activeDedupeKey(request);
  const { first, last } = dateBounds(dates);
  let created: { id: string } | undefined;
  for (let attempt = 1; created === undefined; attempt++) {
    const inserted = await db
      .insert(batchRuns)
      .values({
        id: crypto.randomUUID(),
        dedupeKey,
        trigger: request.trigger,
        startDate: first,
        endDate: last,
        dates,
        portfolioId: request.portfolioId ?? null,
        forceRerun: request.forceRerun ?? false,
        replacePrices: request.replacePrices ?? false,
        staleDates: staleDates.length > 0 ? staleDates : null,
        phases: request.phases ? [...request.phases] : null,
        requestedBy: request.requestedBy ?? null,
      })
      .onConflictDoNothing({ target: batchRuns.dedupeKey })
      .returning({ id: batchRuns.id });
    created = inserted[0];
    if (created) break;
    const existing = await db
      .select({ id: batchRuns.id, dates: batchRuns.dates })
      .from(batchRuns)
      .where(eq(batchRuns.dedupeKey, dedupeKey))
      .get();
    if (existing) {
      logEvent("info", "batch.run_already_started", { runId: existing.id, dedupeKey });
      return { outcome: "already_running", runId: existing.id, dates: existing.dates };
    }
    // The run that held the key gave it up between the two statements (a queued history run
    // that started, a run that ended): the key is free, so the insert is tried again.
    if (attempt >= 3) throw new Error(`batch run ${dedupeKey} conflicted on insert but cannot be read back`);
  }
  try {
    await queue.send({ type: "run.start", runId: created.id, date: first });
  } catch (error) {
    // Without its message the run would sit in `queued` forever: record why it failed, and
    // free the key so the request can be repeated.
    await db
      .update(batchRuns)
      .set({
        status: "failed",
        dedupeKey: `${dedupeKey}:${created.id}`,
        errorText: `could not enqueue the run: ${describeError(error)}`,
      })
      .where(eq(batchRuns.id, created.id));
    throw error;
  }
  logEvent("info", "batch.run_started", {
    runId: created.id,
    trigger: request.trigger,
    dates: dates.length,
    startDate: dates[0],
    endDate: dates.at(-1),
    ...(staleDates.length > 0 ? { staleDates: staleDates.map((stale) => stale.date) } : {}),
  });
  return { outcome: "started", runId: created.id, dates };
}

/**
 * Starts the daily run for the cron firing at `scheduledTime`, with the missed weekdays of
 * the last `catchUpDays` calendar days before it.
 */
export async function startScheduledRun(
  db: Database,
  queue: Queue<BatchMessage>,
  scheduledTime: number,
  catchUpDays = defaultCatchUpDays,
): Promise<StartRunResult> {
  const date = calculationDateFor(scheduledTime);
  if (isWeekend(date)) {
    logEvent("info", "batch.run_skipped", { date, reason: "weekend" });
    return { outcome: "skipped", date, reason: "weekend" };
  }
  const missed = await unpublishedWeekdays(db, date, catchUpDays);
  if (missed.length > 0) logEvent("warn", "batch.catch_up", { date, missed });
  const result = await createRun(db, queue, { trigger: "cron", startDate: missed[0] ?? date, endDate: date }, [
    ...missed,
    date,
  ]);
  if (result.outcome === "skipped") throw new Error(`cron run for ${date} has no dates`);
  if (result.outcome === "already_running") return { outcome: "already_started", runId: result.runId, date };
  return { outcome: "started", runId: result.runId, date, dates: result.dates };
}

/** The phases of a portfolio's history run: its analytics from stored betas, then the live push. */
export const portfolioHistoryPhases: readonly BatchPhase[] = ["portfolio_analytics", "publish"];

/**
 * A portfolio's history after its positions changed (issue: "a new portfolio has its history"):
 * a run of the portfolio phases only, over every date since `since` on which the universe's
 * betas were computed (`since` null: every such date). Nothing is fetched or regressed; the
 * portfolio's exposures, snapshots and stress results are computed from stored betas, and
 * progress goes out on the live channel like any run's. Changes made while a history run is
 * still queued join it (its dates widen); a run already under way is followed by a new one.
 * Returns null when there is no computed date to fill.
 */
export async function startPortfolioHistoryRun(
  db: Database,
  queue: Queue<BatchMessage>,
  portfolioId: string,
  since: string | null,
  requestedBy: string | null,
): Promise<CreateRunResult | null> {
  const computed = await db
    .selectDistinct({ date: batchPhaseResults.calculationDate })
    .from(batchPhaseResults)
    .where(
      and(
        eq(batchPhaseResults.phase, "universe_factors"),
        eq(batchPhaseResults.success, true),
        ...(since === null ? [] : [gte(batchPhaseResults.calculationDate, since)]),
      ),
    )
    .orderBy(asc(batchPhaseResults.calculationDate));
  const dates = computed.map((row) => row.date);
  if (dates.length === 0) return null;
  const { first, last } = dateBounds(dates);
  const request: RunRequest = {
    trigger: "portfolio",
    startDate: first,
    endDate: last,
    portfolioId,
    phases: portfolioHistoryPhases,
    requestedBy,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await createRun(db, queue, request, dates);
    if (result.outcome !== "already_running") return result;
    // A queued run of the same portfolio: widen its dates, unless it started meanwhile.
    const widened = await db
      .update(batchRuns)
      .set({
        dates: sql`(select json_group_array(value) from (select value from json_each(${batchRuns.dates})
          union select value from json_each(${JSON.stringify(dates)}) order by value))`,
        startDate: sql`min(${batchRuns.startDate}, ${first})`,
        endDate: sql`max(${batchRuns.endDate}, ${last})`,
      })
      .where(and(eq(batchRuns.id, result.runId), eq(batchRuns.status, "queued")))
      .returning({ id: batchRuns.id, dates: batchRuns.dates });
    const run = widened[0];
    if (run) return { outcome: "already_running", runId: run.id, dates: run.dates };
  }
  throw new Error(`could not start or join a history run for portfolio ${portfolioId}`);
}
