// Org webhooks' shapes and routes (docs/api.md, "Webhooks"): registration, the delivery log and
// a signed test ping. The routes join the route table (worker/api/contract.ts) from here.
//
// Every webhook route needs MANAGE_PORTFOLIOS (the table's permission, checked by the guard) and,
// in the handler, an org in the token and VIEW_ALL_POSITIONS: a webhook receives the alerts of
// every portfolio of the org, so only a caller who may read those portfolios may point one anywhere.
import { z } from "zod";
import { webhookDeliveryStatuses } from "../../schema/index.ts";
import type { RouteContract } from "./contract.ts";
import { descriptionField, idField, plainText, queryInteger } from "./fields.ts";

/** Shortest secret a caller may choose: HMAC keys much shorter than this are guessable. */
export const minWebhookSecretLength = 16;
export const maxWebhookSecretLength = 256;

const urlField = plainText("url", { max: 2048 })
  .refine((value) => URL.canParse(value), {
    error: (issue) =>
      `url must be an absolute URL such as https://hooks.example.com/factor, got ${JSON.stringify(issue.input)}`,
    when: (payload) => payload.issues.length === 0,
  })
  .meta({ description: "Where alerts are POSTed. Production: https, default port, a public host (see docs/api.md)." });

const secretField = z
  .string({ error: "secret must be a string" })
  .min(minWebhookSecretLength, { error: `secret must be at least ${minWebhookSecretLength} characters` })
  .max(maxWebhookSecretLength, { error: `secret must be at most ${maxWebhookSecretLength} characters` })
  .regex(/^[\x21-\x7e]+$/, { error: "secret must be printable ASCII without spaces" })
  .meta({ description: "The HMAC key (default: 32 random bytes, base64url). Shown in this answer only." });

export const webhookCreateSchema = z
  .strictObject({
    url: urlField,
    secret: secretField.optional(),
    description: descriptionField.optional(),
  })
  .meta({ id: "WebhookCreate" });

export const webhookUpdateSchema = z
  .strictObject({
    url: urlField.optional(),
    description: descriptionField.optional(),
    active: z.boolean({ error: "active must be true or false" }).optional(),
    rotate_secret: z
      .boolean({ error: "rotate_secret must be true or false" })
      .optional()
      .meta({ description: "true: a new generated secret, shown in this answer only." }),
    secret: secretField.optional().meta({ description: "A new secret of the caller's choosing." }),
  })
  .refine((body) => Object.keys(body).length > 0, {
    message: "give at least one of url, description, active, rotate_secret, secret",
  })
  .refine((body) => !(body.rotate_secret === true && body.secret !== undefined), {
    message: "give either rotate_secret or secret, not both",
    path: ["secret"],
  })
  .meta({ id: "WebhookUpdate" });

export const webhookParamsSchema = z.strictObject({ id: idField("id") });

export const webhookDeliveryListQuerySchema = z.strictObject({
  status: z
    .enum(webhookDeliveryStatuses, { error: `status must be one of ${webhookDeliveryStatuses.join(", ")}` })
    .optional(),
  limit: queryInteger("limit", 1, 100).optional().meta({ description: "Deliveries per page (default 20)." }),
  cursor: plainText("cursor", { max: 200, trim: false })
    .optional()
    .meta({ description: "`next_cursor` of the previous page." }),
});

export const webhookSchema = z
  .object({
    id: z.string(),
    org: z.string(),
    url: z.string(),
    description: z.string(),
    active: z.boolean(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Webhook" });
export type WebhookResponse = z.output<typeof webhookSchema>;

export const webhookWithSecretSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: "The HMAC key: shown in this answer only, never again." }) })
  .meta({ id: "WebhookWithSecret" });

export const webhookUpdatedSchema = webhookSchema
  .extend({ secret: z.string().optional().meta({ description: "Present when the secret was changed: shown once." }) })
  .meta({ id: "WebhookUpdated" });

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) }).meta({ id: "WebhookList" });

export const webhookDeliverySchema = z
  .object({
    id: z.string(),
    webhook_id: z.string(),
    alert_id: z.string(),
    event: z.enum(["alert.raised", "alert.cleared"]),
    status: z.enum(webhookDeliveryStatuses),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDeliveryResponse = z.output<typeof webhookDeliverySchema>;

export const webhookDeliveryListSchema = z
  .object({ deliveries: z.array(webhookDeliverySchema), next_cursor: z.string().nullable() })
  .meta({ id: "WebhookDeliveryList" });

export const webhookTestResultSchema = z
  .object({
    id: z.string(),
    event: z.literal("ping"),
    delivered: z.boolean(),
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number(),
  })
  .meta({ id: "WebhookTestResult" });
export type WebhookTestResult = z.output<typeof webhookTestResultSchema>;

const access = "Needs MANAGE_PORTFOLIOS, VIEW_ALL_POSITIONS and an org in the token.";

export const webhookRoutes = {
  listWebhooks: {
    method: "get",
    path: "/webhooks",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    summary: `The caller's org's webhooks, without their secrets. ${access}`,
    response: webhookListSchema,
  },
  createWebhook: {
    method: "post",
    path: "/webhooks",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    status: 201,
    errors: [409, 422],
    summary:
      "Register a webhook for the org's alerts; the answer shows its secret, once. 409 over the org's cap; 422 " +
      `(URL_NOT_ALLOWED) for a URL the SSRF guard refuses, with the reason. ${access}`,
    body: webhookCreateSchema,
    response: webhookWithSecretSchema,
  },
  getWebhook: {
    method: "get",
    path: "/webhooks/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    summary: `One of the org's webhooks, without its secret. ${access}`,
    params: webhookParamsSchema,
    response: webhookSchema,
  },
  updateWebhook: {
    method: "patch",
    path: "/webhooks/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    errors: [422],
    summary:
      "Change a webhook's url, description or active flag, or its secret (rotate_secret, or secret): a new secret " +
      `is shown in this answer only. 422 for a refused URL. ${access}`,
    params: webhookParamsSchema,
    body: webhookUpdateSchema,
    response: webhookUpdatedSchema,
  },
  deleteWebhook: {
    method: "delete",
    path: "/webhooks/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    status: 204,
    summary: `Delete a webhook with its delivery log; pending deliveries are dropped. ${access}`,
    params: webhookParamsSchema,
  },
  listWebhookDeliveries: {
    method: "get",
    path: "/webhooks/:id/deliveries",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    summary: `A webhook's deliveries, newest first: status, attempts, last status code and error, times. ${access}`,
    params: webhookParamsSchema,
    query: webhookDeliveryListQuerySchema,
    response: webhookDeliveryListSchema,
  },
  testWebhook: {
    method: "post",
    path: "/webhooks/:id/test",
    permission: "MANAGE_PORTFOLIOS",
    tag: "webhooks",
    summary: `Send a signed ping now and report the receiver's answer (not retried, not in the log). ${access}`,
    params: webhookParamsSchema,
    response: webhookTestResultSchema,
  },
} as const satisfies Record<string, RouteContract>;
