// Portfolio aggregation on a date D (docs/factor-engine.md, "Portfolio aggregation"): which
// positions are held, what they are worth, their weights and deltas, and the portfolio's
// exposure to each factor of the list, with the data_quality contract beside it.
//
// Decisions beyond docs/factor-engine.md:
// - Input validation. Anything the `positions` table's constraints forbid (a non-finite
//   number, an option without underlying/type/strike/expiry, delta outside [−1, 1], implied
//   volatility ≤ 0, a negative premium, option fields on a stock, closed_on ≤ opened_on, a
//   malformed date) and duplicate position ids are a `HoldingValidationError` listing every
//   issue with its field: such a list did not come from the database, and guessing would
//   misstate the risk. What the table allows but the aggregation cannot use is reported, not
//   thrown: a missing close (`no_price`), an option with neither delta nor implied volatility
//   (`no_delta`), an option delta whose sign contradicts its type — a call below 0 or a put
//   above 0, almost always a put typed as |delta| — (`invalid_delta`). Those options are
//   valued (notional in gross, premium in equity) but contribute to no factor, so every
//   factor's coverage shows them.
// - `opened_on` may be null (a hypothetical holding: held on every date); an option's null
//   multiplier means the table's default, 100.
// - Given deltas are per unit of the underlying and signed by type (put ≤ 0); the position's
//   direction is the sign of its quantity.
// - exposure_dollar[f] = Σ mv_i·δ_i·β_i[f]: the same number as exposure[f] × equity, computed
//   without dividing by equity so that it exists when equity ≤ 0.
// - Equity ≤ 0: weights are undefined (a sign flip, or an infinite leverage, not a risk
//   number), so `weightsAvailable` is false, every `exposure` and weight is null, and the
//   dollar exposures, coverage and counts are still given (stress needs only dollars). It is
//   a flag, not an error, because the batch must still record the day and its data_quality.
// - A factor that no position has a beta for has `exposure` and `exposureDollar` null (never
//   0); `coverage` is 0 then, and null only when gross is 0 (nothing to cover).
// - `positionsTotal` per factor counts the public positions held on D (priced or not), so
//   positionsUsed / positionsTotal is the count-based companion of coverage.
// - rSquared[f] = Σ |mv_i·δ_i|·R²_i[f] / Σ |mv_i·δ_i| over the positions used whose beta has an
//   R²: how much of its holdings' return variance the factor's regressions explain, weighted
//   by each holding's delta-adjusted size (the weight its beta gets in the exposure). In [0, 1]
//   (each R² is, OLS and ridge alike, both fitted with an intercept); null when no position
//   used has an R², and when every such position's delta-adjusted size is 0.
// - Betas of a symbol whose record has no entry for any factor of the list count as no betas.
// - A result that overflows (only possible with absurd magnitudes, ~1e150 and beyond) is a
//   RangeError rather than an Infinity in the output.
import type { Instrument, OptionType } from "../../schema/portfolios.ts";
import { buildDataQuality, hasNoBetas, lookUpBeta } from "./data-quality.ts";
import type { DataQuality, PositionExcluded, SymbolCoverage } from "./data-quality.ts";
import { requireFinite } from "./errors.ts";
import { blackScholesDelta, DEFAULT_RISK_FREE_RATE, isoDateToDayNumber, yearFraction } from "./options.ts";
import type { FactorSpec, SymbolFactorBeta } from "./types.ts";

export type { Instrument, OptionType };

// The schema's value lists, restated so that this module imports no table (and so no
// drizzle) at run time; `Record` makes the compiler flag a member added to either side.
const INSTRUMENTS: Record<Instrument, true> = { stock: true, etf: true, option: true, private: true };
const OPTION_TYPES: Record<OptionType, true> = { call: true, put: true };
const isOneOf = (set: Record<string, true>, value: unknown): boolean =>
  typeof value === "string" && Object.hasOwn(set, value);

/** The `positions` table's default contract multiplier. */
export const DEFAULT_OPTION_MULTIPLIER = 100;

/**
 * A position as the aggregation reads it: the `positions` row's fields (a row selected from
 * the table is assignable as is), or a hypothetical holding of a what-if.
 */
