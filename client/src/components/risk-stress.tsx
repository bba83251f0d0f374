// The stress test on the risk lens, for one portfolio (embedded by the Risk page): predictive
// shocks to some risk factors, propagated to the others through the date's factor covariance
// (their conditional mean), or the replay of a historical episode (the summed stored risk factor
// returns of (from, to]: a built-in worst stretch, a saved episode or a range typed here). Both
// ask `POST /portfolios/:id/stress` and show its two sides together: the impact with the moves
// propagated beside the impact of the given moves alone, by factor and by holding, and each
// option's Black–Scholes repricing beside its delta approximation (docs/design.md §11).
//
// Shocks are typed in percent (the API takes fractions: −10 % = −0.10) and run as the user
// types (debounced); a malformed one is marked at its input and nothing is sent until it is
// fixed, never silently dropped. Saving and deleting episodes needs MANAGE_PORTFOLIOS (`canManage`).
import type { ComponentChildren, JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { api, ApiFailure, describeFailure, unwrap, type JsonBody } from "../api/client.ts";
import { reasonLabel } from "../lib/data-quality.ts";
import {
  formatDollars,
  formatMoney,
  formatNumber,
  formatPercent,
  formatSignedDollars,
  missing,
} from "../lib/format.ts";
import {
  customEpisodeId,
  customRangeErrors,
  episodeLabel,
  episodeRangeText,
  factorCsv,
  factorMoveRows,
  formatMove,
  holdingCsv,
  holdingImpactRows,
  optionCsv,
  optionImpactRows,
  orderEpisodes,
  parsePercentShocks,
  planStressRequest,
  resolveEpisodeId,
  splitStressIssues,
  type FactorMoveRow,
  type MoveSource,
  type StressIssues,
  type StressMode,
} from "../lib/risk-stress.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import { DateField } from "./date-field.tsx";
import { ImpactBars, type ImpactBarItem } from "./impact-bars.tsx";
import { SaveNamedForm } from "./save-named.tsx";
import { ShockGrid } from "./shock-grid.tsx";
import { ConfirmDelete, download, Empty, ErrorNotice, Loading, Segmented, TableWrap } from "./ui.tsx";
import "../pages/analysis.css";
import "./data-quality.css";
import "./risk-stress.css";

type RiskFactor = JsonBody<Awaited<ReturnType<typeof api.risk.factors.$get>>>["factors"][number];
type Episode = JsonBody<Awaited<ReturnType<typeof api.stress.episodes.$get>>>["episodes"][number];
type StressAnswer = JsonBody<Awaited<ReturnType<(typeof api.portfolios)[":id"]["stress"]["$post"]>>>;
/** The risk lens answers (`predictive`, `historical`); the route also answers the lens scenarios (`lens`). */
type RiskStressResult = Extract<StressAnswer, { kind: StressMode }>;
type StressSide = RiskStressResult["unpropagated"];

const debounceMs = 300;
const noIssues: StressIssues = { shocks: {}, from: null, to: null, episode: null, other: [] };

const modeOptions: readonly { value: StressMode; label: string }[] = [
  { value: "predictive", label: "Predictive shocks" },
  { value: "historical", label: "Historical replay" },
];

const sourceLabels: Record<MoveSource, string> = {
  shocked: "shocked",
  replayed: "replayed",
  propagated: "propagated",
  not_moved: "not moved",
};

const sourceTitles: Record<MoveSource, string> = {
  shocked: "Your shock",
  replayed: "The factor's summed stored return over the episode",
  propagated: "The conditional mean given the other factors' moves, under the date's factor covariance",
  not_moved: "Not shocked, and the propagated side is unavailable: it does not move",
};

const unavailableText: Record<string, string> = {
  not_requested: "propagation was not asked for",
  no_covariance: "no factor covariance is stored for the date",
  singular_shocked_covariance: "the shocked factors' covariance is singular (their moves cannot be conditioned on)",
};

const repricedReasonText: Record<string, string> = {
  no_implied_volatility: "no implied volatility",
  underlying_price_not_positive: "underlying price not positive",
};

/** Whole dollars with an explicit sign (`−$200,104`, `+$8,295`) for the totals and tables. */
const formatDollarsFull = (value: number | null | undefined): string =>
  formatMoney(value, { cents: "never", sign: true });

const tone = (value: number | null | undefined): string =>
  value === null || value === undefined || value === 0 ? "" : value < 0 ? "negative" : "positive";

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export function RiskStress(props: {
  portfolioId: string;
  date: string | null;
  canManage: boolean;
  refreshKey?: number;
}): JSX.Element {
  const { portfolioId, canManage } = props;
  const date = props.date || null;
  const refreshKey = props.refreshKey ?? 0;
  const [mode, setMode] = useState<StressMode>("predictive");
  // Episodes are read once the historical mode is first opened: the built-ins are found in every
  // stored factor return, which a predictive stress does not need.
  const [historicalOpened, setHistoricalOpened] = useState(false);

  const factors = useAsync((signal) => unwrap(api.risk.factors.$get({ query: {} }, { init: { signal } })), []);
  const episodes = useAsync(
    (signal) => (historicalOpened ? unwrap(api.stress.episodes.$get({}, { init: { signal } })) : Promise.resolve(null)),
    [historicalOpened, refreshKey],
  );

  const factorList = useMemo(
    () => [...(factors.data?.factors ?? [])].sort((a, b) => a.display_order - b.display_order),
    [factors.data],
  );
  const factorKeys = useMemo(() => factorList.map((factor) => factor.key), [factorList]);
  const factorName = (key: string) => factorList.find((factor) => factor.key === key)?.name ?? key;

  // Predictive: the typed percent per risk factor.
  const [shockText, setShockText] = useState<Record<string, string>>({});
  const settledShockText = useDebounced(shockText, debounceMs);
  const parsedNow = parsePercentShocks(shockText, factorKeys);
  const parsedSettled = useMemo(() => parsePercentShocks(settledShockText, factorKeys), [settledShockText, factorKeys]);

  // Historical: the picked episode (null: the default, the first built-in) and a custom range.
  const [chosenEpisode, setChosenEpisode] = useState<string | null>(null);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const settledFrom = useDebounced(from, debounceMs);
  const settledTo = useDebounced(to, debounceMs);
  // The episode just saved is picked at once: the list that will hold it is still being read, and
  // without it the pick would fall back to the default episode (and replay that) meanwhile.
  const [justSaved, setJustSaved] = useState<Episode | null>(null);
  const episodeList = useMemo(() => {
    const listed = episodes.data?.episodes ?? [];
    return justSaved === null || listed.some((episode) => episode.id === justSaved.id)
      ? listed
      : [...listed, justSaved];
  }, [episodes.data, justSaved]);
  const episodeId =
    chosenEpisode === customEpisodeId
      ? customEpisodeId
      : !episodes.data
        ? null
        : resolveEpisodeId(chosenEpisode, episodeList);
  const rangeErrors = episodeId === customEpisodeId ? customRangeErrors(settledFrom, settledTo) : {};

  const plan = planStressRequest({
    mode,
    date,
    shocks: parsedSettled,
    episodeId,
    from: settledFrom,
    to: settledTo,
  });
  const requestKey = JSON.stringify([portfolioId, plan.body]);
  const stress = useAsync<RiskStressResult | null>(
    async (signal) => {
      if (plan.body === null) return null;
      const answer = await unwrap(
        api.portfolios[":id"].stress.$post({ param: { id: portfolioId }, json: plan.body }, { init: { signal } }),
      );
      if (answer.kind === "lens") throw new Error("the API answered a lens stress to a risk factor stress");
      return answer;
    },
    [requestKey, refreshKey],
  );
  const issues =
    stress.status === "error" && stress.error instanceof ApiFailure ? splitStressIssues(stress.error.issues) : noIssues;

  const result = stress.status === "ok" ? stress.data : null;
  const announcement =
    result === null || result === undefined
      ? ""
      : result.propagated === null
        ? `Total impact ${formatDollarsFull(result.unpropagated.total)}, not propagated.`
        : `Total impact ${formatDollarsFull(result.propagated.total)} propagated, ` +
          `${formatDollarsFull(result.unpropagated.total)} unpropagated.`;

  const changeMode = (next: StressMode) => {
    setMode(next);
    if (next === "historical") setHistoricalOpened(true);
  };

  return (
    <div class="risk-stress" data-testid="risk-stress">
      <div class="toolbar risk-stress-toolbar">
        <Segmented label="Stress test mode" value={mode} options={modeOptions} onChange={changeMode} />
        <p class="muted small risk-stress-mode-hint">
          {mode === "predictive"
            ? "Shock some risk factors; the others move by their conditional mean under the factor covariance."
            : "Replay the summed stored risk factor returns of an episode on the date's loadings."}
        </p>
      </div>
      {factors.status === "error" ? (
        <ErrorNotice error={factors.error} retry={factors.reload} title="Could not load the risk factors" />
      ) : null}

      <div class="risk-stress-layout">
        {mode === "predictive" ? (
          <Panel title="Shocks (%)" id="risk-stress-shocks" class="risk-stress-inputs">
            {factorList.length === 0 ? (
              factors.status === "error" ? (
                <Empty>The risk factors are needed to set shocks.</Empty>
              ) : factors.status === "ok" ? (
                <Empty>No active risk factor.</Empty>
              ) : (
                <Loading what="risk factors" />
              )
            ) : (
              <ShockInputs
                factors={factorList}
                text={shockText}
                errors={{ ...issues.shocks, ...parsedNow.errors }}
                onChange={(key, value) => setShockText((previous) => ({ ...previous, [key]: value }))}
                onClear={() => setShockText({})}
              />
            )}
          </Panel>
        ) : (
          <Panel title="Episode" id="risk-stress-episode" class="risk-stress-inputs">
            <EpisodePicker
              episodes={episodes}
              list={episodeList}
              episodeId={episodeId}
              episodeIssue={issues.episode}
              from={from}
              to={to}
              fromError={rangeErrors.from ?? issues.from}
              toError={rangeErrors.to ?? issues.to}
              rangeValid={from !== "" && to !== "" && Object.keys(customRangeErrors(from, to)).length === 0}
              canManage={canManage}
              factorName={factorName}
              onPick={setChosenEpisode}
              onFrom={setFrom}
              onTo={setTo}
              onSaved={(episode) => {
                setJustSaved(episode);
                setChosenEpisode(episode.id);
                episodes.reload();
              }}
              onDeleted={() => {
                setJustSaved(null);
                setChosenEpisode(null);
                episodes.reload();
              }}
            />
          </Panel>
        )}

        <Panel title="Impact" id="risk-stress-impact" class="risk-stress-outcome">
          <StressOutcome
            stress={stress}
            mode={mode}
            reason={plan.reason}
            issues={issues}
            portfolioId={portfolioId}
            factorKeys={factorKeys}
            factorName={factorName}
          />
        </Panel>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite" data-testid="risk-stress-announcement">
        {announcement}
      </p>
    </div>
  );
}

/**
 * One part of the component under an h3: the page embeds it in a card of its own (h2), so the
 * parts are not cards (a card in a card draws two frames).
 */
function Panel(props: { title: string; id: string; class: string; children: ComponentChildren }): JSX.Element {
  return (
    <section class={`risk-stress-panel ${props.class}`} aria-labelledby={`${props.id}-title`}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      {props.children}
    </section>
  );
}

function ShockInputs(props: {
  factors: readonly RiskFactor[];
  text: Readonly<Record<string, string>>;
  errors: Readonly<Record<string, string>>;
  onChange: (key: string, value: string) => void;
  onClear: () => void;
}): JSX.Element {
  return (
    <div class="custom-shocks">
      <ShockGrid
        factors={props.factors}
        text={props.text}
        errors={props.errors}
        onChange={props.onChange}
        onClear={props.onClear}
        hint={
          "Each risk factor's move in its own return units: −10 means the factor falls 10%. Leave a factor " +
          "empty not to shock it; it then moves with the shocked ones."
        }
        label="Shock per risk factor, in percent"
        idPrefix="risk-shock-"
      />
    </div>
  );
}

function EpisodePicker(props: {
  episodes: ReturnType<typeof useAsync<{ episodes: Episode[] } | null>>;
  /** The episodes listed, with one just saved. */
  list: readonly Episode[];
  episodeId: string | null;
  episodeIssue: string | null;
  from: string;
  to: string;
  fromError: string | null | undefined;
  toError: string | null | undefined;
  rangeValid: boolean;
  canManage: boolean;
  factorName: (key: string) => string;
  onPick: (id: string) => void;
  onFrom: (value: string) => void;
  onTo: (value: string) => void;
  onSaved: (episode: Episode) => void;
  onDeleted: () => void;
}): JSX.Element {
  const { episodes, list } = props;
  const { builtin, saved } = orderEpisodes(list);
  const selected = list.find((episode) => episode.id === props.episodeId) ?? null;
  const isCustom = props.episodeId === customEpisodeId;
  const listLoading = episodes.data === undefined || episodes.data === null;
  const selectId = "risk-episode-select";

  return (
    <div class="episode-picker">
      <div class={`field${props.episodeIssue ? " field-invalid" : ""}`}>
        <label for={selectId}>Episode to replay</label>
        <select
          id={selectId}
          data-testid={selectId}
          value={props.episodeId ?? ""}
          aria-invalid={props.episodeIssue ? true : undefined}
          aria-describedby={props.episodeIssue ? `${selectId}-error` : undefined}
          onChange={(event) => props.onPick(event.currentTarget.value)}
        >
          {props.episodeId === null ? (
            <option value="" disabled>
              {listLoading && episodes.status !== "error" ? "Loading episodes…" : "No stored episode"}
            </option>
          ) : null}
          {builtin.length > 0 ? (
            <optgroup label="Built-in: each risk factor's worst 20 stored days">
              {builtin.map((episode) => (
                <option key={episode.id} value={episode.id}>
                  {episodeLabel(episode)}
                </option>
              ))}
            </optgroup>
          ) : null}
          {saved.length > 0 ? (
            <optgroup label="Saved">
              {saved.map((episode) => (
                <option key={episode.id} value={episode.id}>
                  {episodeLabel(episode)}
                </option>
              ))}
            </optgroup>
          ) : null}
          <optgroup label="By hand">
            <option value={customEpisodeId}>Custom range…</option>
          </optgroup>
        </select>
        {props.episodeIssue ? (
          <small id={`${selectId}-error`} class="field-error">
            {props.episodeIssue}
          </small>
        ) : null}
      </div>
      {episodes.status === "error" ? (
        <ErrorNotice error={episodes.error} retry={episodes.reload} title="Could not load the episodes" />
      ) : null}
      {!listLoading && builtin.length === 0 ? (
        <p class="muted small">
          No built-in episode: no risk factor has 20 stored daily returns yet. A custom range can still be replayed.
        </p>
      ) : null}

      {selected ? (
        <div class="episode-details" data-testid="risk-episode-details">
          <p class="episode-name">
            {selected.name} {selected.builtin ? <span class="badge">built-in</span> : null}
          </p>
          {selected.description ? <p class="muted small">{selected.description}</p> : null}
          <dl class="episode-facts">
            <dt>Range</dt>
            <dd>
              ({selected.from}, {selected.to}]
            </dd>
            <dt>Stored days</dt>
            <dd>{episodeRangeText(selected)}</dd>
            {selected.basis ? (
              <>
                <dt>Basis</dt>
                <dd>
                  {props.factorName(selected.basis.factor_key)} summed {formatMove(selected.basis.sum)} over{" "}
                  {plural(selected.basis.days, "stored day")}
                </dd>
              </>
            ) : null}
          </dl>
          {!selected.builtin && props.canManage ? (
            <ConfirmDelete
              what={selected.name}
              buttonLabel={`Delete episode ${selected.name}`}
              remove={() => unwrap(api.stress.episodes[":id"].$delete({ param: { id: selected.id } }))}
              onDeleted={props.onDeleted}
            />
          ) : null}
        </div>
      ) : null}

      {isCustom ? (
        <div class="episode-range">
          <p class="hint">
            {"The episode is (from, to]: the stored risk factor returns are summed over the days after " +
              "“from”, up to and including “to”."}
          </p>
          {/* A <fieldset> would bring its border, padding and legend layout to a row of two fields. */}
          {/* biome-ignore lint/a11y/useSemanticElements: a labelled row of two inputs */}
          <div class="episode-range-fields" role="group" aria-label="Custom range">
            {/* Text that is not a date is no range ("", with the field saying why): nothing to save. */}
            <DateField
              label="From (the day before the first day)"
              id="risk-episode-from"
              value={props.from}
              error={props.fromError ?? null}
              data-testid="risk-episode-from"
              onChange={(date) => props.onFrom(date ?? "")}
            />
            <DateField
              label="To (the last day)"
              id="risk-episode-to"
              value={props.to}
              error={props.toError ?? null}
              data-testid="risk-episode-to"
              onChange={(date) => props.onTo(date ?? "")}
            />
          </div>
          {props.canManage ? (
            <SaveEpisode from={props.from} to={props.to} disabled={!props.rangeValid} onSaved={props.onSaved} />
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function SaveEpisode(props: {
  from: string;
  to: string;
  disabled: boolean;
  onSaved: (episode: Episode) => void;
}): JSX.Element {
  return (
    <SaveNamedForm
      noun="episode"
      title="Save this range as an episode"
      heading="h4"
      idPrefix="risk-episode"
      disabled={props.disabled}
      save={(fields) => unwrap(api.stress.episodes.$post({ json: { ...fields, from: props.from, to: props.to } }))}
      onSaved={props.onSaved}
    />
  );
}

function StressOutcome(props: {
  stress: ReturnType<typeof useAsync<RiskStressResult | null>>;
  mode: StressMode;
  /** Why nothing is asked (invalid or missing inputs), or null. */
  reason: string | null;
  issues: StressIssues;
  portfolioId: string;
  factorKeys: readonly string[];
  factorName: (key: string) => string;
}): JSX.Element {
  const { stress, issues } = props;
  if (props.reason !== null) return <Empty>{props.reason}</Empty>;
  // Refused shocks keep the last result (dimmed) while the user corrects them at their inputs;
  // any other failure (a date without data, an episode without stored returns, a portfolio not
  // found) replaces it: it would describe other inputs.
  const onlyShockIssues =
    props.mode === "predictive" && Object.keys(issues.shocks).length > 0 && issues.other.length === 0;
  if (stress.status === "error" && !onlyShockIssues)
    return <ErrorNotice error={stress.error} retry={stress.reload} title="Could not run the stress test" />;
  const failure =
    stress.status === "error" ? (
      <div class="state state-error" role="alert">
        <strong>The API refused the shocks:</strong> {describeFailure(stress.error)}. The inputs at fault are marked.
      </div>
    ) : null;
  if (stress.data === undefined) return failure ?? <Loading what="the stress test" />;
  const result = stress.data;
  if (result === null) return failure ?? <Loading what="the stress test" />;
  return (
    <div
      class="async"
      aria-busy={stress.status === "loading"}
      data-stale={stress.status === "loading" || stress.status === "error" ? "" : undefined}
    >
      {failure}
      <StressResultView
        result={result}
        portfolioId={props.portfolioId}
        factorKeys={props.factorKeys}
        factorName={props.factorName}
      />
    </div>
  );
}

function SideTotal(props: {
  label: string;
  side: StressSide | null;
  testId: string;
  primary: boolean;
  unavailable?: string;
}): JSX.Element {
  const { side } = props;
  const options = side !== null && side.options.length > 0;
  return (
    <div class={`stress-total${props.primary ? "" : " risk-stress-secondary"}`}>
      <div class="label">{props.label}</div>
      <div
        class={`${props.primary ? "stress-total-value" : "risk-stress-secondary-value"} ${tone(side?.total)}`}
        data-testid={props.testId}
        data-value={side?.total ?? ""}
      >
        {side === null ? missing : formatDollarsFull(side.total)}
      </div>
      <div class="muted small">
        {side === null
          ? (props.unavailable ?? "unavailable")
          : `${formatPercent(side.total_return, 2)} of equity` +
            (options ? ` · options repriced ${formatDollarsFull(side.total_repriced)}` : "")}
      </div>
    </div>
  );
}

function StressResultView(props: {
  result: RiskStressResult;
  portfolioId: string;
  factorKeys: readonly string[];
  factorName: (key: string) => string;
}): JSX.Element {
  const { result, factorName } = props;
  const rows = factorMoveRows(result, props.factorKeys);
  const holdings = holdingImpactRows(result);
  const options = optionImpactRows(result);
  const headline = result.propagated ?? result.unpropagated;
  const propagatedShown = result.propagated !== null;
  const unavailable = result.propagated_unavailable;
  const episode = result.episode;
  const stem = `risk-stress-${result.kind}-${props.portfolioId}-${result.date}`;
  const exportCsv = (csv: string, table: string) =>
    download(new Blob([csv], { type: "text/csv" }), `${stem}-${table}.csv`);

  // Keys prefixed: ImpactBars' rows are `impact-<key>` test ids, and the Risk page's own bars use the factor keys.
  const items: ImpactBarItem[] = rows.map((row) => ({
    key: `stress-${row.key}`,
    label: factorName(row.key),
    detail: `${sourceLabels[row.source]} · move ${formatMove(row.move)}`,
    value: propagatedShown ? row.impact : row.impactUnpropagated,
    text: formatSignedDollars(propagatedShown ? row.impact : row.impactUnpropagated),
    title:
      `${factorName(row.key)}: $ exposure ${formatDollarsFull(row.exposureDollar)} × move ${formatMove(row.move)} ` +
      `= ${formatDollarsFull(propagatedShown ? row.impact : row.impactUnpropagated)}`,
  }));
  items.push({
    key: "stress-total",
    label: propagatedShown ? "Total, propagated" : "Total",
    detail: `${formatPercent(headline.total_return, 2)} of equity`,
    value: headline.total,
    text: formatSignedDollars(headline.total),
    total: true,
    title: `Total: ${formatDollarsFull(headline.total)}`,
  });
  const deltaOnly = headline.options_delta_only.length;

  return (
    <div class="stress-result risk-stress-result" data-testid="risk-stress-result">
      <div class="stress-summary">
        <div>
          <div class="label">{result.kind === "predictive" ? "Predictive stress" : "Historical replay"}</div>
          <div class="stress-scenario-name" data-testid="risk-stress-scenario">
            {result.kind === "predictive"
              ? Object.entries(result.scenario.shocks)
                  .map(([key, shock]) => `${factorName(key)} ${formatMove(shock)}`)
                  .join(", ")
              : result.scenario.name}
          </div>
          <div class="muted small">
            as of {result.date} · equity {formatDollars(result.equity)}
            {episode ? ` · (${episode.from}, ${episode.to}], ${plural(episode.days, "stored day")}` : ""}
          </div>
        </div>
        <div class="risk-stress-totals">
          <SideTotal
            label="Total impact, propagated"
            side={result.propagated}
            testId="risk-stress-total"
            primary
            unavailable="not propagated (see below)"
          />
          <SideTotal
            label="Unpropagated"
            side={result.unpropagated}
            testId="risk-stress-unpropagated-total"
            primary={false}
          />
        </div>
      </div>

      {unavailable ? (
        <p class="analysis-note" role="note" data-testid="risk-stress-unpropagated-only">
          <span class="badge warn">Not propagated</span>
          {unavailableText[unavailable.reason] ?? reasonLabel(unavailable.reason)}
          {unavailable.detail ? `: ${unavailable.detail}` : ""}. The factors not{" "}
          {result.kind === "predictive" ? "shocked" : "in the episode"} do not move; the bars show the unpropagated
          impact.
        </p>
      ) : null}
      {result.missing.length > 0 ? (
        <p class="analysis-note" role="note" data-testid="risk-stress-missing">
          <span class="badge warn">Partial episode</span> No stored return in the episode for{" "}
          {result.missing.map(factorName).join(", ")}: {result.missing.length === 1 ? "it moves" : "they move"} by the
          conditional mean on the propagated side and not at all on the unpropagated side.
        </p>
      ) : null}
      {deltaOnly > 0 ? (
        <p class="analysis-note" role="note">
          <span class="badge">Delta only</span> {plural(deltaOnly, "option")} without an implied volatility{" "}
          {deltaOnly === 1 ? "stays" : "stay"} at {deltaOnly === 1 ? "its" : "their"} delta approximation in the
          repriced total.
        </p>
      ) : null}

      <ImpactBars
        items={items}
        label={propagatedShown ? "Impact per risk factor, propagated" : "Impact per risk factor"}
        testId="risk-impact-bars"
      />

      <div class="risk-stress-exports toolbar">
        <span class="label">Download CSV:</span>
        <button type="button" class="button small" onClick={() => exportCsv(factorCsv(rows, factorName), "factors")}>
          Factors
        </button>
        <button type="button" class="button small" onClick={() => exportCsv(holdingCsv(holdings), "holdings")}>
          Holdings
        </button>
        {options.length > 0 ? (
          <button type="button" class="button small" onClick={() => exportCsv(optionCsv(options), "options")}>
            Options
          </button>
        ) : null}
      </div>

      <FactorTable rows={rows} result={result} factorName={factorName} />
      <HoldingTable holdings={holdings} result={result} />
      {options.length > 0 ? <OptionTable options={options} /> : null}
      <LeftOutList result={result} />
    </div>
  );
}

function FactorTable(props: {
  rows: readonly FactorMoveRow[];
  result: RiskStressResult;
  factorName: (key: string) => string;
}): JSX.Element {
  const { result } = props;
  return (
    <TableWrap label="Risk factor moves and their impact">
      <table class="data" data-testid="risk-move-table">
        <caption class="risk-stress-caption">Risk factor moves and their impact, propagated and unpropagated</caption>
        <thead>
          <tr>
            <th scope="col">Risk factor</th>
            <th scope="col">Source</th>
            <th scope="col" class="num">
              Move
            </th>
            <th scope="col" class="num">
              $ exposure
            </th>
            <th scope="col" class="num">
              Impact, propagated
            </th>
            <th scope="col" class="num">
              Impact, unpropagated
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.key} data-source={row.source}>
              <th scope="row" class="row-head">
                {props.factorName(row.key)}
              </th>
              <td>
                <span class={`move-source move-source-${row.source}`} title={sourceTitles[row.source]}>
                  {sourceLabels[row.source]}
                </span>
              </td>
              <td class="num" data-testid={`risk-move-${row.key}`} data-value={row.move}>
                {formatMove(row.move)}
              </td>
              <td class="num">{formatDollarsFull(row.exposureDollar)}</td>
              <td class={`num ${tone(row.impact)}`}>{formatDollarsFull(row.impact)}</td>
              <td class={`num ${tone(row.impactUnpropagated)}`}>{formatDollarsFull(row.impactUnpropagated)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <td>Total</td>
            <td />
            <td />
            <td />
            <td class="num">{formatDollarsFull(result.propagated?.total)}</td>
            <td class="num">{formatDollarsFull(result.unpropagated.total)}</td>
          </tr>
        </tfoot>
      </table>
    </TableWrap>
  );
}

function HoldingTable(props: {
  holdings: ReturnType<typeof holdingImpactRows>;
  result: RiskStressResult;
}): JSX.Element {
  const { holdings, result } = props;
  if (holdings.length === 0)
    return <p class="muted small">No holding has loadings on this date: there is no impact by holding to show.</p>;
  return (
    <TableWrap label="Impact per holding" class="risk-stress-holdings">
      <table class="data" data-testid="risk-holding-table">
        <caption class="risk-stress-caption">
          Impact per holding (options at their delta, in their underlying's row), largest first
        </caption>
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col" class="num">
              Positions
            </th>
            <th scope="col" class="num">
              $ exposure
            </th>
            <th scope="col" class="num">
              Move
            </th>
            <th scope="col" class="num">
              Impact, propagated
            </th>
            <th scope="col" class="num">
              Impact, unpropagated
            </th>
          </tr>
        </thead>
        <tbody>
          {holdings.map((row) => (
            <tr key={row.symbol} data-testid={`risk-holding-${row.symbol}`}>
              <th scope="row" class="row-head">
                {row.symbol}
              </th>
              <td class="num">{row.positionIds.length}</td>
              <td class="num">{formatDollarsFull(row.dollarExposure)}</td>
              <td class="num">{formatMove(row.move)}</td>
              <td class={`num ${tone(row.impact)}`} data-value={row.impact ?? ""}>
                {formatDollarsFull(row.impact)}
              </td>
              <td class={`num ${tone(row.impactUnpropagated)}`}>{formatDollarsFull(row.impactUnpropagated)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <td>Total (options at delta)</td>
            <td />
            <td />
            <td />
            <td class="num">{formatDollarsFull(result.propagated?.total)}</td>
            <td class="num">{formatDollarsFull(result.unpropagated.total)}</td>
          </tr>
        </tfoot>
      </table>
    </TableWrap>
  );
}

function repricedCell(side: ReturnType<typeof optionImpactRows>[number]["propagated"]): JSX.Element {
  if (side === null) return <td class="num">{missing}</td>;
  if (side.repriced === null)
    return (
      <td class="num muted" title={side.repricedReason ?? undefined}>
        {missing} <span class="small">{repricedReasonText[side.repricedReason ?? ""] ?? side.repricedReason}</span>
      </td>
    );
  return <td class={`num ${tone(side.repriced)}`}>{formatDollarsFull(side.repriced)}</td>;
}

function OptionTable(props: { options: ReturnType<typeof optionImpactRows> }): JSX.Element {
  return (
    <TableWrap label="Options: delta approximation and repricing">
      <table class="data" data-testid="risk-option-table">
        <caption class="risk-stress-caption">
          Options: the delta approximation beside the Black–Scholes repricing, propagated and unpropagated
        </caption>
        <thead>
          <tr>
            <th scope="col" rowSpan={2}>
              Option
            </th>
            <th scope="col" rowSpan={2} class="num">
              Contracts
            </th>
            <th scope="col" rowSpan={2} class="num">
              Delta
            </th>
            <th scope="colgroup" colSpan={3} class="risk-stress-group">
              Propagated
            </th>
            <th scope="colgroup" colSpan={3} class="risk-stress-group">
              Unpropagated
            </th>
          </tr>
          <tr>
            <th scope="col" class="num">
              Underlying move
            </th>
            <th scope="col" class="num">
              Delta approx.
            </th>
            <th scope="col" class="num">
              Repriced
            </th>
            <th scope="col" class="num">
              Underlying move
            </th>
            <th scope="col" class="num">
              Delta approx.
            </th>
            <th scope="col" class="num">
              Repriced
            </th>
          </tr>
        </thead>
        <tbody>
          {props.options.map((option) => (
            <tr key={option.positionId} data-testid={`risk-option-${option.positionId}`}>
              <th scope="row" class="row-head">
                {option.symbol}
                <span class="muted small">
                  {" "}
                  {option.optionType} on {option.underlyingSymbol}
                </span>
              </th>
              <td class="num">
                {formatNumber(option.contracts)} × {formatNumber(option.multiplier)}
              </td>
              <td class="num">{formatNumber(option.delta, 3)}</td>
              <td class="num">{formatMove(option.propagated?.underlyingMove)}</td>
              <td class={`num ${tone(option.propagated?.deltaApproximation)}`}>
                {formatDollarsFull(option.propagated?.deltaApproximation)}
              </td>
              {repricedCell(option.propagated)}
              <td class="num">{formatMove(option.unpropagated?.underlyingMove)}</td>
              <td class={`num ${tone(option.unpropagated?.deltaApproximation)}`}>
                {formatDollarsFull(option.unpropagated?.deltaApproximation)}
              </td>
              {repricedCell(option.unpropagated)}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** The symbols and positions in no number of the answer, each with the API's reason and detail. */
function LeftOutList(props: { result: RiskStressResult }): JSX.Element {
  const { symbols_left_out: symbols, positions_left_out: positions, date } = props.result;
  if (symbols.length === 0 && positions.length === 0)
    return (
      <p class="left-out-none muted small" data-testid="risk-stress-left-out">
        On {date}: no held position is left out of these numbers.
      </p>
    );
  const positionCount = symbols.reduce((sum, row) => sum + row.position_ids.length, 0) + positions.length;
  // Positions by reason: "1 private, 2 unpriced".
  const byReason = new Map<string, number>();
  for (const row of positions) byReason.set(row.reason, (byReason.get(row.reason) ?? 0) + 1);
  const line = [
    symbols.length > 0 ? `${plural(symbols.length, "symbol")} without usable loadings` : "",
    ...[...byReason].map(([reason, count]) => `${count} ${reasonLabel(reason).toLowerCase()}`),
  ]
    .filter(Boolean)
    .join(", ");
  return (
    <details class="left-out" data-testid="risk-stress-left-out">
      <summary>
        <span class="badge warn">Left out</span> <strong>{plural(positionCount, "position")}</strong>
        <span class="muted">
          {" "}
          · {line} · on {date}
        </span>
      </summary>
      <TableWrap label={`Positions left out of the stress test on ${date}`}>
        <table class="data left-out-table">
          <caption class="visually-hidden">Positions left out of the stress test on {date}, with the reason</caption>
          <thead>
            <tr>
              <th scope="col">Symbol</th>
              <th scope="col" class="num">
                Positions
              </th>
              <th scope="col">Reason</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {symbols.map((row) => (
              <tr key={`symbol-${row.symbol}`} data-reason={row.reason}>
                <th scope="row">{row.symbol}</th>
                <td class="num">{row.position_ids.length}</td>
                <td>
                  <span class="badge warn">{reasonLabel(row.reason)}</span>
                </td>
                <td class="wrap muted">{row.detail ?? ""}</td>
              </tr>
            ))}
            {positions.map((row) => (
              <tr key={`position-${row.position_id}`} data-reason={row.reason} title={`position ${row.position_id}`}>
                <th scope="row">
                  {row.symbol}
                  {row.beta_symbol !== row.symbol ? <span class="muted small"> on {row.beta_symbol}</span> : null}
                </th>
                <td class="num">1</td>
                <td>
                  <span class={`badge${row.reason === "private" ? "" : " bad"}`}>{reasonLabel(row.reason)}</span>
                </td>
                <td class="wrap muted">
                  {row.detail ?? (row.reason === "private" ? "no public returns: left out by design" : "")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </details>
  );
}
