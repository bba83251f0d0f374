// The risk lens stress builder's pure parts (client/src/lib/risk-stress.ts): percent inputs →
// the request (checked against the route's own schema), the API's issues back to the inputs, the
// two sides of an answer merged per factor, holding and option, the episodes' order and labels,
// and the CSV exports.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  customEpisodeId,
  customRangeErrors,
  episodeLabel,
  episodeRangeText,
  factorCsv,
  factorMoveRows,
  formatMove,
  holdingCsv,
  holdingImpactRows,
  optionCsv,
  optionImpactRows,
  orderEpisodes,
  parsePercentShocks,
  planStressRequest,
  resolveEpisodeId,
  splitStressIssues,
  type EpisodeLike,
  type RiskStressLike,
  type StressInputs,
  type StressSideLike,
} from "../../../client/src/lib/risk-stress.ts";
import { stressRequestSchema } from "../../../worker/api/analytics.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";

const csvRows = (text: string) => parseCsv(text).records.map((record) => record.fields);

const keys = ["market", "size", "value", "momentum"];

const inputs = (change: Partial<StressInputs>): StressInputs => ({
  mode: "predictive",
  date: null,
  shocks: { shocks: {}, errors: {} },
  episodeId: null,
  from: "",
  to: "",
  ...change,
});

describe("parsePercentShocks", () => {
  it("reads percent as fractions, leaves empty inputs out and marks malformed ones", () => {
    const parsed = parsePercentShocks({ market: "-10", size: "", value: "12x", momentum: " 2.5 " }, keys);
    expect(parsed.shocks).toEqual({ market: -0.1, momentum: 0.025 });
    expect(parsed.errors).toEqual({ value: 'must be a number of percent, got "12x"' });
  });

  it("takes the typographic minus, a plus sign and separators, without float noise", () => {
    expect(parsePercentShocks({ market: "\u221212.3", size: "+1,000", value: "0.1" }, keys).shocks).toEqual({
      market: -0.123,
      size: 10,
      value: 0.001,
    });
  });

  it("reads only the listed risk factors (a text left from a factor no longer listed is not sent)", () => {
    const parsed = parsePercentShocks({ market: "-5", gone: "3", luck: "x" }, keys);
    expect(parsed).toEqual({ shocks: { market: -0.05 }, errors: {} });
  });

  it("never yields NaN or drops a non-empty input", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parsePercentShocks({ market: text }, keys);
        const shock = parsed.shocks["market"];
        if (shock !== undefined) expect(Number.isFinite(shock)).toBe(true);
        const given = text.trim().replace(/[\s,_]/g, "") !== "";
        expect(shock !== undefined || parsed.errors["market"] !== undefined).toBe(given);
      }),
    );
  });
});

describe("customRangeErrors", () => {
  it("asks for both ends and from before to: the episode is (from, to]", () => {
    expect(customRangeErrors("", "")).toEqual({});
    expect(customRangeErrors("2020-02-19", "")).toEqual({ to: expect.any(String) });
    expect(customRangeErrors("", "2020-03-23")).toEqual({ from: expect.any(String) });
    expect(customRangeErrors("2020-03-23", "2020-03-23").from).toContain("must be before to");
    expect(customRangeErrors("2020-03-24", "2020-03-23").from).toContain("must be before to");
    expect(customRangeErrors("2020-02-19", "2020-03-23")).toEqual({});
  });
});

