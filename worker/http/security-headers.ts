// Security headers on every /api/v1 response, errors, 404s and CSV downloads included (the
// middleware wraps the whole app, so it sees what onError and notFound answered too).
//
// Built on Hono's own `secureHeaders` (hono/secure-headers), configured for an API:
// - `X-Content-Type-Options: nosniff`: a JSON or CSV body is never sniffed into HTML/script;
// - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` (and
//   `X-Frame-Options: DENY` for older browsers): an API answer opened in a tab runs nothing
//   and cannot be framed; the docs page sends its own, looser policy (see docsPageCsp), which
//   `overwrite: false` keeps;
// - `Referrer-Policy: no-referrer`, and Hono's other defaults (COOP/CORP same-origin, HSTS,
//   X-DNS-Prefetch-Control off, …).
// Plus `Cache-Control: no-store` (not part of secureHeaders): answers carry one tenant's
// portfolios; no shared or browser cache may keep them. No route sets its own caching today;
// one that does keeps it (the header is only added when absent).
//
// The dashboard's pages are static assets that never reach this Worker: their headers are in
// client/public/_headers, which Workers static assets (and wrangler dev) apply.
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";

// The policy of every API answer: nothing loads, nothing runs, nothing frames it.
const hardened = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  // A route that chose a header of its own (the docs page's CSP) keeps it.
  overwrite: false,
});

/**
 * A response passed through from the LiveHub Durable Object's fetch (the WebSocket upgrade's
 * 101, or the hub's own refusal) has immutable headers in the caller: writing one throws. It is
 * re-wrapped, unchanged (status, body, headers and the WebSocket carry over), so the headers
 * below can be written to it as to any other answer.
 */
function withMutableHeaders(c: Context): void {
  const response = c.res;
  try {
    response.headers.set("x-content-type-options", "nosniff");
  } catch {
    c.res = undefined;
    c.res = new Response(response.body, response);
  }
}

export const apiSecurityHeaders: MiddlewareHandler = createMiddleware(async (c, next) => {
  await hardened(c, async () => {
    await next();
    withMutableHeaders(c);
  });
  if (!c.res.headers.has("cache-control")) c.res.headers.set("Cache-Control", "no-store");
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
