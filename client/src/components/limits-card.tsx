// A portfolio's limits (docs/dashboard.md, "Alerts"), on its page: each limit with where its number
// stands on the latest computed date and its latest alert; adding, editing and deleting them with
// MANAGE_PORTFOLIOS on the caller's own portfolio. The form checks what the API checks (a factor
// for factor metrics, a bound, min ≤ max) before sending and shows the API's refusals beside their
// fields. A limit is evaluated as soon as it is saved: the answer says whether it is breached now.
// New numbers of the portfolio (its page subscribes to it) reload where the limits stand.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { LimitResponse } from "../../../.types/worker/api/limits";
import { api, unwrap } from "../api/client.ts";
import {
  draftOf,
  factorKind,
  formatLimitValue,
  isPercentMetric,
  type LimitDraft,
  type LimitMetric,
  limitName,
  metricLabels,
  readLimitDraft,
} from "../lib/limit-view.ts";
import { reasonLabel } from "../lib/data-quality.ts";
import { splitIssues } from "../pages/portfolio-shared.ts";
import { loadFactors } from "../pages/universe.tsx";
import { refreshAlerts } from "../state/alerts.ts";
import { onLive } from "../state/live.ts";
import { useAsync } from "../state/use-async.ts";
import { Async, Card, ConfirmDelete, Empty, ErrorNotice, Field, TableWrap } from "./ui.tsx";
import "../pages/alerts.css";

const metrics = Object.keys(metricLabels) as LimitMetric[];
const formFields = ["metric", "factor_key", "min_value", "max_value", "description"];

interface FactorChoice {
  key: string;
  name: string;
}

