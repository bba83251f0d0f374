// Exposure limits and their alerts (docs/design.md §11, "Limits and alerts"; docs/api.md "Limits and
// alerts"). Shapes: worker/api/limits.ts; evaluation: worker/factors/limits.ts (pure),
// worker/alerts/ (recording, stored numbers, the live push).
//
// Decisions:
// - Limits are read like the portfolio (own, or the org's with VIEW_ALL_POSITIONS; another owner's
//   is a 404) and written like its positions: MANAGE_PORTFOLIOS and the caller's own portfolio (an
//   org member's is a 403).
// - A limit's factor must be active: a lens factor (GET /factors) for exposure and active_exposure,
//   a risk factor (GET /risk/factors) for the risk metrics and factor_share; anything else is a 400
//   on `factor_key` listing the valid keys.
// - Creating or editing a limit evaluates it at once on the portfolio's latest computed date, from
//   the numbers stored for that date, in the write's own transaction: a crossing records its alert
//   (cause `limit`: the limit's own change, not the numbers') and pushes it live, so a
//   limit created already breached shows as breached — in the answer, the alerts and the badge —
//   without waiting for the next recompute. An edit continues the limit's history (its alerts stay).
// - At most MAX_LIMITS_PER_PORTFOLIO (100) limits per portfolio: every recompute evaluates them all.
//   Checked before the write and again inside it (a cap guard), so concurrent creates cannot pass it.
// - Deleting a limit deletes its alerts (ON DELETE CASCADE).
// - Alerts are listed newest first (created_at, then id), a page at a time with an opaque cursor, over
//   the caller's visible portfolios only. Each carries its limit as it is now and whether the breach
//   is ongoing (the limit's latest alert, and the latest computed number not back within).
// - Acknowledging needs MANAGE_PORTFOLIOS and a portfolio the caller reads (an org member watching the
//   org's portfolios may acknowledge: it records who saw the alert and changes no number). It is
//   idempotent: a second acknowledgement keeps the first one's who and when.
import { and, asc, count, desc, eq, gte, isNotNull, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { alerts, portfolioLimits, portfolios } from "../../schema/index.ts";
import { routes } from "../api/contract.ts";
import {
  alertListQuerySchema,
  alertParamsSchema,
  type AlertResponse,
  defaultAlertPage,
  type LimitCreate,
  limitCreateSchema,
  limitIssues,
  type LimitResponse,
  limitParamsSchema,
  limitUpdateSchema,
} from "../api/limits.ts";
import { portfolioParamsSchema } from "../api/portfolios.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import type { Caller } from "../auth/permissions.ts";
import { readablePortfolio, visiblePortfolios, writablePortfolio } from "../auth/ownership.ts";
import { type AlertRow, committedAlerts, type LimitRow, planAlerts } from "../alerts/evaluate.ts";
import { notifyAlerts } from "../alerts/notify.ts";
import {
  latestAlerts,
  type LimitStatus,
  limitStatus,
  type StoredNumbers,
  storedLimitNumbers,
} from "../alerts/stored.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { loadActiveRiskFactors } from "../db/risk-factors.ts";
import { runTransaction } from "../db/transaction.ts";
import { limitLabel } from "../factors/limits.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { isCapGuardFailure } from "../portfolios/holding-writes.ts";
import { capGuard, quotaExceeded, quotas } from "../quotas.ts";
import { required } from "../required.ts";

const isoNow = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

function limitNotFound(portfolioId: string, limitId: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `limit ${limitId} does not exist on portfolio ${portfolioId}`);
}

function alertNotFound(id: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `alert ${id} does not exist`);
}

const lensMetrics: ReadonlySet<string> = new Set(["exposure", "active_exposure"]);
const riskMetrics: ReadonlySet<string> = new Set(["risk_exposure", "active_risk_exposure", "factor_share"]);

