// Where limits stand now, from what is stored (docs/design.md §11, "Limits and alerts"): the numbers
// of each portfolio's latest computed date (its latest snapshot: the exposures, the benchmark's
// betas and the risk summary the portfolio phase stored with it) and each limit's latest alert.
//
// "Breached now" is decided by the number of the latest computed date, not by the alert history
// alone: a backfill evaluates its dates in any order (./evaluate.ts), so the latest alert may be
// of an older date than the latest number. When the number is missing, the latest alert's state
// holds (a missing number neither raises nor clears).
import { and, inArray, sql } from "drizzle-orm";
import { alerts } from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { readTogether, type ReadStatement } from "../db/read-batch.ts";
import {
  type LimitDefinition,
  type LimitMetricValues,
  type LimitPosition,
  limitPosition,
  limitValue,
  limitValuesOf,
} from "../factors/limits.ts";
import { type AlertRow, riskBlockNumbersSchema } from "./evaluate.ts";

const idsPerQuery = 500;

/** A portfolio's latest computed date and its numbers limits read. */
export interface StoredNumbers {
  date: string;
  values: LimitMetricValues;
}

function latestCte(ids: readonly string[]): { sql: string; args: string[] } {
  return {
    sql: `with latest as (select portfolio_id, max(date) as date from portfolio_snapshots
      where portfolio_id in (${ids.map(() => "?").join(", ")}) group by portfolio_id)`,
    args: [...ids],
  };
}

function statementsFor(ids: readonly string[]): ReadStatement[] {
  const latest = latestCte(ids);
  return [
    { sql: `${latest.sql} select portfolio_id, date from latest`, args: latest.args },
    {
      sql: `${latest.sql} select e.portfolio_id, f.key, e.exposure_value from latest l
        join portfolio_factor_exposures e on e.portfolio_id = l.portfolio_id and e.calculation_date = l.date
        join factor_definitions f on f.id = e.factor_id where f.is_active = 1`,
      args: latest.args,
    },
    {
      sql: `${latest.sql} select l.portfolio_id, f.key, s.beta_value from latest l
        join portfolios p on p.id = l.portfolio_id
        join symbol_factor_exposures s on s.symbol = p.benchmark_symbol and s.calculation_date = l.date
        join factor_definitions f on f.id = s.factor_id where f.is_active = 1`,
      args: latest.args,
    },
    {
      // Only the parts of the stored risk block limits read, not the whole (tens of KB) block.
      sql: `${latest.sql} select r.portfolio_id, json_object(
          'exposures', json_extract(r.detail, '$.exposures'),
          'active_exposures', json_extract(r.detail, '$.active_exposures'),
          'total', case when json_type(r.detail, '$.total') = 'object' then json_object(
            'volatility', json_extract(r.detail, '$.total.volatility'),
            'factors', json_extract(r.detail, '$.total.factors')) end,
          'active', case when json_type(r.detail, '$.active') = 'object' then json_object(
            'tracking_error', json_extract(r.detail, '$.active.tracking_error')) end)
        from latest l join portfolio_risk_summaries r on r.portfolio_id = l.portfolio_id and r.date = l.date`,
      args: latest.args,
    },
  ];
}

const text = (value: unknown): string => String(value);
const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number.isFinite(Number(value)) ? Number(value) : null;

/** The numbers of each portfolio's latest computed date; a portfolio with none computed is absent. */
export async function storedLimitNumbers(
  db: Database,
  portfolioIds: readonly string[],
): Promise<Map<string, StoredNumbers>> {
  const result = new Map<string, StoredNumbers>();
  const unique = [...new Set(portfolioIds)];
  for (let i = 0; i < unique.length; i += idsPerQuery) {
    const ids = unique.slice(i, i + idsPerQuery);
    const [dates, exposures, betas, risks] = await readTogether(db, statementsFor(ids));
    const listOf = (rows: typeof exposures) => {
      const map = new Map<string, [string, number | null][]>();
      for (const row of rows?.rows ?? []) {
        const list = map.get(text(row[0])) ?? [];
        list.push([text(row[1]), numberOrNull(row[2])]);
        map.set(text(row[0]), list);
      }
      return map;
    };
    const exposureLists = listOf(exposures);
    const betaLists = listOf(betas);
    const riskOf = new Map<string, unknown>();
    for (const row of risks?.rows ?? []) riskOf.set(text(row[0]), JSON.parse(text(row[1])) as unknown);
    for (const row of dates?.rows ?? []) {
      const id = text(row[0]);
      const parsed = riskBlockNumbersSchema.safeParse(riskOf.get(id));
      result.set(id, {
        date: text(row[1]),
        values: limitValuesOf({
          exposures: exposureLists.get(id) ?? [],
          benchmarkBetas: betaLists.get(id) ?? [],
          risk: riskOf.has(id) && parsed.success ? parsed.data : null,
        }),
      });
    }
  }
  return result;
}

/** Each limit's latest alert (most recent date, then created_at, then rowid). */
export async function latestAlerts(db: Database, limitIds: readonly string[]): Promise<Map<string, AlertRow>> {
  const result = new Map<string, AlertRow>();
  const unique = [...new Set(limitIds)];
  for (let i = 0; i < unique.length; i += idsPerQuery) {
    const ids = unique.slice(i, i + idsPerQuery);
    // One row per limit: the latest by the order the recording statement reads the previous state in
    // (./evaluate.ts), found through the (limit_id, date, state) index rather than reading a history.
    const rows = await db
      .select()
      .from(alerts)
      .where(
        and(
          inArray(alerts.limitId, ids),
          sql`${alerts}.rowid = (select b.rowid from alerts b where b.limit_id = ${alerts.limitId}
            order by b.date desc, b.created_at desc, b.rowid desc limit 1)`,
        ),
      );
    for (const row of rows) result.set(row.limitId, row);
  }
  return result;
}

export interface LimitStatus {
  current: {
    date: string | null;
    value: number | null;
    position: LimitPosition;
    reason: "not_computed" | "no_value" | null;
  };
  lastAlert: AlertRow | null;
  /** Breached now: the latest number is outside the bounds, or it is missing and the latest alert is a breach. */
  breached: boolean;
}

/** Where `limit` stands on the portfolio's latest computed date (`numbers`), with its latest alert. */
export function limitStatus(
  limit: LimitDefinition,
  numbers: StoredNumbers | undefined,
  lastAlert: AlertRow | null,
): LimitStatus {
  const value = numbers ? limitValue(limit, numbers.values) : null;
  const position = limitPosition(limit, value);
  const current = {
    date: numbers?.date ?? null,
    value: position === "missing" ? null : value,
    position,
    reason: numbers === undefined ? ("not_computed" as const) : position === "missing" ? ("no_value" as const) : null,
  };
  const breached = position === "missing" ? lastAlert?.state === "breached" : position === "breached";
  return { current, lastAlert, breached };
}
