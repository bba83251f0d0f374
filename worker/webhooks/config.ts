// Webhook delivery settings, from the Worker's vars (wrangler.toml) with defaults here. An
// invalid value throws with the setting's name (the consumer logs it and retries the messages),
// rather than silently delivering differently.
import { readPositiveInteger } from "../market-data/providers/result.ts";
import { isProduction } from "./url-guard.ts";

export interface WebhookConfig {
  /** Attempts per delivery, the first included; then the delivery is `dead`. */
  maxAttempts: number;
  /** How long one attempt waits for the receiver's answer. */
  timeoutMs: number;
  /** Production rules for the URL guard (./url-guard.ts). */
  production: boolean;
}

export const defaultWebhookConfig = { maxAttempts: 6, timeoutMs: 10_000 } as const;

/**
 * The most attempts a delivery may be given: with the schedule below, 10 attempts span about 2.7
 * days, inside the queue's default 4-day message retention, and the webhook queue's
 * `max_retries` (20 in wrangler.toml) leaves room for retries that are not attempts (a database
 * that failed, a message that came early).
 */
export const maxWebhookAttempts = 10;
export const maxWebhookTimeoutMs = 30_000;

/** The settings `webhookConfig` reads (the Worker's Env has them all). */
export interface WebhookSettings {
  ENVIRONMENT?: string;
  WEBHOOK_MAX_ATTEMPTS?: string;
  WEBHOOK_TIMEOUT_MS?: string;
}

export function webhookConfig(env: WebhookSettings): WebhookConfig {
  const maxAttempts = readPositiveInteger(env, "WEBHOOK_MAX_ATTEMPTS", defaultWebhookConfig.maxAttempts);
  if (maxAttempts > maxWebhookAttempts)
    throw new Error(`setting WEBHOOK_MAX_ATTEMPTS must be at most ${maxWebhookAttempts}, got ${maxAttempts}`);
  const timeoutMs = readPositiveInteger(env, "WEBHOOK_TIMEOUT_MS", defaultWebhookConfig.timeoutMs);
  if (timeoutMs > maxWebhookTimeoutMs)
    throw new Error(`setting WEBHOOK_TIMEOUT_MS must be at most ${maxWebhookTimeoutMs}, got ${timeoutMs}`);
  return { maxAttempts, timeoutMs, production: isProduction(env) };
}

/** The longest delay Cloudflare Queues accepts for a message (12 hours). */
export const maxQueueDelaySeconds = 43_200;

/**
 * The wait after failed attempt `attempt` (1-based): 1 min, 4 min, 16 min, 64 min, 4 h 16 min,
 * then 12 h (the queue's longest delay). Growing by 4× gives a receiver that is down for a
 * deploy a quick second chance, and one down for hours a last try hours later, in few attempts.
 */
export function webhookRetryDelaySeconds(attempt: number): number {
  return Math.min(60 * 4 ** Math.max(0, attempt - 1), maxQueueDelaySeconds);
}
