// fast-check generators of whole aggregation inputs: holdings of every kind (priced or not,
// options with a delta, an implied volatility, or neither), closes, betas present, missing
// or absent, and cash — all finite, as the engine's inputs always are.
import fc from "fast-check";
import type { AggregationInput, BetaTable, HoldingInput } from "../../../worker/factors/portfolio.ts";
import type { SymbolFactorBeta } from "../../../worker/factors/types.ts";
import { DATE, estimated, factor, missing } from "./portfolio-fixtures.ts";

export const PROPERTY_FACTORS = [factor("market_beta"), factor("value"), factor("size"), factor("size_spread")];
const SYMBOLS = ["S0", "S1", "S2", "S3", "S4", "S5"];

// Amounts below 1e-6 are 0: subnormal cash or quantities only test the floating-point unit.
const money = (min: number, max: number) =>
  fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => (Math.abs(x) < 1e-6 ? 0 : x));
const date = fc
  .integer({ min: -30, max: 900 })
  .map((offset) => new Date(Date.parse(`${DATE}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10));

type Holding = Omit<HoldingInput, "id">;

const stockLike: fc.Arbitrary<Holding> = fc.record({
  symbol: fc.constantFrom(...SYMBOLS),
  instrument: fc.constantFrom("stock" as const, "etf" as const),
  quantity: money(-1e6, 1e6),
  openedOn: fc.option(date, { nil: null }),
  closedOn: fc.constant(null),
});

const privateHolding: fc.Arbitrary<Holding> = fc.record({
  symbol: fc.constant("PRIVATE"),
  instrument: fc.constant("private" as const),
  quantity: money(-1e6, 1e6),
});

const option: fc.Arbitrary<Holding> = fc
  .record({
    underlyingSymbol: fc.constantFrom(...SYMBOLS),
    optionType: fc.constantFrom("call" as const, "put" as const),
    quantity: money(-1e4, 1e4),
    strike: money(0.01, 5_000),
    expiry: date,
    multiplier: fc.option(fc.constantFrom(1, 10, 100), { nil: null }),
    deltaSource: fc.constantFrom("given", "implied", "none"),
    delta: money(0, 1),
    impliedVol: money(0.001, 5),
    premium: fc.option(money(0, 500), { nil: null }),
  })
  .map(({ deltaSource, delta, optionType, impliedVol, ...o }) => ({
    ...o,
    optionType,
    symbol: `${o.underlyingSymbol}-${optionType}`,
    instrument: "option" as const,
    delta: deltaSource === "given" ? (optionType === "call" ? delta : -delta) : null,
    impliedVol: deltaSource === "implied" ? impliedVol : null,
  }));

const holdingsList = (prefix: string) =>
  fc
    .array(
      fc.oneof(
        { arbitrary: stockLike, weight: 4 },
        { arbitrary: option, weight: 2 },
        { arbitrary: privateHolding, weight: 1 },
      ),
      { maxLength: 10 },
    )
    .map((list): HoldingInput[] => list.map((h, i) => ({ ...h, id: `${prefix}${i}` })));

const closes = fc
  .tuple(...SYMBOLS.map(() => fc.option(money(0.01, 5_000), { nil: undefined, freq: 6 })))
  .map(
    (values) =>
      new Map(SYMBOLS.flatMap((s, i) => (values[i] === undefined ? [] : [[s, values[i]] as [string, number]]))),
  );

const betaEntry = (key: string): fc.Arbitrary<SymbolFactorBeta | undefined> =>
  fc.oneof(
    { arbitrary: money(-5, 5).map((b) => estimated(key, b)), weight: 6 },
    { arbitrary: fc.constant(missing(key, "insufficient_data", "10 observations, 60 required")), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );

const symbolBetas = fc
  .tuple(...PROPERTY_FACTORS.map((f) => betaEntry(f.key)))
  .map((entries) =>
    Object.fromEntries(PROPERTY_FACTORS.flatMap((f, i) => (entries[i] === undefined ? [] : [[f.key, entries[i]]]))),
  );

const betas: fc.Arbitrary<BetaTable> = fc
  .tuple(...SYMBOLS.map(() => fc.option(symbolBetas, { nil: undefined, freq: 8 })))
  .map(
    (records) =>
      new Map(
        SYMBOLS.flatMap((s, i) =>
          records[i] === undefined ? [] : [[s, records[i]] as [string, Record<string, SymbolFactorBeta>]],
        ),
      ),
  );

/** A market (closes and betas) and a portfolio on it. */
export const aggregationInput = (prefix = "p"): fc.Arbitrary<AggregationInput> =>
  fc.record({
    date: fc.constant(DATE),
    holdings: holdingsList(prefix),
    cash: money(-1e7, 1e8),
    closes,
    betas,
    factors: fc.constant(PROPERTY_FACTORS),
  });

/** Two portfolios (ids `a…` and `b…`) on one market. */
export const twoPortfolios = fc
  .tuple(aggregationInput("a"), holdingsList("b"), money(-1e7, 1e8))
  .map(([a, holdings, cash]) => ({ a, b: { ...a, holdings, cash } }));

/** Every number anywhere in a value, with its path. */
export function numbersIn(value: unknown, path = "$"): [string, number][] {
  if (typeof value === "number") return [[path, value]];
  if (value === null || typeof value !== "object") return [];
  if (value instanceof Map) return [...value.entries()].flatMap(([k, v]) => numbersIn(v, `${path}.${String(k)}`));
  return Object.entries(value).flatMap(([k, v]) => numbersIn(v, `${path}.${k}`));
}

/** |a − b| within `relative` of the scale (the larger magnitude, or `floor`). */
export function close(a: number, b: number, relative: number, floor = 1e-9): boolean {
  return Math.abs(a - b) <= relative * Math.max(Math.abs(a), Math.abs(b), floor);
}
