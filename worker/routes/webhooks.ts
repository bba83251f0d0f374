// Org webhooks (docs/api.md, "Webhooks"): register, list, read, change and delete the org's
// webhooks, read one's delivery log, send it a signed test ping. A webhook's secret is in the
// answers that create or change it, and in no other. The routes need MANAGE_PORTFOLIOS (the
// table's), VIEW_ALL_POSITIONS and an org in the token (here): see worker/api/webhooks.ts.
import { and, asc, count, desc, eq, lt, or, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { webhookDeliveries, webhooks } from "../../schema/index.ts";
import { routes } from "../api/contract.ts";
import {
  webhookCreateSchema,
  webhookDeliveryListQuerySchema,
  webhookParamsSchema,
  webhookUpdateSchema,
  type WebhookDeliveryResponse,
  type WebhookResponse,
  type WebhookTestResult,
} from "../api/webhooks.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import type { Caller } from "../auth/permissions.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { runTransaction } from "../db/transaction.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { logEvent } from "../log.ts";
import { isCapGuardFailure } from "../portfolios/holding-writes.ts";
import { capGuard, quotaExceeded, quotas } from "../quotas.ts";
import { webhookConfig } from "../webhooks/config.ts";
import { dohResolver } from "../webhooks/doh.ts";
import { sendSigned } from "../webhooks/send.ts";
import { generateSecret } from "../webhooks/signing.ts";
import { checkWebhookUrl, isProduction } from "../webhooks/url-guard.ts";

type WebhookRow = typeof webhooks.$inferSelect;

const defaultDeliveryPageSize = 20;

function webhookResponse(row: WebhookRow): WebhookResponse {
  return {
    id: row.id,
    org: row.org,
    url: row.url,
    description: row.description,
    active: row.active,
    created_by: row.createdBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/**
 * The caller's org, after the checks every webhook route makes beyond the table's permission: a
 * webhook is the org's and receives the alerts of all its portfolios.
 */
function webhookOrg(caller: Caller): string {
  if (caller.org === null)
    throw new ApiError(403, "FORBIDDEN", "webhooks belong to an org, and this token has no org claim", {
      required: "org",
    });
  if (!caller.permissions.has("VIEW_ALL_POSITIONS"))
    throw new ApiError(
      403,
      "FORBIDDEN",
      "a webhook receives the alerts of every portfolio of the org: this route also requires the " +
        "VIEW_ALL_POSITIONS permission",
      { required: "VIEW_ALL_POSITIONS" },
    );
  return caller.org;
}

/** The org's webhook, or the same 404 as one that does not exist (another org's is not probed). */
async function orgWebhook(db: Database, org: string, id: string): Promise<WebhookRow> {
  const row = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.org, org)))
    .get();
  if (!row) throw new ApiError(404, "NOT_FOUND", `webhook ${id} does not exist`);
  return row;
}

/** The SSRF guard (worker/webhooks/url-guard.ts); a refusal is a 422 naming the field and the reason. */
async function allowedUrl(env: Env, url: string): Promise<string> {
  const result = await checkWebhookUrl(url, { production: isProduction(env), resolve: dohResolver() });
  if (result.ok) return result.url;
  throw new ApiError(422, "URL_NOT_ALLOWED", `the webhook URL is refused: ${result.reason}`, [
    { path: "url", message: result.reason },
  ]);
}

function tooManyWebhooks(count: number | null, limit: number): ApiError {
  return quotaExceeded(
    count === null
      ? `the org would have more than ${limit} webhooks (another registration came in meanwhile); nothing was written`
      : `the org has ${count} webhooks, the most one org may have; delete one first`,
    "MAX_WEBHOOKS_PER_ORG",
    limit,
  );
}

// ---- the delivery log's cursor: the last row's (created_at, id), newest first ----------------

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function encodeCursor(createdAt: string, id: string): string {
  return base64url(JSON.stringify([createdAt, id]));
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const refused = () =>
    validationError("invalid query: cursor", [
      { path: "cursor", message: "cursor must be a next_cursor this API gave" },
    ]);
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    throw refused();
  }
  if (!Array.isArray(value) || value.length !== 2 || !value.every((part) => typeof part === "string")) throw refused();
  const [createdAt, id] = value as [string, string];
  return { createdAt, id };
}

