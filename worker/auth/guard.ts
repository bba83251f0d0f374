// The middleware every API route starts with: who is calling (worker/auth/jwt.ts), whether the
// route's permission (from the route table, worker/api/contract.ts) is in the token, and
// whether the caller is within its rate limit. Public routes pass through untouched. And the
// budget of refused requests (401/403) per client address, which limitAuthFailures enforces.
import { createMiddleware } from "hono/factory";
import { ApiError, errorBody } from "../http/errors.ts";
import { logEvent } from "../log.ts";
import type { RouteContract } from "../api/contract.ts";
import { authenticate } from "./jwt.ts";
import type { Caller } from "./permissions.ts";

export interface ApiVariables {
  /** The authenticated caller; set on every non-public route. */
  caller: Caller;
}

export type ApiEnv = { Bindings: Env; Variables: ApiVariables };

/** Seconds a 429 asks the caller to wait: the rate limiter's period. */
export const rateLimitPeriodSeconds = 60;

/** Authenticates, authorizes and rate-limits the caller of `route`. */
export function guard(route: RouteContract) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    // Public routes take no token; the WebSocket upgrade checks its ticket itself.
    if (route.permission === "public" || route.permission === "ticket") return next();
    const caller = await authenticate(c.req.raw, c.env);
    if (!caller.permissions.has(route.permission)) {
      throw new ApiError(403, "FORBIDDEN", `this route requires the ${route.permission} permission`, {
        required: route.permission,
      });
    }
    // Per caller, not per address: a program behind a shared egress has its own budget.
    const { success } = await c.env.API_RATE_LIMIT.limit({ key: `sub:${caller.sub}` });
    if (!success) {
      logEvent("warn", "http.rate_limited", { sub: caller.sub, route: `${route.method.toUpperCase()} ${route.path}` });
      throw new ApiError(
        429,
        "RATE_LIMITED",
        `too many requests; try again in up to ${rateLimitPeriodSeconds} s`,
        undefined,
        { "Retry-After": String(rateLimitPeriodSeconds) },
      );
    }
    c.set("caller", caller);
    await next();
  });
}

/**
 * The client's address for the failed-authentication budget: Cloudflare's `CF-Connecting-IP`.
 * Without it (requests that did not come through Cloudflare's edge, tests calling the Worker
 * directly) every request shares one constant budget.
 */
export function clientAddress(request: Request): string {
  return request.headers.get("cf-connecting-ip")?.trim() || "local";
}

/**
 * Rate-limits refused requests (401 and 403, from any route) per client address, so a client
 * hammering the API with bad or under-privileged tokens gets 429 with Retry-After once its
 * address has used the budget. Registered around the whole API (worker/index.ts), after the
 * answer is known: it counts only refusals, so valid callers behind the same address are never
 * slowed by someone else's bad tokens, and it covers the 403s route handlers raise themselves
 * (ownership, the live socket's Origin), not only the guard's.
 *
 * It uses the API_RATE_LIMIT binding (wrangler.toml: 1,200 per 60 s) under a key prefix of its
 * own, `auth-failure:ip:`, which can never collide with the per-caller `sub:` keys. A tighter
 * budget needs a binding of its own (a second [[ratelimits]] entry).
 */
export const limitAuthFailures = createMiddleware<ApiEnv>(async (c, next) => {
  await next();
  if (c.res.status !== 401 && c.res.status !== 403) return;
  const address = clientAddress(c.req.raw);
  const { success } = await c.env.API_RATE_LIMIT.limit({ key: `auth-failure:ip:${address}` });
  if (success) return;
  logEvent("warn", "http.auth_failures_limited", { address, status: c.res.status, path: new URL(c.req.url).pathname });
  // Replace, not merge: the refusal's own headers (WWW-Authenticate) do not belong on a 429.
  c.res = undefined;
  c.res = c.json(
    errorBody(
      "RATE_LIMITED",
      `too many refused requests from this address; try again in up to ${rateLimitPeriodSeconds} s`,
    ),
    429,
    { "Retry-After": String(rateLimitPeriodSeconds) },
  );
});
