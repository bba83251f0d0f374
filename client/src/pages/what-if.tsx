// What-if: start from a portfolio's holdings (those held on the latest metrics date) or from
// nothing, add / remove / resize holdings and change the cash; the exposures are recomputed by
// `POST /what-if` 300 ms after typing stops and compared with the starting portfolio's.
//
// Invalid rows do not blank the numbers: when the API refuses some rows (400 with
// `holdings[i].field` paths), their errors are shown on those rows and the request is sent
// again without them, so the table always describes the valid holdings, and says which rows
// it leaves out. A number that cannot be read is caught here and stops the recompute (the row
// is marked; it is never dropped from the request silently).
//
// Trades are funded: starting from a portfolio, every change of a holding's quantity (a row
// added, removed or resized) moves cash by −Δquantity × its unit value at the date's close
// (`tradeFunding`), so equity changes only when the user types the cash (which then wins, until
// "Fund trades from cash"). Holdings that cannot be priced are named beside the cash field.
//
// Below them, "Suggest hedge" asks the same request for a hedge (components/hedge-panel.tsx) and
// can apply its trades to the holdings: shares added (merged into a row of the same symbol), paid
// from cash by the same funding (at the trades' closes), so equity stays what the hedge assumed.
// With MANAGE_PORTFOLIOS the holdings can be saved as a new portfolio.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiFailure, describeFailure, unwrap, type JsonBody } from "../api/client.ts";
import { DateInput } from "../components/date-field.tsx";
import { type HedgeBlock, HedgePanel, SaveAsPortfolio } from "../components/hedge-panel.tsx";
import { barExtent, MiniBar } from "../components/impact-bars.tsx";
import { SymbolPicker } from "../components/symbol-picker.tsx";
import { Card, Empty, ErrorNotice, Loading, Page, TableWrap } from "../components/ui.tsx";
import { coverageLabel } from "../lib/data-quality.ts";
import { formatDollars, formatExposure, formatMoney, formatPercent, missing } from "../lib/format.ts";
import {
  applyTrades,
  blankDraft,
  buildHoldings,
  cashAfterTrades,
  draftFromPosition,
  exposureComparison,
  holdingNotes,
  instrumentKinds,
  isBlankDraft,
  issuesByRow,
  parseNumberInput,
  sameHolding,
  tradeFunding,
  type HoldingDraft,
  type RowIssue,
  type SymbolOption,
} from "../lib/what-if-holdings.ts";
import { can } from "../state/session.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import "./analysis.css";

type WhatIfResult = JsonBody<Awaited<ReturnType<(typeof api)["what-if"]["$post"]>>>;
type WhatIfBody = Parameters<(typeof api)["what-if"]["$post"]>[0]["json"];

interface UniverseSymbol extends SymbolOption {
  price: number | null;
}

// The universe is loaded once per session, 500 rows a page (the API's maximum), sorted by
// symbol, and filtered here rather than with the API's `q` search: typing then costs no
// request per key, and the rows carry the prices the holdings table values positions with.
// A few thousand symbols are a few requests; the cap below keeps a huge universe from loading
// forever (beyond it, suggestions are partial and any ticker can still be typed).
const maxUniversePages = 20;
let universeLoad: Promise<{ symbols: UniverseSymbol[]; date: string | null }> | null = null;

function loadUniverse(): Promise<{ symbols: UniverseSymbol[]; date: string | null }> {
  universeLoad ??= (async () => {
    const symbols: UniverseSymbol[] = [];
    let date: string | null = null;
    for (let page = 0; page < maxUniversePages; page++) {
      const body = await unwrap(
        api.data.symbols.$get({ query: { sort_by: "symbol", limit: "500", offset: String(page * 500) } }),
      );
      date = body.metrics_date;
      for (const row of body.symbols)
        symbols.push({ symbol: row.symbol, name: row.company_name, price: row.current_price });
      if (body.symbols.length < 500 || symbols.length >= body.total_count) break;
    }
    return { symbols, date };
  })();
  // A failed load is retried on the next visit rather than cached.
  universeLoad.catch(() => {
    universeLoad = null;
  });
  return universeLoad;
}

interface Outcome {
  result: WhatIfResult;
  /** The request that produced `result` (the hedge asks the same, with `hedge`). */
  body: WhatIfBody;
  /** holdings[i] of the request that produced `result` came from row rowKeys[i]. */
  rowKeys: string[];
  /** Rows the API refused, with its messages; they are not in `result`. */
  refused: Map<string, RowIssue[]>;
  /** The drafts the request was built from: a refusal stands while its row is unchanged. */
  drafts: readonly HoldingDraft[];
}