/** The factor key must name an active factor of the metric's kind: a 400 on `factor_key` otherwise. */
async function checkFactorKey(db: Database, metric: string, factorKey: string | null): Promise<void> {
  if (factorKey === null) return;
  if (lensMetrics.has(metric)) {
    const keys = (await loadActiveFactors(db)).map((factor) => factor.key);
    if (!keys.includes(factorKey))
      throw validationError(`factor_key ${factorKey} is not an active lens factor`, [
        {
          path: "factor_key",
          message:
            `${factorKey} is not an active lens factor (GET /factors) for metric ${metric}; ` +
            `one of ${keys.join(", ")}`,
        },
      ]);
  } else if (riskMetrics.has(metric)) {
    const keys = (await loadActiveRiskFactors(db)).map((factor) => factor.key);
    if (!keys.includes(factorKey))
      throw validationError(`factor_key ${factorKey} is not an active risk factor`, [
        {
          path: "factor_key",
          message:
            `${factorKey} is not an active risk factor (GET /risk/factors) for metric ${metric}; ` +
            `one of ${keys.join(", ")}`,
        },
      ]);
  }
}

function limitResponse(row: LimitRow, status: LimitStatus): LimitResponse {
  const last = status.lastAlert;
  return {
    id: row.id,
    portfolio_id: row.portfolioId,
    metric: row.metric,
    factor_key: row.factorKey,
    min_value: row.minValue,
    max_value: row.maxValue,
    description: row.description,
    label: limitLabel(row),
    created_by: row.createdBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    current: status.current,
    state: status.breached ? "breached" : "within",
    last_alert:
      last === null
        ? null
        : {
            id: last.id,
            date: last.date,
            state: last.state,
            created_at: last.createdAt,
            acknowledged_at: last.acknowledgedAt,
          },
  };
}

/** The limits' answers: each with where its number stands now and its latest alert. */
async function limitResponses(db: Database, rows: readonly LimitRow[]): Promise<LimitResponse[]> {
  const [numbers, latest] = await Promise.all([
    storedLimitNumbers(
      db,
      rows.map((row) => row.portfolioId),
    ),
    latestAlerts(
      db,
      rows.map((row) => row.id),
    ),
  ]);
  return rows.map((row) =>
    limitResponse(row, limitStatus(row, numbers.get(row.portfolioId), latest.get(row.id) ?? null)),
  );
}

/**
 * Runs a limit's write followed by its evaluation on the stored numbers of the portfolio's latest
 * computed date (the alert statement reads the limit as the write left it, in the same
 * transaction); returns the alert written, already handed to the live push.
 */
async function writeAndEvaluate(
  c: Context<ApiEnv>,
  db: Database,
  limit: LimitRow,
  numbers: StoredNumbers | undefined,
  writes: Parameters<typeof runTransaction>[1],
): Promise<AlertRow | null> {
  const plan = numbers
    ? planAlerts([limit], () => numbers.values, numbers.date, "limit")
    : { statements: [], keys: [] };
  const counts = await runTransaction(db, [...writes, ...plan.statements]);
  const written = await committedAlerts(db, plan, counts.slice(writes.length));
  if (written.length > 0) c.executionCtx.waitUntil(notifyAlerts(c.env, written));
  return written[0] ?? null;
}

function alertRecorded(alert: AlertRow | null) {
  return alert === null ? null : { id: alert.id, state: alert.state, date: alert.date };
}

/**
 * The portfolio of the path must be the caller's to change, checked before the body is read: another
 * owner's portfolio is a 404 (an org member's a 403) whatever the body says, as if it did not exist.
 */
const writableFromPath = createMiddleware<ApiEnv>(async (c, next) => {
  await writablePortfolio(getDatabase(c.env), c.get("caller"), c.req.param("id") ?? "");
  await next();
});

// ---- alerts --------------------------------------------------------------------------------

interface AlertJoin {
  alert: AlertRow;
  portfolioName: string;
  limit: LimitRow;
}

const alertColumns = { alert: alerts, portfolioName: portfolios.name, limit: portfolioLimits };

function selectAlerts(db: Database, where: SQL | undefined) {
  return db
    .select(alertColumns)
    .from(alerts)
    .innerJoin(portfolios, eq(portfolios.id, alerts.portfolioId))
    .innerJoin(portfolioLimits, eq(portfolioLimits.id, alerts.limitId))
    .where(where);
}

