// `npm run import:positions -- --name NAME [--benchmark SYMBOL] [--cash N] [--replace] FILE.csv`:
// imports a positions CSV into a portfolio through the RUNNING local stack's API (`npm start`):
// creates the portfolio, or uses the caller's own portfolio of that name, then sends the file to
// `POST /api/v1/portfolios/:id/positions/import` (text/csv; all or nothing). The portfolio
// belongs to `--owner` (default the demo analyst `demo` of org `demo-org`, whom the dashboard
// link of `npm start` signs in), through a development token minted like `npm run batch` does
// (API_TOKEN instead when set).
//
// Exit code: 0 imported, 1 refused (every error printed with its line) or any other error
// (the stack not running, an unknown benchmark), 2 bad arguments or an unreadable file.
import { UsageError, usageErrors } from "./batch.ts";
import { reportingStackErrors } from "./local-config.ts";
import { parseArgs } from "node:util";
import type { PortfolioResponse } from "../worker/api/portfolios.ts";
import { ApiClient, ApiRequestError, apiBaseUrl, formatError, userToken } from "./api-client.ts";
import { formatLineProblem, readImportFile } from "./import-cli.ts";

/** The demo analyst (scripts/seed-demo.ts), who owns the seeded portfolios and the dashboard link. */
const defaultOwner = "demo";
const defaultOrg = "demo-org";

export const importPositionsUsage =
  `usage: npm run import:positions -- --name NAME [--benchmark SYMBOL] ` +
  `[--cash N] [--replace] [--owner SUB] [--org ORG] [--url URL] FILE.csv

Creates the portfolio NAME (or uses yours of that name) on the running stack (\`npm start\`) and
imports FILE.csv into it, all or nothing.
  --name       the portfolio's name
  --benchmark  its benchmark when it is created (default SPY; must have prices)
  --cash       its cash balance (default 0)
  --replace    replace the portfolio's positions with the file's (default: add them)
  --owner      who owns it (default ${defaultOwner}, the user the dashboard link of \`npm start\` signs in)
  --org        the owner's organisation (default ${defaultOrg} for ${defaultOwner}, none for another owner)
  --url        the stack's base URL (default http://127.0.0.1:$PORT, PORT default 8787)
FILE.csv: a header row, then one position per line. Columns: symbol, instrument
(stock, etf, option, private), quantity, opened_on (YYYY-MM-DD) are required; cost_basis,
closed_on and the option fields are optional. API_TOKEN, when set, is the token used.
Exit code: 0 imported, 1 refused or error, 2 bad arguments.`;

export interface ImportPositionsCommand {
  file: string;
  name: string;
  benchmark: string | null;
  cash: number | null;
  mode: "append" | "replace";
  owner: string;
  org: string | null;
  baseUrl: string;
}