interface Computation {
  status: "idle" | "loading" | "ok" | "error";
  outcome: Outcome | null;
  error: unknown;
  /** The API's issues that name no row (`cash`, `date`…). */
  otherIssues: { path: string; message: string }[];
}

let rowCounter = 0;
const nextKey = () => `row-${++rowCounter}`;

export function WhatIfPage(): JSX.Element {
  const location = useLocation();
  const portfolios = useAsync((signal) => unwrap(api.portfolios.$get({}, { init: { signal } })), []);
  const factors = useAsync((signal) => unwrap(api.factors.$get({}, { init: { signal } })), []);
  const universe = useAsync(() => loadUniverse(), []);

  // `?portfolio=<id>` starts from that portfolio, `?portfolio=` from nothing; default the first one.
  const portfolioList = portfolios.data?.portfolios ?? [];
  // null until known (the default needs the list).
  const queried = location.query["portfolio"];
  const startId: string | null =
    queried !== undefined
      ? queried
      : portfolios.data
        ? (portfolioList[0]?.id ?? "")
        : portfolios.status === "error"
          ? ""
          : null;
  const startPortfolio = portfolioList.find((p) => p.id === startId) ?? null;

  const [drafts, setDrafts] = useState<HoldingDraft[]>([]);
  /** The start the current drafts were made from: the what-if compares with that portfolio. */
  const [draftsFor, setDraftsFor] = useState<string | null>(null);
  const [startDrafts, setStartDrafts] = useState<HoldingDraft[]>([]);
  /** The cash as typed; null: funded automatically (the starting cash less the trades' cost). */
  const [typedCash, setTypedCash] = useState<string | null>(null);
  const [startCash, setStartCash] = useState("");
  /** The closes of applied hedge trades, for symbols the universe does not price. */
  const [tradeCloses, setTradeCloses] = useState<ReadonlyMap<string, number>>(new Map());

  // The starting holdings: the portfolio's positions held on the latest metrics date (the
  // date POST /what-if uses), copied without dates so each is held on that date.
  const start = useAsync(
    async (signal) => {
      if (startId === null) return null;
      if (startId === "") return { startId, drafts: [] as HoldingDraft[], cash: "" };
      const latest = await unwrap(api.data.symbols.$get({ query: { limit: "1" } }, { init: { signal } }));
      const query: { date?: string } = latest.metrics_date ? { date: latest.metrics_date } : {};
      const [{ positions }, portfolio] = await Promise.all([
        unwrap(api.portfolios[":id"].positions.$get({ param: { id: startId }, query }, { init: { signal } })),
        unwrap(api.portfolios[":id"].$get({ param: { id: startId } }, { init: { signal } })),
      ]);
      return {
        startId,
        drafts: positions.map((position) => draftFromPosition(position, nextKey())),
        cash: String(portfolio.cash),
      };
    },
    [startId],
  );
  useEffect(() => {
    if (start.status !== "ok" || start.data === null) return;
    setDraftsFor(start.data.startId);
    setDrafts(start.data.drafts);
    setStartDrafts(start.data.drafts);
    setTypedCash(null);
    setStartCash(start.data.cash);
  }, [start.status, start.data]);

  const setStart = (id: string) => location.route(`${location.path}?portfolio=${encodeURIComponent(id)}`, true);
  const updateDraft = (key: string, change: Partial<HoldingDraft>) =>
    setDrafts((rows) => rows.map((row) => (row.key === key ? { ...row, ...change } : row)));
  const addedRow = useRef<string | null>(null);
  const addRow = () => {
    const row = blankDraft(nextKey());
    addedRow.current = row.key;
    setDrafts((rows) => [...rows, row]);
  };
  const removeRow = (key: string) => setDrafts((rows) => rows.filter((row) => row.key !== key));
  const reset = () => {
    setDrafts(startDrafts);
    setTypedCash(null);
  };

  // ---- funding: trades move cash (from a portfolio; an empty start has no cash to fund from) ----
  const universePrices = universe.data?.symbols;
  const priceOf = useMemo(() => {
    const prices = new Map((universePrices ?? []).map((entry) => [entry.symbol, entry.price]));
    return (symbol: string) => prices.get(symbol) ?? tradeCloses.get(symbol) ?? null;
  }, [universePrices, tradeCloses]);
  const funded = draftsFor !== null && draftsFor !== "";
  const funding = useMemo(
    () => (funded ? tradeFunding(startDrafts, drafts, priceOf) : { cost: 0, unpriced: [] }),
    [funded, startDrafts, drafts, priceOf],
  );
  const startCashValue = parseNumberInput(startCash);
  const automaticCash = cashAfterTrades(typeof startCashValue === "number" ? startCashValue : 0, funding, null);
  // The cash as sent: typed, else the funded cash (from a portfolio), else empty (0); the field shows
  // the typed text, else the funded cash.
  const typed = typedCash !== null && typedCash.trim() !== "";
  const cash = typed ? (typedCash ?? "") : funded ? String(automaticCash) : "";
  const cashInput = typedCash ?? cash;
  // Focus the symbol of a row just added, so "Add holding" then typing works from the keyboard.
  useEffect(() => {
    if (!addedRow.current) return;
    document.querySelector<HTMLInputElement>(`[data-row="${addedRow.current}"] input[role="combobox"]`)?.focus();
    addedRow.current = null;
  }, [drafts]);

  // ---- recompute, debounced ----
  const settled = useDebounced({ drafts, cash, startId: draftsFor }, 300);
  const cashParsed = parseNumberInput(settled.cash);
  const cashLocalError =
    parseNumberInput(cash) === "invalid" ? `cash must be a number, got ${JSON.stringify(cash.trim())}` : null;
  const built = useMemo(() => buildHoldings(settled.drafts), [settled.drafts]);
  // A number that cannot be read stops the recompute: the row is never left out silently.
  const blocked = built.localIssues.size > 0;
  const [computation, setComputation] = useState<Computation>({
    status: "idle",
    outcome: null,
    error: null,
    otherIssues: [],
  });
  const startLoaded = settled.startId !== null && settled.startId === startId;

  useEffect(() => {
    if (!startLoaded || settled.startId === null || cashParsed === "invalid" || blocked) return;
    const controller = new AbortController();
    const body = (holdings: WhatIfBody["holdings"]): WhatIfBody => ({
      holdings,
      ...(settled.startId ? { portfolio_id: settled.startId } : {}),
      ...(typeof cashParsed === "number" ? { cash: cashParsed } : {}),
    });
    const post = (json: WhatIfBody) => unwrap(api["what-if"].$post({ json }, { init: { signal: controller.signal } }));
    setComputation((previous) => ({ ...previous, status: "loading" }));
    void (async () => {
      try {
        let rowKeys = built.rowKeys;
        let refused = new Map<string, RowIssue[]>();
        let result: WhatIfResult;
        let sent = body(built.holdings);
        try {
          result = await post(sent);
        } catch (error) {
          const byRow =
            error instanceof ApiFailure && error.status === 400 ? issuesByRow(error.issues, built.rowKeys) : null;
          if (!byRow || byRow.rows.size === 0 || byRow.other.length > 0) throw error;
          // Ask again without the refused rows, so the numbers describe the valid ones.
          refused = byRow.rows;
          const retry = buildHoldings(settled.drafts, new Set(refused.keys()));
          rowKeys = retry.rowKeys;
          sent = body(retry.holdings);
          result = await post(sent);
        }
        if (!controller.signal.aborted)
          setComputation({
            status: "ok",
            outcome: { result, body: sent, rowKeys, refused, drafts: settled.drafts },
            error: null,
            otherIssues: [],
          });
      } catch (error) {
        if (controller.signal.aborted) return;
        const other = error instanceof ApiFailure ? issuesByRow(error.issues, built.rowKeys) : null;
        setComputation((previous) => ({
          status: "error",
          outcome: previous.outcome,
          error,
          otherIssues: other?.other ?? [],
        }));
      }
    })();
    return () => controller.abort();
  }, [built, blocked, cashParsed, settled.startId, startLoaded]);

  const outcome = computation.outcome;
  // Errors on the rows as they are now: numbers that cannot be read (checked on every key),
  // and the API's refusals of rows not edited since (drafts are immutable: same object = unchanged).
  const rowIssues = useMemo(() => {
    const issues = new Map<string, RowIssue[]>(buildHoldings(drafts).localIssues);
    if (outcome)
      for (const [key, list] of outcome.refused) {
        const current = drafts.find((row) => row.key === key);
        if (current && !issues.has(key) && outcome.drafts.find((row) => row.key === key) === current)
          issues.set(key, list);
      }
    return issues;
  }, [outcome, drafts]);
  const notes = useMemo(
    () => (outcome ? holdingNotes(outcome.result.what_if.data_quality, outcome.rowKeys) : new Map<string, string[]>()),
    [outcome],
  );
  const cashIssue = cashLocalError ?? computation.otherIssues.find((issue) => issue.path === "cash")?.message ?? null;
  const pending =
    start.status !== "error" &&
    (JSON.stringify({ drafts, cash, startId: draftsFor }) !== JSON.stringify(settled) ||
      draftsFor !== startId ||
      computation.status === "loading");
  const excluded = [...rowIssues.keys()].filter((key) => drafts.some((row) => row.key === key && !isBlankDraft(row)));
  const excludedBadge = `${excluded.length === 1 ? "1 row" : `${excluded.length} rows`} with errors`;
  const unreadable = buildHoldings(drafts).localIssues.size;
  // The cash the what-if counts: the field's, else the starting portfolio's (the API's default), else 0.
  const shownCash = parseNumberInput(cash);
  const effectiveCash = typeof shownCash === "number" ? shownCash : (startPortfolio?.cash ?? 0);
  // The holdings of the latest answer, as sent (the rows the API refused left out).
  const savedHoldings = useMemo(
    () => (outcome ? buildHoldings(outcome.drafts, new Set(outcome.refused.keys())).holdings : null),
    [outcome],
  );
  const applyHedge = (block: HedgeBlock) => {
    const applied = applyTrades(drafts, block.trades, nextKey);
    const closes = new Map(tradeCloses);
    for (const trade of block.trades) closes.set(trade.symbol.trim().toUpperCase(), trade.close);
    setTradeCloses(closes);
    setDrafts(applied.drafts);
    // Bought with cash: equity unchanged, as the hedge assumes. Funded automatically, the cash
    // follows the drafts; typed (or from an empty start), it pays by the same funding here.
    if (funded && typedCash === null) return;
    const paid = tradeFunding(drafts, applied.drafts, (symbol) => priceOf(symbol) ?? closes.get(symbol) ?? null);
    setTypedCash(String(cashAfterTrades(effectiveCash, paid, null)));
  };

  return (
    <Page
      title="What-if"
      subtitle="Edit a portfolio's holdings and see its factor exposures change as you type. Nothing is saved."
    >
      {/* A <fieldset> would bring its border, padding and legend layout to a toolbar styled as a row. */}
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of controls */}
      <div class="toolbar" role="group" aria-label="What-if inputs">
        <div class="field">
          <label for="what-if-start">Start from</label>
          <select
            id="what-if-start"
            value={startId ?? ""}
            disabled={startId === null}
            onChange={(event) => setStart(event.currentTarget.value)}
          >
            <option value="">Empty portfolio</option>
            {portfolioList.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
            {startId && portfolios.status === "ok" && !startPortfolio ? (
              <option value={startId}>{startId} (not found)</option>
            ) : null}
          </select>
        </div>
        <div class={`field${cashIssue ? " field-invalid" : ""}`}>
          <label for="what-if-cash">Cash ($)</label>
          <input
            id="what-if-cash"
            type="text"
            inputMode="decimal"
            autocomplete="off"
            value={cashInput}
            disabled={draftsFor !== startId}
            placeholder={funded ? String(automaticCash) : "0"}
            aria-invalid={cashIssue ? true : undefined}
            aria-describedby={cashIssue ? "what-if-cash-error" : funded ? "what-if-cash-funding" : undefined}
            onInput={(event) => setTypedCash(event.currentTarget.value)}
          />
          {cashIssue ? (
            <small id="what-if-cash-error" class="field-error">
              {cashIssue}
            </small>
          ) : null}
          {funded ? (
            <small id="what-if-cash-funding" class="hint" data-testid="cash-funding">
              {typed ? (
                <>
                  Cash typed: trades are no longer funded automatically.{" "}
                  <button type="button" class="link-button" onClick={() => setTypedCash(null)}>
                    Fund trades from cash
                  </button>
                </>
              ) : funding.cost !== 0 ? (
                <span data-testid="trade-cost" data-value={funding.cost}>
                  Trades: {formatMoney(-funding.cost, { sign: true })} {funding.cost > 0 ? "from" : "to"} cash
                </span>
              ) : null}
              {funding.unpriced.length > 0 ? (
                <span data-testid="trade-unpriced">
                  {" "}
                  Not funded (cannot be priced):{" "}
                  {funding.unpriced.map((entry) => `${entry.symbol} (${entry.reason})`).join(", ")}.
                </span>
              ) : null}
            </small>
          ) : null}
        </div>
        <button type="button" class="button" onClick={addRow} disabled={draftsFor !== startId}>
          + Add holding
        </button>
        <button
          type="button"
          class="button ghost"
          onClick={reset}
          disabled={
            draftsFor !== startId ||
            (typedCash === null &&
              drafts.length === startDrafts.length &&
              drafts.every((row, i) => startDrafts[i] !== undefined && sameHolding(row, startDrafts[i])))
          }
        >
          Reset
        </button>
        <span class="what-if-status muted small" role="status" aria-live="polite" data-testid="what-if-status">
          {blocked && !pending
            ? "Not recomputed: fix the quantities and numbers marked in red"
            : pending
              ? "Recomputing…"
              : outcome
                ? `As of ${outcome.result.date}`
                : ""}
        </span>
      </div>
      {portfolios.status === "error" ? (
        <ErrorNotice error={portfolios.error} retry={portfolios.reload} title="Could not load the portfolios" />
      ) : null}

      <div class="what-if-layout">
        <Card title={`Holdings (${drafts.filter((row) => !isBlankDraft(row)).length})`} label="Holdings">
          {start.status === "error" ? (
            <ErrorNotice error={start.error} retry={start.reload} title="Could not load the portfolio's holdings" />
          ) : draftsFor === null || (start.status === "loading" && drafts.length === 0) ? (
            <Loading what="holdings" />
          ) : (
            <HoldingsTable
              drafts={drafts}
              startDrafts={startDrafts}
              universe={universe.data?.symbols ?? null}
              equity={outcome?.result.what_if.equity ?? null}
              issues={rowIssues}
              notes={notes}
              onChange={updateDraft}
              onRemove={removeRow}
              onAdd={addRow}
            />
          )}
          {drafts.length > 0 ? (
            <p class="row-legend hint">
              <span class="row-mark changed" aria-hidden="true" /> changed{" "}
              <span class="row-mark added" aria-hidden="true" /> added since the start
            </p>
          ) : null}
          {universe.status === "error" ? (
            <p class="hint">
              Symbol suggestions are unavailable ({describeFailure(universe.error)}); any ticker can still be typed.
            </p>
          ) : null}
          {excluded.length > 0 ? (
            <p class="analysis-note" role="note" data-testid="rows-left-out">
              <span class="badge warn">{excludedBadge}</span>{" "}
              {unreadable > 0
                ? "A number that cannot be read stops the recompute: the exposures are of the last valid holdings."
                : "The exposures leave out the rows with errors until they are fixed."}
            </p>
          ) : null}
        </Card>

        <Card title="Exposures" label="Exposures">
          {computation.status === "error" ? (
            <ErrorNotice error={computation.error} title="Could not compute the what-if" />
          ) : null}
          {outcome ? (
            <div class="async" aria-busy={pending} data-stale={pending || blocked ? "" : undefined}>
              <Comparison
                outcome={outcome}
                factors={factors.data?.factors ?? []}
                portfolioName={startPortfolio?.name ?? null}
              />
            </div>
          ) : computation.status === "error" ? null : start.status === "error" ? (
            <Empty>No exposures: the starting holdings could not be loaded.</Empty>
          ) : cashParsed === "invalid" ? (
            <Empty>Fix the cash to see the exposures.</Empty>
          ) : (
            <Loading what="exposures" />
          )}
        </Card>
      </div>

      {outcome ? (
        <Card title="Suggest hedge" label="Suggest hedge">
          <HedgePanel
            request={outcome.body}
            benchmark={outcome.result.what_if.risk.benchmark}
            stale={pending || blocked}
            onApply={applyHedge}
          />
        </Card>
      ) : null}
      {outcome && can("MANAGE_PORTFOLIOS") ? (
        <Card title="Save as portfolio" label="Save as portfolio">
          <SaveAsPortfolio
            holdings={savedHoldings}
            blocked={
              pending
                ? "Wait for the numbers to update."
                : excluded.length > 0
                  ? `Fix or remove the ${excluded.length === 1 ? "row" : `${excluded.length} rows`} with errors ` +
                    "first: they would not be saved."
                  : null
            }
            cash={effectiveCash}
            benchmark={outcome.result.what_if.risk.benchmark}
            date={outcome.result.date}
          />
        </Card>
      ) : null}
    </Page>
  );
}

