// Stress: a portfolio (kept in the URL as `?portfolio=`), a scenario (built-in, saved, or
// shocks set by hand; `?scenario=`) and an optional date; the $ impact per shocked factor
// (exposure_dollar × shock) as diverging bars with the value printed beside each, and the
// total. Hand-set shocks are typed in percent (the API takes fractions: −10 % = −0.10) and
// run as the user types (debounced). Saving and deleting scenarios needs MANAGE_PORTFOLIOS.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useMemo, useState } from "preact/hooks";
import { api, ApiFailure, describeFailure, unwrap, type JsonBody } from "../api/client.ts";
import { DateField } from "../components/date-field.tsx";
import { ImpactBars, type ImpactBarItem } from "../components/impact-bars.tsx";
import { SaveNamedForm } from "../components/save-named.tsx";
import { ShockGrid } from "../components/shock-grid.tsx";
import { Async, Card, Empty, ErrorNotice, Loading, Page, TableWrap } from "../components/ui.tsx";
import { formatDollars, formatMoney, formatPercent, formatSignedDollars, missing } from "../lib/format.ts";
import { parseNumberInput } from "../lib/what-if-holdings.ts";
import { can, session } from "../state/session.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import "./analysis.css";

type Scenario = JsonBody<Awaited<ReturnType<typeof api.stress.scenarios.$get>>>["scenarios"][number];
type Factor = JsonBody<Awaited<ReturnType<typeof api.factors.$get>>>["factors"][number];
type Portfolio = JsonBody<Awaited<ReturnType<typeof api.portfolios.$get>>>["portfolios"][number];
type StressResult = JsonBody<Awaited<ReturnType<(typeof api.portfolios)[":id"]["stress"]["$post"]>>>;

const customId = "custom";
const minus = "\u2212";

/** A shock (a fraction) as a signed percentage: +3%, −20%, −2.5%. */
function formatShock(shock: number | null | undefined): string {
  if (shock === null || shock === undefined || !Number.isFinite(shock)) return missing;
  const percent = Number((shock * 100).toPrecision(10));
  return `${percent < 0 ? minus : percent > 0 ? "+" : ""}${Math.abs(percent)}%`;
}

/** A shock as the text of its percent input ("-20" for −0.2), without float noise (0.03 × 100). */
function shockInputText(shock: number): string {
  return String(Number((shock * 100).toPrecision(10)));
}

/** Whole dollars with an explicit sign (`−$200,104`, `+$8,295`) for the detail table. */
const formatDollarsFull = (value: number | null | undefined): string =>
  formatMoney(value, { cents: "never", sign: true });

interface ParsedShocks {
  shocks: Record<string, number>;
  /** Factor key → what is wrong with its input. */
  errors: Record<string, string>;
}

/** The hand-set shocks: percent text per factor → fractions; empty inputs are not shocked. */
function parseShocks(text: Readonly<Record<string, string>>): ParsedShocks {
  const shocks: Record<string, number> = {};
  const errors: Record<string, string> = {};
  for (const [key, value] of Object.entries(text)) {
    const parsed = parseNumberInput(value);
    if (parsed === "invalid") errors[key] = `must be a number of percent, got ${JSON.stringify(value.trim())}`;
    else if (parsed !== "empty") shocks[key] = Number((parsed / 100).toPrecision(12));
  }
  return { shocks, errors };
}

/** The API's `shocks.<factor>` issues by factor key, and everything else. */
function splitShockIssues(error: unknown): {
  byFactor: Record<string, string>;
  other: { path: string; message: string }[];
} {
  const byFactor: Record<string, string> = {};
  const other: { path: string; message: string }[] = [];
  if (error instanceof ApiFailure) {
    for (const issue of error.issues) {
      const factorKey = /^shocks\.([a-z0-9_]+)$/.exec(issue.path)?.[1];
      if (factorKey !== undefined) byFactor[factorKey] = issue.message;
      else other.push(issue);
    }
  }
  return { byFactor, other };
}

