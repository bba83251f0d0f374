// The served OpenAPI document against the app itself: every route Hono registers is in the
// document with the same method and path parameters, and for every operation the statuses
// that probes provoke — no token (401), a token without the permission (403), an unknown
// field (400), an id that does not exist (404), a body over the limit (413), a CSV import
// sent as JSON (415), a name used twice (409), a matching If-None-Match on a conditional read
// (304) — are the ones expected and are declared in the document for that operation. (The
// fuzz test, fuzz.test.ts, checks the same for every status it sees.)
import { beforeAll, describe, expect, it } from "vitest";
import { routeKey, routes, type RouteContract } from "../../worker/api/contract.ts";
import { permissions } from "../../worker/auth/permissions.ts";
import { app } from "../../worker/index.ts";
import { tokenFor } from "../support/tokens.ts";
import { call, ensureBatchOutput, json, waitForIdleRuns } from "./support.ts";

const owner = "statuses-owner";
const own = { sub: owner, org: "statuses-org" } as const;
type Document = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; parameters: { name: string; in: string }[] }>
  >;
};
let document: Document;
const fixture = { portfolio: "", position: "", scenario: "" };

beforeAll(async () => {
  await ensureBatchOutput();
  document = await json<Document>(await call("/openapi.json", { token: null }));
  fixture.portfolio = (
    await json<{ id: string }>(
      await call("/portfolios", { ...own, method: "POST", body: { name: `statuses ${crypto.randomUUID()}` } }),
      201,
    )
  ).id;
  const position = { symbol: "SPY", instrument: "etf", quantity: 1, opened_on: "2026-01-02" };
  fixture.position = (
    await json<{ id: string }>(
      await call(`/portfolios/${fixture.portfolio}/positions`, { ...own, method: "POST", body: position }),
      201,
    )
  ).id;
  const scenario = { name: `statuses ${crypto.randomUUID()}`, shocks: { market_beta: -0.1 } };
  fixture.scenario = (
    await json<{ id: string }>(await call("/stress/scenarios", { ...own, method: "POST", body: scenario }), 201)
  ).id;
});

const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, "{$1}");
const declared = (route: RouteContract) =>
  Object.keys(document.paths[openApiPath(route.path)]![route.method]!.responses).map(Number);
const all = Object.entries(routes) as [string, RouteContract][];
/** Routes that take no query parameters and refuse any (worker/http/validate.ts `noQuery`). */
const rejectsAnyQuery = new Set([
  "listFactors",
  "listScenarios",
  "createScenario",
  "deleteScenario",
  "listEpisodes",
  "createEpisode",
  "deleteEpisode",
  "whatIf",
  "runStress",
  "hedgePortfolio",
  "runBatch",
  "backfillBatch",
  "uploadPrices",
]);

/** A request for the route that passes validation: ids filled in, a valid body. */
function requestFor(route: RouteContract, ids: { portfolio: string; position: string; scenario: string; run: string }) {
  const path = route.path
    .replace(":symbol", "SPY")
    .replace(":positionId", ids.position)
    .replace(
      ":id",
      route.path.startsWith("/stress/") ? ids.scenario : route.path.startsWith("/admin/") ? ids.run : ids.portfolio,
    );
  const bodies: Partial<Record<string, unknown>> = {
    "POST /portfolios": { name: `probe ${crypto.randomUUID()}` },
    "PATCH /portfolios/:id": { cash: 5 },
    "POST /portfolios/:id/positions": { symbol: "SPY", instrument: "etf", quantity: 1, opened_on: "2026-01-02" },
    "PATCH /portfolios/:id/positions/:positionId": { quantity: 2 },
    "POST /portfolios/:id/stress": { shocks: { market_beta: -0.1 } },
    "POST /portfolios/:id/hedge": { target: "total" },
    "POST /stress/scenarios": { name: `probe ${crypto.randomUUID()}`, shocks: { market_beta: -0.1 } },
    "POST /what-if": { holdings: [] },
    "POST /admin/batch/run": { date: "2026-06-30", portfolio_id: "probe-missing" },
    "POST /admin/batch/backfill": { from: "2026-06-29", to: "2026-06-30", portfolio_id: "probe-missing" },
    "POST /admin/market-data/prices": { prices: [] },
    "PATCH /webhooks/:id": { description: "probe" },
  };
  const queries: Partial<Record<string, string>> = {
    "GET /portfolios/:id/exposures/stocks": "factor=market_beta",
    "GET /admin/dual-write/report": "start_date=2026-06-29&end_date=2026-06-30",
  };
  const query = queries[routeKey(route)];
  const body =
    route.bodyMediaType === "text/csv"
      ? "symbol,instrument,quantity,opened_on\nSPY,etf,1,2026-01-02\n"
      : bodies[routeKey(route)];
  const headers = route.bodyMediaType === "text/csv" ? { "content-type": "text/csv" } : undefined;
  return { path, query, body, headers };
}