const fieldLabels: Record<string, string> = {
  underlying_symbol: "Underlying",
  option_type: "Type",
  strike: "Strike",
  expiry: "Expiry",
  multiplier: "Multiplier",
  delta: "Delta",
  implied_vol: "Implied vol",
  premium: "Premium",
};

function HoldingsTable(props: {
  drafts: readonly HoldingDraft[];
  startDrafts: readonly HoldingDraft[];
  universe: readonly UniverseSymbol[] | null;
  equity: number | null;
  issues: Map<string, RowIssue[]>;
  notes: Map<string, string[]>;
  onChange: (key: string, change: Partial<HoldingDraft>) => void;
  onRemove: (key: string) => void;
  onAdd: () => void;
}): JSX.Element {
  const prices = useMemo(
    () => new Map((props.universe ?? []).map((entry) => [entry.symbol, entry.price])),
    [props.universe],
  );
  if (props.drafts.length === 0)
    return (
      <Empty>
        No holdings.{" "}
        <button type="button" class="link-button" onClick={props.onAdd}>
          Add one
        </button>
      </Empty>
    );
  return (
    <TableWrap label="What-if holdings" class="holdings-wrap">
      <table class="data holdings" aria-label="What-if holdings" data-testid="holdings-table">
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col">Instrument</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th
              scope="col"
              class="num col-value"
              title={
                "Quantity × the latest close; options: contracts × multiplier × the underlying's close " +
                "(delta-free notional)"
              }
            >
              Value
            </th>
            <th scope="col" class="num col-weight" title="Value ÷ the what-if equity">
              Weight
            </th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        {props.drafts.map((draft, index) => {
          const issues = props.issues.get(draft.key) ?? [];
          const notes = props.notes.get(draft.key) ?? [];
          const fieldIssue = (field: string) => issues.find((issue) => issue.path === field);
          const rowId = `holding-${draft.key}`;
          const start = props.startDrafts.find((row) => row.key === draft.key);
          const state = !start ? "added" : sameHolding(start, draft) ? "" : "changed";
          const quantity = parseNumberInput(draft.quantity);
          // Market value as the aggregation counts it (docs/design.md §4.7): shares × close; an
          // option's delta-free notional, contracts × multiplier × the underlying's close.
          const priceOf = (symbol: string) => prices.get(symbol.trim().toUpperCase()) ?? null;
          const multiplier = parseNumberInput(draft.multiplier);
          const underlyingPrice = priceOf(draft.underlying_symbol);
          const unitValue =
            draft.instrument === "stock" || draft.instrument === "etf"
              ? priceOf(draft.symbol)
              : draft.instrument === "option" && multiplier !== "invalid" && underlyingPrice !== null
                ? (multiplier === "empty" ? 100 : multiplier) * underlyingPrice
                : null;
          const value = typeof quantity === "number" && unitValue !== null ? quantity * unitValue : null;
          const label = draft.symbol.trim() || `row ${index + 1}`;
          const described = issues.length > 0 || notes.length > 0 ? `${rowId}-notes` : undefined;
          return (
            <tbody
              key={draft.key}
              data-row={draft.key}
              class={`holding${issues.length > 0 ? " invalid" : ""}${state ? ` ${state}` : ""}`}
              data-testid="holding-row"
            >
              <tr>
                <td class="holding-symbol">
                  {state ? (
                    <span
                      class={`row-mark ${state}`}
                      // A coloured mark: an image to assistive technology, named by its label.
                      role="img"
                      title={state === "added" ? "Added" : "Changed"}
                      aria-label={state === "added" ? "Added" : "Changed"}
                    />
                  ) : null}
                  <SymbolPicker
                    label={`Symbol, row ${index + 1}`}
                    value={draft.symbol}
                    universe={draft.instrument === "stock" || draft.instrument === "etf" ? props.universe : null}
                    upperCase={draft.instrument === "stock" || draft.instrument === "etf"}
                    invalid={fieldIssue("symbol") !== undefined}
                    describedBy={described}
                    placeholder={draft.instrument === "option" ? "Label, e.g. OCC" : "Ticker"}
                    testId="holding-symbol"
                    onInput={(symbol) => props.onChange(draft.key, { symbol })}
                  />
                </td>
                <td>
                  <select
                    aria-label={`Instrument of ${label}`}
                    value={draft.instrument}
                    aria-invalid={fieldIssue("instrument") ? true : undefined}
                    onChange={(event) =>
                      props.onChange(draft.key, { instrument: event.currentTarget.value as HoldingDraft["instrument"] })
                    }
                  >
                    {instrumentKinds.map((kind) => (
                      <option key={kind} value={kind}>
                        {kind === "etf" ? "ETF" : kind.charAt(0).toUpperCase() + kind.slice(1)}
                      </option>
                    ))}
                  </select>
                </td>
                <td class="num">
                  <input
                    class="quantity-input"
                    type="text"
                    inputMode="decimal"
                    autocomplete="off"
                    aria-label={`Quantity of ${label}`}
                    title={draft.instrument === "option" ? "Contracts; negative is short" : "Shares; negative is short"}
                    value={draft.quantity}
                    aria-invalid={fieldIssue("quantity") ? true : undefined}
                    aria-describedby={described}
                    data-testid="holding-quantity"
                    onInput={(event) => props.onChange(draft.key, { quantity: event.currentTarget.value })}
                  />
                </td>
                <td class="num col-value" data-testid="holding-value">
                  {formatDollars(value)}
                </td>
                <td class="num col-weight">
                  {value !== null && props.equity !== null && props.equity > 0
                    ? formatPercent(value / props.equity, 1)
                    : missing}
                </td>
                <td>
                  <button
                    type="button"
                    class="button small ghost"
                    aria-label={`Remove ${label}`}
                    title="Remove"
                    onClick={() => props.onRemove(draft.key)}
                  >
                    ✕
                  </button>
                </td>
              </tr>
              {draft.instrument === "option" ? (
                <tr class="option-row">
                  <td colSpan={6}>
                    {/* A <fieldset> would bring its border and padding. */}
                    {/* biome-ignore lint/a11y/useSemanticElements: a labelled row of inputs inside a table cell */}
                    <div class="option-fields" role="group" aria-label={`Option terms of ${label}`}>
                      {(
                        [
                          "underlying_symbol",
                          "option_type",
                          "strike",
                          "expiry",
                          "multiplier",
                          "delta",
                          "implied_vol",
                          "premium",
                        ] as const
                      ).map((field) => {
                        const id = `${rowId}-${field}`;
                        const invalid = fieldIssue(field) !== undefined;
                        return (
                          <div key={field} class="field option-field">
                            <label for={id}>{fieldLabels[field]}</label>
                            {field === "option_type" ? (
                              <select
                                id={id}
                                value={draft.option_type}
                                aria-invalid={invalid ? true : undefined}
                                onChange={(event) =>
                                  props.onChange(draft.key, {
                                    option_type: event.currentTarget.value as HoldingDraft["option_type"],
                                  })
                                }
                              >
                                <option value="">—</option>
                                <option value="call">Call</option>
                                <option value="put">Put</option>
                              </select>
                            ) : field === "expiry" ? (
                              <DateInput
                                id={id}
                                value={draft.expiry}
                                invalid={invalid}
                                onChange={(_date, text) => props.onChange(draft.key, { expiry: text })}
                              />
                            ) : (
                              <input
                                id={id}
                                type="text"
                                inputMode={field === "underlying_symbol" ? undefined : "decimal"}
                                autocomplete="off"
                                placeholder={
                                  field === "multiplier"
                                    ? "100"
                                    : field === "delta" || field === "implied_vol"
                                      ? "delta or IV"
                                      : undefined
                                }
                                value={draft[field]}
                                aria-invalid={invalid ? true : undefined}
                                onInput={(event) =>
                                  props.onChange(draft.key, {
                                    [field]:
                                      field === "underlying_symbol"
                                        ? event.currentTarget.value.toUpperCase()
                                        : event.currentTarget.value,
                                  })
                                }
                              />
                            )}
                          </div>
                        );
                      })}
                    </div>
                  </td>
                </tr>
              ) : null}
              {issues.length > 0 || notes.length > 0 ? (
                <tr class="row-notes">
                  <td colSpan={6} id={`${rowId}-notes`}>
                    {issues.length > 0 ? (
                      <ul class="row-issues" data-testid="row-issues">
                        {issues.map((issue, i) => {
                          const showPath = issue.path && !issue.message.startsWith(issue.path);
                          return (
                            <li key={i}>
                              {showPath ? <code>{issue.path}</code> : null} {issue.message}
                            </li>
                          );
                        })}
                      </ul>
                    ) : null}
                    {notes.length > 0 ? <p class="row-quality">Not fully counted: {notes.join("; ")}</p> : null}
                  </td>
                </tr>
              ) : null}
            </tbody>
          );
        })}
      </table>
    </TableWrap>
  );
}

