// Suggested hedges (worker/routes/hedge.ts, the `hedge` of POST /what-if) over the batch's real
// output: the answer's shape; the default instruments read from the factor definitions; trades
// in dollars and shares at the date's close; "before" equal to GET /portfolios/:id/risk; "after"
// equal to the what-if of the holdings with the trades bought as shares with cash; a portfolio
// made of instruments hedged down to its specific risk; the penalty's effect; duplicate and
// singular instruments; and the 4xx answers with the field at fault.
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { factorDefinitions, riskFactors, symbolDailyMetrics, symbolRiskLoadings } from "../../schema/index.ts";
import { type WhatIfResponse, whatIfResponseSchema } from "../../worker/api/analytics.ts";
import { type HedgeResponse, hedgeResponseSchema } from "../../worker/api/hedge.ts";
import type { PortfolioRiskResponse } from "../../worker/api/portfolio-risk.ts";
import type { PortfolioResponse } from "../../worker/api/portfolios.ts";
import { DEFAULT_HEDGE_PENALTY } from "../../worker/factors/hedge.ts";
import { batchDates, call, db, ensureBatchOutput, errorOf, json } from "./support.ts";

const owner = "hedge-owner";
const own = { sub: owner, org: "hedge-org" } as const;
/** A batch date other tests leave alone (test/api/symbols.test.ts rewrites SPY's loadings on the latest date). */
const date = batchDates[1]!;
const twin = "SPYTWIN";

type RiskDate = Extract<PortfolioRiskResponse, { mode: "date" }>;

function expectClose(actual: number | null | undefined, expected: number, what: string, relative = 1e-12): void {
  expect(actual, what).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    relative * Math.max(1e-300, Math.abs(expected)),
  );
}

const hedge = (portfolioId: string, body: Record<string, unknown>, caller: { sub: string; org: string } = own) =>
  call(`/portfolios/${portfolioId}/hedge`, { ...caller, method: "POST", body });

let portfolioId = "";

beforeAll(async () => {
  await ensureBatchOutput();
  // The demo's long/short book, copied into a portfolio of this file's owner (QQQ benchmark).
  const demo = await json<PortfolioResponse>(await call("/portfolios/demo-long-short"));
  const { positions } = await json<{
    positions: { symbol: string; instrument: string; quantity: number; opened_on: string; closed_on: string | null }[];
  }>(await call(`/portfolios/demo-long-short/positions?date=${date}`));
  const created = await json<PortfolioResponse>(
    await call("/portfolios", {
      ...own,
      method: "POST",
      body: { name: `Hedge ${crypto.randomUUID()}`, cash: demo.cash, benchmark_symbol: demo.benchmark_symbol },
    }),
    201,
  );
  portfolioId = created.id;
  const csv = [
    "symbol,instrument,quantity,opened_on",
    ...positions
      .filter((p) => p.instrument === "stock" || p.instrument === "etf")
      .map((p) => `${p.symbol},${p.instrument},${p.quantity},${p.opened_on}`),
  ].join("\n");
  await json(
    await call(`/portfolios/${portfolioId}/positions/import?mode=replace`, {
      ...own,
      method: "POST",
      body: csv,
      headers: { "content-type": "text/csv" },
    }),
  );
  // SPYTWIN: SPY's stored loadings and close under another name, on `date` only (removed after).
  const spy = await db
    .select()
    .from(symbolRiskLoadings)
    .where(and(eq(symbolRiskLoadings.symbol, "SPY"), eq(symbolRiskLoadings.calculationDate, date)))
    .get();
  const spyMetrics = await db
    .select()
    .from(symbolDailyMetrics)
    .where(and(eq(symbolDailyMetrics.symbol, "SPY"), eq(symbolDailyMetrics.metricsDate, date)))
    .get();
  await db
    .insert(symbolRiskLoadings)
    .values({ ...spy!, symbol: twin })
    .onConflictDoNothing();
  await db
    .insert(symbolDailyMetrics)
    .values({ symbol: twin, metricsDate: date, currentPrice: spyMetrics!.currentPrice, dataQualityScore: 10 })
    .onConflictDoNothing();
});

