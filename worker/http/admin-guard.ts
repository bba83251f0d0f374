// Who may call the admin API. Until JWT auth exists (the next issue adds the `RUN_BATCH` and
// `IMPORT_MARKET_DATA` permissions and replaces this check), admin is LOCAL ONLY:
//
//   allowed  ⇔  env.ENVIRONMENT === "development"  and  the request URL's hostname is
//               localhost, 127.0.0.1 or ::1
//
// otherwise 403 `ADMIN_LOCAL_ONLY`. Why both conditions:
// - `ENVIRONMENT` is the real fence. Production sets it to "production", so a deployed Worker
//   refuses every admin call whatever the request claims; a hostname alone is not proof of
//   anything, since a client chooses its Host header.
// - The hostname keeps a development Worker that is reachable from elsewhere (a tunnel, a
//   `wrangler dev --ip 0.0.0.0`, a preview URL) from running batches or writing prices for
//   whoever finds it: `npm start` binds wrangler dev to 127.0.0.1, and local callers (the
//   scripts, curl) address it as 127.0.0.1 or localhost.
// The caller is recorded as `local` in `requested_by`; with JWTs it becomes the token's `sub`.
import { createMiddleware } from "hono/factory";
import { ApiError } from "./errors.ts";

export interface AdminVariables {
  /** Who made the request, for `batch_runs.requested_by`. */
  adminActor: string;
}

export type AdminEnv = { Bindings: Env; Variables: AdminVariables };

const loopbackHostnames = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True when the request may use the admin API (see the comment at the top). */
export function isLocalAdminRequest(environment: string, url: string): boolean {
  return environment === "development" && loopbackHostnames.has(new URL(url).hostname);
}

export const adminGuard = createMiddleware<AdminEnv>(async (c, next) => {
  if (!isLocalAdminRequest(c.env.ENVIRONMENT, c.req.url)) {
    throw new ApiError(
      403,
      "ADMIN_LOCAL_ONLY",
      "the admin API is available only on a development Worker addressed as localhost, 127.0.0.1 or ::1 until API tokens exist",
    );
  }
  c.set("adminActor", "local");
  await next();
});