/** Alerts as answered: each with its limit as it is now and whether the breach is ongoing. */
async function alertResponses(db: Database, rows: readonly AlertJoin[]): Promise<AlertResponse[]> {
  const [numbers, latest] = await Promise.all([
    storedLimitNumbers(
      db,
      rows.map((row) => row.alert.portfolioId),
    ),
    latestAlerts(
      db,
      rows.map((row) => row.limit.id),
    ),
  ]);
  return rows.map(({ alert, portfolioName, limit }) => {
    const last = latest.get(limit.id) ?? null;
    const status = limitStatus(limit, numbers.get(limit.portfolioId), last);
    return {
      id: alert.id,
      portfolio_id: alert.portfolioId,
      portfolio_name: portfolioName,
      limit_id: alert.limitId,
      date: alert.date,
      state: alert.state,
      metric: alert.metric,
      factor_key: alert.factorKey,
      value: alert.value,
      min_value: alert.minValue,
      max_value: alert.maxValue,
      cause: alert.cause,
      created_at: alert.createdAt,
      acknowledged_at: alert.acknowledgedAt,
      acknowledged_by: alert.acknowledgedBy,
      ongoing: isOngoing(alert, last, status),
      limit: {
        description: limit.description,
        label: limitLabel(limit),
        metric: limit.metric,
        factor_key: limit.factorKey,
        min_value: limit.minValue,
        max_value: limit.maxValue,
        current: status.current,
        breached: status.breached,
      },
    };
  });
}

/** A breach not over yet: its limit's latest alert, and the limit breached now. */
function isOngoing(alert: Pick<AlertRow, "id" | "state">, latest: AlertRow | null, status: LimitStatus): boolean {
  return alert.state === "breached" && latest?.id === alert.id && status.breached;
}

/** The cursor of a page's last alert: its created_at and id, base64url. */
function encodeCursor(alert: Pick<AlertRow, "createdAt" | "id">): string {
  const bytes = new TextEncoder().encode(JSON.stringify([alert.createdAt, alert.id]));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const invalid = () =>
    validationError("invalid cursor", [{ path: "cursor", message: "cursor is not one this API gave (next_cursor)" }]);
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    value = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
        Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
      ),
    );
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== "string" ||
    typeof value[1] !== "string" ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value[0]) ||
    value[1].length === 0 ||
    value[1].length > 100
  )
    throw invalid();
  return { createdAt: value[0], id: value[1] };
}

const alertCsvHeader = [
  "id",
  "portfolio_id",
  "portfolio_name",
  "limit_id",
  "date",
  "state",
  "metric",
  "factor_key",
  "value",
  "min_value",
  "max_value",
  "cause",
  "created_at",
  "acknowledged_at",
  "acknowledged_by",
  "ongoing",
  "limit_description",
  "limit_breached",
  "current_date",
  "current_value",
] as const;

function alertCsvRow(alert: AlertResponse) {
  return [
    alert.id,
    alert.portfolio_id,
    alert.portfolio_name,
    alert.limit_id,
    alert.date,
    alert.state,
    alert.metric,
    alert.factor_key,
    alert.value,
    alert.min_value,
    alert.max_value,
    alert.cause,
    alert.created_at,
    alert.acknowledged_at,
    alert.acknowledged_by,
    alert.ongoing ? "true" : "false",
    alert.limit.description,
    alert.limit.breached ? "true" : "false",
    alert.limit.current.date,
    alert.limit.current.value,
  ];
}

/** The limits of the portfolios the caller may read (`visiblePortfolios`). */
async function visibleLimits(db: Database, caller: Caller): Promise<LimitRow[]> {
  const rows = await db
    .select({ limit: portfolioLimits })
    .from(portfolioLimits)
    .innerJoin(portfolios, eq(portfolios.id, portfolioLimits.portfolioId))
    .where(visiblePortfolios(caller))
    .orderBy(asc(portfolioLimits.portfolioId), asc(portfolioLimits.id));
  return rows.map((row) => row.limit);
}

