// Issue 15: one tenant cannot hurt another. Caps are configuration (worker/quotas.ts) with clear
// 4xx answers that write nothing, and the shared universe does not tell one org what another holds.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { positions, symbolUniverse } from "../../schema/index.ts";
import type { PortfolioResponse } from "../../worker/api/portfolios.ts";
import { app } from "../../worker/index.ts";
import { allPermissions, tokenFor } from "../support/tokens.ts";
import { call, db, errorOf, json } from "./support.ts";

async function createPortfolio(
  sub: string,
  org: string | null,
  name = `Quota ${crypto.randomUUID()}`,
): Promise<string> {
  return (await json<PortfolioResponse>(await call("/portfolios", { method: "POST", sub, org, body: { name } }), 201))
    .id;
}

function csvOf(symbols: readonly string[]): string {
  return ["symbol,instrument,quantity,opened_on", ...symbols.map((symbol) => `${symbol},stock,1,2026-01-05`)].join(
    "\n",
  );
}

function importCsv(
  portfolioId: string,
  sub: string,
  org: string | null,
  csv: string,
  mode = "append",
): Promise<Response> {
  return call(`/portfolios/${portfolioId}/positions/import?mode=${mode}`, {
    method: "POST",
    sub,
    org,
    body: csv,
    headers: { "content-type": "text/csv" },
  });
}

