// Recovery: the ledger drives it, the queue is a doorbell (docs/batch.md, issue 14).
//
// A run's state is in the ledger (`batch_runs`, `batch_chunks`, `batch_phase_results`); a
// queue message only says "look at this row now". A message can be lost (local queues live in
// the memory of `wrangler dev`, so a kill -9 drops every message in flight; a dead-letter
// consumer that cannot reach the database drops what it was given after its retries), and
// then nothing would ever look again. The sweep looks: a `queued` or `running` run with no
// ledger activity for `BATCH_STALL_SECONDS` (no chunk or phase result written, no run update)
// gets its waiting work rung again:
//
//   queued run                                   → `run.start`
//   a date's current phase has pending chunks    → a `phase.chunk` per pending chunk
//   its chunks all finished, no result recorded  → a `phase.chunk` of a finished chunk (the
//                                                  consumer records the phase and starts the next)
//   the phase has no chunks and no result        → `phase.start` (it plans the chunks and sends them)
//   every date published, the run not ended      → ends the run here
//
// Every one of those messages is safe to repeat (docs/batch.md "Idempotent"). A chunk whose
// message is waiting out a retry delay (its error is recorded with the attempt) is left alone
// until that delay has passed. The sweep bumps the run's `updated_at` (one sweeper wins, by a
// conditional update), so the next sweep comes a stall period later, and counts its sweeps in
// the run's `counts.recovery`; after `BATCH_RUN_MAX_SWEEPS` sweeps in a row without progress
// (no chunk planned or finished, no phase recorded) the run ends `failed`, or `partial` when
// some of its dates published, with the reason in `error_text`.
//
// It runs on every cron tick, at the start of queue invocations (at most once per 30 s per
// isolate) and when a run's detail is read; it never throws into its caller.
import { required } from "../required.ts";
import { and, asc, eq, inArray, lt, sql } from "drizzle-orm";
import { batchChunks, batchPhaseResults, batchRuns } from "../../schema/index.ts";
import { isoNow } from "../../schema/columns.ts";
import type { Database } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { batchConfig, type BatchConfig } from "./config.ts";
import { parseChunkError } from "./ledger.ts";
import type { BatchMessage } from "./messages.ts";
import { finishRunIfComplete } from "./orchestrator.ts";
import { phasesOfRun, type BatchPhase } from "./telemetry.ts";

export interface SweepDeps {
  db: Database;
  queue: Queue<BatchMessage>;
  config: Pick<BatchConfig, "stallSeconds" | "maxSweeps">;
}

export interface SweepOptions {
  /** Only this run (the run detail's read). */
  runId?: string;
  /** The sweep's clock (tests); default now. */
  now?: number;
}

export type SweepAction = "reenqueued" | "finished" | "ended" | "waiting_retry" | "claimed_elsewhere";

export interface SweptRun {
  runId: string;
  action: SweepAction;
  /** Messages sent. */
  messages: number;
  /** Sweeps in a row without progress, this one included. */
  sweeps: number;
  detail: string;
}

/** What the sweep keeps on a run, in `batch_runs.counts.recovery` (the run's summary counts join it at the end). */
export interface RunRecovery {
  /** Sweeps in a row that found no progress since the previous one. */
  sweeps: number;
  /** Re-enqueues over the run's life. */
  sweeps_total: number;
  /** Ledger progress at the last sweep: chunks planned / chunks finished / phases recorded. */
  mark: string;
  /** When the run was last seen making progress (ISO). */
  stalled_since: string;
  last_sweep_at: string;
}

/** Runs swept at most per call (the rest wait for the next sweep). */
const maxRunsPerSweep = 20;
/** Messages per `sendBatch` call (the Queues limit). */
const maxSendBatch = 100;
/** Longest reason the sweep writes into a run's error text. */
const maxReasonChars = 1000;

type RunRow = typeof batchRuns.$inferSelect;

