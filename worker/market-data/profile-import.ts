// Validation of a company profiles CSV file:
//   symbol,company_name,sector,industry,market_cap,enterprise_value,pe_ratio,ps_ratio,pb_ratio,as_of
// Only `symbol` and `as_of` are required; columns in any order. A column the file does not
// have is "not provided" (the writer leaves the stored value alone); an empty cell is
// "missing" (stored as NULL, never 0). One profile per symbol per file.
import {
  parseIsoDate,
  parseOptionalNumber,
  parseOptionalPositive,
  parseOptionalText,
  parseSymbol,
  readTable,
  sortErrors,
} from "./import-fields.ts";
import type { CellResult, ImportError } from "./import-fields.ts";

export type { ImportError };

export const profileColumns = [
  "symbol",
  "company_name",
  "sector",
  "industry",
  "market_cap",
  "enterprise_value",
  "pe_ratio",
  "ps_ratio",
  "pb_ratio",
  "as_of",
] as const;
export type ProfileColumn = (typeof profileColumns)[number];

/** The optional columns, i.e. the fields a file may or may not provide. */
export const profileFields = [
  "company_name",
  "sector",
  "industry",
  "market_cap",
  "enterprise_value",
  "pe_ratio",
  "ps_ratio",
  "pb_ratio",
] as const;
export type ProfileField = (typeof profileFields)[number];

export interface ProfileRow {
  symbol: string;
  asOf: string;
  /** Values of the provided fields (null = missing); fields the file lacks are absent. */
  values: Partial<Record<ProfileField, string | number | null>>;
  line: number;
}

export type ProfileImportResult =
  | {
      ok: true;
      rows: ProfileRow[];
      /** The optional fields the file provides (its header's columns besides symbol and as_of). */
      fields: ProfileField[];
      duplicateLines: number[];
    }
  | { ok: false; errors: ImportError[] };

const fieldParsers: Record<ProfileField, (raw: string) => CellResult<string | number | null>> = {
  company_name: (raw) => parseOptionalText(raw, "company_name"),
  sector: (raw) => parseOptionalText(raw, "sector", 100),
  industry: (raw) => parseOptionalText(raw, "industry", 100),
  market_cap: (raw) => parseOptionalPositive(raw, "market_cap"),
  // Enterprise value is negative for companies holding more cash than debt and equity value.
  enterprise_value: (raw) => parseOptionalNumber(raw, "enterprise_value"),
  // Providers differ on loss-makers (negative or empty P/E); both are taken as given.
  pe_ratio: (raw) => parseOptionalNumber(raw, "pe_ratio"),
  ps_ratio: (raw) => parseOptionalNumber(raw, "ps_ratio"),
  pb_ratio: (raw) => parseOptionalNumber(raw, "pb_ratio"),
};

export function validateProfileCsv(text: string): ProfileImportResult {
  const table = readTable(text, { columns: profileColumns, required: ["symbol", "as_of"] });
  const errors = [...table.errors];
  const fields = profileFields.filter((field) => table.columns.includes(field));
  const rows: ProfileRow[] = [];
  const duplicateLines: number[] = [];
  const firstBySymbol = new Map<string, ProfileRow>();

  for (const { line, cells } of table.rows) {
    const errorsBefore = errors.length;
    const take = <T>(column: ProfileColumn, result: CellResult<T>): T | undefined => {
      if (result.ok) return result.value;
      errors.push({ line, column, reason: result.reason });
      return undefined;
    };
    const symbol = take("symbol", parseSymbol(cells.symbol ?? ""));
    const asOf = take("as_of", parseIsoDate(cells.as_of ?? "", "as_of"));
    const values: ProfileRow["values"] = {};
    for (const field of fields) {
      const value = take(field, fieldParsers[field](cells[field] ?? ""));
      if (value !== undefined) values[field] = value;
    }
    if (errors.length > errorsBefore || symbol === undefined || asOf === undefined) continue;

    const row: ProfileRow = { symbol, asOf, values, line };
    const earlier = firstBySymbol.get(symbol);
    if (earlier) {
      const differing = [
        ...(earlier.asOf === asOf ? [] : ["as_of"]),
        ...fields.filter((field) => earlier.values[field] !== values[field]),
      ];
      if (differing.length === 0) duplicateLines.push(line);
      else
        errors.push({
          line,
          reason:
            `${symbol} already has a profile on line ${earlier.line} with a different ${differing.join(", ")}; ` +
            "a file holds one profile per symbol",
        });
      continue;
    }
    firstBySymbol.set(symbol, row);
    rows.push(row);
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, rows, fields, duplicateLines };
}
