// Conditional GETs (worker/http/etag.ts, worker/db/data-version.ts): the routes that answer
// stored results carry a weak ETag derived from a data version; If-None-Match answers 304
// without a body while nothing the answer depends on changed, and 200 with a new tag once
// something did — a portfolio edit, a position change (and the stored numbers it refreshes), a
// batch run. Tags never validate across callers, queries or formats.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { batchRuns, portfolioFactorExposures, portfolioSnapshots } from "../../schema/index.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import { call, db, ensureBatchOutput, json, latestDate, waitForIdleRuns } from "./support.ts";

const owner = "etag-owner";
const own = { sub: owner, org: "etag-org" } as const;
let portfolio = "";

/** Waits until `check` holds, polling every 100 ms, up to 30 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  await ensureBatchOutput();
  portfolio = (
    await json<{ id: string }>(
      await call("/portfolios", { ...own, method: "POST", body: { name: `etag ${crypto.randomUUID()}`, cash: 1_000 } }),
      201,
    )
  ).id;
  const position = { symbol: "SPY", instrument: "etf", quantity: 10, opened_on: "2026-01-02" };
  await json(await call(`/portfolios/${portfolio}/positions`, { ...own, method: "POST", body: position }), 201);
  // The position's refresh stores the latest date's numbers; its history run the dates before.
  await eventually("the new portfolio has a snapshot on the latest date", async () => {
    const row = await db
      .select({ date: portfolioSnapshots.date })
      .from(portfolioSnapshots)
      .where(and(eq(portfolioSnapshots.portfolioId, portfolio), eq(portfolioSnapshots.date, latestDate)))
      .get();
    return row !== undefined;
  });
  await waitForIdleRuns();
});

/** The conditional routes, each with a request that answers 200. */
const routes = () => [
  `/data/symbols?limit=5&sort_by=market_cap&sort_order=desc`,
  `/data/sectors`,
  `/data/symbols/SPY`,
  `/portfolios/${portfolio}/exposures?benchmark=SPY`,
  `/portfolios/${portfolio}/exposures/stocks?factor=market_beta`,
];

async function tagOf(path: string, options: Parameters<typeof call>[1] = own): Promise<string> {
  const response = await call(path, options);
  const text = await response.text();
  expect(response.status, `${path}: ${text.slice(0, 300)}`).toBe(200);
  const etag = response.headers.get("etag");
  expect(etag, path).toMatch(/^W\/"[A-Za-z0-9_-]{43}"$/);
  return etag ?? "";
}

async function revalidate(path: string, ifNoneMatch: string, options: Parameters<typeof call>[1] = own) {
  const response = await call(path, { ...options, headers: { "if-none-match": ifNoneMatch } });
  return {
    status: response.status,
    etag: response.headers.get("etag"),
    headers: response.headers,
    text: await response.text(),
  };
}

