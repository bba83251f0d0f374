// The live WebSocket through the real Worker and its LiveHub Durable Object: tickets, Origin,
// subscriptions checked against ownership, exposures pushed after a position change and after
// a batch run, resuming by sequence number, bad messages and closing.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { portfolioRiskSummaries, symbolDailyMetrics } from "../../schema/index.ts";
import type { LiveTicketResponse } from "../../worker/api/live.ts";
import type { PortfolioResponse, PositionResponse } from "../../worker/api/portfolios.ts";
import type { Permission } from "../../worker/auth/permissions.ts";
import { liveHub, type LiveHub } from "../../worker/realtime/live-hub.ts";
import { encodeHubName } from "../../worker/realtime/tickets.ts";
import {
  maxClientErrors,
  pingMessage,
  pongMessage,
  serverMessage,
  type ServerMessage,
} from "../../worker/realtime/messages.ts";
import { captureLogs } from "../support/logs.ts";
import { allPermissions } from "../support/tokens.ts";
import { call, db, ensureBatchOutput, errorOf, json, latestDate, waitForIdleRuns } from "./support.ts";

const origin = "http://localhost:8787";

interface Identity {
  sub: string;
  org: string | null;
  permissions?: readonly Permission[];
}

async function ticketFor(identity: Identity): Promise<string> {
  const body = await json<LiveTicketResponse>(
    await call("/live/ticket", {
      method: "POST",
      sub: identity.sub,
      org: identity.org,
      permissions: identity.permissions ?? allPermissions,
    }),
  );
  expect(body.url).toBe(`/api/v1/live?ticket=${encodeURIComponent(body.ticket)}`);
  return body.ticket;
}

function upgrade(
  ticket: string | null,
  headers: Record<string, string> = { Upgrade: "websocket", Origin: origin },
): Promise<Response> {
  return exports.default.fetch(
    `http://localhost/api/v1/live${ticket === null ? "" : `?ticket=${encodeURIComponent(ticket)}`}`,
    { headers },
  );
}

/** A connected client: every message it received, validated with the shared schema. */
class LiveClient {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: (() => void)[] = [];

