import { and, eq, sql } from "drizzle-orm";
import { batchRuns } from "../../schema/index.ts";
import { isoNow } from "../../schema/columns.ts";
import type { Database } from "../db/client.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { describeError, logEvent } from "../log.ts";
import { batchDeadLetterQueueName, batchMessageSchema, type BatchMessage } from "./messages.ts";

export async function handleBatchQueue(batch: MessageBatch<unknown>, db: Database): Promise<void> {
  const deadLetters = batch.queue === batchDeadLetterQueueName;
  for (const message of batch.messages) {
    const parsed = batchMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      // A malformed body cannot succeed on retry: log it where an operator sees it and drop it.
      logEvent("error", "batch.message_invalid", {
        queue: batch.queue,
        messageId: message.id,
        issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
      });
      message.ack();
      continue;
    }
    try {
      if (deadLetters) await recordDeadLetter(db, parsed.data, message.attempts);
      else await processBatchMessage(db, parsed.data);
      message.ack();
    } catch (error) {
      const delaySeconds = retryDelaySeconds(message.attempts);
      logEvent("error", "batch.message_failed", {
        queue: batch.queue,
        messageId: message.id,
        type: parsed.data.type,
        attempts: message.attempts,
        retryInSeconds: delaySeconds,
        error: describeError(error),
      });
      message.retry({ delaySeconds });
    }
  }
}

async function processBatchMessage(db: Database, message: BatchMessage): Promise<void> {
  switch (message.type) {
    case "run.start": {
      const started = await db
        .update(batchRuns)
        .set({ status: "running", startedAt: sql`${isoNow}`, updatedAt: sql`${isoNow}` })
        .where(and(eq(batchRuns.id, message.runId), eq(batchRuns.status, "queued")))
        .returning({ id: batchRuns.id });
      // Redelivery of a run that already started is a no-op, not an error.
      logEvent("info", started.length > 0 ? "batch.run_running" : "batch.run_start_redelivered", {
        runId: message.runId,
        date: message.date,
      });
      return;
    }
  }
}

/** A message that exhausted its retries makes its run `partial`, with the reason on record. */
async function recordDeadLetter(db: Database, message: BatchMessage, attempts: number): Promise<void> {
  const reason = `${message.type} for ${message.date} was dead-lettered after ${attempts} attempt(s)`;
  await db
    .update(batchRuns)
    .set({
      status: "partial",
      errorText: sql`trim(coalesce(${batchRuns.errorText} || char(10), '') || ${reason})`,
      updatedAt: sql`${isoNow}`,
    })
    .where(eq(batchRuns.id, message.runId));
  logEvent("error", "batch.message_dead_lettered", { runId: message.runId, type: message.type, attempts });
}
