// "computing history… N of M dates" while the open portfolio's history run is under way (see
// lib/history-run.ts). The live messages say what each run is; a caller with RUN_BATCH also reads
// the runs' summaries (a run already under way when the page opened, and its end).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, unwrap } from "../api/client.ts";
import {
  emptyHistoryState,
  historyIndicator,
  historyText,
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
        setState((current) =>
          list.runs
            .filter((run) => run.trigger === "portfolio")
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

  // While one is shown: refresh its facts (a run can end without a last message) and let the
  // quiet timeout pass.
  const runId = indicator?.runId ?? null;
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

  return indicator;
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