/** A change, coloured by sign only when it shows as one (float noise prints as 0 and stays grey). */
function ChangeCell(props: {
  value: number | null;
  format: (value: number | null) => string;
  testId?: string;
}): JSX.Element {
  const text = props.format(props.value);
  const tone = props.value === null || !/[1-9]/.test(text) ? "neutral" : props.value < 0 ? "negative" : "positive";
  return (
    <td class={`num change ${tone}`} data-testid={props.testId}>
      {tone === "neutral" && props.value !== null ? text.replace(/^[+\u2212]/, "") : text}
    </td>
  );
}

const signedDollars = (value: number | null) => {
  const text = formatDollars(value);
  return value !== null && value > 0 && text !== "$0" ? `+${text}` : text;
};

function Comparison(props: {
  outcome: Outcome;
  factors: readonly { key: string; name: string; display_order: number; is_active: boolean }[];
  portfolioName: string | null;
}): JSX.Element {
  const { result } = props.outcome;
  const ordered = [...props.factors]
    .filter((factor) => factor.is_active)
    .sort((a, b) => a.display_order - b.display_order);
  const rows = exposureComparison(result, ordered);
  const compared = result.original !== null;
  const extent = barExtent(rows.flatMap((row) => [row.original, row.whatIf]));
  const totals = result.comparison
    ? ([
        ["Equity", result.comparison.equity],
        ["Gross", result.comparison.gross],
        ["Net", result.comparison.net],
      ] as const)
    : ([
        ["Equity", { original: null, what_if: result.what_if.equity, change: null }],
        ["Gross", { original: null, what_if: result.what_if.gross, change: null }],
        ["Net", { original: null, what_if: result.what_if.net, change: null }],
      ] as const);
  const quality = result.what_if.data_quality;
  return (
    <div class="comparison">
      <TableWrap label="Equity, gross and net">
        <table class="data" aria-label="Equity, gross and net" data-testid="totals-table">
          <thead>
            <tr>
              <th scope="col">As of {result.date}</th>
              <ComparisonHeads compared={compared} original={props.portfolioName} />
            </tr>
          </thead>
          <tbody>
            {totals.map(([name, change]) => (
              <tr key={name} data-testid={`total-${name.toLowerCase()}`}>
                <th scope="row" class="row-head">
                  {name}
                </th>
                {compared ? (
                  <td class="num" data-testid="total-original" data-value={change.original ?? undefined}>
                    {formatDollars(change.original)}
                  </td>
                ) : null}
                <td class="num" data-testid="total-what-if" data-value={change.what_if ?? undefined}>
                  {formatDollars(change.what_if)}
                </td>
                {compared ? <ChangeCell value={change.change} format={signedDollars} /> : null}
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Factor exposures, original and what-if">
        <table
          class="data exposure-comparison"
          aria-label="Factor exposures, original and what-if"
          data-testid="exposure-comparison"
        >
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <ComparisonHeads compared={compared} original={props.portfolioName} />
              <th scope="col" class="bar-col">
                <span class="legend-inline">
                  {compared ? (
                    <>
                      <span class="mini-bar-reference legend-mark" aria-hidden="true" /> original, bar: what-if
                    </>
                  ) : (
                    "what-if"
                  )}
                </span>
              </th>
              <th scope="col" class="num col-dollar" title="Exposure × what-if equity">
                $ what-if
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const coverage = coverageLabel({
                value: row.coverage,
                used: row.positionsUsed,
                total: row.positionsTotal,
              });
              const change = compared
                ? `; $ exposure ${formatDollars(row.originalDollar)} → ${formatDollars(row.whatIfDollar)}`
                : "";
              return (
                <tr
                  key={row.key}
                  data-testid={`exposure-${row.key}`}
                  title={`${row.name}: coverage ${coverage.text}${change}`}
                >
                  <th scope="row" class="row-head">
                    {row.name}
                  </th>
                  {compared ? <td class="num">{formatExposure(row.original)}</td> : null}
                  <td class="num" data-testid="what-if-value">
                    {formatExposure(row.whatIf)}
                  </td>
                  {compared ? (
                    <ChangeCell value={row.change} format={(value) => formatExposure(value)} testId="change-value" />
                  ) : null}
                  <td class="bar-col">
                    <MiniBar value={row.whatIf} reference={compared ? row.original : null} extent={extent} />
                  </td>
                  <td class="num col-dollar">{signedDollars(row.whatIfDollar)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <p class="muted small">
        {quality.positions_valued} of {quality.positions_total} holdings valued
        {quality.positions_private > 0 ? `, ${quality.positions_private} private (no public returns, left out)` : ""}
        {quality.symbols_missing.length > 0
          ? `; ${quality.symbols_missing.length} symbol${quality.symbols_missing.length === 1 ? "" : "s"} ` +
            "without betas for some factors"
          : ""}
        .
      </p>
    </div>
  );
}

/** The Original / What-if / Change column heads both comparison tables share. */
function ComparisonHeads(props: { compared: boolean; original: string | null | undefined }): JSX.Element {
  return (
    <>
      {props.compared ? (
        <th scope="col" class="num" title={props.original ?? undefined}>
          Original
        </th>
      ) : null}
      <th scope="col" class="num">
        What-if
      </th>
      {props.compared ? (
        <th scope="col" class="num">
          Change
        </th>
      ) : null}
    </>
  );
}
