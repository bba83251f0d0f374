import { z } from "zod";

/** Queue names as in wrangler.toml; a consumer tells the two apart by `batch.queue`. */
export const batchQueueName = "factor-batch";
export const batchDeadLetterQueueName = "factor-batch-dlq";

export const isoDate = z.iso.date();

/**
 * Every message on the batch queue, shared by producer and consumer: a key renamed on
 * one side fails to compile on the other, and bodies are validated again on receipt.
 */
export const batchMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("run.start"),
    runId: z.string().min(1),
    date: isoDate,
  }),
]);

export type BatchMessage = z.infer<typeof batchMessageSchema>;
