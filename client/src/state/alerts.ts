// Limit alerts across the dashboard (docs/dashboard.md, "Alerts"): the navigation's count of
// unacknowledged ongoing breaches (GET /alerts/summary), the live subscriptions that bring
// `alert.raised` / `alert.cleared`, and the toasts they show.
//
// Which portfolios: the live hub sends alerts to a portfolio's subscribers (docs/live.md), so this
// module subscribes the shared connection to every visible portfolio that has limits — the summary
// lists them — whatever page is open; a page's own subscriptions add to these. The summary is read
// again after an alert arrives, after a reconnect (`welcome`: alerts missed while away are not
// replayed, the API has them), after a batch completes (others may have added limits) and when a
// page changes limits or acknowledges an alert (`refreshAlerts`).
import { signal } from "@preact/signals";
import type { AlertSummaryResponse } from "../../../.types/worker/api/limits";
import type { AlertMessage } from "../../../worker/realtime/messages.ts";
import { api, unwrap } from "../api/client.ts";
import { alertText } from "../lib/limit-view.ts";
import { onLive, subscribePortfolio } from "./live.ts";
import { can, session } from "./session.ts";

export const alertSummary = signal<AlertSummaryResponse | null>(null);

export interface Toast {
  id: string;
  tone: "bad" | "good";
  title: string;
  body: string;
  portfolioId: string;
  portfolioName: string | null;
}

export const toasts = signal<readonly Toast[]>([]);
/** At most this many toasts at once: a burst (a history run's dates) keeps the newest. */
const maxToasts = 4;
const refreshDelayMs = 400;

const subscriptions = new Map<string, () => void>();
const names = new Map<string, string>();
let stopListening: (() => void) | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let generation = 0;
/** Reads of the summary in the order they were sent: an older answer arriving late is dropped. */
let reads = 0;

async function loadSummary(): Promise<void> {
  const mine = generation;
  const read = ++reads;
  try {
    const [summary, portfolios] = await Promise.all([unwrap(api.alerts.summary.$get()), unwrap(api.portfolios.$get())]);
    if (mine !== generation || read !== reads) return;
    for (const portfolio of portfolios.portfolios) names.set(portfolio.id, portfolio.name);
    alertSummary.value = summary;
    const wanted = new Set(summary.portfolios_with_limits);
    for (const [id, unsubscribe] of subscriptions)
      if (!wanted.has(id)) {
        unsubscribe();
        subscriptions.delete(id);
      }
    for (const id of wanted) if (!subscriptions.has(id)) subscriptions.set(id, subscribePortfolio(id));
  } catch (error) {
    // The badge keeps its last count; the next refresh tries again.
    console.warn(`alerts: the summary could not be read (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Reads the summary again soon (a burst of calls is one read). */
export function refreshAlerts(): void {
  if (!session.value || !can("VIEW_FACTOR_ANALYTICS")) return;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void loadSummary();
  }, refreshDelayMs);
}

export function dismissToast(id: string): void {
  toasts.value = toasts.value.filter((toast) => toast.id !== id);
}

function showAlert(message: AlertMessage): void {
  const text = alertText(message);
  const toast: Toast = {
    id: `${message.alert_id}:${message.created_at}`,
    tone: message.type === "alert.raised" ? "bad" : "good",
    title: text.title,
    body: text.body,
    portfolioId: message.portfolio_id,
    portfolioName: names.get(message.portfolio_id) ?? null,
  };
  // The same alert raised again (a same-date flip-flop) replaces its toast.
  toasts.value = [...toasts.value.filter((existing) => existing.id !== toast.id), toast].slice(-maxToasts);
}

function start(): void {
  stopListening = onLive((message) => {
    if (message.type === "alert.raised" || message.type === "alert.cleared") {
      showAlert(message);
      refreshAlerts();
    } else if (message.type === "welcome" || message.type === "batch.completed") refreshAlerts();
  });
  void loadSummary();
}

function stop(): void {
  generation += 1;
  stopListening?.();
  stopListening = null;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  for (const unsubscribe of subscriptions.values()) unsubscribe();
  subscriptions.clear();
  names.clear();
  alertSummary.value = null;
  toasts.value = [];
}

/** Starts following alerts after sign-in (with VIEW_FACTOR_ANALYTICS), stops after sign-out. */
export function syncAlertsWithSession(): void {
  const active = session.value !== null && can("VIEW_FACTOR_ANALYTICS");
  if (active && stopListening === null) start();
  else if (!active && stopListening !== null) stop();
}
