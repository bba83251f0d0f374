// The dashboard's pure state: the heatmap's matrices, slider window and live folding, and the
// reads of live-updated dates (test/unit/client/exposure-uncertainty.test.ts folds their
// answers); the reconnect backoff; reading a pasted token.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Exposures } from "../../../client/src/api/types.ts";
import { reconnectDelayMs } from "../../../client/src/lib/backoff.ts";
import {
  applyUpdate,
  benchmarkPhrase,
  columnBenchmark,
  DateReads,
  datesMatrix,
  type DateRead,
  nextPlayEnd,
  noBenchmarkNote,
  portfolioColumnTitle,
  portfoliosMatrix,
  shownView,
  viewAvailable,
  viewValues,
  windowRange,
} from "../../../client/src/lib/heatmap-grid.ts";
import { readToken } from "../../../client/src/lib/token.ts";

function exposures(id: string, dates: string[], market: (number | null)[], benchmark: (number | null)[]): Exposures {
  return {
    portfolio_id: id,
    from: dates[0] ?? "",
    to: dates.at(-1) ?? "",
    benchmark: "SPY",
    dates,
    equity: dates.map(() => 1_000_000),
    factors: [
      {
        key: "market_beta",
        name: "Market Beta",
        portfolio: market,
        exposure_dollar: market.map((value) => (value === null ? null : value * 1_000_000)),
        coverage: market.map((value) => (value === null ? null : 1)),
        coverage_count: market.map((value) => (value === null ? null : 1)),
        positions_used: market.map((value) => (value === null ? null : 4)),
        positions_total: market.map((value) => (value === null ? null : 4)),
        r_squared: market.map((value) => (value === null ? null : 0.5)),
        benchmark,
        benchmark_r_squared: benchmark.map((value) => (value === null ? null : 0.9)),
        active: market.map((value, i) => (value === null || benchmark[i] === null ? null : value - benchmark[i]!)),
        // No standard errors here (test/unit/client/exposure-uncertainty.test.ts has them).
        standard_error: market.map(() => null),
        standard_error_reason: market.map(() => "not_computed" as const),
        distinguishable: market.map(() => null),
        benchmark_standard_error: benchmark.map(() => null),
        benchmark_standard_error_reason: benchmark.map(() => "not_computed" as const),
        benchmark_distinguishable: benchmark.map(() => null),
        active_standard_error: market.map(() => null),
        active_standard_error_reason: market.map(() => "not_computed" as const),
        active_distinguishable: market.map(() => null),
      },
    ],
    data_quality: null,
  };
}

const dates = ["2026-06-24", "2026-06-25", "2026-06-26", "2026-06-29", "2026-06-30"];

describe("heatmap benchmark labels", () => {
  it("offers the Benchmark and Active views only with a benchmark, and falls back to Portfolio without", () => {
    for (const choice of ["", "SPY"]) {
      expect(viewAvailable("active", choice)).toBe(true);
      expect(viewAvailable("benchmark", choice)).toBe(true);
      expect(shownView("active", choice)).toBe("active");
      expect(noBenchmarkNote("active", choice)).toBeNull();
    }
    expect(viewAvailable("portfolio", "none")).toBe(true);
    expect(viewAvailable("active", "none")).toBe(false);
    expect(viewAvailable("benchmark", "none")).toBe(false);
    expect(shownView("active", "none")).toBe("portfolio");
    expect(shownView("benchmark", "none")).toBe("portfolio");
    expect(noBenchmarkNote("portfolio", "none")).toBe(
      "No benchmark chosen: choose a benchmark to see benchmark and active exposures.",
    );
    expect(noBenchmarkNote("active", "none")).toBe(
      "No benchmark chosen, so portfolio exposures are shown: " +
        "choose a benchmark to see benchmark and active exposures.",
    );
  });

  it("names each portfolio column's own benchmark, the chosen one, or none", () => {
    // Before the numbers load: the choice, else the portfolio's own; after: what the API served.
    expect(columnBenchmark("", "IWM", undefined)).toBe("IWM");
    expect(columnBenchmark("SPY", "IWM", undefined)).toBe("SPY");
    expect(columnBenchmark("none", "IWM", undefined)).toBeNull();
    expect(columnBenchmark("", "IWM", "IWM")).toBe("IWM");
    expect(columnBenchmark("", "IWM", null)).toBeNull();
    expect(portfolioColumnTitle("Small Cap Tilt", "IWM")).toBe("Small Cap Tilt · vs IWM");
    expect(portfolioColumnTitle("Small Cap Tilt", null)).toBe("Small Cap Tilt · no benchmark");
  });

  it("says each portfolio is against its own benchmark unless one was chosen for all", () => {
    expect(benchmarkPhrase("", "portfolios", "SPY")).toBe("each against its own benchmark");
    expect(benchmarkPhrase("IWM", "portfolios", "SPY")).toBe("each against IWM");
    expect(benchmarkPhrase("none", "portfolios", null)).toBe("no benchmark");
    expect(benchmarkPhrase("", "dates", "IWM")).toBe("benchmark IWM");
    expect(benchmarkPhrase("SPY", "dates", "SPY")).toBe("benchmark SPY");
    expect(benchmarkPhrase("none", "dates", null)).toBe("no benchmark");
  });
});

