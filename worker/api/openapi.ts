// The OpenAPI 3.1 document, generated from the route table (worker/api/contract.ts) with zod's
// own JSON Schema output (`z.toJSONSchema`): the schemas that validate requests are the ones
// documented, so the two cannot drift. Request schemas are rendered as their input side (what
// a caller sends: query values as text), responses as their output side. Written here rather
// than with a generator library: OpenAPI 3.1 takes JSON Schema as is, and zod 4 emits it.
import { z } from "zod";
import { routes, type ErrorStatus, type RouteContract } from "./contract.ts";

type JsonSchema = Record<string, unknown>;

/**
 * Schemas with a `.meta({id})` go to `components.schemas` once; zod renders them under `$defs`
 * with `#/$defs/<id>` references, which this rewrites to `#/components/schemas/<id>`.
 */
class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};

  render(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const {
      $schema: _dialect,
      $defs,
      ...root
    } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    const names = new Map<string, string>();
    for (const [id, definition] of Object.entries($defs ?? {})) {
      // A schema rendered both ways (input and output) can differ; the input side gets its own name then.
      const existing = this.components[id];
      const name =
        existing === undefined || JSON.stringify(existing) === JSON.stringify(definition)
          ? id
          : `${id}${io === "input" ? "Input" : "Output"}`;
      names.set(id, name);
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value === null || typeof value !== "object") return value;
      const out: JsonSchema = {};
      for (const [key, inner] of Object.entries(value)) {
        out[key] =
          key === "$ref" && typeof inner === "string" && inner.startsWith("#/$defs/")
            ? `#/components/schemas/${names.get(inner.slice("#/$defs/".length)) ?? inner.slice("#/$defs/".length)}`
            : rewrite(inner);
      }
      return out;
    };
    for (const [id, definition] of Object.entries($defs ?? {}))
      this.components[names.get(id) ?? id] = rewrite(definition) as JsonSchema;
    return rewrite(root) as JsonSchema;
  }
}

let collector = new SchemaCollector();

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return collector.render(schema, io);
}

/** A schema as a plain object: a top-level reference resolved to its component. */
function resolved(schema: JsonSchema): JsonSchema {
  const ref = schema["$ref"];
  if (typeof ref === "string" && ref.startsWith("#/components/schemas/"))
    return collector.components[ref.slice("#/components/schemas/".length)] ?? schema;
  return schema;
}

function parametersOf(schema: z.ZodType | undefined, where: "path" | "query", required: boolean): JsonSchema[] {
  if (!schema) return [];
  const object = resolved(jsonSchema(schema, "input"));
  const properties = (object["properties"] ?? {}) as Record<string, JsonSchema>;
  const requiredNames = new Set((object["required"] as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" ? true : required && requiredNames.has(name),
    ...(typeof property["description"] === "string" ? { description: property["description"] } : {}),
    schema: property,
  }));
}

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
};

/** What each error status means, as the document says it (docs/api.md, "Errors and limits"). */
const errorDescriptions: Record<ErrorStatus, string> = {
  400: "Invalid input (`VALIDATION_ERROR` with every field and reason in `details`, or `INVALID_JSON`).",
  401: "No token, or one that fails verification (`AUTH_REQUIRED`, `INVALID_TOKEN`; a ticket: `INVALID_TICKET`).",
  403: "The token lacks the permission (`details.required`), or the object is read-only to the caller.",
  404: "No such object visible to the caller (`NOT_FOUND`), or no data for the date (`NO_DATA`).",
  409: "A conflict: a name already used, a quota reached, or a run already covering the dates.",
  413: "The body is larger than the route's limit (`PAYLOAD_TOO_LARGE`).",
  415: "The body's media type is not the one the route takes (`UNSUPPORTED_MEDIA_TYPE`).",
  422:
    "The request is well formed but cannot be carried out: stored values out of range for the computation " +
    "(`VALUE_OUT_OF_RANGE`, naming each), a hedge without a unique solution (`HEDGE_UNAVAILABLE`), a webhook " +
    "URL the address guard refuses (`URL_NOT_ALLOWED`); `details` name the field and the reason.",
  426: "The request is not a WebSocket upgrade (`UPGRADE_REQUIRED`).",
  429: "Too many requests from the caller (`RATE_LIMITED`, with Retry-After).",
  503:
    "The database or the authentication is unavailable " +
    "(`DATABASE_UNAVAILABLE` with Retry-After, `AUTH_NOT_CONFIGURED`).",
};

