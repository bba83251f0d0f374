// The universe table's state as a URL query (so links and reloads keep search, sort, filters and
// page), the API query it stands for, and the small pure rules around it: which columns sort,
// which way a first click sorts, the pager's numbers, the CSV export's pages, and the words the
// universe and symbol pages show for the API's codes. No DOM and no fetch here: the pages pass
// their I/O in.
import { reasonLabel } from "./data-quality.ts";

/** Factor columns of `GET /data/symbols`, in the API's order (`factor_<key>` of GET /factors). */
export const factorColumns = [
  "factor_market_beta",
  "factor_interest_rate_beta",
  "factor_value",
  "factor_growth",
  "factor_momentum",
  "factor_quality",
  "factor_size",
  "factor_low_volatility",
  "factor_growth_value_spread",
  "factor_momentum_spread",
  "factor_size_spread",
  "factor_quality_spread",
] as const;
export type FactorColumn = (typeof factorColumns)[number];

/** The API's sort whitelist (worker/api/symbols.ts `symbolSortColumns`). */
export const sortColumns = [
  "symbol",
  "sector",
  "market_cap",
  "pe_ratio",
  "ps_ratio",
  "return_1d",
  "return_ytd",
  ...factorColumns,
] as const;
export type SortColumn = (typeof sortColumns)[number];
export type SortOrder = "asc" | "desc";

export const pageSizes = [25, 50, 100, 250, 500] as const;
export const defaultPageSize = 50;
/** The API's cap on `limit` (worker/api/symbols.ts `maxSymbolsLimit`). */
export const maxApiLimit = 500;

export interface UniverseState {
  /** The search: a symbol prefix or a fragment of a company name (the API's `q`); null = none. */
  q: string | null;
  sortBy: SortColumn;
  sortOrder: SortOrder;
  sector: string | null;
  /** Dollars. */
  minMarketCap: number | null;
  maxPeRatio: number | null;
  pageSize: number;
  /** 1-based. */
  page: number;
  /** A pinned metrics date; null = the latest. */
  date: string | null;
}

export const defaultUniverseState: UniverseState = {
  q: null,
  sortBy: "symbol",
  sortOrder: "asc",
  sector: null,
  minMarketCap: null,
  maxPeRatio: null,
  pageSize: defaultPageSize,
  page: 1,
  date: null,
};

const isSortColumn = (value: string | undefined): value is SortColumn =>
  (sortColumns as readonly string[]).includes(value ?? "");
const isoDatePattern = /^\d{4}-\d{2}-\d{2}$/;

/** The API's longest `q` (worker/api/symbols.ts). */
export const maxSearchLength = 40;

/** What a query value may not hold (worker/http/control-characters.ts, "line"): C0 and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
const controlCharacters = /[\u0000-\u001f\u007f]/g;

/**
 * A typed search as the API's `q`: trimmed, without control characters (the API refuses them)
 * and cut to its 40 characters, so a pasted line never turns the table into a 400; null when blank.
 */
export function searchText(text: string): string | null {
  const cleaned = text.replace(controlCharacters, " ").trim().slice(0, maxSearchLength).trim();
  return cleaned === "" ? null : cleaned;
}

/** A decimal as typed (`1.5`, `-3`, `.5`, `2e3`): null when blank, "invalid" when not a finite number. */
export function parseDecimal(text: string): number | null | "invalid" {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed)) return "invalid";
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : "invalid";
}

function numberParam(value: string | undefined): number | null {
  if (value === undefined) return null;
  const parsed = parseDecimal(value);
  return typeof parsed === "number" ? parsed : null;
}

/**
 * The table's state from the URL's query: unknown or malformed values fall back to the
 * defaults (a hand-edited link shows the table, not a 400).
 */
