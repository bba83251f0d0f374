// The what-if page's "Suggest hedge" card and "Save as portfolio" form.
//
// The hedge is the `hedge` of `POST /what-if` for the same request the page's numbers come from
// (its valid holdings, cash and compared portfolio, so the same benchmark): trades in a few
// instruments that minimize the tracking error or the total risk plus a penalty on their size
// (docs/design.md §11 "Hedge"). It is asked for only once the user opens it, and again 150 ms
// after any choice (target, instruments, the penalty slider) or the holdings stop changing; an
// answer to an older request is dropped. "Apply to holdings" hands the trades to the page, which
// adds them as shares and pays for them with cash (equity unchanged, as the hedge assumes).
//
// "Save as portfolio" creates a real portfolio from the what-if holdings: POST /portfolios, then
// the positions in one all-or-nothing CSV import; if the import fails the new portfolio is deleted
// again, and the form says so (client/src/lib/what-if-holdings.ts `saveAsPortfolio`).
import type { JSX } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiFailure, api, authorizedFetch, describeFailure, type JsonBody, unwrap } from "../api/client.ts";
import { formatDollars, formatExposure, formatNumber, formatPercent, missing } from "../lib/format.ts";
import {
  defaultPenalty,
  formatPenalty,
  type HedgeTargetChoice,
  hedgeOptions,
  instrumentChoices,
  normalizedSymbol,
  penaltyAt,
  penaltySteps,
  sliderPositionOf,
  toggleInstrument,
} from "../lib/hedge.ts";
import { type HypotheticalHolding, type SaveOutcome, saveAsPortfolio } from "../lib/what-if-holdings.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import { ErrorNotice, TableWrap } from "./ui.tsx";
import "./hedge-panel.css";

type WhatIfResult = JsonBody<Awaited<ReturnType<(typeof api)["what-if"]["$post"]>>>;
/** The body of `POST /what-if`. */
export type WhatIfBody = Parameters<(typeof api)["what-if"]["$post"]>[0]["json"];
export type HedgeBlock = NonNullable<WhatIfResult["hedge"]>;
type HedgeRisk = HedgeBlock["before"];

interface HedgeState {
  status: "idle" | "loading" | "ok" | "error";
  block: HedgeBlock | null;
  error: unknown;
}

const humanized = (key: string) => (key.charAt(0).toUpperCase() + key.slice(1)).replaceAll("_", " ");

