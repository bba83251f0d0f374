// The live WebSocket (docs/design.md §9). A browser cannot put a bearer token on an upgrade,
// so it first asks `POST /live/ticket` (JWT) for a single-use ticket bound to it, valid 30 s,
// then opens `GET /live?ticket=…`. The Worker refuses a wrong Origin (403) and a malformed
// ticket (401: malformed, its signature wrong or expired; ../realtime/tickets.ts) itself,
// before addressing any Durable Object, and forwards the upgrade to the ticket's LiveHub, which
// consumes the ticket (401 when unknown or used) and caps sockets per user (429) before
// accepting the socket with the hibernation API. Hono's upgradeWebSocket is not used: it cannot hibernate.
import { Hono } from "hono";
import { routes } from "../api/contract.ts";
import type { LiveTicketResponse } from "../api/live.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { hubNameFor, liveHub, ticketTtlSeconds } from "../realtime/live-hub.ts";
import { signTicket, TicketKeyMissingError, verifyTicket } from "../realtime/tickets.ts";

export function allowedOrigins(env: Pick<Env, "LIVE_ALLOWED_ORIGINS">): string[] {
  return env.LIVE_ALLOWED_ORIGINS.split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}

export const liveRoutes = new Hono<ApiEnv>()
  .post("/ticket", guard(routes.liveTicket), noQuery(), async (c) => {
    const caller = c.get("caller");
    const hub = hubNameFor(caller);
    const expiresAt = Date.now() + ticketTtlSeconds * 1_000;
    let ticket: string;
    try {
      ticket = await signTicket(c.env, hub, expiresAt);
    } catch (error) {
      if (error instanceof TicketKeyMissingError) throw new ApiError(503, "LIVE_UNAVAILABLE", error.message);
      throw error;
    }
    const issued = await liveHub(c.env, hub).issueTicket(
      { sub: caller.sub, org: caller.org, permissions: [...caller.permissions] },
      ticket,
      expiresAt,
    );
    const response: LiveTicketResponse = { ...issued, url: `/api/v1/live?ticket=${encodeURIComponent(issued.ticket)}` };
    return c.json(response, 200);
  })
  .get("/", guard(routes.liveConnect), async (c) => {
    // Unknown query keys are errors, as everywhere; a missing ticket is a 401 below, like a bad one.
    const unknown = Object.keys(c.req.queries()).filter((key) => key !== "ticket");
    if (unknown.length > 0) {
      throw validationError(
        `unknown query parameter ${unknown[0]}`,
        unknown.map((key) => ({ path: key, message: "unknown query parameter; this route takes only ticket" })),
      );
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(
        426,
        "UPGRADE_REQUIRED",
        "this endpoint opens a WebSocket: send Upgrade: websocket",
        undefined,
        { Upgrade: "websocket" },
      );
    }
    const origin = c.req.header("origin");
    if (!origin || !allowedOrigins(c.env).includes(origin)) {
      throw new ApiError(
        403,
        "ORIGIN_NOT_ALLOWED",
        `the Origin ${origin ? JSON.stringify(origin) : "(none)"} may not open the live socket`,
      );
    }
    // Verified here, before any Durable Object is addressed: a forged ticket creates no hub.
    const checked = await verifyTicket(c.env, c.req.query("ticket") ?? "");
    if (!checked.ok) throw new ApiError(401, "INVALID_TICKET", checked.reason);
    return liveHub(c.env, checked.hub).fetch(c.req.raw);
  });
