// Shocks typed in percent, one labelled input per factor (the lens stress page and the risk lens
// builder): the hint with "Clear all", each input's own error under it (never a dropped value).
import type { JSX } from "preact";

export function ShockGrid(props: {
  factors: readonly { key: string; name: string; description: string }[];
  text: Readonly<Record<string, string>>;
  errors: Readonly<Record<string, string>>;
  onChange: (key: string, value: string) => void;
  onClear: () => void;
  hint: string;
  /** The group's accessible name. */
  label: string;
  /** Inputs' ids and test ids are `<idPrefix><factor key>`. */
  idPrefix: string;
}): JSX.Element {
  return (
    <>
      <p class="hint">
        {props.hint}{" "}
        <button
          type="button"
          class="link-button"
          onClick={props.onClear}
          disabled={Object.values(props.text).every((value) => value.trim() === "")}
        >
          Clear all
        </button>
      </p>
      {/* A <fieldset> would bring its border and padding, and it does not lay out as a CSS grid in every browser. */}
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled grid of inputs */}
      <div class="shock-grid" role="group" aria-label={props.label}>
        {props.factors.map((factor) => {
          const error = props.errors[factor.key];
          const id = `${props.idPrefix}${factor.key}`;
          return (
            <div key={factor.key} class={`field shock-field${error ? " field-invalid" : ""}`}>
              <label for={id} title={factor.description}>
                {factor.name}
              </label>
              <span class="input-suffix">
                <input
                  id={id}
                  type="text"
                  inputMode="decimal"
                  autocomplete="off"
                  placeholder="—"
                  value={props.text[factor.key] ?? ""}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? `${id}-error` : undefined}
                  data-testid={id}
                  onInput={(event) => props.onChange(factor.key, event.currentTarget.value)}
                />
                <span aria-hidden="true">%</span>
              </span>
              {error ? (
                <small id={`${id}-error`} class="field-error">
                  {error}
                </small>
              ) : null}
            </div>
          );
        })}
      </div>
    </>
  );
}