export interface HoldingInput {
  id: string;
  symbol: string;
  instrument: Instrument;
  /** Signed: shares for stocks and ETFs, contracts for options; negative is short. */
  quantity: number;
  /** Null or absent: held on every date up to `closedOn` (hypothetical holdings). */
  openedOn?: string | null;
  closedOn?: string | null;
  underlyingSymbol?: string | null;
  optionType?: OptionType | null;
  strike?: number | null;
  expiry?: string | null;
  multiplier?: number | null;
  /** Per unit of the underlying, signed by type (call in [0, 1], put in [−1, 0]). */
  delta?: number | null;
  impliedVol?: number | null;
  /** Option price per unit of the underlying. */
  premium?: number | null;
}

/** Betas by symbol, each keyed by factor key (e.g. `SymbolBetas.betas` of every symbol needed). */
export type BetaTable = ReadonlyMap<string, Readonly<Record<string, SymbolFactorBeta>>>;

export interface AggregationInput {
  /** D, ISO `YYYY-MM-DD`. */
  date: string;
  /** Every position of the portfolio; those not held on D are skipped. */
  holdings: readonly HoldingInput[];
  cash: number;
  /** Actual (not adjusted) closes on D by symbol. */
  closes: ReadonlyMap<string, number>;
  betas: BetaTable;
  /** The active factors, in display order; the output follows it. */
  factors: readonly FactorSpec[];
  /** For Black–Scholes deltas; default `DEFAULT_RISK_FREE_RATE` (4%). */
  riskFreeRate?: number;
}

export type PositionStatus = "valued" | "private" | "no_price" | "no_delta" | "invalid_delta" | "expired";

/** How a held position entered the aggregation. */
export interface PositionValuation {
  positionId: string;
  symbol: string;
  /** The symbol whose close and betas apply: the underlying for options. */
  betaSymbol: string;
  instrument: Instrument;
  status: PositionStatus;
  /** Close of `betaSymbol` on D; null when unusable or private. */
  price: number | null;
  /** Signed; options at delta-free notional (contracts × multiplier × underlying close). */
  marketValue: number | null;
  /** Options with a premium: contracts × multiplier × premium (counts in equity). */
  premiumValue: number | null;
  delta: number | null;
  deltaSource: "unit" | "given" | "black_scholes" | null;
  /** marketValue / equity; null when not valued or equity ≤ 0. */
  weight: number | null;
  /** Why the position is not valued or has no delta (statuses other than `valued`). */
  detail: string | null;
}

export interface FactorExposure {
  factorId: number;
  factorKey: string;
  /** Σ w_i·δ_i·β_i; null when no position has a beta, or equity ≤ 0. */
  exposure: number | null;
  /** Σ mv_i·δ_i·β_i (= exposure × equity); null when no position has a beta. */
  exposureDollar: number | null;
  /** Σ |mv| of the positions used / gross; null when gross is 0. */
  coverage: number | null;
  /** The holdings' R² for the factor, weighted by |mv·δ| (see the header); null when none has one. */
  rSquared: number | null;
  positionsUsed: number;
  positionsTotal: number;
}

export interface PortfolioAggregation {
  date: string;
  cash: number;
  /** cash + Σ stock/ETF market values + Σ option premium values (valued positions). */
  equity: number;
  /** Σ |market value| of valued public positions, options at notional. */
  gross: number;
  /** Σ signed market value of valued public positions, options at notional. */
  net: number;
  /** False when equity ≤ 0 (see the header). */
  weightsAvailable: boolean;
  exposures: FactorExposure[];
  /** Every position held on D, in input order. */
  positions: PositionValuation[];
  dataQuality: DataQuality;
}

export interface HoldingIssue {
  positionId: string;
  field: string;
  message: string;
}

/** Holdings that the positions table could not contain; `issues` names each field. */
export class HoldingValidationError extends Error {
  readonly issues: readonly HoldingIssue[];

  constructor(issues: readonly HoldingIssue[]) {
    const first = issues[0];
    const summary = first ? `${first.positionId}.${first.field}: ${first.message}` : "no issues";
    super(`invalid holdings (${issues.length} issue${issues.length === 1 ? "" : "s"}; first: ${summary})`);
    this.name = "HoldingValidationError";
    this.issues = issues;
  }
}

function isIsoDate(value: string): boolean {
  try {
    isoDateToDayNumber(value);
    return true;
  } catch {
    return false;
  }
}

const isAbsent = (value: unknown): value is null | undefined => value === null || value === undefined;

