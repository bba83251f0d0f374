import { DurableObject } from "cloudflare:workers";

export interface LiveHubStatus {
  ok: true;
  connections: number;
}

/**
 * Pushes batch progress and exposure updates to browsers over hibernatable WebSockets.
 * One hub per org (see README, "Live updates"). This foundation version answers status
 * pings; the socket protocol arrives with the live-updates issue.
 */
export class LiveHub extends DurableObject<Env> {
  async status(): Promise<LiveHubStatus> {
    return { ok: true, connections: this.ctx.getWebSockets().length };
  }
}

/** The hub that serves an org; callers without an org share the default hub. */
export function liveHubFor(env: Env, org: string | null): DurableObjectStub<LiveHub> {
  return env.LIVE_HUB.get(env.LIVE_HUB.idFromName(`org:${org ?? "default"}`));
}
