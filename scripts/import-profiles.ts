// `npm run import:profiles -- FILE.csv`: imports company profiles
// (symbol,company_name,sector,industry,market_cap,enterprise_value,pe_ratio,ps_ratio,pb_ratio,as_of;
// symbol and as_of required) into the database TURSO_DATABASE_URL points at (the local libSQL
// server by default). A file with any bad row is reported line by line and nothing is written
// (exit code 1); re-importing a file changes nothing.
import { writeProfiles } from "../worker/market-data/import-writer.ts";
import { profileColumns, validateProfileCsv } from "../worker/market-data/profile-import.ts";
import { runImportCommand } from "./import-cli.ts";

process.exitCode = await runImportCommand(
  {
    usage:
      `usage: npm run import:profiles -- FILE.csv   (columns: ${profileColumns.join(",")}; ` +
      `symbol and as_of required)`,
    validate: validateProfileCsv,
    async write(db, valid) {
      const summary = await writeProfiles(db, valid.rows, valid.fields);
      const older = summary.older > 0 ? `, ${summary.older} older than the stored profile (kept the stored one)` : "";
      return (
        `${summary.rows} profile(s): ${summary.inserted} inserted, ${summary.updated} ` +
        `updated, ${summary.unchanged} unchanged${older}; ${summary.symbolsRegistered} new symbol(s)`
      );
    },
  },
  process.argv.slice(2),
);
