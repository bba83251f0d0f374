// Shapes of exposure limits and their alerts (docs/design.md §11, "Limits and alerts";
// docs/api.md, "Limits and alerts"):
// - `GET, POST /portfolios/:id/limits`, `PATCH, DELETE /portfolios/:id/limits/:limitId`;
// - `GET /alerts` (a page, newest first, with a cursor), `GET /alerts/summary` (the navigation's
//   count), `POST /alerts/:id/acknowledge`.
// A limit bounds one number of the portfolio's latest computed date; its `current` says where that
// number stands now (`missing` with a reason when there is none, never 0).
import { z } from "zod";
import { alertCauses, alertStates, factorLimitMetrics, limitMetrics } from "../../schema/alerts.ts";
import {
  boundedNumber,
  descriptionField,
  formatField,
  idField,
  isoDate,
  queryInteger,
  whenFieldsValid,
} from "./fields.ts";

/** The largest magnitude of a bound: exposures and shares are fractions, far below it. */
export const maxLimitBound = 1e6;
/** Alerts per page of `GET /alerts`. */
export const maxAlertPage = 100;
export const defaultAlertPage = 50;

const factorMetrics: ReadonlySet<string> = new Set(factorLimitMetrics);

const metricField = z.enum(limitMetrics, { error: `metric must be one of ${limitMetrics.join(", ")}` }).meta({
  description:
    "exposure / active_exposure: a lens factor's portfolio exposure, or minus the benchmark's beta; " +
    "risk_exposure / active_risk_exposure: a risk factor's exposure b_p,k (active: b_a,k); factor_share: a risk " +
    "factor's contribution over the total variance; tracking_error, volatility: annualized fractions of equity.",
});
const factorKeyField = z
  .string({ error: "factor_key must be a string" })
  .min(1, { error: "factor_key must not be empty" })
  .max(100, { error: "factor_key must be at most 100 characters" })
  .nullable()
  .meta({
    description:
      "A lens factor key (GET /factors) for exposure and active_exposure, a risk factor key (GET /risk/factors) " +
      "for the risk metrics and factor_share; null (or absent) for tracking_error and volatility.",
  });
const boundField = (field: string, description: string) =>
  boundedNumber(field, { max: maxLimitBound }).nullable().meta({ description });
const minField = boundField("min_value", "Inclusive lower bound; null for none (give at least one bound).");
const maxField = boundField("max_value", "Inclusive upper bound; null for none (give at least one bound).");

/** A limit's fields as merged for the rules across them (create, or a PATCH merged into the stored limit). */
export interface LimitFields {
  metric: (typeof limitMetrics)[number];
  factor_key: string | null;
  min_value: number | null;
  max_value: number | null;
}

/** The rules across fields (the table's CHECKs), each with the field that breaks it. */
export function limitIssues(limit: LimitFields): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (factorMetrics.has(limit.metric) && limit.factor_key === null)
    issues.push({ path: "factor_key", message: `factor_key is required for metric ${limit.metric}` });
  if (!factorMetrics.has(limit.metric) && limit.factor_key !== null)
    issues.push({ path: "factor_key", message: `metric ${limit.metric} takes no factor_key; leave it out or null` });
  if (limit.min_value === null && limit.max_value === null)
    issues.push({ path: "min_value", message: "give min_value, max_value or both (a limit needs a bound)" });
  if (limit.min_value !== null && limit.max_value !== null && limit.min_value > limit.max_value)
    issues.push({
      path: "min_value",
      message: `min_value (${limit.min_value}) must not be above max_value (${limit.max_value})`,
    });
  return issues;
}

export const limitCreateSchema = z
  .strictObject({
    metric: metricField,
    factor_key: factorKeyField.optional(),
    min_value: minField.optional(),
    max_value: maxField.optional(),
    description: descriptionField.optional().meta({ description: "Free text shown with the limit and its alerts." }),
  })
  .superRefine((body, ctx) => {
    const issues = limitIssues({
      metric: body.metric,
      factor_key: body.factor_key ?? null,
      min_value: body.min_value ?? null,
      max_value: body.max_value ?? null,
    });
    for (const issue of issues) ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
  }, whenFieldsValid)
  .meta({ id: "LimitCreate" });
export type LimitCreate = z.output<typeof limitCreateSchema>;

