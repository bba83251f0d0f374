// Limits (docs/design.md §11, "Limits and alerts"): which number a limit bounds, inclusive bounds,
// missing numbers, and crossings against the last recorded state — by hand and as properties of any
// sequence of numbers (fast-check).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AlertState } from "../../../schema/alerts.ts";
import {
  crossingOf,
  evaluateLimit,
  formatLimitNumber,
  type LimitDefinition,
  limitLabel,
  limitPosition,
  limitValue,
  limitValuesOf,
  noLimitValues,
} from "../../../worker/factors/limits.ts";

const bounded = (minValue: number | null, maxValue: number | null): LimitDefinition => ({
  metric: "exposure",
  factorKey: "market_beta",
  minValue,
  maxValue,
});

describe("limitPosition", () => {
  it("takes both bounds as inclusive", () => {
    const limit = bounded(-0.5, 1.2);
    expect(limitPosition(limit, -0.5)).toBe("within");
    expect(limitPosition(limit, 1.2)).toBe("within");
    expect(limitPosition(limit, 0)).toBe("within");
    expect(limitPosition(limit, 1.2 + Number.EPSILON * 2)).toBe("breached");
    expect(limitPosition(limit, -0.5000001)).toBe("breached");
    expect(limitPosition(bounded(1, 1), 1)).toBe("within");
  });

  it("works with one bound only", () => {
    expect(limitPosition(bounded(null, 0.2), -1e9)).toBe("within");
    expect(limitPosition(bounded(null, 0.2), 0.21)).toBe("breached");
    expect(limitPosition(bounded(0.05, null), 1e9)).toBe("within");
    expect(limitPosition(bounded(0.05, null), 0.049)).toBe("breached");
  });

  it("reports a missing or non-finite number as missing, never as 0", () => {
    // 0 is outside [0.1, 1]: were a missing number read as 0, this limit would be breached.
    const limit = bounded(0.1, 1);
    expect(limitPosition(limit, null)).toBe("missing");
    expect(limitPosition(limit, Number.NaN)).toBe("missing");
    expect(limitPosition(limit, Number.POSITIVE_INFINITY)).toBe("missing");
    expect(limitPosition(limit, 0)).toBe("breached");
  });
});

describe("crossingOf", () => {
  it("records a change of state against the last alert, none counting as within", () => {
    expect(crossingOf(null, "within")).toBeNull();
    expect(crossingOf(null, "breached")).toBe("breached");
    expect(crossingOf("breached", "breached")).toBeNull();
    expect(crossingOf("breached", "within")).toBe("cleared");
    expect(crossingOf("cleared", "within")).toBeNull();
    expect(crossingOf("cleared", "breached")).toBe("breached");
  });

  it("neither raises nor clears on a missing number", () => {
    for (const previous of [null, "breached", "cleared"] as const) expect(crossingOf(previous, "missing")).toBeNull();
  });
});