describe("conditional GETs", () => {
  it("tag each 200 with a weak ETag, private no-cache and Vary on the token and the format", async () => {
    for (const path of routes()) {
      const response = await call(path, own);
      await response.arrayBuffer();
      expect(response.status, path).toBe(200);
      expect(response.headers.get("etag"), path).toMatch(/^W\/"[A-Za-z0-9_-]{43}"$/);
      expect(response.headers.get("cache-control"), path).toBe("private, no-cache");
      expect(response.headers.get("vary"), path).toBe("Authorization, Accept");
    }
  });

  it(
    "answer If-None-Match with the same tag 304, without a body, " + "with the validators and security headers",
    async () => {
      for (const path of routes()) {
        const etag = await tagOf(path);
        expect(await tagOf(path), `${path}: the tag is stable while nothing changes`).toBe(etag);
        const answer = await revalidate(path, etag);
        expect(answer.status, path).toBe(304);
        expect(answer.text, path).toBe("");
        expect(answer.headers.get("content-type"), path).toBeNull();
        expect(answer.etag, path).toBe(etag);
        expect(answer.headers.get("cache-control"), path).toBe("private, no-cache");
        expect(answer.headers.get("vary"), path).toBe("Authorization, Accept");
        expect(answer.headers.get("x-content-type-options"), path).toBe("nosniff");
      }
    },
  );

  it("compare weakly, accept lists and *, and answer 200 to a tag that does not match or is malformed", async () => {
    const path = routes()[3] ?? "";
    const etag = await tagOf(path);
    const strong = etag.replace(/^W\//, "");
    expect((await revalidate(path, strong)).status, "the same opaque tag without W/").toBe(304);
    expect((await revalidate(path, `"other", ${etag}`)).status, "a list holding it").toBe(304);
    expect((await revalidate(path, `W/"other",${strong}`)).status, "a list holding it, strong").toBe(304);
    expect((await revalidate(path, "*")).status, "*").toBe(304);
    for (const other of ['W/"other"', '"other"', `${etag.slice(0, -2)}"`, "W/abc", etag.replaceAll('"', ""), ""]) {
      const answer = await revalidate(path, other);
      expect(answer.status, `If-None-Match: ${other}`).toBe(200);
      expect(answer.etag, `If-None-Match: ${other}`).toBe(etag);
      expect((JSON.parse(answer.text) as ExposuresResponse).portfolio_id).toBe(portfolio);
    }
  });

  it("never share a 304 between callers, queries or formats", async () => {
    const stranger = { sub: "etag-stranger", org: "etag-stranger-org" } as const;
    for (const path of routes()) {
      const etag = await tagOf(path);
      const answer = await revalidate(path, etag, stranger);
      // Another tenant's portfolio is a 404 as before; market data is a 200 with its own tag.
      expect(answer.status, `${path} for another tenant`).toBe(path.startsWith("/portfolios/") ? 404 : 200);
      expect(answer.etag, `${path} for another tenant`).not.toBe(etag);
      // `*` does not reveal another tenant's portfolio either.
      if (path.startsWith("/portfolios/")) expect((await revalidate(path, "*", stranger)).status).toBe(404);
    }
    // The same caller without VIEW_ALL_POSITIONS has another scope: another tag.
    const narrow = { ...own, permissions: ["VIEW_FACTOR_ANALYTICS" as const] };
    const exposures = routes()[3] ?? "";
    expect((await revalidate(exposures, await tagOf(exposures), narrow)).status).toBe(200);

    const symbols = "/data/symbols?limit=5&sort_by=market_cap&sort_order=desc";
    const etag = await tagOf(symbols);
    expect((await revalidate("/data/symbols?limit=6&sort_by=market_cap&sort_order=desc", etag)).status).toBe(200);
    // The same parameters in another order are the same request.
    expect((await revalidate("/data/symbols?sort_order=desc&sort_by=market_cap&limit=5", etag)).status).toBe(304);
    const csv = await call(symbols, { ...own, headers: { accept: "text/csv", "if-none-match": etag } });
    expect(csv.status, "CSV is another representation").toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const csvTag = csv.headers.get("etag") ?? "";
    await csv.arrayBuffer();
    expect(csvTag).not.toBe(etag);
    const again = await call(symbols, { ...own, headers: { accept: "text/csv", "if-none-match": csvTag } });
    expect(again.status).toBe(304);
    await again.arrayBuffer();
  });

  it("answer 200 with a new tag after a portfolio edit and after a position change", async () => {
    const [exposures, drillDown] = [routes()[3] ?? "", routes()[4] ?? ""];
    const [exposuresTag, drillDownTag] = [await tagOf(exposures), await tagOf(drillDown)];
    const symbolsTag = await tagOf(routes()[0] ?? "");

    await json(await call(`/portfolios/${portfolio}`, { ...own, method: "PATCH", body: { cash: 2_000 } }));
    for (const [path, etag] of [
      [exposures, exposuresTag],
      [drillDown, drillDownTag],
    ] as const) {
      const answer = await revalidate(path, etag);
      expect(answer.status, `${path} after the cash changed`).toBe(200);
      expect(answer.etag).not.toBe(etag);
      expect(answer.text.length).toBeGreaterThan(0);
    }
    // Market data did not change: its tag still validates.
    expect((await revalidate(routes()[0] ?? "", symbolsTag)).status).toBe(304);
    await waitForIdleRuns();

    // A position change: the drill-down aggregates positions, so its tag changes at once. The
    // exposures are stored numbers, which the change's refresh (and history run) rewrite after
    // the answer: the tag moves with them, and the new one validates once they settled.
    const before = await json<ExposuresResponse>(await call(exposures, own));
    const exposuresBefore = await tagOf(exposures);
    const drillDownBefore = await tagOf(drillDown);
    const position = { symbol: "QQQ", instrument: "etf", quantity: 5, opened_on: "2026-01-02" };
    await json(await call(`/portfolios/${portfolio}/positions`, { ...own, method: "POST", body: position }), 201);
    expect((await revalidate(drillDown, drillDownBefore)).status).toBe(200);
    await eventually("the new position's exposures are stored", async () => {
      const after = await json<ExposuresResponse>(await call(exposures, own));
      return JSON.stringify(after) !== JSON.stringify(before);
    });
    await waitForIdleRuns();
    const answer = await revalidate(exposures, exposuresBefore);
    expect(answer.status).toBe(200);
    expect(answer.etag).not.toBe(exposuresBefore);
    // Once the refresh has written, the tag is stable again (a refresh after the last check
    // may still be writing: wait for two equal tags in a row).
    let settled = await tagOf(exposures);
    await eventually("the exposures' tag is stable", async () => {
      const next = await tagOf(exposures);
      const stable = next === settled;
      settled = next;
      return stable;
    });
    expect((await revalidate(exposures, settled)).status).toBe(304);
  });

  it(
    "answer 200 with a new tag when the stored numbers a position change refreshes change, " + "with no batch run",
    async () => {
      // What refreshLatestExposures writes (worker/realtime/publish.ts), outside any run: the
      // latest date's exposure rows and snapshot. Written here directly, then put back.
      const exposures = routes()[3] ?? "";
      await waitForIdleRuns();
      const etag = await tagOf(exposures);
      const where = and(
        eq(portfolioFactorExposures.portfolioId, portfolio),
        eq(portfolioFactorExposures.calculationDate, latestDate),
      );
      const rows = await db.select().from(portfolioFactorExposures).where(where);
      expect(rows.length).toBeGreaterThan(0);
      const [first] = rows;
      if (first === undefined) return;
      const one = and(where, eq(portfolioFactorExposures.factorId, first.factorId));
      await db
        .update(portfolioFactorExposures)
        .set({ exposureDollar: first.exposureDollar + 1 })
        .where(one);
      try {
        const changed = await revalidate(exposures, etag);
        expect(changed.status).toBe(200);
        expect(changed.etag).not.toBe(etag);
      } finally {
        await db.update(portfolioFactorExposures).set({ exposureDollar: first.exposureDollar }).where(one);
      }
      // Put back, the same numbers: the same tag as before.
      expect((await revalidate(exposures, etag)).status).toBe(304);
    },
  );

  it("answer 200 with a new tag after a batch run", async () => {
    const tags = new Map<string, string>();
    for (const path of routes()) tags.set(path, await tagOf(path));
    // A run for the latest date limited to this portfolio: the symbol phases find their work
    // done, the portfolio's numbers are written again (unchanged). The run is new data all the same.
    const started = await call("/admin/batch/run", {
      sub: "etag-operator",
      permissions: ["RUN_BATCH"],
      method: "POST",
      body: { date: latestDate, portfolio_id: portfolio },
    });
    const { run_id: runId } = await json<{ run_id: string }>(started, started.status === 200 ? 200 : 202);
    await eventually("the run ended", async () => {
      const run = await db.select({ status: batchRuns.status }).from(batchRuns).where(eq(batchRuns.id, runId)).get();
      return run !== undefined && run.status !== "queued" && run.status !== "running";
    });
    for (const [path, etag] of tags) {
      const answer = await revalidate(path, etag);
      expect(answer.status, `${path} after a batch run`).toBe(200);
      expect(answer.etag).not.toBe(etag);
      // And the new tag validates again while nothing changes.
      expect((await revalidate(path, answer.etag ?? "")).status, path).toBe(304);
    }
  });

  it("leave the other routes uncached: no ETag, no-store", async () => {
    const response = await call(`/portfolios/${portfolio}`, own);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});
