// The what-if editor's pure parts: holdings as the user types them (text in every input),
// turned into the `holdings` of `POST /what-if`; the API's field errors mapped back to the
// rows that caused them; the per-factor comparison table; the symbol autocomplete's matching.
// No DOM and no API calls here, so all of it is unit-tested (test/unit/client/what-if.test.ts).

export const instrumentKinds = ["stock", "etf", "option", "private"] as const;
export type InstrumentKind = (typeof instrumentKinds)[number];
export type OptionKind = "call" | "put";

/** One editable row: every input's text as typed, so "1e" or "−" mid-typing is never lost. */
export interface HoldingDraft {
  /** Stable identity of the row (React key, error mapping); never sent. */
  key: string;
  symbol: string;
  instrument: InstrumentKind;
  quantity: string;
  underlying_symbol: string;
  option_type: "" | OptionKind;
  strike: string;
  expiry: string;
  multiplier: string;
  delta: string;
  implied_vol: string;
  premium: string;
}

/** What `hypotheticalHoldingSchema` takes (worker/api/analytics.ts); dates are left out (held on every date). */
export interface HypotheticalHolding {
  symbol: string;
  instrument: InstrumentKind;
  quantity: number;
  underlying_symbol?: string;
  option_type?: OptionKind;
  strike?: number;
  expiry?: string;
  multiplier?: number;
  delta?: number;
  implied_vol?: number;
  premium?: number;
}

export interface RowIssue {
  /** The holding's field (`quantity`, `symbol`, `strike`…), or "" for the row as a whole. */
  path: string;
  message: string;
}

/** The fields of a stored position a draft is made from (the positions route's shape). */
export interface PositionLike {
  symbol: string;
  instrument: InstrumentKind;
  quantity: number;
  underlying_symbol: string | null;
  option_type: OptionKind | null;
  strike: number | null;
  expiry: string | null;
  multiplier: number | null;
  delta: number | null;
  implied_vol: number | null;
  premium: number | null;
}

const optionNumberFields = ["strike", "multiplier", "delta", "implied_vol", "premium"] as const;
const optionFields = ["underlying_symbol", "option_type", "expiry", ...optionNumberFields] as const;

export function blankDraft(key: string, instrument: InstrumentKind = "stock"): HoldingDraft {
  return {
    key,
    symbol: "",
    instrument,
    quantity: "",
    underlying_symbol: "",
    option_type: "",
    strike: "",
    expiry: "",
    multiplier: "",
    delta: "",
    implied_vol: "",
    premium: "",
  };
}

const text = (value: number | string | null): string => (value === null ? "" : String(value));

export function draftFromPosition(position: PositionLike, key: string): HoldingDraft {
  return {
    key,
    symbol: position.symbol,
    instrument: position.instrument,
    quantity: text(position.quantity),
    underlying_symbol: text(position.underlying_symbol),
    option_type: position.option_type ?? "",
    strike: text(position.strike),
    expiry: text(position.expiry),
    multiplier: text(position.multiplier),
    delta: text(position.delta),
    implied_vol: text(position.implied_vol),
    premium: text(position.premium),
  };
}

/** A row the user added and has not typed into yet: left out of the request, no error shown. */
export function isBlankDraft(draft: HoldingDraft): boolean {
  return (
    draft.symbol.trim() === "" &&
    draft.quantity.trim() === "" &&
    optionFields.every((field) => draft[field].trim() === "")
  );
}

/** Whether two drafts describe the same holding (the fields the API reads for the instrument). */
export function sameHolding(a: HoldingDraft, b: HoldingDraft): boolean {
  if (
    a.instrument !== b.instrument ||
    a.symbol.trim() !== b.symbol.trim() ||
    parseNumberInput(a.quantity) !== parseNumberInput(b.quantity)
  )
    return false;
  if (a.instrument !== "option") return true;
  return optionFields.every((field) => a[field].trim() === b[field].trim());
}

/**
 * A number as typed: "" is empty; thousands separators (",", "_", spaces) and a leading "+"
 * are allowed, as is the typographic minus (U+2212) the tables print; anything else that is
 * not a finite number is invalid (never NaN).
 */
export function parseNumberInput(input: string): number | "empty" | "invalid" {
  const cleaned = input
    .trim()
    .replace(/[\s,_]/g, "")
    .replace(/^\u2212/, "-");
  if (cleaned === "") return "empty";
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) return "invalid";
  const value = Number(cleaned);
  return Number.isFinite(value) ? value : "invalid";
}

