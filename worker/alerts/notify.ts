// What happens once alerts are written (docs/design.md §11, "Limits and alerts"): called exactly once
// per batch of newly written alerts, after their rows are committed, by the evaluation that wrote
// them (the portfolio phase, in the batch and in a position change's refresh, and a limit's create or
// edit). It pushes them live to the portfolio's subscribers (`alert.raised`, `alert.cleared`) and is
// where webhook deliveries start. A failure here never undoes the alerts: they are stored, the
// dashboard reads them from the API, and the failure is logged.
import { env as workerEnv } from "cloudflare:workers";
import { describeError, logEvent } from "../log.ts";
import { liveHub } from "../realtime/live-hub.ts";
import type { AlertMessage } from "../realtime/messages.ts";
import { hubsOfPortfolios } from "../realtime/publish.ts";
import { getDatabase } from "../db/client.ts";
import { scheduleAlertDeliveries } from "../webhooks/deliveries.ts";
import { type AlertRow, installAlertNotifier } from "./evaluate.ts";

/**
 * An alert row as its live message; null for a row without a value, which the evaluation never
 * writes (a missing number raises and clears nothing) and the message cannot carry.
 */
export function alertMessageOf(alert: AlertRow): AlertMessage | null {
  if (alert.value === null) return null;
  return {
    type: alert.state === "breached" ? "alert.raised" : "alert.cleared",
    portfolio_id: alert.portfolioId,
    alert_id: alert.id,
    limit_id: alert.limitId,
    metric: alert.metric,
    factor_key: alert.factorKey,
    value: alert.value,
    min_value: alert.minValue,
    max_value: alert.maxValue,
    date: alert.date,
    cause: alert.cause,
    created_at: alert.createdAt,
  };
}

/** Pushes newly written alerts live and starts their deliveries; never throws. */
export async function notifyAlerts(env: Env, written: readonly AlertRow[]): Promise<void> {
  if (written.length === 0) return;
  try {
    const messages = written.flatMap((alert) => alertMessageOf(alert) ?? []);
    const hubs = await hubsOfPortfolios(getDatabase(env), [...new Set(written.map((alert) => alert.portfolioId))]);
    const byHub = new Map<string, AlertMessage[]>();
    for (const message of messages) {
      const hub = hubs.get(message.portfolio_id);
      if (hub) byHub.set(hub, [...(byHub.get(hub) ?? []), message]);
    }
    let delivered = 0;
    for (const [hub, list] of byHub) delivered += (await liveHub(env, hub).publishAlerts(list)).delivered;
    logEvent("info", "alerts.published", {
      alerts: written.map((alert) => `${alert.id}:${alert.state}`),
      sockets: delivered,
    });
  } catch (error) {
    logEvent("error", "alerts.publish_failed", {
      alerts: written.map((alert) => alert.id),
      error: describeError(error),
    });
  }
  // Webhook deliveries, after the live push and whatever it did, so a hub that is down does not
  // stop them. Scheduling is safe to call again (one delivery per webhook and alert).
  try {
    await scheduleAlertDeliveries(
      env,
      written.map((alert) => alert.id),
    );
  } catch (error) {
    logEvent("error", "alerts.webhooks_failed", {
      alerts: written.map((alert) => alert.id),
      error: describeError(error),
    });
  }
}

// The portfolio phase's alerts (the batch, a position change's refresh) are pushed with the Worker's
// own env: the phase runs without one and cannot import this module (./evaluate.ts). Installed when
// the Worker loads this module (worker/index.ts → routes/limits.ts).
installAlertNotifier((written) => notifyAlerts(workerEnv, written));
