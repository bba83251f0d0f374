// Org webhooks through the real Worker against the shared migrated database: registration (the
// secret shown once, validation, org and permissions, the cap), deliveries to a real receiver on
// loopback (test/worker/webhook-receiver-setup.mjs; development mode allows loopback http) with
// their signatures, retries, the dead end and exactly-once scheduling, the delivery log and the
// test ping. Each test uses its own org and receiver key, since other files run at the same time.
//
// Alerts are inserted directly (a limit and its alert rows): the evaluation that writes them in
// production is not under test here.
import { createExecutionContext, createMessageBatch, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createHmac } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { alerts, portfolioLimits, portfolios, webhookDeliveries, webhooks } from "../../schema/index.ts";
import type { Permission } from "../../worker/auth/permissions.ts";
import { getDatabase } from "../../worker/db/client.ts";
import type { ApiErrorBody } from "../../worker/http/errors.ts";
import worker from "../../worker/index.ts";
import { webhookConfig } from "../../worker/webhooks/config.ts";
import { recordAlertStatement } from "../../worker/alerts/evaluate.ts";
import { processDeliveryMessage, scheduleAlertDeliveries } from "../../worker/webhooks/deliveries.ts";
import { webhookQueueName, type WebhookMessage } from "../../worker/webhooks/messages.ts";
import type { Resolver } from "../../worker/webhooks/url-guard.ts";
import { captureLogs, eventsOf } from "../support/logs.ts";
import { allPermissions, authHeaders } from "../support/tokens.ts";

const db = getDatabase(env);
const receiver = inject("webhookReceiverUrl");
const base = "http://localhost/api/v1";