describe("heatmap window", () => {
  it("selects the last `size` dates up to the slider position", () => {
    expect(windowRange(5, 3, 4)).toEqual([2, 4]);
    expect(windowRange(5, 3, 1)).toEqual([0, 1]);
    expect(windowRange(5, 20, 99)).toEqual([0, 4]);
    expect(windowRange(0, 3, 0)).toEqual([0, -1]);
  });

  it("plays forward one date at a time and starts over from the first full window at the end", () => {
    expect(nextPlayEnd(10, 3, 2)).toBe(3);
    expect(nextPlayEnd(10, 3, 9)).toBe(2);
    expect(nextPlayEnd(10, 3, 0)).toBe(2);
  });

  it("always returns a window inside the range with at most `size` dates", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: -10, max: 400 }),
        (count, size, end) => {
          const [start, last] = windowRange(count, size, end);
          expect(start).toBeGreaterThanOrEqual(0);
          expect(last).toBeLessThan(count);
          expect(last - start + 1).toBeLessThanOrEqual(size);
          expect(last - start + 1).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});

describe("heatmap matrices", () => {
  const core = exposures("core", dates, [1.1, 1.2, null, 1.4, 1.5], [1, 1, 1, null, 1]);

  it("takes the view's series over the window, keeping missing as null", () => {
    const portfolio = datesMatrix(core, "portfolio", [1, 3]);
    expect(portfolio.xs).toEqual([1, 2, 3]);
    expect(portfolio.columnKeys).toEqual(["2026-06-25", "2026-06-26", "2026-06-29"]);
    expect(portfolio.values).toEqual([[1.2, null, 1.4]]);
    expect(datesMatrix(core, "benchmark", [1, 3]).values).toEqual([[1, 1, null]]);
    const active = datesMatrix(core, "active", [0, 4]).values[0]!;
    expect(active[0]).toBeCloseTo(0.1, 12);
    expect(active[2]).toBeNull();
    expect(active[3]).toBeNull();
  });

  it("puts portfolios in columns on one date; a portfolio without the date is missing, not 0", () => {
    const other = exposures("other", ["2026-06-29"], [0.5], [1]);
    const matrix = portfoliosMatrix(
      [
        { id: "core", exposures: core },
        { id: "other", exposures: other },
        { id: "loading", exposures: undefined },
      ],
      ["market_beta", "unknown_factor"],
      "portfolio",
      "2026-06-25",
    );
    expect(matrix.columnKeys).toEqual(["core", "other", "loading"]);
    expect(matrix.values).toEqual([
      [1.2, null, null],
      [null, null, null],
    ]);
    expect(
      portfoliosMatrix([{ id: "other", exposures: other }], ["market_beta"], "active", "2026-06-29").values,
    ).toEqual([[-0.5]]);
  });

  it("collects only finite values for the colour scale", () => {
    expect(viewValues([core], "portfolio")).toEqual([1.1, 1.2, 1.4, 1.5]);
  });
});

