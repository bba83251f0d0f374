// The batch ledger: which chunks of a phase's work on a date exist, which are done, and who
// records the phase as complete. State lives in libSQL, changed only by conditional writes,
// so concurrent queue consumers agree on it:
// - planning inserts the chunk rows with ON CONFLICT DO NOTHING and reads them back, so a
//   replayed plan yields the same chunks;
// - a chunk moves pending → done (or → failed) with `UPDATE … WHERE status = 'pending'`:
//   of two deliveries of one message, only one sees its update take effect;
// - the phase completes when no chunk is pending; the completion is an insert into
//   `batch_phase_results` on its unique key (run, date, phase), so of two consumers that
//   finish the last chunks at once, exactly one records it and goes on to the next phase.
import { and, asc, eq, sql } from "drizzle-orm";
import { batchChunks, batchPhaseResults } from "../../schema/index.ts";
import { isoNow } from "../../schema/columns.ts";
import type { Database } from "../db/client.ts";

export interface PhaseKey {
  runId: string;
  calculationDate: string;
  phase: string;
}

export interface ChunkKey extends PhaseKey {
  chunkIndex: number;
}

export interface PlannedChunk extends ChunkKey {
  symbols: string[];
}

/** Splits the phase's symbols into chunks and records them; idempotent for the same input. */
export async function planPhaseChunks(
  db: Database,
  key: PhaseKey,
  symbols: readonly string[],
  chunkSize: number,
): Promise<PlannedChunk[]> {
  await insertPhaseChunks(db, key, symbols, chunkSize);
  const stored = await db
    .select({ chunkIndex: batchChunks.chunkIndex, symbols: batchChunks.symbols })
    .from(batchChunks)
    .where(phaseWhere(key))
    .orderBy(asc(batchChunks.chunkIndex));
  return stored.map((row) => ({ ...key, chunkIndex: row.chunkIndex, symbols: row.symbols }));
}

/**
 * Inserts the phase's chunk rows unless they exist; returns the indexes this call inserted
 * (none when the phase was planned before), so only the planner sends their messages.
 */
/**
 * A phase's items in chunks of at most `chunkSize`, in sorted order. With `weights` (e.g. a
 * portfolio's positions), a chunk also stays within `budget` of total weight: an item heavier
 * than the budget gets a chunk of its own, so one large item never drags others into a request
 * that is too large for the database, and fails (if it does) alone.
 */
