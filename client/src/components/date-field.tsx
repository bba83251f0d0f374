// The dashboard's date input: a text field that takes and shows dates as YYYY-MM-DD, the format
// every table and chart uses. A native <input type="date"> shows the browser locale's format
// (mm/dd/yyyy in en-US) and its own picker, so the same date would read two ways on one page.
// A malformed or impossible date (12/01/2026, 2026-02-30) is said inline and never reaches the
// page as a date; `dates` (where the page knows them, e.g. the computed dates) are offered as
// suggestions.
import type { JSX, TargetedEvent } from "preact";
import { useRef, useState } from "preact/hooks";
import { dateProblem, typedDate } from "../lib/format.ts";
import "./date-field.css";

export interface DateInputProps {
  id: string;
  /**
   * The date the page holds: YYYY-MM-DD or "" for none (or, for a form that keeps what was
   * typed, that text). Shown as given unless it is what the field last reported.
   */
  value: string;
  /**
   * Every edit: `date` is the typed date when it is real and within min..max, "" when the field
   * is empty, null when the text is not such a date (yet); `text` is what is typed.
   */
  onChange: (date: string | null, text: string) => void;
  /** The earliest and latest dates allowed, YYYY-MM-DD. */
  min?: string | undefined;
  max?: string | undefined;
  /** Dates offered as suggestions (the computed dates, say), ascending. */
  dates?: readonly string[] | undefined;
  /** The page's (or the API's) word on the date, shown when the text itself is a date. */
  error?: string | null | undefined;
  /** Marks the input invalid for a message shown elsewhere (a table row's notes). */
  invalid?: boolean;
  required?: boolean;
  disabled?: boolean;
  "aria-label"?: string;
  "data-testid"?: string;
}

/** The typed text, what is wrong with it (once worth saying), and the input's handlers. */
function useDateText(props: DateInputProps) {
  const [typed, setText] = useState(props.value);
  // The problem shows once the field is left (or Enter pressed) or the text is as long as a
  // date: not while "2026-0" is being typed.
  const [touched, setTouched] = useState(false);
  // A new value from the page replaces the text, unless it is the page echoing what the field
  // last reported (a page that keeps only dates answers "2026-0" with ""). Checked while
  // rendering, not in an effect: an effect runs later, when more keys may have been typed, and
  // would put back an older text.
  const reported = useRef<{ date: string; text: string } | null>(null);
  const seen = useRef(props.value);
  let text = typed;
  if (props.value !== seen.current) {
    seen.current = props.value;
    const last = reported.current;
    const echo = last !== null && (props.value === last.date || props.value === last.text);
    if (!echo && props.value !== typed) {
      text = props.value;
      setText(props.value);
      setTouched(false);
    }
  }

  const bounds = { ...(props.min ? { min: props.min } : {}), ...(props.max ? { max: props.max } : {}) };
  const problemOf = (value: string): string | null => (value === "" ? null : dateProblem(value, bounds));
  const problem = problemOf(text.trim());
  const shown = problem !== null && (touched || text.trim().length >= 10) ? problem : null;
  const error = problem === null ? (props.error ?? null) : shown;

  const onInput = (event: TargetedEvent<HTMLInputElement>): void => {
    const shaped = typedDate(text, event.currentTarget.value);
    const value = shaped.trim();
    const date = problemOf(value) === null ? value : null;
    setText(shaped);
    reported.current = { date: date ?? "", text: shaped };
    props.onChange(date, shaped);
  };
  return {
    text,
    error,
    onInput,
    onBlur: () => setTouched(true),
    onKeyDown: (event: KeyboardEvent) => {
      if (event.key === "Enter") setTouched(true);
    },
  };
}

function Input(props: DateInputProps & { state: ReturnType<typeof useDateText>; describedBy?: string }): JSX.Element {
  const { state } = props;
  const listId = props.dates && props.dates.length > 0 ? `${props.id}-dates` : undefined;
  return (
    <>
      <input
        id={props.id}
        type="text"
        inputMode="numeric"
        autocomplete="off"
        spellcheck={false}
        placeholder="YYYY-MM-DD"
        pattern={"\\d{4}-\\d{2}-\\d{2}"}
        maxLength={10}
        class="date-input"
        value={state.text}
        list={listId}
        required={props.required}
        disabled={props.disabled}
        aria-label={props["aria-label"]}
        aria-invalid={state.error || props.invalid ? true : undefined}
        aria-describedby={
          [props.describedBy, state.error ? `${props.id}-error` : undefined].filter(Boolean).join(" ") || undefined
        }
        data-testid={props["data-testid"]}
        onInput={state.onInput}
        onBlur={state.onBlur}
        onKeyDown={state.onKeyDown}
      />
      {listId ? (
        <datalist id={listId}>
          {(props.dates ?? []).map((date) => (
            <option key={date} value={date} />
          ))}
        </datalist>
      ) : null}
    </>
  );
}

function ErrorText(props: { id: string; error: string | null }): JSX.Element | null {
  return props.error ? (
    <small id={`${props.id}-error`} class="field-error">
      {props.error}
    </small>
  ) : null;
}

/** The bare input and its inline error, for a place with its own label (a table's option row). */
export function DateInput(props: DateInputProps): JSX.Element {
  const state = useDateText(props);
  return (
    <>
      <Input {...props} state={state} />
      <ErrorText id={props.id} error={state.error} />
    </>
  );
}

/** A labelled date field: the label, the input, the hint "YYYY-MM-DD" (and `hint`), the inline error. */
export function DateField(props: DateInputProps & { label: string; hint?: string }): JSX.Element {
  const state = useDateText(props);
  const hintId = `${props.id}-hint`;
  return (
    <div class={`field date-field ${state.error ? "field-invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      <Input {...props} state={state} describedBy={hintId} />
      <small id={hintId} class="hint">
        YYYY-MM-DD{props.hint ? ` · ${props.hint}` : ""}
      </small>
      <ErrorText id={props.id} error={state.error} />
    </div>
  );
}