describe("live updates folded into loaded exposures", () => {
  const core = exposures("core", dates, [1.1, 1.2, null, 1.4, 1.5], [1, 1, 1, null, 1]);
  const update = (date: string, exposure: number | null) => ({
    type: "exposures.updated" as const,
    portfolio_id: "core",
    seq: 7,
    date,
    cause: "positions" as const,
    equity: 2_000_000,
    exposures: [
      {
        factor_key: "market_beta",
        exposure,
        exposure_dollar: exposure === null ? null : exposure * 2_000_000,
        coverage: 0.95,
        r_squared: 0.7,
      },
    ],
  });

  it("replaces the date's numbers and recomputes active against the benchmark", () => {
    const next = applyUpdate(core, update("2026-06-30", 0.8))!;
    const factor = next.factors[0]!;
    expect(factor.portfolio).toEqual([1.1, 1.2, null, 1.4, 0.8]);
    expect(factor.exposure_dollar[4]).toBe(1_600_000);
    expect(factor.coverage[4]).toBe(0.95);
    expect(factor.r_squared[4]).toBe(0.7);
    expect(factor.active[4]).toBeCloseTo(-0.2, 12);
    expect(next.equity[4]).toBe(2_000_000);
    // The loaded object is not modified (Preact sees a new value).
    expect(core.factors[0]!.portfolio[4]).toBe(1.5);
  });

  it("keeps active missing when the benchmark is missing, and a missing exposure missing", () => {
    expect(applyUpdate(core, update("2026-06-29", 2))!.factors[0]!.active[3]).toBeNull();
    const cleared = applyUpdate(core, update("2026-06-24", null))!.factors[0]!;
    expect(cleared.portfolio[0]).toBeNull();
    expect(cleared.active[0]).toBeNull();
  });

  it("keeps the loaded R² when a message has none (stored before the hub sent it)", () => {
    const { r_squared: _dropped, ...withoutRSquared } = update("2026-06-30", 0.8).exposures[0]!;
    const next = applyUpdate(core, { ...update("2026-06-30", 0.8), exposures: [withoutRSquared] })!;
    expect(next.factors[0]!.r_squared[4]).toBe(0.5);
    expect(next.factors[0]!.portfolio[4]).toBe(0.8);
  });

  it("asks for a refetch (null) for a date the range does not hold, and ignores other portfolios", () => {
    expect(applyUpdate(core, update("2026-07-01", 1))).toBeNull();
    expect(applyUpdate(core, { ...update("2026-06-30", 9), portfolio_id: "someone-else" })).toBe(core);
  });
});

