// The LiveHub Durable Object (docs/design.md §9): holds the dashboards' WebSockets with the
// hibernation API and pushes batch progress, exposure updates and limit alerts to them.
//
// Sharding: one hub per org (`org:<org>`), and one per user without an org (`user:<sub>`). A
// caller always connects to its own hub (`hubNameFor(caller)`); a portfolio's updates go to
// the hub of its org, or of its owner when it has none — the same hub, since a portfolio
// takes its creator's org. Everyone who may read a portfolio is therefore on its hub, and
// a hub never sees another org's traffic.
//
// Per socket, in its attachment (so it survives hibernation): the caller (sub, org,
// permissions), its subscriptions and how many bad messages it sent. In the hub's SQLite
// storage: single-use tickets, and per portfolio a sequence number and the last messages
// (a bounded window) for resuming clients. Heartbeats are answered by the runtime
// (`setWebSocketAutoResponse`) without waking the hub.
import { DurableObject } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { portfolios } from "../../schema/index.ts";
import { visiblePortfolios } from "../auth/ownership.ts";
import { isPermission, type Caller, type Permission } from "../auth/permissions.ts";
import { getDatabase } from "../db/client.ts";
import { quotas, tenantOf } from "../quotas.ts";
import { describeError, logEvent } from "../log.ts";
import { watchesProgress } from "./progress-audience.ts";
import { decodeHubName } from "./tickets.ts";
import {
  clientMessage,
  maxClientErrors,
  maxClientMessageBytes,
  parseMessage,
  pingMessage,
  pongMessage,
  type BatchCompleted,
  type AlertMessage,
  type BatchProgress,
  type ExposuresUpdated,
  type RiskUpdated,
  type ServerMessage,
} from "./messages.ts";

/** Seconds a ticket is valid. */
export const ticketTtlSeconds = 30;
/** Messages kept per portfolio for resuming clients, and for how long. */
export const replayWindowMessages = 100;
export const replayWindowSeconds = 3_600;
/** How often clients should ping (the welcome message says so). */
export const heartbeatSeconds = 25;

export interface LiveHubStatus {
  ok: true;
  connections: number;
  /** The last batch event published to this hub, if any. */
  lastEvent: BatchCompleted | null;
}

/** What the hub keeps about a socket (serializeAttachment: ≤ 2 KiB, survives hibernation). */
interface SocketState {
  sub: string;
  org: string | null;
  permissions: Permission[];
  topics: string[];
  errors: number;
  /** Messages the socket may still send now, and when that was computed (#takeAllowance). */
  allowance?: number;
  allowanceAt?: number;
}

export type ExposureUpdate = Omit<ExposuresUpdated, "type" | "seq">;
/** A risk summary sent right after its portfolio's exposure update of the same date (same sequence number). */
export type RiskUpdate = Omit<RiskUpdated, "type" | "seq">;

export function hubNameFor(identity: { org: string | null; sub: string }): string {
  return tenantOf(identity);
}

export function liveHub(env: Env, name: string): DurableObjectStub<LiveHub> {
  return env.LIVE_HUB.get(env.LIVE_HUB.idFromName(name));
}

/** The hub of a caller (its org's, or its own without an org). */
export function liveHubFor(env: Env, identity: { org: string | null; sub: string }): DurableObjectStub<LiveHub> {
  return liveHub(env, hubNameFor(identity));
}

function unauthorized(message: string): Response {
  return Response.json({ error: { code: "INVALID_TICKET", message } }, { status: 401 });
}

