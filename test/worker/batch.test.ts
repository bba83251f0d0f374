import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { batchRuns } from "../../schema/index.ts";
import { batchDeadLetterQueueName, batchQueueName, type BatchMessage } from "../../worker/batch/messages.ts";
import { getDatabase } from "../../worker/db/client.ts";
import worker from "../../worker/index.ts";

const db = getDatabase(env);

async function runsForDate(date: string) {
  return db.select().from(batchRuns).where(eq(batchRuns.startDate, date));
}

async function waitForRunStatus(runId: string, status: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
    if (run?.status === status) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${run?.status ?? "missing"}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function insertQueuedRun(date: string) {
  const id = crypto.randomUUID();
  await db.insert(batchRuns).values({ id, dedupeKey: `test:${id}`, trigger: "admin", startDate: date, endDate: date });
  return id;
}

describe("scheduled()", () => {
  it("creates one queued run for the weekday and the queue consumer starts it", async () => {
    // Wednesday 2025-01-15, 21:30 UTC, as the cron trigger fires.
    const controller = createScheduledController({ scheduledTime: Date.UTC(2025, 0, 15, 21, 30), cron: "30 21 * * 1-5" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);

    const runs = await runsForDate("2025-01-15");
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: "cron", dedupeKey: "cron:2025-01-15", endDate: "2025-01-15" });
    // The real queue (miniflare) delivers run.start to worker.queue(), which marks it running.
    const running = await waitForRunStatus(runs[0]!.id, "running");
    expect(running.startedAt).not.toBeNull();
  });

  it("starts only one run when the cron fires twice for the same date", async () => {
    const scheduledTime = Date.UTC(2025, 0, 16, 21, 30);
    for (let i = 0; i < 2; i++) {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime, cron: "30 21 * * 1-5" }), env, ctx);
      await waitOnExecutionContext(ctx);
    }
    expect(await runsForDate("2025-01-16")).toHaveLength(1);
  });

  it("records no run on a weekend date", async () => {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.UTC(2025, 0, 18, 21, 30) }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await runsForDate("2025-01-18")).toHaveLength(0);
  });
});

describe("queue()", () => {
  it("acks a run.start message and moves its run from queued to running", async () => {
    const runId = await insertQueuedRun("2025-02-03");
    const batch = createMessageBatch<BatchMessage>(batchQueueName, [
      { id: "m-start", timestamp: Date.now(), attempts: 1, body: { type: "run.start", runId, date: "2025-02-03" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m-start"]);
    expect(result.retryMessages).toEqual([]);
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
    expect(run?.status).toBe("running");
  });

  it("acks a malformed message without retrying it or touching any run", async () => {
    const runId = await insertQueuedRun("2025-02-04");
    const batch = createMessageBatch<BatchMessage>(batchQueueName, [
      { id: "m-bad", timestamp: Date.now(), attempts: 1, body: { type: "run.start", runId, date: "04/02/2025" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m-bad"]);
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
    expect(run?.status).toBe("queued");
  });

  it("retries (not acks) the message when the database is unreachable", async () => {
    const batch = createMessageBatch<BatchMessage>(batchQueueName, [
      { id: "m-retry", timestamp: Date.now(), attempts: 3, body: { type: "run.start", runId: "r", date: "2025-02-05" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, TURSO_DATABASE_URL: "http://127.0.0.1:9" }, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    // The test harness records which messages were retried, not their delay (see backoff.test.ts).
    expect(result.retryMessages).toEqual([{ msgId: "m-retry" }]);
  });

  it("marks the run partial, with the reason, when a message reaches the dead-letter queue", async () => {
    const runId = await insertQueuedRun("2025-02-06");
    const batch = createMessageBatch<BatchMessage>(batchDeadLetterQueueName, [
      { id: "m-dead", timestamp: Date.now(), attempts: 6, body: { type: "run.start", runId, date: "2025-02-06" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m-dead"]);
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
    expect(run?.status).toBe("partial");
    expect(run?.errorText).toBe("run.start for 2025-02-06 was dead-lettered after 6 attempt(s)");
  });
});
