import { z } from "zod";

/** The webhook queue's name as in wrangler.toml; worker/index.ts routes its batches here by `batch.queue`. */
export const webhookQueueName = "factor-webhooks";

/**
 * A webhook queue message names a `webhook_deliveries` row rather than carrying the request: the
 * row holds the body (the same bytes on every attempt) and the attempt count, so a redelivered
 * message reads the state the last attempt left.
 */
export const webhookMessageSchema = z.object({
  type: z.literal("webhook.deliver"),
  deliveryId: z.string().min(1).max(100),
});

export type WebhookMessage = z.infer<typeof webhookMessageSchema>;
