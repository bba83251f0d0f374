// The typed API client: `hc<AppType>` over the Worker's route types (emitted by
// worker/tsconfig.api.json), with the session's bearer token on every call. `unwrap` turns a
// response into its body or an `ApiFailure` carrying the API's error code, message and details;
// a 401 signs the user out (back to sign-in with the reason).
import { hc, type ClientResponse } from "hono/client";
import type { AppType } from "../../../.types/worker/index";
import { session, signOut } from "../state/session.ts";

export const client = hc<AppType>(location.origin, {
  headers: (): Record<string, string> => {
    const token = session.value?.token;
    return token ? { authorization: `Bearer ${token}` } : {};
  },
});

/** Every route under /api/v1. */
export const api = client.api.v1;

export interface FieldIssue {
  path: string;
  message: string;
  line?: number;
}

/** A refused or failed request, as the API described it. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field-level issues (`{path, message}` or CSV `{line, path, message}`) when the API sent them. */
  get issues(): FieldIssue[] {
    const details = this.details;
    const list = Array.isArray(details)
      ? details
      : typeof details === "object" && details !== null && Array.isArray((details as { issues?: unknown }).issues)
        ? (details as { issues: unknown[] }).issues
        : [];
    return list.flatMap((item): FieldIssue[] => {
      if (typeof item !== "object" || item === null) return [];
      const record = item as Record<string, unknown>;
      const path = Array.isArray(record["path"])
        ? record["path"].join(".")
        : typeof record["path"] === "string"
          ? record["path"]
          : "";
      const message = typeof record["message"] === "string" ? record["message"] : "";
      if (!message) return [];
      return [{ path, message, ...(typeof record["line"] === "number" ? { line: record["line"] } : {}) }];
    });
  }
}

/** What reading an error needs of a response (a fetch Response or hono's ClientResponse). */
interface ErrorResponse {
  status: number;
  statusText: string;
  json(): Promise<unknown>;
}

async function failure(response: ErrorResponse): Promise<ApiFailure> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || "request failed";
  let details: unknown;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof body.error?.code === "string") code = body.error.code;
    if (typeof body.error?.message === "string") message = body.error.message;
    details = body.error?.details;
  } catch {
    // Not the API's JSON error (a proxy, a network failure): keep the status line.
  }
  return new ApiFailure(response.status, code, message, details);
}

/** The JSON body a typed response promises (routes that also answer CSV declare both). */
export type JsonBody<R> = R extends ClientResponse<infer T, number, "json"> ? T : never;

/** The success body of a typed call; throws `ApiFailure` otherwise (and signs out on 401). */
export async function unwrap<R extends ClientResponse<unknown, number, string>>(
  request: Promise<R>,
): Promise<JsonBody<R>> {
  let response: R;
  try {
    response = await request;
  } catch (error) {
    throw new ApiFailure(
      0,
      "NETWORK",
      `the service did not answer (${error instanceof Error ? error.message : String(error)})`,
      undefined,
    );
  }
  if (response.status === 401) {
    const problem = await failure(response);
    signOut(`The service refused the token: ${problem.message}.`);
    throw problem;
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as JsonBody<R>;
  return (await response.json()) as JsonBody<R>;
}

/** A raw authenticated fetch for the non-JSON routes (CSV import and export). */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = session.value?.token;
  if (token) headers.set("authorization", `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    throw new ApiFailure(
      0,
      "NETWORK",
      `the service did not answer (${error instanceof Error ? error.message : String(error)})`,
      undefined,
    );
  }
  if (response.status === 401) {
    const problem = await failure(response);
    signOut(`The service refused the token: ${problem.message}.`);
    throw problem;
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** The message to show for anything a call threw. */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiFailure) return error.status ? `${error.message} (${error.code})` : error.message;
  return error instanceof Error ? error.message : String(error);
}