  readonly ws: WebSocket;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.accept();
    ws.addEventListener("message", (event) => {
      if (event.data === pongMessage) return;
      const parsed = serverMessage.safeParse(JSON.parse(String(event.data)));
      if (!parsed.success) throw new Error(`the hub sent a message outside the schema: ${String(event.data)}`);
      this.messages.push(parsed.data);
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The first message (from `from` on) matching `predicate`, waiting up to `timeoutMs`. */
  async next<T extends ServerMessage["type"]>(
    type: T,
    predicate: (message: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 20_000,
    from = 0,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages
        .slice(from)
        .find(
          (message): message is Extract<ServerMessage, { type: T }> =>
            message.type === type && predicate(message as Extract<ServerMessage, { type: T }>),
        );
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async closedWith(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("the socket was not closed");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.closed;
  }
}

async function connect(identity: Identity): Promise<LiveClient> {
  const response = await upgrade(await ticketFor(identity));
  expect(response.status).toBe(101);
  const client = new LiveClient(response.webSocket!);
  const welcome = await client.next("welcome");
  expect(welcome).toMatchObject({ sub: identity.sub });
  return client;
}

const owner: Identity = { sub: "live-owner", org: "live-org" };
const stranger: Identity = { sub: "live-stranger", org: "other-org" };
let portfolioId = "";
let positionId = "";
/** SPY's close on the latest date, from the symbol table. */
let spyClose = 0;

beforeAll(async () => {
  await ensureBatchOutput();
  const portfolio = await json<PortfolioResponse>(
    await call("/portfolios", {
      method: "POST",
      sub: owner.sub,
      org: owner.org,
      body: { name: `Live ${crypto.randomUUID()}`, cash: 10_000 },
    }),
    201,
  );
  portfolioId = portfolio.id;
  const position = await json<PositionResponse>(
    await call(`/portfolios/${portfolioId}/positions`, {
      method: "POST",
      sub: owner.sub,
      org: owner.org,
      body: { symbol: "SPY", instrument: "etf", quantity: 100, opened_on: "2026-01-02" },
    }),
    201,
  );
  positionId = position.id;
  const spy = await json<{ metrics: { current_price: number } }>(await call("/data/symbols/SPY"));
  spyClose = spy.metrics.current_price;
});

async function changeQuantity(quantity: number): Promise<void> {
  await json<PositionResponse>(
    await call(`/portfolios/${portfolioId}/positions/${positionId}`, {
      method: "PATCH",
      sub: owner.sub,
      org: owner.org,
      body: { quantity },
    }),
  );
}

describe("the upgrade", () => {
  it(
    "is refused before any socket for a missing, malformed, reused, " + "foreign or expired ticket and a wrong Origin",
    async () => {
      expect((await errorOf(await upgrade(null), 401)).code).toBe("INVALID_TICKET");
      expect((await errorOf(await upgrade("not-a-ticket"), 401)).code).toBe("INVALID_TICKET");

      const ticket = await ticketFor(owner);
      expect(
        (await errorOf(await upgrade(ticket, { Upgrade: "websocket", Origin: "https://evil.example" }), 403)).code,
      ).toBe("ORIGIN_NOT_ALLOWED");
      expect((await errorOf(await upgrade(ticket, { Upgrade: "websocket" }), 403)).code).toBe("ORIGIN_NOT_ALLOWED");
      expect((await errorOf(await upgrade(ticket, { Origin: origin }), 426)).code).toBe("UPGRADE_REQUIRED");
      const first = await upgrade(ticket);
      expect(first.status).toBe(101);
      first.webSocket!.accept();
      first.webSocket!.close(1000, "done");
      expect((await errorOf(await upgrade(ticket), 401)).code).toBe("INVALID_TICKET"); // single use

      // A ticket pointed at another hub no longer matches its signature: refused by the Worker,
      // before any Durable Object is addressed (so no hub is created for a made-up name).
      const foreign = (await ticketFor(owner)).replace(/^[^.]+/, encodeHubName("org:other-org"));
      expect(await errorOf(await upgrade(foreign), 401)).toMatchObject({
        code: "INVALID_TICKET",
        message: expect.stringMatching(/signature/),
      });
      const forged =
        `${encodeHubName("org:any-name")}.${Date.now().toString(36)}.` + `${"ab".repeat(16)}.${"cd".repeat(32)}`;
      expect(await errorOf(await upgrade(forged), 401)).toMatchObject({
        code: "INVALID_TICKET",
        message: expect.stringMatching(/signature/),
      });
      // The old format (hub name and 64 hex characters) is malformed now.
      expect(
        (await errorOf(await upgrade(`${encodeHubName("org:any-name")}.${"ab".repeat(32)}`), 401)).message,
      ).toMatch(/required|malformed/);

      const expired = await ticketFor(owner);
      await runInDurableObject(liveHub(env, "org:live-org"), (hub: LiveHub, state) => {
        void hub;
        state.storage.sql.exec("update tickets set expires_at = ? where ticket = ?", Date.now() - 1, expired);
      });
      expect((await errorOf(await upgrade(expired), 401)).message).toMatch(/expired/);
    },
  );

  it("works for an org and sub outside Latin-1, and for a sub longer than a socket tag may be", async () => {
    for (const identity of [
      { sub: "живой-пользователь", org: "组织-✓" },
      { sub: "s".repeat(400), org: null },
    ]) {
      const client = await connect(identity);
      client.ws.close(1000, "done");
    }
  });

  it("caps the live sockets one user may hold open (LIVE_MAX_SOCKETS_PER_USER, 8)", async () => {
    const identity: Identity = { sub: "live-many-tabs", org: "live-many-org" };
    const clients: LiveClient[] = [];
    for (let i = 0; i < 8; i++) clients.push(await connect(identity));
    const refused = await upgrade(await ticketFor(identity));
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_SOCKETS");
    // Another user of the same org (the same hub) is not affected.
    const colleague = await connect({ sub: "live-colleague", org: "live-many-org" });
    colleague.ws.close(1000, "done");
    // Closing one makes room.
    clients.pop()!.ws.close(1000, "done");
    let reopened: Response | null = null;
    for (let attempt = 0; attempt < 50 && reopened?.status !== 101; attempt++) {
      reopened = await upgrade(await ticketFor(identity));
      if (reopened.status !== 101) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reopened?.status).toBe(101);
    reopened!.webSocket!.accept();
    reopened!.webSocket!.close(1000, "done");
    for (const client of clients) client.ws.close(1000, "done");
  });

  it("needs a JWT for the ticket itself", async () => {
    expect((await call("/live/ticket", { method: "POST", token: null })).status).toBe(401);
  });
});

describe("subscriptions", () => {
  it(
    "pushes exposures.updated to a subscriber of its own portfolio after a position change, " +
      "with the recomputed numbers",
    async () => {
      const client = await connect(owner);
      client.send({ type: "subscribe", portfolio_id: portfolioId });
      const subscribed = await client.next("subscribed", (message) => message.portfolio_id === portfolioId);
      await changeQuantity(200);
      const update = await client.next(
        "exposures.updated",
        (message) => message.portfolio_id === portfolioId && message.seq > subscribed.seq,
      );
      expect(update).toMatchObject({ cause: "positions", date: latestDate });
      expect(update.exposures).toHaveLength(12);
      // The last push agrees with what is stored once the refreshes settle (an earlier change's
      // refresh may still be pushing when this one starts); SPY on itself has beta 1, so the
      // market exposure is the weight of 200 SPY shares in the equity.
      type Pushed = { exposures: { factor_key: string; exposure: number | null; standard_error?: number | null }[] };
      const marketEntry = (message: Pushed) =>
        message.exposures.find((exposure) => exposure.factor_key === "market_beta")!;
      const marketOf = (message: Pushed) => marketEntry(message).exposure;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const stored = await json<{ factors: { portfolio: (number | null)[]; standard_error: (number | null)[] }[] }>(
          await call(`/portfolios/${portfolioId}/exposures?factors=market_beta&from=${latestDate}`, {
            sub: owner.sub,
            org: owner.org,
          }),
        );
        const pushed = client.messages.filter((message) => message.type === "exposures.updated").at(-1) as Pushed;
        const expected = (200 * spyClose) / (10_000 + 200 * spyClose);
        // The pushed standard error is the one the exposures route serves for that date, exactly.
        if (
          stored.factors[0]!.portfolio.at(-1) === marketOf(pushed) &&
          stored.factors[0]!.standard_error.at(-1) === marketEntry(pushed).standard_error &&
          Math.abs(marketOf(pushed)! - expected) < 1e-9
        )
          break;
        if (Date.now() > deadline)
          throw new Error(
            `stored ${stored.factors[0]!.portfolio.at(-1)} ± ${stored.factors[0]!.standard_error.at(-1)} and pushed ` +
              `${marketOf(pushed)} ± ${marketEntry(pushed).standard_error} never agreed on ${expected}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const lastPushed = client.messages.filter((message) => message.type === "exposures.updated").at(-1) as Pushed;
      expect(marketEntry(lastPushed).standard_error).toEqual(expect.any(Number));
      // Right after each exposures.updated: the recomputed risk summary of the same date, with its seq.
      const risk = await client.next(
        "risk.updated",
        (message) => message.portfolio_id === portfolioId && message.seq === update.seq,
      );
      expect(risk).toMatchObject({ cause: "positions", date: latestDate });
      const order = client.messages.filter((message) => "seq" in message && message.seq === update.seq);
      expect(order.map((message) => message.type)).toEqual(["exposures.updated", "risk.updated"]);
      // The last one pushed is the summary stored for the latest positions.
      const lastRisk = client.messages.filter((message) => message.type === "risk.updated").at(-1)!;
      const summary = await db
        .select()
        .from(portfolioRiskSummaries)
        .where(and(eq(portfolioRiskSummaries.portfolioId, portfolioId), eq(portfolioRiskSummaries.date, latestDate)))
        .get();
      expect(lastRisk.risk).toMatchObject({
        benchmark_symbol: "SPY",
        equity: summary!.equity,
        volatility: summary!.volatility,
        tracking_error: summary!.trackingError,
        factor_share: summary!.factorShare,
        value_at_risk_95: summary!.valueAtRisk95,
        value_at_risk_99: summary!.valueAtRisk99,
        total_variance: summary!.totalVariance,
        reason: null,
      });
      expect(lastRisk.risk.equity).toBeCloseTo(10_000 + 200 * spyClose, 6);
      expect(lastRisk.risk.volatility).toBeGreaterThan(0);
      // 200 SPY and cash against SPY: the active risk is the cash's, a fraction of SPY's own.
      expect(lastRisk.risk.tracking_error).toBeGreaterThan(0);
      expect(lastRisk.risk.tracking_error!).toBeLessThan(lastRisk.risk.volatility!);
      client.ws.close(1000, "done");
    },
  );

  it(
    "never pushes a date whose betas are not written yet: " +
      "a position change during a batch uses the latest date with betas",
    async () => {
      // A batch in progress has written the next date's metrics (phase 2) but not its betas (phase 3).
      const nextDate = "2026-07-01";
      await db
        .insert(symbolDailyMetrics)
        .values({ symbol: "SPY", metricsDate: nextDate, currentPrice: spyClose, dataQualityScore: 10 });
      try {
        await waitForIdleRuns();
        const client = await connect(owner);
        client.send({ type: "subscribe", portfolio_id: portfolioId });
        const subscribed = await client.next("subscribed", (message) => message.portfolio_id === portfolioId);
        await changeQuantity(175);
        const update = await client.next(
          "exposures.updated",
          (message) =>
            message.portfolio_id === portfolioId && message.seq > subscribed.seq && message.cause === "positions",
        );
        expect(update.date).toBe(latestDate);
        expect(update.exposures.some((exposure) => exposure.exposure !== null)).toBe(true);
        client.ws.close(1000, "done");
      } finally {
        await db
          .delete(symbolDailyMetrics)
          .where(and(eq(symbolDailyMetrics.symbol, "SPY"), eq(symbolDailyMetrics.metricsDate, nextDate)));
      }
    },
  );

  it("pushes the batch's exposures, its progress and the completed date", async () => {
    const client = await connect(owner);
    client.send({ type: "subscribe", portfolio_id: portfolioId });
    await client.next("subscribed");
    // Viewers (no RUN_BATCH) of the same tenant: one watching the portfolio gets the run's progress,
    // one that is not subscribed to it only the completed date.
    const viewerPermissions = allPermissions.filter((permission) => permission !== "RUN_BATCH");
    const watching = await connect({ ...owner, permissions: viewerPermissions });
    watching.send({ type: "subscribe", portfolio_id: portfolioId });
    await watching.next("subscribed");
    const elsewhere = await connect({ ...owner, permissions: viewerPermissions });
    const started = await call("/admin/batch/run", {
      method: "POST",
      sub: owner.sub,
      org: owner.org,
      body: { date: latestDate, portfolio_id: portfolioId },
    });
    const { run_id: runId } = await json<{ run_id: string }>(started, started.status === 200 ? 200 : 202);
    const progress = await client.next("batch.progress", (message) => message.run_id === runId, 60_000);
    expect(progress).toMatchObject({
      date: latestDate,
      run: { trigger: "admin", portfolio_id: portfolioId, dates_total: 1 },
    });
    // (A history run of an earlier position change may push other dates meanwhile.)
    const update = await client.next(
      "exposures.updated",
      (message) => message.cause === "batch" && message.portfolio_id === portfolioId && message.date === latestDate,
      60_000,
    );
    expect(update.date).toBe(latestDate);
    expect(
      await client.next(
        "risk.updated",
        (message) => message.portfolio_id === portfolioId && message.seq === update.seq,
        60_000,
      ),
    ).toMatchObject({ cause: "batch", date: latestDate });
    const completed = await client.next("batch.completed", (message) => message.run_id === runId, 60_000);
    expect(completed.summary.phases_failed).toBe(0);
    const watched = await watching.next("batch.progress", (message) => message.run_id === runId, 60_000);
    expect(watched).toMatchObject({ run: { portfolio_id: portfolioId }, date: latestDate });
    await watching.next("batch.completed", (message) => message.run_id === runId, 60_000);
    await elsewhere.next("batch.completed", (message) => message.run_id === runId, 60_000);
    expect(elsewhere.messages.filter((message) => message.type === "batch.progress")).toEqual([]);
    for (const socket of [client, watching, elsewhere]) socket.ws.close(1000, "done");
  });

  it("answers a subscription to another owner's portfolio with an error and sends it nothing", async () => {
    const client = await connect(stranger);
    client.send({ type: "subscribe", portfolio_id: portfolioId });
    const error = await client.next("error");
    expect(error).toMatchObject({ code: "NOT_FOUND", portfolio_id: portfolioId });
    const missing = await connect(stranger);
    missing.send({ type: "subscribe", portfolio_id: "no-such-portfolio" });
    expect((await missing.next("error")).message.replace("no-such-portfolio", "ID")).toBe(
      error.message.replace(portfolioId, "ID"),
    );
    await changeQuantity(150);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.messages.filter((message) => message.type === "exposures.updated")).toEqual([]);
    client.ws.close(1000, "done");
    missing.ws.close(1000, "done");
  });
});

describe("resuming", () => {
  it("sends exactly the missed messages to a client reconnecting with its last sequence number", async () => {
    // Each change also starts the portfolio's history run, which pushes its dates: count what the hub has.
    await waitForIdleRuns();
    const first = await connect(owner);
    first.send({ type: "subscribe", portfolio_id: portfolioId });
    const { seq: seen } = await first.next("subscribed");
    first.ws.close(1000, "going offline");
    await changeQuantity(110);
    await changeQuantity(120);
    // Wait until the hub has both (each change publishes after its response).
    const hub = liveHub(env, "org:live-org");
    const deadline = Date.now() + 20_000;
    const hubSeq = async () =>
      runInDurableObject(
        hub,
        (_: LiveHub, state) =>
          state.storage.sql.exec<{ seq: number }>("select seq from topics where topic = ?", portfolioId).toArray()[0]
            ?.seq ?? 0,
      );
    while ((await hubSeq()) < seen + 2) {
      if (Date.now() > deadline) throw new Error("the hub did not get both updates");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitForIdleRuns();
    const last = await hubSeq();
    const missed = Array.from({ length: last - seen }, (_, index) => seen + 1 + index);
    expect(missed.length).toBeGreaterThanOrEqual(2);
    const again = await connect(owner);
    again.send({ type: "subscribe", portfolio_id: portfolioId, last_seq: seen });
    const subscribed = await again.next("subscribed");
    expect(subscribed).toMatchObject({ seq: last, replayed: missed.length });
    const replayed = again.messages.filter((message) => message.type === "exposures.updated");
    expect(replayed.map((message) => (message as { seq: number }).seq)).toEqual(missed);
    // Each with the risk summary that followed it, under the same number (not a number of its own).
    const replayedRisk = again.messages.filter((message) => message.type === "risk.updated");
    expect(replayedRisk.map((message) => (message as { seq: number }).seq)).toEqual(missed);
    // Nothing twice, no gap: a subscriber that is up to date gets nothing replayed.
    const current = await connect(owner);
    current.send({ type: "subscribe", portfolio_id: portfolioId, last_seq: last });
    expect(await current.next("subscribed")).toMatchObject({ replayed: 0 });
    expect(
      current.messages.filter((message) => message.type === "exposures.updated" || message.type === "risk.updated"),
    ).toEqual([]);
    const ahead = await connect(owner);
    ahead.send({ type: "subscribe", portfolio_id: portfolioId, last_seq: last + 1_000 });
    expect(await ahead.next("resync")).toMatchObject({ portfolio_id: portfolioId, seq: last });
    for (const client of [again, current, ahead]) client.ws.close(1000, "done");
  });
});

describe("bad messages and closing", () => {
  it(
    "answers malformed and oversized messages with an error, " + "and closes a client that keeps sending them",
    async () => {
      const logs = captureLogs("live.closed_for_errors");
      const client = await connect(owner);
      client.send("not json");
      expect((await client.next("error")).code).toBe("MALFORMED");
      client.send({ type: "subscribe" });
      expect((await client.next("error", (message) => message.message.includes("portfolio_id"))).code).toBe(
        "MALFORMED",
      );
      client.send({ type: "subscribe", portfolio_id: "x".repeat(5_000) });
      expect((await client.next("error", (message) => message.code === "TOO_LARGE")).code).toBe("TOO_LARGE");
      for (let i = 3; i < maxClientErrors; i++) client.send({ type: "dance" });
      expect(await client.closedWith()).toMatchObject({ code: 1008 });
      expect(logs).toMatchObject([{ level: "warn", errors: maxClientErrors }]);
    },
  );

  it("answers a flood of messages with RATE_LIMITED, without querying for each, and closes the socket", async () => {
    const logs = captureLogs("live.closed_for_errors", "live.message_failed");
    const client = await connect({ sub: "live-flooder", org: "live-flood-org" });
    // 20 (twice LIVE_MAX_MESSAGES_PER_SECOND) pass at once; the rest of a burst of 200 is refused.
    for (let i = 0; i < 200; i++) client.send({ type: "subscribe", portfolio_id: `p-${i}` });
    expect((await client.next("error", (message) => message.code === "RATE_LIMITED")).message).toMatch(
      /messages per second/,
    );
    expect(await client.closedWith(10_000)).toMatchObject({ code: 1008 });
    const answered = client.messages.filter(
      (message) => message.type === "error" && message.code === "NOT_FOUND",
    ).length;
    expect(answered).toBeLessThanOrEqual(21);
    // Closed once, for the flood; the messages still in flight after that are dropped, not
    // answered on the closed socket (each such send threw, and was logged as a failure).
    expect(logs).toMatchObject([{ event: "live.closed_for_errors", sub: "live-flooder", errors: maxClientErrors }]);
  });

  it("answers the heartbeat without waking the hub, and reciprocates a close", async () => {
    const client = await connect(owner);
    const pong = new Promise<string>((resolve) =>
      client.ws.addEventListener("message", (event) => resolve(String(event.data))),
    );
    client.ws.send(pingMessage);
    expect(await pong).toBe(pongMessage);
    client.ws.close(1000, "bye");
    expect(await client.closedWith()).toMatchObject({ code: 1000 });
  });
});
