// Stress tests (docs/factor-engine.md, "Stress"): a scenario shocks factors in their own
// return units (−0.10 = the factor's ETF, or long − short spread, falls 10%); the impact on
// a factor is exposure_dollar × shock, and the total is their sum.
//
// Decisions beyond docs/factor-engine.md:
// - The result is linear in the shocks by construction: no convexity (option gamma) and no
//   interaction between factors. Options enter through their delta only.
// - The factor betas come from separate regressions (market and rates OLS, the style ETFs in
//   one joint ridge, each spread on its own), and every style ETF carries the market in its
//   returns. Shocking market_beta together with a ridge style factor therefore counts the
//   market move twice. The built-in scenarios combine only market_beta, interest_rate_beta
//   and the long − short spreads (roughly market-neutral), never the ridge style factors;
//   user scenarios may do anything, at their author's judgement.
// - A shocked factor without an exposure (no position has a beta) is listed in `missing`
//   with impact null, never 0; `total` sums the factors that have one, `complete` says
//   whether that was all of them, and `total` is null when none had one.
// - `totalReturn` = total / equity, null when equity ≤ 0.
// - Validation: every shocked key must be a factor of the list (error names it), every shock
//   finite, at least one shock. Shocks are not bounded: a spread can move more than 100%.
import { requireFinite } from "./errors.ts";
import type { FactorSpec } from "./types.ts";
import type { PortfolioAggregation } from "./portfolio.ts";

export interface StressScenario {
  id: string;
  name: string;
  description: string;
  /** Factor key → shock in the factor's return units. */
  shocks: Readonly<Record<string, number>>;
}

/**
 * Built-in scenarios (stored with `builtin = 1`). Sizes are those a risk desk uses for a
 * severe-but-plausible move over days to a few weeks; see each entry for the episode behind it.
 */
export const BUILTIN_STRESS_SCENARIOS: readonly StressScenario[] = [
  {
    id: "builtin-market-drop",
    name: "Equity market drop",
    description: "S&P 500 −20%; small caps lag the market by 5%, quality leads it by 3%.",
    // A 20% fall is the conventional bear-market threshold (Feb–Mar 2020: −34%; Q4 2018:
    // −20%). In such selloffs IWM underperformed SPY by 5–10% and QUAL outperformed it by a
    // few percent (flight to balance-sheet quality).
    shocks: { market_beta: -0.2, size_spread: -0.05, quality_spread: 0.03 },
  },
  {
    id: "builtin-rates-shock",
    name: "Rates up 100bp",
    description: "Long Treasuries −15% (≈ +100bp at TLT's ~17y duration, with convexity); growth lags value by 5%.",
    // TLT's modified duration is about 17 years, so +100bp in long yields is roughly −15%
    // after convexity (2022: TLT −31% on ~+200bp). Long-duration growth equities lag value
    // when rates jump (2022: VUG −33% vs VTV −2% over the year; a single 100bp leg ≈ 5%).
    shocks: { interest_rate_beta: -0.15, growth_value_spread: -0.05 },
  },
  {
    id: "builtin-growth-to-value-rotation",
    name: "Growth-to-value rotation",
    description: "Growth underperforms value by 10%; momentum lags the market by 4%.",
    // Sharp rotations (Mar 2000–2001, Nov 2020 vaccine news, H1 2022) moved VUG − VTV by
    // 10% or more within weeks; momentum, loaded on recent growth winners, lagged with it.
    shocks: { growth_value_spread: -0.1, momentum_spread: -0.04 },
  },
  {
    id: "builtin-momentum-crash",
    name: "Momentum crash",
    description: "Momentum lags the market by 10% in a 5% market rebound, led by small caps (+3% vs the market).",
    // Momentum crashes happen in sharp rebounds after declines (Daniel & Moskowitz 2016:
    // 2009; Nov 2020), when beaten-down, smaller, lower-quality names rally. MTUM is long-only,
    // so its gap to SPY is milder than a long-short momentum factor's: −10% is severe.
    shocks: { momentum_spread: -0.1, market_beta: 0.05, size_spread: 0.03 },
  },
  {
    id: "builtin-small-cap-selloff",
    name: "Small-cap selloff",
    description: "Small caps lag the market by 10% while the market falls 5%; quality leads by 2%.",
    // IWM − SPY fell about 10% in weeks in 2018 Q4 and in early 2020, and ~8% in the March
    // 2023 regional-bank stress; small caps are lower quality, so QUAL − SPY rises.
    shocks: { size_spread: -0.1, market_beta: -0.05, quality_spread: 0.02 },
  },
];

