import { describe, expect, it } from "vitest";
import { buildDataQuality } from "../../../worker/factors/data-quality.ts";
import type { DataQualityInput } from "../../../worker/factors/data-quality.ts";
import { DATE, estimated, factor, missing } from "./portfolio-fixtures.ts";

const factors = [factor("market_beta"), factor("value"), factor("growth"), factor("size_spread")];

const base: DataQualityInput = {
  date: DATE,
  factors,
  symbols: [],
  positionsTotal: 0,
  positionsPrivate: 0,
  positionsValued: 0,
  positionsExcluded: [],
  optionsWithoutPremium: 0,
  equity: 0,
  gross: 0,
  net: 0,
};

describe("buildDataQuality", () => {
  it("counts ridge and spread coverage and groups missing factors by reason", () => {
    const dq = buildDataQuality({
      ...base,
      symbols: [
        // Full coverage.
        {
          symbol: "AAA",
          positionIds: ["1"],
          priced: true,
          betas: {
            market_beta: estimated("market_beta", 1),
            value: estimated("value", 0.1),
            growth: estimated("growth", 0.2),
            size_spread: estimated("size_spread", 0.3),
          },
        },
        // Ridge partly estimated (a degenerate column), spread too short.
        {
          symbol: "BBB",
          positionIds: ["2", "3"],
          priced: true,
          betas: {
            market_beta: estimated("market_beta", 1),
            value: estimated("value", 0.1),
            growth: missing("growth", "degenerate", "VUG returns have zero variance"),
            size_spread: missing("size_spread", "insufficient_data", "50 observations, 60 required"),
          },
        },
        // Betas recorded for other factors only: no betas for this list.
        { symbol: "CCC", positionIds: ["4"], priced: true, betas: { momentum: estimated("momentum", 1) } },
        // No price: reported once, whatever its betas.
        {
          symbol: "AAB",
          positionIds: ["5"],
          priced: false,
          betas: undefined,
          priceDetail: "no close for AAB on the date",
        },
      ],
      positionsTotal: 6,
      positionsPrivate: 1,
      positionsValued: 4,
      equity: 1_000,
      gross: 2_000,
      net: 500,
    });
    expect(dq.total_symbols).toBe(4);
    expect(dq.symbols_with_ridge).toBe(2);
    expect(dq.symbols_with_spread).toBe(1);
    expect(dq.symbols_missing).toEqual([
      { symbol: "AAB", reason: "no_price", position_ids: ["5"], detail: "no close for AAB on the date" },
      {
        symbol: "BBB",
        reason: "degenerate",
        factors: ["growth"],
        position_ids: ["2", "3"],
        detail: "VUG returns have zero variance",
      },
      {
        symbol: "BBB",
        reason: "insufficient_data",
        factors: ["size_spread"],
        position_ids: ["2", "3"],
        detail: "50 observations, 60 required",
      },
      { symbol: "CCC", reason: "no_betas", position_ids: ["4"] },
    ]);
    expect(dq).toMatchObject({
      positions_total: 6,
      positions_private: 1,
      positions_valued: 4,
      equity: 1_000,
      gross: 2_000,
      net: 500,
      weights_available: true,
    });
  });

  it("merges identical details of one reason and lists factors in the factor order", () => {
    const detail = "12 observations, 60 required";
    const dq = buildDataQuality({
      ...base,
      symbols: [
        {
          symbol: "NEW",
          positionIds: ["1"],
          priced: true,
          betas: {
            market_beta: missing("market_beta", "insufficient_data", detail),
            size_spread: missing("size_spread", "insufficient_data", detail),
            value: missing("value", "insufficient_data", detail),
            growth: missing("growth", "insufficient_data", detail),
          },
        },
      ],
    });
    expect(dq.symbols_missing).toEqual([
      {
        symbol: "NEW",
        reason: "insufficient_data",
        factors: ["market_beta", "value", "growth", "size_spread"],
        position_ids: ["1"],
        detail,
      },
    ]);
    expect(dq.symbols_with_ridge).toBe(0);
    expect(dq.weights_available).toBe(false);
  });

  it("rejects a symbol listed twice", () => {
    const s = { symbol: "AAA", positionIds: ["1"], priced: true, betas: undefined };
    expect(() => buildDataQuality({ ...base, symbols: [s, s] })).toThrow(/listed twice/);
  });
});
