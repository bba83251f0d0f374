// The live benchmark's WebSocket clients (scripts/bench-live.ts): each one asks for a ticket
// with its own bearer token, opens the live socket with an allowed Origin (Node's global
// WebSocket, undici, sets headers), waits for `welcome`, subscribes to one portfolio and
// waits for `subscribed`; then it records every message it receives with the wall-clock time
// of receipt (Date.now(), the clock the database's timestamps use) and the raw text, parsed
// only as far as routing needs (type, portfolio, seq, cause): full validation happens after
// the measurement, so that the receiving loop does as little as possible per message.
// Heartbeats: `{"type":"ping"}` every `heartbeat_seconds` from the welcome, pongs counted.
import { pingMessage, pongMessage } from "../../worker/realtime/messages.ts";

export interface ClientSpec {
  index: number;
  sub: string;
  token: string;
  portfolioId: string;
}

export interface Receipt {
  /** Date.now() when the message event ran. */
  at: number;
  text: string;
  type: string;
  portfolioId: string | null;
  seq: number | null;
  cause: string | null;
}

export interface ConnectTimings {
  /** POST /live/ticket. */
  ticketMs: number;
  /** The upgrade: from opening the socket to `welcome`. */
  welcomeMs: number;
  /** `subscribe` to `subscribed`. */
  subscribeMs: number;
  totalMs: number;
}

interface Waiter {
  match: (receipt: Receipt) => boolean;
  resolve: (receipt: Receipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class LiveClient {
  readonly spec: ClientSpec;
  inbox: Receipt[] = [];
  subscribedSeq: number | null = null;
  heartbeatSeconds = 25;
  pingsSent = 0;
  pongs = 0;
  lastPingAt = 0;
  closed: { code: number; reason: string; at: number } | null = null;
  timings: ConnectTimings | null = null;
  #ws: WebSocket | null = null;
  #waiters: Waiter[] = [];
  #closeWaiters: (() => void)[] = [];

  constructor(spec: ClientSpec) {
    this.spec = spec;
  }

  get open(): boolean {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Ticket, socket, welcome, subscribe, subscribed; throws with the reason on any failure. */
  async connect(base: string, origin: string, timeoutMs: number): Promise<ConnectTimings> {
    const started = performance.now();
    const response = await fetch(`${base}/api/v1/live/ticket`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.spec.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`POST /api/v1/live/ticket answered ${response.status}: ${text.slice(0, 300)}`);
    const { url } = JSON.parse(text) as { url: string };
    const ticketed = performance.now();

    const ws = new WebSocket(`${base.replace(/^http/, "ws")}${url}`, { headers: { Origin: origin } });
    this.#ws = ws;
    ws.addEventListener("message", (event) => this.#receive(event.data));
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason, at: Date.now() };
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`the socket closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`));
      }
      for (const resolve of this.#closeWaiters.splice(0)) resolve();
    });
    // An error is followed by a close event, which rejects the waiters.
    ws.addEventListener("error", () => {});
    const welcome = await this.#waitFor((receipt) => receipt.type === "welcome", timeoutMs, "welcome");
    const welcomed = performance.now();
    const heartbeat = (JSON.parse(welcome.text) as { heartbeat_seconds?: unknown }).heartbeat_seconds;
    if (typeof heartbeat === "number" && heartbeat > 0) this.heartbeatSeconds = heartbeat;
    this.lastPingAt = Date.now();

    const portfolioId = this.spec.portfolioId;
    const answered = this.#waitFor(
      (receipt) => (receipt.type === "subscribed" || receipt.type === "error") && receipt.portfolioId === portfolioId,
      timeoutMs,
      "subscribed",
    );
    ws.send(JSON.stringify({ type: "subscribe", portfolio_id: portfolioId }));
    const answer = await answered;
    if (answer.type !== "subscribed" || answer.seq === null)
      throw new Error(`subscribe ${portfolioId} was answered ${answer.text}`);
    this.subscribedSeq = answer.seq;
    const done = performance.now();
    this.timings = {
      ticketMs: ticketed - started,
      welcomeMs: welcomed - ticketed,
      subscribeMs: done - welcomed,
      totalMs: done - started,
    };
    return this.timings;
  }

  /** Sends a ping when the last one is `heartbeat_seconds` old. */
  heartbeat(now: number): void {
    if (!this.open || now - this.lastPingAt < this.heartbeatSeconds * 1_000) return;
    this.lastPingAt = now;
    this.pingsSent++;
    this.#ws?.send(pingMessage);
  }

  /** Closes with 1000 and waits for the close event (at most `timeoutMs`); true when it came. */
  async close(timeoutMs: number): Promise<boolean> {
    const ws = this.#ws;
    if (ws === null || this.closed !== null) return this.closed !== null;
    const closedEvent = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    try {
      ws.close(1000, "benchmark done");
    } catch {
      // already closing
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([closedEvent, timedOut]);
    clearTimeout(timer);
    return this.closed !== null;
  }

  #receive(data: unknown): void {
    const at = Date.now();
    if (typeof data !== "string") {
      this.inbox.push({ at, text: "(binary)", type: "(binary)", portfolioId: null, seq: null, cause: null });
      return;
    }
    if (data === pongMessage) {
      this.pongs++;
      return;
    }
    let type = "(not JSON)";
    let portfolioId: string | null = null;
    let seq: number | null = null;
    let cause: string | null = null;
    try {
      const value = JSON.parse(data) as { type?: unknown; portfolio_id?: unknown; seq?: unknown; cause?: unknown };
      type = typeof value.type === "string" ? value.type : "(no type)";
      portfolioId = typeof value.portfolio_id === "string" ? value.portfolio_id : null;
      seq = typeof value.seq === "number" ? value.seq : null;
      cause = typeof value.cause === "string" ? value.cause : null;
    } catch {
      // kept as "(not JSON)"
    }
    const receipt: Receipt = { at, text: data, type, portfolioId, seq, cause };
    this.inbox.push(receipt);
    const index = this.#waiters.findIndex((waiter) => waiter.match(receipt));
    if (index >= 0) {
      for (const waiter of this.#waiters.splice(index, 1)) {
        clearTimeout(waiter.timer);
        waiter.resolve(receipt);
      }
    }
  }

  #waitFor(match: (receipt: Receipt) => boolean, timeoutMs: number, what: string): Promise<Receipt> {
    const seen = this.inbox.find(match);
    if (seen) return Promise.resolve(seen);
    if (this.closed) return Promise.reject(new Error(`the socket closed (${this.closed.code}) before ${what}`));
    return new Promise<Receipt>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`no ${what} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }
}

/** Runs `task` over `items`, at most `limit` at a time; the settled results in order. */
export async function settleWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  // One iterator shared by the workers: each takes the next item when it is free.
  const queue = items.entries();
  const worker = async () => {
    for (const [index, item] of queue) {
      try {
        results[index] = { status: "fulfilled", value: await task(item) };
      } catch (error) {
        results[index] = { status: "rejected", reason: error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
