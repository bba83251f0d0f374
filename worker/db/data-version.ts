// Data versions: one small statement whose row changes whenever an answer of a conditional
// route could (worker/http/etag.ts turns the row into the answer's ETag). The schema has no
// revision counter, so the versions are read from what the writers already record; each part
// below says which writes it follows.
//
// Every version starts with the batch's part (`batchVersion`): the stored results (metrics,
// betas and their gaps, portfolio exposures and snapshots) are written by batch runs, chunk by
// chunk, and every chunk's write is followed by its ledger row moving out of `pending`
// (worker/batch/ledger.ts). So the part is:
// - the newest run's rowid (a run was created) and the newest phase result's id (a phase
//   completed on some date);
// - each queued or running run's id, status, updated_at, its chunks out of `pending` and their
//   last update (progress inside a run; a run that ends leaves this list, and since its rowid
//   is in the first column the list's emptiness before and after it never look alike);
// - the factor definitions' count and last update (every answer names factors).
// A chunk's rows are visible a moment before its ledger row moves: a request in that moment can
// get the new rows under the old version, which the next request then refreshes (the reverse,
// old rows under a new version, cannot happen: the version is read in the same transaction as
// the data, or before it).
//
// Portfolio parts: the portfolio row (visible to the caller, or no version at all: the route
// answers 404 as before), and for the drill-down, which aggregates the current positions, their
// count and last update (a change to two positions of one portfolio within the same millisecond,
// with a read between them, is the one change this misses; worker/realtime/publish.ts relies on
// the same pair). The exposures route reads stored rows, which a position change rewrites after
// its answer (refreshLatestExposures, for the latest date with betas, outside any batch run): so
// its version holds that date's stored exposure and snapshot values themselves, a dozen rows.
import type { InValue, Row } from "@libsql/client/web";
import type { Caller } from "../auth/permissions.ts";
import type { Database } from "./client.ts";
import type { ReadStatement } from "./read-batch.ts";

/** The row of a version statement, or null when the route's object is not visible (a 404). */
export type DataVersion = readonly unknown[];

const batchColumns = `
  (select max(rowid) from batch_runs) as runs_created,
  (select max(id) from batch_phase_results) as phases_completed,
  (select json_group_array(json_array(r.id, r.status, r.updated_at,
      (select count(*) from batch_chunks c where c.run_id = r.id and c.status <> 'pending'),
      (select max(c.updated_at) from batch_chunks c where c.run_id = r.id)))
    from batch_runs r where r.status in ('queued', 'running')) as active_runs,
  (select count(*) from factor_definitions) as factors,
  (select max(updated_at) from factor_definitions) as factors_updated`;

/** The batch's part alone: what the symbol table and the sectors read. */
export function batchVersion(): ReadStatement {
  return { sql: `select ${batchColumns}`, args: [] };
}

/** A symbol's page: the batch's part, the universe row, the profile, and whether it has prices (visibility). */
export function symbolVersion(symbol: string): ReadStatement {
  return {
    sql: `select ${batchColumns},
  u.asset_type, u.is_active, u.added_by,
  p.company_name, p.sector, p.industry, p.market_cap, p.enterprise_value, p.pe_ratio, p.ps_ratio, p.pb_ratio, p.as_of,
  exists (select 1 from market_prices m where m.symbol = ?1) as has_prices
from (select 1) left join symbol_universe u on u.symbol = ?1 left join company_profiles p on p.symbol = ?1`,
    args: [symbol],
  };
}

/**
 * The caller may read the portfolio `p`: its owner, or its org's with VIEW_ALL_POSITIONS
 * (worker/auth/ownership.ts, as SQL). Arguments ?2 sub, ?3 1 when the org counts, ?4 org.
 */
const visible = "p.owner = ?2 or (?3 = 1 and p.org = ?4)";

function portfolioArgs(caller: Caller, portfolioId: string): InValue[] {
  const orgCounts = caller.org !== null && caller.permissions.has("VIEW_ALL_POSITIONS");
  return [portfolioId, caller.sub, orgCounts ? 1 : 0, caller.org];
}

/** The latest date with betas: the date a position change's refresh rewrites (worker/db/betas.ts latestBetaDate). */
const refreshedDate =
  "(select max(calculation_date) from batch_phase_results where phase = 'universe_factors' and success = 1)";

/** A portfolio's exposures: the batch's part, the portfolio row, and the stored rows a position change refreshes. */
export function exposuresVersion(caller: Caller, portfolioId: string): ReadStatement {
  return {
    sql: `select p.id as portfolio, p.benchmark_symbol, p.updated_at, ${batchColumns},
  (select group_concat(e.factor_id || ',' || ifnull(printf('%!.17g', e.exposure_value), '') || ',' ||
      printf('%!.17g', e.exposure_dollar) || ',' || ifnull(printf('%!.17g', e.coverage), '') || ',' ||
      ifnull(printf('%!.17g', e.r_squared), '') || ',' || e.positions_used || ',' || e.positions_total, ';'
      order by e.factor_id)
    from portfolio_factor_exposures e where e.portfolio_id = ?1 and e.calculation_date = ${refreshedDate})
    as refreshed_exposures,
  s.equity as refreshed_equity, s.data_quality as refreshed_data_quality
from (select 1) left join portfolios p on p.id = ?1 and (${visible})
left join portfolio_snapshots s on s.portfolio_id = p.id and s.date = ${refreshedDate}`,
    args: portfolioArgs(caller, portfolioId),
  };
}

/** A portfolio's drill-down: the batch's part, the portfolio row (cash) and its positions' count and last update. */
export function drillDownVersion(caller: Caller, portfolioId: string): ReadStatement {
  return {
    sql: `select p.id as portfolio, p.cash, p.updated_at, ${batchColumns},
  (select count(*) from positions x where x.portfolio_id = p.id) as positions,
  (select max(x.updated_at) from positions x where x.portfolio_id = p.id) as positions_updated
from (select 1) left join portfolios p on p.id = ?1 and (${visible})`,
    args: portfolioArgs(caller, portfolioId),
  };
}

/** A version row as values; null when its first column (the portfolio, for portfolio versions) is missing. */
export function versionOf(row: Row | undefined, options: { requires?: string } = {}): DataVersion | null {
  if (row === undefined) return null;
  if (options.requires !== undefined && (row[options.requires] ?? null) === null) return null;
  return Array.from(row as ArrayLike<unknown>);
}

/** Reads one version statement alone (the If-None-Match path). */
export async function readVersion(
  db: Pick<Database, "$client">,
  statement: ReadStatement,
  options: { requires?: string } = {},
): Promise<DataVersion | null> {
  const result = await db.$client.execute(statement);
  return versionOf(result.rows[0], options);
}