/** The Worker with other vars, through its app (waitUntil work finishes before this returns). */
async function callWith(
  overrides: Partial<Record<string, string>>,
  path: string,
  init: { sub: string; org: string | null; method?: string; body?: string; contentType?: string },
) {
  const token = await tokenFor(init.sub, allPermissions, { org: init.org });
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`http://localhost/api/v1${path}`, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${token}`, ...(init.contentType ? { "content-type": init.contentType } : {}) },
      ...(init.body === undefined ? {} : { body: init.body }),
    }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

describe("caps", () => {
  it("caps portfolios per owner (MAX_PORTFOLIOS_PER_OWNER) with a 409 naming the limit", async () => {
    const sub = "quota-many-portfolios";
    for (let i = 0; i < 3; i++) {
      const response = await callWith({ MAX_PORTFOLIOS_PER_OWNER: "3" }, "/portfolios", {
        sub,
        org: null,
        method: "POST",
        body: JSON.stringify({ name: `P${i}` }),
        contentType: "application/json",
      });
      expect(response.status).toBe(201);
    }
    const refused = await callWith({ MAX_PORTFOLIOS_PER_OWNER: "3" }, "/portfolios", {
      sub,
      org: null,
      method: "POST",
      body: JSON.stringify({ name: "P3" }),
      contentType: "application/json",
    });
    const error = await errorOf(refused, 409);
    expect(error).toMatchObject({ code: "QUOTA_EXCEEDED", message: expect.stringMatching(/you own 3 portfolios/) });
    expect(JSON.stringify(error.details)).toContain("MAX_PORTFOLIOS_PER_OWNER");
    // Another owner is not affected.
    expect(
      (
        await callWith({ MAX_PORTFOLIOS_PER_OWNER: "3" }, "/portfolios", {
          sub: "quota-other-owner",
          org: null,
          method: "POST",
          body: JSON.stringify({ name: "P0" }),
          contentType: "application/json",
        })
      ).status,
    ).toBe(201);
  });

  it(
    "caps positions per portfolio at the default 10,000: a full import is taken, " +
      "one more is a 409 and writes nothing",
    async () => {
      const sub = "quota-big-book";
      const org = "quota-big-org";
      const id = await createPortfolio(sub, org);
      // 10,000 positions over three symbols every test database has.
      const symbols = Array.from({ length: 10_000 }, (_, i) => ["SPY", "QQQ", "IWM"][i % 3]!);
      const imported = await json<{ imported: number }>(await importCsv(id, sub, org, csvOf(symbols)));
      expect(imported.imported).toBe(10_000);
      const one = await call(`/portfolios/${id}/positions`, {
        method: "POST",
        sub,
        org,
        body: { symbol: "SPY", instrument: "etf", quantity: 1, opened_on: "2026-01-05" },
      });
      expect(await errorOf(one, 409)).toMatchObject({
        code: "QUOTA_EXCEEDED",
        message: expect.stringMatching(/10001 positions \(10000 now, 1 new\), over the limit of 10000/),
      });
      expect(await errorOf(await importCsv(id, sub, org, csvOf(["SPY"])), 409)).toMatchObject({
        code: "QUOTA_EXCEEDED",
      });
      const stored = await db.select({ id: positions.id }).from(positions).where(eq(positions.portfolioId, id));
      expect(stored).toHaveLength(10_000);
      // Replacing counts only what the file brings.
      expect(
        (await json<{ imported: number }>(await importCsv(id, sub, org, csvOf(["SPY", "QQQ"]), "replace"))).imported,
      ).toBe(2);
      await call(`/portfolios/${id}`, { method: "DELETE", sub, org });
    },
  );

  it(
    "caps new universe symbols per tenant per day with a 429 and Retry-After, " +
      "counting only symbols new to the service",
    async () => {
      const sub = "quota-symbol-adder";
      const org = "quota-symbol-org";
      const id = await createPortfolio(sub, org);
      const fresh = Array.from({ length: 4 }, (_, i) => `ZQ${crypto.randomUUID().slice(0, 6).toUpperCase()}${i}`);
      const limits = { MAX_NEW_SYMBOLS_PER_DAY: "3" };
      const refused = await callWith(limits, `/portfolios/${id}/positions/import`, {
        sub,
        org,
        method: "POST",
        body: csvOf([...fresh, "SPY"]),
        contentType: "text/csv",
      });
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      const error = await errorOf(refused, 429);
      expect(error).toMatchObject({
        code: "QUOTA_EXCEEDED",
        message: expect.stringMatching(/4 of these symbols are new.*over the 3 new symbols a tenant may add per day/),
      });
      expect(await db.select().from(symbolUniverse).where(eq(symbolUniverse.symbol, fresh[0]!))).toEqual([]);
      expect(await db.select().from(positions).where(eq(positions.portfolioId, id))).toEqual([]);
      // Three fit; then the day's quota is spent, while known symbols still go in.
      expect(
        (
          await callWith(limits, `/portfolios/${id}/positions/import`, {
            sub,
            org,
            method: "POST",
            body: csvOf(fresh.slice(0, 3)),
            contentType: "text/csv",
          })
        ).status,
      ).toBe(200);
      expect((await db.select().from(symbolUniverse).where(eq(symbolUniverse.symbol, fresh[0]!)).get())?.addedBy).toBe(
        `org:${org}`,
      );
      expect(
        (
          await callWith(limits, `/portfolios/${id}/positions/import`, {
            sub,
            org,
            method: "POST",
            body: csvOf([fresh[3]!]),
            contentType: "text/csv",
          })
        ).status,
      ).toBe(429);
      expect(
        (
          await callWith(limits, `/portfolios/${id}/positions/import`, {
            sub,
            org,
            method: "POST",
            body: csvOf(["SPY", fresh[0]!]),
            contentType: "text/csv",
          })
        ).status,
      ).toBe(200);
      // Another org has its own quota.
      const otherId = await createPortfolio("quota-other-adder", "quota-other-org");
      expect(
        (
          await callWith(limits, `/portfolios/${otherId}/positions/import`, {
            sub: "quota-other-adder",
            org: "quota-other-org",
            method: "POST",
            body: csvOf([fresh[3]!]),
            contentType: "text/csv",
          })
        ).status,
      ).toBe(200);
    },
  );

  it("imports 7,000 distinct new tickers in one file without passing SQLite's variable limit", async () => {
    const sub = "quota-wide-book";
    const org = "quota-wide-org";
    const id = await createPortfolio(sub, org);
    const tag = crypto.randomUUID().slice(0, 4).toUpperCase();
    const tickers = Array.from({ length: 7_000 }, (_, i) => `W${tag}${i}`);
    const response = await callWith({ MAX_NEW_SYMBOLS_PER_DAY: "10000" }, `/portfolios/${id}/positions/import`, {
      sub,
      org,
      method: "POST",
      body: csvOf(tickers),
      contentType: "text/csv",
    });
    expect(response.status, (await response.clone().text()).slice(0, 300)).toBe(200);
    expect((await response.json<{ imported: number }>()).imported).toBe(7_000);
    await call(`/portfolios/${id}`, { method: "DELETE", sub, org });
  });
});

describe("a universe that does not leak holdings", () => {
  it(
    "shows a ticker one org brought in only to that org until it has prices, " + "also after its positions are gone",
    async () => {
      const ticker = `ZL${crypto.randomUUID().slice(0, 6).toUpperCase()}`;
      const holder = { sub: "leak-holder", org: "leak-holder-org" };
      const outsider = { sub: "leak-outsider", org: "leak-outsider-org" };
      expect((await errorOf(await call(`/data/symbols/${ticker}`, outsider), 404)).code).toBe("NOT_FOUND");
      const id = await createPortfolio(holder.sub, holder.org);
      expect(
        (
          await call(`/portfolios/${id}/positions`, {
            method: "POST",
            ...holder,
            body: { symbol: ticker, instrument: "stock", quantity: 5, opened_on: "2026-01-05" },
          })
        ).status,
      ).toBe(201);
      expect((await call(`/data/symbols/${ticker}`, holder)).status).toBe(200);
      const hidden = await errorOf(await call(`/data/symbols/${ticker}`, outsider), 404);
      expect(hidden.message).toBe(`symbol ${ticker} is not in the universe`);
      await call(`/portfolios/${id}`, { method: "DELETE", ...holder });
      expect((await call(`/data/symbols/${ticker}`, outsider)).status).toBe(404);
      // Market data the service keeps is everyone's.
      expect((await call("/data/symbols/SPY", outsider)).status).toBe(200);
    },
  );
});