export function HedgePanel(props: {
  /** The request behind the page's numbers (valid holdings only); null until there is one. */
  request: WhatIfBody | null;
  /** The benchmark of that answer's active risk; null with none. */
  benchmark: string | null;
  /** The page is recomputing: the holdings may have changed since the hedge was asked for. */
  stale: boolean;
  onApply: (block: HedgeBlock) => void;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState<HedgeTargetChoice>(props.benchmark === null ? "total" : "tracking_error");
  const [position, setPosition] = useState(sliderPositionOf(defaultPenalty));
  const [selected, setSelected] = useState<string[] | null>(null);
  const [added, setAdded] = useState<string[]>([]);
  const [adding, setAdding] = useState("");
  const [addError, setAddError] = useState<string | null>(null);
  /** The default instruments, as the last answer with the defaults listed them. */
  const [defaults, setDefaults] = useState<{ used: string[]; leftOut: HedgeBlock["instruments_left_out"] } | null>(
    null,
  );
  const [state, setState] = useState<HedgeState>({ status: "idle", block: null, error: null });
  const riskFactors = useAsync(
    (signal) => (open ? unwrap(api.risk.factors.$get({ query: {} }, { init: { signal } })) : Promise.resolve(null)),
    [open],
  );
  const names = useMemo(
    () => new Map((riskFactors.data?.factors ?? []).map((factor) => [factor.key, factor.name])),
    [riskFactors.data],
  );

  const penalty = penaltyAt(position);
  const choices = useMemo(() => ({ target, penalty, selected }), [target, penalty, selected]);
  const live = useMemo(() => ({ request: props.request, choices }), [props.request, choices]);
  const settled = useDebounced(live, 150);

  useEffect(() => {
    if (!open || settled.request === null) return;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, status: "loading" }));
    const json: WhatIfBody = { ...settled.request, hedge: hedgeOptions(settled.choices) };
    unwrap(api["what-if"].$post({ json }, { init: { signal: controller.signal } })).then(
      (result) => {
        // An answer to an older request (the choices or holdings moved on) is dropped.
        if (controller.signal.aborted) return;
        setState({ status: "ok", block: result.hedge, error: null });
        if (result.hedge?.instruments_default)
          setDefaults({ used: result.hedge.instruments, leftOut: result.hedge.instruments_left_out });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((previous) => ({ ...previous, status: "error", error }));
      },
    );
    return () => controller.abort();
  }, [open, settled]);

  if (!open)
    return (
      <div class="hedge-closed">
        <p class="hint">
          Trades in a few instruments (by default the lens ETFs) that minimize the tracking error or the total risk of
          these holdings, with a penalty on trade size.
        </p>
        <button
          type="button"
          class="button"
          onClick={() => setOpen(true)}
          disabled={props.request === null}
          data-testid="hedge-open"
        >
          Suggest hedge
        </button>
      </div>
    );

  const usedDefaults = defaults?.used ?? [];
  const leftOut = new Map((defaults?.leftOut ?? []).map((row) => [row.symbol, row]));
  const choicesList = instrumentChoices([...usedDefaults, ...leftOut.keys()], added);
  const checked = new Set(selected ?? usedDefaults);
  const pending = live !== settled || state.status === "loading" || props.stale;
  const block = state.block;

  const addSymbol = (event: Event) => {
    event.preventDefault();
    const symbol = normalizedSymbol(adding);
    if (symbol === null) {
      setAddError(`${JSON.stringify(adding.trim())} is not a ticker (letters, digits, dots, dashes)`);
      return;
    }
    setAddError(null);
    setAdding("");
    setAdded((list) => (list.includes(symbol) ? list : [...list, symbol]));
    setSelected((current) => toggleInstrument(current, usedDefaults, symbol, true));
  };

  return (
    <div class="hedge">
      <div class="hedge-inputs">
        {/* A <fieldset> would bring its border and padding to a row of radio buttons. */}
        <div class="hedge-target" role="radiogroup" aria-label="What the hedge minimizes">
          <label>
            <input
              type="radio"
              name="hedge-target"
              value="tracking_error"
              checked={target === "tracking_error"}
              disabled={props.benchmark === null}
              onChange={() => setTarget("tracking_error")}
            />{" "}
            Tracking error{props.benchmark ? ` vs ${props.benchmark}` : " (no benchmark)"}
          </label>
          <label>
            <input
              type="radio"
              name="hedge-target"
              value="total"
              checked={target === "total"}
              onChange={() => setTarget("total")}
            />{" "}
            Total risk
          </label>
        </div>

        <div class="field hedge-penalty">
          <label for="hedge-penalty">
            Trade penalty λ <output for="hedge-penalty">{formatPenalty(penalty)}</output>
          </label>
          <input
            id="hedge-penalty"
            type="range"
            min={0}
            max={penaltySteps}
            step={1}
            value={position}
            aria-valuetext={`${formatPenalty(penalty)} (annualized variance per squared unit of weight)`}
            aria-describedby="hedge-penalty-hint"
            data-testid="hedge-penalty"
            data-value={penalty}
            onInput={(event) => setPosition(Number(event.currentTarget.value))}
          />
          <small id="hedge-penalty-hint" class="hint">
            Log scale, 1e−8 to 100; default 1e−5. Higher: smaller trades, less risk taken off.
          </small>
        </div>

        {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of checkboxes */}
        <div class="hedge-instruments" role="group" aria-label="Hedge instruments">
          <span class="label">Instruments</span>
          {choicesList.length === 0 ? <span class="hint">Loading the default instruments…</span> : null}
          <ul>
            {choicesList.map((symbol) => {
              const out = leftOut.get(symbol);
              return (
                <li key={symbol}>
                  <label title={out ? `${out.reason}: ${out.detail}` : undefined}>
                    <input
                      type="checkbox"
                      checked={!out && checked.has(symbol)}
                      disabled={out !== undefined}
                      data-testid={`hedge-instrument-${symbol}`}
                      onChange={(event) =>
                        setSelected((current) =>
                          toggleInstrument(current, usedDefaults, symbol, event.currentTarget.checked),
                        )
                      }
                    />{" "}
                    {symbol}
                    {out ? <span class="hint"> (no {out.reason === "no_price" ? "close" : "loadings"})</span> : null}
                  </label>
                </li>
              );
            })}
          </ul>
          <form class="hedge-add" onSubmit={addSymbol}>
            <div class={`field${addError ? " field-invalid" : ""}`}>
              <label for="hedge-add-symbol">Add a symbol</label>
              <input
                id="hedge-add-symbol"
                type="text"
                autocomplete="off"
                value={adding}
                placeholder="Ticker"
                aria-invalid={addError ? true : undefined}
                aria-describedby={addError ? "hedge-add-error" : undefined}
                onInput={(event) => setAdding(event.currentTarget.value)}
              />
              {addError ? (
                <small id="hedge-add-error" class="field-error">
                  {addError}
                </small>
              ) : null}
            </div>
            <button type="submit" class="button small">
              Add
            </button>
            <button
              type="button"
              class="button small ghost"
              disabled={selected === null}
              onClick={() => {
                setSelected(null);
                setAdded([]);
              }}
            >
              Default instruments
            </button>
          </form>
        </div>
      </div>

      <div class="hedge-results">
        <p class="hedge-status muted small" role="status" aria-live="polite" data-testid="hedge-status">
          {pending
            ? "Computing the hedge…"
            : state.status === "error"
              ? "No hedge: see the message below."
              : block
                ? `Hedge as of ${block.date}: ${measureName(block)} ` +
                  `${formatPercent(block.target_risk.before, 2)} → ${formatPercent(block.target_risk.after, 2)}`
                : ""}
        </p>
        {state.status === "error" ? <ErrorNotice error={state.error} title="Could not compute the hedge" /> : null}
        {block ? (
          <div class="async" aria-busy={pending} data-stale={pending ? "" : undefined}>
            <HedgeResult block={block} names={names} />
            <div class="hedge-actions">
              <button
                type="button"
                class="button primary"
                disabled={pending || state.status !== "ok" || block.trades.every((trade) => trade.shares === 0)}
                data-testid="hedge-apply"
                onClick={() => props.onApply(block)}
              >
                Apply to holdings
              </button>
              <span class="hint">
                Adds the trades as shares (to 0.0001) and pays for them from cash, so equity stays{" "}
                {formatDollars(block.equity)}.
              </span>
            </div>
          </div>
        ) : null}
      </div>
    </div>
  );
}

