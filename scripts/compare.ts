// `npm run compare`: the dual-write report (docs/design.md §6) from the RUNNING local stack.
//
//   npm run compare -- --start-date YYYY-MM-DD --end-date YYYY-MM-DD [--portfolio ID] --output report.json [--url URL]
//
// Fetches GET /api/v1/admin/dual-write/report, writes the JSON to --output and prints a summary.
// Exit code: 0 when the recommendation is SAFE_TO_DEPRECATE, 2 otherwise, 1 on any error.
import { reportingStackErrors } from "./local-config.ts";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { DualWriteReport } from "../worker/batch/dual-write-report.ts";
import { ApiClient, apiBaseUrl, formatError } from "./api-client.ts";
import { formatTable, UsageError, usageErrors } from "./batch.ts";

export const compareUsage = `usage:
  npm run compare -- --start-date YYYY-MM-DD --end-date YYYY-MM-DD [--portfolio ID] --output report.json [--url URL]

Writes the dual-write report of the running local stack (\`npm start\`) to --output and prints a summary.
  --portfolio   one portfolio instead of all
  --url         the stack's base URL (default http://127.0.0.1:$PORT, PORT default 8787)
Exit code: 0 SAFE_TO_DEPRECATE, 2 KEEP_DUAL_WRITE, 1 error.`;

export type CompareCommand =
  | { kind: "help" }
  | {
      kind: "compare";
      startDate: string;
      endDate: string;
      portfolioId: string | null;
      output: string;
      baseUrl: string;
    };

const datePattern = /^\d{4}-\d{2}-\d{2}$/;

export function parseCompareArgs(args: readonly string[]): CompareCommand {
  const { values } = usageErrors(() =>
    parseArgs({
      args: [...args],
      options: {
        "start-date": { type: "string" },
        "end-date": { type: "string" },
        portfolio: { type: "string" },
        output: { type: "string", short: "o" },
        url: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }),
  );
  if (values.help) return { kind: "help" };
  const date = (option: "start-date" | "end-date") => {
    const value = values[option];
    if (value === undefined) throw new UsageError(`missing --${option}`);
    if (!datePattern.test(value))
      throw new UsageError(`--${option} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
    return value;
  };
  const startDate = date("start-date");
  const endDate = date("end-date");
  if (startDate > endDate) throw new UsageError(`--start-date (${startDate}) is after --end-date (${endDate})`);
  if (values.output === undefined || values.output === "")
    throw new UsageError("missing --output FILE (where the report's JSON goes)");
  if (values.portfolio !== undefined && values.portfolio.trim() === "")
    throw new UsageError("--portfolio needs a portfolio id");
  return {
    kind: "compare",
    startDate,
    endDate,
    portfolioId: values.portfolio ?? null,
    output: values.output,
    baseUrl: apiBaseUrl(values.url),
  };
}

/** The report request's path and query. */
export function reportPath(command: Extract<CompareCommand, { kind: "compare" }>): string {
  const query = new URLSearchParams({ start_date: command.startDate, end_date: command.endDate });
  if (command.portfolioId !== null) query.set("portfolio_id", command.portfolioId);
  return `/admin/dual-write/report?${query}`;
}

export function compareExitCode(report: Pick<DualWriteReport, "recommendation">): number {
  return report.recommendation === "SAFE_TO_DEPRECATE" ? 0 : 2;
}

function percent(rate: number | null): string {
  return rate === null ? "n/a (nothing compared)" : `${(rate * 100).toFixed(2)}%`;
}

const listedDiscrepancies = 10;

export function formatReportSummary(report: DualWriteReport): string {
  const { overall } = report;
  const scope = report.portfolio_id === null ? "all portfolios" : `portfolio ${report.portfolio_id}`;
  const lines = [
    `dual-write report ${report.start_date}..${report.end_date}, ${scope}`,
    formatTable(
      ["", "comparisons", "matches", "discrepancies"],
      [
        ["position betas", ...counts(overall.by_kind.position_beta)],
        ["portfolio exposures", ...counts(overall.by_kind.portfolio_exposure)],
        ["total", ...counts(overall)],
      ],
      new Set([1, 2, 3]),
    ),
    `missing symbols: ${overall.missing_symbols}`,
    `match rate: ${percent(overall.match_rate)}`,
  ];
  const worstDates = report.dates.filter((date) => date.discrepancies > 0 || date.missing_symbols > 0);
  if (worstDates.length > 0) {
    lines.push(`dates with differences (${worstDates.length} of ${report.dates.length}):`);
    for (const date of worstDates.slice(0, listedDiscrepancies)) {
      lines.push(
        `  ${date.date}: ${date.discrepancies} discrepancies, ${date.missing_symbols} missing, ` +
          `match rate ${percent(date.match_rate)}`,
      );
    }
  }
  if (report.discrepancies.length > 0) {
    lines.push(`first discrepancies:`);
    for (const d of report.discrepancies.slice(0, listedDiscrepancies)) {
      const where =
        d.kind === "position_beta"
          ? `${d.portfolio_id} position ${d.position_id} ${d.symbol}${d.is_option ? " (option)" : ""}`
          : `${d.portfolio_id} portfolio`;
      lines.push(
        `  ${d.date} ${where} ${d.factor_key}: old ${d.old_value}, ` +
          `new ${d.new_value ?? "missing"}, difference ${d.difference ?? "n/a"}`,
      );
    }
  }
  lines.push(`recommendation: ${report.recommendation} (${report.reason})`);
  return lines.join("\n");
}

function counts(c: { comparisons: number; matches: number; discrepancies: number }): string[] {
  return [String(c.comparisons), String(c.matches), String(c.discrepancies)];
}

export async function main(args: readonly string[]): Promise<number> {
  let command: CompareCommand;
  try {
    command = parseCompareArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${compareUsage}`);
    return 1;
  }
  if (command.kind === "help") {
    console.log(compareUsage);
    return 0;
  }
  try {
    const { body: report } = await new ApiClient(command.baseUrl).get<DualWriteReport>(reportPath(command));
    writeFileSync(command.output, `${JSON.stringify(report, null, 2)}\n`);
    console.log(formatReportSummary(report));
    console.log(`report written to ${command.output}`);
    return compareExitCode(report);
  } catch (error) {
    console.error(formatError(error));
    return 1;
  }
}

if (import.meta.main) process.exitCode = await reportingStackErrors(() => main(process.argv.slice(2)));
