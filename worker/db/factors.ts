import { factorDefinitions } from "../../schema/index.ts";
import { activeFactorSpecs } from "../factors/factor-specs.ts";
import type { FactorSpec } from "../factors/types.ts";
import type { Database } from "./client.ts";

/** The active factors, in display order, as the engine and aggregation take them. */
export async function loadActiveFactors(db: Database): Promise<FactorSpec[]> {
  return activeFactorSpecs(await db.select().from(factorDefinitions));
}
