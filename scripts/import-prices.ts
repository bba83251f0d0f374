// `npm run import:prices -- FILE.csv [--max-daily-move FACTOR]`: imports daily closes
// (date,symbol,close[,adj_close,volume]) into the database TURSO_DATABASE_URL points at (the
// local libSQL server by default). A file with any bad row is reported line by line and nothing
// is written (exit code 1); re-importing a file changes nothing. A close moving by more than a
// factor of 5 between a symbol's consecutive rows is a bad row; `--max-daily-move` changes the
// factor (`Infinity` turns the check off), e.g. for a file with a 10:1 split in its closes.
import { writePrices } from "../worker/market-data/import-writer.ts";
import { parseMaxDailyMove, validatePriceCsv } from "../worker/market-data/price-import.ts";
import { runImportCommand, takeFlag } from "./import-cli.ts";

const usage =
  "usage: npm run import:prices -- FILE.csv [--max-daily-move FACTOR]   (columns: " +
  "date,symbol,close[,adj_close,volume]; FACTOR > 1, default 5, Infinity = no check)";
const flag = takeFlag(process.argv.slice(2), "--max-daily-move", parseMaxDailyMove);

if (!flag.ok) {
  console.error(flag.reason);
  console.error(usage);
  process.exitCode = 1;
} else {
  process.exitCode = await runImportCommand(
    {
      usage,
      validate: (text) => validatePriceCsv(text, { maxDailyMove: flag.value }),
      async write(db, valid) {
        const summary = await writePrices(db, valid.rows, { source: "csv" });
        // The file is the source of truth: say which closes of another source (a provider's, the demo's) it replaced.
        const { replaced, examples } = summary.conflicts;
        const replacedNote =
          replaced === 0
            ? ""
            : `; replaced ${replaced} close(s) from another source, e.g. ${examples
                .slice(0, 3)
                .map(
                  (example) =>
                    `${example.symbol} ${example.date} ${example.storedClose} ` +
                    `(${example.storedSource}) → ${example.close}`,
                )
                .join(", ")}`;
        return (
          `${summary.rows} price(s): ${summary.inserted} ` +
          `inserted, ${summary.updated} updated, ${summary.unchanged} unchanged; ` +
          `${summary.symbolsRegistered} new symbol(s), ${summary.symbolsWidened} with a wider date range${replacedNote}`
        );
      },
    },
    flag.rest,
  );
}
