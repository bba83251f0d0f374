// Batch runs end to end: the cron trigger and the admin path create runs, the real queue
// carries every message, and the consumers write the real tables of a demo-seeded libSQL.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { captureLogs, eventsOf } from "../support/logs.ts";
import { authHeaders } from "../support/tokens.ts";
import {
  batchChunks,
  batchPhaseResults,
  batchRuns,
  marketPrices,
  portfolioFactorExposures,
  portfolioSnapshots,
  portfolioStressResults,
  portfolios,
  positionFactorExposures,
  positions,
  symbolDailyMetrics,
  symbolFactorExposures,
  symbolUniverse,
} from "../../schema/index.ts";
import type { DualWriteReport } from "../../worker/batch/dual-write-report.ts";
import { batchDeadLetterQueueName, batchQueueName, type BatchMessage } from "../../worker/batch/messages.ts";
import { handleBatchQueue } from "../../worker/batch/consumer.ts";
import { planPhaseChunks } from "../../worker/batch/ledger.ts";
import { processBatchMessage } from "../../worker/batch/orchestrator.ts";
import type { BatchRunDetail } from "../../worker/batch/run-history.ts";
import { createRun } from "../../worker/batch/runs.ts";
import { recoveryOf, sweepStalledRuns, type SweptRun } from "../../worker/batch/sweep.ts";
import { batchConfig } from "../../worker/batch/config.ts";
import { batchPhases, type StoredPhaseCounts } from "../../worker/batch/telemetry.ts";
import { addDays } from "../../worker/dates.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadActiveFactors } from "../../worker/db/factors.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../../worker/factors/engine.ts";
import { liveHubFor } from "../../worker/realtime/live-hub.ts";
import worker from "../../worker/index.ts";

const db = getDatabase(env);
/** Monday 2026-06-29 and the Friday before it (the catch-up of BATCH_CATCH_UP_DAYS = 3). */
const monday = "2026-06-29";
const friday = "2026-06-26";
const tuesday = "2026-06-30";
const noPriceSymbol = "ZZNOPRICE";

async function fireCron(date: string): Promise<void> {
  const [year, month, day] = date.split("-").map(Number);
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: Date.UTC(year!, month! - 1, day!, 21, 30), cron: "30 21 * * 1-5" }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

async function runById(runId: string) {
  return db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
}