export interface BuiltHoldings {
  holdings: HypotheticalHolding[];
  /** The draft key of each holding sent (holdings[i] came from the row rowKeys[i]). */
  rowKeys: string[];
  /** Rows left out because a number could not be read, with the field at fault. */
  localIssues: Map<string, RowIssue[]>;
}

/**
 * The request's holdings from the drafts. Blank rows and the rows in `exclude` are left out;
 * so is a row with a number that is not a number (the API could not be asked about it), with
 * a local issue naming the field. Empty optional fields are omitted; an empty quantity or a
 * missing option field is sent absent so the API's message says what is required. Option
 * fields are sent for options only, so switching a row to "stock" does not keep stale ones.
 */
export function buildHoldings(
  drafts: readonly HoldingDraft[],
  exclude: ReadonlySet<string> = new Set(),
): BuiltHoldings {
  const holdings: HypotheticalHolding[] = [];
  const rowKeys: string[] = [];
  const localIssues = new Map<string, RowIssue[]>();
  for (const draft of drafts) {
    if (isBlankDraft(draft) || exclude.has(draft.key)) continue;
    const issues: RowIssue[] = [];
    const numberField = (field: "quantity" | (typeof optionNumberFields)[number]): number | undefined => {
      const parsed = parseNumberInput(draft[field]);
      if (parsed === "invalid") {
        issues.push({ path: field, message: `${field} must be a number, got ${JSON.stringify(draft[field].trim())}` });
        return undefined;
      }
      return parsed === "empty" ? undefined : parsed;
    };
    const symbol =
      draft.instrument === "stock" || draft.instrument === "etf"
        ? draft.symbol.trim().toUpperCase()
        : draft.symbol.trim();
    const holding: Omit<HypotheticalHolding, "quantity"> & { quantity?: number } = {
      symbol,
      instrument: draft.instrument,
    };
    const quantity = numberField("quantity");
    if (quantity !== undefined) holding.quantity = quantity;
    if (draft.instrument === "option") {
      const underlying = draft.underlying_symbol.trim().toUpperCase();
      if (underlying) holding.underlying_symbol = underlying;
      if (draft.option_type) holding.option_type = draft.option_type;
      if (draft.expiry.trim()) holding.expiry = draft.expiry.trim();
      for (const field of optionNumberFields) {
        const value = numberField(field);
        if (value !== undefined) holding[field] = value;
      }
    }
    if (issues.length > 0) {
      localIssues.set(draft.key, issues);
      continue;
    }
    // An empty quantity is sent absent, typed as present: the API's 400 names it on the row.
    holdings.push(holding as HypotheticalHolding);
    rowKeys.push(draft.key);
  }
  return { holdings, rowKeys, localIssues };
}

/**
 * Splits the API's field errors (`holdings[3].quantity`, also `holdings.3.quantity`) into
 * the rows they name (through `rowKeys`) and the rest (`cash`, `date`, the body).
 */
export function issuesByRow(
  issues: readonly { path: string; message: string }[],
  rowKeys: readonly string[],
): { rows: Map<string, RowIssue[]>; other: { path: string; message: string }[] } {
  const rows = new Map<string, RowIssue[]>();
  const other: { path: string; message: string }[] = [];
  for (const issue of issues) {
    const match = /^holdings(?:\[(\d+)\]|\.(\d+))(?:\.(.+))?$/.exec(issue.path);
    const key = match ? rowKeys[Number(match[1] ?? match[2])] : undefined;
    if (!match || key === undefined) {
      other.push(issue);
      continue;
    }
    const list = rows.get(key) ?? [];
    list.push({ path: match[3] ?? "", message: issue.message });
    rows.set(key, list);
  }
  return { rows, other };
}

/** The shape of data_quality this module reads (worker/factors/data-quality.ts). */
export interface DataQualityLike {
  symbols_missing: readonly {
    symbol: string;
    reason: string;
    position_ids: readonly string[];
    detail?: string | undefined;
  }[];
  positions_excluded: readonly { position_id: string; symbol: string; reason: string; detail: string }[];
}

const missingReasons: Record<string, string> = {
  no_price: "no price on this date",
  no_betas: "no betas",
  beta_not_found: "no beta for some factors",
  insufficient_data: "too little history for betas",
  degenerate: "degenerate regression",
  no_factor_data: "no factor data",
  no_delta: "no delta",
  invalid_delta: "invalid delta",
};

/**
 * Per row, why the aggregation left it (partly) out: the what-if route names holding i
 * `what-if-<i+1>` in data_quality, i being its index in the request (rowKeys).
 */
