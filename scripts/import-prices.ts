// `npm run import:prices -- FILE.csv`: imports daily closes (date,symbol,close[,adj_close,volume])
// into the database TURSO_DATABASE_URL points at (the local libSQL server by default).
// A file with any bad row is reported line by line and nothing is written (exit code 1);
// re-importing a file changes nothing.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { readFileSync } from "node:fs";
import { writePrices } from "../worker/market-data/import-writer.ts";
import { validatePriceCsv } from "../worker/market-data/price-import.ts";
import { loadLocalSecrets, localDatabaseUrl } from "./local-config.ts";

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error("usage: npm run import:prices -- FILE.csv   (columns: date,symbol,close[,adj_close,volume])");
  process.exit(2);
}

let text: string;
try {
  text = readFileSync(file, "utf8");
} catch (error) {
  console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

const result = validatePriceCsv(text);
if (!result.ok) {
  for (const error of result.errors) console.error(`${file}: line ${error.line}: ${error.reason}`);
  console.error(`${result.errors.length} error(s) in ${file}; nothing was imported`);
  process.exit(1);
}

const url = process.env["TURSO_DATABASE_URL"] ?? localDatabaseUrl();
const authToken = process.env["TURSO_DATABASE_URL"] ? process.env["TURSO_AUTH_TOKEN"] : loadLocalSecrets().libsqlAuthToken;
const client = createClient(authToken ? { url, authToken } : { url });
try {
  const summary = await writePrices(drizzle(client), result.rows, { source: "csv" });
  const skipped = result.duplicateLines.length > 0 ? `, ${result.duplicateLines.length} repeated line(s) skipped` : "";
  console.log(
    `imported ${file} into ${new URL(url).host}: ${summary.rows} price(s): ${summary.inserted} inserted, ${summary.updated} updated, ` +
      `${summary.unchanged} unchanged${skipped}; ${summary.symbolsRegistered} new symbol(s), ${summary.symbolsWidened} with a wider date range`,
  );
} finally {
  client.close();
}
