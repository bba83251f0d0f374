// Recording limit crossings (docs/design.md §11, "Limits and alerts"): the statements that write an
// alert when a limit's number crosses its bounds, planned from the numbers the portfolio phase just
// computed (or, for a limit's create and edit, from the stored ones: ./stored.ts), run inside the
// writer's own transaction, and the alerts they wrote read back after the commit.
//
// One statement per limit whose number is present (a missing number neither raises nor clears). It
// decides the crossing inside the transaction, so it never acts on a stale read:
//
//   insert into alerts (…) select … from portfolio_limits l
//    where l.id = ? and <metric, factor and bounds as evaluated>        -- an edit meanwhile: nothing
//      and coalesce(<state of the limit's latest alert dated ≤ D, by date then created_at>, 'cleared') <> ?
//   on conflict (limit_id, date, state) do update set … returning id
//
// - The previous state is the limit's latest alert on a date ≤ D (most recent date, then created_at,
//   then rowid); none counts as cleared, so a first number within the bounds records nothing.
// - Exactly one row per crossing: the writes are one write transaction (BEGIN IMMEDIATE, so
//   concurrent evaluations of a date run one after the other), and the second of two evaluations
//   that see the same crossing finds the first one's alert as the latest and selects nothing; a
//   redelivered chunk finds its own. The statement returns a row only when it wrote one, and only
//   that evaluation publishes it (./notify.ts).
// - A same-date flip-flop (breached → cleared → breached on D): the unique key (limit, date, state)
//   allows one row per state and date, so the third crossing would collide with the first. It
//   raises that row again instead (`do update`: value, bounds, cause, created_at = now,
//   acknowledgement cleared), which makes it the latest alert again — the current state stays
//   right, and the evaluation that revived it publishes it (same alert id). A date keeps its last
//   crossing into each state.
// - Dates are evaluated in any order (a backfill's dates run in parallel): each against the alerts
//   of dates ≤ it, never rewriting a later date's. So a history may hold two breaches in a row; the
//   current state is read from the latest date's number (./stored.ts), not from the history alone.
import { and, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import {
  type AlertCause,
  type AlertState,
  alerts,
  portfolioLimits,
  symbolFactorExposures,
} from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import type { WriteStatement } from "../db/upsert.ts";
import {
  type LimitDefinition,
  type LimitMetricValues,
  limitPosition,
  limitValue,
  limitValuesOf,
  type RiskBlockNumbers,
} from "../factors/limits.ts";

export type LimitRow = typeof portfolioLimits.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;

/** Ids per `in (…)` list. */
const idsPerQuery = 500;

/** One alert a statement may write: what identifies it once written. */
export interface AlertKey {
  limitId: string;
  date: string;
  state: AlertState;
}

export interface AlertPlan {
  statements: WriteStatement[];
  /** The alert each statement would write, in order. */
  keys: AlertKey[];
}

export const emptyAlertPlan: AlertPlan = { statements: [], keys: [] };

const recordSql = `insert into alerts (id, limit_id, portfolio_id, date, state, metric, factor_key, value, min_value,
    max_value, cause, created_at)
  select ?, l.id, l.portfolio_id, ?, ?, l.metric, l.factor_key, ?, l.min_value, l.max_value, ?,
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  from portfolio_limits l
  where l.id = ? and l.metric = ? and l.factor_key is ? and l.min_value is ? and l.max_value is ?
    and coalesce((select a.state from alerts a where a.limit_id = l.id and a.date <= ?
      order by a.date desc, a.created_at desc, a.rowid desc limit 1), 'cleared') <> ?
  on conflict (limit_id, date, state) do update set value = excluded.value, min_value = excluded.min_value,
    max_value = excluded.max_value, cause = excluded.cause, created_at = excluded.created_at,
    acknowledged_at = null, acknowledged_by = null
  returning id`;

/**
 * The statement recording `state` for `limit` on `date` with `value`, if that is a crossing when it
 * runs (see the header). `limit` is the definition the value was evaluated against.
 */
export function recordAlertStatement(input: {
  limit: LimitDefinition & { id: string };
  date: string;
  state: AlertState;
  value: number;
  cause: AlertCause;
}): WriteStatement {
  const { limit, date, state } = input;
  return {
    sql: recordSql,
    args: [
      crypto.randomUUID(),
      date,
      state,
      input.value,
      input.cause,
      limit.id,
      limit.metric,
      limit.factorKey,
      limit.minValue,
      limit.maxValue,
      date,
      state,
    ],
  };
}

/** The statements for `limits` on `date`: one per limit whose number is present. */
export function planAlerts(
  limits: readonly LimitRow[],
  valuesOf: (portfolioId: string) => LimitMetricValues | null,
  date: string,
  cause: AlertCause,
): AlertPlan {
  const plan: AlertPlan = { statements: [], keys: [] };
  for (const limit of limits) {
    const values = valuesOf(limit.portfolioId);
    if (values === null) continue;
    const value = limitValue(limit, values);
    const position = limitPosition(limit, value);
    // A missing number neither raises nor clears.
    if (position === "missing" || value === null) continue;
    const state: AlertState = position === "breached" ? "breached" : "cleared";
    plan.statements.push(recordAlertStatement({ limit, date, state, value, cause }));
    plan.keys.push({ limitId: limit.id, date, state });
  }
  return plan;
}

/** The limits of `portfolioIds`, in id order. */
export async function loadLimits(db: Database, portfolioIds: readonly string[]): Promise<LimitRow[]> {
  const rows: LimitRow[] = [];
  for (let i = 0; i < portfolioIds.length; i += idsPerQuery) {
    const ids = portfolioIds.slice(i, i + idsPerQuery);
    rows.push(
      ...(await db
        .select()
        .from(portfolioLimits)
        .where(inArray(portfolioLimits.portfolioId, [...ids]))),
    );
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const riskEntry = z.object({ factor_key: z.string(), exposure: z.number().nullable() });
/** The part of a stored risk block limits read; anything else in it is ignored. */
export const riskBlockNumbersSchema = z.object({
  exposures: z.array(riskEntry).nullable().catch(null),
  active_exposures: z.array(riskEntry).nullable().catch(null),
  total: z
    .object({
      volatility: z.number().nullable(),
      factors: z.array(z.object({ factor_key: z.string(), share: z.number().nullable() })),
    })
    .nullable()
    .catch(null),
  active: z.object({ tracking_error: z.number().nullable() }).nullable().catch(null),
});

/** A risk block (as stored in `portfolio_risk_summaries.detail`) as the numbers limits read; null when unreadable. */
export function riskBlockNumbers(detail: unknown): RiskBlockNumbers | null {
  const parsed = riskBlockNumbersSchema.safeParse(detail);
  return parsed.success ? parsed.data : null;
}

/** What the portfolio phase computed for a chunk on one date, as limits read it. */
export interface ChunkNumbers {
  date: string;
  cause: AlertCause;
  /** The portfolios whose rows of the date the chunk rewrites. */
  portfolioIds: readonly string[];
  factors: readonly { id: number; key: string }[];
  exposures: readonly { portfolioId: string; factorId: number; exposureValue?: number | null }[];
  /** The risk summaries written (a portfolio without one has no risk numbers). */
  risk: readonly { portfolioId: string; detail?: unknown }[];
  benchmarkOf: (portfolioId: string) => string | null;
}

/**
 * The alert statements for a chunk of the portfolio phase, from the numbers it is about to store:
 * the limits of its portfolios (one read, none when no portfolio has a limit) and, only when an
 * active_exposure limit needs them, the benchmarks' stored betas of the date.
 */
export async function planChunkAlerts(db: Database, numbers: ChunkNumbers): Promise<AlertPlan> {
  if (numbers.portfolioIds.length === 0) return emptyAlertPlan;
  const limits = await loadLimits(db, numbers.portfolioIds);
  if (limits.length === 0) return emptyAlertPlan;
  const keyById = new Map(numbers.factors.map((factor) => [factor.id, factor.key]));
  const exposures = new Map<string, [string, number | null][]>();
  for (const row of numbers.exposures) {
    const key = keyById.get(row.factorId);
    if (key === undefined) continue;
    const list = exposures.get(row.portfolioId) ?? [];
    list.push([key, row.exposureValue ?? null]);
    exposures.set(row.portfolioId, list);
  }
  const risk = new Map(numbers.risk.map((row) => [row.portfolioId, riskBlockNumbers(row.detail)]));
  const needsBetas = limits.some((limit) => limit.metric === "active_exposure");
  const benchmarks = [
    ...new Set(
      limits.flatMap((limit) => {
        const symbol = numbers.benchmarkOf(limit.portfolioId);
        return symbol === null ? [] : [symbol];
      }),
    ),
  ];
  const betas = needsBetas ? await benchmarkBetas(db, numbers.date, benchmarks, keyById) : new Map();
  const handled = new Set(numbers.portfolioIds);
  const values = new Map<string, LimitMetricValues>();
  const valuesOf = (portfolioId: string): LimitMetricValues | null => {
    if (!handled.has(portfolioId)) return null;
    let found = values.get(portfolioId);
    if (!found) {
      const benchmark = numbers.benchmarkOf(portfolioId);
      found = limitValuesOf({
        exposures: exposures.get(portfolioId) ?? [],
        benchmarkBetas: benchmark === null ? [] : (betas.get(benchmark) ?? []),
        risk: risk.get(portfolioId) ?? null,
      });
      values.set(portfolioId, found);
    }
    return found;
  };
  return planAlerts(limits, valuesOf, numbers.date, numbers.cause);
}

/** The stored betas of `symbols` on `date` by factor key (as the exposures route's `benchmark`). */
async function benchmarkBetas(
  db: Database,
  date: string,
  symbols: readonly string[],
  keyById: ReadonlyMap<number, string>,
): Promise<Map<string, [string, number | null][]>> {
  const bySymbol = new Map<string, [string, number | null][]>();
  if (symbols.length === 0) return bySymbol;
  const rows = await db
    .select({
      symbol: symbolFactorExposures.symbol,
      factorId: symbolFactorExposures.factorId,
      beta: symbolFactorExposures.betaValue,
    })
    .from(symbolFactorExposures)
    .where(and(eq(symbolFactorExposures.calculationDate, date), inArray(symbolFactorExposures.symbol, [...symbols])));
  for (const row of rows) {
    const key = keyById.get(row.factorId);
    if (key === undefined) continue;
    const list = bySymbol.get(row.symbol) ?? [];
    list.push([key, row.beta]);
    bySymbol.set(row.symbol, list);
  }
  return bySymbol;
}

/** The alerts the plan's statements wrote, given each statement's returned row count (in plan order). */
export async function committedAlerts(db: Database, plan: AlertPlan, counts: readonly number[]): Promise<AlertRow[]> {
  const written = plan.keys.filter((_, i) => (counts[i] ?? 0) > 0);
  if (written.length === 0) return [];
  const rows: AlertRow[] = [];
  for (let i = 0; i < written.length; i += idsPerQuery) {
    const conditions: SQL[] = written
      .slice(i, i + idsPerQuery)
      .map(
        (key) => and(eq(alerts.limitId, key.limitId), eq(alerts.date, key.date), eq(alerts.state, key.state)) ?? sql`0`,
      );
    rows.push(
      ...(await db
        .select()
        .from(alerts)
        .where(or(...conditions))),
    );
  }
  return rows.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/** What pushes newly written alerts (./notify.ts `notifyAlerts` with the Worker's env). */
export type AlertNotifier = (written: readonly AlertRow[]) => Promise<void>;

let notifier: AlertNotifier | null = null;

/**
 * Installs the push for alerts written by the portfolio phase. ./notify.ts installs it when the
 * Worker loads: the phase cannot import the live hub itself, since its module is also loaded where
 * there is no Workers runtime (Node tests of its pure parts), and the batch calls it without an env.
 */
export function installAlertNotifier(next: AlertNotifier | null): void {
  notifier = next;
}

/**
 * After the writer's commit: reads back the alerts its plan wrote and pushes them, once, with the
 * installed notifier. Never throws: the alerts are stored whatever happens to their push, and a
 * throw here would retry a chunk whose redelivery writes nothing.
 */
export async function publishCommittedAlerts(
  db: Database,
  plan: AlertPlan,
  counts: readonly number[],
): Promise<AlertRow[]> {
  if (!counts.some((count) => count > 0)) return [];
  try {
    const written = await committedAlerts(db, plan, counts);
    logEvent("info", "alerts.recorded", {
      alerts: written.map((alert) => `${alert.id}:${alert.state}:${alert.date}:${alert.cause}`),
    });
    if (written.length > 0 && notifier !== null) await notifier(written);
    return written;
  } catch (error) {
    logEvent("error", "alerts.read_back_failed", { keys: plan.keys.length, error: describeError(error) });
    return [];
  }
}