/** Every issue of a holdings list (empty when it is valid). */
export function validateHoldings(holdings: readonly HoldingInput[]): HoldingIssue[] {
  const issues: HoldingIssue[] = [];
  const ids = new Set<string>();
  holdings.forEach((h, index) => {
    const positionId = typeof h.id === "string" && h.id !== "" ? h.id : `#${index}`;
    const issue = (field: string, message: string) => issues.push({ positionId, field, message });
    if (typeof h.id !== "string" || h.id === "") issue("id", "must be a non-empty string");
    else if (ids.has(h.id)) issue("id", "is used by another position");
    else ids.add(h.id);
    if (typeof h.symbol !== "string" || h.symbol.trim() === "") issue("symbol", "must be a non-empty string");
    if (!isOneOf(INSTRUMENTS, h.instrument))
      issue("instrument", `must be one of ${Object.keys(INSTRUMENTS).join(", ")}`);
    if (typeof h.quantity !== "number" || !Number.isFinite(h.quantity)) issue("quantity", "must be a finite number");
    for (const field of ["openedOn", "closedOn"] as const) {
      const value = h[field];
      if (!isAbsent(value) && (typeof value !== "string" || !isIsoDate(value)))
        issue(field, "must be an ISO date (YYYY-MM-DD)");
    }
    if (typeof h.openedOn === "string" && typeof h.closedOn === "string" && !(h.closedOn > h.openedOn)) {
      issue("closedOn", "must be after openedOn");
    }
    if (h.instrument === "option") {
      if (typeof h.underlyingSymbol !== "string" || h.underlyingSymbol.trim() === "")
        issue("underlyingSymbol", "is required for an option");
      if (!isOneOf(OPTION_TYPES, h.optionType)) issue("optionType", "must be call or put");
      if (typeof h.strike !== "number" || !(Number.isFinite(h.strike) && h.strike > 0))
        issue("strike", "must be a finite number > 0");
      if (typeof h.expiry !== "string" || !isIsoDate(h.expiry)) issue("expiry", "must be an ISO date (YYYY-MM-DD)");
      if (!isAbsent(h.multiplier) && !(Number.isFinite(h.multiplier) && h.multiplier > 0))
        issue("multiplier", "must be a finite number > 0");
      if (!isAbsent(h.delta) && !(Number.isFinite(h.delta) && h.delta >= -1 && h.delta <= 1))
        issue("delta", "must be in [-1, 1]");
      if (!isAbsent(h.impliedVol) && !(Number.isFinite(h.impliedVol) && h.impliedVol > 0))
        issue("impliedVol", "must be a finite number > 0");
      if (!isAbsent(h.premium) && !(Number.isFinite(h.premium) && h.premium >= 0))
        issue("premium", "must be a finite number ≥ 0");
    } else {
      for (const field of [
        "underlyingSymbol",
        "optionType",
        "strike",
        "expiry",
        "delta",
        "impliedVol",
        "premium",
      ] as const) {
        if (!isAbsent(h[field])) issue(field, "is only allowed on options");
      }
    }
  });
  return issues;
}

/** The symbol whose close and betas apply to a holding: the underlying for options. */
export function betaSymbolOf(holding: Pick<HoldingInput, "instrument" | "symbol" | "underlyingSymbol">): string {
  return holding.instrument === "option" ? (holding.underlyingSymbol ?? holding.symbol) : holding.symbol;
}

/**
 * Held on D: opened on or before D and not closed on or before D. An option past its expiry is
 * still held (nobody closed it) but is excluded from the numbers with the reason `expired`, so
 * it is listed and flagged rather than silently gone (see `isExpiredOn`).
 */
export function isHeldOn(holding: HoldingInput, date: string): boolean {
  if (!isAbsent(holding.openedOn) && holding.openedOn > date) return false;
  if (!isAbsent(holding.closedOn) && holding.closedOn <= date) return false;
  return true;
}

/** An option whose expiry is before D: it has no value or delta on D. */
export function isExpiredOn(holding: Pick<HoldingInput, "instrument" | "expiry">, date: string): boolean {
  return holding.instrument === "option" && !isAbsent(holding.expiry) && holding.expiry < date;
}

/** A symbol's betas, with a record that has none of the listed factors treated as none at all. */
export function betasOf(
  table: BetaTable,
  symbol: string,
  factorKeys: readonly string[],
): Readonly<Record<string, SymbolFactorBeta>> | undefined {
  const betas = table.get(symbol);
  return factorKeys.length > 0 && hasNoBetas(betas, factorKeys) ? undefined : betas;
}

