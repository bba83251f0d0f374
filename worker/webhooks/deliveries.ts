// Alert deliveries to org webhooks (docs/api.md, "Webhooks"; docs/design.md §11). Scheduling
// writes one `webhook_deliveries` row per (active webhook of the alert's org, alert) and rings
// the webhook queue for it; the queue consumer (./consumer.ts) then makes one attempt per
// message and records its outcome on the row.
//
// Exactly once in effect: the row is unique per webhook and raise of an alert (its created_at: a
// redelivered batch message inserts nothing; a breach raised again on its date is a new raise),
// each attempt is claimed with a conditional update of the row's attempt count that also leases
// the delivery for the attempt's duration (of two messages for the same delivery, one sends; the
// other waits for the outcome), and a message for a delivery already
// `delivered` or `dead` is acked without sending. A receiver may still see a delivery twice when
// the Worker dies between its request and the write of its outcome: receivers dedupe on
// `X-Factor-Delivery`.
import { and, eq, inArray } from "drizzle-orm";
import { alerts, portfolios, webhookDeliveries, webhooks, type AlertState } from "../../schema/index.ts";
import { chunk } from "../chunk.ts";
import { getDatabase, type Database, type DatabaseConfig } from "../db/client.ts";
import { logEvent } from "../log.ts";
import { webhookRetryDelaySeconds, type WebhookConfig } from "./config.ts";
import type { Fetcher } from "./doh.ts";
import type { WebhookMessage } from "./messages.ts";
import { sendSigned } from "./send.ts";
import type { Resolver } from "./url-guard.ts";

export type WebhookEvent = (typeof webhookDeliveries.$inferSelect)["event"];
type AlertRow = typeof alerts.$inferSelect;

/** Ids per `IN (…)` list and rows per insert: well inside SQLite's bound-variable limit. */
const idsPerQuery = 200;
const rowsPerInsert = 100;
/** Cloudflare Queues takes at most 100 messages per sendBatch. */
const messagesPerSend = 100;
/** A message may arrive this much before its delivery's `next_attempt_at` and still be attempted. */
const earlyToleranceMs = 5_000;
/** How long past its timeout an attempt keeps its claim (the request, the signing, the outcome's write). */
const attemptLeaseMarginMs = 30_000;
/** Longest error text stored on a delivery. */
const maxStoredErrorChars = 500;

export function alertEvent(state: AlertState): WebhookEvent {
  return state === "breached" ? "alert.raised" : "alert.cleared";
}

/** The alert as a webhook body carries it: the row's fields (snake_case) with its portfolio's name. */
export function alertPayload(alert: AlertRow, portfolioName: string) {
  return {
    id: alert.id,
    limit_id: alert.limitId,
    portfolio_id: alert.portfolioId,
    portfolio_name: portfolioName,
    date: alert.date,
    state: alert.state,
    metric: alert.metric,
    factor_key: alert.factorKey,
    value: alert.value,
    min_value: alert.minValue,
    max_value: alert.maxValue,
    cause: alert.cause,
    created_at: alert.createdAt,
  };
}

/** The queue the scheduler rings: only `sendBatch` is used (tests pass a recording fake). */
export interface WebhookScheduleEnv extends DatabaseConfig {
  WEBHOOK_QUEUE: Pick<Queue, "sendBatch">;
}

/**
 * Schedules the deliveries of newly inserted alerts to their orgs' active webhooks: a row per
 * (webhook, alert, the alert's created_at), inserted with ON CONFLICT DO NOTHING — so a breach
 * raised again on its date (a new created_at, evaluate.ts) is delivered again, while scheduling
 * the same raise twice inserts nothing —, and a queue message for each delivery
 * of these alerts that is still pending and never attempted — the new rows, and rows an earlier
 * call inserted but whose messages were never sent (it failed between the two). A message too
 * many is harmless: the attempt is claimed on the row. Alerts of portfolios without an org have
 * no webhooks.
 */