/** A PATCH: any subset; null removes a bound or the factor. The merged limit must pass every rule (route). */
export const limitUpdateSchema = z
  .strictObject({
    metric: metricField.optional(),
    factor_key: factorKeyField.optional(),
    min_value: minField.optional(),
    max_value: maxField.optional(),
    description: descriptionField.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one field to change" })
  .meta({ id: "LimitUpdate" });
export type LimitUpdate = z.output<typeof limitUpdateSchema>;

export const limitParamsSchema = z.strictObject({ id: idField("id"), limitId: idField("limitId") });
export const alertParamsSchema = z.strictObject({ id: idField("id") });

const positionEnum = z.enum(["breached", "within", "missing"]);

/** Where the limit's number stands on the portfolio's latest computed date. */
export const limitCurrentSchema = z
  .object({
    /** The portfolio's latest computed date; null when none is. */
    date: z.string().nullable(),
    /** The number on that date; null when it is missing (`reason` says why). */
    value: z.number().nullable(),
    /** breached: outside [min, max]; within: inside (bounds inclusive); missing: no number. */
    position: positionEnum,
    reason: z
      .enum(["not_computed", "no_value"])
      .nullable()
      .meta({
        description:
          "not_computed: the portfolio has no computed date yet; no_value: the date has no such number (no exposure " +
          "to the factor, no factor covariance or loadings, no benchmark beta, a zero variance for shares).",
      }),
  })
  .meta({ id: "LimitCurrent" });

export const limitSchema = z
  .object({
    id: z.string(),
    portfolio_id: z.string(),
    metric: z.enum(limitMetrics),
    factor_key: z.string().nullable(),
    min_value: z.number().nullable(),
    max_value: z.number().nullable(),
    description: z.string(),
    /** What the limit bounds, in words (e.g. "market_beta exposure ≤ 1.2"). */
    label: z.string(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    current: limitCurrentSchema,
    /**
     * Whether the limit is breached now: where its number stands on the latest computed date; when that
     * number is missing, the state of its latest alert (a missing number neither raises nor clears).
     */
    state: z.enum(["breached", "within"]),
    /** The limit's latest alert (by date, then time), or null. */
    last_alert: z
      .object({
        id: z.string(),
        date: z.string(),
        state: z.enum(alertStates),
        created_at: z.string(),
        acknowledged_at: z.string().nullable(),
      })
      .nullable(),
  })
  .meta({ id: "Limit" });
export type LimitResponse = z.output<typeof limitSchema>;

export const limitListSchema = z
  .object({ portfolio_id: z.string(), limits: z.array(limitSchema), max_limits: z.number().int() })
  .meta({ id: "LimitList" });

/** A limit write's answer: the limit, and the alert its evaluation recorded (null: no crossing). */
export const limitWriteResponseSchema = limitSchema
  .extend({
    alert_recorded: z
      .object({ id: z.string(), state: z.enum(alertStates), date: z.string() })
      .nullable()
      .meta({ description: "The alert the write's evaluation recorded on the latest computed date; null: none." }),
  })
  .meta({ id: "LimitWriteResult" });

export const alertSchema = z
  .object({
    id: z.string(),
    portfolio_id: z.string(),
    portfolio_name: z.string(),
    limit_id: z.string(),
    date: z.string(),
    state: z.enum(alertStates),
    /** The limit as it was when the alert was recorded. */
    metric: z.enum(limitMetrics),
    factor_key: z.string().nullable(),
    value: z.number().nullable(),
    min_value: z.number().nullable(),
    max_value: z.number().nullable(),
    cause: z.enum(alertCauses),
    created_at: z.string(),
    acknowledged_at: z.string().nullable(),
    acknowledged_by: z.string().nullable(),
    /** A breach not over yet: the limit's latest alert, and its number is not back within on the latest date. */
    ongoing: z.boolean(),
    /** The limit now: its description, bounds and where its number stands. */
    limit: z.object({
      description: z.string(),
      label: z.string(),
      metric: z.enum(limitMetrics),
      factor_key: z.string().nullable(),
      min_value: z.number().nullable(),
      max_value: z.number().nullable(),
      current: limitCurrentSchema,
      /** The limit's `state` is breached (its number on the latest date; when missing, its latest alert). */
      breached: z.boolean(),
    }),
  })
  .meta({ id: "Alert" });
export type AlertResponse = z.output<typeof alertSchema>;

const booleanQuery = (field: string) =>
  z
    .enum(["true", "false"], { error: `${field} must be true or false` })
    .transform((value) => value === "true")
    .meta({ type: "string", enum: ["true", "false"] });

export const alertListQuerySchema = z
  .strictObject({
    portfolio_id: idField("portfolio_id").optional().meta({ description: "Only this portfolio's alerts." }),
    state: z.enum(alertStates, { error: "state must be breached or cleared" }).optional(),
    acknowledged: booleanQuery("acknowledged").optional().meta({ description: "true: acknowledged only; false: not." }),
    from: isoDate("from").optional().meta({ description: "Alerts dated on or after this date." }),
    to: isoDate("to").optional().meta({ description: "Alerts dated on or before this date." }),
    limit: queryInteger("limit", 1, maxAlertPage)
      .optional()
      .meta({ description: `Alerts per page (default ${defaultAlertPage}, at most ${maxAlertPage}).` }),
    cursor: z
      .string({ error: "cursor must be a string" })
      .max(400, { error: "cursor must be at most 400 characters" })
      .optional()
      .meta({ description: "The previous page's next_cursor." }),
    format: formatField,
  })
  .superRefine((query, ctx) => {
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "AlertListQuery" });

export const alertListSchema = z
  .object({
    alerts: z.array(alertSchema),
    /** Pass as `cursor` for the next (older) page; null on the last page. */
    next_cursor: z.string().nullable(),
  })
  .meta({ id: "AlertList" });

export const alertSummarySchema = z
  .object({
    /** Ongoing breaches (one per limit at most) of the caller's visible portfolios not yet acknowledged. */
    unacknowledged_breaches: z.number().int(),
    /** Ongoing breaches, acknowledged or not. */
    ongoing_breaches: z.number().int(),
    /** The visible portfolios that have limits (the live channel's subscriptions for alerts). */
    portfolios_with_limits: z.array(z.string()),
  })
  .meta({ id: "AlertSummary" });
export type AlertSummaryResponse = z.output<typeof alertSummarySchema>;