export function recoveryOf(counts: unknown): RunRecovery | null {
  if (typeof counts !== "object" || counts === null) return null;
  const recovery = (counts as { recovery?: unknown }).recovery;
  if (typeof recovery !== "object" || recovery === null) return null;
  const value = recovery as Partial<RunRecovery>;
  if (typeof value.sweeps !== "number" || typeof value.mark !== "string") return null;
  return {
    sweeps: value.sweeps,
    sweeps_total: value.sweeps_total ?? value.sweeps,
    mark: value.mark,
    stalled_since: value.stalled_since ?? "",
    last_sweep_at: value.last_sweep_at ?? "",
  };
}

/** Finds the stalled runs (one query) and re-enqueues what each waits for. */
export async function sweepStalledRuns(deps: SweepDeps, options: SweepOptions = {}): Promise<SweptRun[]> {
  const { db, config } = deps;
  const now = options.now ?? Date.now();
  const cutoff = new Date(now - config.stallSeconds * 1000).toISOString();
  const stalled = await db
    .select()
    .from(batchRuns)
    .where(
      and(
        inArray(batchRuns.status, ["queued", "running"]),
        lt(batchRuns.updatedAt, cutoff),
        ...(options.runId === undefined ? [] : [eq(batchRuns.id, options.runId)]),
        sql`not exists (select 1 from ${batchChunks}
          where ${batchChunks.runId} = ${batchRuns.id} and ${batchChunks.updatedAt} >= ${cutoff})`,
        sql`not exists (select 1 from ${batchPhaseResults}
          where ${batchPhaseResults.runId} = ${batchRuns.id} and ${batchPhaseResults.finishedAt} >= ${cutoff})`,
      ),
    )
    .orderBy(asc(batchRuns.updatedAt))
    .limit(maxRunsPerSweep);
  const swept: SweptRun[] = [];
  for (const run of stalled) {
    try {
      swept.push(await sweepRun(deps, run, now));
    } catch (error) {
      logEvent("error", "batch.sweep_run_failed", { runId: run.id, error: describeError(error) });
    }
  }
  return swept;
}

interface ChunkRow {
  date: string;
  phase: string;
  chunkIndex: number;
  status: "pending" | "done" | "failed";
  errorText: string | null;
  updatedAt: string;
}