export interface StressScenarioIssue {
  factorKey: string | null;
  message: string;
}

export class StressScenarioError extends Error {
  readonly issues: readonly StressScenarioIssue[];

  constructor(scenarioName: string, issues: readonly StressScenarioIssue[]) {
    super(`invalid stress scenario ${JSON.stringify(scenarioName)}: ${issues.map((i) => i.message).join("; ")}`);
    this.name = "StressScenarioError";
    this.issues = issues;
  }
}

/** Every issue of a scenario's shocks against the factor list (empty when valid). */
export function stressScenarioIssues(
  shocks: Readonly<Record<string, unknown>>,
  factors: readonly Pick<FactorSpec, "key">[],
): StressScenarioIssue[] {
  const known = new Set(factors.map((f) => f.key));
  const issues: StressScenarioIssue[] = [];
  const entries = Object.entries(shocks);
  if (entries.length === 0) issues.push({ factorKey: null, message: "a scenario needs at least one shock" });
  for (const [key, shock] of entries) {
    if (!known.has(key)) issues.push({ factorKey: key, message: `unknown factor key: ${key}` });
    if (typeof shock !== "number" || !Number.isFinite(shock)) {
      issues.push({ factorKey: key, message: `shock of ${key} must be a finite number, got ${String(shock)}` });
    }
  }
  return issues;
}

export function validateStressScenario(scenario: StressScenario, factors: readonly Pick<FactorSpec, "key">[]): void {
  const issues = stressScenarioIssues(scenario.shocks, factors);
  if (issues.length > 0) throw new StressScenarioError(scenario.name, issues);
}

export interface StressFactorImpact {
  factorId: number;
  factorKey: string;
  shock: number;
  exposureDollar: number | null;
  /** exposureDollar × shock; null when the factor has no exposure. */
  impact: number | null;
}

export interface StressResult {
  scenarioId: string;
  scenarioName: string;
  /** The shocked factors, in the aggregation's factor order. */
  impacts: StressFactorImpact[];
  /** Shocked factors without an exposure. */
  missing: string[];
  /** Σ impacts that exist; null when none does. */
  total: number | null;
  /** total / equity; null when total is null or equity ≤ 0. */
  totalReturn: number | null;
  /** True when every shocked factor had an exposure. */
  complete: boolean;
}

function finite(name: string, value: number): number {
  return requireFinite(name, value, "stress");
}

/** Impacts of a scenario on an aggregation; the scenario is validated against its factors. */
export function runStressTest(
  aggregation: Pick<PortfolioAggregation, "exposures" | "equity">,
  scenario: StressScenario,
): StressResult {
  validateStressScenario(
    scenario,
    aggregation.exposures.map((e) => ({ key: e.factorKey })),
  );
  const impacts: StressFactorImpact[] = [];
  const missing: string[] = [];
  let total: number | null = null;
  for (const e of aggregation.exposures) {
    const shock = scenario.shocks[e.factorKey];
    if (shock === undefined) continue;
    const impact = e.exposureDollar === null ? null : finite(`impact on ${e.factorKey}`, e.exposureDollar * shock);
    if (impact === null) missing.push(e.factorKey);
    else total = (total ?? 0) + impact;
    impacts.push({ factorId: e.factorId, factorKey: e.factorKey, shock, exposureDollar: e.exposureDollar, impact });
  }
  if (total !== null) finite("total", total);
  return {
    scenarioId: scenario.id,
    scenarioName: scenario.name,
    impacts,
    missing,
    total,
    totalReturn: total !== null && aggregation.equity > 0 ? finite("total return", total / aggregation.equity) : null,
    complete: missing.length === 0,
  };
}
