// The live WebSocket (DESIGN.md section 9). A browser cannot put a bearer token on an upgrade,
// so it first asks `POST /live/ticket` (JWT) for a single-use ticket bound to it, valid 30 s,
// then opens `GET /live?ticket=…`. The Worker refuses a wrong Origin (403) and a malformed
// ticket (401) itself and forwards the upgrade to the caller's LiveHub, which consumes the
// ticket (401 when unknown, used or expired) before accepting the socket with the
// hibernation API. Hono's upgradeWebSocket is not used: it cannot hibernate.
import { Hono } from "hono";
import { routes } from "../api/contract.ts";
import type { LiveTicketResponse } from "../api/live.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { ApiError } from "../http/errors.ts";
import { hubNameFor, hubNameFromTicket, liveHub } from "../realtime/live-hub.ts";

export function allowedOrigins(env: Pick<Env, "LIVE_ALLOWED_ORIGINS">): string[] {
  return env.LIVE_ALLOWED_ORIGINS.split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}

export const liveRoutes = new Hono<ApiEnv>()
  .post("/ticket", guard(routes.liveTicket), async (c) => {
    const caller = c.get("caller");
    const hub = hubNameFor(caller);
    const issued = await liveHub(c.env, hub).issueTicket({ sub: caller.sub, org: caller.org, permissions: [...caller.permissions] }, hub);
    const response: LiveTicketResponse = { ...issued, url: `/api/v1/live?ticket=${encodeURIComponent(issued.ticket)}` };
    return c.json(response, 200);
  })
  .get("/", guard(routes.liveConnect), async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "UPGRADE_REQUIRED", "this endpoint opens a WebSocket: send Upgrade: websocket", undefined, { Upgrade: "websocket" });
    }
    const origin = c.req.header("origin");
    if (!origin || !allowedOrigins(c.env).includes(origin)) {
      throw new ApiError(403, "ORIGIN_NOT_ALLOWED", `the Origin ${origin ? JSON.stringify(origin) : "(none)"} may not open the live socket`);
    }
    const hub = hubNameFromTicket(c.req.query("ticket") ?? "");
    if (hub === null) throw new ApiError(401, "INVALID_TICKET", "a ticket from POST /api/v1/live/ticket is required");
    return liveHub(c.env, hub).fetch(c.req.raw);
  });
