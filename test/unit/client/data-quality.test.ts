// The dashboard's words for missing numbers: reasons, coverage by value beside coverage by count
// (never "100%" while a held position is left out), the left-out positions of a data_quality,
// position warnings by CSV line, and expired options.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  coverageLabel,
  drillDownCoverage,
  formatShare,
  isExpiredOption,
  leftOutGroupText,
  leftOutLine,
  leftOutSummary,
  leftOutValue,
  missingBetaText,
  positionFlags,
  reasonLabel,
  warningLines,
  withValues,
  type DataQualityLike,
} from "../../../client/src/lib/data-quality.ts";
import { missingBetaReasons } from "../../../worker/api/symbols.ts";
import { positionWarningReasons } from "../../../worker/portfolios/position-warnings.ts";
import { positionExclusionReasons, symbolMissingReasons } from "../../../worker/factors/data-quality.ts";

const gap = (
  reason: string,
  extra: Partial<{
    observations: number | null;
    min_observations: number | null;
    last_close_date: string | null;
    detail: string;
  }> = {},
) => ({
  reason,
  detail: extra.detail ?? "why",
  observations: extra.observations ?? null,
  min_observations: extra.min_observations ?? null,
  last_close_date: extra.last_close_date ?? null,
});

describe("reasons", () => {
  it("says every reason code the API serves in words (no underscores, no bare code)", () => {
    for (const reason of [
      ...missingBetaReasons,
      ...symbolMissingReasons,
      ...positionExclusionReasons,
      ...positionWarningReasons,
      "private",
    ]) {
      const label = reasonLabel(reason);
      expect(label, reason).not.toMatch(/_/);
      expect(label[0], reason).toMatch(/[A-Z]/);
    }
    expect(reasonLabel("some_new_reason")).toBe("Some new reason");
  });

  it("gives a missing beta's figures", () => {
    expect(missingBetaText(gap("insufficient_data", { observations: 41, min_observations: 60 }))).toBe(
      "Insufficient data: 41 of 60 observations",
    );
    expect(missingBetaText(gap("insufficient_data"))).toBe("Insufficient data");
    expect(missingBetaText(gap("stale_prices", { last_close_date: "2026-10-01" }))).toBe(
      "Stale prices: last close 2026-10-01",
    );
    expect(missingBetaText(gap("no_prices"))).toBe("No prices");
    expect(missingBetaText(gap("not_computed"))).toBe("Not computed");
    expect(missingBetaText(gap("degenerate"))).toBe("Degenerate regression");
    expect(missingBetaText(gap("no_factor_data"))).toBe("No factor data");
  });
});

describe("coverage", () => {
  it("shows the count and never 100% while positions are left out", () => {
    expect(coverageLabel({ value: 0.998, used: 9, total: 10 })).toEqual({
      text: "99.8% of value · 9 of 10 positions",
      short: "9 of 10",
      complete: false,
    });
    expect(coverageLabel({ value: 0.99996, used: 9, total: 10 }).text).toBe("99.9% of value · 9 of 10 positions");
    // The left-out positions have no value (unpriced, expired): everything priced is covered.
    expect(coverageLabel({ value: 1, used: 8, total: 10 }).text).toBe("all priced value · 8 of 10 positions");
    expect(coverageLabel({ value: null, used: 0, total: 3 }).text).toBe("0 of 3 positions");
  });

  it("says complete when every position had a beta", () => {
    expect(coverageLabel({ value: 1, used: 10, total: 10 })).toEqual({
      text: "100.0% of value · all 10 positions",
      short: null,
      complete: true,
    });
    expect(coverageLabel({ value: 1, used: 1, total: 1 }).text).toBe("100.0% of value · the 1 position");
  });

  it("falls back to value alone without counts", () => {
    expect(coverageLabel({ value: 0.5, used: null, total: null })).toEqual({
      text: "50.0% of value",
      short: null,
      complete: null,
    });
    expect(coverageLabel({ value: null, used: undefined, total: undefined }).text).toBe("\u2014");
  });

  it("never prints 100% for any incomplete coverage (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 5_000 }),
        (value, a, b) => {
          const total = Math.max(a, b);
          const used = Math.min(a, b) === total ? total - 1 : Math.min(a, b);
          const label = coverageLabel({ value, used, total });
          expect(label.text).not.toMatch(/100(\.0)?%/);
          expect(label.text).toContain(`${used.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} positions`);
        },
      ),
    );
  });

  it("formats a share without rounding up to 100% unless complete", () => {
    expect(formatShare(0.99951, false)).toBe("99.9%");
    expect(formatShare(0.99951, true)).toBe("100.0%");
    expect(formatShare(0.9994, false)).toBe("99.9%");
    expect(formatShare(0.5, false)).toBe("50.0%");
    expect(formatShare(0.99996, false, 2)).toBe("99.99%");
  });

  it("counts a drill-down's positions: rows over rows and left-out public ones (private aside)", () => {
    const drill = {
      coverage: 0.97,
      rows: [
        { position_ids: ["a", "b"], market_value: 100 },
        { position_ids: ["c"], market_value: 50 },
      ],
      missing: [
        { position_ids: ["d"], reason: "no_price", market_value: null },
        { position_ids: ["e"], reason: "private", market_value: null },
      ],
    };
    expect(drillDownCoverage(drill).text).toBe("97.0% of value · 3 of 4 positions");
  });
});

