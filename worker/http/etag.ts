// Conditional GETs for the routes whose answers depend only on stored results (the symbol
// table, a symbol's page, the sectors, a portfolio's exposures and drill-down): each 200
// carries an entity tag derived from a data version (worker/db/data-version.ts), and a request
// whose `If-None-Match` matches is answered 304, without a body, after reading the version
// alone — one small statement instead of the route's queries.
//
// The tag is weak, `W/"<43 base64url characters>"`: the SHA-256 of everything the answer
// depends on, so that a 304 is never wrong —
// - the representation: the route, the path, the query string (parameters sorted) and the
//   format (JSON or CSV, which `Accept` can choose);
// - the caller's scope: its sub, org and permissions (different tenants never share a tag,
//   even where their answers agree);
// - the data version the route reads with its data (one read transaction, so the version
//   describes exactly the data answered);
// - the deployment: the Worker version's id when the `CF_VERSION_METADATA` binding exists, so
//   a new release that answers the same data differently does not validate old tags;
// - the current UTC date for the routes whose defaults fall back to today.
// Weak, because the promise is the same data, not the same bytes (RFC 9110 8.8.1); If-None-Match
// compares weakly anyway (13.1.2), and `*` matches any current answer.
//
// Headers: `Cache-Control: private, no-cache` (a browser may keep the answer but must revalidate
// it before each use; no shared cache may keep it) and `Vary: Authorization, Accept` (the answer
// depends on the token and the format), on the 200 and on the 304.
import type { Context, TypedResponse } from "hono";
import type { Caller } from "../auth/permissions.ts";
import type { Database } from "../db/client.ts";
import { readVersion } from "../db/data-version.ts";
import type { ReadStatement } from "../db/read-batch.ts";

export const conditionalCacheControl = "private, no-cache";
export const conditionalVary = "Authorization, Accept";

/** What an answer is, apart from the data: route, path, sorted query, format, caller scope, deployment. */
export function representationOf(c: Context, route: string, caller: Caller, format: "json" | "csv"): unknown[] {
  const url = new URL(c.req.url);
  const query = [...url.searchParams].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const deployment = (c.env as { CF_VERSION_METADATA?: { id?: unknown } } | undefined)?.CF_VERSION_METADATA?.id;
  return [
    route,
    url.pathname,
    query,
    format,
    caller.sub,
    caller.org,
    [...caller.permissions].sort(),
    typeof deployment === "string" ? deployment : null,
  ];
}

function base64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The weak entity tag of a representation and the data version it was read with. */
export async function entityTag(representation: readonly unknown[], version: readonly unknown[]): Promise<string> {
  const text = JSON.stringify([representation, version]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `W/"${base64url(digest)}"`;
}

/**
 * Whether `If-None-Match` (RFC 9110 13.1.2) matches `etag`: `*`, or a list of entity tags one of
 * which has the same opaque tag (weak comparison: `W/` ignored on both sides). A header that is
 * not a valid list matches nothing, so the request is answered in full.
 */
export function ifNoneMatchMatches(header: string | null | undefined, etag: string): boolean {
  if (header === null || header === undefined) return false;
  const trimmed = header.trim();
  if (trimmed === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  const tags = /^(?:(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"\s*(?:,\s*|$))+$/.test(trimmed)
    ? (trimmed.match(/(?:W\/)?"[^"]*"/g) ?? [])
    : [];
  return tags.some((tag) => tag.replace(/^W\//, "") === opaque);
}

/** The headers a conditional answer carries, 200 and 304 alike. */
function validatorHeaders(etag: string): Record<string, string> {
  return { ETag: etag, "Cache-Control": conditionalCacheControl, Vary: conditionalVary };
}

/**
 * 304 Not Modified: the validators and no body. Typed for `hono/client` as a JSON answer that
 * never yields a value, so a route's JSON type stays its 200's.
 */
export function notModified(c: Context, etag: string): TypedResponse<never, 304, "json"> {
  return c.body(null, 304, validatorHeaders(etag)) as unknown as TypedResponse<never, 304, "json">;
}

/** Adds the validators to a 200 answer (JSON or CSV) and returns it. */
export function withValidators<T extends Response>(response: T, etag: string): T {
  for (const [name, value] of Object.entries(validatorHeaders(etag))) response.headers.set(name, value);
  return response;
}

/**
 * The 304 for a request whose If-None-Match matches the tag of the current data version, read
 * alone (one small statement); null when the request has no If-None-Match, the version names no
 * visible object (`requires`: the route then answers its 404 as usual) or the data changed.
 */
export async function notModifiedIfCurrent(
  c: Context,
  db: Pick<Database, "$client">,
  representation: readonly unknown[],
  statement: ReadStatement,
  options: { requires?: string } = {},
): Promise<TypedResponse<never, 304, "json"> | null> {
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch === undefined) return null;
  const version = await readVersion(db, statement, options);
  if (version === null) return null;
  const etag = await entityTag(representation, version);
  return ifNoneMatchMatches(ifNoneMatch, etag) ? notModified(c, etag) : null;
}