async function probe(
  route: RouteContract,
  options: {
    token?: string | null;
    sub?: string;
    extraQuery?: string;
    body?: unknown;
    headers?: Record<string, string>;
    path?: string;
  },
) {
  const request = requestFor(route, { ...fixture, run: "probe-missing-run" });
  const query = [request.query, options.extraQuery].filter(Boolean).join("&");
  const headers = options.headers ?? request.headers;
  const body = "body" in options ? options.body : request.body;
  return call(`${options.path ?? request.path}${query ? `?${query}` : ""}`, {
    method: route.method.toUpperCase(),
    ...(options.token === undefined ? { sub: options.sub ?? owner, org: own.org } : { token: options.token }),
    ...(body === undefined ? {} : { body }),
    ...(headers ? { headers } : {}),
  });
}

describe("the OpenAPI document and the app", () => {
  it("documents every route the app registers, with the same method and path parameters", () => {
    const served = app.routes.filter((route) => route.method !== "ALL");
    expect(served.length).toBeGreaterThanOrEqual(all.length);
    for (const route of served) {
      const path = route.path.replace(/^\/api\/v1/, "").replace(/(.)\/$/, "$1");
      const operation = document.paths[openApiPath(path)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${path}`).toBeDefined();
      const names = [...path.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]).sort();
      expect(
        operation!.parameters
          .filter((parameter) => parameter.in === "path")
          .map((parameter) => parameter.name)
          .sort(),
        `${route.method} ${path}`,
      ).toEqual(names);
    }
  });

  it("declares, per operation, the statuses that probes for each error class provoke", async () => {
    const observed: string[] = [];
    const expectStatus = async (
      name: string,
      route: RouteContract,
      response: Response,
      expected: number | number[],
      what: string,
    ) => {
      await response.arrayBuffer();
      const allowed = Array.isArray(expected) ? expected : [expected];
      expect(allowed, `${name} ${what}: got ${response.status}`).toContain(response.status);
      expect(declared(route), `${name} ${what}: ${response.status} is not declared`).toContain(response.status);
      observed.push(`${name}:${response.status}`);
    };
    for (const [name, route] of all) {
      const isProtected = route.permission !== "public" && route.permission !== "ticket";
      if (route.permission === "public")
        await expectStatus(name, route, await probe(route, { token: null }), 200, "a public read");
      if (isProtected) {
        await expectStatus(name, route, await probe(route, { token: null }), 401, "no token");
        const others = permissions.filter((permission) => permission !== route.permission);
        await expectStatus(
          name,
          route,
          await probe(route, { token: await tokenFor(owner, others, { org: own.org }) }),
          403,
          "without the permission",
        );
      }
      // A conditional read: a 200 with an ETag, then 304 for a matching If-None-Match. The
      // probes above start history runs and refreshes, which move the data version: the pair is
      // tried again (a few times) when the tag moved in between.
      if (route.conditional) {
        await waitForIdleRuns();
        let revalidated: Response | undefined;
        for (let attempt = 0; attempt < 5 && revalidated?.status !== 304; attempt++) {
          await revalidated?.arrayBuffer();
          const plain = await probe(route, {});
          const etag = plain.headers.get("etag");
          await expectStatus(name, route, plain, 200, "a plain read");
          expect(etag, `${name}: the 200 carries an ETag`).toMatch(/^W\/"/);
          revalidated = await probe(route, { headers: { "if-none-match": etag ?? "" } });
        }
        await expectStatus(
          name,
          route,
          revalidated ?? new Response(null, { status: 599 }),
          304,
          "a matching If-None-Match",
        );
      }
      // An unknown query key: a 400 on every route that validates its query (a query schema, or
      // none taken at all). Routes of worker/routes/portfolios.ts and the live upgrade (which reads
      // its ticket by hand) still ignore unknown keys.
      if ((route.query !== undefined && route.permission !== "ticket") || rejectsAnyQuery.has(name)) {
        await expectStatus(
          name,
          route,
          await probe(route, { extraQuery: "constructor=1" }),
          400,
          "an unknown query key",
        );
      }
      if (route.body !== undefined) {
        await expectStatus(
          name,
          route,
          await probe(route, { body: { unknown_probe: 1 } }),
          400,
          "an unknown body field",
        );
        // The price upload's limit is 16 MiB; every other JSON body's 64 KiB.
        const big = JSON.stringify({ pad: "x".repeat(70_000) });
        const expected = name === "uploadPrices" ? 400 : 413;
        await expectStatus(
          name,
          route,
          await probe(route, { body: big, headers: { "content-type": "application/json" } }),
          expected,
          "a body over 64 KiB",
        );
      }
      if (route.params !== undefined) {
        const missing = route.path.replace(/:[A-Za-z]+/g, (match) =>
          match === ":symbol" ? "ZZZZNOPE" : "probe-missing-id",
        );
        await expectStatus(name, route, await probe(route, { path: missing }), 404, "an id that does not exist");
      }
    }
    // Ids in bodies and queries, the CSV media type, name conflicts, the live upgrade.
    await expectStatus(
      "whatIf",
      routes.whatIf,
      await call("/what-if", { ...own, method: "POST", body: { holdings: [], portfolio_id: "probe-missing" } }),
      404,
      "a missing portfolio_id",
    );
    await expectStatus("runBatch", routes.runBatch, await probe(routes.runBatch, {}), 404, "a missing portfolio_id");
    await expectStatus(
      "backfillBatch",
      routes.backfillBatch,
      await probe(routes.backfillBatch, {}),
      404,
      "a missing portfolio_id",
    );
    await expectStatus(
      "dualWriteReport",
      routes.dualWriteReport,
      await probe(routes.dualWriteReport, { extraQuery: "portfolio_id=probe-missing" }),
      404,
      "a missing portfolio_id",
    );
    await expectStatus(
      "importPositions",
      routes.importPositions,
      await probe(routes.importPositions, { headers: { "content-type": "application/json" } }),
      415,
      "JSON instead of CSV",
    );
    const name = `twice ${crypto.randomUUID()}`;
    await json(await call("/portfolios", { ...own, method: "POST", body: { name } }), 201);
    await expectStatus(
      "createPortfolio",
      routes.createPortfolio,
      await call("/portfolios", { ...own, method: "POST", body: { name } }),
      409,
      "a name used twice",
    );
    await expectStatus(
      "updatePortfolio",
      routes.updatePortfolio,
      await call(`/portfolios/${fixture.portfolio}`, { ...own, method: "PATCH", body: { name } }),
      409,
      "a name used twice",
    );
    const scenario = { name: `twice ${crypto.randomUUID()}`, shocks: { value: 0.1 } };
    await json(await call("/stress/scenarios", { ...own, method: "POST", body: scenario }), 201);
    await expectStatus(
      "createScenario",
      routes.createScenario,
      await call("/stress/scenarios", { ...own, method: "POST", body: scenario }),
      409,
      "a name used twice",
    );
    await expectStatus(
      "liveConnect",
      routes.liveConnect,
      await call("/live?ticket=x", { token: null }),
      426,
      "no upgrade",
    );
    expect(new Set(observed.map((entry) => entry.split(":")[0])).size).toBe(all.length);
  });
});