export const limitRoutes = new Hono<ApiEnv>()
  .get("/:id/limits", guard(routes.listLimits), noQuery(), validate("param", portfolioParamsSchema), async (c) => {
    const { id } = c.req.valid("param");
    const db = getDatabase(c.env);
    await readablePortfolio(db, c.get("caller"), id);
    const rows = await db
      .select()
      .from(portfolioLimits)
      .where(eq(portfolioLimits.portfolioId, id))
      .orderBy(asc(portfolioLimits.createdAt), asc(portfolioLimits.id));
    return c.json(
      { portfolio_id: id, limits: await limitResponses(db, rows), max_limits: quotas(c.env).limitsPerPortfolio },
      200,
    );
  })
  .post(
    "/:id/limits",
    guard(routes.createLimit),
    noQuery(),
    validate("param", portfolioParamsSchema),
    writableFromPath,
    validate("json", limitCreateSchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const body: LimitCreate = c.req.valid("json");
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const factorKey = body.factor_key ?? null;
      await checkFactorKey(db, body.metric, factorKey);
      const cap = quotas(c.env).limitsPerPortfolio;
      const tooMany = () =>
        quotaExceeded(
          `portfolio ${id} has ${cap} limits, the most one portfolio may have; delete one first`,
          "MAX_LIMITS_PER_PORTFOLIO",
          cap,
        );
      const held =
        (await db.select({ n: count() }).from(portfolioLimits).where(eq(portfolioLimits.portfolioId, id)).get())?.n ??
        0;
      if (held >= cap) throw tooMany();
      const row: LimitRow = {
        id: crypto.randomUUID(),
        portfolioId: id,
        metric: body.metric,
        factorKey,
        minValue: body.min_value ?? null,
        maxValue: body.max_value ?? null,
        description: body.description ?? "",
        createdBy: caller.sub,
        createdAt: "",
        updatedAt: "",
      };
      const numbers = (await storedLimitNumbers(db, [id])).get(id);
      const { createdAt: _createdAt, updatedAt: _updatedAt, ...values } = row;
      let alert: AlertRow | null;
      try {
        alert = await writeAndEvaluate(c, db, row, numbers, [
          db.insert(portfolioLimits).values(values).returning({ id: portfolioLimits.id }),
          capGuard("select count(*) from portfolio_limits where portfolio_id = ?", [id], cap),
        ]);
      } catch (error) {
        // A concurrent create got there first: the guard rolled this one back.
        if (isCapGuardFailure(error)) throw tooMany();
        throw error;
      }
      const stored = await db.select().from(portfolioLimits).where(eq(portfolioLimits.id, row.id)).get();
      if (!stored) throw new Error(`limit ${row.id} was written but cannot be read back`);
      const answer = required((await limitResponses(db, [stored]))[0], `the answer for limit ${row.id}`);
      c.header("Location", `/api/v1/portfolios/${id}/limits/${row.id}`);
      return c.json({ ...answer, alert_recorded: alertRecorded(alert) }, 201);
    },
  )
  .patch(
    "/:id/limits/:limitId",
    guard(routes.updateLimit),
    noQuery(),
    validate("param", limitParamsSchema),
    writableFromPath,
    validate("json", limitUpdateSchema),
    async (c) => {
      const { id, limitId } = c.req.valid("param");
      const update = c.req.valid("json");
      const db = getDatabase(c.env);
      const existing = await db
        .select()
        .from(portfolioLimits)
        .where(and(eq(portfolioLimits.id, limitId), eq(portfolioLimits.portfolioId, id)))
        .get();
      if (!existing) throw limitNotFound(id, limitId);
      const merged: LimitRow = {
        ...existing,
        ...(update.metric !== undefined ? { metric: update.metric } : {}),
        ...(update.factor_key !== undefined ? { factorKey: update.factor_key } : {}),
        ...(update.min_value !== undefined ? { minValue: update.min_value } : {}),
        ...(update.max_value !== undefined ? { maxValue: update.max_value } : {}),
        ...(update.description !== undefined ? { description: update.description } : {}),
      };
      const issues = limitIssues({
        metric: merged.metric,
        factor_key: merged.factorKey,
        min_value: merged.minValue,
        max_value: merged.maxValue,
      });
      if (issues.length > 0)
        throw validationError(`invalid limit: ${issues.map((issue) => issue.path).join(", ")}`, issues);
      await checkFactorKey(db, merged.metric, merged.factorKey);
      const numbers = (await storedLimitNumbers(db, [id])).get(id);
      const alert = await writeAndEvaluate(c, db, merged, numbers, [
        db
          .update(portfolioLimits)
          .set({
            metric: merged.metric,
            factorKey: merged.factorKey,
            minValue: merged.minValue,
            maxValue: merged.maxValue,
            description: merged.description,
            updatedAt: isoNow,
          })
          .where(eq(portfolioLimits.id, limitId))
          .returning({ id: portfolioLimits.id }),
      ]);
      const stored = await db.select().from(portfolioLimits).where(eq(portfolioLimits.id, limitId)).get();
      if (!stored) throw limitNotFound(id, limitId);
      const answer = required((await limitResponses(db, [stored]))[0], `the answer for limit ${limitId}`);
      return c.json({ ...answer, alert_recorded: alertRecorded(alert) }, 200);
    },
  )
  .delete(
    "/:id/limits/:limitId",
    guard(routes.deleteLimit),
    noQuery(),
    validate("param", limitParamsSchema),
    async (c) => {
      const { id, limitId } = c.req.valid("param");
      const db = getDatabase(c.env);
      await writablePortfolio(db, c.get("caller"), id);
      // Its alerts go with it (ON DELETE CASCADE).
      const deleted = await db
        .delete(portfolioLimits)
        .where(and(eq(portfolioLimits.id, limitId), eq(portfolioLimits.portfolioId, id)))
        .returning({ id: portfolioLimits.id });
      if (deleted.length === 0) throw limitNotFound(id, limitId);
      return c.body(null, 204);
    },
  );