describe("planStressRequest", () => {
  const parses = (body: unknown) => expect(stressRequestSchema.safeParse(body).success).toBe(true);

  it("sends predictive shocks as fractions, with the date only when given; the route's schema accepts it", () => {
    const shocks = parsePercentShocks({ market: "-10", size: "2" }, keys);
    const plain = planStressRequest(inputs({ shocks }));
    expect(plain).toEqual({ body: { predictive: { shocks: { market: -0.1, size: 0.02 } } }, reason: null });
    parses(plain.body);
    const dated = planStressRequest(inputs({ shocks, date: "2026-06-30" }));
    expect(dated.body).toEqual({ predictive: { shocks: { market: -0.1, size: 0.02 } }, date: "2026-06-30" });
    parses(dated.body);
    expect(planStressRequest(inputs({ shocks, date: "" })).body).toEqual(plain.body);
  });

  it("sends nothing while a shock is malformed or none is given, and says why", () => {
    const malformed = planStressRequest(inputs({ shocks: parsePercentShocks({ market: "-10", size: "12x" }, keys) }));
    expect(malformed).toEqual({ body: null, reason: expect.stringContaining("Fix the shocks") });
    const none = planStressRequest(inputs({ shocks: parsePercentShocks({ market: " " }, keys) }));
    expect(none).toEqual({ body: null, reason: expect.stringContaining("at least one") });
  });

  it("replays an episode by id or a custom range; the route's schema accepts both", () => {
    const byId = planStressRequest(inputs({ mode: "historical", episodeId: "builtin-worst-20d-market" }));
    expect(byId.body).toEqual({ historical: { episode_id: "builtin-worst-20d-market" } });
    parses(byId.body);
    const range = planStressRequest(
      inputs({
        mode: "historical",
        episodeId: customEpisodeId,
        from: "2020-02-19",
        to: "2020-03-23",
        date: "2026-06-30",
      }),
    );
    expect(range.body).toEqual({ historical: { from: "2020-02-19", to: "2020-03-23" }, date: "2026-06-30" });
    parses(range.body);
    // The predictive shocks typed before are not sent with a replay.
    const mixed = planStressRequest(
      inputs({ mode: "historical", episodeId: "e1", shocks: parsePercentShocks({ market: "-10" }, keys) }),
    );
    expect(mixed.body).toEqual({ historical: { episode_id: "e1" } });
  });

  it("sends no replay without an episode or with an incomplete or reversed range", () => {
    expect(planStressRequest(inputs({ mode: "historical" })).body).toBeNull();
    const custom = { mode: "historical" as const, episodeId: customEpisodeId };
    expect(planStressRequest(inputs({ ...custom })).reason).toContain("Give the range");
    expect(planStressRequest(inputs({ ...custom, from: "2020-02-19" })).reason).toContain("Fix the range");
    expect(planStressRequest(inputs({ ...custom, from: "2020-03-23", to: "2020-02-19" })).body).toBeNull();
  });
});

describe("splitStressIssues", () => {
  it("puts each API issue at its input, and the rest aside", () => {
    const split = splitStressIssues([
      { path: "predictive.shocks.market", message: "a shock must be ≤ 10 (+1000%)" },
      { path: "predictive.shocks.luck", message: "unknown risk factor key: luck" },
      { path: "historical.from", message: "from must be before to" },
      { path: "historical.to", message: "not a calendar date" },
      { path: "historical", message: "give either from and to, or episode_id" },
      { path: "date", message: "not a calendar date" },
      { path: "", message: "give exactly one" },
    ]);
    expect(split.shocks).toEqual({
      market: "a shock must be ≤ 10 (+1000%)",
      luck: "unknown risk factor key: luck",
    });
    expect(split.from).toBe("from must be before to");
    expect(split.to).toBe("not a calendar date");
    expect(split.episode).toBe("give either from and to, or episode_id");
    expect(split.other.map((issue) => issue.path)).toEqual(["date", ""]);
    expect(splitStressIssues([{ path: "historical.episode_id", message: "no return" }]).episode).toBe("no return");
  });
});

// ---- answers ----------------------------------------------------------------------------------

type Option = StressSideLike["options"][number];

const option = (change: Partial<Option>): Option => ({
  position_id: "p-put",
  symbol: "SPY 270319P00504000",
  underlying_symbol: "SPY",
  option_type: "put",
  contracts: 10,
  multiplier: 100,
  delta: -0.4,
  underlying_move: -0.05,
  delta_approximation: 1_000,
  repriced: 1_200,
  repriced_reason: null,
  ...change,
});

const unpropagated: StressSideLike = {
  factors: [
    { factor_key: "size", move: 0, shocked: false, exposure_dollar: 20_000, impact: 0 },
    { factor_key: "market", move: -0.1, shocked: true, exposure_dollar: 100_000, impact: -10_000 },
  ],
  holdings: [
    { symbol: "AAA", position_ids: ["p1"], dollar_exposure: 60_000, underlying_move: -0.1, impact: -6_000 },
    { symbol: "SPY", position_ids: ["p2", "p-put"], dollar_exposure: 40_000, underlying_move: -0.1, impact: -4_000 },
  ],
  options: [
    option({
      underlying_move: -0.1,
      delta_approximation: 2_000,
      repriced: null,
      repriced_reason: "no_implied_volatility",
    }),
  ],
  total: -10_000,
  total_repriced: -10_000,
};

