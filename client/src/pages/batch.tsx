// Batch (RUN_BATCH): start the daily batch for a date (optionally recomputing what is stored),
// follow a run's phases as they move — live `batch.progress` / `batch.completed` messages, and
// a poll of the run's detail every 2 s while it runs (the live hub only reaches orgs whose
// portfolios the run covers) — and read the run history with each phase's telemetry and errors.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import type { BatchRunPhase, BatchRunSummary } from "../../../.types/worker/batch/run-history";
import { ApiFailure, api, unwrap } from "../api/client.ts";
import { DateField } from "../components/date-field.tsx";
import { Async, Card, Empty, ErrorNotice, Loading, Page, TableWrap } from "../components/ui.tsx";
import {
  applyLiveMessage,
  barFraction,
  barLabel,
  elapsedMs,
  emptyRunProgress,
  focusDate,
  formatDuration,
  isWeekendDate,
  lastWeekday,
  mergeDetail,
  phaseBars,
  phaseDataWarnings,
  runDataWarnings,
  type DataWarning,
  type PhaseBar,
  type RunProgress,
} from "../lib/batch-progress.ts";
import { formatInstant, missing } from "../lib/format.ts";
import { batchPhases } from "../../../worker/batch/telemetry.ts";
import { onLive } from "../state/live.ts";
import { useAsync } from "../state/use-async.ts";
import "./batch.css";

const pageSize = 20;
const pollMs = 2_000;
const listPollMs = 5_000;

type RunStatus = BatchRunSummary["status"];

const statusBadge: Record<RunStatus, string> = {
  queued: "",
  running: "running",
  completed: "ok",
  partial: "warn",
  failed: "bad",
};
const phaseStateBadge: Record<PhaseBar["state"], string> = {
  pending: "",
  running: "running",
  completed: "ok",
  failed: "bad",
};
const phaseStateWords: Record<PhaseBar["state"], string> = {
  pending: "waiting",
  running: "running",
  completed: "done",
  failed: "failed",
};
const phaseNames: Record<string, string> = {
  market_data: "Market data",
  symbol_metrics: "Symbol metrics",
  universe_factors: "Universe factors",
  risk_model: "Risk model",
  portfolio_analytics: "Portfolio analytics",
  denormalize: "Denormalize",
  publish: "Publish",
};

function isActive(status: RunStatus): boolean {
  return status === "queued" || status === "running";
}

function StatusBadge(props: { status: RunStatus }): JSX.Element {
  return <span class={`badge ${statusBadge[props.status]}`}>{props.status}</span>;
}

function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

const integer = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? missing : value.toLocaleString("en-US");

/** The orchestrator's run summary counts in a few words (`57,168 rows · 16 items failed`). */
function runCounts(counts: unknown): string {
  if (typeof counts !== "object" || counts === null) return missing;
  const record = counts as Record<string, unknown>;
  const number = (key: string): number | null => (typeof record[key] === "number" ? (record[key] as number) : null);
  const parts: string[] = [];
  const rows = number("rows_stored");
  if (rows !== null) parts.push(`${integer(rows)} rows`);
  for (const [key, noun] of [
    ["phases_failed", "phase"],
    ["chunks_failed", "chunk"],
    ["items_failed", "item"],
  ] as const) {
    const value = number(key);
    if (value) parts.push(`${integer(value)} ${noun}${value === 1 ? "" : "s"} failed`);
  }
  return parts.length > 0 ? parts.join(" · ") : missing;
}

function runDuration(run: Pick<BatchRunSummary, "started_at" | "finished_at" | "status">, now: number): string {
  if (!run.started_at) return missing;
  const end = run.finished_at ?? (isActive(run.status) ? new Date(now).toISOString() : null);
  const text = formatDuration(elapsedMs(run.started_at, end));
  return text ? (run.finished_at ? text : `${text} so far`) : missing;
}

