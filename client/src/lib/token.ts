// Reading a pasted JWT's claims (not verifying them: the API verifies every request; the
// dashboard only uses them to hide what the caller may not do and to sign out at expiry).
import { permissions as knownPermissions, type Permission } from "../../../worker/auth/permissions.ts";
import { formatInstant } from "./format.ts";

export interface Session {
  token: string;
  sub: string;
  org: string | null;
  permissions: ReadonlySet<Permission>;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

function base64UrlDecode(text: string): string {
  const padded = text
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(text.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The session a token describes, or the reason it cannot be one. */
export function readToken(
  token: string,
  now = Date.now(),
): { ok: true; session: Session } | { ok: false; reason: string } {
  const trimmed = token.trim().replace(/^Bearer\s+/i, "");
  const parts = trimmed.split(".");
  if (parts.length !== 3) return { ok: false, reason: "a JWT has three dot-separated parts" };
  let claims: unknown;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1] ?? ""));
  } catch {
    return { ok: false, reason: "the token's payload is not JSON" };
  }
  if (typeof claims !== "object" || claims === null)
    return { ok: false, reason: "the token's payload is not an object" };
  const record = claims as Record<string, unknown>;
  if (typeof record["sub"] !== "string" || record["sub"] === "")
    return { ok: false, reason: "the token has no sub claim" };
  if (typeof record["exp"] !== "number") return { ok: false, reason: "the token has no exp claim" };
  const expiresAt = record["exp"] * 1000;
  if (expiresAt <= now) return { ok: false, reason: `the token expired ${formatInstant(expiresAt)}` };
  const granted = Array.isArray(record["permissions"]) ? record["permissions"] : [];
  const permissions = new Set(knownPermissions.filter((permission) => granted.includes(permission)));
  const org = typeof record["org"] === "string" ? record["org"] : null;
  return { ok: true, session: { token: trimmed, sub: record["sub"], org, permissions, expiresAt } };
}
