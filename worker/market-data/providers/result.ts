// What every provider shares: checking the request, collecting one outcome per symbol (so the
// "rows or a failure for every symbol" contract of `../provider.ts` holds by construction), and
// reading settings by name from a Worker env or process.env.
import { parseIsoDate, parseSymbol } from "../import-fields.ts";
import type { DailyClosesRequest, ProviderFailure, ProviderPrice, ProviderResult } from "../provider.ts";

/** The request's date range, checked; a bad range is the caller's bug, not a provider failure. */
export function checkRange(request: DailyClosesRequest): { from: string; to: string } {
  const from = parseIsoDate(request.from, "from");
  const to = parseIsoDate(request.to, "to");
  if (!from.ok) throw new RangeError(`market data request: ${from.reason}`);
  if (!to.ok) throw new RangeError(`market data request: ${to.reason}`);
  if (from.value > to.value) throw new RangeError(`market data request: from ${from.value} is after to ${to.value}`);
  return { from: from.value, to: to.value };
}

type Outcome = { kind: "rows"; rows: ProviderPrice[] } | { kind: "failure"; failure: ProviderFailure };

/**
 * One outcome per requested symbol. Symbols are normalized like the imports do (trimmed, upper
 * case) and deduplicated; an invalid ticker is failed at once (`invalid_symbol`) and left out of
 * `symbols`, so providers only ever request valid ones.
 */
export class ResultCollector {
  /** The valid, distinct symbols still to serve, in request order. */
  readonly symbols: string[] = [];
  readonly #order: string[] = [];
  readonly #requested = new Set<string>();
  readonly #outcomes = new Map<string, Outcome>();

  constructor(requested: readonly string[]) {
    for (const raw of requested) {
      const parsed = parseSymbol(raw);
      const key = parsed.ok ? parsed.value : raw;
      if (this.#requested.has(key)) continue;
      this.#requested.add(key);
      this.#order.push(key);
      if (parsed.ok) this.symbols.push(key);
      else
        this.#outcomes.set(key, {
          kind: "failure",
          failure: { symbol: raw, reason: "invalid_symbol", detail: parsed.reason },
        });
    }
  }

  /** The symbol's rows; none is a `no_data` failure with `emptyDetail` as its detail. */
  succeed(symbol: string, rows: ProviderPrice[], emptyDetail: string): void {
    if (rows.length === 0) this.fail({ symbol, reason: "no_data", detail: emptyDetail });
    else this.#set(symbol, { kind: "rows", rows });
  }

  fail(failure: ProviderFailure): void {
    this.#set(failure.symbol, { kind: "failure", failure });
  }

  has(symbol: string): boolean {
    return this.#outcomes.has(symbol);
  }

  /** The result; a symbol left without an outcome is a bug in the provider and throws. */
  finish(): ProviderResult {
    const prices: ProviderPrice[] = [];
    const failures: ProviderFailure[] = [];
    for (const symbol of this.#order) {
      const outcome = this.#outcomes.get(symbol);
      if (!outcome) throw new Error(`market data provider left ${symbol} without rows or a failure`);
      if (outcome.kind === "rows") prices.push(...outcome.rows);
      else failures.push(outcome.failure);
    }
    return { prices, failures };
  }

  #set(symbol: string, outcome: Outcome): void {
    if (!this.#requested.has(symbol))
      throw new Error(`market data provider answered ${symbol}, which was not requested`);
    if (this.#outcomes.has(symbol)) throw new Error(`market data provider answered ${symbol} twice`);
    this.#outcomes.set(symbol, outcome);
  }
}

/** A setting by name from a Worker env or process.env: trimmed, "" as absent. */
export function readSetting(env: object | undefined, name: string): string | undefined {
  if (env === undefined) return undefined;
  const value: unknown = Reflect.get(env, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new Error(`setting ${name} must be a string, got ${typeof value}`);
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** A positive whole number setting; absent gives `fallback`. */
export function readPositiveInteger(env: object | undefined, name: string, fallback: number): number {
  const raw = readSetting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value <= 0)
    throw new Error(`setting ${name} must be a positive whole number, got "${raw}"`);
  return value;
}
