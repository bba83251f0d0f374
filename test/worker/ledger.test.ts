import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { batchPhaseResults, batchRuns } from "../../schema/index.ts";
import { getDatabase } from "../../worker/db/client.ts";
import {
  chunkStatus,
  claimPhaseCompletion,
  completeChunk,
  failChunk,
  planPhaseChunks,
  type PhaseProgress,
} from "../../worker/batch/ledger.ts";

const db = getDatabase(env);

async function newRun(): Promise<string> {
  const id = crypto.randomUUID();
  await db
    .insert(batchRuns)
    .values({ id, dedupeKey: `ledger-test:${id}`, trigger: "admin", startDate: "2025-03-03", endDate: "2025-03-03" });
  return id;
}

const summarize = (progress: PhaseProgress, chunkCounts: readonly unknown[]) => ({
  success: progress.failed === 0,
  message:
    progress.failed === 0
      ? `${progress.done} chunk(s) done`
      : `${progress.failed} of ${progress.total} chunk(s) failed`,
  counts: {
    chunks: progress.total,
    failedChunks: progress.failed,
    rowsWritten: chunkCounts.reduce<number>(
      (sum, counts) =>
        sum + (counts && typeof counts === "object" ? Number((counts as { rows?: number }).rows ?? 0) : 0),
      0,
    ),
  },
});

describe("batch ledger", () => {
  it("plans sorted chunks once: a replayed plan with the same symbols yields the same chunks", async () => {
    const key = { runId: await newRun(), calculationDate: "2025-03-03", phase: "universe_factors" };
    const first = await planPhaseChunks(db, key, ["E", "A", "G", "C", "B", "F", "D"], 3);
    expect(first.map((chunk) => chunk.symbols)).toEqual([["A", "B", "C"], ["D", "E", "F"], ["G"]]);
    const replay = await planPhaseChunks(db, key, ["G", "F", "E", "D", "C", "B", "A"], 3);
    expect(replay).toEqual(first);
  });

  it("lets exactly one of two concurrent deliveries complete a chunk", async () => {
    const key = { runId: await newRun(), calculationDate: "2025-03-03", phase: "symbol_metrics" };
    await planPhaseChunks(db, key, ["A", "B"], 1);
    const outcomes = await Promise.all([
      completeChunk(db, { ...key, chunkIndex: 0 }, { rows: 5 }),
      completeChunk(db, { ...key, chunkIndex: 0 }, { rows: 5 }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await chunkStatus(db, { ...key, chunkIndex: 0 })).toBe("done");
  });

  it(
    "records the phase only when no chunk is pending, " + "and only once when the last chunks finish together",
    async () => {
      const key = { runId: await newRun(), calculationDate: "2025-03-03", phase: "universe_factors" };
      const chunks = await planPhaseChunks(db, key, ["A", "B", "C", "D"], 1);
      const startedAt = new Date().toISOString();
      await completeChunk(db, chunks[0]!, { rows: 12 });
      await completeChunk(db, chunks[1]!, { rows: 12 });
      const early = await claimPhaseCompletion(db, key, startedAt, summarize);
      expect(early).toEqual({ claimed: false, progress: { total: 4, pending: 2, done: 2, failed: 0 } });

      // Two consumers finish the last two chunks at the same time and both try to advance.
      const [claimA, claimB] = await Promise.all(
        [chunks[2]!, chunks[3]!].map(async (chunk) => {
          await completeChunk(db, chunk, { rows: 10 });
          return claimPhaseCompletion(db, key, startedAt, summarize);
        }),
      );
      // Whoever commits the last completion reads progress after every other commit, so it
      // sees nothing pending: someone always claims, and the unique key lets only one.
      expect([claimA!, claimB!].filter((claim) => claim.claimed)).toHaveLength(1);
      expect((await claimPhaseCompletion(db, key, startedAt, summarize)).claimed).toBe(false);
      const results = await db
        .select()
        .from(batchPhaseResults)
        .where(and(eq(batchPhaseResults.runId, key.runId), eq(batchPhaseResults.phase, key.phase)));
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({
        success: true,
        message: "4 chunk(s) done",
        counts: { chunks: 4, failedChunks: 0, rowsWritten: 44 },
      });
    },
  );

  it("completes a phase with a dead-lettered chunk as unsuccessful, saying what failed", async () => {
    const key = { runId: await newRun(), calculationDate: "2025-03-03", phase: "universe_factors" };
    const [done, dead] = await planPhaseChunks(db, key, ["A", "B"], 1);
    await completeChunk(db, done!, { rows: 12 });
    expect(await failChunk(db, dead!, "dead-lettered after 6 attempts")).toBe(true);
    // A late delivery of the dead chunk cannot flip it to done, nor can a failure undo a done chunk.
    expect(await completeChunk(db, dead!, { rows: 12 })).toBe(false);
    expect(await failChunk(db, done!, "late failure")).toBe(false);
    const completion = await claimPhaseCompletion(db, key, new Date().toISOString(), summarize);
    expect(completion).toEqual({ claimed: true, progress: { total: 2, pending: 0, done: 1, failed: 1 } });
    const result = await db.select().from(batchPhaseResults).where(eq(batchPhaseResults.runId, key.runId)).get();
    expect(result).toMatchObject({ success: false, message: "1 of 2 chunk(s) failed" });
  });

  it("rejects a non-positive chunk size instead of looping or planning nothing", async () => {
    const key = { runId: await newRun(), calculationDate: "2025-03-03", phase: "universe_factors" };
    await expect(planPhaseChunks(db, key, ["A"], 0)).rejects.toThrow(/chunk size/);
  });
});
