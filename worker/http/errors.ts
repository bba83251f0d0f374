import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { databaseFault } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";

/** The error body of every API response: stable `code`s callers can switch on. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: unknown;
  /** Headers the response must carry (`WWW-Authenticate` on a 401, `Retry-After` on a 429). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details?: unknown,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.headers = headers;
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function errorBody(code: string, message: string, details?: unknown): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Seconds a caller should wait before retrying while the database is unavailable (`Retry-After`). */
export const databaseRetryAfterSeconds = 5;

/**
 * The one error boundary: known errors map to their status; a database that is down, full,
 * busy or too slow (worker/db/client.ts `databaseFault`) is a 503 `DATABASE_UNAVAILABLE` with
 * `Retry-After`; anything else is logged and a bare 500.
 */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) {
    return c.json(errorBody(error.code, error.message, error.details), error.status, { ...error.headers });
  }
  if (error instanceof HTTPException) {
    return c.json(errorBody("HTTP_ERROR", error.message || "request failed"), error.status);
  }
  const fault = databaseFault(error);
  if (fault !== null) {
    logEvent("error", "http.database_unavailable", {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      reason: fault.reason,
      error: describeError(error),
    });
    return c.json(
      errorBody("DATABASE_UNAVAILABLE", `${fault.message}; try again in ${databaseRetryAfterSeconds} s`, {
        reason: fault.reason,
        retry_after_seconds: databaseRetryAfterSeconds,
      }),
      503,
      { "Retry-After": String(databaseRetryAfterSeconds) },
    );
  }
  logEvent("error", "http.unhandled_error", {
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    error: describeError(error),
  });
  return c.json(errorBody("INTERNAL_ERROR", "internal error"), 500);
}

export function handleNotFound(c: Context): Response {
  return c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);
}
