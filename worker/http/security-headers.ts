// Security headers on every /api/v1 response, errors, 404s and CSV downloads included (the
// middleware wraps the whole app, so it sees what onError and notFound answered too).
//
// The set is Hono's `secureHeaders` (hono/secure-headers) configured for an API, written out
// once as a list (`apiHeaders`): Hono's middleware asked the response, header by header, whether
// it had each one before setting it, and those two dozen calls into the runtime were a third of
// the CPU of the cheapest route (`npm run bench:api -- --profile`). Here only the two headers a
// route may set itself are asked about; the others are set. The values:
// - `X-Content-Type-Options: nosniff`: a JSON or CSV body is never sniffed into HTML/script;
// - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; …` (and
//   `X-Frame-Options: DENY` for older browsers): an API answer opened in a tab runs nothing
//   and cannot be framed; the docs page sends its own, looser policy (see docsPageCsp), kept;
// - `Referrer-Policy: no-referrer`, and Hono's other defaults (COOP/CORP same-origin, HSTS,
//   X-DNS-Prefetch-Control off, …);
// - `Cache-Control: no-store` unless the route set its own: answers carry one tenant's
//   portfolios; no shared or browser cache may keep them. The conditional routes
//   (worker/http/etag.ts) set `private, no-cache` instead: a browser may keep their answers
//   but must revalidate them (If-None-Match) before each use, and no shared cache may keep
//   them — `no-store` would forbid keeping the very answer an ETag revalidates.
//
// The dashboard's pages are static assets that never reach this Worker: their headers are in
// client/public/_headers, which Workers static assets (and wrangler dev) apply.
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";

/** The API's policy: nothing loads, nothing runs, nothing frames it. */
export const apiContentSecurityPolicy =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The headers every answer gets, whatever the route set (Hono's secureHeaders defaults, with the API's choices). */
const apiHeaders: readonly (readonly [string, string])[] = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "DENY"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/**
 * A response passed through from the LiveHub Durable Object's fetch (the WebSocket upgrade's
 * 101, or the hub's own refusal) has immutable headers in the caller: writing one throws. It is
 * re-wrapped, unchanged (status, body, headers and the WebSocket carry over), so the headers
 * below can be written to it as to any other answer.
 */
function mutableHeaders(c: Context): Headers {
  const response = c.res;
  try {
    response.headers.set("x-content-type-options", "nosniff");
  } catch {
    c.res = undefined;
    c.res = new Response(response.body, response);
  }
  return c.res.headers;
}

export const apiSecurityHeaders: MiddlewareHandler = createMiddleware(async (c, next) => {
  await next();
  const headers = mutableHeaders(c);
  for (const [name, value] of apiHeaders) headers.set(name, value);
  // A route that chose its own keeps it: the docs page's policy, a conditional route's caching.
  if (!headers.has("content-security-policy")) headers.set("Content-Security-Policy", apiContentSecurityPolicy);
  if (!headers.has("cache-control")) headers.set("Cache-Control", "no-store");
});

/** `'sha256-…'` of an inline script or style, for a CSP that allows exactly that block. */
export async function cspHash(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return `'sha256-${btoa(binary)}'`;
}

/**
 * The docs page's policy: its one inline script and one inline style by hash (no
 * 'unsafe-inline'), its fetch of /api/v1/openapi.json, nothing else.
 */
export async function docsPageCsp(inlineScript: string, inlineStyle: string): Promise<string> {
  return [
    "default-src 'none'",
    `script-src ${await cspHash(inlineScript)}`,
    `style-src ${await cspHash(inlineStyle)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
