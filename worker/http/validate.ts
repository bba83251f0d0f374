// Validation middleware for typed routes: parses a request part with a zod schema (our 400
// `VALIDATION_ERROR` with field paths, worker/http/validation.ts; JSON bodies read with a byte
// cap, 413 beyond it) and hands the result to the handler through `c.req.valid(target)`.
// Typed like hono's own validators, so `hc<AppType>` knows each route's input: JSON bodies as
// the schema's input type, query and path parameters as strings.
//
// Written here rather than with @hono/zod-validator because our errors come from our
// boundary (field paths in our notation, INVALID_JSON, 413 before the body is read), which
// that middleware's hook would have to re-create from hono's own JSON parsing.
import type { Env as HonoEnv, MiddlewareHandler } from "hono";
import { z } from "zod";
import { defaultMaxBodyBytes, parseInput, queryObject, readJsonBody } from "./validation.ts";

type Target = "json" | "query" | "param";

/** What a client sends: JSON as the schema's input; query and path values as text. */
type ClientInput<T extends Target, S extends z.ZodType> = T extends "json"
  ? z.input<S>
  : { [K in keyof z.input<S>]: z.input<S>[K] extends string | undefined ? z.input<S>[K] : string };

type Validated<T extends Target, S extends z.ZodType> = {
  in: { [K in T]: ClientInput<T, S> };
  out: { [K in T]: z.output<S> };
};

/** A query with no keys: every key is unknown. */
const noQuerySchema = z.strictObject({});

const names: Record<Target, string> = { json: "request body", query: "query", param: "path" };

export function validate<T extends Target, S extends z.ZodType, E extends HonoEnv = HonoEnv>(
  target: T,
  schema: S,
  options: { maxBodyBytes?: number } = {},
): MiddlewareHandler<E, string, Validated<T, S>> {
  return async (c, next) => {
    let input: unknown;
    if (target === "json") input = await readJsonBody(c.req.raw, options.maxBodyBytes ?? defaultMaxBodyBytes);
    else if (target === "query") input = queryObject(c.req.raw);
    else input = c.req.param();
    c.req.addValidatedData(target, parseInput(schema, input, names[target]) as never);
    await next();
  };
}

/**
 * For a route that takes no query parameters: any key is a 400 naming it (docs/api.md: unknown
 * query keys are errors). Not a typed validator, so `hc` asks its callers for no `query`.
 */
export function noQuery<E extends HonoEnv = HonoEnv>(): MiddlewareHandler<E> {
  return async (c, next) => {
    parseInput(noQuerySchema, queryObject(c.req.raw), "query");
    await next();
  };
}
