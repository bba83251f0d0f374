// "Save as a named thing" (a stress scenario, a replay episode): a name and an optional
// description, the API's field errors at their inputs, anything else below, and a status line
// for screen readers once saved. The caller says what to create with them.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ApiFailure } from "../api/client.ts";
import { ErrorNotice, Field } from "./ui.tsx";

export function SaveNamedForm<T extends { name: string }>(props: {
  /** What is saved, in lower case: "scenario", "episode". */
  noun: string;
  title: string;
  heading: "h3" | "h4";
  /** Prefix of the inputs' ids (`<prefix>-name`, `<prefix>-description`). */
  idPrefix: string;
  disabled: boolean;
  save: (fields: { name: string; description?: string }) => Promise<T>;
  onSaved: (saved: T) => void;
}): JSX.Element {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [savedName, setSavedName] = useState<string | null>(null);
  const issues = error instanceof ApiFailure ? error.issues : [];
  const nameIssue = issues.find((issue) => issue.path === "name")?.message ?? null;
  const descriptionIssue = issues.find((issue) => issue.path === "description")?.message ?? null;
  const noun = props.noun.charAt(0).toUpperCase() + props.noun.slice(1);
  const titleId = `save-${props.idPrefix}-title`;
  const Heading = props.heading;

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    setSavedName(null);
    try {
      const saved = await props.save({
        name: name.trim(),
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      setSavedName(saved.name);
      setName("");
      setDescription("");
      props.onSaved(saved);
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="save-scenario" onSubmit={(event) => void save(event)} aria-labelledby={titleId}>
      <Heading id={titleId}>{props.title}</Heading>
      <div class="save-scenario-fields">
        <Field
          label={`${noun} name`}
          id={`${props.idPrefix}-name`}
          value={name}
          maxLength={100}
          required
          error={nameIssue}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <Field
          label="Description (optional)"
          id={`${props.idPrefix}-description`}
          value={description}
          maxLength={1000}
          error={descriptionIssue}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
        <button type="submit" class="button primary" disabled={props.disabled || saving || name.trim() === ""}>
          {saving ? "Saving…" : `Save ${props.noun}`}
        </button>
      </div>
      {error && !nameIssue && !descriptionIssue ? (
        <ErrorNotice error={error} title={`Could not save the ${props.noun}`} />
      ) : null}
      <p class="sr-status" role="status">
        {savedName ? `Saved “${savedName}”.` : ""}
      </p>
    </form>
  );
}
