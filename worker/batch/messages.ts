import { z } from "zod";
import { batchPhases } from "./telemetry.ts";

/** Queue names as in wrangler.toml; a consumer tells the two apart by `batch.queue`. */
export const batchQueueName = "factor-batch";
export const batchDeadLetterQueueName = "factor-batch-dlq";

export const isoDate = z.iso.date();

const phaseKey = {
  runId: z.string().min(1),
  date: isoDate,
  phase: z.enum(batchPhases),
};

/**
 * Every message on the batch queue, shared by producer and consumer: a key renamed on
 * one side fails to compile on the other, and bodies are validated again on receipt.
 * Messages name ledger rows rather than carrying symbol lists, so a body stays small and a
 * redelivered message reads the same chunk as the first delivery.
 */
export const batchMessageSchema = z.discriminatedUnion("type", [
  /** Start a run: mark it running and start the first phase of each of its dates. */
  z.object({ type: z.literal("run.start"), runId: z.string().min(1), date: isoDate }),
  /** Plan a phase of a date into chunks (idempotent) and enqueue the pending ones. */
  z.object({ type: z.literal("phase.start"), ...phaseKey }),
  /** Do one chunk of a phase; the last chunk to finish records the phase and starts the next. */
  z.object({ type: z.literal("phase.chunk"), ...phaseKey, chunkIndex: z.number().int().nonnegative() }),
]);

export type BatchMessage = z.infer<typeof batchMessageSchema>;