afterAll(async () => {
  await db.delete(symbolRiskLoadings).where(eq(symbolRiskLoadings.symbol, twin));
  await db.delete(symbolDailyMetrics).where(eq(symbolDailyMetrics.symbol, twin));
  if (portfolioId) await call(`/portfolios/${portfolioId}`, { ...own, method: "DELETE" });
});

describe("POST /portfolios/:id/hedge", () => {
  it("answers trades in the default lens ETFs, in dollars and in shares at the date's close", async () => {
    const body = await json<HedgeResponse>(await hedge(portfolioId, { target: "tracking_error", date }));
    expect(hedgeResponseSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({
      portfolio_id: portfolioId,
      date,
      target: "tracking_error",
      benchmark: "QQQ",
      penalty: DEFAULT_HEDGE_PENALTY,
      penalty_default: true,
      instruments_default: true,
    });
    // The defaults come from the data: the active lens factors' regressors, then the risk factors'.
    const definitions = await db
      .select()
      .from(factorDefinitions)
      .where(eq(factorDefinitions.isActive, true))
      .orderBy(asc(factorDefinitions.displayOrder), asc(factorDefinitions.id));
    const risk = await db
      .select()
      .from(riskFactors)
      .where(eq(riskFactors.isActive, true))
      .orderBy(asc(riskFactors.displayOrder), asc(riskFactors.id));
    const expected = [
      ...new Set(
        [
          ...definitions.flatMap((d) => [d.inputSymbol, d.longSymbol, d.shortSymbol]),
          ...risk.flatMap((r) => [r.longSymbol, r.shortSymbol]),
        ].filter((symbol): symbol is string => typeof symbol === "string"),
      ),
    ];
    expect(expected.slice(0, 8)).toEqual(["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"]);
    const leftOut = body.instruments_left_out.map((row) => row.symbol);
    expect([...body.instruments, ...leftOut].sort()).toEqual([...expected].sort());
    expect(body.instruments).toEqual(expected.filter((symbol) => !leftOut.includes(symbol)));

    const closes = await db.select().from(symbolDailyMetrics).where(eq(symbolDailyMetrics.metricsDate, date));
    const closeOf = new Map(closes.map((row) => [row.symbol, row.currentPrice]));
    for (const trade of body.trades) {
      expect(trade.close, trade.symbol).toBe(closeOf.get(trade.symbol));
      expect(trade.shares, trade.symbol).toBe(trade.dollars / trade.close);
      expectClose(trade.dollars, trade.weight * body.equity, `dollars of ${trade.symbol}`, 1e-14);
      expect(trade.weight_after).toBe(trade.weight_before + trade.weight);
      expect(trade.instrument).toBe("etf");
    }
    expect(body.target_risk.measure).toBe("tracking_error");
    expect(body.target_risk.after).toBeLessThan(body.target_risk.before);
    expectClose(body.target_risk.after, body.after.active!.tracking_error, "tracking error after");
    expect(body.after.symbols.find((row) => row.symbol === body.trades[0]!.symbol)?.position_ids).toContain(
      `hedge-${body.trades[0]!.symbol}`,
    );
  });

  it("has a 'before' equal to GET /portfolios/:id/risk on the date", async () => {
    for (const target of ["tracking_error", "total"] as const) {
      const body = await json<HedgeResponse>(await hedge(portfolioId, { target, date }));
      const risk = await json<RiskDate>(await call(`/portfolios/${portfolioId}/risk?date=${date}`, own));
      expect(body.before.exposures).toEqual(risk.exposures);
      expect(body.before.active_exposures).toEqual(risk.active_exposures);
      const { holdings: _total, ...total } = risk.total!;
      const { holdings: _active, ...active } = risk.active!;
      expect(body.before.total).toEqual(total);
      expect(body.before.active).toEqual(active);
      expect(body.before.symbols).toEqual(risk.symbols);
      expect(body.data_quality).toEqual(risk.data_quality);
      const measured = target === "total" ? risk.total!.volatility : risk.active!.tracking_error;
      expect(body.target_risk.before).toBe(measured);
      expect(body.equity).toBe(risk.equity);
    }
  });

  it("trades less, and reduces risk less, as the penalty grows; nothing under the largest", async () => {
    let previous = { norm: Number.POSITIVE_INFINITY, reduction: Number.POSITIVE_INFINITY };
    for (const penalty of [0, 1e-6, 1e-4, 1e-2, 1, 1e6]) {
      const body = await json<HedgeResponse>(
        await hedge(portfolioId, { target: "total", date, penalty, instruments: ["SPY", "TLT", "IWM", "MTUM"] }),
      );
      expect(body.penalty_default).toBe(false);
      const norm = Math.hypot(...body.trades.map((trade) => trade.weight));
      const reduction = body.target_risk.variance_before - body.target_risk.variance_after;
      expect(norm).toBeLessThanOrEqual(previous.norm * (1 + 1e-9));
      expect(reduction).toBeLessThanOrEqual(previous.reduction + 1e-12 * body.target_risk.variance_before);
      if (penalty === 1e6) for (const trade of body.trades) expect(Math.abs(trade.weight)).toBeLessThan(1e-6);
      previous = { norm, reduction };
    }
  });

  it("refuses duplicate instruments (400), singular ones at penalty 0 (422), and regularizes them with a penalty", async () => {
    const duplicate = await errorOf(await hedge(portfolioId, { target: "total", instruments: ["SPY", "spy"] }), 400);
    expect(duplicate.details).toEqual([
      { path: "instruments[1]", message: "SPY is listed twice (also at instruments[0]): list each instrument once" },
    ]);
    const singular = await errorOf(
      await hedge(portfolioId, { target: "total", date, penalty: 0, instruments: ["SPY", twin] }),
      422,
    );
    expect(singular.code).toBe("HEDGE_UNAVAILABLE");
    expect(singular.details).toEqual([
      {
        path: "instruments",
        message: `SPY and ${twin} have identical loadings: the hedge is not unique; add a penalty or remove one`,
        reason: "singular",
        symbols: ["SPY", twin],
      },
    ]);
    const penalized = await json<HedgeResponse>(
      await hedge(portfolioId, { target: "total", date, instruments: ["SPY", twin] }),
    );
    const [spy, copy] = penalized.trades;
    expect(Number.isFinite(spy!.weight) && Number.isFinite(copy!.weight)).toBe(true);
    expectClose(spy!.weight, copy!.weight, "an even split", 1e-9);
  });

  it("answers 4xx naming the field: tracking error without a benchmark, instruments without loadings", async () => {
    const noBenchmark = await errorOf(
      await hedge(portfolioId, { target: "tracking_error", date, benchmark: "none" }),
      422,
    );
    expect(noBenchmark.details).toMatchObject([{ path: "target", reason: "no_benchmark" }]);
    const unknown = await errorOf(
      await hedge(portfolioId, { target: "total", date, instruments: ["SPY", "ZZZNOPE"] }),
      422,
    );
    expect(unknown.details).toMatchObject([
      { path: "instruments", reason: "instruments_without_loadings", symbols: ["ZZZNOPE"] },
    ]);
    expect(unknown.message).toContain("ZZZNOPE");
    const invalid = await errorOf(
      await hedge(portfolioId, { target: "both", penalty: -1, instruments: [], extra: 1 }),
      400,
    );
    expect((invalid.details as { path: string }[]).map((d) => d.path).sort()).toEqual([
      "extra",
      "instruments",
      "penalty",
      "target",
    ]);
    expect((await errorOf(await hedge(portfolioId, { target: "total", date: "2026-06-27" }), 404)).code).toBe(
      "NO_DATA",
    );
    expect((await errorOf(await hedge("no-such-portfolio", { target: "total" }), 404)).code).toBe("NOT_FOUND");
    const stranger = { sub: "hedge-stranger", org: "other-org" };
    expect((await errorOf(await hedge(portfolioId, { target: "total" }, stranger), 404)).code).toBe("NOT_FOUND");
    expect(
      (
        await errorOf(
          await call(`/portfolios/${portfolioId}/hedge?x=1`, {
            ...own,
            method: "POST",
            body: { target: "total" },
          }),
          400,
        )
      ).code,
    ).toBe("VALIDATION_ERROR");
  });
});

describe("POST /what-if with hedge", () => {
  /** Three of the demo book's stocks, long, short and long. */
  let stocks: { symbol: string; instrument: string; quantity: number }[] = [];
  beforeAll(async () => {
    const { positions } = await json<{ positions: { symbol: string; instrument: string }[] }>(
      await call(`/portfolios/demo-long-short/positions?date=${date}`),
    );
    stocks = positions
      .filter((p) => p.instrument === "stock")
      .slice(0, 3)
      .map((p, i) => ({ symbol: p.symbol, instrument: "stock", quantity: [400, -150, 300][i]! }));
    expect(stocks).toHaveLength(3);
  });

  const whatIf = async (body: Record<string, unknown>) =>
    json<WhatIfResponse>(await call("/what-if", { ...own, method: "POST", body: { date, ...body } }));

  it("answers the hedge block for the hypothetical holdings, whose 'after' is the holdings with the trades bought", async () => {
    const plain = await whatIf({ holdings: stocks, cash: 50_000 });
    expect(plain.hedge).toBeNull();
    const body = await whatIf({
      holdings: stocks,
      cash: 50_000,
      benchmark: "SPY",
      hedge: { target: "tracking_error", penalty: 1e-4 },
    });
    expect(whatIfResponseSchema.safeParse(body).success).toBe(true);
    const block = body.hedge!;
    expect(block.benchmark).toBe("SPY");
    expect(block.before.total.variance).toBe(body.what_if.risk.total!.variance);
    expect(block.before.active!.tracking_error).toBe(body.what_if.risk.active!.tracking_error);

    // "Apply": the trades as share quantities, paid for with cash (equity unchanged).
    const applied = [
      ...stocks,
      ...block.trades.map((trade) => ({ symbol: trade.symbol, instrument: trade.instrument, quantity: trade.shares })),
    ];
    const spent = block.trades.reduce((sum, trade) => sum + trade.dollars, 0);
    const after = await whatIf({ holdings: applied, cash: 50_000 - spent, benchmark: "SPY" });
    expectClose(after.what_if.equity, block.equity, "equity", 1e-12);
    expectClose(after.what_if.risk.active!.tracking_error, block.after.active!.tracking_error, "tracking error", 1e-9);
    expectClose(after.what_if.risk.total!.variance, block.after.total.variance, "variance", 1e-9);
    for (const [k, exposure] of after.what_if.risk.exposures!.entries())
      expectClose(exposure.exposure, block.after.exposures[k]!.exposure, `exposure ${exposure.factor_key}`, 1e-9);
  });

  it("hedges holdings made of the instruments down to their specific risk", async () => {
    const body = await whatIf({
      holdings: [
        { symbol: "MTUM", instrument: "etf", quantity: 500 },
        { symbol: "IWM", instrument: "etf", quantity: -200 },
      ],
      cash: 100_000,
      hedge: { target: "total", penalty: 0, instruments: ["SPY", "MTUM", "IWM"] },
    });
    const block = body.hedge!;
    const before = block.before.total;
    const after = block.after.total;
    expect(before.factor_variance).toBeGreaterThan(1e-7);
    expect(Math.abs(after.factor_variance)).toBeLessThan(1e-9 * before.factor_variance);
    expectClose(after.variance, after.specific_variance + after.factor_variance, "V = V_f + V_s", 1e-12);
    // MTUM and IWM are sold back to nothing (each is exactly SPY plus its spread: no specific risk).
    const trade = (symbol: string) => block.trades.find((row) => row.symbol === symbol)!;
    expect(Math.abs(trade("MTUM").weight_after)).toBeLessThan(1e-6);
    expect(Math.abs(trade("IWM").weight_after)).toBeLessThan(1e-6);
    expect(Math.abs(trade("SPY").weight)).toBeLessThan(1e-6);
  });

  it("answers 422 on hedge.<field> when the hedge cannot be computed", async () => {
    const error = await errorOf(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: { date, holdings: stocks, hedge: { target: "total", instruments: ["ZZZNOPE"] } },
      }),
      422,
    );
    expect(error.details).toMatchObject([{ path: "hedge.instruments", reason: "instruments_without_loadings" }]);
    const noBenchmark = await errorOf(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: { date, holdings: stocks, benchmark: "none", hedge: { target: "tracking_error" } },
      }),
      422,
    );
    expect(noBenchmark.details).toMatchObject([{ path: "hedge.target", reason: "no_benchmark" }]);
  });
});