/** Parses the arguments after `npm run import:positions --`; throws `UsageError` with what is wrong. */
export function parseImportPositionsArgs(args: readonly string[]): ImportPositionsCommand | "help" {
  const parsed = usageErrors(() =>
    parseArgs({
      args: [...args],
      options: {
        name: { type: "string" },
        benchmark: { type: "string" },
        cash: { type: "string" },
        replace: { type: "boolean", default: false },
        owner: { type: "string" },
        org: { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: true,
    }),
  );
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [file, ...otherFiles] = positionals;
  if (file === undefined) throw new UsageError("missing FILE.csv");
  if (otherFiles.length > 0) throw new UsageError(`one file at a time, got ${positionals.join(" ")}`);
  const name = values.name?.trim();
  if (!name) throw new UsageError("--name is required (the portfolio to create or import into)");
  let cash: number | null = null;
  if (values.cash !== undefined) {
    cash = Number(values.cash);
    if (values.cash.trim() === "" || !Number.isFinite(cash))
      throw new UsageError(`--cash must be a number, got ${JSON.stringify(values.cash)}`);
  }
  const benchmark = values.benchmark?.trim().toUpperCase() || null;
  if (values.benchmark !== undefined && !benchmark) throw new UsageError("--benchmark needs a symbol");
  const owner = values.owner?.trim() || defaultOwner;
  if (values.owner !== undefined && values.owner.trim() === "")
    throw new UsageError("--owner needs a user id (a token's sub)");
  if (process.env["API_TOKEN"] && (values.owner !== undefined || values.org !== undefined)) {
    throw new UsageError(
      "--owner and --org choose the development token's user; with API_TOKEN set, its user owns the portfolio",
    );
  }
  const org = values.org !== undefined ? values.org.trim() || null : owner === defaultOwner ? defaultOrg : null;
  return {
    file,
    name,
    benchmark,
    cash,
    mode: values.replace ? "replace" : "append",
    owner,
    org,
    baseUrl: apiBaseUrl(values.url),
  };
}

/** A warning the import may answer with beside what it imported (e.g. a symbol without prices). */
export interface ImportWarning {
  line?: number;
  symbol: string;
  reason: string;
  detail: string;
}

/** The import's answer, as much of it as this script reads. */
interface ImportAnswer {
  mode: "append" | "replace";
  imported: number;
  deleted: number;
  warnings?: unknown;
}

function isWarning(value: unknown): value is ImportWarning {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    (entry["line"] === undefined || typeof entry["line"] === "number") &&
    typeof entry["symbol"] === "string" &&
    typeof entry["reason"] === "string" &&
    typeof entry["detail"] === "string"
  );
}

/** The answer's warnings, one line each: `FILE: line N: warning: SYMBOL: reason — detail`. */
export function formatWarnings(file: string, warnings: unknown): string[] {
  if (!Array.isArray(warnings)) return [];
  return warnings.map((warning: unknown) =>
    isWarning(warning)
      ? formatLineProblem(file, warning.line, `warning: ${warning.symbol}: ${warning.reason} — ${warning.detail}`)
      : `${file}: warning: ${JSON.stringify(warning)}`,
  );
}

/** A refused import's errors, one line each with its line number and field, as the API lists them. */
export function formatRefusal(file: string, error: ApiRequestError): string[] {
  const lines: string[] = [];
  if (Array.isArray(error.details)) {
    for (const detail of error.details as unknown[]) {
      if (typeof detail !== "object" || detail === null) continue;
      const entry = detail as Record<string, unknown>;
      const line = typeof entry["line"] === "number" ? entry["line"] : undefined;
      const field = typeof entry["path"] === "string" && entry["path"] !== "" ? `${entry["path"]}: ` : "";
      lines.push(formatLineProblem(file, line, `${field}${String(entry["message"])}`));
    }
  }
  lines.push(`error: ${error.message} (${error.status} ${error.code})`);
  return lines;
}

interface Target {
  portfolio: PortfolioResponse;
  created: boolean;
  positionsBefore: number;
  /** Cash and benchmark to set on an existing portfolio once the file is imported. */
  changes: { cash?: number; benchmark_symbol?: string };
}

/** The caller's own portfolio of that name, created (with its cash and benchmark) when there is none. */
async function findOrCreatePortfolio(client: ApiClient, command: ImportPositionsCommand): Promise<Target> {
  const { body: list } = await client.get<{ portfolios: PortfolioResponse[] }>("/portfolios");
  // `writable` marks the caller's own portfolios (an org member's are listed read-only).
  const existing = list.portfolios.find((portfolio) => portfolio.writable && portfolio.name === command.name);
  if (!existing) {
    const body = {
      name: command.name,
      ...(command.cash === null ? {} : { cash: command.cash }),
      ...(command.benchmark === null ? {} : { benchmark_symbol: command.benchmark }),
    };
    const { body: portfolio } = await client.post<PortfolioResponse>("/portfolios", body);
    return { portfolio, created: true, positionsBefore: 0, changes: {} };
  }
  const { body: held } = await client.get<{ positions: unknown[] }>(
    `/portfolios/${encodeURIComponent(existing.id)}/positions`,
  );
  const changes = {
    ...(command.cash !== null && command.cash !== existing.cash ? { cash: command.cash } : {}),
    ...(command.benchmark !== null && command.benchmark !== existing.benchmark_symbol
      ? { benchmark_symbol: command.benchmark }
      : {}),
  };
  return { portfolio: existing, created: false, positionsBefore: held.positions.length, changes };
}

function isBenchmarkRefusal(error: unknown): boolean {
  return (
    error instanceof ApiRequestError &&
    Array.isArray(error.details) &&
    (error.details as unknown[]).some(
      (detail) =>
        typeof detail === "object" && detail !== null && (detail as { path?: unknown }).path === "benchmark_symbol",
    )
  );
}

export async function main(args: readonly string[]): Promise<number> {
  let command: ImportPositionsCommand | "help";
  try {
    command = parseImportPositionsArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${importPositionsUsage}`);
    return 2;
  }
  if (command === "help") {
    console.log(importPositionsUsage);
    return 0;
  }
  const text = readImportFile(command.file);
  if (text === null) return 2;

  const client = new ApiClient(command.baseUrl, await userToken(command.owner, command.org, command.baseUrl));
  let target: Target | null = null;
  let importing = false;
  try {
    target = await findOrCreatePortfolio(client, command);
    const { portfolio, created, positionsBefore } = target;
    const portfolioPath = `/portfolios/${encodeURIComponent(portfolio.id)}`;
    console.log(
      created
        ? `created portfolio "${portfolio.name}" (${portfolio.id}) for ${portfolio.owner}: ` +
            `benchmark ${portfolio.benchmark_symbol}, cash ${portfolio.cash}`
        : `using portfolio "${portfolio.name}" (${portfolio.id}) ` +
            `of ${portfolio.owner}: ${positionsBefore} position(s) so far`,
    );
    importing = true;
    const { body: answer } = await client.postText<ImportAnswer>(
      `${portfolioPath}/positions/import?mode=${command.mode}`,
      text,
      "text/csv; charset=utf-8",
    );
    importing = false;
    const replaced =
      answer.mode === "replace"
        ? `, replacing ${answer.deleted} position(s)`
        : positionsBefore > 0
          ? ` beside its ${positionsBefore} earlier one(s) (--replace swaps them instead)`
          : "";
    console.log(
      `imported ${command.file} into "${portfolio.name}": ${answer.imported} position(s) imported${replaced}`,
    );
    const warnings = formatWarnings(command.file, answer.warnings);
    if (warnings.length > 0) {
      console.log(`${warnings.length} warning(s):`);
      for (const line of warnings) console.log(`  ${line}`);
    }
    if (Object.keys(target.changes).length > 0) {
      const { body: updated } = await client.request<PortfolioResponse>("PATCH", portfolioPath, target.changes);
      console.log(`set "${updated.name}": benchmark ${updated.benchmark_symbol}, cash ${updated.cash}`);
    }
    console.log(
      "its exposures show on the dashboard for the dates the batch " +
        "computes (npm run batch -- --from YYYY-MM-DD --to YYYY-MM-DD)",
    );
    return 0;
  } catch (error) {
    if (importing && error instanceof ApiRequestError && target) {
      for (const line of formatRefusal(command.file, error)) console.error(line);
      // All or nothing for the command too: a portfolio it just created for the file goes with it.
      if (target.created) {
        try {
          await client.request("DELETE", `/portfolios/${encodeURIComponent(target.portfolio.id)}`);
          console.error(`nothing was imported; the portfolio "${target.portfolio.name}" created for it was removed`);
        } catch (cleanup) {
          console.error(
            `nothing was imported; the empty portfolio "${target.portfolio.name}" ` +
              `created for it could not be removed: ${formatError(cleanup)}`,
          );
        }
      } else console.error(`nothing was imported into "${target.portfolio.name}"`);
      return 1;
    }
    console.error(formatError(error));
    if (isBenchmarkRefusal(error))
      console.error(
        "a benchmark needs prices: import them first (npm run import:prices -- prices.csv), " +
          "or choose another with --benchmark",
      );
    return 1;
  }
}

if (import.meta.main) process.exitCode = await reportingStackErrors(() => main(process.argv.slice(2)));