export async function scheduleAlertDeliveries(
  env: WebhookScheduleEnv,
  alertIds: readonly string[],
  db: Database = getDatabase(env),
): Promise<void> {
  const ids = [...new Set(alertIds)];
  if (ids.length === 0) return;
  const found: { alert: AlertRow; portfolioName: string; org: string | null }[] = [];
  for (const slice of chunk(ids, idsPerQuery)) {
    found.push(
      ...(await db
        .select({ alert: alerts, portfolioName: portfolios.name, org: portfolios.org })
        .from(alerts)
        .innerJoin(portfolios, eq(portfolios.id, alerts.portfolioId))
        .where(inArray(alerts.id, slice))),
    );
  }
  const orgs = [...new Set(found.flatMap((row) => (row.org === null ? [] : [row.org])))];
  if (orgs.length === 0) return;
  const hooks: { id: string; org: string }[] = [];
  for (const slice of chunk(orgs, idsPerQuery)) {
    hooks.push(
      ...(await db
        .select({ id: webhooks.id, org: webhooks.org })
        .from(webhooks)
        .where(and(inArray(webhooks.org, slice), eq(webhooks.active, true)))),
    );
  }
  if (hooks.length === 0) return;
  const createdAt = new Date().toISOString();
  const rows = found.flatMap(({ alert, portfolioName, org }) =>
    hooks
      .filter((hook) => hook.org === org)
      .map((hook) => {
        const id = crypto.randomUUID();
        const event = alertEvent(alert.state);
        const body = JSON.stringify({ id, event, created_at: createdAt, alert: alertPayload(alert, portfolioName) });
        return {
          id,
          webhookId: hook.id,
          alertId: alert.id,
          alertCreatedAt: alert.createdAt,
          event,
          body,
          createdAt,
          updatedAt: createdAt,
        };
      }),
  );
  for (const slice of chunk(rows, rowsPerInsert))
    await db.insert(webhookDeliveries).values(slice).onConflictDoNothing();
  const due: string[] = [];
  const alertsWithHooks = [...new Set(rows.map((row) => row.alertId))];
  for (const slice of chunk(alertsWithHooks, idsPerQuery)) {
    const pending = await db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          inArray(webhookDeliveries.alertId, slice),
          eq(webhookDeliveries.status, "pending"),
          eq(webhookDeliveries.attempts, 0),
        ),
      );
    due.push(...pending.map((row) => row.id));
  }
  for (const slice of chunk(due, messagesPerSend)) {
    await env.WEBHOOK_QUEUE.sendBatch(
      slice.map((deliveryId) => ({ body: { type: "webhook.deliver", deliveryId } satisfies WebhookMessage })),
    );
  }
  logEvent("info", "webhook.deliveries_scheduled", { alerts: ids.length, pairs: rows.length, messages: due.length });
}

/** What the consumer does with the message after one attempt (or none). */
export type DeliveryAction =
  | { kind: "ack"; outcome: "delivered" | "dead" | "final" | "gone" | "claimed" }
  | { kind: "retry"; outcome: "failed" | "not_due"; delaySeconds: number };

export interface DeliveryDeps {
  db: Database;
  config: WebhookConfig;
  /** DNS for the production URL check (./doh.ts); tests pass a fake. */
  resolve?: Resolver;
  fetch?: Fetcher;
  now?: () => number;
}

function bounded(text: string): string {
  return text.length <= maxStoredErrorChars ? text : `${text.slice(0, maxStoredErrorChars - 1)}…`;
}

/** Moves a delivery that is not final yet to `dead` with its reason. */
async function markDead(db: Database, id: string, reason: string, at: string): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: "dead", lastError: bounded(reason), nextAttemptAt: null, updatedAt: at })
    .where(and(eq(webhookDeliveries.id, id), inArray(webhookDeliveries.status, ["pending", "retrying"])));
}

/**
 * One message's work: reads the delivery and its webhook, makes the attempt it is due (or none),
 * and records the outcome. Throws only when the database fails; the consumer then retries the
 * message without counting an attempt.
 */