function deliveryResponse(row: typeof webhookDeliveries.$inferSelect): WebhookDeliveryResponse {
  return {
    id: row.id,
    webhook_id: row.webhookId,
    alert_id: row.alertId,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    next_attempt_at: row.nextAttemptAt,
    delivered_at: row.deliveredAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export const webhookRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listWebhooks), noQuery(), async (c) => {
    const org = webhookOrg(c.get("caller"));
    const rows = await getDatabase(c.env)
      .select()
      .from(webhooks)
      .where(eq(webhooks.org, org))
      .orderBy(asc(webhooks.createdAt), asc(webhooks.id));
    return c.json({ webhooks: rows.map(webhookResponse) }, 200);
  })
  .post("/", guard(routes.createWebhook), noQuery(), validate("json", webhookCreateSchema), async (c) => {
    const caller = c.get("caller");
    const org = webhookOrg(caller);
    const body = c.req.valid("json");
    const db = getDatabase(c.env);
    const url = await allowedUrl(c.env, body.url);
    const limit = quotas(c.env).webhooksPerOrg;
    const existing = (await db.select({ n: count() }).from(webhooks).where(eq(webhooks.org, org)).get())?.n ?? 0;
    if (existing >= limit) throw tooManyWebhooks(existing, limit);
    const id = crypto.randomUUID();
    const secret = body.secret ?? generateSecret();
    try {
      await runTransaction(db, [
        db
          .insert(webhooks)
          .values({ id, org, url, secret, description: body.description ?? "", createdBy: caller.sub })
          .returning({ id: webhooks.id }),
        capGuard("select count(*) from webhooks where org = ?", [org], limit),
      ]);
    } catch (error) {
      if (isCapGuardFailure(error)) throw tooManyWebhooks(null, limit);
      throw error;
    }
    const row = await orgWebhook(db, org, id);
    logEvent("info", "webhook.registered", { webhookId: id, org, by: caller.sub });
    c.header("Location", `/api/v1/webhooks/${id}`);
    // The one answer that carries the secret: it is never served again.
    return c.json({ ...webhookResponse(row), secret }, 201);
  })
  .get("/:id", guard(routes.getWebhook), noQuery(), validate("param", webhookParamsSchema), async (c) => {
    const org = webhookOrg(c.get("caller"));
    const row = await orgWebhook(getDatabase(c.env), org, c.req.valid("param").id);
    return c.json(webhookResponse(row), 200);
  })
  .patch(
    "/:id",
    guard(routes.updateWebhook),
    noQuery(),
    validate("param", webhookParamsSchema),
    validate("json", webhookUpdateSchema),
    async (c) => {
      const org = webhookOrg(c.get("caller"));
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = getDatabase(c.env);
      await orgWebhook(db, org, id);
      const url = body.url === undefined ? undefined : await allowedUrl(c.env, body.url);
      const secret = body.secret ?? (body.rotate_secret === true ? generateSecret() : undefined);
      await db
        .update(webhooks)
        .set({
          ...(url !== undefined ? { url } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.active !== undefined ? { active: body.active } : {}),
          ...(secret !== undefined ? { secret } : {}),
          updatedAt: new Date().toISOString(),
        })
        .where(and(eq(webhooks.id, id), eq(webhooks.org, org)));
      const row = await orgWebhook(db, org, id);
      if (secret !== undefined) logEvent("info", "webhook.secret_changed", { webhookId: id, org });
      return c.json({ ...webhookResponse(row), ...(secret !== undefined ? { secret } : {}) }, 200);
    },
  )
  .delete("/:id", guard(routes.deleteWebhook), noQuery(), validate("param", webhookParamsSchema), async (c) => {
    const org = webhookOrg(c.get("caller"));
    const { id } = c.req.valid("param");
    const deleted = await getDatabase(c.env)
      .delete(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.org, org)))
      .returning({ id: webhooks.id });
    if (deleted.length === 0) throw new ApiError(404, "NOT_FOUND", `webhook ${id} does not exist`);
    logEvent("info", "webhook.deleted", { webhookId: id, org });
    return c.body(null, 204);
  })
  .get(
    "/:id/deliveries",
    guard(routes.listWebhookDeliveries),
    validate("param", webhookParamsSchema),
    validate("query", webhookDeliveryListQuerySchema),
    async (c) => {
      const org = webhookOrg(c.get("caller"));
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const db = getDatabase(c.env);
      await orgWebhook(db, org, id);
      const limit = query.limit ?? defaultDeliveryPageSize;
      const conditions: (SQL | undefined)[] = [eq(webhookDeliveries.webhookId, id)];
      if (query.status !== undefined) conditions.push(eq(webhookDeliveries.status, query.status));
      if (query.cursor !== undefined) {
        const after = decodeCursor(query.cursor);
        conditions.push(
          or(
            lt(webhookDeliveries.createdAt, after.createdAt),
            and(eq(webhookDeliveries.createdAt, after.createdAt), lt(webhookDeliveries.id, after.id)),
          ),
        );
      }
      const rows = await db
        .select()
        .from(webhookDeliveries)
        .where(and(...conditions))
        .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return c.json(
        {
          deliveries: page.map(deliveryResponse),
          next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
        },
        200,
      );
    },
  )
  .post("/:id/test", guard(routes.testWebhook), noQuery(), validate("param", webhookParamsSchema), async (c) => {
    const org = webhookOrg(c.get("caller"));
    const { id } = c.req.valid("param");
    const hook = await orgWebhook(getDatabase(c.env), org, id);
    const config = webhookConfig(c.env);
    const pingId = crypto.randomUUID();
    const body = JSON.stringify({ id: pingId, event: "ping", created_at: new Date().toISOString(), webhook_id: id });
    const outcome = await sendSigned(
      { url: hook.url, secret: hook.secret, event: "ping", deliveryId: pingId, body },
      { timeoutMs: config.timeoutMs, production: config.production, resolve: dohResolver() },
    );
    logEvent("info", "webhook.test_sent", {
      webhookId: id,
      delivered: outcome.delivered,
      statusCode: outcome.statusCode,
      durationMs: outcome.durationMs,
    });
    const result: WebhookTestResult = {
      id: pingId,
      event: "ping",
      delivered: outcome.delivered,
      status_code: outcome.statusCode,
      error: outcome.error,
      duration_ms: outcome.durationMs,
    };
    return c.json(result, 200);
  });
