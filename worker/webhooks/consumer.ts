// The webhook queue's consumer: one attempt per message, acked or retried one by one, so a
// receiver that fails or hangs delays only its own deliveries. The queue is not the batch's
// (wrangler.toml: `factor-webhooks`), so webhook work never shares an invocation, a retry limit
// or a dead-letter queue with batch chunks.
import { retryDelaySeconds } from "../batch/backoff.ts";
import type { Database } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import { webhookConfig } from "./config.ts";
import { processDeliveryMessage, type DeliveryDeps } from "./deliveries.ts";
import { cachingResolver, dohResolver } from "./doh.ts";
import { webhookMessageSchema } from "./messages.ts";

export async function handleWebhookQueue(batch: MessageBatch<unknown>, env: Env, db: Database): Promise<void> {
  let deps: DeliveryDeps;
  try {
    // One DNS lookup per host and invocation: a batch often holds several deliveries to one receiver.
    deps = { db, config: webhookConfig(env), resolve: cachingResolver(dohResolver()) };
  } catch (error) {
    // A bad setting: every message would fail the same way; retry them all, logged once.
    logEvent("error", "webhook.config_invalid", { error: describeError(error) });
    for (const message of batch.messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return;
  }
  await Promise.all(batch.messages.map((message) => handleMessage(message, deps)));
}

async function handleMessage(message: Message<unknown>, deps: DeliveryDeps): Promise<void> {
  const parsed = webhookMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    // A malformed body cannot succeed on retry: log it where an operator sees it and drop it.
    logEvent("error", "webhook.message_invalid", {
      messageId: message.id,
      issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    });
    message.ack();
    return;
  }
  try {
    const action = await processDeliveryMessage(deps, parsed.data);
    if (action.kind === "ack") message.ack();
    else message.retry({ delaySeconds: action.delaySeconds });
  } catch (error) {
    // The database failed before or after the attempt: retry the message; the row says where it stood.
    const delaySeconds = retryDelaySeconds(message.attempts);
    logEvent("error", "webhook.message_failed", {
      messageId: message.id,
      deliveryId: parsed.data.deliveryId,
      attempts: message.attempts,
      retryInSeconds: delaySeconds,
      error: describeError(error),
    });
    message.retry({ delaySeconds });
  }
}