export function planChunks(
  items: readonly string[],
  chunkSize: number,
  weighting?: { weights: ReadonlyMap<string, number>; budget: number },
): string[][] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
  const sorted = [...new Set(items)].sort();
  const chunks: string[][] = [];
  let current: string[] = [];
  let weight = 0;
  for (const item of sorted) {
    const itemWeight = weighting?.weights.get(item) ?? 0;
    if (
      current.length > 0 &&
      (current.length >= chunkSize || (weighting !== undefined && weight + itemWeight > weighting.budget))
    ) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(item);
    weight += itemWeight;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export async function insertPhaseChunks(
  db: Database,
  key: PhaseKey,
  symbols: readonly string[],
  chunkSize: number,
  weighting?: { weights: ReadonlyMap<string, number>; budget: number },
): Promise<number[]> {
  const rows = planChunks(symbols, chunkSize, weighting).map((items, index) => ({
    ...key,
    chunkIndex: index,
    symbols: items,
  }));
  if (rows.length === 0) return [];
  const inserted = await db
    .insert(batchChunks)
    .values(rows)
    .onConflictDoNothing()
    .returning({ chunkIndex: batchChunks.chunkIndex });
  return inserted.map((row) => row.chunkIndex);
}

function phaseWhere(key: PhaseKey) {
  return and(
    eq(batchChunks.runId, key.runId),
    eq(batchChunks.calculationDate, key.calculationDate),
    eq(batchChunks.phase, key.phase),
  );
}

function chunkWhere(key: ChunkKey) {
  return and(phaseWhere(key), eq(batchChunks.chunkIndex, key.chunkIndex));
}

export async function chunkStatus(db: Database, key: ChunkKey): Promise<"pending" | "done" | "failed" | null> {
  const row = await db.select({ status: batchChunks.status }).from(batchChunks).where(chunkWhere(key)).get();
  return row?.status ?? null;
}

/** Marks the chunk done with its counts; true only for the delivery that did it. */
export async function completeChunk(db: Database, key: ChunkKey, counts: object): Promise<boolean> {
  const updated = await db
    .update(batchChunks)
    .set({ status: "done", counts, updatedAt: sql`${isoNow}` })
    .where(and(chunkWhere(key), eq(batchChunks.status, "pending")))
    .returning({ chunkIndex: batchChunks.chunkIndex });
  return updated.length > 0;
}

/** Marks a dead-lettered chunk failed, with the reason; true only for the first to do so. */
export async function failChunk(db: Database, key: ChunkKey, errorText: string): Promise<boolean> {
  const updated = await db
    .update(batchChunks)
    .set({ status: "failed", errorText, updatedAt: sql`${isoNow}` })
    .where(and(chunkWhere(key), eq(batchChunks.status, "pending")))
    .returning({ chunkIndex: batchChunks.chunkIndex });
  return updated.length > 0;
}

/** Longest error text kept on a chunk row (the message is cut, never the row rejected). */
export const maxChunkErrorChars = 500;

/**
 * A pending chunk's latest failure while its message is retried (`attempt N: error`); the
 * chunk stays pending. Bumps `updated_at`, so the sweep sees the retry as activity.
 */
export async function recordChunkError(db: Database, key: ChunkKey, attempt: number, error: string): Promise<boolean> {
  const text = `attempt ${attempt}: ${error}`.slice(0, maxChunkErrorChars);
  const updated = await db
    .update(batchChunks)
    .set({ errorText: text, updatedAt: sql`${isoNow}` })
    .where(and(chunkWhere(key), eq(batchChunks.status, "pending")))
    .returning({ chunkIndex: batchChunks.chunkIndex });
  return updated.length > 0;
}

/** The attempt and message of a chunk error recorded by `recordChunkError`; null for any other text. */
export function parseChunkError(text: string | null): { attempt: number; message: string } | null {
  const match = text === null ? null : /^attempt (\d+): ([\s\S]*)$/.exec(text);
  return match ? { attempt: Number(match[1]), message: match[2] ?? "" } : null;
}

export interface PhaseProgress {
  total: number;
  pending: number;
  done: number;
  failed: number;
}

export async function phaseProgress(db: Database, key: PhaseKey): Promise<PhaseProgress> {
  const rows = await db
    .select({ status: batchChunks.status, n: sql<number>`count(*)` })
    .from(batchChunks)
    .where(phaseWhere(key))
    .groupBy(batchChunks.status);
  const progress: PhaseProgress = { total: 0, pending: 0, done: 0, failed: 0 };
  for (const row of rows) {
    progress[row.status] = Number(row.n);
    progress.total += Number(row.n);
  }
  return progress;
}

export interface PhaseCompletion {
  /** True for the one caller that recorded the phase result (and so starts the next phase). */
  claimed: boolean;
  progress: PhaseProgress;
}

/**
 * Records the phase's result once no chunk is pending. `summarize` turns the chunks'
 * counts into the phase result; it runs only when the phase is complete.
 */
export interface PhaseResultValues {
  success: boolean;
  message: string;
  counts: object;
  errorText?: string | null;
}

/**
 * Records a phase's result on its unique key; true only for the caller whose insert did it.
 * `startedAt` null: the phase started when its first chunk was planned.
 */
export async function recordPhaseResult(
  db: Database,
  key: PhaseKey,
  startedAt: string | null,
  result: PhaseResultValues,
): Promise<boolean> {
  let started = startedAt;
  if (started === null) {
    const first = await db
      .select({ at: sql<string | null>`min(${batchChunks.createdAt})` })
      .from(batchChunks)
      .where(phaseWhere(key))
      .get();
    started = first?.at ?? new Date().toISOString();
  }
  const finishedAt = new Date().toISOString();
  const inserted = await db
    .insert(batchPhaseResults)
    .values({
      runId: key.runId,
      calculationDate: key.calculationDate,
      phase: key.phase,
      success: result.success,
      message: result.message,
      counts: result.counts,
      errorText: result.errorText ?? null,
      durationMs: Math.max(0, Date.parse(finishedAt) - Date.parse(started)),
      startedAt: started,
      finishedAt,
    })
    .onConflictDoNothing({
      target: [batchPhaseResults.runId, batchPhaseResults.calculationDate, batchPhaseResults.phase],
    })
    .returning({ id: batchPhaseResults.id });
  return inserted.length > 0;
}

/** Chunk rows of the phase with their stored counts, in chunk order. */
export async function phaseChunks(db: Database, key: PhaseKey) {
  return db
    .select({
      chunkIndex: batchChunks.chunkIndex,
      symbols: batchChunks.symbols,
      status: batchChunks.status,
      counts: batchChunks.counts,
      errorText: batchChunks.errorText,
    })
    .from(batchChunks)
    .where(phaseWhere(key))
    .orderBy(asc(batchChunks.chunkIndex));
}

export async function claimPhaseCompletion(
  db: Database,
  key: PhaseKey,
  startedAt: string | null,
  summarize: (progress: PhaseProgress, chunkCounts: readonly unknown[]) => PhaseResultValues,
): Promise<PhaseCompletion> {
  const progress = await phaseProgress(db, key);
  if (progress.pending > 0 || progress.total === 0) return { claimed: false, progress };
  const chunks = await db
    .select({ counts: batchChunks.counts })
    .from(batchChunks)
    .where(phaseWhere(key))
    .orderBy(asc(batchChunks.chunkIndex));
  const result = summarize(
    progress,
    chunks.map((chunk) => chunk.counts),
  );
  return { claimed: await recordPhaseResult(db, key, startedAt, result), progress };
}
