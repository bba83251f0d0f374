import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
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

  constructor(status: ContentfulStatusCode, code: string, message: string, details?: unknown, headers: Readonly<Record<string, string>> = {}) {
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

/** The one error boundary: known errors map to their status, anything else is logged and a bare 500. */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) {
    return c.json(errorBody(error.code, error.message, error.details), error.status, { ...error.headers });
  }
  if (error instanceof HTTPException) {
    return c.json(errorBody("HTTP_ERROR", error.message || "request failed"), error.status);
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