export function readUniverseState(query: Readonly<Record<string, string | undefined>>): UniverseState {
  const sortBy = isSortColumn(query["sort_by"]) ? query["sort_by"] : defaultUniverseState.sortBy;
  const order = query["sort_order"];
  const sortOrder: SortOrder = order === "asc" || order === "desc" ? order : defaultOrder(sortBy);
  const sector = query["sector"]?.trim() || null;
  const size = Number(query["limit"]);
  const pageSize = (pageSizes as readonly number[]).includes(size) ? size : defaultPageSize;
  const page = /^\d+$/.test(query["page"] ?? "") ? Math.max(1, Number(query["page"])) : 1;
  const dateParam = query["date"];
  const date = dateParam !== undefined && isoDatePattern.test(dateParam) ? dateParam : null;
  const minMarketCap = numberParam(query["min_market_cap"]);
  const maxPeRatio = numberParam(query["max_pe_ratio"]);
  return {
    q: searchText(query["q"] ?? ""),
    sortBy,
    sortOrder,
    sector,
    minMarketCap: minMarketCap !== null && minMarketCap >= 0 ? minMarketCap : null,
    maxPeRatio,
    pageSize,
    page,
    date,
  };
}

/** The URL query for a state (`?…`, or "" for the defaults); defaults are left out. */
export function universeSearch(state: UniverseState): string {
  const params = new URLSearchParams();
  if (state.q !== null) params.set("q", state.q);
  if (state.sortBy !== defaultUniverseState.sortBy) params.set("sort_by", state.sortBy);
  if (state.sortOrder !== defaultOrder(state.sortBy)) params.set("sort_order", state.sortOrder);
  if (state.sector !== null) params.set("sector", state.sector);
  if (state.minMarketCap !== null) params.set("min_market_cap", String(state.minMarketCap));
  if (state.maxPeRatio !== null) params.set("max_pe_ratio", String(state.maxPeRatio));
  if (state.pageSize !== defaultPageSize) params.set("limit", String(state.pageSize));
  if (state.page !== 1) params.set("page", String(state.page));
  if (state.date !== null) params.set("date", state.date);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** The filters and sort as `GET /data/symbols` query values (no paging). */
export function filterQuery(state: UniverseState): Record<string, string> {
  const query: Record<string, string> = { sort_by: state.sortBy, sort_order: state.sortOrder };
  if (state.q !== null) query["q"] = state.q;
  if (state.sector !== null) query["sector"] = state.sector;
  if (state.minMarketCap !== null) query["min_market_cap"] = String(state.minMarketCap);
  if (state.maxPeRatio !== null) query["max_pe_ratio"] = String(state.maxPeRatio);
  if (state.date !== null) query["date"] = state.date;
  return query;
}

/** The page's query for `GET /data/symbols`. */
export function pageQuery(state: UniverseState): Record<string, string> {
  return { ...filterQuery(state), limit: String(state.pageSize), offset: String((state.page - 1) * state.pageSize) };
}

/** Text columns read A→Z first; numbers largest first (the usual question: who is highest?). */
export function defaultOrder(column: SortColumn): SortOrder {
  return column === "symbol" || column === "sector" ? "asc" : "desc";
}

/** A header click: the same column flips its direction, another starts at its default; page 1. */
export function sortedBy(state: UniverseState, column: SortColumn): UniverseState {
  const sortOrder = state.sortBy === column ? (state.sortOrder === "asc" ? "desc" : "asc") : defaultOrder(column);
  return { ...state, sortBy: column, sortOrder, page: 1 };
}

/** `aria-sort` for a column header: only the sorted column carries one. */
export function ariaSort(state: UniverseState, column: SortColumn): "ascending" | "descending" | undefined {
  if (state.sortBy !== column) return undefined;
  return state.sortOrder === "asc" ? "ascending" : "descending";
}

export interface PageRange {
  /** 1-based number of the first row shown (0 when none). */
  first: number;
  last: number;
  total: number;
  pages: number;
  hasPrevious: boolean;
  hasNext: boolean;
}

export function pageRange(page: number, pageSize: number, total: number, rowsShown: number): PageRange {
  const offset = (page - 1) * pageSize;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return {
    first: rowsShown > 0 ? offset + 1 : 0,
    last: offset + rowsShown,
    total,
    pages,
    hasPrevious: page > 1,
    hasNext: offset + rowsShown < total,
  };
}

/**
 * The left edge of a tooltip `width` wide under a header whose left edge is at `anchorLeft`, in a
 * viewport `viewportWidth` wide: under the header when it fits, else moved left until it does
 * (right-hand headers), never closer than `margin` to either edge of the viewport.
 */
export function tooltipLeft(anchorLeft: number, width: number, viewportWidth: number, margin = 8): number {
  return Math.max(margin, Math.min(anchorLeft, viewportWidth - margin - width));
}

/** `market_beta` → `Market beta`: a label when GET /factors has not answered. */
export function humanizeKey(key: string): string {
  const words = key.replace(/^factor_/, "").split("_");
  return words.map((word, index) => (index === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word)).join(" ");
}

/** Market cap in the filter's unit (billions of dollars) ↔ dollars. */
export const billions = 1e9;
export function dollarsFromBillions(value: number): number {
  return Math.round(value * billions);
}
export function billionsText(dollars: number | null): string {
  return dollars === null ? "" : String(Number((dollars / billions).toPrecision(12)));
}

/** A ratio (P/E, P/S, P/B) to one decimal with U+2212 for negatives; missing is an em dash. */
export function formatRatio(value: number | null | undefined, decimals = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "\u2014";
  const rounded = Number(value.toFixed(decimals));
  const text = Math.abs(rounded).toFixed(decimals);
  return rounded < 0 ? `\u2212${text}` : text;
}

/** The queries that fetch every row of the filtered, sorted table in pages of the API's cap. */
export function exportQueries(
  state: UniverseState,
  total: number,
  metricsDate: string | null,
): Record<string, string>[] {
  const base = { ...filterQuery(state), ...(metricsDate ? { date: metricsDate } : {}), format: "csv" };
  const queries: Record<string, string>[] = [];
  for (let offset = 0; offset < Math.max(total, 1); offset += maxApiLimit)
    queries.push({ ...base, limit: String(maxApiLimit), offset: String(offset) });
  return queries;
}

/**
 * CSV pages of one export joined into one file: the first page's header once, then every
 * page's records. The header is the first line (column names: no quotes, no line breaks).
 */
export function joinCsvPages(pages: readonly string[]): string {
  let out = "";
  pages.forEach((page, index) => {
    let body = page;
    if (index > 0) {
      const end = body.indexOf("\n");
      body = end === -1 ? "" : body.slice(end + 1);
    }
    if (body === "") return;
    if (out !== "" && !out.endsWith("\n")) out += "\r\n";
    out += body;
  });
  return out;
}

/**
 * The tooltip of a word shown in place of a code: what it means when known, then the code
 * itself, so an analyst can match the screen to the API, the CSV and the docs.
 */
export function codeTitle(code: string, meaning?: string | null): string {
  return meaning ? `${meaning} (code: ${code})` : `Code: ${code}`;
}

/** What each quality flag of a stored beta says about it (docs/factor-engine.md, "Quality flags"). */
const qualityMeanings: Record<string, string> = {
  ok: "Estimated on at least 80% of the factor's observations in the window",
  limited_history: "Estimated on fewer than 80% of the factor's observations in the window (but at least the minimum)",
  capped: "The estimate was beyond ±5 and is stored as ±5; the raw estimate is shown beside it",
  degenerate: "The symbol's returns were constant in the window: the slope is about 0 and R² is undefined",
  insufficient_data: "Fewer observations than the factor's minimum",
};

const qualityTones: Record<string, "ok" | "warn" | "bad"> = {
  ok: "ok",
  limited_history: "warn",
  capped: "warn",
  insufficient_data: "bad",
  degenerate: "bad",
};

/**
 * How a stored beta's quality flag reads: the words of the one reason map
 * (data-quality.ts `reasonLabel`, which humanizes the flags it does not list), the badge's tone,
 * and a tooltip with the meaning and the code.
 */
export function qualityBadge(flag: string): { label: string; tone: "ok" | "warn" | "bad"; title: string } {
  return {
    label: reasonLabel(flag),
    tone: qualityTones[flag] ?? "warn",
    title: codeTitle(flag, qualityMeanings[flag]),
  };
}

/** A symbol's asset type (`symbol_universe.asset_type`) in words. */
export function assetTypeLabel(assetType: string): string {
  switch (assetType) {
    case "equity":
      return "Equity";
    case "etf":
      return "ETF";
    case "option_underlying":
      return "Option underlying";
    default:
      return humanizeKey(assetType);
  }
}