interface Received {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface CreatedWebhook {
  id: string;
  org: string;
  url: string;
  description: string;
  active: boolean;
  created_by: string;
  secret: string;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  alert_id: string;
  event: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

/** A tenant of its own: an org and a member with every permission. */
function tenant(label: string) {
  const id = crypto.randomUUID().slice(0, 8);
  return { org: `wh-${label}-${id}`, sub: `wh-${label}-member-${id}` };
}

async function call(
  path: string,
  who: { sub: string; org: string | null; permissions?: readonly Permission[] },
  init: { method?: string; body?: unknown; overrides?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = await authHeaders(who.sub, who.permissions ?? allPermissions, {
    org: who.org,
  });
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`${base}${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (init.overrides === undefined) return exports.default.fetch(request);
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...init.overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(status);
  return JSON.parse(text) as T;
}

async function errorOf(response: Response, status: number): Promise<ApiErrorBody["error"]> {
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(status);
  expect(text).not.toMatch(/at .*\.ts:\d+/);
  return (JSON.parse(text) as ApiErrorBody).error;
}

// ---- the receiver -------------------------------------------------------------------------

function hookUrl(key: string): string {
  return `${receiver}/hooks/${key}`;
}

/** The statuses the receiver answers for `key`, in order (the last repeats); "hang" never answers. */
async function script(key: string, statuses: (number | "hang")[]): Promise<void> {
  const response = await fetch(`${receiver}/control/${key}`, {
    method: "PUT",
    body: JSON.stringify({ script: statuses }),
  });
  await response.arrayBuffer();
}

async function received(key: string): Promise<Received[]> {
  const response = await fetch(`${receiver}/control/${key}`);
  return ((await response.json()) as { requests: Received[] }).requests;
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The receiver's check, independent of the Worker's code: node:crypto's HMAC over "<timestamp>.<body>". */
function expectSigned(request: Received, secret: string): void {
  const timestamp = request.headers["x-factor-timestamp"] ?? "";
  expect(timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${request.body}`).digest("hex")}`;
  expect(request.headers["x-factor-signature"]).toBe(expected);
  expect(request.headers["content-type"]).toBe("application/json");
}

/** The verification example of docs/api.md ("Webhooks"), as a receiver would run it. */
async function verifyFactorWebhook(secret: string, timestamp: string, body: string, signature: string) {
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const enc = new TextEncoder();
  const hmac = { name: "HMAC", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), hmac, false, ["verify"]);
  const mac = Uint8Array.from(signature.replace(/^sha256=/, "").match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  return crypto.subtle.verify("HMAC", key, mac, enc.encode(`${timestamp}.${body}`));
}

// ---- fixtures -----------------------------------------------------------------------------

/** A portfolio of `org` with one limit and `count` alerts on it (breached, cleared, breached, …). */
async function alertsFor(org: string | null, owner: string, count: number): Promise<string[]> {
  const portfolioId = `wh-portfolio-${crypto.randomUUID()}`;
  const limitId = `wh-limit-${crypto.randomUUID()}`;
  await db.insert(portfolios).values({ id: portfolioId, owner, org, name: `Webhooks ${portfolioId}` });
  await db
    .insert(portfolioLimits)
    .values({ id: limitId, portfolioId, metric: "tracking_error", maxValue: 0.05, createdBy: owner });
  const rows = Array.from({ length: count }, (_, index) => ({
    id: `wh-alert-${crypto.randomUUID()}`,
    limitId,
    portfolioId,
    date: `2026-06-${String(10 + index).padStart(2, "0")}`,
    state: index % 2 === 0 ? ("breached" as const) : ("cleared" as const),
    metric: "tracking_error" as const,
    value: index % 2 === 0 ? 0.071 : 0.049,
    maxValue: 0.05,
    cause: "batch" as const,
  }));
  await db.insert(alerts).values(rows);
  return rows.map((row) => row.id);
}

async function register(
  who: { sub: string; org: string },
  body: { url: string; secret?: string; description?: string },
): Promise<CreatedWebhook> {
  return json<CreatedWebhook>(await call("/webhooks", who, { method: "POST", body }), 201);
}

/** A queue that records what is sent to it instead of delivering it. */
function recordingQueue() {
  const sent: WebhookMessage[] = [];
  const queue: Pick<Queue, "sendBatch"> = {
    async sendBatch(messages) {
      for (const message of messages) sent.push(message.body as WebhookMessage);
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
  };
  return { sent, env: { ...env, WEBHOOK_QUEUE: queue } };
}

/**
 * Delivers messages to worker.queue() as the webhook queue would, recording what the handler did
 * with each: acked, or retried with which delay (the plugin's getQueueResult does not keep delays).
 */
async function deliver(
  messages: { id: string; body: unknown; attempts?: number }[],
  overrides: Record<string, string> = {},
) {
  const explicitAcks: string[] = [];
  const retryMessages: { msgId: string; delaySeconds?: number }[] = [];
  const template = createMessageBatch<WebhookMessage>(webhookQueueName, []);
  const batch: MessageBatch<WebhookMessage> = {
    queue: template.queue,
    metadata: template.metadata,
    messages: messages.map((message) => ({
      id: message.id,
      timestamp: new Date(),
      attempts: message.attempts ?? 1,
      body: message.body as WebhookMessage,
      ack: () => explicitAcks.push(message.id),
      retry: (options?: QueueRetryOptions) =>
        retryMessages.push(
          options?.delaySeconds === undefined
            ? { msgId: message.id }
            : { msgId: message.id, delaySeconds: options.delaySeconds },
        ),
    })),
    ackAll: () => {
      throw new Error("the webhook consumer acks message by message");
    },
    retryAll: () => {
      throw new Error("the webhook consumer retries message by message");
    },
  };
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { explicitAcks, retryMessages };
}

async function deliveryRow(id: string) {
  const row = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
  if (!row) throw new Error(`no delivery ${id}`);
  return row;
}

/** As if the backoff had passed: the delivery is due now. */
async function makeDue(id: string): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: new Date(Date.now() - 1000).toISOString() })
    .where(eq(webhookDeliveries.id, id));
}

/** A webhook of a new tenant pointing at a fresh receiver key, one alert, and its scheduled message. */
async function oneDelivery(label: string, statuses: (number | "hang")[] = [200]) {
  const who = tenant(label);
  const key = crypto.randomUUID();
  await script(key, statuses);
  const hook = await register(who, { url: hookUrl(key) });
  const [alertId] = await alertsFor(who.org, who.sub, 1);
  const queue = recordingQueue();
  await scheduleAlertDeliveries(queue.env, [alertId ?? ""]);
  expect(queue.sent).toHaveLength(1);
  const message = queue.sent[0] as WebhookMessage;
  return { who, key, hook, alertId: alertId ?? "", message, deliveryId: message.deliveryId };
}

// ---- registration ---------------------------------------------------------------------------

describe("webhook registration", () => {
  it("shows a generated secret once: in the creation answer, never in the list or the detail", async () => {
    const who = tenant("reg");
    const response = await call("/webhooks", who, {
      method: "POST",
      body: { url: `${receiver}/hooks/reg`, description: "alerts to ops" },
    });
    expect(response.headers.get("location")).toMatch(/^\/api\/v1\/webhooks\/[0-9a-f-]{36}$/);
    const created = await json<CreatedWebhook>(response, 201);
    expect(created).toMatchObject({ org: who.org, url: `${receiver}/hooks/reg`, active: true, created_by: who.sub });
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const list = await call("/webhooks", who);
    const listText = await list.clone().text();
    expect((await json<{ webhooks: CreatedWebhook[] }>(list, 200)).webhooks.map((hook) => hook.id)).toEqual([
      created.id,
    ]);
    const detail = await call(`/webhooks/${created.id}`, who);
    const detailText = await detail.clone().text();
    expect(await json<CreatedWebhook>(detail, 200)).toMatchObject({ id: created.id, description: "alerts to ops" });
    for (const text of [listText, detailText]) {
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain('"secret"');
    }
    // A chosen secret is used as given.
    const chosen = await register(who, { url: `${receiver}/hooks/reg2`, secret: "a-chosen-secret-of-24-chars" });
    expect(chosen.secret).toBe("a-chosen-secret-of-24-chars");
    // Stored as given, never served: the row holds it for signing.
    const row = await db.select().from(webhooks).where(eq(webhooks.id, chosen.id)).get();
    expect(row?.secret).toBe("a-chosen-secret-of-24-chars");
  });

  it("refuses bad input with the field and the reason", async () => {
    const who = tenant("invalid");
    const cases: [unknown, string, RegExp][] = [
      [{}, "url", /url/],
      [{ url: "not a url" }, "url", /absolute URL/],
      [{ url: `${receiver}/hooks/x`, secret: "too-short" }, "secret", /at least 16 characters/],
      [{ url: `${receiver}/hooks/x`, secret: "has spaces in the secret" }, "secret", /printable ASCII/],
      [{ url: `${receiver}/hooks/x`, description: "x".repeat(1001) }, "description", /at most 1000/],
      [{ url: `${receiver}/hooks/x`, events: ["all"] }, "events", /unknown field/],
    ];
    for (const [body, path, message] of cases) {
      const error = await errorOf(await call("/webhooks", who, { method: "POST", body }), 400);
      expect(error.code, JSON.stringify(body)).toBe("VALIDATION_ERROR");
      expect(error.details).toContainEqual({ path, message: expect.stringMatching(message) });
    }
    expect(await db.select().from(webhooks).where(eq(webhooks.org, who.org))).toEqual([]);
  });

  it("refuses URLs the SSRF guard refuses with 422 and the reason, even in development", async () => {
    const who = tenant("ssrf");
    const cases: [string, RegExp][] = [
      ["ftp://hooks.example.com/x", /scheme must be http or https/],
      ["http://10.0.0.1/hook", /not a public address \(private network\)/],
      ["http://169.254.169.254/latest/meta-data/", /cloud metadata/],
      ["http://metadata.google.internal/computeMetadata/v1/", /metadata service name/],
      ["http://[::ffff:192.168.0.1]/", /private network/],
      ["http://2130706433/", /dotted decimal/],
      ["http://user:pass@127.0.0.1/", /credentials/],
      ["http://intranet/hook", /single-label/],
    ];
    for (const [url, reason] of cases) {
      const error = await errorOf(await call("/webhooks", who, { method: "POST", body: { url } }), 422);
      expect(error.code, url).toBe("URL_NOT_ALLOWED");
      expect(error.details, url).toEqual([{ path: "url", message: expect.stringMatching(reason) }]);
    }
    expect(await db.select().from(webhooks).where(eq(webhooks.org, who.org))).toEqual([]);
  });

  it("needs an org in the token, VIEW_ALL_POSITIONS and MANAGE_PORTFOLIOS", async () => {
    const who = tenant("access");
    const body = { url: `${receiver}/hooks/access` };
    const noOrg = await errorOf(await call("/webhooks", { sub: who.sub, org: null }, { method: "POST", body }), 403);
    expect(noOrg).toMatchObject({ code: "FORBIDDEN", details: { required: "org" } });
    expect(noOrg.message).toMatch(/no org claim/);
    const withoutView = allPermissions.filter((permission) => permission !== "VIEW_ALL_POSITIONS");
    const noView = await errorOf(
      await call("/webhooks", { ...who, permissions: withoutView }, { method: "POST", body }),
      403,
    );
    expect(noView.details).toEqual({ required: "VIEW_ALL_POSITIONS" });
    const withoutManage = allPermissions.filter((permission) => permission !== "MANAGE_PORTFOLIOS");
    const noManage = await errorOf(await call("/webhooks", { ...who, permissions: withoutManage }), 403);
    expect(noManage.details).toEqual({ required: "MANAGE_PORTFOLIOS" });
  });

  it("keeps each org's webhooks to itself: another org's is a 404 on every route", async () => {
    const owner = tenant("mine");
    const stranger = tenant("theirs");
    const hook = await register(owner, { url: `${receiver}/hooks/mine` });
    expect((await json<{ webhooks: unknown[] }>(await call("/webhooks", stranger), 200)).webhooks).toEqual([]);
    const attempts: [string, string, unknown?][] = [
      ["GET", `/webhooks/${hook.id}`],
      ["PATCH", `/webhooks/${hook.id}`, { description: "taken over" }],
      ["DELETE", `/webhooks/${hook.id}`],
      ["GET", `/webhooks/${hook.id}/deliveries`],
      ["POST", `/webhooks/${hook.id}/test`],
    ];
    for (const [method, path, body] of attempts) {
      const error = await errorOf(await call(path, stranger, { method, ...(body ? { body } : {}) }), 404);
      expect(error.message, `${method} ${path}`).toBe(`webhook ${hook.id} does not exist`);
    }
    expect((await received("mine")).length).toBe(0);
  });

  it("caps webhooks per org (MAX_WEBHOOKS_PER_ORG) with 409 naming the setting, writing nothing", async () => {
    const who = tenant("cap");
    const overrides = { MAX_WEBHOOKS_PER_ORG: "2" };
    for (const n of [1, 2])
      await json(await call("/webhooks", who, { method: "POST", body: { url: hookUrl(`cap-${n}`) }, overrides }), 201);
    const error = await errorOf(
      await call("/webhooks", who, { method: "POST", body: { url: hookUrl("cap-3") }, overrides }),
      409,
    );
    expect(error).toMatchObject({
      code: "QUOTA_EXCEEDED",
      details: [{ path: "", message: "the limit is 2 (MAX_WEBHOOKS_PER_ORG)" }],
    });
    expect(error.message).toMatch(/the org has 2 webhooks/);
    expect(await db.select().from(webhooks).where(eq(webhooks.org, who.org))).toHaveLength(2);
  });

  it("changes url, description and active; rotates the secret, shown in that answer only; deletes", async () => {
    const who = tenant("patch");
    const hook = await register(who, { url: hookUrl("patch") });
    const changed = await json<CreatedWebhook & { secret?: string }>(
      await call(`/webhooks/${hook.id}`, who, {
        method: "PATCH",
        body: { description: "paused", active: false, url: hookUrl("patch-2") },
      }),
      200,
    );
    expect(changed).toMatchObject({ description: "paused", active: false, url: hookUrl("patch-2") });
    expect(changed.secret).toBeUndefined();

    const rotated = await json<CreatedWebhook>(
      await call(`/webhooks/${hook.id}`, who, { method: "PATCH", body: { rotate_secret: true } }),
      200,
    );
    expect(rotated.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.secret).not.toBe(hook.secret);
    const after = await (await call(`/webhooks/${hook.id}`, who)).text();
    expect(after).not.toContain(rotated.secret);
    expect(after).not.toContain('"secret"');
    const chosen = await json<CreatedWebhook>(
      await call(`/webhooks/${hook.id}`, who, { method: "PATCH", body: { secret: "another-chosen-secret" } }),
      200,
    );
    expect(chosen.secret).toBe("another-chosen-secret");

    const both = await errorOf(
      await call(`/webhooks/${hook.id}`, who, {
        method: "PATCH",
        body: { rotate_secret: true, secret: "another-chosen-secret" },
      }),
      400,
    );
    expect(both.details).toContainEqual({ path: "secret", message: "give either rotate_secret or secret, not both" });
    const empty = await errorOf(await call(`/webhooks/${hook.id}`, who, { method: "PATCH", body: {} }), 400);
    expect(empty.details).toContainEqual({ path: "", message: expect.stringMatching(/at least one of/) });
    const refused = await errorOf(
      await call(`/webhooks/${hook.id}`, who, { method: "PATCH", body: { url: "http://192.168.1.10/" } }),
      422,
    );
    expect(refused.details).toEqual([{ path: "url", message: expect.stringMatching(/private network/) }]);

    const deleted = await call(`/webhooks/${hook.id}`, who, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    await errorOf(await call(`/webhooks/${hook.id}`, who), 404);
    await errorOf(await call(`/webhooks/${hook.id}`, who, { method: "DELETE" }), 404);
  });
});

// ---- deliveries -----------------------------------------------------------------------------

describe("alert deliveries", () => {
  it("delivers each alert once through the real queue, signed, however often it is scheduled", async () => {
    const who = tenant("e2e");
    const key = crypto.randomUUID();
    const hook = await register(who, { url: hookUrl(key) });
    // An inactive webhook of the same org gets nothing.
    const paused = await register(who, { url: hookUrl(`${key}-paused`) });
    await json(await call(`/webhooks/${paused.id}`, who, { method: "PATCH", body: { active: false } }), 200);
    const alertIds = await alertsFor(who.org, who.sub, 2);

    await scheduleAlertDeliveries(env, alertIds);
    const requests = await waitFor(
      () => received(key),
      (list) => list.length >= 2,
      "two deliveries",
    );
    await waitFor(
      () => db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id)),
      (rows) => rows.length === 2 && rows.every((row) => row.status === "delivered"),
      "both deliveries recorded as delivered",
    );
    // A redelivered batch message schedules the same alerts again: nothing more is queued or sent.
    await scheduleAlertDeliveries(env, alertIds);
    await scheduleAlertDeliveries(env, alertIds);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await received(key)).toHaveLength(2);
    expect(await received(`${key}-paused`)).toHaveLength(0);

    const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(rows.map((row) => row.attempts)).toEqual([1, 1]);
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, paused.id))).toEqual([]);
    for (const request of requests) {
      expect(request.method).toBe("POST");
      expectSigned(request, hook.secret);
      expect(
        await verifyFactorWebhook(
          hook.secret,
          request.headers["x-factor-timestamp"] ?? "",
          request.body,
          request.headers["x-factor-signature"] ?? "",
        ),
      ).toBe(true);
      expect(
        await verifyFactorWebhook(
          "not-the-secret-at-all",
          request.headers["x-factor-timestamp"] ?? "",
          request.body,
          request.headers["x-factor-signature"] ?? "",
        ),
      ).toBe(false);
      const body = JSON.parse(request.body) as {
        id: string;
        event: string;
        created_at: string;
        alert: Record<string, unknown>;
      };
      const row = rows.find((candidate) => candidate.id === body.id);
      expect(row, "the body's id is the delivery's").toBeDefined();
      expect(request.headers["x-factor-delivery"]).toBe(body.id);
      expect(request.headers["x-factor-event"]).toBe(body.event);
      expect(request.body).toBe(row?.body);
      expect(body.alert).toMatchObject({
        metric: "tracking_error",
        max_value: 0.05,
        min_value: null,
        factor_key: null,
        cause: "batch",
        portfolio_name: expect.stringMatching(/^Webhooks /),
      });
      expect(body.event).toBe(body.alert["state"] === "breached" ? "alert.raised" : "alert.cleared");
    }
    expect(new Set(requests.map((request) => JSON.parse(request.body).alert.id))).toEqual(new Set(alertIds));
  });

  it("delivers a breach raised again on its date (breached, cleared, breached) as a new delivery, once", async () => {
    const who = tenant("reraise");
    const key = crypto.randomUUID();
    await register(who, { url: hookUrl(key) });
    const portfolioId = `wh-portfolio-${crypto.randomUUID()}`;
    const limit = {
      id: `wh-limit-${crypto.randomUUID()}`,
      metric: "tracking_error" as const,
      factorKey: null,
      minValue: null,
      maxValue: 0.05,
    };
    await db
      .insert(portfolios)
      .values({ id: portfolioId, owner: who.sub, org: who.org, name: `Webhooks ${portfolioId}` });
    await db.insert(portfolioLimits).values({ ...limit, portfolioId, createdBy: who.sub });
    const date = "2026-06-15";
    // The recording statement the batch and the position refresh run (worker/alerts/evaluate.ts).
    const record = async (state: "breached" | "cleared", value: number): Promise<string> => {
      const [result] = await db.$client.batch(
        [recordAlertStatement({ limit, date, state, value, cause: "positions" })],
        "write",
      );
      const id = result?.rows[0]?.[0];
      if (typeof id !== "string") throw new Error(`no ${state} alert recorded`);
      return id;
    };
    const queue = recordingQueue();
    // One message at a time, in the order they were queued (a batch's messages run concurrently).
    const sendAll = async (from: number) => {
      for (const [index, body] of queue.sent.slice(from).entries()) await deliver([{ id: `m-${from + index}`, body }]);
    };

    const breached = await record("breached", 0.071);
    await scheduleAlertDeliveries(queue.env, [breached]);
    const cleared = await record("cleared", 0.049);
    await scheduleAlertDeliveries(queue.env, [cleared]);
    await sendAll(0);
    // Back over the bound on the same date: the date's breached row is raised again (same id).
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await record("breached", 0.08)).toBe(breached);
    await scheduleAlertDeliveries(queue.env, [breached]);
    await scheduleAlertDeliveries(queue.env, [breached]);
    await sendAll(2);

    const requests = await received(key);
    const events = requests.map((request) => {
      const body = JSON.parse(request.body) as { id: string; event: string; alert: { id: string; value: number } };
      return [body.event, body.alert.id, body.alert.value, request.headers["x-factor-delivery"] === body.id];
    });
    expect(events).toEqual([
      ["alert.raised", breached, 0.071, true],
      ["alert.cleared", cleared, 0.049, true],
      ["alert.raised", breached, 0.08, true],
    ]);
    const ids = requests.map((request) => request.headers["x-factor-delivery"]);
    expect(new Set(ids).size).toBe(3);
    const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.alertId, breached));
    expect(rows.map((row) => row.status)).toEqual(["delivered", "delivered"]);
    const [first, again] = [...rows].sort((a, b) => (a.alertCreatedAt < b.alertCreatedAt ? -1 : 1));
    expect(first?.alertCreatedAt).not.toBe(again?.alertCreatedAt);
    const stored = await db.select().from(alerts).where(eq(alerts.id, breached)).get();
    expect(again?.alertCreatedAt).toBe(stored?.createdAt);
  });

  it("sends once when a delivery's message comes twice at once (scheduled twice before either ran)", async () => {
    const who = tenant("dup");
    const key = crypto.randomUUID();
    await register(who, { url: hookUrl(key) });
    const [alertId] = await alertsFor(who.org, who.sub, 1);
    const queue = recordingQueue();
    await scheduleAlertDeliveries(queue.env, [alertId ?? ""]);
    await scheduleAlertDeliveries(queue.env, [alertId ?? ""]);
    // The second call inserted nothing but queued the never-attempted delivery again (a lost send is made up for).
    expect(queue.sent).toHaveLength(2);
    expect(queue.sent[0]).toEqual(queue.sent[1]);
    const result = await deliver([
      { id: "m-a", body: queue.sent[0] },
      { id: "m-b", body: queue.sent[1] },
    ]);
    expect(await received(key)).toHaveLength(1);
    // The loser either lost the claim (acked) or found the attempt in flight (put back until it has ended).
    expect(result.explicitAcks.length + result.retryMessages.length).toBe(2);
    expect(result.explicitAcks.length).toBeGreaterThanOrEqual(1);
    const deliveryId = (queue.sent[0] as WebhookMessage).deliveryId;
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: "delivered", attempts: 1 });
    const late = await deliver([{ id: "m-b", body: queue.sent[1], attempts: 2 }]);
    expect(late.explicitAcks).toEqual(["m-b"]);
    expect(await received(key)).toHaveLength(1);
  });

  it("retries a failed attempt with backoff (500, then 200), the same bytes, never again once delivered", async () => {
    const logs = captureLogs("webhook.attempt_failed");
    const { key, hook, message, deliveryId } = await oneDelivery("retry", [500, 200]);

    const first = await deliver([{ id: "m-1", body: message }]);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages).toEqual([{ msgId: "m-1", delaySeconds: 60 }]);
    const failed = await deliveryRow(deliveryId);
    expect(failed).toMatchObject({ status: "retrying", attempts: 1, lastStatusCode: 500, lastError: "answered 500" });
    expect(Date.parse(failed.nextAttemptAt ?? "") - Date.now()).toBeGreaterThan(50_000);
    expect(eventsOf(logs)).toEqual(["webhook.attempt_failed"]);

    // The queue redelivers early (or a duplicate message comes): it is put back for the rest of the wait, unsent.
    const early = await deliver([{ id: "m-1", body: message, attempts: 2 }]);
    expect(early.retryMessages).toEqual([{ msgId: "m-1", delaySeconds: expect.any(Number) }]);
    expect(early.retryMessages[0]?.delaySeconds).toBeGreaterThan(50);
    expect(await received(key)).toHaveLength(1);

    await makeDue(deliveryId);
    const second = await deliver([{ id: "m-1", body: message, attempts: 3 }]);
    expect(second.explicitAcks).toEqual(["m-1"]);
    expect(second.retryMessages).toEqual([]);
    const delivered = await deliveryRow(deliveryId);
    expect(delivered).toMatchObject({
      status: "delivered",
      attempts: 2,
      lastStatusCode: 200,
      lastError: null,
      nextAttemptAt: null,
    });
    expect(delivered.deliveredAt).not.toBeNull();

    const requests = await received(key);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.body).toBe(requests[1]?.body);
    for (const request of requests) {
      expectSigned(request, hook.secret);
      expect(request.headers["x-factor-delivery"]).toBe(deliveryId);
    }

    // The same message again, and the alert scheduled again: acked, nothing sent or queued.
    const again = await deliver([{ id: "m-1", body: message, attempts: 4 }]);
    expect(again.explicitAcks).toEqual(["m-1"]);
    const queue = recordingQueue();
    await scheduleAlertDeliveries(queue.env, [delivered.alertId]);
    expect(queue.sent).toEqual([]);
    expect(await received(key)).toHaveLength(2);
  });

  it("gives up after WEBHOOK_MAX_ATTEMPTS and records the delivery dead with the reason", async () => {
    const logs = captureLogs("webhook.attempt_failed", "webhook.delivery_dead");
    const { key, message, deliveryId } = await oneDelivery("dead", [500]);
    const overrides = { WEBHOOK_MAX_ATTEMPTS: "3" };
    const delays: (number | undefined)[] = [];
    for (const attempt of [1, 2]) {
      const result = await deliver([{ id: "m-dead", body: message, attempts: attempt }], overrides);
      delays.push(result.retryMessages[0]?.delaySeconds);
      await makeDue(deliveryId);
    }
    expect(delays).toEqual([60, 240]);
    const last = await deliver([{ id: "m-dead", body: message, attempts: 3 }], overrides);
    expect(last.explicitAcks).toEqual(["m-dead"]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: "dead",
      attempts: 3,
      lastStatusCode: 500,
      lastError: "gave up after 3 attempts: last attempt answered 500",
      nextAttemptAt: null,
      deliveredAt: null,
    });
    expect(eventsOf(logs)).toEqual(["webhook.attempt_failed", "webhook.attempt_failed", "webhook.delivery_dead"]);
    // Dead is final: a redelivered message sends nothing.
    await deliver([{ id: "m-dead", body: message, attempts: 4 }], overrides);
    expect(await received(key)).toHaveLength(3);
  });

  it("counts a receiver that does not answer in time as a failed attempt", async () => {
    const logs = captureLogs("webhook.attempt_failed");
    const { message, deliveryId } = await oneDelivery("timeout", ["hang"]);
    const started = Date.now();
    const result = await deliver([{ id: "m-slow", body: message }], { WEBHOOK_TIMEOUT_MS: "300" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.retryMessages).toEqual([{ msgId: "m-slow", delaySeconds: 60 }]);
    expect(await deliveryRow(deliveryId)).toMatchObject({
      status: "retrying",
      attempts: 1,
      lastStatusCode: null,
      lastError: "no answer within 300 ms",
    });
    expect(logs).toMatchObject([{ event: "webhook.attempt_failed", error: "no answer within 300 ms" }]);
  });

  it("marks a delivery dead, unsent, when its webhook was deactivated meanwhile; drops it when deleted", async () => {
    const logs = captureLogs("webhook.delivery_dead");
    const paused = await oneDelivery("deactivated");
    await json(
      await call(`/webhooks/${paused.hook.id}`, paused.who, { method: "PATCH", body: { active: false } }),
      200,
    );
    const result = await deliver([{ id: "m-paused", body: paused.message }]);
    expect(result.explicitAcks).toEqual(["m-paused"]);
    expect(await deliveryRow(paused.deliveryId)).toMatchObject({
      status: "dead",
      attempts: 0,
      lastError: "the webhook was deactivated before attempt 1; not sent",
    });
    expect(eventsOf(logs)).toEqual(["webhook.delivery_dead"]);
    expect(await received(paused.key)).toHaveLength(0);

    const removed = await oneDelivery("deleted");
    expect((await call(`/webhooks/${removed.hook.id}`, removed.who, { method: "DELETE" })).status).toBe(204);
    const gone = await deliver([{ id: "m-gone", body: removed.message }]);
    expect(gone.explicitAcks).toEqual(["m-gone"]);
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, removed.deliveryId))).toEqual([]);
    expect(await received(removed.key)).toHaveLength(0);
  });

  it("in production, checks the host's DNS before each attempt, failing the attempt with the reason", async () => {
    const logs = captureLogs("webhook.attempt_failed");
    const who = tenant("prod");
    const hookId = `wh-prod-${crypto.randomUUID()}`;
    // Registered when it resolved to a public address; inserted directly (production refuses the test tokens).
    await db.insert(webhooks).values({
      id: hookId,
      org: who.org,
      url: "https://hooks.example.net/factor",
      secret: "production-secret-0123456789",
      createdBy: who.sub,
    });
    const [alertId] = await alertsFor(who.org, who.sub, 1);
    const queue = recordingQueue();
    await scheduleAlertDeliveries(queue.env, [alertId ?? ""]);
    const message = queue.sent[0] as WebhookMessage;
    const called: string[] = [];
    const fetchSpy = async (input: string) => {
      called.push(input);
      return new Response(null, { status: 200 });
    };
    const config = webhookConfig({ ...env, ENVIRONMENT: "production" });
    expect(config.production).toBe(true);

    const rebound: Resolver = async (_name, type) => (type === "A" ? ["10.0.0.7"] : []);
    const refused = await processDeliveryMessage({ db, config, resolve: rebound, fetch: fetchSpy }, message);
    expect(refused).toEqual({ kind: "retry", outcome: "failed", delaySeconds: 60 });
    expect(await deliveryRow(message.deliveryId)).toMatchObject({
      status: "retrying",
      attempts: 1,
      lastStatusCode: null,
      lastError: "refused: hooks.example.net resolves to 10.0.0.7 (private network)",
    });

    await makeDue(message.deliveryId);
    const broken: Resolver = async () => {
      throw new Error("the DNS resolver did not answer within 5000 ms");
    };
    await processDeliveryMessage({ db, config, resolve: broken, fetch: fetchSpy }, message);
    expect((await deliveryRow(message.deliveryId)).lastError).toBe(
      "refused: could not resolve hooks.example.net: the DNS resolver did not answer within 5000 ms; try again later",
    );
    expect(called).toEqual([]);

    await makeDue(message.deliveryId);
    const publicAgain: Resolver = async (_name, type) => (type === "A" ? ["93.184.215.14"] : ["2606:2800:21f::1"]);
    const ok = await processDeliveryMessage({ db, config, resolve: publicAgain, fetch: fetchSpy }, message);
    expect(ok).toEqual({ kind: "ack", outcome: "delivered" });
    expect(called).toEqual(["https://hooks.example.net/factor"]);
    expect(await deliveryRow(message.deliveryId)).toMatchObject({ status: "delivered", attempts: 3 });
    expect(eventsOf(logs)).toEqual(["webhook.attempt_failed", "webhook.attempt_failed"]);
  });

  it("acks and retries each message on its own; drops a malformed one with a log line", async () => {
    const logs = captureLogs("webhook.attempt_failed", "webhook.message_invalid");
    const good = await oneDelivery("good", [204]);
    const bad = await oneDelivery("bad", [503]);
    const result = await deliver([
      { id: "m-good", body: good.message },
      { id: "m-bad", body: bad.message },
      { id: "m-junk", body: { type: "webhook.deliver" } },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["m-good", "m-junk"]);
    expect(result.retryMessages).toEqual([{ msgId: "m-bad", delaySeconds: 60 }]);
    expect((await deliveryRow(good.deliveryId)).status).toBe("delivered");
    expect(await deliveryRow(bad.deliveryId)).toMatchObject({ status: "retrying", lastStatusCode: 503 });
    expect(eventsOf(logs).sort()).toEqual(["webhook.attempt_failed", "webhook.message_invalid"]);
  });

  it("retries every message, sending nothing, when a webhook setting is invalid, and says which", async () => {
    const logs = captureLogs("webhook.config_invalid");
    const { key, message } = await oneDelivery("config");
    const result = await deliver([{ id: "m-config", body: message }], { WEBHOOK_MAX_ATTEMPTS: "many" });
    expect(result).toEqual({ explicitAcks: [], retryMessages: [{ msgId: "m-config", delaySeconds: 30 }] });
    expect(logs).toMatchObject([
      { event: "webhook.config_invalid", error: expect.stringMatching(/WEBHOOK_MAX_ATTEMPTS/) },
    ]);
    expect(await received(key)).toHaveLength(0);
  });

  it("schedules nothing for alerts of portfolios without an org, or of an org without active webhooks", async () => {
    const who = tenant("none");
    const personal = await alertsFor(null, who.sub, 1);
    const orgWithout = await alertsFor(who.org, who.sub, 1);
    const queue = recordingQueue();
    await scheduleAlertDeliveries(queue.env, [...personal, ...orgWithout, "no-such-alert"]);
    await scheduleAlertDeliveries(queue.env, []);
    expect(queue.sent).toEqual([]);
    expect(
      await db
        .select()
        .from(webhookDeliveries)
        .where(inArray(webhookDeliveries.alertId, [...personal, ...orgWithout])),
    ).toEqual([]);
  });
});

// ---- the delivery log and the ping -------------------------------------------------------------

describe("the delivery log", () => {
  it("lists a webhook's deliveries newest first, with attempts and errors, paged and filtered", async () => {
    const logs = captureLogs("webhook.attempt_failed");
    const who = tenant("log");
    const key = crypto.randomUUID();
    await script(key, [500, 200]);
    const hook = await register(who, { url: hookUrl(key) });
    const alertIds = await alertsFor(who.org, who.sub, 3);
    const queue = recordingQueue();
    // One alert at a time, so the deliveries' creation times order them.
    for (const alertId of alertIds) {
      await scheduleAlertDeliveries(queue.env, [alertId]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [oldest] = queue.sent;
    await deliver([{ id: "m-log", body: oldest }]);
    expect(eventsOf(logs)).toEqual(["webhook.attempt_failed"]);

    const page = await json<{ deliveries: DeliveryRow[]; next_cursor: string | null }>(
      await call(`/webhooks/${hook.id}/deliveries?limit=2`, who),
      200,
    );
    const ids = queue.sent.map((message) => message.deliveryId);
    expect(page.deliveries.map((row) => row.id)).toEqual([ids[2], ids[1]]);
    expect(page.next_cursor).toEqual(expect.any(String));
    const rest = await json<{ deliveries: DeliveryRow[]; next_cursor: string | null }>(
      await call(`/webhooks/${hook.id}/deliveries?limit=2&cursor=${page.next_cursor}`, who),
      200,
    );
    expect(rest.deliveries.map((row) => row.id)).toEqual([ids[0]]);
    expect(rest.next_cursor).toBeNull();
    expect(rest.deliveries[0]).toMatchObject({
      webhook_id: hook.id,
      alert_id: alertIds[0],
      event: "alert.raised",
      status: "retrying",
      attempts: 1,
      last_status_code: 500,
      last_error: "answered 500",
      delivered_at: null,
    });
    expect(rest.deliveries[0]?.next_attempt_at).toEqual(expect.any(String));

    const retrying = await call(`/webhooks/${hook.id}/deliveries?status=retrying`, who);
    const text = await retrying.clone().text();
    expect(text).not.toContain(hook.secret);
    expect(text).not.toContain('"body"');
    expect((await json<{ deliveries: DeliveryRow[] }>(retrying, 200)).deliveries.map((row) => row.id)).toEqual([
      ids[0],
    ]);

    const badStatus = await errorOf(await call(`/webhooks/${hook.id}/deliveries?status=failed`, who), 400);
    expect(badStatus.details).toEqual([{ path: "status", message: expect.stringMatching(/status must be one of/) }]);
    const badCursor = await errorOf(await call(`/webhooks/${hook.id}/deliveries?cursor=garbage`, who), 400);
    expect(badCursor.details).toEqual([{ path: "cursor", message: "cursor must be a next_cursor this API gave" }]);
    const badLimit = await errorOf(await call(`/webhooks/${hook.id}/deliveries?limit=0`, who), 400);
    expect(badLimit.details).toEqual([{ path: "limit", message: "limit must be a whole number from 1 to 100" }]);
  });

  it("sends a signed ping on request and reports the receiver's answer", async () => {
    const who = tenant("ping");
    const key = crypto.randomUUID();
    await script(key, [200, 500]);
    const hook = await register(who, { url: hookUrl(key) });
    const ok = await json<{ id: string; delivered: boolean; status_code: number | null; error: string | null }>(
      await call(`/webhooks/${hook.id}/test`, who, { method: "POST" }),
      200,
    );
    expect(ok).toMatchObject({ event: "ping", delivered: true, status_code: 200, error: null });
    const failing = await json(await call(`/webhooks/${hook.id}/test`, who, { method: "POST" }), 200);
    expect(failing).toMatchObject({ delivered: false, status_code: 500, error: "answered 500" });
    const [request] = await received(key);
    if (!request) throw new Error("the receiver got no ping");
    expectSigned(request, hook.secret);
    expect(request.headers["x-factor-event"]).toBe("ping");
    expect(request.headers["x-factor-delivery"]).toBe(ok.id);
    expect(JSON.parse(request.body)).toMatchObject({ id: ok.id, event: "ping", webhook_id: hook.id });
    // A ping is not a delivery.
    expect(
      await db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.webhookId, hook.id))),
    ).toEqual([]);
  });
});
