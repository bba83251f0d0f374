// The middleware every API route starts with: who is calling (worker/auth/jwt.ts), whether the
// route's permission (from the route table, worker/api/contract.ts) is in the token, and
// whether the caller is within its rate limit. Public routes pass through untouched.
import { createMiddleware } from "hono/factory";
import { ApiError } from "../http/errors.ts";
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
      throw new ApiError(403, "FORBIDDEN", `this route requires the ${route.permission} permission`, { required: route.permission });
    }
    // Per caller, not per address: a program behind a shared egress has its own budget.
    const { success } = await c.env.API_RATE_LIMIT.limit({ key: `sub:${caller.sub}` });
    if (!success) {
      logEvent("warn", "http.rate_limited", { sub: caller.sub, route: `${route.method.toUpperCase()} ${route.path}` });
      throw new ApiError(429, "RATE_LIMITED", `too many requests; try again in up to ${rateLimitPeriodSeconds} s`, undefined, { "Retry-After": String(rateLimitPeriodSeconds) });
    }
    c.set("caller", caller);
    await next();
  });
}
