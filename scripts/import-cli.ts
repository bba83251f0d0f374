// The command-line shell shared by `npm run import:prices` and `npm run import:profiles`:
// read the file, report every bad row with its line (exit 1, nothing written), otherwise
// write in one transaction to the database target and print the summary. `npm run
// import:positions` shares the file reading and the line-numbered report.
import { createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { readFileSync } from "node:fs";
import type { CellResult, ImportError } from "../worker/market-data/import-fields.ts";
import { databaseTarget, reportingStackErrors } from "./local-config.ts";

export type CsvValidation<Valid> =
  | ({ ok: true; duplicateLines: readonly number[] } & Valid)
  | { ok: false; errors: readonly ImportError[] };

export interface ImportCommand<Valid> {
  usage: string;
  validate(text: string): CsvValidation<Valid>;
  /** Writes the validated file and describes what changed, e.g. "2 price(s): 2 inserted, …". */
  write(db: LibSQLDatabase, valid: Valid): Promise<string>;
}

/** The file's text, or null after saying on stderr why it cannot be read. */
export function readImportFile(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    console.error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** One problem of a file's line, as the import commands print it: `FILE: line N: reason`. */
export function formatLineProblem(file: string, line: number | undefined, reason: string): string {
  return line === undefined ? `${file}: ${reason}` : `${file}: line ${line}: ${reason}`;
}

export type FlagResult<T> = { ok: true; value: T | undefined; rest: string[] } | { ok: false; reason: string };

/**
 * Takes the flag `name` (`--name VALUE` or `--name=VALUE`, anywhere, at most once) out of
 * `args` and parses its value; `rest` is what the command reads as usual. `value` is
 * undefined when the flag is absent. A flag without a value, given twice or with a value
 * `parse` refuses is a reason naming the flag.
 */
export function takeFlag<T>(
  args: readonly string[],
  name: string,
  parse: (raw: string) => CellResult<T>,
): FlagResult<T> {
  const rest: string[] = [];
  let raw: string | undefined;
  const remaining = args.values();
  for (const arg of remaining) {
    let value: string | undefined;
    if (arg === name) {
      // The flag's value is the next argument: taken here, so the loop does not see it.
      value = remaining.next().value;
      if (value === undefined || value.startsWith("--")) return { ok: false, reason: `${name} needs a value` };
    } else if (arg.startsWith(`${name}=`)) {
      value = arg.slice(name.length + 1);
    } else {
      rest.push(arg);
      continue;
    }
    if (raw !== undefined) return { ok: false, reason: `${name} is given twice` };
    raw = value;
  }
  if (raw === undefined) return { ok: true, value: undefined, rest };
  const parsed = parse(raw);
  return parsed.ok ? { ok: true, value: parsed.value, rest } : { ok: false, reason: `${name}: ${parsed.reason}` };
}

export function runImportCommand<Valid>(command: ImportCommand<Valid>, args: readonly string[]): Promise<number> {
  return reportingStackErrors(() => runImport(command, args));
}

async function runImport<Valid>(command: ImportCommand<Valid>, args: readonly string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    console.error(command.usage);
    return 2;
  }
  const text = readImportFile(file);
  if (text === null) return 2;
  const result = command.validate(text);
  if (!result.ok) {
    for (const error of result.errors) console.error(formatLineProblem(file, error.line, error.reason));
    console.error(`${result.errors.length} error(s) in ${file}; nothing was imported`);
    return 1;
  }
  const target = databaseTarget();
  const client = createClient(
    target.authToken ? { url: target.url, authToken: target.authToken } : { url: target.url },
  );
  try {
    const summary = await command.write(drizzle(client), result);
    const skipped =
      result.duplicateLines.length > 0 ? `, ${result.duplicateLines.length} repeated line(s) skipped` : "";
    console.log(`imported ${file} into ${new URL(target.url).host}: ${summary}${skipped}`);
    return 0;
  } finally {
    client.close();
  }
}
