// Fetch helpers for scripts that drive the running local stack through its API (`npm run
// batch`, `npm run compare`, `npm run import:positions`): the base URL, JSON requests, and errors
// that say what went wrong in words a person at a terminal can act on. Which stack, and the secret
// its development tokens are signed with, come from scripts/local-config.ts (`findLocalStack`).
import { allPermissions, mintDevToken } from "./dev-token.ts";
import { findLocalStack, type LocalStack, readLocalSecrets } from "./local-config.ts";

/** The API's error body (worker/http/errors.ts). */
interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * The stack's base URL: `--url` when given, else the running local stack's (`findLocalStack`:
 * the only one running, or the one PORT / DATA_DIR name). Throws `LocalStackError` when that is
 * ambiguous, with the settings to pass.
 */
export function apiBaseUrl(override?: string): string {
  return (override ?? findLocalStack().baseUrl).replace(/\/+$/, "");
}

/** The port of a loopback URL (a local stack's), else undefined. */
function loopbackPort(baseUrl: string): number | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    // Handled: not a URL at all; the request itself reports it.
    return undefined;
  }
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return undefined;
  return Number(url.port || (url.protocol === "https:" ? 443 : 80));
}

/**
 * The local stack whose secret signs a script's tokens: the one serving `baseUrl` when that is a
 * loopback URL (so `--url` and the secret never name two different stacks), else the one the
 * environment names.
 */
export function stackServing(baseUrl?: string): LocalStack {
  const port = baseUrl === undefined ? undefined : loopbackPort(baseUrl);
  return findLocalStack(port === undefined ? {} : { port });
}

/** The API answered with an error status. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** The response's `Retry-After` in seconds (a 503 DATABASE_UNAVAILABLE, a 429), else null. */
  readonly retryAfterSeconds: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "ApiRequestError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Nothing answered at the base URL. */
export class StackUnreachableError extends Error {
  constructor(baseUrl: string, cause: unknown) {
    super(`cannot reach ${baseUrl} (${describeCause(cause)}): is \`npm start\` running?`, { cause });
    this.name = "StackUnreachableError";
  }
}

function describeCause(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) return "code" in cause && typeof cause.code === "string" ? cause.code : cause.message;
  return String(cause);
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

export interface JsonResponse<T> {
  status: number;
  body: T;
}

/**
 * The bearer token scripts send: API_TOKEN when set (any stack), else a short-lived
 * development token for `local-operator` with every permission, signed with the secret of the
 * local stack serving `baseUrl` (accepted only by a development Worker).
 */
export async function scriptToken(baseUrl?: string): Promise<string> {
  const given = process.env["API_TOKEN"];
  if (given) return given;
  return mintDevToken({
    secret: readLocalSecrets(stackServing(baseUrl)).jwtSecret,
    sub: "local-operator",
    permissions: allPermissions,
    ttlSeconds: 3600,
  });
}

/**
 * The bearer token of a script acting for a given user: API_TOKEN when set (any stack), else a
 * short-lived development token for `sub` (in `org`, when given) with every permission, signed
 * with the secret of the local stack serving `baseUrl`. `npm run import:positions` uses it to own
 * what it creates.
 */
export async function userToken(sub: string, org: string | null, baseUrl?: string): Promise<string> {
  const given = process.env["API_TOKEN"];
  if (given) return given;
  return mintDevToken({
    secret: readLocalSecrets(stackServing(baseUrl)).jwtSecret,
    sub,
    org,
    permissions: allPermissions,
    ttlSeconds: 3600,
  });
}

export class ApiClient {
  readonly baseUrl: string;
  #token: Promise<string> | undefined;

  /** When set, a request that gets no answer within this many ms fails (StackUnreachableError). */
  readonly requestTimeoutMs: number | undefined;

  constructor(baseUrl: string, token?: string, options: { requestTimeoutMs?: number } = {}) {
    this.baseUrl = baseUrl;
    this.#token = token === undefined ? undefined : Promise.resolve(token);
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  async get<T>(path: string): Promise<JsonResponse<T>> {
    return this.request<T>("GET", path);
  }

  async post<T>(path: string, body: unknown): Promise<JsonResponse<T>> {
    return this.request<T>("POST", path, body);
  }

  /** `path` is under /api/v1, e.g. `/admin/batch/runs`. */
  async request<T>(method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
    return this.#send<T>(
      method,
      path,
      body === undefined ? undefined : { contentType: "application/json", text: JSON.stringify(body) },
    );
  }

  /** POSTs a text body as it is (e.g. a CSV file as `text/csv`); the answer is JSON like any other. */
  async postText<T>(path: string, text: string, contentType: string): Promise<JsonResponse<T>> {
    return this.#send<T>("POST", path, { contentType, text });
  }

  async #send<T>(
    method: string,
    path: string,
    body: { contentType: string; text: string } | undefined,
  ): Promise<JsonResponse<T>> {
    const url = `${this.baseUrl}/api/v1${path}`;
    this.#token ??= scriptToken(this.baseUrl);
    const authorization = `Bearer ${await this.#token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers:
          body === undefined
            ? { accept: "application/json", authorization }
            : { accept: "application/json", "content-type": body.contentType, authorization },
        ...(body === undefined ? {} : { body: body.text }),
        ...(this.requestTimeoutMs === undefined ? {} : { signal: AbortSignal.timeout(this.requestTimeoutMs) }),
      });
    } catch (error) {
      throw new StackUnreachableError(this.baseUrl, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new StackUnreachableError(this.baseUrl, error);
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // Handled: an HTML page or a proxy's error is reported with its status and first bytes.
      throw new ApiRequestError(
        response.status,
        "NOT_JSON",
        `${method} ${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!response.ok) {
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
      if (isErrorBody(parsed))
        throw new ApiRequestError(
          response.status,
          parsed.error.code,
          parsed.error.message,
          parsed.error.details,
          retryAfter,
        );
      throw new ApiRequestError(
        response.status,
        "HTTP_ERROR",
        `${method} ${url} answered ${response.status}`,
        undefined,
        retryAfter,
      );
    }
    return { status: response.status, body: parsed as T };
  }
}

/** An error as lines for the terminal: the message, then each field error of a 400. */
export function formatError(error: unknown): string {
  if (error instanceof ApiRequestError) {
    const lines = [`error: ${error.message} (${error.status} ${error.code})`];
    if (Array.isArray(error.details)) {
      for (const detail of error.details) {
        if (typeof detail === "object" && detail !== null && "message" in detail) {
          const path =
            "path" in detail && typeof detail.path === "string" && detail.path !== "" ? `${detail.path}: ` : "";
          lines.push(`  ${path}${String(detail.message)}`);
        }
      }
    }
    return lines.join("\n");
  }
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}
