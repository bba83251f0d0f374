// Limits evaluated by the portfolio phase (docs/design.md §11, "Limits and alerts"), on a world run
// through phases 2, 3 and the risk model: the same synthetic market as portfolio-risk-phase.test.ts
// (its seed and dates, so the shared ETF rows agree; the equities renamed `ALR…`), on its last day.
// - a crossing writes one alert with the number the phase stored, a number within writes none;
// - a redelivered chunk writes and pushes nothing;
// - concurrent recomputes of the same date (the ledger tests' pattern: Promise.all against the real
//   libSQL server) write and push exactly one alert per crossing, through the phase and through the
//   recording statement alone;
// - and, through the real notifier, the org's webhook receives exactly one signed delivery per
//   alert written, however often the chunk is delivered or recomputed.
import { and, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  alerts,
  marketPrices,
  portfolioFactorExposures,
  portfolioLimits,
  portfolioRiskSummaries,
  portfolios,
  positions,
  symbolFactorExposures,
  webhooks,
} from "../../schema/index.ts";
import {
  type AlertRow,
  installAlertNotifier,
  type LimitRow,
  recordAlertStatement,
} from "../../worker/alerts/evaluate.ts";
import { notifyAlerts } from "../../worker/alerts/notify.ts";
import { runPortfolioAnalyticsChunk } from "../../worker/batch/portfolio-analytics-phase.ts";
import { computeRiskModelChunk } from "../../worker/batch/risk-model-phase.ts";
import { computeSymbolMetricsChunk } from "../../worker/batch/symbol-metrics-phase.ts";
import { computeUniverseFactorsChunk } from "../../worker/batch/universe-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadActiveFactors } from "../../worker/db/factors.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
// portfolio-risk-phase.test.ts's market exactly: the factor ETFs' closes are shared rows.
const market = generateSyntheticMarket({
  seed: 20201231,
  equities: 3,
  startDate: "2019-01-02",
  endDate: "2020-12-31",
  gaps: false,
});
const rename = (symbol: string) => (symbol.startsWith("SYN") ? `ALR${symbol.slice(3)}` : symbol);
const date = market.calendar.at(-1)!;
const prices = market.prices.map((p) => ({ ...p, symbol: rename(p.symbol) }));
const [stockA, stockB] = market.instruments.filter((i) => i.assetType === "equity").map((i) => rename(i.symbol)) as [
  string,
  string,
];
const worldSymbols = [stockA, stockB, "SPY"];
const portfolioId = "alr-alerts-main";
const owner = "alr-alerts-test";
const org = "alr-alerts-org";
// The org's webhook points at the worker project's loopback receiver (test/worker/webhook-receiver-setup.mjs).
const receiver = inject("webhookReceiverUrl");
const receiverKey = `alr-alerts-${crypto.randomUUID()}`;

/** The webhook deliveries the receiver got, as the alert ids of their bodies. */
async function deliveredAlertIds(): Promise<string[]> {
  const response = await fetch(`${receiver}/control/${receiverKey}`);
  const { requests } = (await response.json()) as { requests: { body: string }[] };
  return requests.map((request) => (JSON.parse(request.body) as { alert: { id: string } }).alert.id).sort();
}

