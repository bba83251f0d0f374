// Composition root: wires the Hono app, the cron and queue handlers, and exports the
// Durable Object classes. Logic lives in the modules it imports.
import { Hono } from "hono";
import { limitAuthFailures } from "./auth/guard.ts";
import { batchConfig } from "./batch/config.ts";
import { handleBatchQueue } from "./batch/consumer.ts";
import type { BatchMessage } from "./batch/messages.ts";
import { startScheduledRun } from "./batch/runs.ts";
import { sweepOnCron } from "./batch/sweep.ts";
import { getDatabase } from "./db/client.ts";
import { handleError, handleNotFound } from "./http/errors.ts";
import { apiSecurityHeaders } from "./http/security-headers.ts";
import { adminRoutes } from "./routes/admin.ts";
import { factorRoutes } from "./routes/factors.ts";
import { healthRoutes } from "./routes/health.ts";
import { hedgeRoutes } from "./routes/hedge.ts";
import { alertRoutes, limitRoutes } from "./routes/limits.ts";
import { liveRoutes } from "./routes/live.ts";
import { metaRoutes } from "./routes/meta.ts";
import { portfolioRiskRoutes, stressEpisodeRoutes } from "./routes/portfolio-risk.ts";
import { portfolioRoutes } from "./routes/portfolios.ts";
import { riskRoutes } from "./routes/risk.ts";
import { stressRoutes } from "./routes/stress.ts";
import { whatIfRoutes } from "./routes/what-if.ts";
import { sectorRoutes, symbolRoutes } from "./routes/symbols.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { handleWebhookQueue } from "./webhooks/consumer.ts";
import { webhookQueueName, type WebhookMessage } from "./webhooks/messages.ts";

export { LiveHub } from "./realtime/live-hub.ts";

// Every route's permission is declared in worker/api/contract.ts; each sub-app's routes start
// with that table's guard. Around them all, outermost first: the security headers (every answer,
// errors and 404s included) and the budget of refused (401/403) requests per client address.
const api = new Hono<{ Bindings: Env }>()
  .basePath("/api/v1")
  .use("*", apiSecurityHeaders)
  .use("*", limitAuthFailures)
  .route("/health", healthRoutes)
  .route("/", metaRoutes)
  .route("/data/symbols", symbolRoutes)
  .route("/data/sectors", sectorRoutes)
  .route("/factors", factorRoutes)
  .route("/risk", riskRoutes)
  .route("/portfolios", portfolioRoutes)
  .route("/portfolios", portfolioRiskRoutes)
  .route("/portfolios", limitRoutes)
  .route("/alerts", alertRoutes)
  .route("/portfolios", hedgeRoutes)
  .route("/stress", stressRoutes)
  .route("/stress/episodes", stressEpisodeRoutes)
  .route("/what-if", whatIfRoutes)
  .route("/live", liveRoutes)
  .route("/webhooks", webhookRoutes)
  .route("/admin", adminRoutes);
api.onError(handleError);
api.notFound(handleNotFound);

/** The typed API surface for `hono/client`. */
export type AppType = typeof api;
/** The Hono app itself, for tests that walk its routes. */
export { api as app };

export default {
  fetch: api.fetch,

  async scheduled(controller, env, _ctx) {
    const db = getDatabase(env);
    // Every tick first re-enqueues the work of stalled runs (./batch/sweep.ts; never throws).
    await sweepOnCron(env, db);
    await startScheduledRun(db, env.BATCH_QUEUE, controller.scheduledTime, batchConfig(env).catchUpDays);
  },

  async queue(batch, env, _ctx) {
    // Webhook deliveries have a queue of their own (wrangler.toml): a slow receiver never holds a batch chunk.
    if (batch.queue === webhookQueueName) await handleWebhookQueue(batch, env, getDatabase(env));
    else await handleBatchQueue(batch, env, getDatabase(env));
  },
} satisfies ExportedHandler<Env, BatchMessage | WebhookMessage>;