async function sweepRun(deps: SweepDeps, run: RunRow, now: number): Promise<SweptRun> {
  const { db, config } = deps;
  const nowIso = new Date(now).toISOString();
  const [chunks, results] = await Promise.all([
    db
      .select({
        date: batchChunks.calculationDate,
        phase: batchChunks.phase,
        chunkIndex: batchChunks.chunkIndex,
        status: batchChunks.status,
        errorText: batchChunks.errorText,
        updatedAt: batchChunks.updatedAt,
      })
      .from(batchChunks)
      .where(eq(batchChunks.runId, run.id))
      .orderBy(asc(batchChunks.calculationDate), asc(batchChunks.phase), asc(batchChunks.chunkIndex)) as Promise<
      ChunkRow[]
    >,
    db
      .select({
        date: batchPhaseResults.calculationDate,
        phase: batchPhaseResults.phase,
        success: batchPhaseResults.success,
      })
      .from(batchPhaseResults)
      .where(eq(batchPhaseResults.runId, run.id)),
  ]);

  // A chunk whose retry is still due: its message is in the queue, waiting out the backoff.
  const stallMs = config.stallSeconds * 1000;
  const retryDue = chunks.find((chunk) => {
    if (chunk.status !== "pending") return false;
    const error = parseChunkError(chunk.errorText);
    return error !== null && Date.parse(chunk.updatedAt) + retryDelaySeconds(error.attempt) * 1000 + stallMs > now;
  });
  const previous = recoveryOf(run.counts);
  if (retryDue) {
    return {
      runId: run.id,
      action: "waiting_retry",
      messages: 0,
      sweeps: previous?.sweeps ?? 0,
      detail: `${retryDue.date} ${retryDue.phase} chunk ${retryDue.chunkIndex} waits for its retry`,
    };
  }

  const mark = `${chunks.length}/${chunks.filter((chunk) => chunk.status !== "pending").length}/${results.length}`;
  const progressed = previous === null || previous.mark !== mark;
  const sweeps = progressed ? 1 : previous.sweeps + 1;
  const recovery: RunRecovery = {
    sweeps,
    sweeps_total: (previous?.sweeps_total ?? 0) + 1,
    mark,
    stalled_since: progressed ? new Date(now - stallMs).toISOString() : previous.stalled_since,
    last_sweep_at: nowIso,
  };
  const counts = { ...(typeof run.counts === "object" && run.counts !== null ? run.counts : {}), recovery };

  const { messages, waiting, allPublished } = plan(run, chunks, results);
  const publishedDates = new Set(
    results.filter((row) => row.phase === "publish" && row.success).map((row) => row.date),
  );

  if (messages.length === 0 && allPublished) {
    // Every date published, the run not ended: the consumer that recorded the last publish died before ending it.
    await finishRunIfComplete({ db }, run.id);
    return { runId: run.id, action: "finished", messages: 0, sweeps, detail: "every date published" };
  }

  if (sweeps > config.maxSweeps) {
    const stalledFor = Math.max(0, Math.round((now - Date.parse(recovery.stalled_since)) / 1000));
    const waitingFor = waiting.join("; ") || "nothing left to enqueue";
    const reason = `no progress for ${stalledFor}s after ${sweeps - 1} re-enqueues: ${waitingFor}`.slice(
      0,
      maxReasonChars,
    );
    const status = publishedDates.size > 0 ? "partial" : "failed";
    const ended = await db
      .update(batchRuns)
      .set({
        status,
        counts,
        finishedAt: sql`${isoNow}`,
        updatedAt: sql`${isoNow}`,
        errorText: sql`trim(coalesce(${batchRuns.errorText} || char(10), '') || ${reason})`,
        // Free a request's key (as `finishRunIfComplete` does), so the same request can run again.
        dedupeKey: sql`case when ${batchRuns.dedupeKey} like '%:active' or ${batchRuns.dedupeKey} like '%:queued'
          then ${batchRuns.dedupeKey} || ':' || ${batchRuns.id} else ${batchRuns.dedupeKey} end`,
      })
      .where(
        and(
          eq(batchRuns.id, run.id),
          eq(batchRuns.updatedAt, run.updatedAt),
          inArray(batchRuns.status, ["queued", "running"]),
        ),
      )
      .returning({ id: batchRuns.id });
    if (ended.length === 0)
      return {
        runId: run.id,
        action: "claimed_elsewhere",
        messages: 0,
        sweeps,
        detail: "another sweep or consumer updated the run",
      };
    logEvent("error", "batch.run_finished", { runId: run.id, status, reason, sweeps: sweeps - 1 });
    return { runId: run.id, action: "ended", messages: 0, sweeps, detail: reason };
  }

  // Claim the sweep: of concurrent sweepers (cron, queue, a status read) one re-enqueues.
  const claimed = await db
    .update(batchRuns)
    .set({ counts, updatedAt: nowIso })
    .where(
      and(
        eq(batchRuns.id, run.id),
        eq(batchRuns.updatedAt, run.updatedAt),
        inArray(batchRuns.status, ["queued", "running"]),
      ),
    )
    .returning({ id: batchRuns.id });
  if (claimed.length === 0)
    return {
      runId: run.id,
      action: "claimed_elsewhere",
      messages: 0,
      sweeps,
      detail: "another sweep or consumer updated the run",
    };
  for (let i = 0; i < messages.length; i += maxSendBatch) {
    await deps.queue.sendBatch(messages.slice(i, i + maxSendBatch).map((body) => ({ body })));
  }
  const detail = waiting.join("; ");
  logEvent("warn", "batch.run_swept", {
    runId: run.id,
    status: run.status,
    messages: messages.length,
    sweeps,
    waiting: detail.slice(0, maxReasonChars),
  });
  return { runId: run.id, action: "reenqueued", messages: messages.length, sweeps, detail };
}

