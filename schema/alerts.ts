import { sql } from "drizzle-orm";
import { check, index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";
import { portfolios } from "./portfolios.ts";

// Limits, alerts and org webhooks (docs/design.md §11, "Limits and alerts"): a limit bounds one
// of a portfolio's numbers; each crossing of a bound writes one alert (unique per limit, date
// and state, so redeliveries and concurrent recomputes cannot write two), which is pushed live
// and delivered to the org's webhooks through the queue, every attempt logged.

/**
 * What a limit bounds, on the portfolio's numbers of a date:
 * - `exposure` / `active_exposure`: a lens factor's portfolio exposure (`factor_key` a lens key),
 *   or the exposure minus the benchmark's beta;
 * - `risk_exposure` / `active_risk_exposure`: a risk factor's exposure b_p,k (active: b_a,k);
 * - `factor_share`: a risk factor's contribution's share of the total variance;
 * - `tracking_error`, `volatility`: annualized fractions of equity.
 */
export const limitMetrics = [
  "exposure",
  "active_exposure",
  "risk_exposure",
  "active_risk_exposure",
  "factor_share",
  "tracking_error",
  "volatility",
] as const;
export type LimitMetric = (typeof limitMetrics)[number];

/** The metrics that name a factor (`factor_key` required); the others take none. */
export const factorLimitMetrics = [
  "exposure",
  "active_exposure",
  "risk_exposure",
  "active_risk_exposure",
  "factor_share",
] as const satisfies readonly LimitMetric[];

/** An alert's state: the value crossed out of [min, max] (`breached`) or back in (`cleared`). */
export const alertStates = ["breached", "cleared"] as const;
export type AlertState = (typeof alertStates)[number];

/**
 * What evaluated the limit: the batch computing the date (`batch`), a position or cash change's
 * refresh of the latest date (`positions`), or the limit's own create or edit (`limit`), which
 * evaluates it on the numbers already stored.
 */
export const alertCauses = ["batch", "positions", "limit"] as const;
export type AlertCause = (typeof alertCauses)[number];

export const portfolioLimits = sqliteTable(
  "portfolio_limits",
  {
    id: text("id").primaryKey(),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    metric: text("metric", { enum: limitMetrics }).notNull(),
    /** A lens factor key for exposure metrics, a risk factor key for risk ones; null otherwise. */
    factorKey: text("factor_key"),
    /** Inclusive bounds; at least one. A value outside [min, max] is a breach. */
    minValue: real("min_value"),
    maxValue: real("max_value"),
    description: text("description").notNull().default(""),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("portfolio_limits_portfolio_idx").on(t.portfolioId),
    check("portfolio_limits_bounds", sql`${t.minValue} is not null or ${t.maxValue} is not null`),
    check(
      "portfolio_limits_order",
      sql`${t.minValue} is null or ${t.maxValue} is null or ${t.minValue} <= ${t.maxValue}`,
    ),
    check(
      "portfolio_limits_factor",
      sql`(${t.factorKey} is not null) = (${t.metric} in ('exposure', 'active_exposure', 'risk_exposure',
        'active_risk_exposure', 'factor_share'))`,
    ),
  ],
);

/**
 * One crossing of a limit on a date. The limit's bounds and the value are copied, so an alert
 * still says what it was about after the limit is edited; deleting the limit deletes its alerts.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    limitId: text("limit_id")
      .notNull()
      .references(() => portfolioLimits.id, { onDelete: "cascade" }),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    date: text("date").notNull(),
    state: text("state", { enum: alertStates }).notNull(),
    metric: text("metric", { enum: limitMetrics }).notNull(),
    factorKey: text("factor_key"),
    /** The value evaluated; null when the number is missing (a breach is never raised on a missing value). */
    value: real("value"),
    minValue: real("min_value"),
    maxValue: real("max_value"),
    cause: text("cause", { enum: alertCauses }).notNull(),
    acknowledgedAt: text("acknowledged_at"),
    acknowledgedBy: text("acknowledged_by"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("alerts_limit_date_state").on(t.limitId, t.date, t.state),
    index("alerts_portfolio_created_idx").on(t.portfolioId, t.createdAt),
  ],
);

/** An org's webhook: alerts of the org's portfolios are POSTed to `url`, signed with `secret`. */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    org: text("org").notNull(),
    url: text("url").notNull(),
    /** The HMAC key; shown once when registered, never served again. */
    secret: text("secret").notNull(),
    description: text("description").notNull().default(""),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhooks_org_idx").on(t.org)],
);

export const webhookDeliveryStatuses = ["pending", "delivered", "retrying", "dead"] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/**
 * One event for one webhook, with every attempt's outcome: the body is stored so a retry sends
 * the same bytes. Unique per webhook and alert: a redelivered batch message delivers once.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    alertId: text("alert_id")
      .notNull()
      .references(() => alerts.id, { onDelete: "cascade" }),
    /**
     * The alert's `created_at` when this delivery was scheduled. A breach that clears and returns
     * on the same date raises the date's alert row again with a new `created_at`, so the re-raise
     * is a delivery of its own (the unique key below), not swallowed as the first one's duplicate.
     */
    alertCreatedAt: text("alert_created_at").notNull().default(""),
    event: text("event", { enum: ["alert.raised", "alert.cleared"] }).notNull(),
    body: text("body").notNull(),
    status: text("status", { enum: webhookDeliveryStatuses }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    /** Why the last attempt failed (or why the delivery is dead); null after a success. */
    lastError: text("last_error"),
    nextAttemptAt: text("next_attempt_at"),
    deliveredAt: text("delivered_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_webhook_alert_raise").on(t.webhookId, t.alertId, t.alertCreatedAt),
    index("webhook_deliveries_webhook_created_idx").on(t.webhookId, t.createdAt),
  ],
);
