import type { ResultSet } from "@libsql/client/web";
import type { FactorCategory, FactorMethod } from "../../schema/factors.ts";
import { factorDefinitions } from "../../schema/index.ts";
import { activeFactorSpecs } from "../factors/factor-specs.ts";
import type { FactorSpec } from "../factors/types.ts";
import type { Database } from "./client.ts";
import type { ReadStatement } from "./read-batch.ts";

/** The active factors, in display order, as the engine and aggregation take them. */
export async function loadActiveFactors(db: Database): Promise<FactorSpec[]> {
  return activeFactorSpecs(await db.select().from(factorDefinitions));
}

/**
 * The active factors in display order as one statement, for a route's batch
 * (./read-batch.ts); `activeFactorsFrom` reads its rows as `loadActiveFactors` returns them.
 */
export const activeFactorsStatement: ReadStatement = {
  sql: `select id, key, name, category, method, input_symbol, long_symbol, short_symbol, window_days,
    min_observations, ridge_alpha from factor_definitions where is_active = 1 order by display_order, id`,
  args: [],
};

export function activeFactorsFrom(result: ResultSet | undefined): FactorSpec[] {
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return (result?.rows ?? []).map((row) => ({
    id: Number(row[0]),
    key: String(row[1]),
    name: String(row[2]),
    category: String(row[3]) as FactorCategory,
    method: String(row[4]) as FactorMethod,
    inputSymbol: text(row[5]),
    longSymbol: text(row[6]),
    shortSymbol: text(row[7]),
    windowDays: Number(row[8]),
    minObservations: Number(row[9]),
    ridgeAlpha: row[10] === null || row[10] === undefined ? null : Number(row[10]),
  }));
}