function errorResponse(status: ErrorStatus): JsonSchema {
  const header = (name: string, description: string, type: string) => ({
    headers: { [name]: { description, schema: { type } } },
  });
  const retry =
    status === 429 || status === 503 ? header("Retry-After", "Seconds to wait before retrying.", "integer") : {};
  const authenticate = status === 401 ? header("WWW-Authenticate", "The bearer challenge.", "string") : {};
  const content = { "application/json": { schema: errorSchema } };
  return { description: errorDescriptions[status], ...retry, ...authenticate, content };
}

/**
 * Every error status a route can answer: those of its kind (a token: 401, 403, 429 and 503;
 * a live ticket: 401, 403, 426 and 503; any input, or any guarded route (unknown query keys): 400; a path parameter:
 * 404; a body: 413; a CSV body: 415) and the route's own (`errors` in the table).
 */
export function errorStatuses(route: RouteContract): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>(route.errors ?? []);
  if (route.permission === "ticket") for (const status of [401, 403, 426, 503] as const) statuses.add(status);
  else if (route.permission !== "public") for (const status of [401, 403, 429, 503] as const) statuses.add(status);
  const hasBody = route.body !== undefined || route.bodyMediaType !== undefined;
  // Every guarded route refuses unknown query keys (noQuery or its query schema): a 400.
  if (route.permission !== "public" || route.params || route.query || hasBody) statuses.add(400);
  if (route.params) statuses.add(404);
  if (hasBody) statuses.add(413);
  if (route.bodyMediaType !== undefined) statuses.add(415);
  return [...statuses].sort((a, b) => a - b);
}

/** The validators a conditional route's 200 and 304 carry (worker/http/etag.ts). */
const validatorHeaders = {
  ETag: {
    description: "A weak tag of the data version the answer was read with, the request and the caller.",
    schema: { type: "string" },
  },
  "Cache-Control": {
    description: "`private, no-cache`: keep, but revalidate before each use.",
    schema: { type: "string" },
  },
  Vary: { description: "`Authorization, Accept`.", schema: { type: "string" } },
};

const ifNoneMatchParameter = {
  name: "If-None-Match",
  in: "header",
  required: false,
  description: "ETags of answers the caller holds, or `*`: 304 without a body when one is current (weak comparison).",
  schema: { type: "string" },
};

function operation(name: string, route: RouteContract): JsonSchema {
  const status = String(route.status ?? 200);
  const success: JsonSchema = { description: "Success." };
  if (route.status !== 204) {
    const content: JsonSchema =
      route.responseMediaType === "text/html"
        ? { "text/html": { schema: { type: "string" } } }
        : { "application/json": { schema: route.response ? jsonSchema(route.response, "output") : {} } };
    if (route.csv) content["text/csv"] = { schema: { type: "string" } };
    success["content"] = content;
  }
  const responses: JsonSchema = { [status]: success };
  if (route.conditional) {
    success["headers"] = validatorHeaders;
    responses["304"] = {
      description: "Not Modified: `If-None-Match` matches the current ETag; no body.",
      headers: validatorHeaders,
    };
  }
  if (route.alsoStatus !== undefined) {
    responses[String(route.alsoStatus)] = { ...success, description: "Success: the same run was already under way." };
  }
  for (const error of errorStatuses(route)) responses[String(error)] = errorResponse(error);
  return {
    operationId: name,
    summary: route.summary,
    tags: [route.tag],
    ...(route.permission === "public" || route.permission === "ticket"
      ? { security: [] }
      : { "x-required-permission": route.permission }),
    parameters: [
      ...parametersOf(route.params, "path", true),
      ...parametersOf(route.query, "query", true),
      ...(route.conditional ? [ifNoneMatchParameter] : []),
    ],
    ...(route.bodyMediaType === "text/csv"
      ? { requestBody: { required: true, content: { "text/csv": { schema: { type: "string" } } } } }
      : route.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: jsonSchema(route.body, "input") } },
            },
          }
        : {}),
    responses,
  };
}

/** `/data/symbols/:symbol` → `/data/symbols/{symbol}`. */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

export function openApiDocument(serverUrl = "/api/v1"): JsonSchema {
  collector = new SchemaCollector();
  const paths: Record<string, JsonSchema> = {};
  for (const [name, route] of Object.entries(routes) as [string, RouteContract][]) {
    const path = openApiPath(route.path);
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(name, route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Factor exposure service",
      version: "1",
      description:
        "Factor betas of every symbol, portfolio exposures aggregated from them, " +
        "stress tests and what-if portfolios. " +
        "Bearer JWT on every route but health and this document; " +
        "each operation names its permission in x-required-permission.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      schemas: collector.components,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
    paths,
  };
}