function usableClose(closes: ReadonlyMap<string, number>, symbol: string): { close: number } | { detail: string } {
  const close = closes.get(symbol);
  if (close === undefined) return { detail: `no close for ${symbol} on the date` };
  if (!Number.isFinite(close) || close <= 0)
    return { detail: `close of ${symbol} is not a positive finite number: ${close}` };
  return { close };
}

function valuePosition(
  h: HoldingInput,
  date: string,
  closes: ReadonlyMap<string, number>,
  riskFreeRate: number,
): PositionValuation {
  const isOption = h.instrument === "option";
  const betaSymbol = betaSymbolOf(h);
  const base: PositionValuation = {
    positionId: h.id,
    symbol: h.symbol,
    betaSymbol,
    instrument: h.instrument,
    status: "valued",
    price: null,
    marketValue: null,
    premiumValue: null,
    delta: null,
    deltaSource: null,
    weight: null,
    detail: null,
  };
  if (h.instrument === "private") return { ...base, status: "private", detail: "private position: no public returns" };
  if (isExpiredOn(h, date))
    return { ...base, status: "expired", detail: `the option expired on ${h.expiry as string}` };
  const priced = usableClose(closes, betaSymbol);
  if ("detail" in priced) return { ...base, status: "no_price", detail: priced.detail };
  const price = priced.close;
  if (!isOption) return { ...base, price, marketValue: h.quantity * price, delta: 1, deltaSource: "unit" };

  // Options: validated above, so type, strike and expiry are present.
  const units = h.quantity * (h.multiplier ?? DEFAULT_OPTION_MULTIPLIER);
  const valued: PositionValuation = {
    ...base,
    price,
    marketValue: units * price,
    premiumValue: isAbsent(h.premium) ? null : units * h.premium,
  };
  const optionType = h.optionType as OptionType;
  if (!isAbsent(h.delta)) {
    if ((optionType === "call" && h.delta < 0) || (optionType === "put" && h.delta > 0)) {
      return { ...valued, status: "invalid_delta", detail: `a ${optionType}'s delta cannot be ${h.delta}` };
    }
    return { ...valued, delta: h.delta, deltaSource: "given" };
  }
  if (!isAbsent(h.impliedVol)) {
    const delta = blackScholesDelta({
      optionType,
      spot: price,
      strike: h.strike as number,
      years: yearFraction(date, h.expiry as string),
      volatility: h.impliedVol,
      riskFreeRate,
    });
    return { ...valued, delta, deltaSource: "black_scholes" };
  }
  return { ...valued, status: "no_delta", detail: "option has neither a delta nor an implied volatility" };
}

function requireFiniteOutput(name: string, value: number): number {
  return requireFinite(name, value, "portfolio aggregation");
}