const propagated: StressSideLike = {
  factors: [
    { factor_key: "market", move: -0.1, shocked: true, exposure_dollar: 100_000, impact: -10_000 },
    { factor_key: "size", move: -0.02, shocked: false, exposure_dollar: 20_000, impact: -400 },
  ],
  holdings: [
    { symbol: "SPY", position_ids: ["p2", "p-put"], dollar_exposure: 40_000, underlying_move: -0.1, impact: -4_000 },
    { symbol: "AAA", position_ids: ["p1"], dollar_exposure: 60_000, underlying_move: -0.11, impact: -6_400 },
  ],
  options: [option({ underlying_move: -0.1, delta_approximation: 2_000, repriced: 2_300 })],
  total: -10_400,
  total_repriced: -10_100,
};

const answer = (change: Partial<RiskStressLike>): RiskStressLike => ({
  kind: "predictive",
  unpropagated,
  propagated,
  ...change,
});

describe("factorMoveRows", () => {
  it("puts both sides side by side, in the risk factors' display order, with where each move came from", () => {
    expect(factorMoveRows(answer({}), ["market", "size"])).toEqual([
      {
        key: "market",
        source: "shocked",
        move: -0.1,
        moveUnpropagated: -0.1,
        exposureDollar: 100_000,
        impact: -10_000,
        impactUnpropagated: -10_000,
      },
      {
        key: "size",
        source: "propagated",
        move: -0.02,
        moveUnpropagated: 0,
        exposureDollar: 20_000,
        impact: -400,
        impactUnpropagated: 0,
      },
    ]);
  });

  it("says replayed for an episode's factors, and not moved without the propagated side", () => {
    const replay = factorMoveRows(answer({ kind: "historical" }), ["size", "market"]);
    expect(replay.map((row) => [row.key, row.source])).toEqual([
      ["size", "propagated"],
      ["market", "replayed"],
    ]);
    const plain = factorMoveRows(answer({ propagated: null }), []);
    // Unknown to the order: as the API listed them.
    expect(plain.map((row) => [row.key, row.source, row.move, row.impact])).toEqual([
      ["size", "not_moved", 0, null],
      ["market", "shocked", -0.1, null],
    ]);
  });
});

describe("holdingImpactRows and optionImpactRows", () => {
  it("merge the holdings of both sides by symbol, the largest headline impact first", () => {
    expect(holdingImpactRows(answer({}))).toEqual([
      {
        symbol: "AAA",
        positionIds: ["p1"],
        dollarExposure: 60_000,
        move: -0.11,
        impact: -6_400,
        impactUnpropagated: -6_000,
      },
      {
        symbol: "SPY",
        positionIds: ["p2", "p-put"],
        dollarExposure: 40_000,
        move: -0.1,
        impact: -4_000,
        impactUnpropagated: -4_000,
      },
    ]);
    const plain = holdingImpactRows(answer({ propagated: null }));
    expect(plain.map((row) => [row.symbol, row.move, row.impact, row.impactUnpropagated])).toEqual([
      ["AAA", -0.1, null, -6_000],
      ["SPY", -0.1, null, -4_000],
    ]);
  });

  it("give each option once, its delta approximation beside its repricing (or why not) on both sides", () => {
    const rows = optionImpactRows(answer({}));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      positionId: "p-put",
      underlyingSymbol: "SPY",
      propagated: { deltaApproximation: 2_000, repriced: 2_300, repricedReason: null },
      unpropagated: { deltaApproximation: 2_000, repriced: null, repricedReason: "no_implied_volatility" },
    });
    expect(optionImpactRows(answer({ propagated: null }))[0]?.propagated).toBeNull();
  });
});

// ---- episodes ---------------------------------------------------------------------------------

const episode = (change: Partial<EpisodeLike>): EpisodeLike => ({
  id: "e",
  name: "Episode",
  from: "2020-02-19",
  to: "2020-03-23",
  builtin: false,
  days: 23,
  first_date: "2020-02-20",
  last_date: "2020-03-23",
  basis: null,
  ...change,
});

