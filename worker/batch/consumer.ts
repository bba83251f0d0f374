// The queue consumer: validates each message, hands it to the orchestrator, and acks or
// retries it one by one. Messages of a batch run concurrently: they are independent (each
// names its own ledger row), and overlapping their database round trips is most of the gain.
//
// Recovery (./sweep.ts): each invocation first sweeps for stalled runs (at most once per 30 s
// per isolate). A chunk that throws has its error recorded on its ledger row before its
// retry, so the run detail shows why it is waiting. The dead-letter consumer retries its own
// write a few times within the invocation and, if it still fails, has the message redelivered
// rather than acking an outcome that was never recorded.
import type { Database } from "../db/client.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { batchConfig } from "./config.ts";
import { describeError, logEvent } from "../log.ts";
import { recordChunkError } from "./ledger.ts";
import { batchDeadLetterQueueName, batchMessageSchema, type BatchMessage } from "./messages.ts";
import { processBatchMessage, recordDeadLetter, type BatchDeps } from "./orchestrator.ts";
import { sweepFromQueue } from "./sweep.ts";

/** Attempts of the dead-letter write within one invocation, and the pause before each retry. */
export const deadLetterWriteAttempts = 4;
export const deadLetterRetryBaseMs = 250;
/** Redelivery delay of a dead letter whose outcome could not be recorded. */
const deadLetterRedeliverySeconds = 60;

export async function handleBatchQueue(batch: MessageBatch<unknown>, env: Env, db: Database): Promise<void> {
  await sweepFromQueue(env, db);
  const deadLetters = batch.queue === batchDeadLetterQueueName;
  await Promise.all(batch.messages.map((message) => handleMessage(message, batch.queue, deadLetters, env, db)));
}

async function handleMessage(
  message: Message<unknown>,
  queue: string,
  deadLetters: boolean,
  env: Env,
  db: Database,
): Promise<void> {
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
    const deps: BatchDeps = {
      db,
      env,
      queue: env.BATCH_QUEUE,
      config: batchConfig(env),
      redelivery: message.attempts > 1,
    };
    if (deadLetters) await recordDeadLetterWithRetries(deps, parsed.data, message.attempts);
    else await processBatchMessage(deps, parsed.data);
    message.ack();
  } catch (error) {
    const delaySeconds = deadLetters ? deadLetterRedeliverySeconds : retryDelaySeconds(message.attempts);
    logEvent("error", deadLetters ? "batch.dead_letter_not_recorded" : "batch.message_failed", {
      queue,
      messageId: message.id,
      ...describeMessage(parsed.data),
      attempts: message.attempts,
      elapsedMs: Date.now() - started,
      retryInSeconds: delaySeconds,
      error: describeError(error),
    });
    if (!deadLetters && parsed.data.type === "phase.chunk")
      await noteChunkError(db, parsed.data, message.attempts, error);
    message.retry({ delaySeconds });
  }
}

/** The dead letter's outcome, written with a few retries (250 ms, 500 ms, 1 s) before giving up on this delivery. */
async function recordDeadLetterWithRetries(deps: BatchDeps, message: BatchMessage, attempts: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await recordDeadLetter(deps, message, attempts);
      return;
    } catch (error) {
      if (attempt >= deadLetterWriteAttempts) throw error;
      logEvent("warn", "batch.dead_letter_write_retry", {
        ...describeMessage(message),
        attempt,
        error: describeError(error),
      });
      await new Promise((resolve) => setTimeout(resolve, deadLetterRetryBaseMs * 2 ** (attempt - 1)));
    }
  }
}

/** Best effort: the database that made the chunk fail may not take its error either. */
async function noteChunkError(
  db: Database,
  message: Extract<BatchMessage, { type: "phase.chunk" }>,
  attempts: number,
  error: unknown,
): Promise<void> {
  try {
    await recordChunkError(
      db,
      { runId: message.runId, calculationDate: message.date, phase: message.phase, chunkIndex: message.chunkIndex },
      attempts,
      describeError(error),
    );
  } catch (noted) {
    logEvent("warn", "batch.chunk_error_not_recorded", { ...describeMessage(message), error: describeError(noted) });
  }
}

function describeMessage(message: BatchMessage): Record<string, unknown> {
  return { ...message };
}
