import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LiveHub, liveHubFor } from "../../worker/realtime/live-hub.ts";

describe("LiveHub Durable Object", () => {
  it("is reachable from the Worker over RPC and reports its open sockets", async () => {
    const stub = liveHubFor(env, "acme");
    expect(await stub.status()).toEqual({ ok: true, connections: 0, lastEvent: null });
  });

  it("routes each org to its own object, and callers without an org to the default one", async () => {
    const acme = liveHubFor(env, "acme");
    const other = liveHubFor(env, "globex");
    const fallback = liveHubFor(env, null);
    expect(acme.id.equals(liveHubFor(env, "acme").id)).toBe(true);
    expect(acme.id.equals(other.id)).toBe(false);
    expect(fallback.id.equals(env.LIVE_HUB.idFromName("org:default"))).toBe(true);
    const isHub = await runInDurableObject(acme, (instance) => instance instanceof LiveHub);
    expect(isHub).toBe(true);
  });
});
