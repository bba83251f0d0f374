// Who is signed in, in the header: the token's subject and org (its permissions in the tooltip)
// and when the token expires, in the dashboard's one format for instants (YYYY-MM-DD HH:MM UTC),
// so the sign-out at that moment comes as no surprise.
import type { JSX } from "preact";
import { formatInstant } from "../lib/format.ts";
import type { Session } from "../lib/token.ts";
import "./who.css";

export function Who(props: { session: Session }): JSX.Element {
  const { session } = props;
  const expires = formatInstant(session.expiresAt);
  return (
    <span class="who" title={[...session.permissions].join(", ")}>
      <span class="who-name">
        {session.sub}
        {session.org ? <span class="org"> · {session.org}</span> : null}
      </span>
      <small class="who-expiry" data-testid="token-expiry">
        token expires <time dateTime={new Date(session.expiresAt).toISOString()}>{expires}</time>
      </small>
    </span>
  );
}
