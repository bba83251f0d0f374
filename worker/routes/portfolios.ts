// Portfolios and their effective-dated positions: list, create, read, update, delete, and the
// position CSV import. Shapes: worker/api/portfolios.ts; who may do what:
// worker/auth/ownership.ts (another owner's portfolio is a 404, an org member's read-only one
// a 403 on writes).
//
// Decisions:
// - Creating a position registers its symbol (an option's underlying) in the universe, so the
//   next batch fetches its closes and computes its betas; private positions are not registered.
//   Caps (worker/quotas.ts, ../portfolios/holding-writes.ts): portfolios per owner, positions
//   per portfolio, new universe symbols per tenant per day; over one, a 409 or 429 and no write.
// - A position update is merged into the stored position and the result must satisfy every
//   rule a new one does (an option keeps needing a delta or an implied volatility).
// - A position the numbers cannot use yet (no prices, no betas, an expired option) is accepted
//   and reported: create, update and import answer `warnings`, per position and CSV line.
// - A change to positions that were held before the latest computed date starts the
//   portfolio's history run (portfolio phases only, from stored betas, through the queue) for
//   every computed date since the earliest affected `opened_on`; the latest date is refreshed
//   at once as before. Progress goes out on the live channel.
// - The CSV import is all or nothing: every line's errors are reported (line, field, reason)
//   and nothing is written unless the whole file is valid. `mode=replace` swaps the
//   portfolio's positions for the file's in one transaction.
import { and, asc, count, eq, sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { portfolios, positions, symbolUniverse } from "../../schema/index.ts";
import { routes } from "../api/contract.ts";
import {
  portfolioCreateSchema,
  portfolioParamsSchema,
  portfolioUpdateSchema,
  positionCreateSchema,
  positionIssues,
  positionListQuerySchema,
  positionParamsSchema,
  positionUpdateSchema,
  type PositionCreate,
} from "../api/portfolios.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { readablePortfolio, visiblePortfolios, writablePortfolio } from "../auth/ownership.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { runWrites } from "../db/transaction.ts";
import { isHeldOn } from "../factors/portfolio.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { importPositionsCsv } from "../portfolios/position-import.ts";
import { portfolioResponse, positionBody, positionResponse, positionRow } from "../portfolios/records.ts";
import { startPortfolioHistoryRun } from "../batch/runs.ts";
import { describeError, logEvent } from "../log.ts";
import { positionWarnings } from "../portfolios/position-warnings.ts";
import { isCapGuardFailure, planHoldingWrites } from "../portfolios/holding-writes.ts";
import { quotaExceeded, quotas } from "../quotas.ts";
import { refreshLatestExposures } from "../realtime/publish.ts";
import { analyticsRoutes } from "./portfolio-analytics.ts";

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

async function requireUniverseSymbol(db: Database, symbol: string, path: string): Promise<void> {
  const found = await db
    .select({ symbol: symbolUniverse.symbol })
    .from(symbolUniverse)
    .where(eq(symbolUniverse.symbol, symbol))
    .get();
  if (!found)
    throw validationError(`${path} ${symbol} is not in the universe`, [
      { path, message: `${symbol} is not in the universe (no prices or betas); choose a listed symbol` },
    ]);
}

function isUniqueViolation(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (/UNIQUE constraint failed/i.test(current.message)) return true;
  }
  return false;
}

function nameTaken(name: string): ApiError {
  return new ApiError(409, "CONFLICT", `you already have a portfolio named "${name}"`, [
    { path: "name", message: "must be unique among your portfolios" },
  ]);
}

/**
 * After a change to the portfolio's positions: the latest date at once, and the history since
 * `since` (the earliest opened_on the change touched) through a portfolio history run.
 */
function afterPositionsChanged(
  c: Context<ApiEnv>,
  db: Database,
  portfolioId: string,
  openedOn: readonly string[],
): void {
  c.executionCtx.waitUntil(refreshLatestExposures(c.env, db, portfolioId));
  const since = [...openedOn].sort()[0];
  if (since === undefined || since >= today()) return;
  c.executionCtx.waitUntil(
    startPortfolioHistoryRun(db, c.env.BATCH_QUEUE, portfolioId, since, c.get("caller").sub).then(
      (run) => {
        if (run && run.outcome !== "skipped")
          logEvent("info", "portfolio.history_run", {
            portfolioId,
            runId: run.runId,
            since,
            dates: run.dates.length,
            outcome: run.outcome,
          });
      },
      (error: unknown) =>
        logEvent("error", "portfolio.history_run_failed", { portfolioId, since, error: describeError(error) }),
    ),
  );
}

/**
 * Runs a write whose batch ends with a cap guard; the guard's failure (a concurrent request got there first) is the
 * cap's 409.
 */