/** Waits until the receiver has `count` deliveries, then a little longer for any extra one. */
async function settledDeliveries(count: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while ((await deliveredAlertIds()).length < count && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return deliveredAlertIds();
}

/** What the installed notifier was handed: the alerts each evaluation published. */
const published: AlertRow[] = [];

interface Stored {
  market: number;
  spyBeta: number;
  volatility: number;
  trackingError: number;
}
let stored: Stored;
const limitIds = {
  exposureBreached: "alr-limit-exposure-breached",
  exposureWithin: "alr-limit-exposure-within",
  activeBreached: "alr-limit-active-breached",
  volatilityBreached: "alr-limit-volatility-breached",
  volatilityWithin: "alr-limit-volatility-within",
  trackingErrorWithin: "alr-limit-te-within",
};

async function storedNumbers(): Promise<Stored> {
  const marketId = (await loadActiveFactors(db)).find((factor) => factor.key === "market_beta")!.id;
  const [exposure, spy, risk] = await Promise.all([
    db
      .select({ value: portfolioFactorExposures.exposureValue })
      .from(portfolioFactorExposures)
      .where(
        and(
          eq(portfolioFactorExposures.portfolioId, portfolioId),
          eq(portfolioFactorExposures.calculationDate, date),
          eq(portfolioFactorExposures.factorId, marketId),
        ),
      )
      .get(),
    db
      .select({ beta: symbolFactorExposures.betaValue })
      .from(symbolFactorExposures)
      .where(
        and(
          eq(symbolFactorExposures.symbol, "SPY"),
          eq(symbolFactorExposures.calculationDate, date),
          eq(symbolFactorExposures.factorId, marketId),
        ),
      )
      .get(),
    db
      .select()
      .from(portfolioRiskSummaries)
      .where(and(eq(portfolioRiskSummaries.portfolioId, portfolioId), eq(portfolioRiskSummaries.date, date)))
      .get(),
  ]);
  return {
    market: exposure!.value!,
    spyBeta: spy!.beta,
    volatility: risk!.volatility!,
    trackingError: risk!.trackingError!,
  };
}

const runChunk = (alertCause?: "batch" | "positions") =>
  runPortfolioAnalyticsChunk(db, {
    calculationDate: date,
    portfolioIds: [portfolioId],
    dualWrite: false,
    ...(alertCause ? { alertCause } : {}),
  });

async function alertsOf(ids: readonly string[]) {
  return db
    .select()
    .from(alerts)
    .where(inArray(alerts.limitId, [...ids]))
    .orderBy(alerts.limitId, alerts.createdAt);
}

beforeAll(async () => {
  // The Worker's own notifier (live push and webhook deliveries), recording what it was handed.
  installAlertNotifier(async (written) => {
    published.push(...written);
    await notifyAlerts(env, written);
  });
  await db.insert(webhooks).values({
    id: `alr-webhook-${receiverKey}`,
    org,
    url: `${receiver}/hooks/${receiverKey}`,
    secret: "alr-alerts-webhook-secret",
    createdBy: owner,
  });
  const rows = prices.map((p) => ({
    symbol: p.symbol,
    date: p.date,
    close: p.close,
    adjClose: null,
    volume: p.volume,
    source: "synthetic",
  }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += 500)
    inserts.push(
      db
        .insert(marketPrices)
        .values(rows.slice(i, i + 500))
        .onConflictDoNothing(),
    );
  const [first, ...rest] = inserts;
  await db.batch([first!, ...rest]);
  await computeSymbolMetricsChunk(db, { calculationDate: date, symbols: worldSymbols });
  await computeUniverseFactorsChunk(db, { calculationDate: date, symbols: worldSymbols, forceRerun: true });
  await computeRiskModelChunk(db, { calculationDate: date, symbols: worldSymbols, forceRerun: true, dateLevel: true });
  await db.insert(portfolios).values({ id: portfolioId, owner, org, name: "alerts", cash: 20_000 });
  await db.insert(positions).values([
    { id: "alr-long-a", portfolioId, symbol: stockA, instrument: "stock", quantity: 300, openedOn: "2020-01-02" },
    { id: "alr-short-b", portfolioId, symbol: stockB, instrument: "stock", quantity: -100, openedOn: "2020-01-02" },
  ]);
  // The numbers first, without limits: the limits are then set around them.
  await runChunk();
  stored = await storedNumbers();
  const limit = (id: string, values: Partial<LimitRow>) => ({
    id,
    portfolioId,
    metric: "exposure" as const,
    factorKey: "market_beta",
    minValue: null,
    maxValue: null,
    createdBy: owner,
    ...values,
  });
  await db.insert(portfolioLimits).values([
    limit(limitIds.exposureBreached, { maxValue: stored.market - 0.01 }),
    // Exactly on the bounds: within (inclusive).
    limit(limitIds.exposureWithin, { minValue: stored.market, maxValue: stored.market }),
    limit(limitIds.activeBreached, {
      metric: "active_exposure",
      maxValue: stored.market - stored.spyBeta - 0.01,
    }),
    limit(limitIds.volatilityBreached, { metric: "volatility", factorKey: null, maxValue: stored.volatility / 2 }),
    limit(limitIds.volatilityWithin, { metric: "volatility", factorKey: null, minValue: stored.volatility / 2 }),
    limit(limitIds.trackingErrorWithin, { metric: "tracking_error", factorKey: null, maxValue: 10 }),
  ]);
}, 120_000);

afterAll(() => installAlertNotifier(null));

describe("limits in the portfolio phase", () => {
  it("records a breach with the number the phase stored, and nothing for a number within", async () => {
    published.length = 0;
    await runChunk();
    const rows = await alertsOf(Object.values(limitIds));
    expect(rows.map((row) => [row.limitId, row.state, row.cause]).sort()).toEqual(
      [
        [limitIds.activeBreached, "breached", "batch"],
        [limitIds.exposureBreached, "breached", "batch"],
        [limitIds.volatilityBreached, "breached", "batch"],
      ].sort(),
    );
    const byLimit = new Map(rows.map((row) => [row.limitId, row]));
    expect(byLimit.get(limitIds.exposureBreached)).toMatchObject({
      date,
      portfolioId,
      metric: "exposure",
      factorKey: "market_beta",
      value: stored.market,
      maxValue: stored.market - 0.01,
      minValue: null,
      acknowledgedAt: null,
    });
    expect(byLimit.get(limitIds.activeBreached)!.value).toBe(stored.market - stored.spyBeta);
    expect(byLimit.get(limitIds.volatilityBreached)!.value).toBe(stored.volatility);
    // Pushed once each, after the commit.
    expect(published.map((alert) => alert.id).sort()).toEqual(rows.map((row) => row.id).sort());
    // The org's webhook got each alert once, through the queue.
    expect(await settledDeliveries(rows.length)).toEqual(rows.map((row) => row.id).sort());
  });

  it("writes and pushes nothing when the chunk is delivered again", async () => {
    const before = await alertsOf(Object.values(limitIds));
    published.length = 0;
    const again = await runChunk();
    expect(again.counts).toMatchObject({ rows_stored: 0, risk_summaries_stored: 0 });
    expect(await alertsOf(Object.values(limitIds))).toEqual(before);
    expect(published).toEqual([]);
    // No delivery more: the receiver still has one per alert.
    expect(await settledDeliveries(before.length)).toEqual(before.map((row) => row.id).sort());
  });

  it("writes and pushes exactly one alert per crossing when recomputes of the date run concurrently", async () => {
    // A position change takes the market exposure back within the breached limit's bound.
    await db.update(positions).set({ quantity: 10 }).where(eq(positions.id, "alr-long-a"));
    published.length = 0;
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => runChunk("positions")));
    for (const outcome of outcomes) expect(outcome.counts.failed).toBe(0);
    const after = await storedNumbers();
    expect(after.market).toBeLessThan(stored.market - 0.01);
    const cleared = (await alertsOf([limitIds.exposureBreached])).filter((row) => row.state === "cleared");
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatchObject({ cause: "positions", value: after.market, date });
    expect(published.filter((alert) => alert.limitId === limitIds.exposureBreached)).toEqual([
      expect.objectContaining({ id: cleared[0]!.id, state: "cleared" }),
    ]);
    // The position back: breached again on the same date — the date's breach raised again, once.
    await db.update(positions).set({ quantity: 300 }).where(eq(positions.id, "alr-long-a"));
    published.length = 0;
    await Promise.all(Array.from({ length: 6 }, () => runChunk("positions")));
    const rows = await alertsOf([limitIds.exposureBreached]);
    expect(rows.map((row) => row.state).sort()).toEqual(["breached", "cleared"]);
    const latest = [...rows].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)).at(-1)!;
    expect(latest).toMatchObject({ state: "breached", cause: "positions" });
    expect(published.filter((alert) => alert.limitId === limitIds.exposureBreached)).toHaveLength(1);
  });
});

describe("the recording statement under concurrency", () => {
  it("lets exactly one of many concurrent evaluations of a crossing write its alert", async () => {
    const limit: LimitRow = {
      id: "alr-limit-race",
      portfolioId,
      metric: "volatility",
      factorKey: null,
      minValue: null,
      maxValue: 0.01,
      description: "",
      createdBy: owner,
      createdAt: "",
      updatedAt: "",
    };
    await db.insert(portfolioLimits).values({ ...limit, createdAt: undefined, updatedAt: undefined });
    const attempt = () =>
      db.$client.batch(
        [recordAlertStatement({ limit, date: "2020-12-30", state: "breached", value: 0.2, cause: "batch" })],
        "write",
      );
    const results = await Promise.all(Array.from({ length: 12 }, attempt));
    expect(results.filter(([result]) => (result?.rows.length ?? 0) > 0)).toHaveLength(1);
    expect(await alertsOf([limit.id])).toHaveLength(1);
  });
});