/** The portfolio's factor exposures on `input.date` (see the header for every definition). */
export function aggregatePortfolio(input: AggregationInput): PortfolioAggregation {
  const { date, cash, closes, factors } = input;
  const riskFreeRate = input.riskFreeRate ?? DEFAULT_RISK_FREE_RATE;
  if (!isIsoDate(date)) throw new RangeError(`date must be an ISO date (YYYY-MM-DD), got ${JSON.stringify(date)}`);
  if (!Number.isFinite(cash)) throw new RangeError(`cash must be finite, got ${cash}`);
  if (!Number.isFinite(riskFreeRate)) throw new RangeError(`riskFreeRate must be finite, got ${riskFreeRate}`);
  const factorKeys = factors.map((f) => f.key);
  if (new Set(factorKeys).size !== factorKeys.length) throw new RangeError("factor keys must be unique");
  const issues = validateHoldings(input.holdings);
  if (issues.length > 0) throw new HoldingValidationError(issues);

  const positions = input.holdings
    .filter((h) => isHeldOn(h, date))
    .map((h) => valuePosition(h, date, closes, riskFreeRate));

  let equity = cash;
  let gross = 0;
  let net = 0;
  let optionsWithoutPremium = 0;
  for (const p of positions) {
    if (p.marketValue === null) continue;
    gross += Math.abs(p.marketValue);
    net += p.marketValue;
    if (p.instrument === "option") {
      if (p.premiumValue === null) optionsWithoutPremium++;
      else equity += p.premiumValue;
    } else {
      equity += p.marketValue;
    }
  }
  requireFiniteOutput("equity", equity);
  requireFiniteOutput("gross", gross);
  requireFiniteOutput("net", net);
  const weightsAvailable = equity > 0;
  if (weightsAvailable) {
    for (const p of positions)
      if (p.marketValue !== null) p.weight = requireFiniteOutput("weight", p.marketValue / equity);
  }

  const betasBySymbol = new Map<string, Readonly<Record<string, SymbolFactorBeta>> | undefined>();
  const symbolCoverage = new Map<string, SymbolCoverage & { positionIds: string[] }>();
  const excluded: PositionExcluded[] = [];
  for (const p of positions) {
    if (p.status === "private") continue;
    if (p.status === "expired") {
      // Outside equity, gross and every exposure; its underlying is not a symbol of the aggregation.
      excluded.push({ position_id: p.positionId, symbol: p.symbol, reason: "expired", detail: p.detail ?? "" });
      continue;
    }
    if (!betasBySymbol.has(p.betaSymbol))
      betasBySymbol.set(p.betaSymbol, betasOf(input.betas, p.betaSymbol, factorKeys));
    const coverage = symbolCoverage.get(p.betaSymbol) ?? {
      symbol: p.betaSymbol,
      positionIds: [],
      priced: p.status !== "no_price",
      betas: betasBySymbol.get(p.betaSymbol),
      ...(p.status === "no_price" && p.detail !== null ? { priceDetail: p.detail } : {}),
    };
    coverage.positionIds.push(p.positionId);
    symbolCoverage.set(p.betaSymbol, coverage);
    if (p.status === "no_price" || p.status === "no_delta" || p.status === "invalid_delta") {
      excluded.push({ position_id: p.positionId, symbol: p.symbol, reason: p.status, detail: p.detail ?? "" });
    }
  }
  const publicHeld = positions.filter((p) => p.status !== "private").length;

  const exposures: FactorExposure[] = factors.map((factor) => {
    let used = 0;
    let exposure = 0;
    let exposureDollar = 0;
    let coveredGross = 0;
    let rSquaredWeighted = 0;
    let rSquaredWeight = 0;
    for (const p of positions) {
      if (p.marketValue === null || p.delta === null) continue;
      const lookup = lookUpBeta(betasBySymbol.get(p.betaSymbol), factor.key);
      if (!("estimate" in lookup)) continue;
      const beta = lookup.estimate.beta;
      used++;
      exposureDollar += p.marketValue * p.delta * beta;
      if (p.weight !== null) exposure += p.weight * p.delta * beta;
      coveredGross += Math.abs(p.marketValue);
      const rSquared = lookup.estimate.rSquared;
      if (rSquared !== null) {
        const size = Math.abs(p.marketValue * p.delta);
        rSquaredWeighted += size * rSquared;
        rSquaredWeight += size;
      }
    }
    return {
      factorId: factor.id,
      factorKey: factor.key,
      exposure: used > 0 && weightsAvailable ? requireFiniteOutput(`exposure of ${factor.key}`, exposure) : null,
      exposureDollar: used > 0 ? requireFiniteOutput(`exposure_dollar of ${factor.key}`, exposureDollar) : null,
      coverage: gross > 0 ? Math.min(1, coveredGross / gross) : null,
      rSquared:
        rSquaredWeight > 0
          ? Math.min(
              1,
              Math.max(0, requireFiniteOutput(`r_squared of ${factor.key}`, rSquaredWeighted / rSquaredWeight)),
            )
          : null,
      positionsUsed: used,
      positionsTotal: publicHeld,
    };
  });

  const dataQuality = buildDataQuality({
    date,
    factors,
    symbols: [...symbolCoverage.values()],
    positionsTotal: positions.length,
    positionsPrivate: positions.length - publicHeld,
    positionsValued: positions.filter((p) => p.marketValue !== null).length,
    positionsExcluded: excluded,
    optionsWithoutPremium,
    equity,
    gross,
    net,
  });

  return { date, cash, equity, gross, net, weightsAvailable, exposures, positions, dataQuality };
}

/** The aggregation's exposures by factor key. */
export function exposuresByKey(aggregation: Pick<PortfolioAggregation, "exposures">): Map<string, FactorExposure> {
  return new Map(aggregation.exposures.map((e) => [e.factorKey, e]));
}
