// `npm run import:prices -- FILE.csv`: imports daily closes (date,symbol,close[,adj_close,volume])
// into the database TURSO_DATABASE_URL points at (the local libSQL server by default).
// A file with any bad row is reported line by line and nothing is written (exit code 1);
// re-importing a file changes nothing.
import { writePrices } from "../worker/market-data/import-writer.ts";
import { validatePriceCsv } from "../worker/market-data/price-import.ts";
import { runImportCommand } from "./import-cli.ts";

process.exitCode = await runImportCommand(
  {
    usage: "usage: npm run import:prices -- FILE.csv   (columns: date,symbol,close[,adj_close,volume])",
    validate: validatePriceCsv,
    async write(db, valid) {
      const summary = await writePrices(db, valid.rows, { source: "csv" });
      return (
        `${summary.rows} price(s): ${summary.inserted} inserted, ${summary.updated} updated, ${summary.unchanged} unchanged; ` +
        `${summary.symbolsRegistered} new symbol(s), ${summary.symbolsWidened} with a wider date range`
      );
    },
  },
  process.argv.slice(2),
);