export function holdingNotes(quality: DataQualityLike, rowKeys: readonly string[]): Map<string, string[]> {
  const notes = new Map<string, string[]>();
  const add = (positionId: string, note: string) => {
    const match = /^what-if-(\d+)$/.exec(positionId);
    const key = match ? rowKeys[Number(match[1]) - 1] : undefined;
    if (key === undefined) return;
    const list = notes.get(key) ?? [];
    if (!list.includes(note)) list.push(note);
    notes.set(key, list);
  };
  for (const missing of quality.symbols_missing)
    for (const id of missing.position_ids)
      add(id, `${missing.symbol}: ${missingReasons[missing.reason] ?? missing.reason}`);
  for (const excluded of quality.positions_excluded)
    add(excluded.position_id, `not valued: ${missingReasons[excluded.reason] ?? excluded.reason}`);
  return notes;
}

type Nullable = number | null;

/** The what-if response's parts the comparison table reads. */
export interface WhatIfLike {
  what_if: {
    exposures: readonly {
      factor_key: string;
      exposure: Nullable;
      exposure_dollar: Nullable;
      coverage: Nullable;
      positions_used?: number;
      positions_total?: number;
    }[];
  };
  original: {
    exposures: readonly { factor_key: string; exposure: Nullable; exposure_dollar: Nullable; coverage: Nullable }[];
  } | null;
  comparison: {
    factors: readonly {
      factor_key: string;
      exposure: { original: Nullable; what_if: Nullable; change: Nullable };
      exposure_dollar: { original: Nullable; what_if: Nullable; change: Nullable };
    }[];
  } | null;
}

export interface ExposureComparisonRow {
  key: string;
  name: string;
  original: Nullable;
  whatIf: Nullable;
  /** what-if − original; null when either is missing (never "0 change" for an unknown). */
  change: Nullable;
  originalDollar: Nullable;
  whatIfDollar: Nullable;
  coverage: Nullable;
  /** Holdings with a beta for the factor, of the public holdings (coverage by count); null when not given. */
  positionsUsed: Nullable;
  positionsTotal: Nullable;
}

/**
 * One row per factor in display order (`factors`), then any factor the response has that the
 * list lacks. Without an original portfolio, original and change are null.
 */
export function exposureComparison(
  result: WhatIfLike,
  factors: readonly { key: string; name: string }[],
): ExposureComparisonRow[] {
  const keys = [
    ...factors.map((factor) => factor.key),
    ...result.what_if.exposures.map((e) => e.factor_key).filter((key) => !factors.some((factor) => factor.key === key)),
  ];
  const names = new Map(factors.map((factor) => [factor.key, factor.name]));
  const finite = (value: Nullable | undefined): Nullable =>
    value === null || value === undefined || !Number.isFinite(value) ? null : value;
  return keys
    .filter(
      (key) =>
        result.what_if.exposures.some((e) => e.factor_key === key) ||
        result.original?.exposures.some((e) => e.factor_key === key),
    )
    .map((key) => {
      const mine = result.what_if.exposures.find((e) => e.factor_key === key);
      const theirs = result.original?.exposures.find((e) => e.factor_key === key);
      const compared = result.comparison?.factors.find((factor) => factor.factor_key === key);
      const original = finite(compared?.exposure.original ?? theirs?.exposure);
      const whatIf = finite(compared?.exposure.what_if ?? mine?.exposure);
      const change = compared
        ? finite(compared.exposure.change)
        : original !== null && whatIf !== null
          ? whatIf - original
          : null;
      return {
        key,
        name: names.get(key) ?? key,
        original,
        whatIf,
        change,
        originalDollar: finite(compared?.exposure_dollar.original ?? theirs?.exposure_dollar),
        whatIfDollar: finite(compared?.exposure_dollar.what_if ?? mine?.exposure_dollar),
        coverage: finite(mine?.coverage),
        positionsUsed: finite(mine?.positions_used),
        positionsTotal: finite(mine?.positions_total),
      };
    });
}

export interface SymbolOption {
  symbol: string;
  name: string | null;
}

/**
 * Autocomplete suggestions for `query`: symbols starting with it first (shortest, then
 * alphabetical: "A" offers A before AAPL), then company names containing it; at most `limit`.
 */
