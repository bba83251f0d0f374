// The signed-in session: the pasted (or `npm start`-provided) JWT and what its claims say.
// The claims are read, not verified: the API verifies every request; the dashboard only uses
// them to hide what the caller may not do and to sign out when the token has expired.
import { computed, signal } from "@preact/signals";
import { readToken, type Session } from "../lib/token.ts";

import type { Permission } from "../../../worker/auth/permissions.ts";

export type { Permission };
export { readToken, type Session };

// The token is kept in sessionStorage, not localStorage: it survives reloads and in-tab
// navigation, but is not shared with other tabs and is gone when the tab closes, so a token does
// not outlive the session that signed in (nor linger on a shared machine). A script injected
// into the page could still read it, as with any storage a script can reach; the dashboard's CSP
// (client/public/_headers) is what keeps such scripts out.
const storageKey = "factor-exposure.token";

/** Why the user is on the sign-in page (an expired token, a 401), shown there. */
export const signInReason = signal<string | null>(null);

function initialSession(): Session | null {
  // `npm start` prints the dashboard URL with the demo token in the fragment (never sent to a server).
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get("token");
  if (fromUrl) {
    history.replaceState(history.state, "", location.pathname + location.search);
    const read = readToken(fromUrl);
    if (read.ok) {
      sessionStorage.setItem(storageKey, read.session.token);
      return read.session;
    }
    signInReason.value = `The link's token cannot be used: ${read.reason}.`;
  }
  const stored = sessionStorage.getItem(storageKey);
  if (!stored) return null;
  const read = readToken(stored);
  if (read.ok) return read.session;
  sessionStorage.removeItem(storageKey);
  signInReason.value = `Signed out: ${read.reason}.`;
  return null;
}

export const session = signal<Session | null>(initialSession());

export const signedIn = computed(() => session.value !== null);

export function signIn(next: Session): void {
  sessionStorage.setItem(storageKey, next.token);
  signInReason.value = null;
  session.value = next;
}

export function signOut(reason: string | null = null): void {
  sessionStorage.removeItem(storageKey);
  signInReason.value = reason;
  session.value = null;
}

export function can(permission: Permission): boolean {
  return session.value?.permissions.has(permission) ?? false;
}