describe("limitValue", () => {
  const values = limitValuesOf({
    exposures: [
      ["market_beta", 0.9],
      ["value", null],
    ],
    benchmarkBetas: [
      ["market_beta", 1.05],
      ["growth", 0.3],
    ],
    risk: {
      exposures: [{ factor_key: "market", exposure: 0.8 }],
      active_exposures: [{ factor_key: "market", exposure: -0.2 }],
      total: {
        volatility: 0.18,
        factors: [
          { factor_key: "market", share: 0.62 },
          { factor_key: "size", share: null },
        ],
      },
      active: { tracking_error: 0.045 },
    },
  });
  const of = (metric: LimitDefinition["metric"], factorKey: string | null) => limitValue({ metric, factorKey }, values);

  it("reads each metric from its number", () => {
    expect(of("exposure", "market_beta")).toBe(0.9);
    expect(of("active_exposure", "market_beta")).toBeCloseTo(0.9 - 1.05, 15);
    expect(of("risk_exposure", "market")).toBe(0.8);
    expect(of("active_risk_exposure", "market")).toBe(-0.2);
    expect(of("factor_share", "market")).toBe(0.62);
    expect(of("tracking_error", null)).toBe(0.045);
    expect(of("volatility", null)).toBe(0.18);
  });

  it("is null when the number, or either side of an active one, is missing", () => {
    expect(of("exposure", "value")).toBeNull();
    expect(of("exposure", "momentum")).toBeNull();
    // The benchmark has a growth beta but the portfolio no growth exposure, and the reverse for value.
    expect(of("active_exposure", "growth")).toBeNull();
    expect(of("active_exposure", "value")).toBeNull();
    expect(of("factor_share", "size")).toBeNull();
    expect(of("risk_exposure", "rates")).toBeNull();
    const noRisk = limitValuesOf({ exposures: [], benchmarkBetas: [], risk: null });
    for (const metric of ["tracking_error", "volatility"] as const)
      expect(limitValue({ metric, factorKey: null }, noRisk)).toBeNull();
    expect(limitValue({ metric: "volatility", factorKey: null }, noLimitValues)).toBeNull();
  });

  it("evaluates a limit to its value, position and crossing", () => {
    expect(evaluateLimit(bounded(null, 0.8), values, null)).toEqual({
      value: 0.9,
      position: "breached",
      crossing: "breached",
    });
    expect(evaluateLimit(bounded(null, 0.9), values, "breached")).toEqual({
      value: 0.9,
      position: "within",
      crossing: "cleared",
    });
    expect(evaluateLimit({ ...bounded(0, 1), factorKey: "value" }, values, "breached")).toEqual({
      value: null,
      position: "missing",
      crossing: null,
    });
  });
});

describe("crossings over any sequence of numbers", () => {
  const number = fc.oneof(
    { arbitrary: fc.double({ min: -3, max: 3, noNaN: true }), weight: 6 },
    { arbitrary: fc.constantFrom(-1, 0, 1), weight: 2 },
    { arbitrary: fc.constant(null), weight: 2 },
  );
  const bounds = fc
    .tuple(fc.option(fc.constantFrom(-1, -0.5, 0), { nil: null }), fc.option(fc.constantFrom(0, 0.5, 1), { nil: null }))
    .filter(([min, max]) => min !== null || max !== null);

  it(
    "records exactly the changes of state, alternating, and the last alert is where the last present " +
      "number stands",
    () => {
      fc.assert(
        fc.property(bounds, fc.array(number, { maxLength: 40 }), ([minValue, maxValue], sequence) => {
          const limit = bounded(minValue, maxValue);
          const recorded: AlertState[] = [];
          for (const value of sequence) {
            const crossing = crossingOf(recorded.at(-1) ?? null, limitPosition(limit, value));
            if (crossing) recorded.push(crossing);
          }
          // Alternating: never the same state twice in a row, and the first is always a breach.
          for (let i = 1; i < recorded.length; i++) expect(recorded[i]).not.toBe(recorded[i - 1]);
          if (recorded.length > 0) expect(recorded[0]).toBe("breached");
          // The record's state is where the last present number stands (within when there is none).
          const present = sequence.filter((value): value is number => value !== null);
          const last = present.at(-1);
          const expected = last === undefined ? "within" : limitPosition(limit, last);
          expect((recorded.at(-1) ?? "cleared") === "breached" ? "breached" : "within").toBe(expected);
          // As many alerts as changes of state among the present numbers (starting from within).
          let changes = 0;
          let state = "within";
          for (const value of present) {
            const position = limitPosition(limit, value);
            if (position !== state) changes++;
            state = position;
          }
          expect(recorded).toHaveLength(changes);
        }),
        { numRuns: 500 },
      );
    },
  );
});

describe("limitLabel", () => {
  it("says what the limit bounds, fractions of equity in percent", () => {
    expect(limitLabel(bounded(-0.5, 1.2))).toBe("market_beta exposure in [-0.5, 1.2]");
    expect(limitLabel({ metric: "tracking_error", factorKey: null, minValue: null, maxValue: 0.05 })).toBe(
      "tracking error ≤ 5%",
    );
    expect(limitLabel({ metric: "factor_share", factorKey: "size", minValue: 0.1, maxValue: null })).toBe(
      "size share of variance ≥ 10%",
    );
    expect(formatLimitNumber("volatility", 0.123456)).toBe("12.35%");
    expect(formatLimitNumber("exposure", 1 / 3)).toBe("0.3333");
  });
});