async function waitForRunEnd(runId: string, timeoutMs = 100_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runById(runId);
    if (run && ["completed", "partial", "failed"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run?.status ?? "missing"}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function phaseResults(runId: string) {
  return db
    .select()
    .from(batchPhaseResults)
    .where(eq(batchPhaseResults.runId, runId))
    .orderBy(asc(batchPhaseResults.calculationDate), asc(batchPhaseResults.id));
}

/** Every value of the date's symbol-level output, to compare before and after a replay. */
async function dateSnapshot(date: string) {
  const [betas, metrics, exposures, snapshots, stress] = await Promise.all([
    db
      .select()
      .from(symbolFactorExposures)
      .where(eq(symbolFactorExposures.calculationDate, date))
      .orderBy(symbolFactorExposures.symbol, symbolFactorExposures.factorId),
    db
      .select()
      .from(symbolDailyMetrics)
      .where(eq(symbolDailyMetrics.metricsDate, date))
      .orderBy(symbolDailyMetrics.symbol),
    db
      .select()
      .from(portfolioFactorExposures)
      .where(eq(portfolioFactorExposures.calculationDate, date))
      .orderBy(portfolioFactorExposures.portfolioId, portfolioFactorExposures.factorId),
    db
      .select()
      .from(portfolioSnapshots)
      .where(eq(portfolioSnapshots.date, date))
      .orderBy(portfolioSnapshots.portfolioId),
    db
      .select()
      .from(portfolioStressResults)
      .where(eq(portfolioStressResults.calculationDate, date))
      .orderBy(portfolioStressResults.portfolioId, portfolioStressResults.scenarioId),
  ]);
  return { betas, metrics, exposures, snapshots, stress };
}

/** Delivers one message straight to worker.queue() (as the queue would) and returns the outcome. */
async function deliver(queue: string, body: BatchMessage, attempts: number, overrides: Partial<Env> = {}) {
  const id = crypto.randomUUID();
  const batch = createMessageBatch<BatchMessage>(queue, [{ id, timestamp: Date.now(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks.includes(id), retried: result.retryMessages.some((m) => m.msgId === id) };
}

let cronRunId = "";

describe("a cron-triggered run over the demo universe", () => {
  it("completes every phase of its date and of the missed weekday it catches up", async () => {
    const logs = captureLogs("batch.catch_up");
    // A symbol in the universe that no provider knows: it must be reported, never zeroed.
    await db
      .insert(symbolUniverse)
      .values({ symbol: noPriceSymbol, assetType: "equity", firstSeenDate: "2026-01-02", lastSeenDate: "2026-06-30" });
    await fireCron(monday);
    const run = (await db
      .select()
      .from(batchRuns)
      .where(eq(batchRuns.dedupeKey, `cron:${monday}`))
      .get())!;
    expect(run.dates).toEqual([friday, monday]);
    // Catching a day up is worth an operator's attention: the cron says so.
    expect(logs).toMatchObject([{ level: "warn", event: "batch.catch_up", date: monday, missed: [friday] }]);
    cronRunId = run.id;
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("completed");
    const results = await phaseResults(run.id);
    for (const date of [friday, monday]) {
      const ofDate = results.filter((row) => row.calculationDate === date);
      expect(ofDate.map((row) => row.phase).sort()).toEqual([...batchPhases].sort());
      for (const row of ofDate) {
        expect(row.success, `${date} ${row.phase}: ${row.message}`).toBe(true);
        expect(row.message.length).toBeGreaterThan(0);
      }
    }
    // Phases of a date ran in order.
    const monday_ = results.filter((row) => row.calculationDate === monday);
    for (let i = 1; i < batchPhases.length; i++) {
      const previous = monday_.find((row) => row.phase === batchPhases[i - 1])!;
      const current = monday_.find((row) => row.phase === batchPhases[i])!;
      expect(
        current.startedAt >= previous.finishedAt,
        `${batchPhases[i]} started before ${batchPhases[i - 1]} finished`,
      ).toBe(true);
    }
    const universe = monday_.find((row) => row.phase === "universe_factors")!.counts as StoredPhaseCounts;
    expect(universe.total).toBeGreaterThan(500);
    expect(universe.computed).toBeGreaterThan(480);
    expect(universe.rows_stored).toBeGreaterThan(480 * 12 * 0.9);
  });

  it("stored the factor engine's betas for every symbol of the date", async () => {
    const factors = await loadActiveFactors(db);
    const windowDays = Math.max(...factors.map((factor) => factor.windowDays));
    const prices = await db
      .select({
        symbol: marketPrices.symbol,
        date: marketPrices.date,
        close: marketPrices.close,
        adjClose: marketPrices.adjClose,
      })
      .from(marketPrices)
      .where(and(gt(marketPrices.date, addDays(monday, -(windowDays + 10))), lte(marketPrices.date, monday)));
    const { input } = buildFactorEngineInput(prices, factors);
    const universe = computeUniverseBetas(input, monday);
    const stored = await db
      .select()
      .from(symbolFactorExposures)
      .where(eq(symbolFactorExposures.calculationDate, monday));
    const storedByKey = new Map(stored.map((row) => [`${row.symbol}|${row.factorId}`, row]));
    const symbols = (
      await db.select({ symbol: symbolUniverse.symbol }).from(symbolUniverse).where(eq(symbolUniverse.isActive, true))
    ).map((r) => r.symbol);
    let compared = 0;
    for (const symbol of symbols) {
      const betas = universe.symbolBetasFor(symbol);
      for (const factor of factors) {
        const expected = betas?.betas[factor.key];
        const row = storedByKey.get(`${symbol}|${factor.id}`);
        if (!expected || expected.status === "missing") {
          expect(row, `${symbol} ${factor.key} should have no stored beta`).toBeUndefined();
          continue;
        }
        expect(row, `${symbol} ${factor.key}`).toBeDefined();
        expect(Math.abs(row!.betaValue - expected.beta)).toBeLessThan(1e-9);
        expect(row!.observations).toBe(expected.observations);
        expect(row!.qualityFlag).toBe(expected.qualityFlag);
        compared++;
      }
    }
    expect(compared).toBe(stored.length);
    expect(compared).toBeGreaterThan(5000);
  });

  it("filled the dashboard rows, the portfolio analytics and the live hub", async () => {
    const metrics = await db.select().from(symbolDailyMetrics).where(eq(symbolDailyMetrics.metricsDate, monday));
    expect(metrics.length).toBeGreaterThan(480);
    const withMarketBeta = metrics.filter((row) => row.factorMarketBeta !== null);
    expect(withMarketBeta.length).toBeGreaterThan(480);
    const snapshots = await db.select().from(portfolioSnapshots).where(eq(portfolioSnapshots.date, monday));
    expect(snapshots).toHaveLength(5);
    for (const snapshot of snapshots) expect(snapshot.dataQuality).toMatchObject({ date: monday });
    expect(
      (await db.select().from(portfolioFactorExposures).where(eq(portfolioFactorExposures.calculationDate, monday)))
        .length,
    ).toBeGreaterThanOrEqual(5 * 10);
    expect(
      (await db.select().from(portfolioStressResults).where(eq(portfolioStressResults.calculationDate, monday))).length,
    ).toBe(5 * 5);
    expect(
      (await db.select().from(positionFactorExposures).where(eq(positionFactorExposures.calculationDate, monday)))
        .length,
    ).toBeGreaterThan(0);
    const status = await liveHubFor(env, { org: "demo-org", sub: "demo" }).status();
    expect(status.lastEvent).toMatchObject({
      type: "batch.completed",
      run_id: cronRunId,
      summary: { portfolios_updated: 5 },
    });
  });

  it(
    "serves the dual-write report over the run's dates: " + "the per-position path agrees with the cached betas",
    async () => {
      const response = await exports.default.fetch(
        `http://localhost/api/v1/admin/dual-write/report?start_date=${friday}&end_date=${monday}`,
        { headers: await authHeaders("pipeline-operator", ["RUN_BATCH"]) },
      );
      expect(response.status).toBe(200);
      const report = await response.json<DualWriteReport>();
      expect(report.overall.comparisons).toBeGreaterThan(100);
      expect(report.overall.discrepancies).toBe(0);
      expect(report.recommendation).toBe("SAFE_TO_DEPRECATE");
      expect(report.dates.map((d) => d.date)).toEqual([friday, monday]);
      const invalid = await exports.default.fetch(
        `http://localhost/api/v1/admin/dual-write/report?start_date=${monday}&end_date=${friday}`,
        { headers: await authHeaders("pipeline-operator", ["RUN_BATCH"]) },
      );
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({
        error: { code: "VALIDATION_ERROR", details: [expect.objectContaining({ path: "start_date" })] },
      });
    },
  );

  it("reports a symbol without prices with its reason and stores no number for it", async () => {
    const results = await phaseResults(cronRunId);
    const marketData = results.find((row) => row.calculationDate === monday && row.phase === "market_data")!
      .counts as StoredPhaseCounts;
    expect(marketData.failed_reasons["no_data"]).toBeGreaterThanOrEqual(1);
    expect(marketData.issues).toContainEqual(
      expect.objectContaining({ item: noPriceSymbol, kind: "failed", reason: "no_data" }),
    );
    const factors = results.find((row) => row.calculationDate === monday && row.phase === "universe_factors")!
      .counts as StoredPhaseCounts;
    expect(factors.issues).toContainEqual(
      expect.objectContaining({ item: noPriceSymbol, kind: "failed", reason: "no_prices" }),
    );
    for (const table of [marketPrices, symbolFactorExposures, symbolDailyMetrics] as const) {
      const rows = await db
        .select({ n: sql<number>`count(*)` })
        .from(table)
        .where(eq(table.symbol, noPriceSymbol))
        .get();
      expect(rows?.n).toBe(0);
    }
  });

  it("starts one run when two cron invocations overlap, and the next day's run catches up nothing", async () => {
    await Promise.all([fireCron(tuesday), fireCron(tuesday)]);
    const runs = await db.select().from(batchRuns).where(eq(batchRuns.endDate, tuesday));
    expect(runs).toHaveLength(1);
    expect(runs[0]!.dates).toEqual([tuesday]);
    expect((await waitForRunEnd(runs[0]!.id)).status).toBe("completed");
  });
});

describe("replays and reruns", () => {
  it("leaves every row identical when a chunk's message is delivered again", async () => {
    const before = await dateSnapshot(monday);
    for (const phase of ["universe_factors", "symbol_metrics", "portfolio_analytics", "denormalize"] as const) {
      const outcome = await deliver(
        batchQueueName,
        { type: "phase.chunk", runId: cronRunId, date: monday, phase, chunkIndex: 0 },
        2,
      );
      expect(outcome).toEqual({ acked: true, retried: false });
    }
    expect(await dateSnapshot(monday)).toEqual(before);
    // No phase was recorded twice, and the run is still completed.
    const results = await phaseResults(cronRunId);
    expect(results.filter((row) => row.calculationDate === monday)).toHaveLength(batchPhases.length);
    expect((await runById(cronRunId))?.status).toBe("completed");
  });

  it("skips stored betas without force_rerun and recomputes them with it", async () => {
    const sample = (await db
      .select()
      .from(symbolFactorExposures)
      .where(eq(symbolFactorExposures.calculationDate, monday))
      .limit(1)
      .get())!;
    // A corrupted stored beta: only a forced rerun replaces it.
    await db.update(symbolFactorExposures).set({ betaValue: 4.5 }).where(eq(symbolFactorExposures.id, sample.id));
    const queue = env.BATCH_QUEUE;
    const plain = await createRun(db, queue, { trigger: "admin", startDate: monday, endDate: monday });
    expect(plain.outcome).toBe("started");
    if (plain.outcome === "skipped") throw new Error("unreachable");
    expect((await waitForRunEnd(plain.runId)).status).toBe("completed");
    const plainFactors = (await phaseResults(plain.runId)).find((row) => row.phase === "universe_factors")!
      .counts as StoredPhaseCounts;
    expect(plainFactors.computed).toBe(0);
    expect(plainFactors.skipped_reasons["already_stored"]).toBeGreaterThan(480);
    expect(
      (await db.select().from(symbolFactorExposures).where(eq(symbolFactorExposures.id, sample.id)).get())?.betaValue,
    ).toBe(4.5);

    const forced = await createRun(db, queue, {
      trigger: "admin",
      startDate: monday,
      endDate: monday,
      forceRerun: true,
    });
    if (forced.outcome === "skipped") throw new Error("unreachable");
    expect((await waitForRunEnd(forced.runId)).status).toBe("completed");
    const forcedFactors = (await phaseResults(forced.runId)).find((row) => row.phase === "universe_factors")!
      .counts as StoredPhaseCounts;
    expect(forcedFactors.computed).toBeGreaterThan(480);
    expect(forcedFactors.rows_stored).toBeGreaterThanOrEqual(1);
    expect(
      (await db.select().from(symbolFactorExposures).where(eq(symbolFactorExposures.id, sample.id)).get())?.betaValue,
    ).toBe(sample.betaValue);
  });
});

/** A run with its `denormalize` phase of one date planned by hand, its chunks not yet sent. */
async function runAwaitingChunks(date: string) {
  const runId = crypto.randomUUID();
  await db.insert(batchRuns).values({
    id: runId,
    dedupeKey: `pipeline-test:${runId}`,
    trigger: "admin",
    startDate: date,
    endDate: date,
    dates: [date],
    status: "running",
  });
  const symbols = (
    await db
      .select({ symbol: symbolDailyMetrics.symbol })
      .from(symbolDailyMetrics)
      .where(eq(symbolDailyMetrics.metricsDate, date))
      .limit(40)
  ).map((r) => r.symbol);
  const chunks = await planPhaseChunks(db, { runId, calculationDate: date, phase: "denormalize" }, symbols, 20);
  expect(chunks).toHaveLength(2);
  return runId;
}

const unreachableDatabase = { TURSO_DATABASE_URL: "http://127.0.0.1:9" } as Partial<Env>;

describe("failures", () => {
  it("retries a chunk that fails twice, then completes it and moves the run on", async () => {
    const logs = captureLogs("batch.message_failed", "batch.chunk_error_not_recorded");
    const runId = await runAwaitingChunks(monday);
    const message: BatchMessage = { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 0 };
    expect(await deliver(batchQueueName, message, 1, unreachableDatabase)).toEqual({ acked: false, retried: true });
    expect(await deliver(batchQueueName, message, 2, unreachableDatabase)).toEqual({ acked: false, retried: true });
    // Each failure is logged, and so is the chunk error the unreachable database could not take.
    expect(eventsOf(logs)).toEqual([
      "batch.message_failed",
      "batch.chunk_error_not_recorded",
      "batch.message_failed",
      "batch.chunk_error_not_recorded",
    ]);
    expect(logs[0]).toMatchObject({ runId, phase: "denormalize", chunkIndex: 0, attempts: 1, retryInSeconds: 30 });
    expect(logs[2]).toMatchObject({ attempts: 2, retryInSeconds: 60 });
    expect(await deliver(batchQueueName, message, 3)).toEqual({ acked: true, retried: false });
    expect(await deliver(batchQueueName, { ...message, chunkIndex: 1 }, 1)).toEqual({ acked: true, retried: false });
    const chunks = await db
      .select()
      .from(batchChunks)
      .where(and(eq(batchChunks.runId, runId), eq(batchChunks.phase, "denormalize")));
    expect(chunks.map((chunk) => chunk.status)).toEqual(["done", "done"]);
    // The last chunk recorded the phase and the real queue ran publish: the run completed.
    expect((await waitForRunEnd(runId)).status).toBe("completed");
    const denormalize = (await phaseResults(runId)).find((row) => row.phase === "denormalize")!;
    expect(denormalize).toMatchObject({ success: true });
  });

  it(
    "dead-letters a chunk that keeps failing: " + "the phase records what is missing and the run ends partial",
    async () => {
      const logs = captureLogs(
        "batch.message_failed",
        "batch.chunk_error_not_recorded",
        "batch.message_dead_lettered",
        "batch.phase",
        "batch.run_finished",
      );
      const runId = await runAwaitingChunks(monday);
      const message: BatchMessage = { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 1 };
      for (let attempt = 1; attempt <= 6; attempt++) {
        expect(await deliver(batchQueueName, message, attempt, unreachableDatabase)).toEqual({
          acked: false,
          retried: true,
        });
      }
      expect(await deliver(batchQueueName, { ...message, chunkIndex: 0 }, 1)).toEqual({ acked: true, retried: false });
      // After max_retries the queue moves the message to the dead-letter queue.
      expect(await deliver(batchDeadLetterQueueName, message, 6)).toEqual({ acked: true, retried: false });
      const run = await waitForRunEnd(runId);
      expect(run.status).toBe("partial");
      expect(run.errorText).toContain(
        "phase.chunk denormalize chunk 1 for 2026-06-29 was dead-lettered after 6 attempt(s)",
      );
      const denormalize = (await phaseResults(runId)).find((row) => row.phase === "denormalize")!;
      expect(denormalize.success).toBe(false);
      const counts = denormalize.counts as StoredPhaseCounts;
      expect(counts).toMatchObject({ chunks_total: 2, chunks_done: 1, chunks_failed: 1, failed: 20 });
      expect(counts.failed_reasons).toEqual({ chunk_dead_lettered: 20 });
      expect(denormalize.message).toContain("1 of 2 chunks dead-lettered");
      expect(eventsOf(logs).filter((event) => event === "batch.message_failed")).toHaveLength(6);
      // The consumer that ends the run logs it just after the status the test waited for.
      await vi.waitFor(() =>
        expect(logs.filter((line) => line.level === "error" && line["runId"] === runId)).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ event: "batch.message_dead_lettered" }),
            expect.objectContaining({ event: "batch.phase", name: "denormalize", success: false }),
            expect.objectContaining({ event: "batch.run_finished", status: "partial" }),
          ]),
        ),
      );
    },
  );
});

