// The queue consumer: validates each message, hands it to the orchestrator, and acks or
// retries it one by one. Messages of a batch run concurrently: they are independent (each
// names its own ledger row), and overlapping their database round trips is most of the gain.
import type { Database } from "../db/client.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { batchConfig } from "./config.ts";
import { describeError, logEvent } from "../log.ts";
import { batchDeadLetterQueueName, batchMessageSchema, type BatchMessage } from "./messages.ts";
import { processBatchMessage, recordDeadLetter, type BatchDeps } from "./orchestrator.ts";

export async function handleBatchQueue(batch: MessageBatch<unknown>, env: Env, db: Database): Promise<void> {
  const deadLetters = batch.queue === batchDeadLetterQueueName;
  await Promise.all(batch.messages.map((message) => handleMessage(message, batch.queue, deadLetters, env, db)));
}

async function handleMessage(message: Message<unknown>, queue: string, deadLetters: boolean, env: Env, db: Database): Promise<void> {
  const parsed = batchMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    // A malformed body cannot succeed on retry: log it where an operator sees it and drop it.
    logEvent("error", "batch.message_invalid", {
      queue,
      messageId: message.id,
      issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    });
    message.ack();
    return;
  }
  const started = Date.now();
  try {
    const deps: BatchDeps = { db, env, queue: env.BATCH_QUEUE, config: batchConfig(env), redelivery: message.attempts > 1 };
    if (deadLetters) await recordDeadLetter(deps, parsed.data, message.attempts);
    else await processBatchMessage(deps, parsed.data);
    message.ack();
  } catch (error) {
    const delaySeconds = retryDelaySeconds(message.attempts);
    logEvent("error", "batch.message_failed", {
      queue,
      messageId: message.id,
      ...describeMessage(parsed.data),
      attempts: message.attempts,
      elapsedMs: Date.now() - started,
      retryInSeconds: delaySeconds,
      error: describeError(error),
    });
    message.retry({ delaySeconds });
  }
}

function describeMessage(message: BatchMessage): Record<string, unknown> {
  return { ...message };
}