const measureName = (block: HedgeBlock) =>
  block.target === "total" ? "volatility" : `tracking error vs ${block.benchmark ?? missing}`;

function HedgeResult(props: { block: HedgeBlock; names: ReadonlyMap<string, string> }): JSX.Element {
  const { block } = props;
  const active = block.target === "tracking_error";
  const exposures = (risk: HedgeRisk) => (active ? (risk.active_exposures ?? []) : risk.exposures);
  const afterExposures = new Map(exposures(block.after).map((row) => [row.factor_key, row]));
  /** Name, before, after, and the test id of the target's own row. */
  const riskRows: { name: string; before: number | null; after: number | null; testId?: string }[] = [
    {
      name: active ? `Tracking error vs ${block.benchmark}` : "Volatility",
      before: block.target_risk.before,
      after: block.target_risk.after,
      testId: "hedge-after-risk",
    },
  ];
  if (active)
    riskRows.push({ name: "Volatility", before: block.before.total.volatility, after: block.after.total.volatility });
  else if (block.before.active && block.after.active)
    riskRows.push({
      name: `Tracking error vs ${block.benchmark}`,
      before: block.before.active.tracking_error,
      after: block.after.active.tracking_error,
    });
  const split = (risk: HedgeRisk) => (active ? risk.active : risk.total);
  const before = split(block.before);
  const after = split(block.after);
  return (
    <div class="hedge-result">
      <TableWrap label="Suggested trades">
        <table class="data" aria-label="Suggested trades" data-testid="hedge-trades">
          <thead>
            <tr>
              <th scope="col">Instrument</th>
              <th scope="col" class="num">
                Trade
              </th>
              <th scope="col" class="num" title={`Dollars ÷ the close of ${block.date}`}>
                Shares
              </th>
              <th scope="col" class="num" title="Close of the date">
                Close
              </th>
              <th scope="col" class="num" title="Exposure weight before → after the trade">
                Weight
              </th>
            </tr>
          </thead>
          <tbody>
            {block.trades.map((trade) => (
              <tr key={trade.symbol} data-testid={`hedge-trade-${trade.symbol}`} data-value={trade.dollars}>
                <th scope="row" class="row-head">
                  {trade.symbol}
                </th>
                <td class="num">{formatDollars(trade.dollars)}</td>
                <td class="num">{formatNumber(trade.shares, 2)}</td>
                <td class="num">{formatNumber(trade.close, 2)}</td>
                <td class="num">
                  {formatPercent(trade.weight_before, 1)} → {formatPercent(trade.weight_after, 1)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Risk before and after the hedge">
        <table class="data" aria-label="Risk before and after the hedge" data-testid="hedge-risk">
          <thead>
            <tr>
              <th scope="col">Risk (annualized)</th>
              <th scope="col" class="num">
                Before
              </th>
              <th scope="col" class="num">
                After
              </th>
            </tr>
          </thead>
          <tbody>
            {riskRows.map((row) => (
              <tr key={row.name}>
                <th scope="row" class="row-head">
                  {row.name}
                </th>
                <td class="num">{formatPercent(row.before, 2)}</td>
                <td
                  class="num"
                  data-testid={row.testId}
                  data-value={row.testId === undefined ? undefined : (row.after ?? undefined)}
                >
                  {formatPercent(row.after, 2)}
                </td>
              </tr>
            ))}
            {before && after ? (
              <>
                <tr>
                  <th scope="row" class="row-head" title="Share of the target's variance from the risk factors">
                    Factor share of variance
                  </th>
                  <td class="num">{formatPercent(before.factor_share, 1)}</td>
                  <td class="num">{formatPercent(after.factor_share, 1)}</td>
                </tr>
                <tr>
                  <th scope="row" class="row-head" title="sqrt(252 × specific variance): what no factor explains">
                    Specific risk
                  </th>
                  <td class="num">{formatPercent(Math.sqrt(252 * Math.max(0, before.specific_variance)), 2)}</td>
                  <td class="num">{formatPercent(Math.sqrt(252 * Math.max(0, after.specific_variance)), 2)}</td>
                </tr>
              </>
            ) : null}
          </tbody>
        </table>
      </TableWrap>
      <TableWrap label="Risk factor exposures before and after the hedge">
        <table class="data" aria-label="Risk factor exposures before and after the hedge" data-testid="hedge-exposures">
          <thead>
            <tr>
              <th scope="col">{active ? "Active exposure" : "Exposure"}</th>
              <th scope="col" class="num">
                Before
              </th>
              <th scope="col" class="num">
                After
              </th>
            </tr>
          </thead>
          <tbody>
            {exposures(block.before).map((row) => {
              const later = afterExposures.get(row.factor_key);
              return (
                <tr key={row.factor_key} data-testid={`hedge-exposure-${row.factor_key}`}>
                  <th scope="row" class="row-head">
                    {props.names.get(row.factor_key) ?? humanized(row.factor_key)}
                  </th>
                  <td class="num" title={`± ${formatExposure(row.standard_error)} (one standard error)`}>
                    {formatExposure(row.exposure)}
                  </td>
                  <td class="num" title={later ? `± ${formatExposure(later.standard_error)}` : undefined}>
                    {formatExposure(later?.exposure ?? null)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <p class="hint">
        λ = {formatPenalty(block.penalty)}
        {block.penalty_default ? " (the default)" : ""}: the trades cost {formatNumber(block.penalty_cost, 8)} in
        annualized variance. {block.note}
      </p>
      {block.instruments_left_out.length > 0 ? (
        <p class="hint" data-testid="hedge-left-out">
          Left out of the default instruments:{" "}
          {block.instruments_left_out.map((row) => `${row.symbol} (${row.detail})`).join("; ")}.
        </p>
      ) : null}
    </div>
  );
}

/** `POST /portfolios`, the CSV import and the rollback, through the typed client. */
const saveSteps = {
  async create(body: { name: string; cash: number; benchmark_symbol?: string }) {
    return unwrap(api.portfolios.$post({ json: body }));
  },
  async importCsv(portfolioId: string, csv: string) {
    await authorizedFetch(`/api/v1/portfolios/${encodeURIComponent(portfolioId)}/positions/import?mode=replace`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: csv,
    });
  },
  async remove(portfolioId: string) {
    await unwrap(api.portfolios[":id"].$delete({ param: { id: portfolioId } }));
  },
};

export function SaveAsPortfolio(props: {
  /** The holdings to save (the page's valid rows); null while there is no answer. */
  holdings: readonly HypotheticalHolding[] | null;
  /** Why saving is not possible now (rows with errors, a recompute under way); null when it is. */
  blocked: string | null;
  cash: number;
  benchmark: string | null;
  /** The date the positions are opened on (the what-if's). */
  date: string | null;
}): JSX.Element {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ name: string; result: SaveOutcome } | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (props.holdings === null || props.date === null || name.trim() === "") return;
    setBusy(true);
    setOutcome(null);
    const result = await saveAsPortfolio(saveSteps, {
      name: name.trim(),
      cash: props.cash,
      ...(props.benchmark ? { benchmark: props.benchmark } : {}),
      holdings: props.holdings,
      openedOn: props.date,
    });
    setOutcome({ name: name.trim(), result });
    if (result.status === "saved") setName("");
    setBusy(false);
  };
  const result = outcome?.result;
  const nameIssue =
    result?.status === "not_created" && result.error instanceof ApiFailure
      ? (result.error.issues.find((issue) => issue.path === "name")?.message ?? null)
      : null;
  return (
    <form class="save-portfolio" onSubmit={(event) => void submit(event)} aria-label="Save as portfolio">
      <div class={`field${nameIssue ? " field-invalid" : ""}`}>
        <label for="save-portfolio-name">New portfolio name</label>
        <input
          id="save-portfolio-name"
          type="text"
          autocomplete="off"
          maxLength={100}
          value={name}
          aria-invalid={nameIssue ? true : undefined}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </div>
      <button
        type="submit"
        class="button"
        disabled={busy || props.blocked !== null || props.holdings === null || name.trim() === ""}
        data-testid="save-as-portfolio"
      >
        {busy ? "Saving…" : "Save as portfolio"}
      </button>
      <p class="hint">
        {props.blocked ??
          `${props.holdings?.length ?? 0} holdings opened on ${props.date ?? missing}, ` +
            `cash ${formatDollars(props.cash)}.`}
      </p>
      <div role="status" aria-live="polite" data-testid="save-portfolio-status">
        {result?.status === "saved" ? (
          <p class="save-result ok">
            Saved <a href={`/portfolios/${encodeURIComponent(result.id)}`}>{outcome?.name}</a>.
          </p>
        ) : null}
      </div>
      {result && result.status !== "saved" ? (
        <div class="state state-error" role="alert">
          {result.status === "not_created"
            ? `Could not create the portfolio: ${describeFailure(result.error)}`
            : result.status === "rolled_back"
              ? `Could not add the positions (${describeFailure(result.error)}); the new portfolio was deleted again.`
              : `Could not add the positions (${describeFailure(result.error)}), and the empty portfolio ` +
                `"${outcome?.name}" could not be deleted (${describeFailure(result.cleanupError)}): delete it on ` +
                "the Portfolios page."}
        </div>
      ) : null}
    </form>
  );
}