export async function processDeliveryMessage(deps: DeliveryDeps, message: WebhookMessage): Promise<DeliveryAction> {
  const { db, config } = deps;
  const now = deps.now ?? Date.now;
  const row = await db
    .select({
      delivery: webhookDeliveries,
      url: webhooks.url,
      secret: webhooks.secret,
      active: webhooks.active,
    })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(eq(webhookDeliveries.id, message.deliveryId))
    .get();
  if (!row) {
    // Deleting a webhook (or the alert's limit) deletes its deliveries: nothing is left to send or record.
    logEvent("info", "webhook.delivery_gone", { deliveryId: message.deliveryId });
    return { kind: "ack", outcome: "gone" };
  }
  const { delivery } = row;
  const log = { deliveryId: delivery.id, webhookId: delivery.webhookId, alertId: delivery.alertId };
  if (delivery.status === "delivered" || delivery.status === "dead") return { kind: "ack", outcome: "final" };
  const at = new Date(now()).toISOString();
  if (!row.active) {
    const reason = `the webhook was deactivated before attempt ${delivery.attempts + 1}; not sent`;
    await markDead(db, delivery.id, reason, at);
    logEvent("warn", "webhook.delivery_dead", { ...log, attempts: delivery.attempts, reason });
    return { kind: "ack", outcome: "dead" };
  }
  if (delivery.attempts >= config.maxAttempts) {
    // WEBHOOK_MAX_ATTEMPTS was lowered below what this delivery has had.
    const reason = `gave up after ${delivery.attempts} attempts: last attempt ${delivery.lastError ?? "not recorded"}`;
    await markDead(db, delivery.id, reason, at);
    logEvent("warn", "webhook.delivery_dead", { ...log, attempts: delivery.attempts, reason });
    return { kind: "ack", outcome: "dead" };
  }
  const dueAt = delivery.nextAttemptAt === null ? 0 : Date.parse(delivery.nextAttemptAt);
  if (dueAt - now() > earlyToleranceMs) {
    // The delivery is waiting out its backoff, or another message's attempt is in flight: this
    // message waits too (then it finds the outcome, or loses the claim to the scheduled retry,
    // or is the one that retries if that message was lost).
    return { kind: "retry", outcome: "not_due", delaySeconds: Math.ceil((dueAt - now()) / 1000) };
  }
  const attempt = delivery.attempts + 1;
  // The claim also leases the delivery until the attempt must have ended: a duplicate message
  // arriving meanwhile finds it not due and waits, instead of claiming the next attempt.
  const leasedUntil = new Date(now() + config.timeoutMs + attemptLeaseMarginMs).toISOString();
  const claimed = await db
    .update(webhookDeliveries)
    .set({ attempts: attempt, nextAttemptAt: leasedUntil, updatedAt: at })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.attempts, delivery.attempts),
        inArray(webhookDeliveries.status, ["pending", "retrying"]),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  if (claimed.length === 0) return { kind: "ack", outcome: "claimed" };

  const outcome = await sendSigned(
    { url: row.url, secret: row.secret, event: delivery.event, deliveryId: delivery.id, body: delivery.body },
    {
      timeoutMs: config.timeoutMs,
      production: config.production,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      now,
    },
  );
  const doneAt = new Date(now()).toISOString();
  const ours = and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.attempts, attempt));
  if (outcome.delivered) {
    await db
      .update(webhookDeliveries)
      .set({
        status: "delivered",
        lastStatusCode: outcome.statusCode,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: doneAt,
        updatedAt: doneAt,
      })
      .where(ours);
    logEvent("info", "webhook.delivered", {
      ...log,
      attempt,
      statusCode: outcome.statusCode,
      durationMs: outcome.durationMs,
    });
    return { kind: "ack", outcome: "delivered" };
  }
  const error = outcome.error ?? "failed";
  if (attempt >= config.maxAttempts) {
    const reason = `gave up after ${attempt} attempts: last attempt ${error}`;
    await db
      .update(webhookDeliveries)
      .set({
        status: "dead",
        lastStatusCode: outcome.statusCode,
        lastError: bounded(reason),
        nextAttemptAt: null,
        updatedAt: doneAt,
      })
      .where(ours);
    logEvent("warn", "webhook.delivery_dead", { ...log, attempts: attempt, reason });
    return { kind: "ack", outcome: "dead" };
  }
  const delaySeconds = webhookRetryDelaySeconds(attempt);
  await db
    .update(webhookDeliveries)
    .set({
      status: "retrying",
      lastStatusCode: outcome.statusCode,
      lastError: bounded(error),
      nextAttemptAt: new Date(now() + delaySeconds * 1000).toISOString(),
      updatedAt: doneAt,
    })
    .where(ours);
  logEvent("warn", "webhook.attempt_failed", { ...log, attempt, error, retryInSeconds: delaySeconds });
  return { kind: "retry", outcome: "failed", delaySeconds };
}
