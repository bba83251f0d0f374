import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hubNameFor, LiveHub, liveHubFor } from "../../worker/realtime/live-hub.ts";
import { decodeHubName, encodeHubName, signTicket, verifyTicket } from "../../worker/realtime/tickets.ts";

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

  it(
    "signs tickets for any hub name and verifies them without a Durable Object: a changed part, " +
      "an expired one or another key fails",
    async () => {
      const keyed = { TURSO_AUTH_TOKEN: "token-a", JWT_SECRET: "" };
      const later = Date.now() + 30_000;
      for (const hub of ["org:acme", "user:ünïcødé-✓", `user:${"s".repeat(400)}`]) {
        expect(decodeHubName(encodeHubName(hub))).toBe(hub);
        const ticket = await signTicket(keyed, hub, later);
        expect(await verifyTicket(keyed, ticket)).toEqual({ ok: true, hub });
      }
      const ticket = await signTicket(keyed, "org:acme", later);
      const [, expires, nonce, mac] = ticket.split(".");
      expect(await verifyTicket(keyed, `${encodeHubName("org:other")}.${expires}.${nonce}.${mac}`)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/signature/),
      });
      expect(await verifyTicket({ TURSO_AUTH_TOKEN: "token-b" }, ticket)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/signature/),
      });
      expect(await verifyTicket({ ...keyed, LIVE_TICKET_SECRET: "own" }, ticket)).toMatchObject({ ok: false });
      expect(await verifyTicket(keyed, ticket, later + 1)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/expired/),
      });
      expect(await verifyTicket({}, ticket)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/not configured/),
      });
      await expect(signTicket({}, "org:acme", later)).rejects.toThrow(/LIVE_TICKET_SECRET/);
      for (const bad of [
        "",
        "abc",
        `${encodeHubName("org:acme")}.${"ab".repeat(32)}`,
        `${encodeHubName("service:health")}.${expires}.${nonce}.${mac}`,
        `!!!.${expires}.${nonce}.${mac}`,
      ]) {
        expect((await verifyTicket(keyed, bad)).ok, bad).toBe(false);
      }
    },
  );
});