// ---- start a run ------------------------------------------------------------------------------

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function RunForm(props: { onStarted: (runId: string, outcome: "started" | "already_running") => void }): JSX.Element {
  const [date, setDate] = useState(() => lastWeekday(todayUtc()));
  const [force, setForce] = useState(false);
  const [replacePrices, setReplacePrices] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [started, setStarted] = useState<string | null>(null);
  const weekend = date !== "" && isWeekendDate(date);
  const dateIssue =
    error instanceof ApiFailure ? error.issues.find((issue) => issue.path === "date")?.message : undefined;
  const otherError = error && !dateIssue ? error : null;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (date === "" || weekend) return;
    setBusy(true);
    setError(null);
    setStarted(null);
    try {
      const answer = await unwrap(
        api.admin.batch.run.$post({
          json: { date, ...(force ? { force_rerun: true } : {}), ...(replacePrices ? { replace_prices: true } : {}) },
        }),
      );
      setStarted(
        answer.outcome === "started"
          ? `Started run ${shortId(answer.run_id)} for ${answer.dates.join(", ")}.`
          : `A run for ${answer.dates.join(", ")} is already under way: showing it.`,
      );
      props.onStarted(answer.run_id, answer.outcome);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Run the batch" label="Run the batch">
      <form class="run-form" onSubmit={submit} aria-label="Run the batch" noValidate>
        {/* Text that is not a date (or after today) leaves no date: the run cannot start. */}
        <DateField
          label="Run date"
          id="run-date"
          required
          max={todayUtc()}
          value={date}
          onChange={(next) => {
            setDate(next ?? "");
            setError(null);
          }}
          error={dateIssue ?? (weekend ? "a weekend: batch runs compute weekdays only" : null)}
          hint="a weekday, not after today (UTC)"
        />
        <label class="check" title="Recompute betas and results already stored for the date">
          <input
            type="checkbox"
            id="force-rerun"
            checked={force}
            onChange={(event) => setForce(event.currentTarget.checked)}
          />
          Force rerun
        </label>
        <label
          class="check"
          title={
            "Market data: replace stored closes of another source (imports, uploads) that differ from the " +
            "provider's; by default they are kept and each conflict is reported"
          }
        >
          <input
            type="checkbox"
            id="replace-prices"
            checked={replacePrices}
            onChange={(event) => setReplacePrices(event.currentTarget.checked)}
          />
          Replace prices
        </label>
        <button type="submit" class="button primary" disabled={busy || date === "" || weekend}>
          {busy ? "Starting…" : force ? "Rerun batch" : "Run batch"}
        </button>
        <div class="run-form-outcome" aria-live="polite">
          {started ? (
            <span class="notice" role="status" data-testid="run-started">
              {started}
            </span>
          ) : null}
        </div>
        {otherError ? <ErrorNotice error={otherError} title="The run did not start" /> : null}
      </form>
    </Card>
  );
}

// ---- one run ----------------------------------------------------------------------------------

function ProgressBar(props: { bar: PhaseBar; label: string }): JSX.Element {
  const { bar } = props;
  const fraction = barFraction(bar);
  const indeterminate = bar.state === "running" && (bar.total === null || bar.total === 0);
  const text = barLabel(bar);
  return (
    <div
      class="progress"
      data-state={bar.state}
      data-indeterminate={indeterminate ? "" : undefined}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={indeterminate ? undefined : Math.round(fraction * 100)}
      aria-valuetext={text}
      title={text}
    >
      <span style={{ width: `${indeterminate ? 100 : Math.max(bar.state === "running" ? 2 : 0, fraction * 100)}%` }} />
    </div>
  );
}

