// Sign-in: paste a JWT (from `npm run token`, or your identity provider). `npm start` prints a
// dashboard link carrying the demo token, which signs in without this page.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { readToken, signIn, signInReason } from "../state/session.ts";

export function SignInPage(): JSX.Element {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (event: Event): void => {
    event.preventDefault();
    const read = readToken(text);
    if (!read.ok) {
      setError(`This token cannot be used: ${read.reason}.`);
      return;
    }
    signIn(read.session);
  };
  return (
    <main id="main" class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span class="brand-mark" aria-hidden="true">
            β
          </span>{" "}
          Factor Exposure
        </h1>
        <p class="subtitle">
          Sign in with an API token (a JWT). Locally, <code>npm start</code> prints a signed-in link, and{" "}
          <code>npm run token</code> mints others.
        </p>
        {signInReason.value ? (
          <p class="state state-error" role="alert">
            {signInReason.value}
          </p>
        ) : null}
        <label for="token">Token</label>
        <textarea
          id="token"
          name="token"
          rows={5}
          spellcheck={false}
          autocomplete="off"
          value={text}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "token-error" : undefined}
          onInput={(event) => {
            setText(event.currentTarget.value);
            setError(null);
          }}
        />
        {error ? (
          <small id="token-error" class="field-error">
            {error}
          </small>
        ) : null}
        <button type="submit" class="button primary" disabled={text.trim() === ""}>
          Sign in
        </button>
      </form>
    </main>
  );
}
