// Portfolios, positions, the CSV import, exposures, the drill-down, stress tests and what-if,
// over the batch's real output; and the typed client against AppType.
import { exports } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { hc } from "hono/client";
import { beforeAll, describe, expect, it } from "vitest";
import { portfolioFactorExposures, portfolioSnapshots, symbolFactorExposures } from "../../schema/index.ts";
import {
  type DrillDownResponse,
  type ExposuresResponse,
  type StressResponse,
  type WhatIfResponse,
  whatIfResponseSchema,
} from "../../worker/api/analytics.ts";
import type { PortfolioResponse, PositionResponse } from "../../worker/api/portfolios.ts";
import type { AppType } from "../../worker/index.ts";
import { tokenFor } from "../support/tokens.ts";
import { batchDates, call, db, demoOwner, ensureBatchOutput, errorOf, json, latestDate } from "./support.ts";

beforeAll(ensureBatchOutput);

const owner = "pf-owner";
const own = { sub: owner, org: "pf-org" } as const;

async function createPortfolio(name: string, extra: Record<string, unknown> = {}): Promise<PortfolioResponse> {
  return json<PortfolioResponse>(await call("/portfolios", { ...own, method: "POST", body: { name, ...extra } }), 201);
}

describe("portfolios", () => {
  it(
    "creates, reads, lists, renames and deletes a portfolio of the caller's, " + "with 409 on a duplicate name",
    async () => {
      const created = await createPortfolio("Growth sleeve", { cash: 1_000, benchmark_symbol: "qqq" });
      expect(created).toMatchObject({
        name: "Growth sleeve",
        owner,
        org: "pf-org",
        cash: 1_000,
        benchmark_symbol: "QQQ",
        writable: true,
      });
      expect(await json<PortfolioResponse>(await call(`/portfolios/${created.id}`, own))).toEqual(created);
      const conflict = await errorOf(
        await call("/portfolios", { ...own, method: "POST", body: { name: "Growth sleeve" } }),
        409,
      );
      expect(conflict.code).toBe("CONFLICT");
      const renamed = await json<PortfolioResponse>(
        await call(`/portfolios/${created.id}`, { ...own, method: "PATCH", body: { name: "Growth", cash: 2_500 } }),
      );
      expect(renamed).toMatchObject({ name: "Growth", cash: 2_500 });
      const list = await json<{ portfolios: PortfolioResponse[] }>(await call("/portfolios", own));
      expect(list.portfolios.map((p) => p.id)).toContain(created.id);
      expect((await call(`/portfolios/${created.id}`, { ...own, method: "DELETE" })).status).toBe(204);
      expect((await errorOf(await call(`/portfolios/${created.id}`, own), 404)).code).toBe("NOT_FOUND");
    },
  );

  it("validates bodies: empty name, non-finite cash, a benchmark outside the universe, unknown fields", async () => {
    const error = await errorOf(
      await call("/portfolios", { ...own, method: "POST", body: { name: "", cash: "lots", benchmarkSymbol: "SPY" } }),
      400,
    );
    expect((error.details as { path: string }[]).map((detail) => detail.path).sort()).toEqual([
      "benchmarkSymbol",
      "cash",
      "name",
    ]);
    const benchmark = await errorOf(
      await call("/portfolios", { ...own, method: "POST", body: { name: "x", benchmark_symbol: "NOTHERE" } }),
      400,
    );
    expect(benchmark.details).toEqual([
      { path: "benchmark_symbol", message: expect.stringContaining("not in the universe") },
    ]);
    const invalidJson = await errorOf(
      await call("/portfolios", {
        ...own,
        method: "POST",
        body: "{name:",
        headers: { "content-type": "application/json" },
      }),
      400,
    );
    expect(invalidJson.code).toBe("INVALID_JSON");
  });

  it("shows the org's portfolios read-only with VIEW_ALL_POSITIONS, and hides another owner's as 404", async () => {
    const demoPortfolio = "demo-core-equity";
    const orgReader = { sub: "org-colleague", org: "demo-org" };
    const read = await json<PortfolioResponse>(await call(`/portfolios/${demoPortfolio}`, orgReader));
    expect(read).toMatchObject({ owner: demoOwner, writable: false });
    const write = await errorOf(
      await call(`/portfolios/${demoPortfolio}`, { ...orgReader, method: "PATCH", body: { cash: 1 } }),
      403,
    );
    expect(write.code).toBe("FORBIDDEN");
    const withoutViewAll = { ...orgReader, permissions: ["VIEW_FACTOR_ANALYTICS", "MANAGE_PORTFOLIOS"] as const };
    expect((await errorOf(await call(`/portfolios/${demoPortfolio}`, withoutViewAll), 404)).code).toBe("NOT_FOUND");
    const stranger = { sub: "stranger", org: "other-org" };
    const missing = await errorOf(await call("/portfolios/no-such-portfolio", stranger), 404);
    const foreign = await errorOf(await call(`/portfolios/${demoPortfolio}`, stranger), 404);
    expect(foreign.message.replace(demoPortfolio, "ID")).toBe(missing.message.replace("no-such-portfolio", "ID"));
  });
});