function PhaseRows(props: { bars: readonly PhaseBar[] }): JSX.Element {
  return (
    <ol class="phase-bars" aria-label="Phase progress">
      {props.bars.map((bar) => (
        <li
          key={bar.phase}
          class="phase-bar"
          data-phase={bar.phase}
          data-state={bar.state}
          data-testid={`phase-${bar.phase}`}
        >
          <span class="phase-name">{phaseNames[bar.phase] ?? bar.phase}</span>
          <ProgressBar bar={bar} label={`${phaseNames[bar.phase] ?? bar.phase} progress`} />
          <span class={`phase-state badge ${phaseStateBadge[bar.state]}`}>{barLabel(bar)}</span>
        </li>
      ))}
    </ol>
  );
}

function reasonsText(reasons: Record<string, number> | undefined): string {
  const entries = Object.entries(reasons ?? {});
  return entries.length === 0 ? "" : entries.map(([reason, n]) => `${reason} ${n}`).join(", ");
}

/** A phase's data warnings with their examples: a kept price conflict is for the operator to settle. */
function DataWarnings(props: { warnings: readonly DataWarning[]; truncated: boolean }): JSX.Element | null {
  if (props.warnings.length === 0) return null;
  return (
    <ul class="data-warnings">
      {props.warnings.map((warning) => (
        <li key={warning.kind} class={`data-warning ${warning.tone}`} data-kind={warning.kind}>
          <span class={`badge ${warning.tone === "warn" ? "warn" : ""}`}>
            {warning.tone === "warn" ? "check" : "note"}
          </span>{" "}
          {warning.text}
          {warning.examples.length > 0 ? (
            <ul class="examples" aria-label="Examples">
              {warning.examples.slice(0, 12).map((example, index) => (
                <li key={index}>
                  <code>{example.item}</code> <span class="muted">{example.detail}</span>
                </li>
              ))}
              {warning.examples.length > 12 || props.truncated ? (
                <li class="muted">
                  {warning.examples.length > 12
                    ? `and ${warning.examples.length - 12} more listed`
                    : "more may have happened than are listed"}
                </li>
              ) : null}
            </ul>
          ) : warning.kind === "price_conflicts_kept" || warning.kind === "returns_rejected" ? (
            <span class="muted small"> (examples are listed once the run finishes)</span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function PhaseTable(props: { phases: readonly BatchRunPhase[]; bars: readonly PhaseBar[] }): JSX.Element {
  const byName = new Map(props.phases.map((phase) => [phase.name, phase]));
  return (
    <TableWrap label="Phase telemetry">
      <table class="data phase-table" data-testid="phase-table">
        <caption class="visually-hidden">Phase telemetry</caption>
        <thead>
          <tr>
            <th scope="col">Phase</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">
              Computed
            </th>
            <th scope="col" class="num">
              Skipped
            </th>
            <th scope="col" class="num">
              Failed
            </th>
            <th scope="col" class="num" title="Rows stored / unchanged / deleted">
              Rows stored
            </th>
            <th scope="col" class="num" title="Chunks done / total (dead-lettered)">
              Chunks
            </th>
            <th scope="col" class="num" title="Slowest chunk">
              Slowest
            </th>
            <th scope="col" class="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {props.bars.map((bar) => {
            const phase = byName.get(bar.phase);
            const name = phaseNames[bar.phase] ?? bar.phase;
            if (!phase) {
              return (
                <tr key={bar.phase} data-phase={bar.phase}>
                  <th scope="row">{name}</th>
                  <td>
                    <span class={`badge ${phaseStateBadge[bar.state]}`}>{phaseStateWords[bar.state]}</span>
                  </td>
                  <td class="num">{missing}</td>
                  <td class="num">{missing}</td>
                  <td class="num">{missing}</td>
                  <td class="num">{missing}</td>
                  <td class="num">{bar.total === null ? missing : `${bar.done + bar.failed} / ${bar.total}`}</td>
                  <td class="num">{missing}</td>
                  <td class="num">{missing}</td>
                </tr>
              );
            }
            const { counts } = phase;
            const issues = phase.issues ?? [];
            const warnings = phaseDataWarnings(phase);
            return [
              <tr key={bar.phase} data-phase={bar.phase} class={phase.success ? "" : "phase-failed"}>
                <th scope="row">{name}</th>
                <td>
                  <span class={`badge ${phase.success ? "ok" : "bad"}`}>{phase.success ? "ok" : "failed"}</span>
                </td>
                <td class="num" title={`${counts.computed} of ${counts.total} ${counts.unit}`}>
                  {integer(counts.computed)} / {integer(counts.total)} <span class="muted small">{counts.unit}</span>
                </td>
                <td class="num" title={reasonsText(counts.skipped_reasons) || undefined}>
                  {integer(counts.skipped)}
                </td>
                <td
                  class={`num ${counts.failed > 0 ? "bad-text" : ""}`}
                  title={reasonsText(counts.failed_reasons) || undefined}
                >
                  {integer(counts.failed)}
                </td>
                <td
                  class="num"
                  title={
                    `${counts.rows_stored} stored, ${counts.rows_unchanged} unchanged, ` +
                    `${counts.rows_deleted} deleted`
                  }
                >
                  {integer(counts.rows_stored)}
                  {counts.rows_unchanged > 0 ? (
                    <span class="muted small"> ({integer(counts.rows_unchanged)} same)</span>
                  ) : null}
                </td>
                <td class="num">
                  {counts.chunks_done} / {counts.chunks_total}
                  {counts.chunks_failed > 0 ? <span class="bad-text"> ({counts.chunks_failed} dead)</span> : null}
                </td>
                <td class="num">{formatDuration(counts.slowest_chunk_ms) ?? missing}</td>
                <td class="num">{formatDuration(phase.duration_ms) ?? missing}</td>
              </tr>,
              <tr key={`${bar.phase}-message`} class="phase-message" data-phase={bar.phase}>
                <td colSpan={9}>
                  <span class="muted">{phase.message}</span>
                  <DataWarnings warnings={warnings} truncated={phase.issues_truncated} />
                  {phase.error_text ? (
                    <div class="bad-text" role="note">
                      Error: {phase.error_text}
                    </div>
                  ) : null}
                  {issues.length > 0 ? (
                    <details class="issues-details">
                      <summary>
                        {issues.length}
                        {phase.issues_truncated ? "+" : ""} listed issue{issues.length === 1 ? "" : "s"}
                      </summary>
                      <ul class="issue-list">
                        {issues.map((issue, index) => (
                          <li key={index}>
                            <span class={`badge ${issue.kind === "failed" ? "bad" : "warn"}`}>{issue.kind}</span>{" "}
                            <code>{issue.item}</code>
                            {issue.factor ? <span class="muted"> · {issue.factor}</span> : null}
                            {" · "}
                            {issue.reason} · <span class="muted">{issue.detail}</span>
                          </li>
                        ))}
                      </ul>
                      {phase.issues_truncated ? <p class="muted small">More issues happened than are listed.</p> : null}
                    </details>
                  ) : null}
                </td>
              </tr>,
            ];
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

type RunDetailData = Awaited<ReturnType<typeof loadDetail>>;

function runWarningText(kind: DataWarning["kind"], count: number): string {
  const n = count.toLocaleString("en-US");
  switch (kind) {
    case "price_conflicts_kept":
      return `${n} price conflict${count === 1 ? "" : "s"} kept: the provider's close differs from an imported one`;
    case "price_conflicts_replaced":
      return `${n} imported close${count === 1 ? "" : "s"} replaced by the provider's`;
    case "returns_rejected":
      return `${n} daily return${count === 1 ? "" : "s"} rejected as suspect moves`;
    case "recomputed_stale":
      return `${n} symbol${count === 1 ? "" : "s"} recomputed after a price revision`;
  }
}

function loadDetail(id: string, includeIssues: boolean, signal?: AbortSignal) {
  return unwrap(
    api.admin.batch.runs[":id"].$get(
      { param: { id }, query: { include_issues: includeIssues ? "true" : "false" } },
      signal ? { init: { signal } } : undefined,
    ),
  );
}

function dateStatus(date: string, progress: RunProgress, phases: readonly BatchRunPhase[]): string {
  const ofDate = phases.filter((phase) => phase.date === date);
  if (ofDate.some((phase) => !phase.success)) return "errors";
  if (progress.completedDates.includes(date)) return "published";
  if (progress.dates[date]) return "running";
  return "waiting";
}

function RunDetail(props: { runId: string; onStatusChange: () => void }): JSX.Element {
  const { runId } = props;
  const [detail, setDetail] = useState<RunDetailData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<RunProgress>(() => emptyRunProgress(runId));
  const [chosenDate, setChosenDate] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const status = detail?.run.status;
  const active = status === undefined || isActive(status);

  // Load the detail; while the run is active poll it (without the issue lists) every 2 s. A live
  // message about the run asks for a poll at once (`pollNow`), for its telemetry.
  const pollNow = useRef<() => void>(() => undefined);
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    let previousStatus: RunStatus | undefined;
    let inFlight = false;
    let again = false;
    const schedule = (ms: number): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void load(), ms);
    };
    const load = async (): Promise<void> => {
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      try {
        const running = previousStatus === undefined || isActive(previousStatus);
        let answer = await loadDetail(runId, !running, controller.signal);
        if (controller.signal.aborted) return;
        // A run that just finished: read it once more with its issue lists.
        if (running && !isActive(answer.run.status)) answer = await loadDetail(runId, true, controller.signal);
        if (controller.signal.aborted) return;
        if (previousStatus !== undefined && previousStatus !== answer.run.status) props.onStatusChange();
        previousStatus = answer.run.status;
        setDetail(answer);
        setError(null);
        setProgress((current) => mergeDetail(current, answer));
        setNow(Date.now());
        if (isActive(answer.run.status)) schedule(again ? 0 : pollMs);
      } catch (failure) {
        if (controller.signal.aborted) return;
        setError(failure);
        // Keep polling through a blip while the run is (as far as we know) active.
        if (previousStatus === undefined || isActive(previousStatus)) schedule(pollMs * 2);
      } finally {
        inFlight = false;
        again = false;
      }
    };
    pollNow.current = () => {
      if (previousStatus === undefined || isActive(previousStatus)) schedule(0);
      else void load();
    };
    void load();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
      pollNow.current = () => undefined;
    };
    // Dependencies on purpose: onStatusChange is the parent's reload
  }, [runId, version]);

  // Live: progress of this run moves the bars at once and asks for its telemetry.
  useEffect(
    () =>
      onLive((message) => {
        if (message.type !== "batch.progress" && message.type !== "batch.completed") return;
        if (message.run_id !== runId) return;
        setProgress((current) => applyLiveMessage(current, message));
        pollNow.current();
      }),
    [runId],
  );

  // The elapsed time of a running run ticks.
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [active]);

  if (!detail) {
    return error ? (
      <ErrorNotice error={error} title="Could not load the run" retry={() => setVersion((value) => value + 1)} />
    ) : (
      <Loading what="the run" />
    );
  }

  const { run } = detail;
  const focus = focusDate(progress, run.dates);
  const date = chosenDate !== null && run.dates.includes(chosenDate) ? chosenDate : focus;
  const bars = date ? phaseBars(progress, date) : [];
  const phasesOfDate = detail.phases.filter((phase) => phase.date === date);
  const published = Math.max(run.dates_published, progress.completedDates.length);
  const fullPlan =
    run.phase_plan.length === 0 ||
    (run.phase_plan.length === batchPhases.length &&
      batchPhases.every((phase, index) => run.phase_plan[index] === phase));
  const dataWarnings = runDataWarnings(detail.phases);
  const datesBar: PhaseBar = {
    phase: "dates",
    state: isActive(run.status)
      ? "running"
      : run.status === "completed"
        ? "completed"
        : run.status === "queued"
          ? "pending"
          : "failed",
    done: published,
    failed: 0,
    total: run.dates_total,
  };

  return (
    <div class="run-detail" data-testid="run-detail" data-run-id={run.id} data-status={run.status}>
      {error ? <ErrorNotice error={error} title="Could not refresh" /> : null}
      <dl class="run-facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={run.status} />
          </dd>
        </div>
        <div>
          <dt>Dates</dt>
          <dd>{run.start_date === run.end_date ? run.start_date : `${run.start_date} → ${run.end_date}`}</dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd>
            {run.trigger}
            {run.requested_by ? <span class="muted"> by {run.requested_by}</span> : null}
            {run.force_rerun ? <span class="badge warn small-badge">force</span> : null}
            {run.replace_prices ? (
              <span
                class="badge warn small-badge"
                title="Stored closes of other sources that differ from the provider's are replaced"
              >
                replace prices
              </span>
            ) : null}
          </dd>
        </div>
        {!fullPlan ? (
          <div>
            <dt>Phases</dt>
            <dd data-testid="run-plan">{run.phase_plan.map((phase) => phaseNames[phase] ?? phase).join(" → ")}</dd>
          </div>
        ) : null}
        <div>
          <dt>Scope</dt>
          <dd>
            {run.portfolio_id ? (
              <a href={`/portfolios/${encodeURIComponent(run.portfolio_id)}`}>{run.portfolio_id}</a>
            ) : (
              "all portfolios"
            )}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatInstant(run.started_at ?? run.created_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="run-duration">{runDuration(run, now)}</dd>
        </div>
        <div>
          <dt>Chunks</dt>
          <dd>
            {integer(detail.progress.chunks.done)} done · {integer(detail.progress.chunks.pending)} pending
            {detail.progress.chunks.failed > 0 ? (
              <span class="bad-text"> · {integer(detail.progress.chunks.failed)} failed</span>
            ) : null}
          </dd>
        </div>
      </dl>
      {run.error_text ? (
        <p class="state state-error" role="alert">
          <strong>Run error:</strong> {run.error_text}
        </p>
      ) : null}
      {dataWarnings.length > 0 ? (
        <ul class="run-data-warnings" data-testid="run-data-warnings" aria-label="Data warnings">
          {dataWarnings.map((warning) => (
            <li key={warning.kind} class={`data-warning ${warning.tone}`} data-kind={warning.kind}>
              <span class={`badge ${warning.tone === "warn" ? "warn" : ""}`}>
                {warning.tone === "warn" ? "check" : "note"}
              </span>{" "}
              {runWarningText(warning.kind, warning.count)}{" "}
              <span class="muted">
                on{" "}
                {warning.dates.length === 1
                  ? warning.dates[0]
                  : `${warning.dates.length} dates ` +
                    `(${warning.dates[0]} → ${warning.dates[warning.dates.length - 1]})`}
                ; see the{" "}
                {warning.kind === "returns_rejected" || warning.kind === "recomputed_stale"
                  ? "Universe factors"
                  : "Market data"}{" "}
                phase
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {run.stale_dates.length > 0 ? (
        <details class="stale-dates" data-testid="stale-dates">
          <summary>
            {run.stale_dates.length} earlier date{run.stale_dates.length === 1 ? "" : "s"} added: a price revision made
            their stored betas stale
          </summary>
          <ul>
            {run.stale_dates.map((entry) => (
              <li key={entry.date}>
                <strong>{entry.date}</strong>: {entry.symbols.length} symbol{entry.symbols.length === 1 ? "" : "s"}{" "}
                <span class="muted">
                  ({entry.symbols.slice(0, 12).join(", ")}
                  {entry.symbols.length > 12 ? ", …" : ""})
                </span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}

      <div class="dates-progress">
        <span class="phase-name">Dates published</span>
        <ProgressBar bar={datesBar} label="Dates published" />
        <span class="phase-state" data-testid="dates-published">
          {published} / {run.dates_total}
        </span>
      </div>

      <div class="date-heading">
        <h3>
          Phases{date ? ` of ${date}` : ""}
          {isActive(run.status) ? <span class="live-tag">live</span> : null}
        </h3>
        {run.dates.length > 1 ? (
          <div class="field inline-field">
            <label for="run-date-select">Date</label>
            <select
              id="run-date-select"
              value={date ?? ""}
              onChange={(event) =>
                setChosenDate(event.currentTarget.value === focus ? null : event.currentTarget.value)
              }
            >
              {run.dates.map((value) => (
                <option key={value} value={value}>
                  {value} · {dateStatus(value, progress, detail.phases)}
                  {value === focus && isActive(run.status) ? " (current)" : ""}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      {date ? <PhaseRows bars={bars} /> : <Empty>The run has no dates.</Empty>}
      {date ? <PhaseTable phases={phasesOfDate} bars={bars} /> : null}

      {detail.failed_chunks_total > 0 ? (
        <section class="failed-chunks" aria-label="Failed chunks">
          <h3>
            Dead-lettered chunks ({detail.failed_chunks_total}
            {detail.failed_chunks.length < detail.failed_chunks_total
              ? `, first ${detail.failed_chunks.length} listed`
              : ""}
            )
          </h3>
          <TableWrap label="Dead-lettered chunks">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Phase</th>
                  <th scope="col" class="num">
                    Chunk
                  </th>
                  <th scope="col">Items</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {detail.failed_chunks.map((chunk) => (
                  <tr key={`${chunk.date}-${chunk.phase}-${chunk.chunk_index}`}>
                    <td>{chunk.date}</td>
                    <td>{phaseNames[chunk.phase] ?? chunk.phase}</td>
                    <td class="num">{chunk.chunk_index}</td>
                    <td class="wrap" title={chunk.items.join(", ")}>
                      {chunk.items.length} · {chunk.items.slice(0, 6).join(", ")}
                      {chunk.items.length > 6 ? "…" : ""}
                    </td>
                    <td class="wrap bad-text">{chunk.error_text ?? missing}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ) : null}
    </div>
  );
}

// ---- run history ------------------------------------------------------------------------------

function RunTable(props: { runs: readonly BatchRunSummary[]; selected: string | null; now: number }): JSX.Element {
  return (
    <TableWrap label="Batch runs">
      <table class="data" data-testid="run-table">
        <caption class="visually-hidden">Batch runs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Run</th>
            <th scope="col">Trigger</th>
            <th scope="col">Dates</th>
            <th scope="col" class="num">
              Published
            </th>
            <th scope="col">Requested by</th>
            <th scope="col">Created</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col">Results</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((run) => {
            const current = run.id === props.selected;
            return (
              <tr key={run.id} class={current ? "selected" : ""} data-run-id={run.id} data-status={run.status}>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>
                  <a
                    href={`/batch?run=${encodeURIComponent(run.id)}`}
                    aria-current={current ? "true" : undefined}
                    title={run.id}
                    aria-label={
                      `Run ${shortId(run.id)} (${run.status}, ` +
                      `${run.start_date}${run.end_date !== run.start_date ? ` to ${run.end_date}` : ""})`
                    }
                  >
                    <code>{shortId(run.id)}</code>
                  </a>
                </td>
                <td>
                  {run.trigger}
                  {run.force_rerun ? (
                    <span class="badge warn small-badge" title="Force rerun">
                      force
                    </span>
                  ) : null}
                  {run.replace_prices ? (
                    <span class="badge warn small-badge" title="Replace prices">
                      replace prices
                    </span>
                  ) : null}
                  {run.stale_dates.length > 0 ? (
                    <span
                      class="badge small-badge"
                      title={
                        "Dates added because a price revision made their betas stale: " +
                        run.stale_dates.map((entry) => entry.date).join(", ")
                      }
                    >
                      +{run.stale_dates.length} stale
                    </span>
                  ) : null}
                </td>
                <td>{run.start_date === run.end_date ? run.start_date : `${run.start_date} → ${run.end_date}`}</td>
                <td class="num">
                  {run.dates_published} / {run.dates_total}
                </td>
                <td>{run.requested_by ?? missing}</td>
                <td>{formatInstant(run.created_at)}</td>
                <td class="num">{runDuration(run, props.now)}</td>
                <td class="wrap" title={run.error_text ?? undefined}>
                  {runCounts(run.counts)}
                  {run.error_text ? <div class="bad-text small">{run.error_text}</div> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableWrap>
  );
}

export function BatchPage(): JSX.Element {
  const { query, route } = useLocation();
  const [offset, setOffset] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const runs = useAsync(
    async (signal) => {
      const answer = await unwrap(
        api.admin.batch.runs.$get({ query: { limit: String(pageSize), offset: String(offset) } }, { init: { signal } }),
      );
      setNow(Date.now());
      return answer;
    },
    [offset],
  );
  const list = runs.data?.runs ?? [];
  const requested = query["run"] ?? null;
  const selected = requested ?? list.find((run) => isActive(run.status))?.id ?? list[0]?.id ?? null;
  const anyActive = list.some((run) => isActive(run.status));
  const selectedRun = list.find((run) => run.id === selected);

  // A completed date anywhere refreshes the history; so does a poll while a listed run is active.
  useEffect(
    () =>
      onLive((message) => {
        if (message.type === "batch.completed") runs.reload();
      }),
    [runs.reload],
  );
  useEffect(() => {
    if (!anyActive) return;
    const timer = setInterval(runs.reload, listPollMs);
    return () => clearInterval(timer);
  }, [anyActive, runs.reload]);

  const total = runs.data?.total_count ?? 0;
  return (
    <Page
      title="Batch"
      subtitle="The daily batch: start a run, follow its phases live, read each phase's telemetry and errors."
    >
      <RunForm
        onStarted={(runId) => {
          route(`/batch?run=${encodeURIComponent(runId)}`);
          if (offset !== 0) setOffset(0);
          else runs.reload();
        }}
      />
      <Card
        title={
          selected ? (
            <>
              Run <code title={selected}>{shortId(selected)}</code>
              {selectedRun && !requested ? (
                <span class="muted small"> ({isActive(selectedRun.status) ? "active" : "latest"})</span>
              ) : null}
            </>
          ) : (
            "Run"
          )
        }
        label="Run detail"
      >
        {selected ? (
          <RunDetail key={selected} runId={selected} onStatusChange={runs.reload} />
        ) : runs.status === "ok" ? (
          <Empty>No batch runs yet: start one above.</Empty>
        ) : (
          <Loading what="runs" />
        )}
      </Card>
      <Card title={runs.data ? `Run history (${total})` : "Run history"} label="Run history">
        <Async state={runs} what="runs">
          {(data) =>
            data.runs.length === 0 ? (
              <Empty>No batch runs yet.</Empty>
            ) : (
              <>
                <RunTable runs={data.runs} selected={selected} now={now} />
                {total > pageSize ? (
                  <nav class="pager" aria-label="Run history pages">
                    <span>
                      {offset + 1}–{Math.min(offset + pageSize, total)} of {total}
                    </span>
                    <button
                      type="button"
                      class="button small"
                      disabled={offset === 0}
                      onClick={() => setOffset(Math.max(0, offset - pageSize))}
                    >
                      Newer
                    </button>
                    <button
                      type="button"
                      class="button small"
                      disabled={offset + pageSize >= total}
                      onClick={() => setOffset(offset + pageSize)}
                    >
                      Older
                    </button>
                  </nav>
                ) : null}
              </>
            )
          }
        </Async>
      </Card>
    </Page>
  );
}
