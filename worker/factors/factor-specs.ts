import type { factorDefinitions } from "../../schema/factors.ts";
import { defaultFactors } from "../../schema/seed/default-factors.ts";
import type { FactorSpec } from "./types.ts";

/** A `factor_definitions` row as selected, or as seeded (where defaulted columns may be absent). */
export type FactorDefinitionRow = typeof factorDefinitions.$inferInsert & { id: number };

/** The engine's view of a factor row; inactive rows are the caller's to filter out. */
export function toFactorSpec(row: FactorDefinitionRow): FactorSpec {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    category: row.category,
    method: row.method,
    inputSymbol: row.inputSymbol ?? null,
    longSymbol: row.longSymbol ?? null,
    shortSymbol: row.shortSymbol ?? null,
    windowDays: row.windowDays,
    minObservations: row.minObservations,
    ridgeAlpha: row.ridgeAlpha ?? null,
  };
}

/** Active factors in display order, as the engine and aggregation take them. */
export function activeFactorSpecs(rows: readonly FactorDefinitionRow[]): FactorSpec[] {
  return rows
    .filter((row) => row.isActive !== false)
    .toSorted((a, b) => a.displayOrder - b.displayOrder)
    .map(toFactorSpec);
}

/** The seeded default factor set (docs/design.md §4.4) as specs. */
export const defaultFactorSpecs: readonly FactorSpec[] = activeFactorSpecs(defaultFactors);

/** Every symbol the factors regress on (OLS and ridge inputs, both legs of each spread), once each. */
export function factorInputSymbols(factors: readonly FactorSpec[]): string[] {
  const symbols = new Set<string>();
  for (const factor of factors)
    for (const symbol of [factor.inputSymbol, factor.longSymbol, factor.shortSymbol]) if (symbol) symbols.add(symbol);
  return [...symbols];
}