export function matchSymbols(universe: readonly SymbolOption[], query: string, limit = 8): SymbolOption[] {
  const needle = query.trim().toUpperCase();
  if (needle === "") return [];
  const byTicker = universe
    .filter((option) => option.symbol.startsWith(needle))
    .sort((a, b) => a.symbol.length - b.symbol.length || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  if (byTicker.length >= limit) return byTicker.slice(0, limit);
  const byName = universe.filter(
    (option) => !option.symbol.startsWith(needle) && option.name !== null && option.name.toUpperCase().includes(needle),
  );
  return [...byTicker, ...byName].slice(0, limit);
}

/** A suggested trade, as the hedge of `POST /what-if` answers it (the fields applying it reads). */
export interface TradeLike {
  symbol: string;
  instrument: "stock" | "etf";
  /** Unrounded. */
  shares: number;
  /** The close the trade is priced at. */
  close: number;
}

/** Applied trades are rounded to this many decimals of a share (a ten-thousandth). */
export const appliedShareDecimals = 4;

const roundShares = (value: number, decimals: number): number => {
  const rounded = Number(value.toFixed(decimals));
  // `+ 0`: a sale to nothing reads 0, not −0.
  return rounded + 0;
};

export interface AppliedTrades {
  drafts: HoldingDraft[];
}

/**
 * The drafts with the trades added ("Apply to holdings"): each trade's shares, rounded to
 * `decimals`, are added to the first stock or ETF row of the same symbol whose quantity reads as
 * a number (a row sold down to 0 is removed, since a quantity of 0 is refused), else appended as
 * a new row of the trade's instrument. Cash is not touched here: the page pays for the trades as
 * for any other edit, through `tradeFunding` (at the trade's close), so nothing is counted twice.
 */
export function applyTrades(
  drafts: readonly HoldingDraft[],
  trades: readonly TradeLike[],
  nextKey: () => string,
  decimals = appliedShareDecimals,
): AppliedTrades {
  let rows = [...drafts];
  for (const trade of trades) {
    const symbol = trade.symbol.trim().toUpperCase();
    const row = rows.find(
      (candidate) =>
        (candidate.instrument === "stock" || candidate.instrument === "etf") &&
        candidate.symbol.trim().toUpperCase() === symbol &&
        typeof parseNumberInput(candidate.quantity) === "number",
    );
    const held = row === undefined ? null : parseNumberInput(row.quantity);
    if (row !== undefined && typeof held === "number") {
      const after = roundShares(held + trade.shares, decimals);
      if (after === held) continue;
      rows =
        after === 0
          ? rows.filter((candidate) => candidate !== row)
          : rows.map((candidate) => (candidate === row ? { ...candidate, quantity: String(after) } : candidate));
      continue;
    }
    const shares = roundShares(trade.shares, decimals);
    if (shares === 0) continue;
    rows.push({ ...blankDraft(nextKey(), trade.instrument), symbol, quantity: String(shares) });
  }
  return { drafts: rows };
}

/** A changed holding whose trade could not be priced, so is not paid from (or into) cash. */
export interface UnpricedTrade {
  key: string;
  symbol: string;
  reason: string;
}

export interface TradeFunding {
  /** Σ Δquantity × unit value over the priced trades: what they cost (negative: they raised cash). */
  cost: number;
  /** Changed holdings left out of `cost`, each once. */
  unpriced: UnpricedTrade[];
}

/**
 * What one unit of a holding adds to equity, as the aggregation counts it (worker/factors/portfolio.ts):
 * a share at its close; an option contract at premium × multiplier (100 when empty); a private
 * holding is not priced here. A reason instead when it cannot be priced.
 */
export function unitValue(draft: HoldingDraft, priceOf: (symbol: string) => number | null): number | string {
  if (draft.instrument === "private") return "private holding, not priced";
  if (draft.instrument === "option") {
    const premium = parseNumberInput(draft.premium);
    const multiplier = parseNumberInput(draft.multiplier);
    if (typeof premium !== "number") return "option without a premium";
    if (multiplier === "invalid") return "option multiplier is not a number";
    return premium * (multiplier === "empty" ? 100 : multiplier);
  }
  const price = priceOf(draft.symbol.trim().toUpperCase());
  return price === null ? "no close on the date" : price;
}

/**
 * The trades between the starting drafts and the current ones (rows matched by key; a row added
 * has no start, a row removed no current): each changed row sells its starting holding and buys
 * its current one, so cash − cost leaves equity (Σ holdings + cash) unchanged. An empty quantity
 * holds nothing; a quantity that is not a number, or a holding with no unit value, is reported
 * in `unpriced` (never guessed) and its row left out of `cost`.
 */
export function tradeFunding(
  start: readonly HoldingDraft[],
  current: readonly HoldingDraft[],
  priceOf: (symbol: string) => number | null,
): TradeFunding {
  let cost = 0;
  const unpriced: UnpricedTrade[] = [];
  const startByKey = new Map(start.map((row) => [row.key, row]));
  const currentKeys = new Set(current.map((row) => row.key));
  const pairs: [HoldingDraft | undefined, HoldingDraft | undefined][] = [
    ...current.map((row): [HoldingDraft | undefined, HoldingDraft] => [startByKey.get(row.key), row]),
    ...start.filter((row) => !currentKeys.has(row.key)).map((row): [HoldingDraft, undefined] => [row, undefined]),
  ];
  for (const [before, after] of pairs) {
    if (before && after && sameHolding(before, after)) continue;
    let rowCost = 0;
    let problem: { draft: HoldingDraft; reason: string } | null = null;
    for (const [draft, sign] of [
      [before, -1],
      [after, 1],
    ] as const) {
      if (!draft || isBlankDraft(draft) || problem) continue;
      const quantity = parseNumberInput(draft.quantity);
      if (quantity === "invalid") problem = { draft, reason: "quantity is not a number" };
      else if (quantity !== "empty" && quantity !== 0) {
        const unit = unitValue(draft, priceOf);
        if (typeof unit === "string") problem = { draft, reason: unit };
        else rowCost += sign * quantity * unit;
      }
    }
    if (problem) {
      unpriced.push({
        key: problem.draft.key,
        symbol: problem.draft.symbol.trim() || "(no symbol)",
        reason: problem.reason,
      });
    } else cost += rowCost;
  }
  return { cost, unpriced };
}

/**
 * The what-if's cash: the typed text when there is one (it wins: trades are then not funded),
 * else the starting cash less what the trades cost, to the cent.
 */
export function cashAfterTrades(startCash: number, funding: TradeFunding, typed: string | null): number | "invalid" {
  if (typed !== null) {
    const parsed = parseNumberInput(typed);
    if (parsed !== "empty") return parsed;
  }
  return funding.cost === 0 ? startCash : Number((startCash - funding.cost).toFixed(2)) + 0;
}

/**
 * The holdings as the position import's CSV (`POST /portfolios/:id/positions/import`): a header
 * of the columns any holding uses, one line per holding, each opened on `openedOn`.
 */
export function holdingsCsv(holdings: readonly HypotheticalHolding[], openedOn: string): string {
  const optional = [
    "underlying_symbol",
    "option_type",
    "strike",
    "expiry",
    "multiplier",
    "delta",
    "implied_vol",
    "premium",
  ] as const;
  const used = optional.filter((column) => holdings.some((holding) => holding[column] !== undefined));
  const header = ["symbol", "instrument", "quantity", "opened_on", ...used];
  const field = (value: string | number | undefined): string => {
    const text = value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = holdings.map((holding) =>
    [holding.symbol, holding.instrument, holding.quantity, openedOn, ...used.map((column) => holding[column])]
      .map(field)
      .join(","),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

/** The API calls saving a portfolio makes (injected, so the sequence is unit-tested). */
export interface SaveSteps {
  create(body: { name: string; cash: number; benchmark_symbol?: string }): Promise<{ id: string }>;
  importCsv(portfolioId: string, csv: string): Promise<void>;
  remove(portfolioId: string): Promise<void>;
}

export type SaveOutcome =
  | { status: "saved"; id: string }
  /** Nothing was created (the name was refused, say). */
  | { status: "not_created"; error: unknown }
  /** The positions could not be added; the portfolio was deleted again. */
  | { status: "rolled_back"; error: unknown }
  /** The positions could not be added, and the empty portfolio `id` could not be deleted either. */
  | { status: "left_empty"; id: string; error: unknown; cleanupError: unknown };

/**
 * "Save as portfolio": creates the portfolio, then imports the holdings in one all-or-nothing
 * request (`mode=replace`). When the import fails the portfolio is deleted again, so a failure
 * never leaves a half-made portfolio behind silently; when even that fails, the outcome says
 * which portfolio is left, empty.
 */
export async function saveAsPortfolio(
  steps: SaveSteps,
  request: {
    name: string;
    cash: number;
    benchmark?: string;
    holdings: readonly HypotheticalHolding[];
    openedOn: string;
  },
): Promise<SaveOutcome> {
  let id: string;
  try {
    ({ id } = await steps.create({
      name: request.name,
      cash: request.cash,
      ...(request.benchmark ? { benchmark_symbol: request.benchmark } : {}),
    }));
  } catch (error) {
    return { status: "not_created", error };
  }
  if (request.holdings.length === 0) return { status: "saved", id };
  try {
    await steps.importCsv(id, holdingsCsv(request.holdings, request.openedOn));
    return { status: "saved", id };
  } catch (error) {
    try {
      await steps.remove(id);
      return { status: "rolled_back", error };
    } catch (cleanupError) {
      return { status: "left_empty", id, error, cleanupError };
    }
  }
}
