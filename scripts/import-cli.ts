// The command-line shell shared by `npm run import:prices` and `npm run import:profiles`:
// read the file, report every bad row with its line (exit 1, nothing written), otherwise
// write in one transaction to the database target and print the summary.
import { createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { readFileSync } from "node:fs";
import type { ImportError } from "../worker/market-data/import-fields.ts";
import { databaseTarget } from "./local-config.ts";

export type CsvValidation<Valid> = ({ ok: true; duplicateLines: readonly number[] } & Valid) | { ok: false; errors: readonly ImportError[] };

export interface ImportCommand<Valid> {
  usage: string;
  validate(text: string): CsvValidation<Valid>;
  /** Writes the validated file and describes what changed, e.g. "2 price(s): 2 inserted, …". */
  write(db: LibSQLDatabase, valid: Valid): Promise<string>;
}

export async function runImportCommand<Valid>(command: ImportCommand<Valid>, args: readonly string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    console.error(command.usage);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const result = command.validate(text);
  if (!result.ok) {
    for (const error of result.errors) console.error(`${file}: line ${error.line}: ${error.reason}`);
    console.error(`${result.errors.length} error(s) in ${file}; nothing was imported`);
    return 1;
  }
  const target = databaseTarget();
  const client = createClient(target.authToken ? { url: target.url, authToken: target.authToken } : { url: target.url });
  try {
    const summary = await command.write(drizzle(client), result);
    const skipped = result.duplicateLines.length > 0 ? `, ${result.duplicateLines.length} repeated line(s) skipped` : "";
    console.log(`imported ${file} into ${new URL(target.url).host}: ${summary}${skipped}`);
    return 0;
  } finally {
    client.close();
  }
}