export const alertRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listAlerts), validate("query", alertListQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const caller = c.get("caller");
    const db = getDatabase(c.env);
    if (query.portfolio_id !== undefined) await readablePortfolio(db, caller, query.portfolio_id);
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const pageSize = query.limit ?? defaultAlertPage;
    const conditions: (SQL | undefined)[] = [
      visiblePortfolios(caller),
      query.portfolio_id === undefined ? undefined : eq(alerts.portfolioId, query.portfolio_id),
      query.state === undefined ? undefined : eq(alerts.state, query.state),
      query.acknowledged === undefined
        ? undefined
        : query.acknowledged
          ? isNotNull(alerts.acknowledgedAt)
          : isNull(alerts.acknowledgedAt),
      query.from === undefined ? undefined : gte(alerts.date, query.from),
      query.to === undefined ? undefined : lte(alerts.date, query.to),
      cursor === null
        ? undefined
        : or(
            lt(alerts.createdAt, cursor.createdAt),
            and(eq(alerts.createdAt, cursor.createdAt), lt(alerts.id, cursor.id)),
          ),
    ];
    const rows = await selectAlerts(db, and(...conditions))
      .orderBy(desc(alerts.createdAt), desc(alerts.id))
      .limit(pageSize + 1);
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    const answers = await alertResponses(db, page);
    if (wantsCsv(c, query.format)) return csvResponse(c, "alerts.csv", alertCsvHeader, answers.map(alertCsvRow));
    return c.json(
      { alerts: answers, next_cursor: rows.length > pageSize && last ? encodeCursor(last.alert) : null },
      200,
    );
  })
  .get("/summary", guard(routes.alertSummary), noQuery(), async (c) => {
    const caller = c.get("caller");
    const db = getDatabase(c.env);
    const limits = await visibleLimits(db, caller);
    const [numbers, latest] = await Promise.all([
      storedLimitNumbers(
        db,
        limits.map((limit) => limit.portfolioId),
      ),
      latestAlerts(
        db,
        limits.map((limit) => limit.id),
      ),
    ]);
    let ongoing = 0;
    let unacknowledged = 0;
    for (const limit of limits) {
      const last = latest.get(limit.id) ?? null;
      if (last === null) continue;
      if (!isOngoing(last, last, limitStatus(limit, numbers.get(limit.portfolioId), last))) continue;
      ongoing++;
      if (last.acknowledgedAt === null) unacknowledged++;
    }
    return c.json(
      {
        unacknowledged_breaches: unacknowledged,
        ongoing_breaches: ongoing,
        portfolios_with_limits: [...new Set(limits.map((limit) => limit.portfolioId))],
      },
      200,
    );
  })
  .post(
    "/:id/acknowledge",
    guard(routes.acknowledgeAlert),
    noQuery(),
    validate("param", alertParamsSchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const visible = await selectAlerts(db, and(eq(alerts.id, id), visiblePortfolios(caller))).get();
      if (!visible) throw alertNotFound(id);
      // Only the first acknowledgement is recorded: a repeat keeps who and when.
      await db
        .update(alerts)
        .set({ acknowledgedAt: isoNow, acknowledgedBy: caller.sub })
        .where(and(eq(alerts.id, id), isNull(alerts.acknowledgedAt)));
      const row = await selectAlerts(db, eq(alerts.id, id)).get();
      if (!row) throw alertNotFound(id);
      return c.json(required((await alertResponses(db, [row]))[0], `the answer for alert ${id}`), 200);
    },
  );
