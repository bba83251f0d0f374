import { DurableObject } from "cloudflare:workers";

export interface LiveHubStatus {
  ok: true;
  connections: number;
  /** The last event published to this hub, if any. */
  lastEvent: LiveHubEvent | null;
}

/** The batch's publish phase: a date's numbers changed for this hub's org. */
export interface BatchDatePublishedEvent {
  type: "batch.date_published";
  run_id: string;
  date: string;
  phases_ok: number;
  phases_failed: number;
  portfolios_updated: number;
}

export type LiveHubEvent = BatchDatePublishedEvent;

/**
 * Pushes batch progress and exposure updates to browsers over hibernatable WebSockets.
 * One hub per org (see README, "Live updates"). This version records what the batch
 * publishes and forwards it to connected sockets; the socket protocol (tickets, topics,
 * sequence numbers) arrives with the live-updates issue.
 */
export class LiveHub extends DurableObject<Env> {
  async status(): Promise<LiveHubStatus> {
    const lastEvent = (await this.ctx.storage.get<LiveHubEvent>("lastEvent")) ?? null;
    return { ok: true, connections: this.ctx.getWebSockets().length, lastEvent };
  }

  /** Records the event and sends it to every connected socket; returns how many got it. */
  async publish(event: LiveHubEvent): Promise<{ delivered: number }> {
    await this.ctx.storage.put("lastEvent", event);
    const text = JSON.stringify(event);
    let delivered = 0;
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(text);
        delivered++;
      } catch {
        // A socket closing as we send: it resyncs when it reconnects.
      }
    }
    return { delivered };
  }
}

/** The hub that serves an org; callers without an org share the default hub. */
export function liveHubFor(env: Env, org: string | null): DurableObjectStub<LiveHub> {
  return env.LIVE_HUB.get(env.LIVE_HUB.idFromName(`org:${org ?? "default"}`));
}
