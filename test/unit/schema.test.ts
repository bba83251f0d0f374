import { getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { factorDefinitions, symbolDailyMetrics } from "../../schema/index.ts";
import { defaultFactors } from "../../schema/seed/default-factors.ts";

describe("default factor set", () => {
  it("matches docs/design.md §4.4: 12 factors, their methods, inputs, windows and minimums", () => {
    const table = defaultFactors.map((f) => [
      f.name,
      f.category,
      f.method,
      f.inputSymbol ?? `${f.longSymbol}-${f.shortSymbol}`,
      f.windowDays,
      f.minObservations,
    ]);
    expect(table).toEqual([
      ["Market Beta", "market", "ols", "SPY", 365, 60],
      ["Interest Rate Beta", "rates", "ols", "TLT", 365, 60],
      ["Value", "style", "ridge", "VTV", 365, 60],
      ["Growth", "style", "ridge", "VUG", 365, 60],
      ["Momentum", "style", "ridge", "MTUM", 365, 60],
      ["Quality", "style", "ridge", "QUAL", 365, 60],
      ["Size", "style", "ridge", "IWM", 365, 60],
      ["Low Volatility", "style", "ridge", "USMV", 365, 60],
      ["Growth-Value Spread", "spread", "spread", "VUG-VTV", 180, 60],
      ["Momentum Spread", "spread", "spread", "MTUM-SPY", 180, 60],
      ["Size Spread", "spread", "spread", "IWM-SPY", 180, 60],
      ["Quality Spread", "spread", "spread", "QUAL-SPY", 180, 60],
    ]);
    expect(defaultFactors.filter((f) => f.method === "ridge").map((f) => f.ridgeAlpha)).toEqual(Array(6).fill(1));
  });

  it("has a factor_<key> column in symbol_daily_metrics for every default factor, and no stray one", () => {
    const factorColumns = Object.values(getTableColumns(symbolDailyMetrics))
      .map((column) => column.name)
      .filter((name) => name.startsWith("factor_"));
    expect(factorColumns.sort()).toEqual(defaultFactors.map((f) => `factor_${f.key}`).sort());
  });

  it("uses unique ids, keys, names and display orders", () => {
    for (const field of ["id", "key", "name", "displayOrder"] as const) {
      expect(new Set(defaultFactors.map((f) => f[field])).size).toBe(defaultFactors.length);
    }
    expect(getTableColumns(factorDefinitions).key.isUnique).toBe(true);
  });
});
