// The live WebSocket protocol (docs/design.md §9): every message between the LiveHub and a
// browser, as zod/mini schemas shared by worker/ and client/ and validated on both sides. zod
// mini keeps the client's bundle small (its functional API tree-shakes).
//
// Client → hub: `subscribe` (to a portfolio's exposures, optionally resuming after the last
// sequence number it saw), `unsubscribe`. Heartbeats are the literal text `{"type":"ping"}`,
// answered `{"type":"pong"}` by the runtime without waking the hub (see `pingMessage`).
// Hub → client: `welcome`, `subscribed`, `unsubscribed`, `exposures.updated` (with a
// per-portfolio sequence number), `risk.updated` (the portfolio's risk summary of the same date,
// right after its `exposures.updated`, carrying that message's sequence number), `resync`
// (missed messages are no longer kept: refetch), `batch.progress`, `batch.completed`, `alert.raised`
// and `alert.cleared` (a limit crossed; not numbered), `error`.
import * as z from "zod/mini";

/** Largest client message the hub reads; anything longer is refused. */
export const maxClientMessageBytes = 4_096;
/** Malformed or refused messages a socket may send before the hub closes it (1008). */
export const maxClientErrors = 5;
/** Heartbeat text and its automatic answer (byte-exact: the runtime compares strings). */
export const pingMessage = '{"type":"ping"}';
export const pongMessage = '{"type":"pong"}';

const portfolioId = z.string().check(z.minLength(1), z.maxLength(100));
const sequence = z.number().check(z.int(), z.gte(0));

export const subscribeMessage = z.strictObject({
  type: z.literal("subscribe"),
  portfolio_id: portfolioId,
  last_seq: z.optional(sequence),
});
export const unsubscribeMessage = z.strictObject({ type: z.literal("unsubscribe"), portfolio_id: portfolioId });
export const clientMessage = z.discriminatedUnion("type", [subscribeMessage, unsubscribeMessage]);
export type ClientMessage = z.infer<typeof clientMessage>;

const nullableNumber = z.nullable(z.number());

export const exposureValue = z.object({
  factor_key: z.string(),
  exposure: nullableNumber,
  exposure_dollar: nullableNumber,
  coverage: nullableNumber,
  /** The holdings' R² for the factor (|mv·δ|-weighted); absent in messages stored before it existed. */
  r_squared: z.optional(nullableNumber),
  /**
   * The exposure's standard error as stored (the exposures route's `standard_error`; null: none,
   * that route says why); absent in messages stored before it existed.
   */
  standard_error: z.optional(nullableNumber),
});

export const welcomeMessage = z.object({
  type: z.literal("welcome"),
  sub: z.string(),
  hub: z.string(),
  heartbeat_seconds: z.number(),
});
export const subscribedMessage = z.object({
  type: z.literal("subscribed"),
  portfolio_id: z.string(),
  seq: sequence,
  replayed: z.number(),
});
export const unsubscribedMessage = z.object({ type: z.literal("unsubscribed"), portfolio_id: z.string() });
export const exposuresUpdatedMessage = z.object({
  type: z.literal("exposures.updated"),
  portfolio_id: z.string(),
  seq: sequence,
  date: z.string(),
  /** What changed the numbers: the batch's publish phase or a position change. */
  cause: z.enum(["batch", "positions"]),
  equity: nullableNumber,
  exposures: z.array(exposureValue),
});
/**
 * A portfolio's daily risk summary (docs/design.md §11, `portfolio_risk_summaries`): variances
 * daily in squared fractions of equity, volatility and tracking error annualized (√252), VaR
 * one-day in dollars. A number the model could not give is null and `reason` says why (no
 * covariance for the date, no position with loadings, no benchmark loadings), never 0.
 */
export const riskSummaryValue = z.object({
  benchmark_symbol: z.nullable(z.string()),
  equity: nullableNumber,
  total_variance: nullableNumber,
  factor_variance: nullableNumber,
  specific_variance: nullableNumber,
  volatility: nullableNumber,
  /** Factor variance / total variance. */
  factor_share: nullableNumber,
  value_at_risk_95: nullableNumber,
  value_at_risk_99: nullableNumber,
  active_variance: nullableNumber,
  tracking_error: nullableNumber,
  /** Why numbers are null (a reason code); null when the model gave every number it could. */
  reason: z.nullable(z.string()),
  detail: z.nullable(z.string()),
});
export const riskUpdatedMessage = z.object({
  type: z.literal("risk.updated"),
  portfolio_id: z.string(),
  /** The sequence number of the `exposures.updated` it follows (same portfolio and date): not a number of its own. */
  seq: sequence,
  date: z.string(),
  cause: z.enum(["batch", "positions"]),
  risk: riskSummaryValue,
});
export const resyncMessage = z.object({
  type: z.literal("resync"),
  portfolio_id: z.string(),
  seq: sequence,
  reason: z.string(),
});
/**
 * What a run is: its trigger (`portfolio` for a portfolio's history run), its portfolio (null: all), and how many dates
 * it computes.
 */
