// The synthetic market as a provider: the demo default. It serves the closes of one fixed
// market (a seed, a number of equities and a window), exactly the rows the demo seed writes for
// the same options: close, adjusted close = close (synthetic prices have no splits or
// dividends), volume, source "synthetic".
//
// The window is part of the market, not of the request: prices compound from the window's
// first day and the late-listing and delisting gaps sit at fractions of its calendar, so
// generating a longer window would change earlier closes of some symbols. The provider
// therefore never extends the market; dates outside its window have no closes, and a symbol
// without a close in the requested range is a `no_data` failure that says which window the
// market covers. Configured by name (see `syntheticProviderFromContext`), it is the demo market
// ending on SYNTHETIC_MARKET_END_DATE, by default the last weekday on or before today, which is
// what `scripts/seed-demo.ts` writes when it seeds on the same day. SYNTHETIC_MARKET_EQUITIES and
// SYNTHETIC_MARKET_LOOKBACK_DAYS size a bigger market (the batch benchmark's 3,000 symbols).
import { addDays } from "../../dates.ts";
import { demoMarket, demoMarketOptions, lastWeekday } from "../demo-market.ts";
import { parseIsoDate } from "../import-fields.ts";
import type {
  DailyClosesRequest,
  FetchOptions,
  MarketDataProvider,
  ProviderContext,
  ProviderPrice,
  ProviderResult,
} from "../provider.ts";
import { generateSyntheticMarket } from "../synthetic.ts";
import type { SyntheticMarket, SyntheticMarketOptions } from "../synthetic.ts";
import { checkRange, ResultCollector, readPositiveInteger, readSetting } from "./result.ts";

export const syntheticSource = "synthetic";

export interface SyntheticProviderOptions {
  /** The market to serve: generated once, on the first call. */
  market: SyntheticMarketOptions;
}

export function createSyntheticProvider(options: SyntheticProviderOptions): MarketDataProvider {
  let market: SyntheticMarket | undefined;
  let slots: Map<string, number> | undefined;
  const load = () => {
    // `prices` rows are not needed: `series` holds every close and volume.
    market ??= generateSyntheticMarket({ ...options.market, priceRows: false });
    slots ??= new Map(market.instruments.map((instrument, slot) => [instrument.symbol, slot]));
    return { market, slots };
  };

  return {
    name: syntheticSource,
    onlyOwnInstruments: true,
    async fetchDailyCloses(request: DailyClosesRequest, fetchOptions: FetchOptions = {}): Promise<ProviderResult> {
      fetchOptions.signal?.throwIfAborted();
      const { from, to } = checkRange(request);
      const collector = new ResultCollector(request.symbols);
      const { market, slots } = load();
      const { calendar, series } = market;
      const first = calendar[0];
      const last = calendar.at(-1);
      const window = first === undefined || last === undefined ? "no dates" : `${first} to ${last}`;
      // The calendar is sorted, so the range is one slice of day indexes.
      const start = firstIndexWhere(calendar, (date) => date >= from);
      const end = firstIndexWhere(calendar, (date) => date > to);

      for (const symbol of collector.symbols) {
        const slot = slots.get(symbol);
        if (slot === undefined) {
          collector.fail({
            symbol,
            reason: "no_data",
            detail:
              `${symbol} is not in the synthetic market ` +
              `(seed ${options.market.seed}, ${options.market.equities} equities)`,
          });
          continue;
        }
        const rows: ProviderPrice[] = [];
        for (let t = start; t < end; t++) {
          const close = series.closes[slot * series.days + t]!;
          if (Number.isNaN(close)) continue;
          rows.push({
            symbol,
            date: calendar[t]!,
            close,
            adjClose: close,
            volume: series.volumes[slot * series.days + t]!,
            source: syntheticSource,
            // No response text to point into: the row's position in the market's calendar.
            line: t + 1,
          });
        }
        collector.succeed(
          symbol,
          rows,
          `the synthetic market has no close for ${symbol} from ${from} to ${to} (it covers ${window})`,
        );
      }
      return collector.finish();
    },
  };
}

/**
 * From configuration: the demo market ending on SYNTHETIC_MARKET_END_DATE (YYYY-MM-DD), by
 * default the last weekday on or before `context.now()`.
 */
export function syntheticProviderFromContext(context: ProviderContext): MarketDataProvider {
  const configured = readSetting(context.env, "SYNTHETIC_MARKET_END_DATE");
  let endDate: string;
  if (configured === undefined) {
    endDate = lastWeekday((context.now ?? (() => new Date()))());
  } else {
    const parsed = parseIsoDate(configured, "SYNTHETIC_MARKET_END_DATE");
    if (!parsed.ok) throw new Error(`setting ${parsed.reason}`);
    endDate = parsed.value;
  }
  const demo = demoMarketOptions(endDate);
  // A larger or longer market than the demo's (the batch benchmark's 3,000 symbols): the seed
  // writer and the Worker must agree on these, like on the end date.
  const equities = readPositiveInteger(context.env, "SYNTHETIC_MARKET_EQUITIES", demo.equities);
  const lookbackDays = readPositiveInteger(context.env, "SYNTHETIC_MARKET_LOOKBACK_DAYS", demoMarket.lookbackDays);
  return createSyntheticProvider({ market: { ...demo, equities, startDate: addDays(endDate, -lookbackDays) } });
}

/** The first index of sorted `dates` where `test` holds (it must hold for all after it). */
function firstIndexWhere(dates: readonly string[], test: (date: string) => boolean): number {
  let low = 0;
  let high = dates.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (test(dates[mid]!)) high = mid;
    else low = mid + 1;
  }
  return low;
}
