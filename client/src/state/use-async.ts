// Loading data for a page: one hook that runs an async load when its inputs change, keeps the
// last result while reloading (no flash of empty content), drops stale answers, and exposes
// `reload` for live updates and retries. A load that failed runs again by itself when the live
// connection (re)opens: the network that failed it is probably back.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { connectionState } from "./live.ts";

export type AsyncState<T> =
  | { status: "loading"; data: T | undefined; error: null }
  | { status: "ok"; data: T; error: null }
  | { status: "error"; data: T | undefined; error: unknown };

export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  inputs: readonly unknown[],
): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: "loading", data: undefined, error: null });
  const [version, setVersion] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ status: "loading", data: previous.data, error: null }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: "ok", data, error: null });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((previous) => ({ status: "error", data: previous.data, error }));
      },
    );
    return () => controller.abort();
    // Dependencies on purpose: the caller lists the inputs
  }, [...inputs, version]);

  const reload = useCallback(() => setVersion((value) => value + 1), []);
  useRetryOnReconnect(state.status === "error", reload);
  return { ...state, reload };
}

/**
 * While `failed`, calls `reload` when the live connection (re)opens: the network that failed the
 * load is probably back.
 */
export function useRetryOnReconnect(failed: boolean, reload: () => void): void {
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  useEffect(() => {
    if (!failed) return;
    let previous = connectionState.peek();
    return connectionState.subscribe((now) => {
      if (now === "open" && previous !== "open") reloadRef.current();
      previous = now;
    });
  }, [failed]);
}

/** A value that follows `value` after it has stopped changing for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}
