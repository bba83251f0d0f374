// One portfolio: its name, benchmark and cash (editable by its owner with MANAGE_PORTFOLIOS),
// its effective-dated positions — stocks, ETFs, options with their contract fields, private
// holdings — added, edited in place and deleted, and a CSV import whose refusals list every
// bad line and field; its exposure limits (LimitsCard). Read-only for an org member's portfolio or
// without MANAGE_PORTFOLIOS.
import type { ComponentChildren, JSX, TargetedEvent } from "preact";
import { useRoute } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import type { PortfolioResponse, PositionCreate, PositionResponse } from "../../../.types/worker/api/portfolios";
import type { Instrument, OptionType } from "../../../.types/schema/portfolios";
import { ApiFailure, api, authorizedFetch, unwrap, type JsonBody } from "../api/client.ts";
import { DateField } from "../components/date-field.tsx";
import { HistoryProgress, useHistoryRun } from "../components/history-progress.tsx";
import { LeftOutNote } from "../components/left-out.tsx";
import { LimitsCard } from "../components/limits-card.tsx";
import {
  Async,
  Card,
  ConfirmDelete,
  Empty,
  ErrorNotice,
  Field,
  Loading,
  Page,
  Segmented,
  TableWrap,
  useScrolls,
} from "../components/ui.tsx";
import {
  isExpiredOption,
  leftOutSummary,
  positionFlags,
  warningLines,
  type LeftOutKind,
  type PositionWarningLike,
} from "../lib/data-quality.ts";
import {
  dateProblem,
  formatExposure,
  formatInstant,
  formatMoney,
  formatNumber,
  formatPercent,
  missing,
} from "../lib/format.ts";
import { onLive, subscribePortfolio } from "../state/live.ts";
import { can } from "../state/session.ts";
import { useAsync } from "../state/use-async.ts";
import { loadFactors } from "./universe.tsx";
import { canEdit, checkPortfolioFields, heldOn, splitIssues, todayIso } from "./portfolio-shared.ts";
import "./portfolios.css";

type PositionWrite = JsonBody<Awaited<ReturnType<(typeof api.portfolios)[":id"]["positions"]["$post"]>>>;
type ImportAnswer = JsonBody<Awaited<ReturnType<(typeof api.portfolios)[":id"]["positions"]["import"]["$post"]>>>;
// The warnings of a write are the contract's (a renamed field fails here).
const _warningsMatch: readonly PositionWarningLike[] = [] as PositionWrite["warnings"];
void _warningsMatch;

/** A change's outcome on the positions card: what was done, and the warnings the API gave. */
interface Outcome {
  text: string;
  warnings: readonly PositionWarningLike[];
}