export function StressPage(): JSX.Element {
  const location = useLocation();
  const setQuery = (changes: Record<string, string | null>) => {
    const params = new URLSearchParams(location.query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) params.delete(key);
      else params.set(key, value);
    }
    const search = params.toString();
    location.route(`${location.path}${search ? `?${search}` : ""}`, true);
  };

  const portfolios = useAsync((signal) => unwrap(api.portfolios.$get({}, { init: { signal } })), []);
  const factors = useAsync((signal) => unwrap(api.factors.$get({}, { init: { signal } })), []);
  const scenarios = useAsync((signal) => unwrap(api.stress.scenarios.$get({}, { init: { signal } })), []);

  const portfolioList = portfolios.data?.portfolios ?? [];
  const portfolioId = location.query["portfolio"] || portfolioList[0]?.id || "";
  const portfolio = portfolioList.find((p) => p.id === portfolioId);
  const scenarioList = scenarios.data?.scenarios ?? [];
  const selectedId = location.query["scenario"] || scenarioList[0]?.id || customId;
  const selected = scenarioList.find((scenario) => scenario.id === selectedId) ?? null;
  const isCustom = selectedId === customId;
  const activeFactors = useMemo(
    () =>
      (factors.data?.factors ?? [])
        .filter((factor) => factor.is_active)
        .sort((a, b) => a.display_order - b.display_order),
    [factors.data],
  );

  const [date, setDate] = useState("");
  const [customText, setCustomText] = useState<Record<string, string>>({});
  const settledDate = useDebounced(date, 300);
  const settledCustom = useDebounced(customText, 300);
  const parsedNow = parseShocks(customText);
  const parsedSettled = useMemo(() => parseShocks(settledCustom), [settledCustom]);

  // What to run: a known scenario as soon as it is picked; hand-set shocks once typing settles
  // and they parse. `null` = nothing to run (with the reason shown instead of a result).
  const request: { scenario_id: string } | { shocks: Record<string, number> } | null = isCustom
    ? Object.keys(parsedSettled.errors).length === 0 && Object.keys(parsedSettled.shocks).length > 0
      ? { shocks: parsedSettled.shocks }
      : null
    : selected
      ? { scenario_id: selected.id }
      : null;
  const requestKey = JSON.stringify([portfolioId, settledDate, request]);
  const stress = useAsync<StressResult | null>(
    (signal) => {
      if (!portfolioId || request === null) return Promise.resolve(null);
      const json = { ...request, ...(settledDate ? { date: settledDate } : {}) };
      return unwrap(api.portfolios[":id"].stress.$post({ param: { id: portfolioId }, json }, { init: { signal } }));
    },
    [requestKey],
  );
  const apiIssues = stress.status === "error" ? splitShockIssues(stress.error) : { byFactor: {}, other: [] };
  // A date the batch has not computed answers 404 NO_DATA without a field: it is the date's fault.
  const noData =
    stress.status === "error" &&
    stress.error instanceof ApiFailure &&
    stress.error.code === "NO_DATA" &&
    settledDate !== "";
  const dateIssue =
    apiIssues.other.find((issue) => issue.path === "date")?.message ??
    (noData ? "no computed data for this date" : null);

  const selectScenario = (id: string) => setQuery({ scenario: id });
  const customize = (scenario: Scenario) => {
    setCustomText(
      Object.fromEntries(Object.entries(scenario.shocks).map(([key, shock]) => [key, shockInputText(shock)])),
    );
    selectScenario(customId);
  };

  return (
    <Page
      title="Stress test"
      subtitle={
        "The $ impact of factor shocks on a portfolio: impact = $ exposure to the factor × its shock, " +
        "summed over the shocked factors."
      }
    >
      {/* A <fieldset> would bring its border, padding and legend layout to a toolbar styled as a row. */}
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of controls */}
      <div class="toolbar stress-toolbar" role="group" aria-label="Stress test inputs">
        <div class="field">
          <label for="stress-portfolio">Portfolio</label>
          <select
            id="stress-portfolio"
            value={portfolioId}
            disabled={portfolioList.length === 0}
            onChange={(event) => setQuery({ portfolio: event.currentTarget.value })}
          >
            {portfolioList.length === 0 ? (
              <option value="">{portfolios.status === "loading" ? "Loading…" : "No portfolios"}</option>
            ) : null}
            {portfolioList.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
            {portfolioId && portfolioList.length > 0 && !portfolio ? (
              <option value={portfolioId}>{portfolioId} (not found)</option>
            ) : null}
          </select>
        </div>
        {/* While the text is not a date the last date stays in use (the field says what is wrong). */}
        <DateField
          label="Date (empty: latest)"
          id="stress-date"
          value={date}
          error={dateIssue}
          onChange={(next) => {
            if (next !== null) setDate(next);
          }}
        />
      </div>
      {portfolios.status === "error" ? (
        <ErrorNotice error={portfolios.error} retry={portfolios.reload} title="Could not load the portfolios" />
      ) : null}
      {portfolios.status === "ok" && portfolioList.length === 0 ? (
        <Empty>No portfolios yet: create one on the Portfolios page to stress it.</Empty>
      ) : null}

      <div class="stress-layout">
        <Card title="Scenario" label="Scenario" class="stress-picker">
          <Async state={scenarios} what="scenarios">
            {(data) => (
              <ScenarioPicker
                scenarios={data.scenarios}
                selectedId={selectedId}
                factors={activeFactors}
                onSelect={selectScenario}
                onCustomize={customize}
                onDeleted={(id) => {
                  if (id === selectedId) setQuery({ scenario: null });
                  scenarios.reload();
                }}
              />
            )}
          </Async>
        </Card>

        {isCustom ? (
          <Card title="Custom shocks (%)" label="Custom shocks" class="stress-shocks">
            {factors.status === "error" ? (
              <ErrorNotice error={factors.error} retry={factors.reload} title="Could not load the factors" />
            ) : activeFactors.length === 0 ? (
              <Loading what="factors" />
            ) : (
              <CustomShocks
                factors={activeFactors}
                text={customText}
                errors={{ ...apiIssues.byFactor, ...parsedNow.errors }}
                onChange={(key, value) => setCustomText((previous) => ({ ...previous, [key]: value }))}
                onClear={() => setCustomText({})}
                shocks={parsedNow.shocks}
                canSave={Object.keys(parsedNow.errors).length === 0 && Object.keys(parsedNow.shocks).length > 0}
                onSaved={(scenario) => {
                  scenarios.reload();
                  selectScenario(scenario.id);
                }}
              />
            )}
          </Card>
        ) : null}

        <Card title="Impact" label="Impact" class="stress-impact">
          <StressOutcome
            stress={stress}
            portfolio={portfolio}
            factors={activeFactors}
            isCustom={isCustom}
            hasLocalErrors={Object.keys(parsedSettled.errors).length > 0}
            otherIssues={apiIssues.other}
            shockIssues={Object.keys(apiIssues.byFactor).length > 0}
            noPortfolio={!portfolioId}
          />
        </Card>
      </div>
    </Page>
  );
}

