// Reading a run's figures straight from the benchmark's own database: the run row,
// `batch_phase_results` (one row per phase and date, counts = StoredPhaseCounts) and
// `batch_chunks` (one row per queue message of chunk work, counts = ChunkOutcome with the
// consumer's wall time). Also the wrangler log's queue deliveries (`QUEUE factor-batch n/m
// (t ms)`: one consumer invocation, up to max_batch_size messages run concurrently).
import type { Client } from "@libsql/client";
import { readFileSync } from "node:fs";
import { batchPhases, type BatchPhase, type StoredPhaseCounts } from "../../worker/batch/telemetry.ts";
import { required } from "../../worker/required.ts";

export interface RunRow {
  id: string;
  status: string;
  dates: string[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  errorText: string | null;
  counts: unknown;
}

export interface PhaseRow {
  phase: BatchPhase;
  date: string;
  success: boolean;
  message: string;
  durationMs: number;
  startedAt: string;
  finishedAt: string;
  errorText: string | null;
  counts: StoredPhaseCounts;
}

export interface ChunkStats {
  phase: string;
  chunks: number;
  done: number;
  failed: number;
  pending: number;
  meanMs: number;
  maxMs: number;
  items: number;
}

export interface SlowChunk {
  phase: string;
  date: string;
  chunkIndex: number;
  items: number;
  ms: number;
}

export interface Progress {
  status: string;
  finishedAt: string | null;
  phasesRecorded: number;
  chunksDone: number;
  chunksPending: number;
  chunksFailed: number;
}

const text = (value: unknown): string => String(value);
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export async function readRun(client: Client, runId: string): Promise<RunRow | undefined> {
  const result = await client.execute({
    sql:
      "select id, status, dates, created_at, started_at, " +
      "finished_at, error_text, counts from batch_runs where id = ?",
    args: [runId],
  });
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    id: text(row["id"]),
    status: text(row["status"]),
    dates: JSON.parse(text(row["dates"])) as string[],
    createdAt: text(row["created_at"]),
    startedAt: textOrNull(row["started_at"]),
    finishedAt: textOrNull(row["finished_at"]),
    errorText: textOrNull(row["error_text"]),
    counts: row["counts"] === null ? null : (JSON.parse(text(row["counts"])) as unknown),
  };
}

/** Cheap enough to poll every second. */
export async function readProgress(client: Client, runId: string): Promise<Progress | undefined> {
  const result = await client.batch(
    [
      { sql: "select status, finished_at from batch_runs where id = ?", args: [runId] },
      { sql: "select count(*) as n from batch_phase_results where run_id = ?", args: [runId] },
      { sql: "select status, count(*) as n from batch_chunks where run_id = ? group by status", args: [runId] },
    ],
    "read",
  );
  // One result per statement above.
  const [runs, phaseCount, chunkCounts] = result;
  const run = required(runs, "the batch_runs result").rows[0];
  if (!run) return undefined;
  const chunks = new Map(
    required(chunkCounts, "the batch_chunks result").rows.map((row) => [text(row["status"]), Number(row["n"])]),
  );
  return {
    status: text(run["status"]),
    finishedAt: textOrNull(run["finished_at"]),
    phasesRecorded: Number(required(phaseCount, "the batch_phase_results result").rows[0]?.["n"] ?? 0),
    chunksDone: chunks.get("done") ?? 0,
    chunksPending: chunks.get("pending") ?? 0,
    chunksFailed: chunks.get("failed") ?? 0,
  };
}

export async function readPhases(client: Client, runId: string): Promise<PhaseRow[]> {
  const result = await client.execute({
    sql: `select phase, calculation_date, success, message, duration_ms, started_at, finished_at, error_text, counts
            from batch_phase_results where run_id = ? order by calculation_date, started_at`,
    args: [runId],
  });
  const order = (phase: string) => batchPhases.indexOf(phase as BatchPhase);
  return result.rows
    .map((row) => ({
      phase: text(row["phase"]) as BatchPhase,
      date: text(row["calculation_date"]),
      success: Number(row["success"]) === 1,
      message: text(row["message"]),
      durationMs: Number(row["duration_ms"]),
      startedAt: text(row["started_at"]),
      finishedAt: text(row["finished_at"]),
      errorText: textOrNull(row["error_text"]),
      counts: JSON.parse(text(row["counts"])) as StoredPhaseCounts,
    }))
    .sort((a, b) => (a.date === b.date ? order(a.phase) - order(b.phase) : a.date < b.date ? -1 : 1));
}

