// "computing history… N of M dates" while the open portfolio's history run is under way (see
// lib/history-run.ts). The live messages say what each run is; a caller with RUN_BATCH also reads
// the runs' summaries (a run already under way when the page opened, and its end). For a
// portfolio with no computed date yet, `FirstStart` says what computes it: the run under way with
// the time left, live, or the nightly schedule (and, for an operator, the Batch page).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, unwrap } from "../api/client.ts";
import {
  computingIndicator,
  computingText,
  emptyHistoryState,
  historyIndicator,
  historyText,
  scheduleText,
  type ComputingIndicator,
  noteLiveMessage,
  noteRunFacts,
  runsWithoutFacts,
  type HistoryIndicator,
  type HistoryState,
  type RunFacts,
} from "../lib/history-run.ts";
import { onLive } from "../state/live.ts";
import { can } from "../state/session.ts";
import "./data-quality.css";

const refreshMs = 4_000;

async function runFacts(runId: string, signal: AbortSignal): Promise<RunFacts> {
  const detail = await unwrap(
    api.admin.batch.runs[":id"].$get(
      { param: { id: runId }, query: { include_issues: "false" } },
      { init: { signal } },
    ),
  );
  return detail.run;
}

/** The open portfolio's history run under way, or null. */
export function useHistoryRun(portfolioId: string): HistoryIndicator | null {
  return useRunProgress(portfolioId).history;
}

/**
 * The portfolio's history run under way (`history`), and the run that computes its dates when it
 * has none yet (`computing`: its history run or a run over every portfolio), or null.
 */
export function useRunProgress(portfolioId: string): {
  history: HistoryIndicator | null;
  computing: ComputingIndicator | null;
} {
  const [state, setState] = useState<HistoryState>(emptyHistoryState);
  const [now, setNow] = useState(() => Date.now());
  const asked = useRef(new Set<string>());
  const mayReadRuns = can("RUN_BATCH");

  // Runs already under way when the page opened (their messages come only as they progress).
  useEffect(() => {
    if (!mayReadRuns) return;
    const controller = new AbortController();
    unwrap(api.admin.batch.runs.$get({ query: { limit: "10" } }, { init: { signal: controller.signal } })).then(
      (list) => {
        if (controller.signal.aborted) return;
        // Runs over every portfolio too: on first start a backfill computes the portfolio's dates.
        setState((current) =>
          list.runs
            .filter((run) => run.trigger === "portfolio" || run.portfolio_id === null)
            .reduce((next, run) => noteRunFacts(next, run.id, run, Date.now()), current),
        );
      },
      () => undefined, // the indicator is a courtesy: a failed read shows nothing
    );
    return () => controller.abort();
  }, [portfolioId, mayReadRuns]);

  useEffect(
    () =>
      onLive((message) => {
        if (
          message.type === "batch.progress" ||
          message.type === "batch.completed" ||
          message.type === "exposures.updated"
        ) {
          setState((current) => noteLiveMessage(current, message, Date.now()));
          setNow(Date.now());
        }
      }),
    [],
  );

  // A run heard of for the first time: ask what it is (once), when the caller may.
  useEffect(() => {
    if (!mayReadRuns) return;
    const controller = new AbortController();
    for (const runId of runsWithoutFacts(state)) {
      if (asked.current.has(runId)) continue;
      asked.current.add(runId);
      runFacts(runId, controller.signal).then(
        (facts) => setState((current) => noteRunFacts(current, runId, facts, Date.now())),
        () => undefined,
      );
    }
  }, [state, mayReadRuns]);

  const indicator = historyIndicator(state, portfolioId, now);
  const computing = computingIndicator(state, portfolioId, now);

  // While one is shown: refresh its facts (a run can end without a last message) and let the
  // quiet timeout pass (and the time left move).
  const runId = indicator?.runId ?? computing?.runId ?? null;
  useEffect(() => {
    if (runId === null) return;
    const controller = new AbortController();
    const timer = setInterval(() => {
      setNow(Date.now());
      if (!mayReadRuns) return;
      runFacts(runId, controller.signal).then(
        (facts) => setState((current) => noteRunFacts(current, runId, facts, Date.now())),
        () => undefined,
      );
    }, refreshMs);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [runId, mayReadRuns]);

  return { history: indicator, computing };
}

export function HistoryProgress(props: { indicator: HistoryIndicator | null }): JSX.Element | null {
  const { indicator } = props;
  if (!indicator) return null;
  const text = historyText(indicator);
  return (
    <span
      class="history-progress"
      role="status"
      aria-live="polite"
      data-testid="history-progress"
      title="The portfolio's exposures are being computed for its earlier dates; they appear as they land."
    >
      <span class="spinner" aria-hidden="true" />
      <progress max={indicator.total} value={indicator.done} aria-hidden="true" />
      {text}
    </span>
  );
}

/**
 * The empty heatmap of a portfolio with no computed date: the run computing it ("Computing
 * history: 12 of 40 dates, about 2 min left."), updating live, or, when none runs, when the
 * nightly batch will; an operator (RUN_BATCH) is pointed to the Batch page to run it now.
 */
export function FirstStart(props: { computing: ComputingIndicator | null }): JSX.Element {
  const { computing } = props;
  const operator = can("RUN_BATCH");
  if (computing)
    return (
      <div class="first-start" data-testid="first-start" data-state="running">
        <p role="status" aria-live="polite" data-testid="first-start-progress">
          <span class="spinner" aria-hidden="true" /> {computingText(computing)}
        </p>
        <progress max={computing.total} value={computing.done} aria-hidden="true" />
        <p class="muted">The heatmap fills in as each date lands; there is no need to reload.</p>
        {operator && computing.kind === "batch" ? (
          <p class="muted">
            <a href="/batch">Follow the run on the Batch page</a>.
          </p>
        ) : null}
      </div>
    );
  return (
    <div class="first-start" data-testid="first-start" data-state="idle">
      <p>
        <strong>No computed exposures yet.</strong> {scheduleText(new Date())}
      </p>
      <p class="muted">
        Adding positions computes the latest date at once, and the dates since they were opened in the background.
        {operator ? (
          <>
            {" "}
            To compute every portfolio now, <a href="/batch">run the batch or a backfill from the Batch page</a>.
          </>
        ) : (
          " An operator can run the batch sooner."
        )}
      </p>
    </div>
  );
}
