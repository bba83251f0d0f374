// The one live connection every page shares (docs/design.md §9): a ticket from the API, then
// the WebSocket upgrade; subscriptions by portfolio, each remembering the last sequence number
// seen so a reconnect resumes exactly where it left off (or is told to `resync`); reconnects
// with exponential backoff and jitter; a heartbeat that notices a silent connection.
// Pages subscribe with `useLiveExposures`/`onLive` and get messages already validated by the
// shared schemas (worker/realtime/messages.ts).
import { signal } from "@preact/signals";
import {
  parseMessage,
  pingMessage,
  pongMessage,
  serverMessage,
  type ClientMessage,
  type ServerMessage,
} from "../../../worker/realtime/messages.ts";
import { api, unwrap } from "../api/client.ts";
import { reconnectDelayMs } from "../lib/backoff.ts";
import { session } from "./session.ts";

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "offline";

export const connectionState = signal<ConnectionState>("idle");
/** When the next reconnect attempt happens (for the status pill), or null. */
export const nextAttemptAt = signal<number | null>(null);
export const lastError = signal<string | null>(null);

type Listener = (message: ServerMessage) => void;

const listeners = new Set<Listener>();
/** Portfolio → how many subscribers want it. */
const wanted = new Map<string, number>();
/** Portfolio → the last sequence number received (resumes after a reconnect). */
const lastSeq = new Map<string, number>();

let socket: WebSocket | null = null;
let attempt = 0;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let heartbeatTimer: ReturnType<typeof setInterval> | null = null;
let lastHeard = 0;
let generation = 0;

const heartbeatMs = 25_000;
const silentLimitMs = 60_000;

function send(message: ClientMessage): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function subscribeMessage(portfolioId: string): ClientMessage {
  const seq = lastSeq.get(portfolioId);
  return seq === undefined
    ? { type: "subscribe", portfolio_id: portfolioId }
    : { type: "subscribe", portfolio_id: portfolioId, last_seq: seq };
}

function dispatch(message: ServerMessage): void {
  if (message.type === "exposures.updated") lastSeq.set(message.portfolio_id, message.seq);
  if (message.type === "subscribed") {
    // The hub's current sequence: what a later resume continues from (after replays arrived).
    const seen = lastSeq.get(message.portfolio_id);
    if (seen === undefined || seen < message.seq) lastSeq.set(message.portfolio_id, message.seq);
  }
  if (message.type === "resync") lastSeq.set(message.portfolio_id, message.seq);
  for (const listener of listeners) listener(message);
}

function clearTimers(): void {
  if (retryTimer) clearTimeout(retryTimer);
  if (heartbeatTimer) clearInterval(heartbeatTimer);
  retryTimer = null;
  heartbeatTimer = null;
}

function scheduleReconnect(reason: string): void {
  clearTimers();
  socket = null;
  if (!session.value) {
    connectionState.value = "idle";
    return;
  }
  attempt += 1;
  lastError.value = reason;
  const delay = reconnectDelayMs(attempt);
  connectionState.value = navigator.onLine ? "reconnecting" : "offline";
  nextAttemptAt.value = Date.now() + delay;
  retryTimer = setTimeout(() => void connect(), delay);
}

async function connect(): Promise<void> {
  clearTimers();
  if (!session.value) return;
  const mine = ++generation;
  connectionState.value = attempt === 0 ? "connecting" : "reconnecting";
  nextAttemptAt.value = null;
  let url: string;
  try {
    const ticket = await unwrap(api.live.ticket.$post());
    url = ticket.url;
  } catch (error) {
    if (mine === generation) scheduleReconnect(`no ticket: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  if (mine !== generation || !session.value) return;
  const ws = new WebSocket(new URL(url, location.href).toString().replace(/^http/, "ws"));
  socket = ws;
  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    attempt = 0;
    lastError.value = null;
    connectionState.value = "open";
    lastHeard = Date.now();
    for (const portfolioId of wanted.keys()) send(subscribeMessage(portfolioId));
    heartbeatTimer = setInterval(() => {
      if (Date.now() - lastHeard > silentLimitMs) {
        ws.close(4000, "heartbeat timeout");
        return;
      }
      ws.send(pingMessage);
    }, heartbeatMs);
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws) return;
    lastHeard = Date.now();
    const text = typeof event.data === "string" ? event.data : "";
    if (text === pongMessage) return;
    const parsed = parseMessage(serverMessage, text);
    if (parsed.ok) dispatch(parsed.message);
    else console.warn(`live: ignored a message (${parsed.reason})`);
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    scheduleReconnect(event.reason || `closed (${event.code})`);
  });
  ws.addEventListener("error", () => {
    // A close event follows; it schedules the reconnect.
  });
}

/** Starts the connection (after sign-in) or stops it (after sign-out). */
export function syncConnectionWithSession(): void {
  if (session.value && !socket && !retryTimer && connectionState.value !== "connecting") {
    attempt = 0;
    void connect();
  } else if (!session.value) {
    generation += 1;
    clearTimers();
    socket?.close(1000, "signed out");
    socket = null;
    lastSeq.clear();
    connectionState.value = "idle";
  }
}

/** Reconnects now (the status pill's button), skipping the backoff wait. */
export function reconnectNow(): void {
  if (!session.value) return;
  generation += 1;
  clearTimers();
  const old = socket;
  socket = null;
  old?.close(1000, "reconnecting");
  void connect();
}

/** Listens to every server message; returns the function that stops listening. */
export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Subscribes to a portfolio's updates while the returned function is not called. */
export function subscribePortfolio(portfolioId: string): () => void {
  const count = wanted.get(portfolioId) ?? 0;
  wanted.set(portfolioId, count + 1);
  if (count === 0) send(subscribeMessage(portfolioId));
  return () => {
    const remaining = (wanted.get(portfolioId) ?? 1) - 1;
    if (remaining > 0) {
      wanted.set(portfolioId, remaining);
      return;
    }
    wanted.delete(portfolioId);
    send({ type: "unsubscribe", portfolio_id: portfolioId });
  };
}

if (typeof window !== "undefined") {
  window.addEventListener("online", () => {
    if (connectionState.value === "offline" || connectionState.value === "reconnecting") reconnectNow();
  });
}
