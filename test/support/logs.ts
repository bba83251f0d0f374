// The Worker's structured log lines (worker/log.ts) that a test provokes on purpose: a database
// taken down, a poisoned queue message, a run on a date without closes. The test captures them
// and asserts them — logging the failure is part of the behaviour under test — so they stay out
// of the run's output, and a warn or error line that does print is one nobody expected.
import { afterAll, beforeAll, onTestFinished } from "vitest";

export interface LogLine {
  level: "warn" | "error";
  event: string;
  [field: string]: unknown;
}

/**
 * Until the current test ends, the Worker's warn and error lines of the given events are
 * collected into the returned array instead of printed; every other line prints as before. Call
 * it in the test, before the code that logs.
 */
export function captureLogs(...events: [string, ...string[]]): LogLine[] {
  const wanted = new Set<string>(events);
  return captureLogsWhere((line) => wanted.has(line.event));
}

/**
 * As `captureLogs`, for the lines `where` picks: e.g. those of one batch run, when other runs on
 * the shared database may log the same events meanwhile and must still print.
 */
export function captureLogsWhere(where: (line: LogLine) => boolean): LogLine[] {
  const captured: LogLine[] = [];
  onTestFinished(interceptConsole(where, captured));
  return captured;
}

/**
 * As `captureLogsWhere`, from the file's first test to the end of its last `afterAll`: for the
 * lines of work a test starts and does not wait for (batch runs that go on through the real
 * queue). Call it at the top of the file, before any `afterAll` that waits for that work.
 */
export function captureFileLogsWhere(where: (line: LogLine) => boolean): LogLine[] {
  const captured: LogLine[] = [];
  let restore: (() => void) | undefined;
  beforeAll(() => {
    restore = interceptConsole(where, captured);
  });
  afterAll(() => restore?.());
  return captured;
}

/** The events of the captured lines, in order. */
export function eventsOf(lines: readonly LogLine[]): string[] {
  return lines.map((line) => line.event);
}

/**
 * Wraps console.warn and console.error (logEvent's outlets for warn and error), whatever they
 * are now, so captures nest; returns the function that puts the previous ones back.
 */
function interceptConsole(where: (line: LogLine) => boolean, captured: LogLine[]): () => void {
  const restores = (["warn", "error"] as const).map((level) => {
    const previous = console[level];
    console[level] = (...args: unknown[]) => {
      const line = parseLogLine(args, level);
      if (line && where(line)) captured.push(line);
      else previous.apply(console, args);
    };
    return () => {
      console[level] = previous;
    };
  });
  return () => {
    for (const restore of restores.reverse()) restore();
  };
}

function parseLogLine(args: readonly unknown[], level: LogLine["level"]): LogLine | null {
  if (args.length !== 1 || typeof args[0] !== "string" || !args[0].startsWith("{")) return null;
  try {
    const parsed = JSON.parse(args[0]) as Record<string, unknown>;
    return typeof parsed["event"] === "string" ? { ...parsed, level, event: parsed["event"] } : null;
  } catch {
    return null;
  }
}
