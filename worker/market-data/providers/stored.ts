// The `stored` provider: fetches nothing. A deployment that brings its own prices (CSV imports,
// the upload API) runs the batch on what is in the database; the market data phase then only
// reports, per symbol, whether the database has a close on the date (and its last close when
// not). It is the default of a clean start: nothing is ever fetched or invented.
import type { DailyClosesRequest, MarketDataProvider, ProviderContext, ProviderResult } from "../provider.ts";
import { checkRange, ResultCollector } from "./result.ts";

export const storedSource = "stored";

export function createStoredProvider(): MarketDataProvider {
  return {
    name: storedSource,
    fetchesNothing: true,
    // Never called by the market data phase (it reads the database instead). Answering every
    // symbol as `no_data` keeps the provider contract for any other caller.
    async fetchDailyCloses(request: DailyClosesRequest): Promise<ProviderResult> {
      checkRange(request);
      const collector = new ResultCollector(request.symbols);
      for (const symbol of collector.symbols) {
        collector.fail({
          symbol,
          reason: "no_data",
          detail: `the stored provider fetches nothing: ${symbol}'s closes come from imports`,
        });
      }
      return collector.finish();
    },
  };
}

export function storedProviderFromContext(_context: ProviderContext): MarketDataProvider {
  return createStoredProvider();
}