/** The messages that move the run on from what the ledger holds, and what each date waits for. */
function plan(
  run: RunRow,
  chunks: readonly ChunkRow[],
  results: readonly { date: string; phase: string }[],
): { messages: BatchMessage[]; waiting: string[]; allPublished: boolean } {
  if (run.status === "queued") {
    return {
      messages: [{ type: "run.start", runId: run.id, date: run.dates[0] ?? run.startDate }],
      waiting: ["run.start (the run never started)"],
      allPublished: false,
    };
  }
  const phases = phasesOfRun(run.phases);
  const messages: BatchMessage[] = [];
  const waiting: string[] = [];
  let allPublished = true;
  for (const date of run.dates) {
    const recorded = new Set(results.filter((row) => row.date === date).map((row) => row.phase));
    const current: BatchPhase | undefined = phases.find((phase) => !recorded.has(phase));
    if (current === undefined) continue;
    allPublished = false;
    const ofPhase = chunks.filter((chunk) => chunk.date === date && chunk.phase === current);
    const pending = ofPhase.filter((chunk) => chunk.status === "pending");
    if (ofPhase.length === 0) {
      messages.push({ type: "phase.start", runId: run.id, date, phase: current });
      waiting.push(`${date} ${current}: not started`);
    } else if (pending.length > 0) {
      for (const chunk of pending)
        messages.push({ type: "phase.chunk", runId: run.id, date, phase: current, chunkIndex: chunk.chunkIndex });
      const lastError = pending.map((chunk) => parseChunkError(chunk.errorText)).find((error) => error !== null);
      const lastErrorNote = lastError
        ? ` (last error, attempt ${lastError.attempt}: ${lastError.message.slice(0, 200)})`
        : "";
      waiting.push(`${date} ${current}: ${pending.length} of ${ofPhase.length} chunks pending${lastErrorNote}`);
    } else {
      // Every chunk finished but the phase is not recorded: a finished chunk's message records it.
      const finished = required(ofPhase[0], `a chunk of ${date} ${current}`);
      messages.push({ type: "phase.chunk", runId: run.id, date, phase: current, chunkIndex: finished.chunkIndex });
      waiting.push(`${date} ${current}: chunks finished, phase not recorded`);
    }
  }
  return { messages, waiting, allPublished };
}

let lastQueueSweep = 0;
/** The queue consumer sweeps at most this often per isolate. */
export const queueSweepIntervalMs = 30_000;

/** The sweep at the start of a queue invocation: throttled per isolate, never throws. */
export async function sweepFromQueue(env: Env, db: Database): Promise<void> {
  const now = Date.now();
  if (now - lastQueueSweep < queueSweepIntervalMs) return;
  lastQueueSweep = now;
  await sweepSafely(env, db, {}, "queue");
}

/** The sweep of one run whose status is read (the admin run detail); never throws. */
export async function sweepOnRead(env: Env, db: Database, runId: string): Promise<void> {
  await sweepSafely(env, db, { runId }, "read");
}

/** The sweep on a cron tick; never throws. */
export async function sweepOnCron(env: Env, db: Database): Promise<void> {
  await sweepSafely(env, db, {}, "cron");
}

async function sweepSafely(env: Env, db: Database, options: SweepOptions, source: string): Promise<SweptRun[]> {
  try {
    const swept = await sweepStalledRuns({ db, queue: env.BATCH_QUEUE, config: batchConfig(env) }, options);
    if (swept.length > 0)
      logEvent("info", "batch.sweep", {
        source,
        runs: swept.map((run) => ({
          runId: run.runId,
          action: run.action,
          messages: run.messages,
          sweeps: run.sweeps,
        })),
      });
    return swept;
  } catch (error) {
    logEvent("warn", "batch.sweep_failed", { source, error: describeError(error) });
    return [];
  }
}