export const batchRunFacts = z.object({
  trigger: z.string(),
  portfolio_id: z.nullable(z.string()),
  dates_total: z.number(),
});
export const batchProgressMessage = z.object({
  type: z.literal("batch.progress"),
  run_id: z.string(),
  run: batchRunFacts,
  date: z.string(),
  phase: z.string(),
  done: z.number(),
  total: z.number(),
  success: z.boolean(),
});
export const batchCompletedMessage = z.object({
  type: z.literal("batch.completed"),
  run_id: z.string(),
  run: batchRunFacts,
  date: z.string(),
  summary: z.object({ phases_ok: z.number(), phases_failed: z.number(), portfolios_updated: z.number() }),
});
/**
 * A limit's number crossed its bounds (docs/design.md §11, "Limits and alerts"): `alert.raised` when
 * it went outside [min, max], `alert.cleared` when it came back within. Sent to the portfolio's
 * subscribers like `exposures.updated`, but not numbered nor kept for replay: the `alerts` table is
 * the record, and a client that (re)connects reads it (GET /alerts, /alerts/summary). `metric` is
 * one of schema/alerts.ts `limitMetrics` (not imported: that module would bring drizzle into the
 * dashboard's bundle).
 */
const alertFields = {
  portfolio_id: z.string(),
  alert_id: z.string(),
  limit_id: z.string(),
  metric: z.string(),
  factor_key: z.nullable(z.string()),
  /** The number evaluated (never missing: a missing number raises and clears nothing). */
  value: z.number(),
  min_value: nullableNumber,
  max_value: nullableNumber,
  /** The computed date the number is of. */
  date: z.string(),
  /** What evaluated the limit: the batch, a position change's refresh, or the limit's create or edit. */
  cause: z.enum(["batch", "positions", "limit"]),
  created_at: z.string(),
};
export const alertRaisedMessage = z.object({ type: z.literal("alert.raised"), ...alertFields });
export const alertClearedMessage = z.object({ type: z.literal("alert.cleared"), ...alertFields });
export const errorCodes = ["MALFORMED", "TOO_LARGE", "FORBIDDEN", "NOT_FOUND", "RATE_LIMITED", "INTERNAL"] as const;
export const errorMessage = z.object({
  type: z.literal("error"),
  code: z.enum(errorCodes),
  message: z.string(),
  portfolio_id: z.optional(z.string()),
});

export const serverMessage = z.discriminatedUnion("type", [
  welcomeMessage,
  subscribedMessage,
  unsubscribedMessage,
  exposuresUpdatedMessage,
  riskUpdatedMessage,
  resyncMessage,
  batchProgressMessage,
  batchCompletedMessage,
  alertRaisedMessage,
  alertClearedMessage,
  errorMessage,
]);
export type ServerMessage = z.infer<typeof serverMessage>;
export type ExposuresUpdated = z.infer<typeof exposuresUpdatedMessage>;
export type RiskUpdated = z.infer<typeof riskUpdatedMessage>;
export type RiskSummaryValue = z.infer<typeof riskSummaryValue>;
export type BatchProgress = z.infer<typeof batchProgressMessage>;
export type BatchCompleted = z.infer<typeof batchCompletedMessage>;
export type AlertRaised = z.infer<typeof alertRaisedMessage>;
export type AlertCleared = z.infer<typeof alertClearedMessage>;
export type AlertMessage = AlertRaised | AlertCleared;

/** Parses a message from the other side; `null` with the reason when it is not one. */
export function parseMessage<S extends z.ZodMiniType>(
  schema: S,
  text: string,
): { ok: true; message: z.infer<S> } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, message: result.data as z.infer<S> };
  return {
    ok: false,
    reason: result.error.issues.map((issue) => `${issue.path.join(".") || "(message)"}: ${issue.message}`).join("; "),
  };
}
