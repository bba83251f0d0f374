// The dashboard's building blocks: page frame, loading / empty / error states, labelled form
// fields, buttons and notices. Every state a page can be in has one look, everywhere.
import type { ComponentChildren, InputHTMLAttributes, JSX, PartialInputHTMLAttributes, Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeFailure, ApiFailure } from "../api/client.ts";
import type { AsyncState } from "../state/use-async.ts";

export function Page(props: {
  title: string;
  subtitle?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-header">
        <div>
          <h1 id="page-title">{props.title}</h1>
          {props.subtitle ? <p class="subtitle">{props.subtitle}</p> : null}
        </div>
        {props.actions ? <div class="page-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

export function Card(props: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  label?: string;
}): JSX.Element {
  return (
    <section class={`card ${props.class ?? ""}`} aria-label={props.label}>
      {props.title || props.actions ? (
        <header class="card-header">
          {props.title ? <h2>{props.title}</h2> : <span />}
          {props.actions ? <div class="card-actions">{props.actions}</div> : null}
        </header>
      ) : null}
      {props.children}
    </section>
  );
}

export function Loading(props: { what?: string }): JSX.Element {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      Loading{props.what ? ` ${props.what}` : ""}…
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }): JSX.Element {
  return <div class="state state-empty">{props.children}</div>;
}

export function ErrorNotice(props: { error: unknown; retry?: () => void; title?: string }): JSX.Element {
  const issues = props.error instanceof ApiFailure ? props.error.issues : [];
  return (
    <div class="state state-error" role="alert">
      <strong>{props.title ?? "Something went wrong"}:</strong> {describeFailure(props.error)}
      {issues.length > 0 ? (
        <ul class="issues">
          {issues.map((issue, index) => (
            <li key={index}>
              {issue.line !== undefined ? <span class="issue-line">line {issue.line}</span> : null}
              {issue.path ? <code>{issue.path}</code> : null}{" "}
              {/* "opened_on must be…" already names its field: the code above stands for it. */}
              {issue.path && issue.message.startsWith(`${issue.path} `)
                ? issue.message.slice(issue.path.length + 1)
                : issue.message}
            </li>
          ))}
        </ul>
      ) : null}
      {props.retry ? (
        <button type="button" class="button small" onClick={props.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * Renders an async state: a spinner before the first answer, the error with a retry, the
 * content otherwise (kept visible, dimmed, while a reload runs).
 */
export function Async<T>(props: {
  state: AsyncState<T> & { reload: () => void };
  what?: string;
  children: (data: T) => ComponentChildren;
}): JSX.Element {
  const { state } = props;
  if (state.status === "error" && state.data === undefined)
    return <ErrorNotice error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading what={props.what} />;
  return (
    <div class="async" aria-busy={state.status === "loading"} data-stale={state.status === "loading" ? "" : undefined}>
      {state.status === "error" ? (
        <ErrorNotice error={state.error} retry={state.reload} title="Could not refresh" />
      ) : null}
      {props.children(state.data)}
    </div>
  );
}

/**
 * Whether an element has something to scroll (content wider or taller than its box), kept up to date as it
 * or its children resize. Such an element should be a tab stop (`tabIndex={scrolls ? 0 : undefined}`) so a
 * keyboard user can reach it and scroll with the arrow keys (WCAG 2.1.1, axe's scrollable-region-focusable);
 * one that fits adds no stop to the tab order.
 */
export function useScrolls<T extends HTMLElement>(): [Ref<T>, boolean] {
  const element = useRef<T>(null);
  const [scrolls, setScrolls] = useState(false);
  // After every render: the content inside may have been replaced, so its size is observed afresh.
  useEffect(() => {
    const box = element.current;
    if (!box) return;
    const measure = (): void =>
      setScrolls(box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1);
    const observer = new ResizeObserver(measure);
    const watch = (): void => {
      measure();
      observer.disconnect();
      observer.observe(box);
      for (const child of Array.from(box.children)) observer.observe(child);
    };
    watch();
    // Content that changes inside without this component rendering again (a child's own state
    // replacing its table, rows arriving) may start or stop the scrolling: measure it then too.
    const mutations = new MutationObserver(watch);
    mutations.observe(box, { childList: true, subtree: true, characterData: true });
    return () => {
      observer.disconnect();
      mutations.disconnect();
    };
  });
  return [element, scrolls];
}

/** The frame a table scrolls in when it is wider (or taller) than its place: a named region, a tab stop then. */
export function TableWrap(props: {
  label: string;
  class?: string;
  busy?: boolean;
  testid?: string;
  children: ComponentChildren;
}): JSX.Element {
  const [frame, scrolls] = useScrolls<HTMLElement>();
  // A <section> with a name is a region landmark.
  return (
    <section
      ref={frame}
      class={`table-wrap ${props.class ?? ""}`}
      aria-label={props.label}
      aria-busy={props.busy}
      tabIndex={scrolls ? 0 : undefined}
      data-testid={props.testid}
    >
      {props.children}
    </section>
  );
}

// The loose (role-agnostic) input attributes: a field may be text, number, date or a combobox.
type InputProps = PartialInputHTMLAttributes<HTMLInputElement>;

/** A labelled input; `hint` and `error` are announced with it. */
export function Field(props: { label: string; hint?: string; error?: string | null } & InputProps): JSX.Element {
  const { label, hint, error, id, ...input } = props;
  const fieldId = id ?? `field-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const described =
    [hint ? `${fieldId}-hint` : "", error ? `${fieldId}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field ${error ? "field-invalid" : ""}`}>
      <label for={fieldId}>{label}</label>
      {/* The loose attributes are the same object at run time; preact's stricter union only narrows `type`/`role`. */}
      <input
        id={fieldId}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        {...(input as InputHTMLAttributes)}
      />
      {hint ? (
        <small id={`${fieldId}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <small id={`${fieldId}-error`} class="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}

export function SelectField<V extends string>(props: {
  label: string;
  value: V;
  options: readonly { value: V; label: string }[];
  onChange: (value: V) => void;
  id?: string;
  disabled?: boolean;
}): JSX.Element {
  const fieldId = props.id ?? `select-${props.label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <div class="field">
      <label for={fieldId}>{props.label}</label>
      <select
        id={fieldId}
        value={props.value}
        disabled={props.disabled}
        onChange={(event) => props.onChange(event.currentTarget.value as V)}
      >
        {props.options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A group of mutually exclusive buttons (a labelled radio group). */
export function Segmented<V extends string>(props: {
  label: string;
  value: V;
  options: readonly { value: V; label: string; disabled?: boolean }[];
  onChange: (value: V) => void;
}): JSX.Element {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label}>
      {props.options.map((option) => (
        // A segmented control of styled buttons (WAI-ARIA radio group pattern); native radios would need hidden
        // inputs and restyled labels.
        // biome-ignore lint/a11y/useSemanticElements: a segmented control of styled buttons (radio group pattern)
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={option.value === props.value}
          disabled={option.disabled}
          class={option.value === props.value ? "active" : ""}
          onClick={() => props.onChange(option.value)}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}

/**
 * A Delete button that asks in place ("Confirm delete" / Cancel, focus on the confirmation),
 * runs `remove`, and shows why it failed; `onDeleted` after it succeeds.
 */
export function ConfirmDelete(props: {
  what: string;
  buttonLabel: string;
  question?: string;
  remove: () => Promise<unknown>;
  onDeleted: () => void;
}): JSX.Element {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!confirming) {
    return (
      <button
        type="button"
        class="button small danger"
        onClick={() => setConfirming(true)}
        aria-label={props.buttonLabel}
      >
        Delete
      </button>
    );
  }
  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await props.remove();
      props.onDeleted();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    // A <fieldset> is a block with its own border and padding.
    // biome-ignore lint/a11y/useSemanticElements: an inline pair of buttons next to the row they act on
    <span class="confirm" role="group" aria-label={`Confirm deleting ${props.what}`}>
      {props.question ? <span>{props.question}</span> : null}
      <button
        type="button"
        class="button small danger"
        disabled={busy}
        onClick={() => void confirm()}
        ref={(element) => element?.focus()}
      >
        {busy ? "Deleting…" : "Confirm delete"}
      </button>
      <button type="button" class="button small ghost" disabled={busy} onClick={() => setConfirming(false)}>
        Cancel
      </button>
      {error ? <ErrorNotice error={error} title="Not deleted" /> : null}
    </span>
  );
}

/** Saves a Blob as a file through a temporary link (how browsers offer downloads). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}