export class LiveHub extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(pingMessage, pongMessage));
    ctx.storage.sql.exec(`
      create table if not exists tickets (ticket text primary key, sub text not null, org text,
        permissions text not null, expires_at integer not null);
      create table if not exists topics (topic text primary key, seq integer not null);
      create table if not exists messages (topic text not null, seq integer not null, payload text not null,
        at integer not null, primary key (topic, seq));
      create table if not exists events (id integer primary key check (id = 1), payload text not null);
      create table if not exists risk_messages (topic text not null, seq integer not null, payload text not null,
        primary key (topic, seq));
    `);
  }

  async status(): Promise<LiveHubStatus> {
    const row = this.ctx.storage.sql.exec<{ payload: string }>("select payload from events where id = 1").toArray()[0];
    return {
      ok: true,
      connections: this.ctx.getWebSockets().length,
      lastEvent: row ? (JSON.parse(row.payload) as BatchCompleted) : null,
    };
  }

  /**
   * Keeps a single-use ticket for `caller`, signed by the Worker (./tickets.ts) for this hub and
   * valid until `expiresAt`: the hub accepts only tickets it keeps, once.
   */
  async issueTicket(
    caller: { sub: string; org: string | null; permissions: string[] },
    ticket: string,
    expiresAt: number,
  ): Promise<{ ticket: string; expires_at: string }> {
    this.ctx.storage.sql.exec("delete from tickets where expires_at <= ?", Date.now());
    this.ctx.storage.sql.exec(
      "insert into tickets (ticket, sub, org, permissions, expires_at) values (?, ?, ?, ?, ?)",
      ticket,
      caller.sub,
      caller.org,
      JSON.stringify(caller.permissions),
      expiresAt,
    );
    return { ticket, expires_at: new Date(expiresAt).toISOString() };
  }

  /** The upgrade, forwarded by the Worker after its Origin check: consumes the ticket, accepts the socket. */
  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.#accept(request);
    } catch (error) {
      logEvent("error", "live.upgrade_failed", { error: describeError(error) });
      return Response.json({ error: { code: "INTERNAL_ERROR", message: "internal error" } }, { status: 500 });
    }
  }

  async #accept(request: Request): Promise<Response> {
    const ticket = new URL(request.url).searchParams.get("ticket") ?? "";
    // Consumed whatever happens next: a ticket is good for one attempt.
    const row = this.ctx.storage.sql
      .exec<{ sub: string; org: string | null; permissions: string; expires_at: number }>(
        "delete from tickets where ticket = ? returning sub, org, permissions, expires_at",
        ticket,
      )
      .toArray()[0];
    if (!row) return unauthorized("the ticket is unknown or was already used");
    if (row.expires_at <= Date.now()) return unauthorized("the ticket has expired");
    // Tags are at most 256 characters, a sub may be longer: the socket is tagged with its hash.
    const tag = await subTag(row.sub);
    const limits = quotas(this.env);
    const open = this.ctx.getWebSockets(tag).length;
    if (open >= limits.socketsPerUser) {
      return Response.json(
        {
          error: {
            code: "TOO_MANY_SOCKETS",
            message:
              `you have ${open} live sockets open, ` +
              "the most one user may (LIVE_MAX_SOCKETS_PER_USER); close one first",
          },
        },
        { status: 429, headers: { "Retry-After": String(heartbeatSeconds) } },
      );
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const state: SocketState = {
      sub: row.sub,
      org: row.org,
      permissions: (JSON.parse(row.permissions) as unknown[]).filter(isPermission),
      topics: [],
      errors: 0,
      allowance: 2 * limits.messagesPerSecond,
      allowanceAt: Date.now(),
    };
    this.ctx.acceptWebSocket(server, [tag]);
    server.serializeAttachment(state);
    send(server, {
      type: "welcome",
      sub: row.sub,
      hub: decodeHubName(ticket.split(".")[0] ?? "") ?? "",
      heartbeat_seconds: heartbeatSeconds,
    });
    logEvent("info", "live.connected", { sub: row.sub, connections: this.ctx.getWebSockets().length });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Once the hub has closed a socket (too many bad messages), the messages its client had already
    // sent still arrive: nobody is left to answer, and a send() would throw "after close()".
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      // Messages of one socket are handled concurrently (each awaits the database), so the
      // attachment is read and written back synchronously around each change, never across an await.
      const state = ws.deserializeAttachment() as SocketState;
      const allowed = this.#takeAllowance(state);
      ws.serializeAttachment(state);
      if (!allowed) {
        // Answered without a database query: a flood costs the hub next to nothing, and ends the socket.
        this.#refuse(
          ws,
          state,
          "RATE_LIMITED",
          `at most ${quotas(this.env).messagesPerSecond} messages per second (LIVE_MAX_MESSAGES_PER_SECOND)`,
        );
        return;
      }
      const size = typeof message === "string" ? new TextEncoder().encode(message).byteLength : message.byteLength;
      if (typeof message !== "string" || size > maxClientMessageBytes) {
        this.#refuse(
          ws,
          state,
          "TOO_LARGE",
          typeof message === "string"
            ? `messages are at most ${maxClientMessageBytes} bytes`
            : "binary messages are not accepted",
        );
        return;
      }
      const parsed = parseMessage(clientMessage, message);
      if (!parsed.ok) {
        this.#refuse(ws, state, "MALFORMED", `not a valid message: ${parsed.reason}`);
        return;
      }
      const { message: request } = parsed;
      if (request.type === "unsubscribe") {
        state.topics = state.topics.filter((topic) => topic !== request.portfolio_id);
        ws.serializeAttachment(state);
        send(ws, { type: "unsubscribed", portfolio_id: request.portfolio_id });
        return;
      }
      const mayRead = await this.#mayRead(state, request.portfolio_id);
      // Closed while the database answered (the hub ended a flood of messages meanwhile): as above.
      if (ws.readyState !== WebSocket.OPEN) return;
      if (!mayRead) {
        // The same answer for another owner's portfolio as for one that does not exist.
        this.#refuse(ws, state, "NOT_FOUND", `portfolio ${request.portfolio_id} does not exist`, request.portfolio_id);
        return;
      }
      const current = ws.deserializeAttachment() as SocketState;
      if (!current.topics.includes(request.portfolio_id)) current.topics.push(request.portfolio_id);
      ws.serializeAttachment(current);
      const seq = this.#currentSeq(request.portfolio_id);
      let replayed = 0;
      if (request.last_seq !== undefined && request.last_seq < seq) {
        // Each exposure update with the risk summary that followed it (same sequence number).
        const missed = this.ctx.storage.sql
          .exec<{ seq: number; payload: string; risk: string | null }>(
            `select m.seq, m.payload, r.payload as risk from messages m
              left join risk_messages r on r.topic = m.topic and r.seq = m.seq
              where m.topic = ? and m.seq > ? order by m.seq`,
            request.portfolio_id,
            request.last_seq,
          )
          .toArray();
        if (missed.length === seq - request.last_seq) {
          for (const row of missed) {
            ws.send(row.payload);
            if (row.risk !== null) ws.send(row.risk);
          }
          replayed = missed.length;
        } else {
          send(ws, {
            type: "resync",
            portfolio_id: request.portfolio_id,
            seq,
            reason: `messages after ${request.last_seq} are no longer kept; refetch the exposures`,
          });
        }
      } else if (request.last_seq !== undefined && request.last_seq > seq) {
        send(ws, {
          type: "resync",
          portfolio_id: request.portfolio_id,
          seq,
          reason: `sequence ${request.last_seq} is ahead of this hub's ${seq}; refetch the exposures`,
        });
      }
      send(ws, { type: "subscribed", portfolio_id: request.portfolio_id, seq, replayed });
    } catch (error) {
      logEvent("error", "live.message_failed", { error: describeError(error) });
      try {
        send(ws, { type: "error", code: "INTERNAL", message: "the hub could not handle the message" });
      } catch {
        // The socket is gone; nothing to tell.
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      // Reciprocate, so the client's close handshake completes.
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
    logEvent("info", "live.closed", { code, connections: this.ctx.getWebSockets().length });
  }

  override async webSocketError(_ws: WebSocket, error: unknown): Promise<void> {
    logEvent("warn", "live.socket_error", { error: describeError(error) });
  }

  /**
   * New exposures of portfolios on this hub: a sequence number each, kept for resuming, sent to
   * subscribers. Each is followed by the `risk.updated` of `risks` for the same portfolio and date,
   * if any, which carries the same sequence number and is kept and replayed with it.
   */
  async publishExposures(
    updates: readonly ExposureUpdate[],
    risks: readonly RiskUpdate[] = [],
  ): Promise<{ delivered: number }> {
    const now = Date.now();
    const riskOf = new Map(risks.map((risk) => [`${risk.portfolio_id}\u001f${risk.date}`, risk]));
    // Numbers and the replay window in one storage transaction, then the sends: outgoing
    // messages wait for the writes to be durable anyway (output gate), so one commit, not one per update.
    const payloads = this.ctx.storage.transactionSync(() =>
      updates.map((update) => {
        const seq = this.#currentSeq(update.portfolio_id) + 1;
        const payload = JSON.stringify({ type: "exposures.updated", seq, ...update } satisfies ExposuresUpdated);
        const risk = riskOf.get(`${update.portfolio_id}\u001f${update.date}`);
        const riskPayload =
          risk === undefined ? null : JSON.stringify({ type: "risk.updated", seq, ...risk } satisfies RiskUpdated);
        this.ctx.storage.sql.exec(
          "insert into topics (topic, seq) values (?, ?) on conflict (topic) do update set seq = excluded.seq",
          update.portfolio_id,
          seq,
        );
        this.ctx.storage.sql.exec(
          "insert into messages (topic, seq, payload, at) values (?, ?, ?, ?)",
          update.portfolio_id,
          seq,
          payload,
          now,
        );
        this.ctx.storage.sql.exec(
          "delete from messages where topic = ? and (seq <= ? or at < ?)",
          update.portfolio_id,
          seq - replayWindowMessages,
          now - replayWindowSeconds * 1_000,
        );
        if (riskPayload !== null)
          this.ctx.storage.sql.exec(
            "insert or replace into risk_messages (topic, seq, payload) values (?, ?, ?)",
            update.portfolio_id,
            seq,
            riskPayload,
          );
        // A risk summary goes with its exposure update: out of the window together.
        this.ctx.storage.sql.exec(
          "delete from risk_messages where topic = ? and seq < (select min(seq) from messages where topic = ?)",
          update.portfolio_id,
          update.portfolio_id,
        );
        return { topic: update.portfolio_id, payloads: riskPayload === null ? [payload] : [payload, riskPayload] };
      }),
    );
    // Each socket's subscriptions read once (not once per update): topic → its sockets.
    const subscribers = new Map<string, WebSocket[]>();
    for (const ws of this.ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as SocketState | null;
      for (const topic of state?.topics ?? []) {
        const list = subscribers.get(topic);
        if (list) list.push(ws);
        else subscribers.set(topic, [ws]);
      }
    }
    let delivered = 0;
    for (const { topic, payloads: messages } of payloads) {
      for (const ws of subscribers.get(topic) ?? []) {
        try {
          for (const message of messages) ws.send(message);
          delivered++;
        } catch {
          // Closing as we send: the client resumes from its last sequence number.
        }
      }
    }
    return { delivered };
  }

  /**
   * A completed date goes to everyone. Progress goes to callers who may run the batch, and to a
   * viewer when the run is theirs to watch: a run over every portfolio, or the history run of a
   * portfolio the socket subscribed to (checked readable when it subscribed). So an analyst who
   * opens a page mid-run sees it move from the first finished phase, not from the first
   * completed date, and never learns of another member's portfolio's run.
   */
  async publishBatch(event: BatchProgress | BatchCompleted): Promise<{ delivered: number }> {
    if (event.type === "batch.completed")
      this.ctx.storage.sql.exec(
        "insert into events (id, payload) values (1, ?) on conflict (id) do update set payload = excluded.payload",
        JSON.stringify(event),
      );
    const payload = JSON.stringify(event);
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as SocketState | null;
      if (!state || (event.type === "batch.progress" && !watchesProgress(state, event))) continue;
      try {
        ws.send(payload);
        delivered++;
      } catch {
        // Closing as we send.
      }
    }
    return { delivered };
  }

  /**
   * Limit crossings (`alert.raised`, `alert.cleared`) to the subscribers of each alert's portfolio.
   * Not numbered nor kept: the alerts table is the record a reconnecting client reads.
   */
  async publishAlerts(messages: readonly AlertMessage[]): Promise<{ delivered: number }> {
    let delivered = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as SocketState | null;
      const wanted = messages.filter((message) => state?.topics.includes(message.portfolio_id) ?? false);
      if (wanted.length === 0) continue;
      try {
        for (const message of wanted) ws.send(JSON.stringify(message));
        delivered++;
      } catch {
        // Closing as we send.
      }
    }
    return { delivered };
  }

  #currentSeq(topic: string): number {
    return (
      this.ctx.storage.sql.exec<{ seq: number }>("select seq from topics where topic = ?", topic).toArray()[0]?.seq ?? 0
    );
  }

  async #mayRead(state: SocketState, portfolioId: string): Promise<boolean> {
    if (!state.permissions.includes("VIEW_FACTOR_ANALYTICS")) return false;
    const caller: Caller = { sub: state.sub, org: state.org, permissions: new Set(state.permissions) };
    const row = await getDatabase(this.env)
      .select({ id: portfolios.id })
      .from(portfolios)
      .where(and(eq(portfolios.id, portfolioId), visiblePortfolios(caller)))
      .get();
    return row !== undefined;
  }

  /**
   * A token bucket per socket, kept in its attachment (so it survives hibernation): refilled at
   * LIVE_MAX_MESSAGES_PER_SECOND, holding up to twice that. False when the message is over it.
   */
  #takeAllowance(state: SocketState): boolean {
    const rate = quotas(this.env).messagesPerSecond;
    const now = Date.now();
    const allowance = Math.min(
      2 * rate,
      (state.allowance ?? 2 * rate) + ((now - (state.allowanceAt ?? now)) / 1000) * rate,
    );
    state.allowanceAt = now;
    if (allowance < 1) {
      state.allowance = allowance;
      return false;
    }
    state.allowance = allowance - 1;
    return true;
  }

  /** Answers a refused message with an error; a socket that keeps sending them is closed (1008). */
  #refuse(
    ws: WebSocket,
    stale: SocketState,
    code: "TOO_LARGE" | "MALFORMED" | "NOT_FOUND" | "RATE_LIMITED",
    message: string,
    portfolioId?: string,
  ): void {
    // The attachment as it is now: another message of the socket may have changed it meanwhile.
    const state = (ws.deserializeAttachment() as SocketState | null) ?? stale;
    state.errors++;
    ws.serializeAttachment(state);
    send(ws, { type: "error", code, message, ...(portfolioId ? { portfolio_id: portfolioId } : {}) });
    if (state.errors >= maxClientErrors) {
      logEvent("warn", "live.closed_for_errors", { sub: state.sub, errors: state.errors });
      ws.close(1008, "too many invalid messages");
    }
  }
}

function send(ws: WebSocket, message: ServerMessage): void {
  ws.send(JSON.stringify(message));
}

/** The tag of a user's sockets: a hash of the sub, since tags are limited to 256 characters. */
async function subTag(sub: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sub)));
  return `sub:${[...digest.slice(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
