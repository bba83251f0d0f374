// Input validation for routes: a zod schema parses a body or a query, and any problem becomes
// one 400 `VALIDATION_ERROR` whose details name every offending field by path, in the same
// notation as the price upload (`prices[3].close`, `from`, "" for the whole input).
// Bodies are read with a byte cap (413 beyond it), checked against the declared
// Content-Length first and against the bytes actually received, so a missing or wrong
// header cannot get a larger body in.
import type { z } from "zod";
import { formatPath } from "../market-data/price-upload.ts";
import { controlCharacterErrors, type ControlCharacterPolicy } from "./control-characters.ts";
import { ApiError } from "./errors.ts";

/** One problem of an input: `path` as `prices[3].close`, `message` in words. */
export interface FieldError {
  path: string;
  message: string;
}

/** Bodies of ordinary JSON requests (not uploads) are small; anything larger is a mistake. */
export const defaultMaxBodyBytes = 64 * 1024;

export function validationError(message: string, details: FieldError[]): ApiError {
  return new ApiError(400, "VALIDATION_ERROR", message, details);
}

/** zod's issues as field errors; an unknown key is reported at its own path. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: `unknown field "${key}"` }));
    }
    // A record's key: the key schema's own message ("Bad is not a factor key"), not zod's generic one.
    if (issue.code === "invalid_key") {
      return [{ path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message }];
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}

/**
 * Parses `input` with `schema`, or throws a 400 listing every problem. `what` names the input
 * in the message ("request body", "query"). Strings with control characters are refused first
 * (`policy`: none at all in a query or path, only tab and line breaks in a body).
 */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  what: string,
  policy: ControlCharacterPolicy = what === "request body" ? "text" : "line",
): z.output<Schema> {
  const controls = controlCharacterErrors(input, policy);
  const result = schema.safeParse(input);
  if (result.success && controls.length === 0) return result.data;
  const flagged = new Set(controls.map((error) => error.path));
  const schemaErrors = result.success
    ? []
    : fieldErrors(result.error.issues).filter((error) => !flagged.has(error.path));
  const details = [...controls, ...schemaErrors];
  const fields = details.map((detail) => detail.path || "(whole input)");
  throw validationError(`invalid ${what}: ${[...new Set(fields)].join(", ")}`, details);
}

/**
 * The query string as a plain object (the first value of a repeated key). Keys are own
 * properties whatever they are called: `constructor`, `toString` or `__proto__` become fields
 * a strict schema refuses as unknown, instead of being taken for Object.prototype's and
 * silently dropped (or, for `__proto__`, setting the object's prototype).
 */
export function queryObject(request: Request): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of new URL(request.url).searchParams) {
    if (Object.hasOwn(query, key)) continue;
    Object.defineProperty(query, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return query;
}

function tooLarge(maxBytes: number, received: string): ApiError {
  return new ApiError(
    413,
    "PAYLOAD_TOO_LARGE",
    `the request body is larger than the ${maxBytes}-byte limit (${received})`,
    { max_bytes: maxBytes },
  );
}

/** The body as text, refusing more than `maxBytes` (413) before reading past the cap. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes, `Content-Length ${declared}`);
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes, `more than ${maxBytes} bytes received`);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Handled: the caller learns exactly what is wrong with its body.
    throw new ApiError(400, "INVALID_JSON", "the request body is not valid UTF-8");
  }
}

/** The body parsed as JSON (400 `INVALID_JSON` when it is not), at most `maxBytes`. */
export async function readJsonBody(request: Request, maxBytes = defaultMaxBodyBytes): Promise<unknown> {
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === "") throw new ApiError(400, "INVALID_JSON", "the request body is empty; expected a JSON object");
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(
      400,
      "INVALID_JSON",
      `the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // Every JSON body, including those a route validates by hand (the price upload).
  const controls = controlCharacterErrors(body, "text");
  if (controls.length > 0) {
    const fields = [...new Set(controls.map((error) => error.path || "(whole input)"))];
    throw validationError(`invalid request body: ${fields.join(", ")}`, controls);
  }
  return body;
}

/** Reads and validates a JSON body in one step. */
export async function parseJsonBody<Schema extends z.ZodType>(
  request: Request,
  schema: Schema,
  maxBytes = defaultMaxBodyBytes,
): Promise<z.output<Schema>> {
  return parseInput(schema, await readJsonBody(request, maxBytes), "request body");
}

/** Validates the query string in one step. */
export function parseQuery<Schema extends z.ZodType>(request: Request, schema: Schema): z.output<Schema> {
  return parseInput(schema, queryObject(request), "query");
}
