import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hubNameFor, hubNameFromTicket, LiveHub, liveHubFor, encodeHubName } from "../../worker/realtime/live-hub.ts";

describe("LiveHub Durable Object", () => {
  it("is reachable from the Worker over RPC and reports its open sockets", async () => {
    const stub = liveHubFor(env, { org: "acme", sub: "alice" });
    expect(await stub.status()).toEqual({ ok: true, connections: 0, lastEvent: null });
  });

  it("shards by org, and by user for callers without one", async () => {
    const acme = liveHubFor(env, { org: "acme", sub: "alice" });
    expect(acme.id.equals(liveHubFor(env, { org: "acme", sub: "bob" }).id)).toBe(true);
    expect(acme.id.equals(liveHubFor(env, { org: "globex", sub: "alice" }).id)).toBe(false);
    expect(liveHubFor(env, { org: null, sub: "carol" }).id.equals(env.LIVE_HUB.idFromName("user:carol"))).toBe(true);
    expect(hubNameFor({ org: null, sub: "carol" })).toBe("user:carol");
    expect(await runInDurableObject(acme, (instance) => instance instanceof LiveHub)).toBe(true);
  });

  it("reads the hub back from a ticket, and nothing from a malformed one", () => {
    const ticket = `${encodeHubName("org:acme")}.${"ab".repeat(32)}`;
    expect(hubNameFromTicket(ticket)).toBe("org:acme");
    for (const bad of ["", "abc", `${encodeHubName("org:acme")}.short`, `${encodeHubName("service:health")}.${"ab".repeat(32)}`, `!!!.${"ab".repeat(32)}`]) expect(hubNameFromTicket(bad), bad).toBeNull();
  });
});