function LimitForm(props: {
  portfolioId: string;
  limit: LimitResponse | null;
  lens: readonly FactorChoice[];
  risk: readonly FactorChoice[];
  onSaved: (saved: LimitResponse & { alert_recorded: { state: string } | null }) => void;
  onCancel: () => void;
}): JSX.Element {
  const [draft, setDraft] = useState<LimitDraft>(draftOf(props.limit));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const { byField, rest } = splitIssues(error, formFields);
  const errors = { ...byField, ...localErrors };
  const kind = factorKind(draft.metric);
  const choices = kind === "lens" ? props.lens : kind === "risk" ? props.risk : [];
  const unit = isPercentMetric(draft.metric) ? " (%)" : "";
  const prefix = props.limit ? `limit-${props.limit.id}` : "new-limit";
  const set = (key: keyof LimitDraft, value: string) => {
    setDraft((previous) => {
      const next = { ...previous, [key]: value };
      // A factor of the other lens means nothing for the new metric.
      if (key === "metric" && factorKind(value as LimitMetric) !== factorKind(previous.metric)) next.factorKey = "";
      return next;
    });
    setLocalErrors((previous) => {
      const { [key === "factorKey" ? "factor_key" : key]: _cleared, ...others } = previous;
      return others;
    });
  };

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const { body, errors: problems } = readLimitDraft(draft);
    setLocalErrors(problems);
    setError(null);
    if (!body) return;
    setBusy(true);
    try {
      const saved = props.limit
        ? await unwrap(
            api.portfolios[":id"].limits[":limitId"].$patch({
              param: { id: props.portfolioId, limitId: props.limit.id },
              json: body,
            }),
          )
        : await unwrap(api.portfolios[":id"].limits.$post({ param: { id: props.portfolioId }, json: body }));
      props.onSaved(saved);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <form
      class="form-row limits-form"
      onSubmit={(event) => void submit(event)}
      aria-label={props.limit ? "Edit limit" : "Add limit"}
      noValidate
    >
      {rest ? <ErrorNotice error={rest} title="Not saved" /> : null}
      <div class={`field wide ${errors["metric"] ? "field-invalid" : ""}`}>
        <label for={`${prefix}-metric`}>Metric</label>
        <select
          id={`${prefix}-metric`}
          value={draft.metric}
          onChange={(event) => set("metric", event.currentTarget.value)}
        >
          {metrics.map((metric) => (
            <option key={metric} value={metric}>
              {metricLabels[metric]}
            </option>
          ))}
        </select>
        {errors["metric"] ? <small class="field-error">{errors["metric"]}</small> : null}
      </div>
      {kind !== null ? (
        <div class={`field ${errors["factor_key"] ? "field-invalid" : ""}`}>
          <label for={`${prefix}-factor`}>Factor</label>
          <select
            id={`${prefix}-factor`}
            value={draft.factorKey}
            aria-invalid={errors["factor_key"] ? true : undefined}
            aria-describedby={errors["factor_key"] ? `${prefix}-factor-error` : undefined}
            onChange={(event) => set("factorKey", event.currentTarget.value)}
          >
            <option value="">Choose…</option>
            {choices.map((factor) => (
              <option key={factor.key} value={factor.key}>
                {factor.name}
              </option>
            ))}
          </select>
          {errors["factor_key"] ? (
            <small id={`${prefix}-factor-error`} class="field-error">
              {errors["factor_key"]}
            </small>
          ) : null}
        </div>
      ) : null}
      <Field
        label={`Min${unit}`}
        id={`${prefix}-min`}
        class="narrow"
        inputMode="decimal"
        value={draft.min}
        error={errors["min_value"]}
        hint="empty: none"
        onInput={(event) => set("min", event.currentTarget.value)}
      />
      <Field
        label={`Max${unit}`}
        id={`${prefix}-max`}
        class="narrow"
        inputMode="decimal"
        value={draft.max}
        error={errors["max_value"]}
        hint="inclusive"
        onInput={(event) => set("max", event.currentTarget.value)}
      />
      <Field
        label="Description"
        id={`${prefix}-description`}
        class="wide"
        value={draft.description}
        error={errors["description"]}
        maxLength={1000}
        onInput={(event) => set("description", event.currentTarget.value)}
      />
      <div class="form-submit">
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? "Saving…" : props.limit ? "Save limit" : "Add limit"}
        </button>
        <button type="button" class="button ghost" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function LimitRow(props: {
  portfolioId: string;
  limit: LimitResponse;
  editable: boolean;
  onEdit: () => void;
  onDeleted: () => void;
}): JSX.Element {
  const { limit } = props;
  const current = limit.current;
  const now =
    current.position === "missing"
      ? current.reason === "not_computed"
        ? "not computed yet"
        : `no value on ${current.date}`
      : `${formatLimitValue(limit.metric, current.value)} on ${current.date}`;
  return (
    <tr data-testid="limit-row" data-limit-id={limit.id} data-state={limit.state}>
      <td>
        <span class="alert-limit">{limitName(limit)}</span>
        {limit.description ? <span class="muted alert-detail">{limit.label}</span> : null}
      </td>
      <td>
        <span class={`badge ${limit.state === "breached" ? "bad" : "ok"}`} data-testid="limit-state">
          {limit.state}
        </span>
        <span
          class="muted alert-detail"
          title={current.reason ? reasonLabel(current.reason) : undefined}
          data-value={current.value ?? ""}
        >
          {now}
        </span>
      </td>
      <td>
        {limit.last_alert ? (
          <>
            {limit.last_alert.state} on {limit.last_alert.date}
            <span class="muted alert-detail">
              {limit.last_alert.acknowledged_at ? "acknowledged" : "not acknowledged"}
            </span>
          </>
        ) : (
          <span class="muted">none</span>
        )}
      </td>
      {props.editable ? (
        <td class="row-actions">
          <button type="button" class="button small" onClick={props.onEdit} aria-label={`Edit ${limitName(limit)}`}>
            Edit
          </button>{" "}
          <ConfirmDelete
            what={limitName(limit)}
            buttonLabel={`Delete ${limitName(limit)}`}
            question="Its alerts go too."
            remove={() =>
              unwrap(
                api.portfolios[":id"].limits[":limitId"].$delete({
                  param: { id: props.portfolioId, limitId: limit.id },
                }),
              )
            }
            onDeleted={props.onDeleted}
          />
        </td>
      ) : null}
    </tr>
  );
}

/** The Limits card of a portfolio's page; editing only when `editable` (own portfolio, MANAGE_PORTFOLIOS). */
export function LimitsCard(props: { portfolioId: string; editable: boolean }): JSX.Element {
  const { portfolioId, editable } = props;
  const limits = useAsync(
    (signal) => unwrap(api.portfolios[":id"].limits.$get({ param: { id: portfolioId } }, { init: { signal } })),
    [portfolioId],
  );
  const factors = useAsync(async (signal) => {
    const [lens, risk] = await Promise.all([
      loadFactors(),
      unwrap(api.risk.factors.$get({ query: {} }, { init: { signal } })),
    ]);
    return {
      lens: lens.filter((factor) => factor.is_active).map((factor) => ({ key: factor.key, name: factor.name })),
      risk: risk.factors.map((factor) => ({ key: factor.key, name: factor.name })),
    };
  }, []);
  // New numbers or a crossing of this portfolio (the page subscribes to it) move where limits stand.
  const reloadLimits = limits.reload;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = onLive((message) => {
      const ours =
        (message.type === "alert.raised" ||
          message.type === "alert.cleared" ||
          message.type === "exposures.updated" ||
          message.type === "resync") &&
        message.portfolio_id === portfolioId;
      if (!ours && message.type !== "batch.completed") return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(reloadLimits, 500);
    });
    return () => {
      if (timer) clearTimeout(timer);
      stop();
    };
  }, [portfolioId, reloadLimits]);
  const [editing, setEditing] = useState<string | "new" | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const changed = (text: string): void => {
    setEditing(null);
    setMessage(text);
    limits.reload();
    refreshAlerts();
  };
  const saved = (verb: string) => (limit: LimitResponse & { alert_recorded: { state: string } | null }) =>
    changed(
      `${verb} ${limitName(limit)}: ${limit.state} now` +
        (limit.alert_recorded ? ` (alert ${limit.alert_recorded.state} recorded).` : "."),
    );
  const count = limits.data?.limits.length ?? 0;
  const form = (limit: LimitResponse | null) =>
    factors.data ? (
      <LimitForm
        portfolioId={portfolioId}
        limit={limit}
        lens={factors.data.lens}
        risk={factors.data.risk}
        onSaved={saved(limit ? "Saved" : "Added")}
        onCancel={() => setEditing(null)}
      />
    ) : factors.status === "error" ? (
      <ErrorNotice error={factors.error} retry={factors.reload} title="Could not load the factors" />
    ) : null;
  return (
    <Card
      title={limits.data ? `Limits (${count})` : "Limits"}
      label="Limits"
      actions={
        editable && editing === null ? (
          <button
            type="button"
            class="button primary small"
            disabled={limits.data !== undefined && count >= limits.data.max_limits}
            onClick={() => {
              setEditing("new");
              setMessage(null);
            }}
          >
            Add limit
          </button>
        ) : null
      }
    >
      <p class="muted">
        Bounds on an exposure, a share of variance, tracking error or volatility, checked on every recompute (the daily
        batch, a position change); a crossing is an alert, on the <a href="/alerts">Alerts</a> page and live.
      </p>
      <div aria-live="polite">
        {message ? (
          <p class="notice" role="status" data-testid="limits-message">
            {message}
          </p>
        ) : null}
      </div>
      {editing === "new" ? form(null) : null}
      <Async state={limits} what="limits">
        {(data) =>
          data.limits.length === 0 ? (
            <Empty>{editable ? "No limits yet: add one." : "This portfolio has no limits."}</Empty>
          ) : (
            <TableWrap label="Limits table">
              <table class="data limits-table" data-testid="limits-table">
                <caption class="visually-hidden">The portfolio's limits and where their numbers stand</caption>
                <thead>
                  <tr>
                    <th scope="col">Limit</th>
                    <th scope="col">Now</th>
                    <th scope="col">Last alert</th>
                    {editable ? (
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {data.limits.map((limit) =>
                    editing === limit.id ? (
                      <tr key={limit.id}>
                        <td colSpan={editable ? 4 : 3}>{form(limit)}</td>
                      </tr>
                    ) : (
                      <LimitRow
                        key={limit.id}
                        portfolioId={portfolioId}
                        limit={limit}
                        editable={editable}
                        onEdit={() => {
                          setEditing(limit.id);
                          setMessage(null);
                        }}
                        onDeleted={() => changed(`Deleted ${limitName(limit)}.`)}
                      />
                    ),
                  )}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </Async>
    </Card>
  );
}