/** Positions the numbers cannot use (yet), as the API said after a write: per CSV line for an import. */
function PositionWarnings(props: { warnings: readonly PositionWarningLike[]; imported?: boolean }): JSX.Element | null {
  const lines = warningLines(props.warnings);
  if (lines.length === 0) return null;
  const what = props.imported
    ? `${lines.length} imported position${lines.length === 1 ? "" : "s"}`
    : lines.length === 1
      ? "This position"
      : `${lines.length} positions`;
  return (
    <div class="warning-list" role="status" data-testid="position-warnings">
      <p>
        {what} {lines.length === 1 ? "is" : "are"} accepted but left out of the numbers for now:
      </p>
      <ul>
        {lines.map((line) => (
          <li key={line.key} data-line={line.line ?? undefined}>
            {line.line !== null ? <span class="issue-line">line {line.line}</span> : null}
            <strong>{line.symbol}</strong>: <strong>{line.label}</strong> <span class="muted">— {line.detail}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

// ---- the position fields ---------------------------------------------------------------------

/** Every field of a position a caller sends, in the CSV's column order. */
const positionColumns = [
  "symbol",
  "instrument",
  "quantity",
  "cost_basis",
  "opened_on",
  "closed_on",
  "underlying_symbol",
  "option_type",
  "strike",
  "expiry",
  "multiplier",
  "delta",
  "implied_vol",
  "premium",
] as const satisfies readonly (keyof PositionCreate)[];
type PositionField = (typeof positionColumns)[number];
// A field added to the API's position and missing here fails to compile.
const everyFieldListed: [Exclude<keyof PositionCreate, PositionField>] extends [never] ? true : never = true;
void everyFieldListed;

const requiredColumns: readonly PositionField[] = ["symbol", "instrument", "quantity", "opened_on"];
const optionFields = [
  "underlying_symbol",
  "option_type",
  "strike",
  "expiry",
  "multiplier",
  "delta",
  "implied_vol",
  "premium",
] as const satisfies readonly PositionField[];
const numberFields: ReadonlySet<PositionField> = new Set([
  "quantity",
  "cost_basis",
  "strike",
  "multiplier",
  "delta",
  "implied_vol",
  "premium",
]);

const instrumentLabels = { stock: "Stock", etf: "ETF", option: "Option", private: "Private" } as const satisfies Record<
  Instrument,
  string
>;
const instrumentOptions = Object.entries(instrumentLabels) as [Instrument, string][];
const instrumentKeys = Object.keys(instrumentLabels).join(", ");
const optionTypeLabels = { call: "Call", put: "Put" } as const satisfies Record<OptionType, string>;

const fieldLabels: Record<PositionField, string> = {
  symbol: "Symbol",
  instrument: "Instrument",
  quantity: "Quantity",
  cost_basis: "Cost basis ($)",
  opened_on: "Opened on",
  closed_on: "Closed on",
  underlying_symbol: "Underlying",
  option_type: "Option type",
  strike: "Strike",
  expiry: "Expiry",
  multiplier: "Multiplier",
  delta: "Delta",
  implied_vol: "Implied vol",
  premium: "Premium",
};

type Draft = Record<PositionField, string>;

function draftOf(position: PositionResponse | undefined): Draft {
  const text = (value: string | number | null | undefined): string =>
    value === null || value === undefined ? "" : String(value);
  return Object.fromEntries(
    positionColumns.map((field) => [
      field,
      position ? text(position[field]) : field === "instrument" ? "stock" : field === "opened_on" ? todayIso() : "",
    ]),
  ) as Draft;
}

type PositionBody = {
  [K in PositionField]-?:
    | Exclude<PositionCreate[K], undefined>
    | (K extends (typeof requiredColumns)[number] ? never : null);
};

/** The body the form describes (absent values as null, so an edit clears them), or what is wrong locally. */
function readDraft(draft: Draft): { body: PositionBody | null; errors: Partial<Record<PositionField, string>> } {
  const errors: Partial<Record<PositionField, string>> = {};
  const instrument = draft.instrument as Instrument;
  const isOption = instrument === "option";
  const numberOf = (field: PositionField): number | null => {
    const text = draft[field].trim();
    if (text === "") return null;
    const value = Number(text);
    if (!Number.isFinite(value)) errors[field] = `${fieldLabels[field]} must be a number`;
    return value;
  };
  const textOf = (field: PositionField): string | null => (draft[field].trim() === "" ? null : draft[field].trim());
  const symbol = draft.symbol.trim();
  if (symbol === "") errors.symbol = "Symbol is required";
  const quantity = numberOf("quantity");
  if (draft.quantity.trim() === "") errors.quantity = "Quantity is required";
  else if (quantity === 0) errors.quantity = "Quantity must not be 0";
  if (draft.opened_on.trim() === "") errors.opened_on = "Opened on is required";
  // A date field holds what was typed; one that is not a date stops the form here, as its field says.
  for (const field of ["opened_on", "closed_on", ...(isOption ? ["expiry" as const] : [])] as const) {
    const problem = draft[field].trim() === "" ? null : dateProblem(draft[field]);
    if (problem !== null) errors[field] = problem;
  }
  const optional = (value: () => number | string | null, field: PositionField) =>
    isOption || !(optionFields as readonly string[]).includes(field) ? value() : null;
  const body = {
    symbol: instrument === "stock" || instrument === "etf" ? symbol.toUpperCase() : symbol,
    instrument,
    quantity: quantity ?? 0,
    cost_basis: numberOf("cost_basis"),
    opened_on: draft.opened_on.trim(),
    closed_on: textOf("closed_on"),
    underlying_symbol: optional(() => textOf("underlying_symbol")?.toUpperCase() ?? null, "underlying_symbol") as
      | string
      | null,
    option_type: optional(() => textOf("option_type"), "option_type") as OptionType | null,
    strike: optional(() => numberOf("strike"), "strike") as number | null,
    expiry: optional(() => textOf("expiry"), "expiry") as string | null,
    multiplier: optional(() => numberOf("multiplier"), "multiplier") as number | null,
    delta: optional(() => numberOf("delta"), "delta") as number | null,
    implied_vol: optional(() => numberOf("implied_vol"), "implied_vol") as number | null,
    premium: optional(() => numberOf("premium"), "premium") as number | null,
  } satisfies PositionBody;
  return { body: Object.keys(errors).length > 0 ? null : body, errors };
}

// ---- the position form (add, and edit in place) ------------------------------------------------

function SelectInput(props: {
  id: string;
  label: string;
  value: string;
  error?: string | undefined;
  onChange: (value: string) => void;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class={`field ${props.error ? "field-invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${props.id}-error` : undefined}
        onChange={(event) => props.onChange(event.currentTarget.value)}
      >
        {props.children}
      </select>
      {props.error ? (
        <small id={`${props.id}-error`} class="field-error">
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

function PositionForm(props: {
  idPrefix: string;
  label: string;
  initial?: PositionResponse;
  submitLabel: string;
  onSubmit: (body: PositionBody) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const [draft, setDraft] = useState<Draft>(() => draftOf(props.initial));
  const [localErrors, setLocalErrors] = useState<Partial<Record<PositionField, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { byField, rest } = splitIssues(error, positionColumns);
  const errors: Partial<Record<PositionField, string>> = { ...byField, ...localErrors };
  const isOption = draft.instrument === "option";
  const id = (field: PositionField) => `${props.idPrefix}-${field.replace(/_/g, "-")}`;

  const set = (field: PositionField, value: string): void => {
    setDraft((previous) => ({ ...previous, [field]: value }));
    setLocalErrors((previous) => {
      if (!previous[field]) return previous;
      const next = { ...previous };
      delete next[field];
      return next;
    });
  };
  const input = (
    field: PositionField,
    extra: { hint?: string; placeholder?: string; class?: string; date?: boolean } = {},
  ): JSX.Element => {
    const common = {
      label: fieldLabels[field],
      id: id(field),
      value: draft[field],
      error: errors[field],
      hint: extra.hint,
      placeholder: extra.placeholder,
      class: extra.class,
      onInput: (event: TargetedEvent<HTMLInputElement>) => set(field, event.currentTarget.value),
    };
    if (extra.date)
      return (
        <DateField
          label={common.label}
          id={common.id}
          value={common.value}
          error={common.error}
          hint={common.hint}
          required={requiredColumns.includes(field)}
          onChange={(_date, text) => set(field, text)}
        />
      );
    if (numberFields.has(field)) return <Field {...common} type="number" step="any" inputMode="decimal" />;
    return <Field {...common} type="text" autoComplete="off" spellcheck={false} />;
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const read = readDraft(draft);
    setLocalErrors(read.errors);
    setError(null);
    if (!read.body) return;
    setBusy(true);
    try {
      await props.onSubmit(read.body);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <form class="form-row position-form" onSubmit={submit} aria-label={props.label} noValidate>
      {rest ? <ErrorNotice error={rest} title="Not saved" /> : null}
      {input("symbol", isOption ? { hint: "Any label, e.g. the OCC symbol" } : {})}
      <SelectInput
        id={id("instrument")}
        label={fieldLabels.instrument}
        value={draft.instrument}
        error={errors.instrument}
        onChange={(value) => set("instrument", value)}
      >
        {instrumentOptions.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </SelectInput>
      {input("quantity", { hint: isOption ? "Contracts; negative is short" : "Shares; negative is short" })}
      {input("cost_basis")}
      {input("opened_on", { date: true })}
      {input("closed_on", { date: true, hint: "First day no longer held" })}
      {isOption ? (
        <fieldset class="form-group">
          <legend>Option contract</legend>
          {input("underlying_symbol", { class: "upper" })}
          <SelectInput
            id={id("option_type")}
            label={fieldLabels.option_type}
            value={draft.option_type}
            error={errors.option_type}
            onChange={(value) => set("option_type", value)}
          >
            <option value="">{missing}</option>
            {(Object.entries(optionTypeLabels) as [OptionType, string][]).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </SelectInput>
          {input("strike")}
          {input("expiry", { date: true })}
          {input("multiplier", { placeholder: "100" })}
          {input("delta", { hint: "Call 0..1, put −1..0" })}
          {input("implied_vol", { hint: "0.25 = 25%; or give delta" })}
          {input("premium")}
        </fieldset>
      ) : null}
      <div class="form-submit">
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? "Saving…" : props.submitLabel}
        </button>
        <button type="button" class="button ghost" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// ---- the positions table ----------------------------------------------------------------------

function PositionDelete(props: {
  portfolioId: string;
  position: PositionResponse;
  onDeleted: () => void;
}): JSX.Element {
  const { position } = props;
  return (
    <ConfirmDelete
      what={position.symbol}
      buttonLabel={`Delete position ${position.symbol}`}
      remove={() =>
        unwrap(
          api.portfolios[":id"].positions[":positionId"].$delete({
            param: { id: props.portfolioId, positionId: position.id },
          }),
        )
      }
      onDeleted={props.onDeleted}
    />
  );
}

const flagTone: Record<LeftOutKind, string> = {
  unpriced: "bad",
  expired: "warn",
  no_delta: "bad",
  no_betas: "warn",
  some_betas: "",
};

function PositionsTable(props: {
  portfolioId: string;
  positions: readonly PositionResponse[];
  editable: boolean;
  onChanged: (outcome: Outcome) => void;
  /** Positions the latest computed date left out, with why (from its data_quality). */
  flags: ReadonlyMap<string, { label: string; detail: string; kind: LeftOutKind }>;
}): JSX.Element {
  const [editing, setEditing] = useState<string | null>(null);
  const { positions, editable } = props;
  const hasOptions = positions.some((position) => position.instrument === "option");
  const today = todayIso();
  const columns = 5 + (hasOptions ? 8 : 0) + (editable ? 1 : 0);
  const save = async (position: PositionResponse, body: PositionBody): Promise<void> => {
    const saved = await unwrap(
      api.portfolios[":id"].positions[":positionId"].$patch({
        param: { id: props.portfolioId, positionId: position.id },
        json: body,
      }),
    );
    setEditing(null);
    props.onChanged({ text: `Saved ${body.symbol}.`, warnings: saved.warnings });
  };

  return (
    <TableWrap label="Positions table">
      <table class="data positions" data-testid="positions-table">
        <caption class="visually-hidden">Positions</caption>
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col">Instrument</th>
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col" class="num">
              Cost basis
            </th>
            <th scope="col" title="Opened on → first day no longer held">
              Held
            </th>
            {hasOptions ? (
              <>
                <th scope="col">Underlying</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">
                  Strike
                </th>
                <th scope="col">Expiry</th>
                <th scope="col" class="num" title="Contract multiplier">
                  Mult.
                </th>
                <th scope="col" class="num">
                  Delta
                </th>
                <th scope="col" class="num" title="Implied volatility">
                  Impl. vol
                </th>
                <th scope="col" class="num">
                  Premium
                </th>
              </>
            ) : null}
            {editable ? (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {positions.map((position) => {
            const held = heldOn(position, today);
            const isEditing = editing === position.id;
            return [
              <tr
                key={position.id}
                class={`${held ? "" : "closed"} ${isEditing ? "editing" : ""}`}
                data-position-id={position.id}
                title={held ? undefined : "Not held today"}
              >
                <td>
                  <strong>{position.symbol}</strong>
                  <PositionBadges position={position} today={today} flag={props.flags.get(position.id)} />
                </td>
                <td>{instrumentLabels[position.instrument]}</td>
                <td class="num">{formatNumber(position.quantity)}</td>
                <td class="num">{formatMoney(position.cost_basis)}</td>
                <td>
                  {position.opened_on} →{position.closed_on ? ` ${position.closed_on}` : ""}
                  {held ? null : <span class="visually-hidden"> (not held today)</span>}
                </td>
                {hasOptions ? (
                  <>
                    <td>{position.underlying_symbol ?? missing}</td>
                    <td>{position.option_type ? optionTypeLabels[position.option_type] : missing}</td>
                    <td class="num">{formatNumber(position.strike, 2)}</td>
                    <td>{position.expiry ?? missing}</td>
                    <td class="num">{formatNumber(position.multiplier)}</td>
                    <td class="num">{formatExposure(position.delta, 2)}</td>
                    <td class="num">{formatPercent(position.implied_vol)}</td>
                    <td class="num">{formatMoney(position.premium)}</td>
                  </>
                ) : null}
                {editable ? (
                  <td class="actions">
                    {isEditing ? null : (
                      <>
                        <button
                          type="button"
                          class="button small"
                          onClick={() => setEditing(position.id)}
                          aria-label={`Edit position ${position.symbol}`}
                        >
                          Edit
                        </button>
                        <PositionDelete
                          portfolioId={props.portfolioId}
                          position={position}
                          onDeleted={() => props.onChanged({ text: `Deleted ${position.symbol}.`, warnings: [] })}
                        />
                      </>
                    )}
                  </td>
                ) : null}
              </tr>,
              isEditing ? (
                <tr key={`${position.id}-editor`} class="editor-row">
                  <td colSpan={columns}>
                    <PositionForm
                      idPrefix={`edit-${position.id}`}
                      label={`Edit position ${position.symbol}`}
                      initial={position}
                      submitLabel="Save position"
                      onSubmit={(body) => save(position, body)}
                      onCancel={() => setEditing(null)}
                    />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** An option past its expiry ("expired"), and why the latest computed date left the position out. */
function PositionBadges(props: {
  position: PositionResponse;
  today: string;
  flag: { label: string; detail: string; kind: LeftOutKind } | undefined;
}): JSX.Element | null {
  const { position, flag } = props;
  const expired = isExpiredOption(position, props.today);
  const showFlag = flag !== undefined && !(expired && flag.kind === "expired");
  if (!expired && !showFlag) return null;
  return (
    <>
      {expired ? (
        <span
          class="badge warn small-badge"
          data-testid="expired-badge"
          title={`Expired on ${position.expiry ?? ""}: still held, left out of every number`}
        >
          expired
        </span>
      ) : null}
      {showFlag ? (
        <span
          class={`badge small-badge ${flagTone[flag.kind]}`}
          data-testid="left-out-badge"
          title={flag.detail || undefined}
        >
          {flag.label}
        </span>
      ) : null}
    </>
  );
}

// ---- CSV import -------------------------------------------------------------------------------

const exampleCsv =
  "symbol,instrument,quantity,cost_basis,opened_on,closed_on,underlying_symbol,option_type,strike,expiry,multiplier," +
  `delta,implied_vol,premium
SPY,etf,100,58000,2026-01-05,,,,,,,,,
QQQ 261218C00500000,option,-5,,2026-01-05,,QQQ,call,500,2026-12-18,100,0.45,,12.5
`;

type ImportResult = ImportAnswer;

function CsvImport(props: {
  portfolioId: string;
  positionCount: number;
  onImported: (result: ImportResult) => void;
}): JSX.Element {
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [mode, setMode] = useState<"append" | "replace">("append");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  // The example's long lines scroll sideways rather than wrap (a wrapped CSV line reads as two rows).
  const [example, exampleScrolls] = useScrolls<HTMLPreElement>();

  const readFile = async (event: Event): Promise<void> => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    setError(null);
    setResult(null);
    try {
      setText(await file.text());
      setFileName(file.name);
    } catch (failure) {
      setError(
        new Error(`could not read ${file.name}: ${failure instanceof Error ? failure.message : String(failure)}`),
      );
    }
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const response = await authorizedFetch(
        `/api/v1/portfolios/${encodeURIComponent(props.portfolioId)}/positions/import?mode=${mode}`,
        {
          method: "POST",
          headers: { "content-type": "text/csv" },
          body: text,
        },
      );
      const answer = (await response.json()) as ImportResult;
      setResult(answer);
      setText("");
      setFileName(null);
      if (fileInput.current) fileInput.current.value = "";
      props.onImported(answer);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="import-grid" onSubmit={submit} aria-label="Import positions from CSV">
      <div>
        <div class="field file-input">
          <label for="csv-file">CSV file</label>
          <input
            id="csv-file"
            ref={fileInput}
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(event) => void readFile(event)}
          />
        </div>
        <div class="field" style={{ marginTop: "0.6rem" }}>
          <label for="csv-text">CSV text {fileName ? <span class="muted">(from {fileName})</span> : null}</label>
          <textarea
            id="csv-text"
            rows={8}
            spellcheck={false}
            placeholder="Paste CSV here, or choose a file above"
            value={text}
            onInput={(event) => {
              setText(event.currentTarget.value);
              setFileName(null);
            }}
          />
        </div>
        <div class="import-actions">
          <Segmented
            label="Import mode"
            value={mode}
            options={[
              { value: "append", label: "Append" },
              { value: "replace", label: "Replace all" },
            ]}
            onChange={setMode}
          />
          <button
            type="submit"
            class={`button ${mode === "replace" ? "danger" : "primary"}`}
            disabled={busy || text.trim() === ""}
          >
            {busy
              ? "Importing…"
              : mode === "replace"
                ? `Import and replace ${props.positionCount} position${props.positionCount === 1 ? "" : "s"}`
                : "Import positions"}
          </button>
        </div>
        <div aria-live="polite" class="import-outcome">
          {result ? (
            <p class="notice" role="status" data-testid="import-result">
              Imported {result.imported} position{result.imported === 1 ? "" : "s"}
              {result.mode === "replace" ? `, replacing ${result.deleted}` : ""}.
            </p>
          ) : null}
          {result ? <PositionWarnings warnings={result.warnings} imported /> : null}
        </div>
        {error ? <ErrorNotice error={error} title="Import refused" /> : null}
      </div>
      <section class="small import-format" aria-labelledby="import-format-title" data-testid="import-format">
        <h3 id="import-format-title" class="label" style={{ margin: "0 0 0.3rem", fontSize: "0.85rem" }}>
          Accepted format
        </h3>
        <p class="muted" style={{ margin: 0 }}>
          A header row naming the columns (any order), then one position per line; an empty field is an absent value.
          All or nothing: if any line is wrong, every error is listed by line and field and nothing is written.
        </p>
        <p class="label" style={{ margin: "0.6rem 0 0" }}>
          Columns (<span class="required-key">highlighted</span> are required)
        </p>
        <ul class="columns-list" aria-label="Expected columns">
          {positionColumns.map((column) => (
            <li key={column} class={requiredColumns.includes(column) ? "required" : ""}>
              <code>{column}</code>
              {requiredColumns.includes(column) ? <span class="visually-hidden"> (required)</span> : null}
            </li>
          ))}
        </ul>
        <ul class="muted" style={{ margin: "0 0 0.6rem", paddingLeft: "1.1rem" }}>
          <li data-testid="import-date-format">
            <strong>Dates YYYY-MM-DD</strong> (<code>2026-01-05</code>) only: <code>01/05/2026</code>,{" "}
            <code>2026-1-5</code> or a day that does not exist (<code>2026-02-30</code>) is refused with its line.
          </li>
          <li>
            Numbers plain (<code>-5</code>, <code>58000</code>, <code>0.45</code>): no $ or thousands separators.
          </li>
          <li>
            instrument: {instrumentKeys}; option_type call or put; options need underlying_symbol, option_type, strike,
            expiry and delta or implied_vol.
          </li>
        </ul>
        <p class="label" style={{ margin: "0.6rem 0 0" }}>
          Example
        </p>
        <pre class="example" ref={example} tabIndex={exampleScrolls ? 0 : undefined}>
          {exampleCsv}
        </pre>
        <button type="button" class="button small" onClick={() => setText(exampleCsv)}>
          Use the example
        </button>
      </section>
    </form>
  );
}

// ---- portfolio details ------------------------------------------------------------------------

function DetailsEditor(props: {
  portfolio: PortfolioResponse;
  onSaved: (portfolio: PortfolioResponse) => void;
  onCancel: () => void;
}): JSX.Element {
  const { portfolio } = props;
  const [name, setName] = useState(portfolio.name);
  const [cash, setCash] = useState(String(portfolio.cash));
  const [benchmark, setBenchmark] = useState(portfolio.benchmark_symbol);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const { byField, rest } = splitIssues(error, ["name", "cash", "benchmark_symbol"]);
  const errors = { ...byField, ...localErrors };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const { problems, cash: cashValue } = checkPortfolioFields(name, cash, true);
    setLocalErrors(problems);
    setError(null);
    if (Object.keys(problems).length > 0 || cashValue === undefined) return;
    const changes = {
      ...(name.trim() !== portfolio.name ? { name: name.trim() } : {}),
      ...(cashValue !== portfolio.cash ? { cash: cashValue } : {}),
      ...(benchmark.trim().toUpperCase() !== portfolio.benchmark_symbol
        ? { benchmark_symbol: benchmark.trim().toUpperCase() }
        : {}),
    };
    if (Object.keys(changes).length === 0) {
      props.onCancel();
      return;
    }
    setBusy(true);
    try {
      props.onSaved(await unwrap(api.portfolios[":id"].$patch({ param: { id: portfolio.id }, json: changes })));
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <form class="form-row" onSubmit={submit} aria-label="Edit portfolio details" noValidate>
      {rest ? <ErrorNotice error={rest} title="Not saved" /> : null}
      <Field
        label="Name"
        id="portfolio-name"
        class="wide"
        value={name}
        error={errors["name"]}
        onInput={(event) => setName(event.currentTarget.value)}
        maxLength={100}
        autoComplete="off"
      />
      <Field
        label="Cash ($)"
        id="portfolio-cash"
        type="number"
        step="any"
        inputMode="decimal"
        value={cash}
        error={errors["cash"]}
        onInput={(event) => setCash(event.currentTarget.value)}
        hint="Negative for a margin loan"
      />
      <Field
        label="Benchmark"
        id="portfolio-benchmark"
        class="upper"
        value={benchmark}
        error={errors["benchmark_symbol"]}
        onInput={(event) => setBenchmark(event.currentTarget.value)}
        autoComplete="off"
        spellcheck={false}
      />
      <div class="form-submit">
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? "Saving…" : "Save details"}
        </button>
        <button type="button" class="button ghost" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Details(props: {
  portfolio: PortfolioResponse;
  editable: boolean;
  onSaved: (portfolio: PortfolioResponse) => void;
}): JSX.Element {
  const [editing, setEditing] = useState(false);
  const { portfolio } = props;
  return (
    <Card
      title="Details"
      label="Portfolio details"
      actions={
        props.editable && !editing ? (
          <button type="button" class="button small" onClick={() => setEditing(true)}>
            Edit details
          </button>
        ) : null
      }
    >
      {editing ? (
        <DetailsEditor
          portfolio={portfolio}
          onSaved={(saved) => {
            setEditing(false);
            props.onSaved(saved);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <dl class="facts">
          <div>
            <dt>Benchmark</dt>
            <dd data-testid="portfolio-benchmark">{portfolio.benchmark_symbol}</dd>
          </div>
          <div>
            <dt>Cash</dt>
            <dd data-testid="portfolio-cash">{formatMoney(portfolio.cash)}</dd>
          </div>
          <div>
            <dt>Owner</dt>
            <dd>
              {portfolio.owner}
              {portfolio.org ? <span class="muted"> · {portfolio.org}</span> : null}
            </dd>
          </div>
          <div>
            <dt>ID</dt>
            <dd>
              <code class="id">{portfolio.id}</code>
            </dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>{formatInstant(portfolio.updated_at)}</dd>
          </div>
        </dl>
      )}
    </Card>
  );
}

// ---- the page ---------------------------------------------------------------------------------

function readOnlyReason(portfolio: PortfolioResponse): string | null {
  if (!portfolio.writable)
    return (
      `Read-only: this portfolio belongs to ${portfolio.owner}` +
      `${portfolio.org ? ` and is shared with ${portfolio.org}` : ""}.`
    );
  if (!can("MANAGE_PORTFOLIOS")) return "Read-only: your token does not carry MANAGE_PORTFOLIOS.";
  return null;
}

export function PortfolioPage(props: { id?: string; params?: { id?: string } }): JSX.Element {
  const route = useRoute();
  const id = props.params?.id ?? props.id ?? route.params["id"] ?? "";
  const [saved, setSaved] = useState<PortfolioResponse | null>(null);
  const [adding, setAdding] = useState(false);
  const [message, setMessage] = useState<Outcome | null>(null);
  const portfolio = useAsync(
    (signal) => unwrap(api.portfolios[":id"].$get({ param: { id } }, { init: { signal } })),
    [id],
  );
  const positions = useAsync(
    (signal) => unwrap(api.portfolios[":id"].positions.$get({ param: { id }, query: {} }, { init: { signal } })),
    [id],
  );
  // What the latest computed date could not use: its data_quality (one factor's series suffices).
  const quality = useAsync(
    async (signal) => {
      const factors = (await loadFactors()).filter((factor) => factor.is_active);
      const first = factors[0];
      const body = await unwrap(
        api.portfolios[":id"].exposures.$get(
          { param: { id }, query: first ? { factors: first.key } : {} },
          { init: { signal } },
        ),
      );
      return { quality: body.data_quality, factors };
    },
    [id],
  );
  const history = useHistoryRun(id);
  // A position change refreshes the latest date (an `exposures.updated`), a batch or the history
  // run may recompute it: read data_quality again, once things settle.
  const reloadQuality = quality.reload;
  useEffect(() => {
    const unsubscribe = subscribePortfolio(id);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = onLive((message) => {
      if ((message.type === "exposures.updated" || message.type === "resync") && message.portfolio_id !== id) return;
      if (message.type !== "exposures.updated" && message.type !== "resync" && message.type !== "batch.completed")
        return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(reloadQuality, 800);
    });
    return () => {
      if (timer) clearTimeout(timer);
      stop();
      unsubscribe();
    };
  }, [id, reloadQuality]);
  const current = saved?.id === id ? saved : portfolio.data;

  if (!current) {
    const notFound = portfolio.error instanceof ApiFailure && portfolio.error.status === 404;
    return (
      <Page title="Portfolio" subtitle={<a href="/portfolios">← All portfolios</a>}>
        {portfolio.status === "error" ? (
          <ErrorNotice
            error={portfolio.error}
            title={notFound ? "No such portfolio" : "Could not load the portfolio"}
            retry={notFound ? undefined : portfolio.reload}
          />
        ) : (
          <Loading what="the portfolio" />
        )}
      </Page>
    );
  }

  const editable = canEdit(current);
  const reason = readOnlyReason(current);
  const changed = (outcome: Outcome): void => {
    setMessage(outcome);
    positions.reload();
  };
  const count = positions.data?.positions.length ?? 0;
  const encoded = encodeURIComponent(current.id);
  const qualityData = quality.data?.quality ?? null;
  const factorKeys = quality.data?.factors.map((factor) => factor.key) ?? [];
  const flags = qualityData
    ? positionFlags(leftOutSummary(qualityData, factorKeys))
    : new Map<string, { label: string; detail: string; kind: LeftOutKind }>();
  const factorName = (key: string): string => quality.data?.factors.find((factor) => factor.key === key)?.name ?? key;

  return (
    <Page
      title={current.name}
      subtitle={
        <>
          <a href="/portfolios">← All portfolios</a>
          {current.writable ? null : (
            <>
              {" "}
              <span class="badge">read-only</span>
            </>
          )}
          {history ? (
            <>
              {" · "}
              <HistoryProgress indicator={history} />
            </>
          ) : null}
        </>
      }
      actions={
        <>
          <a class="button" href={`/?portfolio=${encoded}`}>
            Exposures
          </a>
          <a class="button" href={`/risk?portfolio=${encoded}`}>
            Risk
          </a>
          <a class="button" href={`/what-if?portfolio=${encoded}`}>
            What-if
          </a>
        </>
      }
    >
      {reason ? (
        <p class="readonly-note" data-testid="read-only-note">
          {reason}
        </p>
      ) : null}
      <Details portfolio={current} editable={editable} onSaved={setSaved} />
      <Card
        title={positions.data ? `Positions (${count})` : "Positions"}
        label="Positions"
        actions={
          editable && !adding ? (
            <button
              type="button"
              class="button primary small"
              onClick={() => {
                setAdding(true);
                setMessage(null);
              }}
            >
              Add position
            </button>
          ) : null
        }
      >
        <div aria-live="polite">
          {message && positions.status !== "loading" ? (
            <p class="notice" role="status" data-testid="positions-message" style={{ marginTop: 0 }}>
              {message.text}
            </p>
          ) : null}
          {message && positions.status !== "loading" ? <PositionWarnings warnings={message.warnings} /> : null}
        </div>
        {qualityData && count > 0 ? (
          <LeftOutNote portfolioId={id} quality={qualityData} factorKeys={factorKeys} factorName={factorName} />
        ) : null}
        {quality.status === "error" ? (
          <ErrorNotice error={quality.error} retry={quality.reload} title="Could not read what the numbers left out" />
        ) : null}
        {adding ? (
          <div class="card add-position">
            <PositionForm
              idPrefix="new-position"
              label="Add position"
              submitLabel="Add position"
              onSubmit={async (body) => {
                const created = await unwrap(api.portfolios[":id"].positions.$post({ param: { id }, json: body }));
                setAdding(false);
                changed({ text: `Added ${body.symbol}.`, warnings: created.warnings });
              }}
              onCancel={() => setAdding(false)}
            />
          </div>
        ) : null}
        <Async state={positions} what="positions">
          {(data) =>
            data.positions.length === 0 ? (
              <Empty>
                {editable ? "No positions yet: add one, or import a CSV below." : "This portfolio has no positions."}
              </Empty>
            ) : (
              <PositionsTable
                portfolioId={id}
                positions={data.positions}
                editable={editable}
                onChanged={changed}
                flags={flags}
              />
            )
          }
        </Async>
      </Card>
      <LimitsCard portfolioId={id} editable={editable} />
      {editable ? (
        <Card title="Import positions from CSV" label="Import positions from CSV">
          <CsvImport
            portfolioId={id}
            positionCount={count}
            onImported={() => {
              setMessage(null);
              positions.reload();
            }}
          />
        </Card>
      ) : null}
    </Page>
  );
}
