import { asc, eq } from "drizzle-orm";
import { riskFactors } from "../../schema/index.ts";
import type { RiskFactorSpec } from "../factors/risk-model.ts";
import type { Database } from "./client.ts";

/** The active risk factors (`risk_factors`, docs/design.md §11) in display order, as the risk engine takes them. */
export async function loadActiveRiskFactors(db: Database): Promise<RiskFactorSpec[]> {
  return db
    .select({
      id: riskFactors.id,
      key: riskFactors.key,
      name: riskFactors.name,
      longSymbol: riskFactors.longSymbol,
      shortSymbol: riskFactors.shortSymbol,
    })
    .from(riskFactors)
    .where(eq(riskFactors.isActive, true))
    .orderBy(asc(riskFactors.displayOrder), asc(riskFactors.id));
}

/** Every symbol the risk factors' returns are made of (long and short legs), once each. */
export function riskFactorSymbols(factors: readonly RiskFactorSpec[]): string[] {
  const symbols = new Set<string>();
  for (const factor of factors) {
    symbols.add(factor.longSymbol);
    if (factor.shortSymbol) symbols.add(factor.shortSymbol);
  }
  return [...symbols];
}
