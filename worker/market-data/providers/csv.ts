// The CSV import as a provider over a file's text (`date,symbol,close[,adj_close,volume]`, the
// format of docs/market-data.md), validated by `validatePriceCsv` exactly as
// `npm run import:prices` validates it. The file is all-or-nothing, as in the import: if any
// line is bad, every requested symbol fails with `invalid_row`, citing the first bad line and
// the number of errors (`validatePriceCsv` lists them all for a caller that wants them). Rows of
// other symbols or outside the requested range are ignored; a requested symbol without a row in
// the range is `no_data`.
import type { DailyClosesRequest, FetchOptions, MarketDataProvider, ProviderContext, ProviderPrice, ProviderResult } from "../provider.ts";
import { validatePriceCsv } from "../price-import.ts";
import type { PriceImportResult, PriceRow } from "../price-import.ts";
import { checkRange, ResultCollector } from "./result.ts";

export const csvSource = "csv";

export interface CsvProviderOptions {
  /** The file's contents. */
  text: string;
  /** Stored as market_prices.source; default "csv". */
  source?: string;
}

export function createCsvProvider(options: CsvProviderOptions): MarketDataProvider {
  const source = options.source ?? csvSource;
  let validated: PriceImportResult | undefined;
  let bySymbol: Map<string, PriceRow[]> | undefined;

  return {
    name: source,
    async fetchDailyCloses(request: DailyClosesRequest, fetchOptions: FetchOptions = {}): Promise<ProviderResult> {
      fetchOptions.signal?.throwIfAborted();
      const { from, to } = checkRange(request);
      const collector = new ResultCollector(request.symbols);
      validated ??= validatePriceCsv(options.text);

      if (!validated.ok) {
        const [first] = validated.errors;
        const count = validated.errors.length;
        const cited = first ? `line ${first.line}: ${first.column ? `${first.column}: ` : ""}${first.reason}` : "no detail";
        for (const symbol of collector.symbols) {
          collector.fail({
            symbol,
            reason: "invalid_row",
            detail: `the price file is rejected whole (${count} error${count === 1 ? "" : "s"}); first: ${cited}`,
            ...(first ? { line: first.line } : {}),
          });
        }
        return collector.finish();
      }

      if (!bySymbol) {
        bySymbol = new Map();
        for (const row of validated.rows) {
          let rows = bySymbol.get(row.symbol);
          if (!rows) bySymbol.set(row.symbol, (rows = []));
          rows.push(row);
        }
        // The file's order is free; providers answer each symbol's dates ascending.
        for (const rows of bySymbol.values()) rows.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
      }
      for (const symbol of collector.symbols) {
        const rows: ProviderPrice[] = (bySymbol.get(symbol) ?? [])
          .filter((row) => row.date >= from && row.date <= to)
          .map((row) => ({ ...row, source }));
        collector.succeed(symbol, rows, bySymbol.has(symbol) ? `the price file has no row for ${symbol} from ${from} to ${to}` : `the price file has no row for ${symbol}`);
      }
      return collector.finish();
    },
  };
}

/** From configuration: the file's text comes with the call (`context.csvText`), not from env. */
export function csvProviderFromContext(context: ProviderContext): MarketDataProvider {
  if (context.csvText === undefined) throw new Error('market data provider "csv" needs the file\'s text (csvText)');
  return createCsvProvider({ text: context.csvText });
}