const factorKeys = ["market_beta", "value", "momentum_spread"];

function quality(partial: Partial<DataQualityLike>): DataQualityLike {
  return {
    date: "2026-11-20",
    symbols_missing: [],
    positions_excluded: [],
    positions_total: 10,
    positions_private: 1,
    positions_valued: 8,
    ...partial,
  };
}

describe("left-out positions", () => {
  const q = quality({
    positions_excluded: [
      { position_id: "p-zzzq", symbol: "ZZZQ", reason: "no_price", detail: "no close on 2026-11-20" },
      { position_id: "p-opt", symbol: "AAPL 261016C", reason: "expired", detail: "the option expired on 2026-10-16" },
      { position_id: "p-opt2", symbol: "AAPL 261016C", reason: "expired", detail: "the option expired on 2026-10-16" },
    ],
    symbols_missing: [
      { symbol: "ZZZQ", reason: "no_price", position_ids: ["p-zzzq"] },
      {
        symbol: "NEWCO",
        reason: "insufficient_data",
        factors: factorKeys,
        position_ids: ["p-new"],
        detail: "41 of 60 observations",
      },
      {
        symbol: "FLAT",
        reason: "degenerate",
        factors: ["momentum_spread"],
        position_ids: ["p-flat"],
        detail: "no variance",
      },
      { symbol: "GONE", reason: "no_betas", position_ids: ["p-gone"] },
    ],
  });

  it("groups by symbol and reason, counts each position once, and says it in one line", () => {
    const summary = leftOutSummary(q, factorKeys);
    expect(summary.total).toBe(6);
    expect(summary.counts).toEqual({ unpriced: 1, expired: 2, no_delta: 0, no_betas: 2, some_betas: 1 });
    expect(summary.groups.map((group) => [group.symbol, group.kind, group.positionIds.length])).toEqual([
      ["ZZZQ", "unpriced", 1],
      ["AAPL 261016C", "expired", 2],
      ["GONE", "no_betas", 1],
      ["NEWCO", "no_betas", 1],
      ["FLAT", "some_betas", 1],
    ]);
    expect(leftOutLine(summary)).toBe(
      "6 positions left out: 1 unpriced, 2 expired, 2 without betas, 1 without some betas",
    );
  });

  it("says nothing is left out when nothing is", () => {
    const summary = leftOutSummary(quality({}), factorKeys);
    expect(summary.total).toBe(0);
    expect(leftOutLine(summary)).toBeNull();
    expect(
      leftOutLine(
        leftOutSummary(
          quality({ positions_excluded: [{ position_id: "x", symbol: "X", reason: "no_delta", detail: "" }] }),
          factorKeys,
        ),
      ),
    ).toBe("1 position left out: 1 without a usable delta");
  });

  it("takes a symbol missing every factor over several reasons as without betas", () => {
    const summary = leftOutSummary(
      quality({
        symbols_missing: [
          { symbol: "ODD", reason: "degenerate", factors: ["market_beta"], position_ids: ["o"] },
          { symbol: "ODD", reason: "insufficient_data", factors: ["value", "momentum_spread"], position_ids: ["o"] },
        ],
      }),
      factorKeys,
    );
    expect(summary.total).toBe(1);
    expect(summary.counts.no_betas).toBe(1);
    expect(summary.groups.every((group) => group.kind === "no_betas")).toBe(true);
  });

  it("reads the values from a drill-down where every position of a group is in it", () => {
    const summary = withValues(leftOutSummary(q, factorKeys), {
      coverage: 0.9,
      rows: [{ position_ids: ["p-flat"], market_value: 2_000 }],
      missing: [
        { position_ids: ["p-zzzq"], reason: "no_price", market_value: null },
        { position_ids: ["p-opt", "p-opt2"], reason: "expired", market_value: null },
        { position_ids: ["p-new"], reason: "insufficient_data", market_value: 12_300 },
        { position_ids: ["p-gone"], reason: "no_betas", market_value: -500 },
      ],
    });
    const value = (symbol: string) => summary.groups.find((group) => group.symbol === symbol)?.value;
    expect(value("ZZZQ")).toBeNull();
    expect(value("AAPL 261016C")).toBeNull();
    expect(value("NEWCO")).toBe(12_300);
    expect(value("FLAT")).toBe(2_000);
    expect(value("GONE")).toBe(-500);
    expect(leftOutValue(summary)).toBe(14_800);
    expect(leftOutGroupText(summary.groups.find((group) => group.symbol === "NEWCO")!)).toBe(
      "Insufficient data · $12.3K",
    );
    expect(leftOutGroupText(summary.groups.find((group) => group.symbol === "FLAT")!, (key) => key.toUpperCase())).toBe(
      "Degenerate regression (MOMENTUM_SPREAD) · $2.00K",
    );
    expect(leftOutValue(leftOutSummary(q, factorKeys))).toBeNull();
  });

  it("flags each left-out position with its reason", () => {
    const flags = positionFlags(leftOutSummary(q, factorKeys));
    expect(flags.get("p-zzzq")).toEqual({ label: "Unpriced", detail: "no close on 2026-11-20", kind: "unpriced" });
    expect(flags.get("p-opt")?.label).toBe("Expired");
    expect(flags.get("p-flat")?.label).toBe("Degenerate regression (some factors)");
    expect(flags.has("p-other")).toBe(false);
  });
});

describe("position warnings and expired options", () => {
  it("lists warnings in line order with their reason in words", () => {
    const lines = warningLines([
      { line: 4, position_id: "b", symbol: "AAPL 261016C", reason: "expired", detail: "expired" },
      { position_id: "c", symbol: "NEW", reason: "not_computed", detail: "next run" },
      { line: 2, position_id: "a", symbol: "ZZZQ", reason: "no_prices", detail: "no close" },
    ]);
    expect(lines.map((line) => [line.line, line.symbol, line.label])).toEqual([
      [2, "ZZZQ", "No prices"],
      [4, "AAPL 261016C", "Expired"],
      [null, "NEW", "Not computed"],
    ]);
  });

  it("calls an option expired the day after its expiry, and never a stock", () => {
    expect(isExpiredOption({ instrument: "option", expiry: "2026-10-16" }, "2026-10-17")).toBe(true);
    expect(isExpiredOption({ instrument: "option", expiry: "2026-10-16" }, "2026-10-16")).toBe(false);
    expect(isExpiredOption({ instrument: "option", expiry: null }, "2026-10-17")).toBe(false);
    expect(isExpiredOption({ instrument: "stock", expiry: "2026-10-16" }, "2026-10-17")).toBe(false);
  });
});