describe("positions", () => {
  it("adds, changes and deletes effective-dated positions, options with their contract fields", async () => {
    const portfolio = await createPortfolio("Positions");
    const stock = await json<PositionResponse>(
      await call(`/portfolios/${portfolio.id}/positions`, {
        ...own,
        method: "POST",
        body: { symbol: "spy", instrument: "etf", quantity: 10, opened_on: "2026-01-02" },
      }),
      201,
    );
    expect(stock).toMatchObject({ symbol: "SPY", instrument: "etf", quantity: 10, closed_on: null, multiplier: null });
    const option = await json<PositionResponse>(
      await call(`/portfolios/${portfolio.id}/positions`, {
        ...own,
        method: "POST",
        body: {
          symbol: "SPY 261218C00600000",
          instrument: "option",
          quantity: -2,
          opened_on: "2026-03-02",
          underlying_symbol: "SPY",
          option_type: "call",
          strike: 600,
          expiry: "2026-12-18",
          implied_vol: 0.2,
        },
      }),
      201,
    );
    expect(option).toMatchObject({ multiplier: 100, implied_vol: 0.2, delta: null, underlying_symbol: "SPY" });
    const closed = await json<PositionResponse>(
      await call(`/portfolios/${portfolio.id}/positions/${stock.id}`, {
        ...own,
        method: "PATCH",
        body: { closed_on: "2026-06-01" },
      }),
    );
    expect(closed.closed_on).toBe("2026-06-01");
    const heldLater = await json<{ positions: PositionResponse[] }>(
      await call(`/portfolios/${portfolio.id}/positions?date=2026-06-15`, own),
    );
    expect(heldLater.positions.map((p) => p.id)).toEqual([option.id]);
    // A change that breaks a rule of the merged position is refused, nothing changes.
    const bad = await errorOf(
      await call(`/portfolios/${portfolio.id}/positions/${option.id}`, {
        ...own,
        method: "PATCH",
        body: { implied_vol: null },
      }),
      400,
    );
    expect(bad.details).toEqual([{ path: "delta", message: expect.stringContaining("needs delta or implied_vol") }]);
    const wrongSign = await errorOf(
      await call(`/portfolios/${portfolio.id}/positions`, {
        ...own,
        method: "POST",
        body: {
          symbol: "X",
          instrument: "option",
          quantity: 1,
          opened_on: "2026-01-02",
          underlying_symbol: "SPY",
          option_type: "put",
          strike: 1,
          expiry: "2026-12-18",
          delta: 0.4,
        },
      }),
      400,
    );
    expect(wrongSign.details).toEqual([{ path: "delta", message: "a put's delta must be in [-1, 0]" }]);
    const stockWithStrike = await errorOf(
      await call(`/portfolios/${portfolio.id}/positions`, {
        ...own,
        method: "POST",
        body: {
          symbol: "SPY",
          instrument: "stock",
          quantity: 1,
          opened_on: "2026-01-02",
          strike: 5,
          closed_on: "2025-01-01",
        },
      }),
      400,
    );
    expect((stockWithStrike.details as { path: string }[]).map((d) => d.path).sort()).toEqual(["closed_on", "strike"]);
    expect(
      (await call(`/portfolios/${portfolio.id}/positions/${option.id}`, { ...own, method: "DELETE" })).status,
    ).toBe(204);
    expect(
      (
        await errorOf(
          await call(`/portfolios/${portfolio.id}/positions/${option.id}`, { ...own, method: "DELETE" }),
          404,
        )
      ).code,
    ).toBe("NOT_FOUND");
  });

  it("imports a CSV all or nothing, reporting every bad line with its field, and replaces on request", async () => {
    const portfolio = await createPortfolio("Import");
    const bad = [
      "symbol,instrument,quantity,opened_on,delta",
      "SPY,etf,10,2026-01-02,",
      "QQQ,etf,abc,2026-01-02,",
      "IWM,bond,5,2026-01-02,",
      "X,option,1,2026-13-01,0.5",
    ].join("\n");
    const error = await errorOf(
      await call(`/portfolios/${portfolio.id}/positions/import`, {
        ...own,
        method: "POST",
        body: bad,
        headers: { "content-type": "text/csv" },
      }),
      400,
    );
    const details = error.details as { line: number; path: string }[];
    expect(details.map((d) => `${d.line}:${d.path}`)).toEqual(
      expect.arrayContaining(["3:quantity", "4:instrument", "5:opened_on", "5:underlying_symbol"]),
    );
    expect(details.some((d) => d.line === 2)).toBe(false);
    expect(
      (await json<{ positions: unknown[] }>(await call(`/portfolios/${portfolio.id}/positions`, own))).positions,
    ).toEqual([]);

    const good = "symbol,instrument,quantity,opened_on\r\nSPY,etf,10,2026-01-02\r\nQQQ,etf,-5,2026-02-02\r\n";
    const imported = await json<{ imported: number; deleted: number }>(
      await call(`/portfolios/${portfolio.id}/positions/import`, {
        ...own,
        method: "POST",
        body: good,
        headers: { "content-type": "text/csv" },
      }),
    );
    expect(imported).toMatchObject({ imported: 2, deleted: 0 });
    const replaced = await json<{ imported: number; deleted: number }>(
      await call(`/portfolios/${portfolio.id}/positions/import?mode=replace`, {
        ...own,
        method: "POST",
        body: "symbol,instrument,quantity,opened_on\nIWM,etf,3,2026-01-05\n",
        headers: { "content-type": "text/csv" },
      }),
    );
    expect(replaced).toMatchObject({ imported: 1, deleted: 2 });
    const after = await json<{ positions: PositionResponse[] }>(
      await call(`/portfolios/${portfolio.id}/positions`, own),
    );
    expect(after.positions.map((p) => p.symbol)).toEqual(["IWM"]);
    expect(
      (
        await errorOf(
          await call(`/portfolios/${portfolio.id}/positions/import`, {
            ...own,
            method: "POST",
            body: good,
            headers: { "content-type": "application/json" },
          }),
          415,
        )
      ).code,
    ).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("refuses an import's date in any form but YYYY-MM-DD, naming the line, the field and the value", async () => {
    const portfolio = await createPortfolio("Import dates");
    const csv = [
      "symbol,instrument,quantity,opened_on,closed_on,underlying_symbol,option_type,strike,expiry,delta",
      "SPY,etf,10,2026-01-02,,,,,,",
      "QQQ,etf,5,12/01/2026,,,,,,",
      "IWM,etf,5,2026-2-1,20260301,,,,,",
      "X,option,1,2026-01-02,,SPY,call,500,2026-02-30,0.5",
    ].join("\n");
    const error = await errorOf(
      await call(`/portfolios/${portfolio.id}/positions/import`, {
        ...own,
        method: "POST",
        body: csv,
        headers: { "content-type": "text/csv" },
      }),
      400,
    );
    expect(error.message).toBe("4 error(s) in the CSV; nothing was imported");
    expect(error.details).toEqual([
      { line: 3, path: "opened_on", message: 'opened_on must be a calendar date YYYY-MM-DD, got "12/01/2026"' },
      { line: 4, path: "opened_on", message: 'opened_on must be a calendar date YYYY-MM-DD, got "2026-2-1"' },
      { line: 4, path: "closed_on", message: 'closed_on must be a calendar date YYYY-MM-DD, got "20260301"' },
      { line: 5, path: "expiry", message: 'expiry must be a calendar date YYYY-MM-DD, got "2026-02-30"' },
    ]);
    expect(
      (await json<{ positions: unknown[] }>(await call(`/portfolios/${portfolio.id}/positions`, own))).positions,
    ).toEqual([]);
  });
});

describe("exposures", () => {
  it(
    "serves the stored exposures per date with the benchmark's betas " + "and the active difference, columnar",
    async () => {
      const body = await json<ExposuresResponse>(
        await call(`/portfolios/demo-long-short/exposures?from=${batchDates[0]}`),
      );
      expect(body.benchmark).toBe("QQQ");
      expect(body.dates).toEqual(batchDates);
      expect(body.factors).toHaveLength(12);
      for (const factor of body.factors) {
        for (const key of [
          "portfolio",
          "exposure_dollar",
          "coverage",
          "r_squared",
          "benchmark",
          "benchmark_r_squared",
          "active",
        ] as const)
          expect(factor[key], `${factor.key}.${key}`).toHaveLength(batchDates.length);
      }
      const stored = await db
        .select()
        .from(portfolioFactorExposures)
        .where(
          and(
            eq(portfolioFactorExposures.portfolioId, "demo-long-short"),
            eq(portfolioFactorExposures.calculationDate, latestDate),
            eq(portfolioFactorExposures.factorId, 1),
          ),
        )
        .get();
      const last = batchDates.length - 1;
      const market = body.factors.find((factor) => factor.key === "market_beta")!;
      // Exact: the numbers cross as round-trip text.
      expect(market.portfolio[last]).toBe(stored!.exposureValue);
      expect(market.exposure_dollar[last]).toBe(stored!.exposureDollar);
      expect(market.coverage[last]).toBe(stored!.coverage);
      expect(market.r_squared[last]).toBe(stored!.rSquared);
      // The holdings' R²: their symbols' R² weighted by |market value × delta| (the drill-down's rows).
      const drill = await json<DrillDownResponse>(
        await call(`/portfolios/demo-long-short/exposures/stocks?factor=market_beta&date=${latestDate}`),
      );
      let weighted = 0;
      let weights = 0;
      for (const row of drill.rows) {
        const beta = await db
          .select()
          .from(symbolFactorExposures)
          .where(
            and(
              eq(symbolFactorExposures.symbol, row.beta_symbol),
              eq(symbolFactorExposures.calculationDate, latestDate),
              eq(symbolFactorExposures.factorId, 1),
            ),
          )
          .get();
        if (beta?.rSquared === null || beta?.rSquared === undefined) continue;
        weighted += Math.abs(row.market_value * row.delta) * beta.rSquared;
        weights += Math.abs(row.market_value * row.delta);
      }
      expect(weights).toBeGreaterThan(0);
      expect(market.r_squared[last]).toBeCloseTo(weighted / weights, 12);
      const allRSquared = body.factors.flatMap((factor) =>
        factor.r_squared.filter((value): value is number => value !== null),
      );
      expect(allRSquared.length).toBeGreaterThan(0);
      expect(allRSquared.every((value) => value >= 0 && value <= 1)).toBe(true);
      const qqq = await db
        .select()
        .from(symbolFactorExposures)
        .where(
          and(
            eq(symbolFactorExposures.symbol, "QQQ"),
            eq(symbolFactorExposures.calculationDate, latestDate),
            eq(symbolFactorExposures.factorId, 1),
          ),
        )
        .get();
      expect(market.benchmark[last]).toBe(qqq!.betaValue);
      expect(market.benchmark_r_squared[last]).toBe(qqq!.rSquared);
      expect(market.active[last]).toBe(market.portfolio[last]! - market.benchmark[last]!);
      expect(body.data_quality).toMatchObject({ date: latestDate, positions_total: expect.any(Number) });
      const snapshot = await db
        .select()
        .from(portfolioSnapshots)
        .where(and(eq(portfolioSnapshots.portfolioId, "demo-long-short"), eq(portfolioSnapshots.date, latestDate)))
        .get();
      expect(body.equity[last]).toBe(snapshot!.equity);
    },
  );

  it(
    "takes a factor subset and benchmark=none, exports CSV, " + "and refuses unknown factors and reversed ranges",
    async () => {
      const body = await json<ExposuresResponse>(
        await call("/portfolios/demo-core-equity/exposures?factors=value,growth&benchmark=none"),
      );
      expect(body.factors.map((factor) => factor.key)).toEqual(["value", "growth"]);
      expect(body.benchmark).toBeNull();
      expect(
        body.factors.every(
          (factor) =>
            factor.benchmark.every((value) => value === null) && factor.active.every((value) => value === null),
        ),
      ).toBe(true);
      const csv = await call("/portfolios/demo-core-equity/exposures?factors=value&format=csv");
      const lines = (await csv.text()).trim().split("\r\n");
      expect(lines[0]).toBe(
        "date,factor_key,portfolio,exposure_dollar,coverage,r_squared,benchmark,active,standard_error," +
          "standard_error_reason,distinguishable,benchmark_standard_error,benchmark_standard_error_reason," +
          "benchmark_distinguishable,active_standard_error,active_standard_error_reason,active_distinguishable",
      );
      expect(lines).toHaveLength(1 + body.dates.length);
      expect((await errorOf(await call("/portfolios/demo-core-equity/exposures?factors=luck"), 400)).details).toEqual([
        { path: "factors", message: expect.stringContaining("luck") },
      ]);
      expect(
        (await errorOf(await call("/portfolios/demo-core-equity/exposures?from=2026-06-30&to=2026-06-01"), 400))
          .details,
      ).toEqual([{ path: "from", message: expect.any(String) }]);
    },
  );
});

describe("drill-down", () => {
  it(
    "lists the stock contributions of a factor and date, sorted by size, " + "summing to the portfolio's exposure",
    async () => {
      for (const factor of ["market_beta", "value", "size_spread"]) {
        const body = await json<DrillDownResponse>(
          await call(`/portfolios/demo-options/exposures/stocks?factor=${factor}&date=${latestDate}`),
        );
        expect(body.rows.length).toBeGreaterThan(3);
        const sum = body.rows.reduce((total, row) => total + row.contribution!, 0);
        expect(sum).toBeCloseTo(body.exposure!, 12);
        expect(body.totals.contribution).toBeCloseTo(body.exposure!, 12);
        const sizes = body.rows.map((row) => Math.abs(row.contribution!));
        expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
        const option = body.rows.find((row) => row.instrument === "option");
        if (option) expect(option.contribution).toBeCloseTo(option.weight! * option.delta * option.beta, 14);
        // The batch stored the same exposure for the date.
        const stored = await json<ExposuresResponse>(
          await call(
            `/portfolios/demo-options/exposures?from=${latestDate}&to=${latestDate}&factors=${factor}&benchmark=none`,
          ),
        );
        expect(stored.factors[0]!.portfolio[0]).toBeCloseTo(body.exposure!, 12);
      }
      const csv = await (await call(`/portfolios/demo-options/exposures/stocks?factor=value&format=csv`)).text();
      expect(csv.split("\r\n")[0]).toBe(
        "symbol,beta_symbol,instrument,market_value,weight,delta,beta,contribution,contribution_dollar,quality_flag",
      );
      expect(
        (await errorOf(await call("/portfolios/demo-options/exposures/stocks?factor=value&date=2026-06-27"), 404)).code,
      ).toBe("NO_DATA");
      expect((await errorOf(await call("/portfolios/demo-options/exposures/stocks"), 400)).details).toEqual([
        { path: "factor", message: "factor is required" },
      ]);
    },
  );
});

describe("stress", () => {
  it("runs a built-in scenario, hand-set shocks, and a saved scenario, impacts summing to the total", async () => {
    const { scenarios } = await json<{ scenarios: { id: string; name: string; builtin: boolean }[] }>(
      await call("/stress/scenarios", own),
    );
    expect(scenarios.filter((scenario) => scenario.builtin).length).toBeGreaterThanOrEqual(5);
    const builtin = await json<StressResponse>(
      await call("/portfolios/demo-core-equity/stress", { method: "POST", body: { scenario_id: scenarios[0]!.id } }),
    );
    const sum = builtin.impacts.reduce((total, impact) => total + (impact.impact ?? 0), 0);
    expect(builtin.total).toBeCloseTo(sum, 6);
    for (const impact of builtin.impacts)
      if (impact.exposure_dollar !== null) expect(impact.impact).toBeCloseTo(impact.exposure_dollar * impact.shock, 6);

    const custom = await json<StressResponse>(
      await call("/portfolios/demo-core-equity/stress", { method: "POST", body: { shocks: { market_beta: -0.1 } } }),
    );
    expect(custom.impacts).toHaveLength(1);
    expect(custom.total).toBeLessThan(0); // a long equity book loses when the market falls
    const saved = await json<{ id: string }>(
      await call("/stress/scenarios", {
        method: "POST",
        body: { name: `Mine ${crypto.randomUUID()}`, shocks: { market_beta: -0.1 } },
      }),
      201,
    );
    const fromSaved = await json<StressResponse>(
      await call("/portfolios/demo-core-equity/stress", { method: "POST", body: { scenario_id: saved.id } }),
    );
    expect(fromSaved.total).toBe(custom.total);
    expect(
      (
        await errorOf(
          await call("/portfolios/demo-core-equity/stress", { method: "POST", body: { shocks: { luck: 0.1 } } }),
          400,
        )
      ).details,
    ).toEqual([{ path: "shocks.luck", message: "unknown factor key: luck" }]);
    expect(
      (await errorOf(await call("/portfolios/demo-core-equity/stress", { method: "POST", body: {} }), 400)).code,
    ).toBe("VALIDATION_ERROR");
    // Another caller neither sees nor deletes it.
    expect(
      (await errorOf(await call(`/stress/scenarios/${saved.id}`, { sub: "someone-else", method: "DELETE" }), 404)).code,
    ).toBe("NOT_FOUND");
    expect((await call(`/stress/scenarios/${saved.id}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("what-if", () => {
  it(
    "aggregates hypothetical holdings without storing anything, " + "compared with the portfolio it starts from",
    async () => {
      const positions = await json<{ positions: PositionResponse[] }>(
        await call(`/portfolios/demo-long-short/positions?date=${latestDate}`),
      );
      const holdings = positions.positions.map(({ id: _id, portfolio_id: _portfolio, ...position }) => position);
      const same = await json<WhatIfResponse>(
        await call("/what-if", { method: "POST", body: { portfolio_id: "demo-long-short", holdings } }),
      );
      expect(same.date).toBe(latestDate);
      for (const factor of same.comparison!.factors)
        if (factor.exposure.change !== null) expect(Math.abs(factor.exposure.change)).toBeLessThan(1e-12);
      const more = await json<WhatIfResponse>(
        await call("/what-if", {
          method: "POST",
          body: {
            portfolio_id: "demo-long-short",
            holdings: [...holdings, { symbol: "SPY", instrument: "etf", quantity: 1_000 }],
          },
        }),
      );
      const market = more.comparison!.factors.find((factor) => factor.factor_key === "market_beta")!;
      expect(market.exposure_dollar.change).toBeGreaterThan(0);
      const empty = await json<WhatIfResponse>(
        await call("/what-if", { method: "POST", body: { holdings: [], cash: 1_000 } }),
      );
      expect(empty.original).toBeNull();
      // nothing held: missing, not 0
      expect(empty.what_if.exposures.every((exposure) => exposure.exposure === null)).toBe(true);
      expect(
        (
          await errorOf(
            await call("/what-if", {
              method: "POST",
              body: { holdings: [{ symbol: "SPY", instrument: "etf", quantity: "ten" }] },
            }),
            400,
          )
        ).details,
      ).toEqual([{ path: "holdings[0].quantity", message: "quantity must be a number" }]);
    },
  );
});

describe("what-if risk", () => {
  it(
    "returns the risk block of the hypothetical holdings and of the compared portfolio, " +
      "from the stored risk model of the date, against one benchmark",
    async () => {
      const positions = await json<{ positions: PositionResponse[] }>(
        await call(`/portfolios/demo-long-short/positions?date=${latestDate}`),
      );
      const portfolio = await json<PortfolioResponse>(await call("/portfolios/demo-long-short"));
      const holdings = positions.positions.map(({ id: _id, portfolio_id: _portfolio, ...position }) => position);
      const same = await json<WhatIfResponse>(
        await call("/what-if", { method: "POST", body: { portfolio_id: "demo-long-short", holdings } }),
      );
      expect(whatIfResponseSchema.safeParse(same).success).toBe(true);
      const risk = same.what_if.risk;
      expect(risk).toMatchObject({ date: latestDate, benchmark: portfolio.benchmark_symbol });
      expect(risk.factors.length).toBeGreaterThan(0);
      expect(risk.data_quality.covariance_available).toBe(true);
      expect(risk.total!.volatility).toBeGreaterThan(0);
      expect(risk.total!.value_at_risk_99).toBeGreaterThan(risk.total!.value_at_risk_95);
      expect(risk.exposures!.every((e) => e.standard_error >= 0)).toBe(true);
      expect(risk.active!.tracking_error).toBeGreaterThan(0);
      // The same holdings: the same risk on both sides, no change.
      expect(same.original!.risk.total!.volatility).toBeCloseTo(risk.total!.volatility, 12);
      expect(same.comparison!.risk.volatility.change!).toBeCloseTo(0, 12);
      expect(same.comparison!.risk.tracking_error.change!).toBeCloseTo(0, 12);

      // 1,000 more SPY shares than the portfolio: the risk moves, both sides given.
      const more = await json<WhatIfResponse>(
        await call("/what-if", {
          method: "POST",
          body: {
            portfolio_id: "demo-long-short",
            holdings: [...holdings, { symbol: "SPY", instrument: "etf", quantity: 1_000 }],
          },
        }),
      );
      expect(more.comparison!.risk.volatility).toMatchObject({
        original: same.original!.risk.total!.volatility,
        what_if: more.what_if.risk.total!.volatility,
      });
      expect(Math.abs(more.comparison!.risk.volatility.change!)).toBeGreaterThan(1e-6);

      // Cash only: an honest zero volatility (not missing); against SPY, SPY's own risk as tracking error.
      const cash = await json<WhatIfResponse>(
        await call("/what-if", { method: "POST", body: { holdings: [], cash: 1_000 } }),
      );
      expect(cash.what_if.risk).toMatchObject({ benchmark: "SPY", total: { variance: 0, volatility: 0 } });
      expect(cash.what_if.risk.active!.tracking_error).toBeGreaterThan(0);
      expect(cash.comparison).toBeNull();

      // No benchmark: no active block, and why.
      const alone = await json<WhatIfResponse>(
        await call("/what-if", { method: "POST", body: { holdings, cash: portfolio.cash, benchmark: "none" } }),
      );
      expect(alone.what_if.risk).toMatchObject({
        benchmark: null,
        active: null,
        active_unavailable: { reason: "no_benchmark" },
      });
      expect(alone.what_if.risk.total!.volatility).toBeCloseTo(risk.total!.volatility, 12);
    },
  );
});

describe("the typed client", () => {
  it("calls the API through hc<AppType> with types inferred from the routes", async () => {
    const token = await tokenFor(demoOwner, ["VIEW_FACTOR_ANALYTICS"], { org: "demo-org" });
    const client = hc<AppType>("http://localhost", {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(input, init),
      headers: { authorization: `Bearer ${token}` },
    });
    const symbols = await client.api.v1.data.symbols.$get({
      query: { sort_by: "factor_market_beta", sort_order: "desc", limit: "3" },
    });
    expect(symbols.status).toBe(200);
    if (symbols.status === 200) {
      const body = await symbols.json();
      expect(body.symbols).toHaveLength(3);
      expect(body.metrics_date).toBe(latestDate);
    }
    const exposures = await client.api.v1.portfolios[":id"].exposures.$get({
      param: { id: "demo-core-equity" },
      query: { factors: "market_beta" },
    });
    const body = await exposures.json();
    expect("dates" in body && body.dates.length).toBe(batchDates.length);
  });
});