function ScenarioPicker(props: {
  scenarios: readonly Scenario[];
  selectedId: string;
  factors: readonly Factor[];
  onSelect: (id: string) => void;
  onCustomize: (scenario: Scenario) => void;
  onDeleted: (id: string) => void;
}): JSX.Element {
  const builtin = props.scenarios.filter((scenario) => scenario.builtin);
  const saved = props.scenarios.filter((scenario) => !scenario.builtin);
  const me = session.value?.sub ?? null;
  const mayDelete = can("MANAGE_PORTFOLIOS");
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const selected = props.scenarios.find((scenario) => scenario.id === props.selectedId) ?? null;
  const factorName = (key: string) => props.factors.find((factor) => factor.key === key)?.name ?? key;

  const remove = async (scenario: Scenario) => {
    setDeleting(true);
    setDeleteError(null);
    try {
      await unwrap(api.stress.scenarios[":id"].$delete({ param: { id: scenario.id } }));
      setConfirming(null);
      props.onDeleted(scenario.id);
    } catch (error) {
      setDeleteError(error);
    } finally {
      setDeleting(false);
    }
  };

  const option = (scenario: Scenario) => (
    <li key={scenario.id} class={`scenario-option${scenario.id === props.selectedId ? " selected" : ""}`}>
      <label>
        <input
          type="radio"
          name="stress-scenario"
          value={scenario.id}
          checked={scenario.id === props.selectedId}
          onChange={() => props.onSelect(scenario.id)}
        />
        <span>
          <span class="scenario-name">{scenario.name}</span>
          {scenario.description ? <span class="scenario-description">{scenario.description}</span> : null}
        </span>
      </label>
      {!scenario.builtin && mayDelete && scenario.owner === me ? (
        confirming === scenario.id ? (
          // A <fieldset> is a block with its own border and padding.
          // biome-ignore lint/a11y/useSemanticElements: an inline pair of buttons inside a list row
          <span class="scenario-confirm" role="group" aria-label={`Confirm deleting ${scenario.name}`}>
            <button type="button" class="button small danger" disabled={deleting} onClick={() => void remove(scenario)}>
              {deleting ? "Deleting…" : "Delete"}
            </button>
            <button type="button" class="button small ghost" disabled={deleting} onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </span>
        ) : (
          <button
            type="button"
            class="button small ghost"
            aria-label={`Delete scenario ${scenario.name}`}
            onClick={() => setConfirming(scenario.id)}
          >
            Delete
          </button>
        )
      ) : null}
    </li>
  );

  return (
    <div class="scenario-picker">
      <fieldset>
        <legend>Built-in</legend>
        <ul class="scenario-list" data-testid="builtin-scenarios">
          {builtin.map(option)}
        </ul>
      </fieldset>
      <fieldset>
        <legend>Saved</legend>
        {saved.length === 0 ? (
          <p class="muted small scenario-none">
            No saved scenarios yet{can("MANAGE_PORTFOLIOS") ? ": set shocks by hand and save them." : "."}
          </p>
        ) : (
          <ul class="scenario-list" data-testid="saved-scenarios">
            {saved.map(option)}
          </ul>
        )}
      </fieldset>
      <fieldset>
        <legend>By hand</legend>
        <ul class="scenario-list">
          <li class={`scenario-option${props.selectedId === customId ? " selected" : ""}`}>
            <label>
              <input
                type="radio"
                name="stress-scenario"
                value={customId}
                checked={props.selectedId === customId}
                onChange={() => props.onSelect(customId)}
              />
              <span>
                <span class="scenario-name">Custom shocks</span>
                <span class="scenario-description">A shock per factor, in percent.</span>
              </span>
            </label>
          </li>
        </ul>
      </fieldset>
      {deleteError ? <ErrorNotice error={deleteError} title="Could not delete the scenario" /> : null}
      {selected ? (
        <div class="scenario-shocks">
          <h3>Shocks</h3>
          <table class="data compact" aria-label={`Shocks of ${selected.name}`} data-testid="scenario-shocks">
            <tbody>
              {Object.entries(selected.shocks).map(([key, shock]) => (
                <tr key={key}>
                  <td>{factorName(key)}</td>
                  <td class="num">{formatShock(shock)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" class="button small" onClick={() => props.onCustomize(selected)}>
            Edit as custom shocks
          </button>
        </div>
      ) : null}
    </div>
  );
}

function CustomShocks(props: {
  factors: readonly Factor[];
  text: Readonly<Record<string, string>>;
  errors: Readonly<Record<string, string>>;
  onChange: (key: string, value: string) => void;
  onClear: () => void;
  shocks: Record<string, number>;
  canSave: boolean;
  onSaved: (scenario: Scenario) => void;
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
          "Each factor's move in its own return units: −10 means the factor's ETF (or long − short spread) " +
          "falls 10%. Leave a factor empty not to shock it."
        }
        label="Shock per factor, in percent"
        idPrefix="shock-"
      />
      {can("MANAGE_PORTFOLIOS") ? (
        <SaveScenario shocks={props.shocks} disabled={!props.canSave} onSaved={props.onSaved} />
      ) : null}
    </div>
  );
}

function SaveScenario(props: {
  shocks: Record<string, number>;
  disabled: boolean;
  onSaved: (scenario: Scenario) => void;
}): JSX.Element {
  return (
    <SaveNamedForm
      noun="scenario"
      title="Save as a scenario"
      heading="h3"
      idPrefix="scenario"
      disabled={props.disabled}
      save={(fields) => unwrap(api.stress.scenarios.$post({ json: { ...fields, shocks: props.shocks } }))}
      onSaved={props.onSaved}
    />
  );
}

function StressOutcome(props: {
  stress: ReturnType<typeof useAsync<StressResult | null>>;
  portfolio: Portfolio | undefined;
  factors: readonly Factor[];
  isCustom: boolean;
  hasLocalErrors: boolean;
  otherIssues: { path: string; message: string }[];
  /** The API refused some hand-set shocks (marked at their inputs). */
  shockIssues: boolean;
  noPortfolio: boolean;
}): JSX.Element {
  const { stress } = props;
  if (props.noPortfolio) return <Empty>Pick a portfolio to stress.</Empty>;
  if (props.isCustom && props.hasLocalErrors) return <Empty>Fix the shocks marked in red to see their impact.</Empty>;
  // Refused shocks keep the last result (dimmed) while the user corrects them; any other
  // failure (a date without data, a missing portfolio) replaces it: it would describe other inputs.
  if (stress.status === "error" && !(props.shockIssues && props.otherIssues.length === 0))
    return <ErrorNotice error={stress.error} retry={stress.reload} title="Could not run the stress test" />;
  const failure =
    stress.status === "error" ? (
      <div class="state state-error" role="alert">
        <strong>The API refused the shocks:</strong> {describeFailure(stress.error)}. The inputs at fault are marked.
      </div>
    ) : null;
  if (stress.data === undefined) return failure ?? <Loading what="the stress test" />;
  const result = stress.data;
  if (result === null)
    return (
      failure ?? <Empty>{props.isCustom ? "Enter at least one shock to see its impact." : "Pick a scenario."}</Empty>
    );
  return (
    <div
      class="async"
      aria-busy={stress.status === "loading"}
      data-stale={stress.status === "loading" || stress.status === "error" ? "" : undefined}
    >
      {failure}
      <StressResultView result={result} portfolio={props.portfolio} factors={props.factors} />
    </div>
  );
}

function StressResultView(props: {
  result: StressResult;
  portfolio: Portfolio | undefined;
  factors: readonly Factor[];
}): JSX.Element {
  const { result, factors } = props;
  const order = (key: string) => {
    const index = factors.findIndex((factor) => factor.key === key);
    return index < 0 ? Number.MAX_SAFE_INTEGER : index;
  };
  const name = (key: string) => factors.find((factor) => factor.key === key)?.name ?? key;
  const impacts = [...result.impacts].sort((a, b) => order(a.factor_key) - order(b.factor_key));
  const items: ImpactBarItem[] = impacts.map((impact) => ({
    key: impact.factor_key,
    label: name(impact.factor_key),
    detail: `shock ${formatShock(impact.shock)}`,
    value: impact.impact,
    text: formatSignedDollars(impact.impact),
    missingNote: "no exposure",
    title:
      `${name(impact.factor_key)}: $ exposure ${formatDollarsFull(impact.exposure_dollar)} ` +
      `× shock ${formatShock(impact.shock)} = ${formatDollarsFull(impact.impact)}`,
  }));
  items.push({
    key: "total",
    label: "Total",
    detail: result.total_return === null ? undefined : `${formatPercent(result.total_return, 2)} of equity`,
    value: result.total,
    text: formatSignedDollars(result.total),
    missingNote: "no shocked factor has an exposure",
    total: true,
    title: `Total: ${formatDollarsFull(result.total)}${result.complete ? "" : " (partial)"}`,
  });
  const missingNames = result.missing.map(name);
  const portfolioName = props.portfolio?.name ?? result.portfolio_id;
  const returnText =
    result.total_return === null ? "return on equity —" : `${formatPercent(result.total_return, 2)} of equity`;
  return (
    <div class="stress-result" data-testid="stress-result">
      <div class="stress-summary">
        <div>
          <div class="label">Scenario</div>
          <div class="stress-scenario-name" data-testid="stress-scenario-name">
            {result.scenario.name}
          </div>
          <div class="muted small">
            {portfolioName} · as of {result.date} · equity {formatDollars(result.equity)}
          </div>
        </div>
        <div class="stress-total">
          <div class="label">Total impact</div>
          <div
            class={`stress-total-value ${result.total === null ? "" : result.total < 0 ? "negative" : "positive"}`}
            data-testid="stress-total"
          >
            {formatDollarsFull(result.total)}
          </div>
          <div class="muted small" data-testid="stress-total-return">
            {returnText}
          </div>
        </div>
      </div>
      {!result.complete ? (
        <p class="analysis-note" role="note">
          <span class="badge warn">Partial</span> No exposure to {missingNames.join(", ")}:{" "}
          {missingNames.length === 1 ? "its impact is" : "their impacts are"} unknown and not in the total.
        </p>
      ) : null}
      <ImpactBars items={items} label="Impact per factor" testId="impact-bars" />
      <TableWrap label="Impact per factor, in detail">
        <table class="data" aria-label="Impact per factor, in detail" data-testid="impact-table">
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col" class="num">
                Shock
              </th>
              <th scope="col" class="num">
                $ exposure
              </th>
              <th scope="col" class="num">
                Impact
              </th>
              <th scope="col" class="num col-pct">
                % of equity
              </th>
            </tr>
          </thead>
          <tbody>
            {impacts.map((impact) => (
              <tr key={impact.factor_key}>
                <th scope="row" class="row-head">
                  {name(impact.factor_key)}
                </th>
                <td class="num">{formatShock(impact.shock)}</td>
                <td class="num">{formatDollarsFull(impact.exposure_dollar)}</td>
                <td class="num">{formatDollarsFull(impact.impact)}</td>
                <td class="num col-pct">
                  {impact.impact === null || !(result.equity > 0)
                    ? missing
                    : formatPercent(impact.impact / result.equity, 2)}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>Total{result.complete ? "" : " (partial)"}</td>
              <td />
              <td />
              <td class="num">{formatDollarsFull(result.total)}</td>
              <td class="num col-pct">{formatPercent(result.total_return, 2)}</td>
            </tr>
          </tfoot>
        </table>
      </TableWrap>
    </div>
  );
}