/** A queue that takes messages and delivers none: a `wrangler dev` killed with its queues in memory. */
function droppingQueue() {
  const sent: BatchMessage[] = [];
  const queue = {
    async send(body: BatchMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<BatchMessage>>) {
      for (const message of messages) sent.push(message.body);
    },
  } as unknown as Queue<BatchMessage>;
  return { queue, sent };
}

/** Longer than the tests' stall time (1 s): the run counts as stalled. */
async function stall(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}

async function sweepRun(queue: Queue<BatchMessage>, runId: string, maxSweeps = 5): Promise<SweptRun[]> {
  return sweepStalledRuns({ db, queue, config: { stallSeconds: 1, maxSweeps } }, { runId });
}

/** The pipeline's database, with its first `failures` writes (`update`) failing as an unavailable database's would. */
function flakyDatabase(failures: number) {
  let left = failures;
  return new Proxy(db, {
    get(target, property) {
      if (property === "update" && left > 0) {
        left--;
        return () => {
          throw new Error("database unavailable (test)");
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Delivers one message to the consumer with a given database (worker.queue() builds its own). */
async function deliverWithDatabase(queue: string, body: BatchMessage, attempts: number, database: typeof db) {
  const id = crypto.randomUUID();
  const batch = createMessageBatch<BatchMessage>(queue, [{ id, timestamp: Date.now(), attempts, body }]);
  const ctx = createExecutionContext();
  await handleBatchQueue(batch, env, database);
  await waitOnExecutionContext(ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks.includes(id), retried: result.retryMessages.some((m) => m.msgId === id) };
}

describe("recovery: the ledger drives it, the queue is a doorbell", () => {
  it(
    "completes a run whose every message was dropped, through the sweep, " + "with rows identical to a clean run",
    async () => {
      const logs = captureLogs("batch.run_swept");
      const before = await dateSnapshot(monday);
      const { queue, sent } = droppingQueue();
      const created = await createRun(db, queue, {
        trigger: "admin",
        startDate: monday,
        endDate: monday,
        forceRerun: true,
      });
      if (created.outcome !== "started") throw new Error(`expected a new run, got ${created.outcome}`);
      const runId = created.runId;
      expect(sent).toEqual([{ type: "run.start", runId, date: monday }]);
      const deps = { db, env, queue, config: batchConfig(env), redelivery: false };

      // Queued, its run.start lost: the sweep rings it again.
      sent.length = 0;
      expect(await sweepRun(queue, runId)).toEqual([]); // not stalled yet
      await stall();
      expect(await sweepRun(queue, runId)).toMatchObject([{ action: "reenqueued", messages: 1 }]);
      expect(sent).toEqual([{ type: "run.start", runId, date: monday }]);
      // Running, the first phase's phase.start lost.
      await processBatchMessage(deps, sent.splice(0)[0]!);
      expect((await runById(runId))?.status).toBe("running");
      expect(sent.splice(0)).toEqual([{ type: "phase.start", runId, date: monday, phase: "market_data" }]); // lost
      await stall();
      expect(await sweepRun(queue, runId)).toMatchObject([{ action: "reenqueued", messages: 1 }]);
      expect(sent).toEqual([{ type: "phase.start", runId, date: monday, phase: "market_data" }]);
      // The phase planned, its chunk messages lost: the sweep re-sends the pending chunks.
      await processBatchMessage(deps, sent.splice(0)[0]!);
      const planned = sent.splice(0);
      expect(planned.length).toBeGreaterThan(1);
      expect(planned.every((message) => message.type === "phase.chunk" && message.phase === "market_data")).toBe(true);
      await stall();
      expect(await sweepRun(queue, runId)).toMatchObject([{ action: "reenqueued", messages: planned.length }]);
      expect(sent).toEqual(planned);

      // Lost again; this time reading the run's status (the admin detail) sweeps it onto the real queue.
      await stall();
      const ctx = createExecutionContext();
      const response = await worker.fetch!(
        new Request(`http://localhost/api/v1/admin/batch/runs/${runId}?include_issues=false`, {
          headers: await authHeaders("pipeline-operator", ["RUN_BATCH"]),
        }),
        { ...env, BATCH_STALL_SECONDS: "1" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(200);
      const ended = await waitForRunEnd(runId);
      expect(ended.status).toBe("completed");
      expect(ended.errorText).toBeNull();
      expect(recoveryOf(ended.counts)).toMatchObject({ sweeps_total: 4 });
      // Every re-enqueue is logged for the operator.
      expect(logs.filter((line) => line["runId"] === runId)).toHaveLength(4);
      const results = await phaseResults(runId);
      expect(results.map((row) => row.phase).sort()).toEqual([...batchPhases].sort());
      expect(results.every((row) => row.success)).toBe(true);
      expect(await dateSnapshot(monday)).toEqual(before);
    },
  );

  it("retries the dead-letter write when the database fails, and ends the run partial with the reason", async () => {
    const logs = captureLogs(
      "batch.dead_letter_write_retry",
      "batch.dead_letter_not_recorded",
      "batch.message_dead_lettered",
      "batch.phase",
      "batch.run_finished",
    );
    const runId = await runAwaitingChunks(monday);
    const message: BatchMessage = { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 1 };
    expect(await deliver(batchQueueName, { ...message, chunkIndex: 0 }, 1)).toEqual({ acked: true, retried: false });
    // The database fails for the whole invocation: the message is redelivered, never acked unrecorded.
    expect(await deliverWithDatabase(batchDeadLetterQueueName, message, 6, flakyDatabase(100))).toEqual({
      acked: false,
      retried: true,
    });
    expect(
      (
        await db
          .select()
          .from(batchChunks)
          .where(and(eq(batchChunks.runId, runId), eq(batchChunks.chunkIndex, 1)))
          .get()
      )?.status,
    ).toBe("pending");
    expect((await runById(runId))?.status).toBe("running");
    // Redelivered, the database fails the first two writes: the consumer's own retries record it.
    expect(await deliverWithDatabase(batchDeadLetterQueueName, message, 6, flakyDatabase(2))).toEqual({
      acked: true,
      retried: false,
    });
    const run = await waitForRunEnd(runId);
    expect(run.status).toBe("partial");
    const reason = "phase.chunk denormalize chunk 1 for 2026-06-29 was dead-lettered after 6 attempt(s)";
    expect(run.errorText).toContain(reason);
    expect(run.errorText!.split(reason)).toHaveLength(2); // recorded once
    const denormalize = (await phaseResults(runId)).find((row) => row.phase === "denormalize")!;
    expect(denormalize.counts as StoredPhaseCounts).toMatchObject({ chunks_done: 1, chunks_failed: 1 });
    // Three retries of the write, then the redelivery; two more retries on the next delivery.
    expect(eventsOf(logs).filter((event) => event.startsWith("batch.dead_letter"))).toEqual([
      "batch.dead_letter_write_retry",
      "batch.dead_letter_write_retry",
      "batch.dead_letter_write_retry",
      "batch.dead_letter_not_recorded",
      "batch.dead_letter_write_retry",
      "batch.dead_letter_write_retry",
    ]);
    await vi.waitFor(() =>
      expect(logs).toEqual(
        expect.arrayContaining([expect.objectContaining({ event: "batch.run_finished", runId, status: "partial" })]),
      ),
    );
  });

  it(
    "shows a retrying chunk's error in the run detail, " +
      "and ends a run that cannot progress as failed with the reason",
    async () => {
      const logs = captureLogs("batch.message_failed", "batch.run_swept", "batch.run_finished");
      const runId = await runAwaitingChunks(monday);
      await db
        .update(batchRuns)
        .set({ phases: ["denormalize", "publish"] })
        .where(eq(batchRuns.id, runId));
      // The chunk throws (a misconfigured setting): retried, its error recorded on the chunk row.
      const message: BatchMessage = { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 1 };
      expect(await deliver(batchQueueName, message, 1, { BATCH_SYMBOL_CHUNK_SIZE: "many" } as Partial<Env>)).toEqual({
        acked: false,
        retried: true,
      });
      const response = await exports.default.fetch(`http://localhost/api/v1/admin/batch/runs/${runId}`, {
        headers: await authHeaders("pipeline-operator", ["RUN_BATCH"]),
      });
      const detail = await response.json<BatchRunDetail>();
      expect(detail.progress.last_error).toMatchObject({
        date: monday,
        phase: "denormalize",
        chunk_index: 1,
        attempt: 1,
        message: expect.stringContaining("BATCH_SYMBOL_CHUNK_SIZE"),
      });
      expect(detail.progress.last_error!.message.length).toBeLessThanOrEqual(500);

      // Its retry is due in 30 s: the sweep leaves the run alone until then.
      const { queue, sent } = droppingQueue();
      await stall();
      expect(await sweepRun(queue, runId, 2)).toMatchObject([{ action: "waiting_retry" }]);
      expect(sent).toEqual([]);
      // The retry's time passed and its message was lost too: every sweep re-enqueues, nothing progresses.
      await db.update(batchChunks).set({ updatedAt: "2000-01-01T00:00:00.000Z" }).where(eq(batchChunks.runId, runId));
      await db.update(batchRuns).set({ updatedAt: "2000-01-01T00:00:00.000Z" }).where(eq(batchRuns.id, runId));
      expect(await sweepRun(queue, runId, 2)).toMatchObject([{ action: "reenqueued", messages: 2, sweeps: 1 }]);
      expect(sent.splice(0)).toEqual([
        { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 0 },
        { type: "phase.chunk", runId, date: monday, phase: "denormalize", chunkIndex: 1 },
      ]);
      await stall();
      expect(await sweepRun(queue, runId, 2)).toMatchObject([{ action: "reenqueued", messages: 2, sweeps: 2 }]);
      await stall();
      expect(await sweepRun(queue, runId, 2)).toMatchObject([{ action: "ended", sweeps: 3 }]);
      const run = (await runById(runId))!;
      expect(run.status).toBe("failed");
      expect(run.finishedAt).not.toBeNull();
      expect(run.errorText).toMatch(
        new RegExp(
          /^no progress for \d+s after 2 re-enqueues: 2026-06-29 denormalize: /.source +
            /2 of 2 chunks pending \(last error, attempt 1: .*BATCH_SYMBOL_CHUNK_SIZE/.source,
        ),
      );
      // Ended: no later sweep touches it.
      await stall();
      expect(await sweepRun(queue, runId, 2)).toEqual([]);
      expect(eventsOf(logs.filter((line) => line["runId"] === runId))).toEqual([
        "batch.message_failed",
        "batch.run_swept",
        "batch.run_swept",
        "batch.run_finished",
      ]);
      expect(logs.at(-1)).toMatchObject({ level: "error", status: "failed" });
    },
  );
});

describe("isolation: one portfolio cannot fail the others (issue 15)", () => {
  it("computes 20 ordinary portfolios and refuses, alone and with its reason, one over the position cap", async () => {
    const date = "2026-06-24";
    const owner = "isolation-test";
    const heldSymbols = (
      await db
        .selectDistinct({ symbol: positions.symbol })
        .from(positions)
        .where(eq(positions.instrument, "stock"))
        .limit(3)
    ).map((row) => row.symbol);
    expect(heldSymbols.length).toBe(3);
    const ordinary = Array.from({ length: 20 }, (_, i) => `iso-ordinary-${String(i).padStart(2, "0")}`);
    const huge = "iso-huge";
    await db
      .insert(portfolios)
      .values([...ordinary, huge].map((id) => ({ id, owner, org: null, name: id, cash: 1_000 })));
    await db.insert(positions).values(
      ordinary.flatMap((portfolioId) =>
        heldSymbols.map((symbol, i) => ({
          id: `${portfolioId}-${i}`,
          portfolioId,
          symbol,
          instrument: "stock" as const,
          quantity: 10 + i,
          openedOn: "2026-01-05",
        })),
      ),
    );
    // One more than MAX_POSITIONS_PER_PORTFOLIO's default (10,000): it got there around the API.
    const hugeRows = Array.from({ length: 10_001 }, (_, i) => ({
      id: `${huge}-${i}`,
      portfolioId: huge,
      symbol: heldSymbols[i % 3]!,
      instrument: "stock" as const,
      quantity: 1,
      openedOn: "2026-01-05",
    }));
    for (let i = 0; i < hugeRows.length; i += 500) await db.insert(positions).values(hugeRows.slice(i, i + 500));
    try {
      const created = await createRun(db, env.BATCH_QUEUE, {
        trigger: "admin",
        startDate: date,
        endDate: date,
        forceRerun: false,
      });
      if (created.outcome !== "started") throw new Error(`expected a new run, got ${created.outcome}`);
      const ended = await waitForRunEnd(created.runId);

      // The huge portfolio had a chunk of its own: its size, not the count of 25, cut the chunks.
      const chunks = await db
        .select()
        .from(batchChunks)
        .where(and(eq(batchChunks.runId, created.runId), eq(batchChunks.phase, "portfolio_analytics")));
      const hugeChunk = chunks.find((chunk) => chunk.symbols.includes(huge));
      expect(hugeChunk?.symbols).toEqual([huge]);
      expect(chunks.every((chunk) => chunk.status === "done")).toBe(true);

      const phase = (await phaseResults(created.runId)).find((row) => row.phase === "portfolio_analytics")!;
      const counts = phase.counts as StoredPhaseCounts;
      expect(counts.failed).toBe(1);
      expect(counts.failed_reasons).toEqual({ too_many_positions: 1 });
      expect(JSON.stringify(counts.issues)).toContain("10001 positions, over the limit of 10000");
      // Every chunk finished: the run completes, and its totals count the portfolio that failed.
      expect(ended.status).toBe("completed");
      expect((ended.counts as { items_failed: number }).items_failed).toBeGreaterThanOrEqual(1);

      const snapshots = await db
        .select({ id: portfolioSnapshots.portfolioId })
        .from(portfolioSnapshots)
        .where(eq(portfolioSnapshots.date, date));
      const computed = new Set(snapshots.map((row) => row.id));
      for (const id of ordinary) expect(computed.has(id), id).toBe(true);
      expect(computed.has(huge)).toBe(false);
      const exposures = await db
        .select({ id: portfolioFactorExposures.portfolioId })
        .from(portfolioFactorExposures)
        .where(eq(portfolioFactorExposures.calculationDate, date));
      expect(new Set(exposures.map((row) => row.id)).has(huge)).toBe(false);
      expect(ordinary.every((id) => exposures.some((row) => row.id === id))).toBe(true);
    } finally {
      // Positions and results go with their portfolios (ON DELETE CASCADE).
      await db.delete(portfolios).where(eq(portfolios.owner, owner));
    }
  });
});