describe("episodes", () => {
  const builtinMarket = episode({
    id: "builtin-worst-20d-market",
    name: "Worst 20 days: Market",
    builtin: true,
    days: 20,
    basis: { factor_key: "market", days: 20, sum: -0.3125 },
  });
  const builtinSize = episode({ id: "builtin-worst-20d-size", name: "Worst 20 days: Size", builtin: true });
  const zeta = episode({ id: "s2", name: "Zeta" });
  const alpha = episode({ id: "s1", name: "alpha" });

  it("lists the built-ins first in the API's order, then the saved ones by name", () => {
    expect(orderEpisodes([zeta, builtinMarket, alpha, builtinSize])).toEqual({
      builtin: [builtinMarket, builtinSize],
      saved: [alpha, zeta],
    });
  });

  it("keeps the episode picked while it exists, else the first built-in, else the first saved", () => {
    const all = [zeta, builtinSize, builtinMarket, alpha];
    expect(resolveEpisodeId("s2", all)).toBe("s2");
    expect(resolveEpisodeId(customEpisodeId, [])).toBe(customEpisodeId);
    expect(resolveEpisodeId(null, all)).toBe("builtin-worst-20d-size");
    expect(resolveEpisodeId("deleted", all)).toBe("builtin-worst-20d-size");
    expect(resolveEpisodeId(null, [zeta, alpha])).toBe("s1");
    expect(resolveEpisodeId(null, [])).toBeNull();
  });

  it("labels an episode with its stored days and, for a built-in, its factor's summed return", () => {
    expect(episodeLabel(builtinMarket)).toBe("Worst 20 days: Market · 2020-02-20 – 2020-03-23, 20 days · \u221231.25%");
    expect(episodeLabel(zeta)).toBe("Zeta · 2020-02-20 – 2020-03-23, 23 days");
    expect(episodeRangeText(episode({ days: 1, first_date: "2020-03-23", last_date: "2020-03-23" }))).toBe(
      "2020-03-23, 1 day",
    );
    expect(episodeRangeText(episode({ days: 0, first_date: null, last_date: null }))).toBe(
      "(2020-02-19, 2020-03-23], no stored day",
    );
  });
});

describe("formatMove", () => {
  it("signs moves as printed, with 2 decimals of percent", () => {
    expect(formatMove(-0.1)).toBe("\u221210.00%");
    expect(formatMove(0.0125)).toBe("+1.25%");
    expect(formatMove(0)).toBe("0.00%");
    expect(formatMove(0.00001)).toBe("0.00%");
    expect(formatMove(null)).toBe("\u2014");
  });
});

describe("CSV exports", () => {
  it("write numbers untouched (fractions, dollars) and missing values empty", () => {
    const result = answer({ propagated: null });
    const factors = csvRows(factorCsv(factorMoveRows(result, ["market", "size"]), (key) => key.toUpperCase()));
    expect(factors[0]).toEqual([
      "factor_key",
      "factor",
      "source",
      "move",
      "move_unpropagated",
      "exposure_dollar",
      "impact_propagated",
      "impact_unpropagated",
    ]);
    expect(factors[1]).toEqual(["market", "MARKET", "shocked", "-0.1", "-0.1", "100000", "", "-10000"]);
    expect(factors[2]).toEqual(["size", "SIZE", "not_moved", "0", "0", "20000", "", "0"]);

    const holdings = csvRows(holdingCsv(holdingImpactRows(answer({}))));
    expect(holdings[1]).toEqual(["AAA", "p1", "60000", "-0.11", "-6400", "-6000"]);
    expect(holdings[2]?.[1]).toBe("p2 p-put");

    const options = csvRows(optionCsv(optionImpactRows(answer({}))));
    expect(options[0]).toHaveLength(15);
    expect(options[1]).toEqual([
      "p-put",
      "SPY 270319P00504000",
      "SPY",
      "put",
      "10",
      "100",
      "-0.4",
      "-0.1",
      "2000",
      "2300",
      "",
      "-0.1",
      "2000",
      "",
      "no_implied_volatility",
    ]);
  });
});