async function writeWithinCaps<T>(env: object, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isCapGuardFailure(error)) throw error;
    const limit = quotas(env).positionsPerPortfolio;
    throw quotaExceeded(
      `the portfolio would hold more than ${limit} positions (another change came in meanwhile); nothing was written`,
      "MAX_POSITIONS_PER_PORTFOLIO",
      limit,
    );
  }
}

function checkPosition(body: PositionCreate): void {
  const issues = positionIssues(body);
  if (issues.length > 0)
    throw validationError(`invalid position: ${issues.map((issue) => issue.path).join(", ")}`, issues);
}

export const portfolioRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listPortfolios), noQuery(), async (c) => {
    const caller = c.get("caller");
    const rows = await getDatabase(c.env)
      .select()
      .from(portfolios)
      .where(visiblePortfolios(caller))
      .orderBy(asc(portfolios.name), asc(portfolios.id));
    return c.json({ portfolios: rows.map((row) => portfolioResponse(row, caller)) }, 200);
  })
  .post("/", guard(routes.createPortfolio), noQuery(), validate("json", portfolioCreateSchema), async (c) => {
    const caller = c.get("caller");
    const body = c.req.valid("json");
    const db = getDatabase(c.env);
    const benchmark = body.benchmark_symbol ?? "SPY";
    await requireUniverseSymbol(db, benchmark, "benchmark_symbol");
    const existing = await db
      .select({ id: portfolios.id })
      .from(portfolios)
      .where(and(eq(portfolios.owner, caller.sub), eq(portfolios.name, body.name)))
      .get();
    if (existing) throw nameTaken(body.name);
    const limit = quotas(c.env).portfoliosPerOwner;
    const owned =
      (await db.select({ n: count() }).from(portfolios).where(eq(portfolios.owner, caller.sub)).get())?.n ?? 0;
    if (owned >= limit)
      throw quotaExceeded(
        `you own ${owned} portfolios, the most one owner may have; delete one first`,
        "MAX_PORTFOLIOS_PER_OWNER",
        limit,
      );
    const id = crypto.randomUUID();
    try {
      await db.insert(portfolios).values({
        id,
        owner: caller.sub,
        org: caller.org,
        name: body.name,
        cash: body.cash ?? 0,
        benchmarkSymbol: benchmark,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(body.name);
      throw error;
    }
    const row = await readablePortfolio(db, caller, id);
    c.header("Location", `/api/v1/portfolios/${id}`);
    return c.json(portfolioResponse(row, caller), 201);
  })
  .get("/:id", guard(routes.getPortfolio), noQuery(), validate("param", portfolioParamsSchema), async (c) => {
    const caller = c.get("caller");
    const row = await readablePortfolio(getDatabase(c.env), caller, c.req.valid("param").id);
    return c.json(portfolioResponse(row, caller), 200);
  })
  .patch(
    "/:id",
    guard(routes.updatePortfolio),
    noQuery(),
    validate("param", portfolioParamsSchema),
    validate("json", portfolioUpdateSchema),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = getDatabase(c.env);
      await writablePortfolio(db, caller, id);
      if (body.benchmark_symbol !== undefined)
        await requireUniverseSymbol(db, body.benchmark_symbol, "benchmark_symbol");
      if (body.name !== undefined) {
        const clash = await db
          .select({ id: portfolios.id })
          .from(portfolios)
          .where(and(eq(portfolios.owner, caller.sub), eq(portfolios.name, body.name)))
          .get();
        if (clash && clash.id !== id) throw nameTaken(body.name);
      }
      try {
        await db
          .update(portfolios)
          .set({
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.cash !== undefined ? { cash: body.cash } : {}),
            ...(body.benchmark_symbol !== undefined ? { benchmarkSymbol: body.benchmark_symbol } : {}),
            updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
          })
          .where(eq(portfolios.id, id));
      } catch (error) {
        if (isUniqueViolation(error) && body.name !== undefined) throw nameTaken(body.name);
        throw error;
      }
      // Cash changes equity, and so every weight.
      if (body.cash !== undefined) c.executionCtx.waitUntil(refreshLatestExposures(c.env, db, id));
      return c.json(portfolioResponse(await readablePortfolio(db, caller, id), caller), 200);
    },
  )
  .delete("/:id", guard(routes.deletePortfolio), noQuery(), validate("param", portfolioParamsSchema), async (c) => {
    const { id } = c.req.valid("param");
    const db = getDatabase(c.env);
    await writablePortfolio(db, c.get("caller"), id);
    // Positions, exposures, snapshots and stress results go with it (ON DELETE CASCADE).
    await db.delete(portfolios).where(eq(portfolios.id, id));
    return c.body(null, 204);
  })
  .get(
    "/:id/positions",
    guard(routes.listPositions),
    validate("param", portfolioParamsSchema),
    validate("query", positionListQuerySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const { date } = c.req.valid("query");
      const db = getDatabase(c.env);
      await readablePortfolio(db, c.get("caller"), id);
      const rows = await db
        .select()
        .from(positions)
        .where(eq(positions.portfolioId, id))
        .orderBy(asc(positions.openedOn), asc(positions.symbol), asc(positions.id));
      const held = date === undefined ? rows : rows.filter((row) => isHeldOn(row, date));
      return c.json({ positions: held.map(positionResponse) }, 200);
    },
  )
  .post(
    "/:id/positions",
    guard(routes.createPosition),
    noQuery(),
    validate("param", portfolioParamsSchema),
    validate("json", positionCreateSchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = getDatabase(c.env);
      await writablePortfolio(db, c.get("caller"), id);
      const row = positionRow(id, crypto.randomUUID(), body);
      const plan = await planHoldingWrites(db, c.env, c.get("caller"), id, [row], { added: 1 });
      await writeWithinCaps(c.env, () =>
        runWrites(db, [
          ...plan.before,
          db.insert(positions).values(row).returning({ id: positions.id }),
          ...plan.after,
        ]),
      );
      const stored = await db.select().from(positions).where(eq(positions.id, row.id)).get();
      if (!stored) throw new Error(`position ${row.id} was written but cannot be read back`);
      afterPositionsChanged(c, db, id, [row.openedOn]);
      c.header("Location", `/api/v1/portfolios/${id}/positions/${row.id}`);
      return c.json({ ...positionResponse(stored), warnings: await positionWarnings(db, [row], today()) }, 201);
    },
  )
  .patch(
    "/:id/positions/:positionId",
    guard(routes.updatePosition),
    noQuery(),
    validate("param", positionParamsSchema),
    validate("json", positionUpdateSchema),
    async (c) => {
      const { id, positionId } = c.req.valid("param");
      const update = c.req.valid("json");
      const db = getDatabase(c.env);
      await writablePortfolio(db, c.get("caller"), id);
      const existing = await db
        .select()
        .from(positions)
        .where(and(eq(positions.id, positionId), eq(positions.portfolioId, id)))
        .get();
      if (!existing) throw new ApiError(404, "NOT_FOUND", `position ${positionId} does not exist in portfolio ${id}`);
      const merged = { ...positionBody(existing), ...update } as PositionCreate;
      checkPosition(merged);
      const row = positionRow(id, positionId, merged);
      const { id: _id, portfolioId: _portfolioId, ...changes } = row;
      const plan = await planHoldingWrites(db, c.env, c.get("caller"), id, [row], { added: 0 });
      await runWrites(db, [
        ...plan.before,
        db
          .update(positions)
          .set({ ...changes, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` })
          .where(eq(positions.id, positionId))
          .returning({ id: positions.id }),
      ]);
      afterPositionsChanged(c, db, id, [existing.openedOn, row.openedOn]);
      const stored = await db.select().from(positions).where(eq(positions.id, positionId)).get();
      if (!stored) throw new ApiError(404, "NOT_FOUND", `position ${positionId} does not exist in portfolio ${id}`);
      return c.json({ ...positionResponse(stored), warnings: await positionWarnings(db, [row], today()) }, 200);
    },
  )
  .delete(
    "/:id/positions/:positionId",
    guard(routes.deletePosition),
    noQuery(),
    validate("param", positionParamsSchema),
    async (c) => {
      const { id, positionId } = c.req.valid("param");
      const db = getDatabase(c.env);
      await writablePortfolio(db, c.get("caller"), id);
      const deleted = await db
        .delete(positions)
        .where(and(eq(positions.id, positionId), eq(positions.portfolioId, id)))
        .returning({ id: positions.id, openedOn: positions.openedOn });
      if (deleted.length === 0)
        throw new ApiError(404, "NOT_FOUND", `position ${positionId} does not exist in portfolio ${id}`);
      afterPositionsChanged(
        c,
        db,
        id,
        deleted.map((row) => row.openedOn),
      );
      return c.body(null, 204);
    },
  )
  .post(
    "/:id/positions/import",
    guard(routes.importPositions),
    validate("param", portfolioParamsSchema),
    validate("query", routes.importPositions.query),
    async (c) => {
      const { id } = c.req.valid("param");
      const mode = c.req.valid("query").mode ?? "append";
      const db = getDatabase(c.env);
      await writablePortfolio(db, c.get("caller"), id);
      const caller = c.get("caller");
      const result = await writeWithinCaps(c.env, () =>
        importPositionsCsv(db, c.req.raw, id, mode, (rows) =>
          planHoldingWrites(db, c.env, caller, id, rows, { added: rows.length, replacing: mode === "replace" }),
        ),
      );
      afterPositionsChanged(c, db, id, [...result.openedOn, ...result.replacedOpenedOn]);
      const { openedOn: _openedOn, replacedOpenedOn: _replaced, rows, ...answer } = result;
      return c.json({ ...answer, warnings: await positionWarnings(db, rows, today()) }, 200);
    },
  )
  .route("/", analyticsRoutes);