describe("reads of live-updated dates", () => {
  // A fake route: each read waits until the test answers (or fails) it.
  function harness() {
    const asked: { id: string; dates: readonly string[]; signal: AbortSignal; answer: () => void; fail: () => void }[] =
      [];
    const settled: { id: string; read: [string, number][]; answered: boolean }[] = [];
    const reads = new DateReads(
      (id, dates, signal) =>
        new Promise<Exposures>((resolve, reject) => {
          const body = exposures(
            id,
            [...dates],
            [...dates].map(() => 1),
            [...dates].map(() => 1),
          );
          asked.push({ id, dates, signal, answer: () => resolve(body), fail: () => reject(new Error("offline")) });
        }),
      (id, read: DateRead, answer) => settled.push({ id, read: [...read], answered: answer !== null }),
    );
    return { reads, asked, settled };
  }
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("reads a date at once, and the dates asked meanwhile together in the next read", async () => {
    const { reads, asked, settled } = harness();
    reads.request("core", new Map([["2026-06-29", 1]]));
    reads.request("core", new Map([["2026-06-30", 2]]));
    reads.request("core", new Map([["2026-06-26", 3]]));
    reads.request("other", new Map([["2026-06-30", 1]]));
    expect(asked.map(({ id, dates }) => [id, dates])).toEqual([
      ["core", ["2026-06-29"]],
      ["other", ["2026-06-30"]],
    ]);
    asked[0]!.answer();
    await flush();
    expect(settled).toEqual([{ id: "core", read: [["2026-06-29", 1]], answered: true }]);
    // One read for both dates, in date order (the route's from = first, to = last).
    expect(asked[2]).toMatchObject({ id: "core", dates: ["2026-06-26", "2026-06-30"] });
    asked[2]!.fail();
    await flush();
    expect(settled.at(-1)).toEqual({
      id: "core",
      read: [
        ["2026-06-30", 2],
        ["2026-06-26", 3],
      ],
      answered: false,
    });
    expect(asked).toHaveLength(3);
  });

  it("cancels a read whose every date was updated again, and never settles it", async () => {
    const { reads, asked, settled } = harness();
    reads.request("core", new Map([["2026-06-30", 1]]));
    reads.request("core", new Map([["2026-06-30", 2]]));
    expect(asked[0]!.signal.aborted).toBe(true);
    expect(asked[1]).toMatchObject({ dates: ["2026-06-30"] });
    asked[0]!.answer();
    asked[1]!.answer();
    await flush();
    expect(settled).toEqual([{ id: "core", read: [["2026-06-30", 2]], answered: true }]);
    // A read with other dates too is kept (its other dates are still wanted); the date goes again after it.
    reads.request(
      "core",
      new Map([
        ["2026-06-26", 3],
        ["2026-06-29", 3],
      ]),
    );
    reads.request("core", new Map([["2026-06-29", 4]]));
    expect(asked[2]!.signal.aborted).toBe(false);
    expect(asked).toHaveLength(3);
    asked[2]!.answer();
    await flush();
    expect(settled).toHaveLength(2);
    expect(asked[3]).toMatchObject({ dates: ["2026-06-29"] });
    // Cancelled (the page's portfolios or benchmark changed): aborted, never settled, nothing queued left.
    reads.request("core", new Map([["2026-06-30", 5]]));
    reads.cancel();
    expect(asked[3]!.signal.aborted).toBe(true);
    asked[3]!.answer();
    await flush();
    expect(settled).toHaveLength(2);
    expect(asked).toHaveLength(4);
  });
});

describe("reconnect backoff", () => {
  it("grows from half a second to a 30 s cap with jitter in the upper half", () => {
    expect(reconnectDelayMs(1, () => 0)).toBe(250);
    expect(reconnectDelayMs(1, () => 1)).toBe(500);
    expect(reconnectDelayMs(4, () => 0.5)).toBe(3_000);
    expect(reconnectDelayMs(20, () => 1)).toBe(30_000);
    expect(reconnectDelayMs(20, () => 0)).toBe(15_000);
  });

  it("never waits zero and never beyond the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const delay = reconnectDelayMs(attempt, () => random);
        expect(delay).toBeGreaterThanOrEqual(250);
        expect(delay).toBeLessThanOrEqual(30_000);
      }),
    );
  });
});

describe("reading a pasted token", () => {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const token = (claims: Record<string, unknown>) =>
    `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.signature`;
  const now = Date.UTC(2026, 10, 21);

  it("reads sub, org, known permissions and expiry; tolerates a Bearer prefix", () => {
    const claims = { sub: "ana", org: "acme", permissions: ["RUN_BATCH", "NOT_A_PERMISSION"], exp: now / 1000 + 60 };
    const read = readToken(`Bearer ${token(claims)}`, now);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.session.sub).toBe("ana");
    expect(read.session.org).toBe("acme");
    expect([...read.session.permissions]).toEqual(["RUN_BATCH"]);
    expect(read.session.expiresAt).toBe(now + 60_000);
    expect(read.session.token.startsWith("Bearer")).toBe(false);
  });

  it("refuses what is not a usable JWT, saying why", () => {
    expect(readToken("not-a-jwt", now)).toEqual({ ok: false, reason: "a JWT has three dot-separated parts" });
    expect(readToken("a.b.c", now)).toMatchObject({ ok: false, reason: "the token's payload is not JSON" });
    expect(readToken(token({ exp: now / 1000 + 60 }), now)).toMatchObject({
      ok: false,
      reason: "the token has no sub claim",
    });
    expect(readToken(token({ sub: "ana" }), now)).toMatchObject({ ok: false, reason: "the token has no exp claim" });
    expect(readToken(token({ sub: "ana", exp: now / 1000 - 1 }), now)).toMatchObject({ ok: false });
  });
});