export async function readChunkStats(client: Client, runId: string): Promise<ChunkStats[]> {
  const result = await client.execute({
    sql: `select phase,
                 count(*) as chunks,
                 sum(status = 'done') as done, sum(status = 'failed') as failed, sum(status = 'pending') as pending,
                 avg(json_extract(counts, '$.duration_ms')) as mean_ms,
                 max(json_extract(counts, '$.duration_ms')) as max_ms,
                 sum(json_array_length(symbols)) as items
            from batch_chunks where run_id = ? group by phase`,
    args: [runId],
  });
  const order = (phase: string) => batchPhases.indexOf(phase as BatchPhase);
  return result.rows
    .map((row) => ({
      phase: text(row["phase"]),
      chunks: Number(row["chunks"]),
      done: Number(row["done"]),
      failed: Number(row["failed"]),
      pending: Number(row["pending"]),
      meanMs: Math.round(Number(row["mean_ms"] ?? 0)),
      maxMs: Number(row["max_ms"] ?? 0),
      items: Number(row["items"] ?? 0),
    }))
    .sort((a, b) => order(a.phase) - order(b.phase));
}

export async function readSlowestChunks(client: Client, runId: string, limit = 5): Promise<SlowChunk[]> {
  const result = await client.execute({
    sql: `select phase, calculation_date, chunk_index, json_array_length(symbols) as items,
            json_extract(counts, '$.duration_ms') as ms
            from batch_chunks where run_id = ? and counts is not null
            order by ms desc limit ?`,
    args: [runId, limit],
  });
  return result.rows.map((row) => ({
    phase: text(row["phase"]),
    date: text(row["calculation_date"]),
    chunkIndex: Number(row["chunk_index"]),
    items: Number(row["items"]),
    ms: Number(row["ms"]),
  }));
}

export interface QueueDeliveries {
  /** Consumer invocations of the batch queue seen in the log slice. */
  invocations: number;
  messages: number;
  /** Messages not acked (retried or dead-lettered). */
  notAcked: number;
  maxMs: number;
  meanMs: number;
  meanMessagesPerInvocation: number;
  /** `batch.message_failed` log events (a message that threw and will be retried). */
  messageFailures: number;
  /** `batch.message_dead_lettered` log events. */
  deadLettered: number;
  /** Distinct errors of failed messages, with how often each occurred. */
  errors: Record<string, number>;
  /** wrangler reloads (a source or config change restarts the Worker and drops queued messages). */
  reloads: number;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the colour codes this strips
const ansi = /\u001b\[[0-9;]*m/g;

/** Queue deliveries in the log from byte `from` on (the part written during one run). */
export function readQueueDeliveries(logFile: string, from: number, queueName: string): QueueDeliveries {
  const slice = readFileSync(logFile).subarray(from).toString("utf8").replace(ansi, "");
  const durations: number[] = [];
  let messages = 0;
  let notAcked = 0;
  let messageFailures = 0;
  let deadLettered = 0;
  let reloads = 0;
  const errors: Record<string, number> = {};
  const delivery = new RegExp(
    `QUEUE ${queueName.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")} (\\d+)/(\\d+) \\((\\d+)ms\\)`,
  );
  for (const line of slice.split("\n")) {
    const match = delivery.exec(line);
    if (match) {
      const acked = Number(match[1]);
      const total = Number(match[2]);
      messages += total;
      notAcked += total - acked;
      durations.push(Number(match[3]));
      continue;
    }
    if (line.includes('"batch.message_failed"')) {
      messageFailures++;
      const error = /"error":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? "unknown";
      // drizzle's "Failed query: <sql> <- <cause>": the cause says what went wrong.
      const causeAt = error.indexOf(" <- ");
      const key =
        causeAt >= 0
          ? `${error.slice(0, Math.min(causeAt, 80))}… <- ${error.slice(causeAt + " <- ".length)}`.slice(0, 300)
          : error.slice(0, 300);
      errors[key] = (errors[key] ?? 0) + 1;
    }
    if (line.includes('"batch.message_dead_lettered"')) deadLettered++;
    if (/Reloading local server|Local server updated/i.test(line)) reloads++;
  }
  return {
    invocations: durations.length,
    messages,
    notAcked,
    maxMs: durations.length > 0 ? Math.max(...durations) : 0,
    meanMs: durations.length > 0 ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : 0,
    meanMessagesPerInvocation: durations.length > 0 ? Math.round((messages / durations.length) * 10) / 10 : 0,
    messageFailures,
    deadLettered,
    errors,
    reloads,
  };
}
