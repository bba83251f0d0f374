// A schema-driven fuzz of every operation of /api/v1/openapi.json, against the real Worker,
// bounded in time (FUZZ_BUDGET_MS, 20 s by default, shared by the operations). Requests are
// generated with fast-check from the document's own JSON Schemas (parameters and bodies),
// mostly valid-looking, mixed with hostile values: NUL and other control characters,
// unicode, lone surrogates, very long strings, 1e308, -0, 5e-324, NaN-ish strings,
// prototype keys (`__proto__`, `constructor`), arrays where objects are expected, raw
// bodies JSON cannot express (1e999, deep nesting). Every answer must be below 500, its
// status declared for the operation in the document, and every 2xx JSON body must match the
// operation's response schema (the zod schema of the route table, worker/api/contract.ts).
//
// The seed is fixed (FUZZ_SEED to change it) and printed, with the requests sent per
// operation. Each operation runs as its own user (`fuzz-<operation>`: its own portfolios,
// scenarios, rate-limit budget), so no other test's data is touched. Requests that would
// change shared state are defused, not dropped: a valid batch run or backfill gets a missing
// portfolio_id (404 before any run starts), a valid price upload an empty list, and a
// delete of the fixture portfolio, position or scenario targets a fresh one instead.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { routeKey, routes, type RouteContract } from "../../worker/api/contract.ts";
import { batchBackfillRequestSchema, batchRunRequestSchema } from "../../worker/api/admin.ts";
import { validatePriceUpload } from "../../worker/market-data/price-upload.ts";
import { tokenFor } from "../support/tokens.ts";
import { base, batchDates, call, ensureBatchOutput, json } from "./support.ts";
import { exports } from "cloudflare:workers";

const settings = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const seed = Number(settings["FUZZ_SEED"] ?? 20_261_202);
const budgetMs = Number(settings["FUZZ_BUDGET_MS"] ?? 20_000);
const maxRunsPerOperation = 120;

type Schema = Record<string, unknown>;
interface Operation {
  name: string;
  method: string;
  path: string;
  parameters: { name: string; in: "path" | "query"; required: boolean; schema: Schema }[];
  body: { mediaType: string; schema: Schema } | null;
  declared: Set<number>;
}

let document: { paths: Record<string, Record<string, Schema>>; components: { schemas: Record<string, Schema> } };

function resolve(schema: Schema): Schema {
  const ref = schema["$ref"];
  return typeof ref === "string"
    ? resolve(document.components.schemas[ref.replace("#/components/schemas/", "")] ?? {})
    : schema;
}

// ---- hostile values --------------------------------------------------------------------------

const hostileStrings = [
  "\u0000",
  "a\u0000b",
  "\u0001",
  "\u001f",
  "\u007f",
  "\t",
  "\n",
  "\r\n",
  " ",
  "",
  " 5",
  "0",
  "é",
  "😀",
  "\u202e",
  "\ud800",
  "Ω≈ç√",
  "%00",
  "%",
  "../..",
  "' OR 1=1 --",
  "<script>",
  "\\",
  '"',
  "NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "1e308",
  "-1e308",
  "5e-324",
  "0x10",
  "1e999",
  "9".repeat(400),
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "prototype",
  "2026-02-30",
  "2026-06-30T00:00:00Z",
  "9999-12-31",
  "0000-01-01",
  "-000001-01-01",
  "2026-6-1",
  "x".repeat(5_000),
];
const hostileNumbers = [
  1e308,
  -1e308,
  1.7976931348623157e308,
  5e-324,
  -0,
  0,
  -1,
  1e15,
  1e12 + 1,
  Number.MAX_SAFE_INTEGER + 2,
  0.1,
  2 ** 53,
];
const hostileAny: unknown[] = [
  null,
  [],
  {},
  [1, 2],
  { __proto__: null },
  JSON.parse('{"__proto__":{"admin":true}}'),
  "NaN",
  true,
  false,
  [[[]]],
  { a: { b: { c: [] } } },
];

const hostileString = fc.constantFrom(...hostileStrings);
const hostileValue = fc.oneof(hostileString, fc.constantFrom(...hostileNumbers), fc.constantFrom(...hostileAny));
const tickers = fc.constantFrom("SPY", "QQQ", "IWM", "TLT", "spy", "MTUM");
const dates = fc.constantFrom(...batchDates, "2026-01-02", "2026-06-01", "2025-12-31");

/** Raw bodies JSON.stringify cannot produce. */
const rawBodies = [
  '{"quantity":1e999}',
  '{"holdings":[{"symbol":"SPY","instrument":"etf","quantity":1e999}]}',
  "-0",
  "[]",
  "null",
  '"x"',
  "{",
  "{}",
  '{"a":',
  `${"[".repeat(2_000)}${"]".repeat(2_000)}`,
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{}}}',
  "\u0000",
  "\ufeff{}",
];

// ---- arbitraries from JSON Schema ------------------------------------------------------------

/** Values for fields whose name says what they are (ids and tickers the fixtures provide). */
function namedValue(name: string, fixtures: Fixtures): fc.Arbitrary<unknown> | null {
  if (name === "portfolio_id") return fc.constantFrom(fixtures.portfolio, "fuzz-missing-portfolio");
  if (name === "scenario_id") return fc.constantFrom(fixtures.scenario, "builtin-market-drop", "fuzz-missing-scenario");
  if (name === "symbol" || name === "underlying_symbol" || name === "benchmark_symbol") return tickers;
  if (name === "factor" || name === "factors")
    return fc.constantFrom("market_beta", "value", "market_beta,size", "nope");
  return null;
}

function fromSchema(input: Schema, fixtures: Fixtures, depth = 0, name = ""): fc.Arbitrary<unknown> {
  const schema = resolve(input);
  const named = namedValue(name, fixtures);
  const valid = named ?? validFromSchema(schema, fixtures, depth);
  return fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: hostileValue, weight: 1 });
}

function validFromSchema(schema: Schema, fixtures: Fixtures, depth: number): fc.Arbitrary<unknown> {
  const options = (schema["anyOf"] ?? schema["oneOf"]) as Schema[] | undefined;
  if (options) return fc.oneof(...options.map((option) => fromSchema(option, fixtures, depth + 1)));
  if (Array.isArray(schema["enum"])) return fc.constantFrom(...(schema["enum"] as unknown[]));
  if ("const" in schema) return fc.constant(schema["const"]);
  const type = schema["type"];
  if (Array.isArray(type))
    return fc.oneof(...type.map((one) => validFromSchema({ ...schema, type: one }, fixtures, depth)));
  switch (type) {
    case "string":
      if (schema["format"] === "date") return dates;
      return fc.oneof(
        fc.string({ maxLength: Math.min(Number(schema["maxLength"] ?? 30), 30) }),
        fc.string({ unit: "grapheme", maxLength: 12 }),
      );
    case "integer":
    case "number": {
      const min = typeof schema["minimum"] === "number" ? schema["minimum"] : -1e6;
      const max = typeof schema["maximum"] === "number" ? schema["maximum"] : 1e6;
      const integers = fc.integer({ min: Math.max(min, -1e9), max: Math.min(max, 1e9) });
      return type === "integer"
        ? integers
        : fc.oneof(integers, fc.double({ min: Math.max(min, -1e9), max: Math.min(max, 1e9), noNaN: true }));
    }
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items = (schema["items"] ?? {}) as Schema;
      return depth > 4 ? fc.constant([]) : fc.array(fromSchema(items, fixtures, depth + 1), { maxLength: 3 });
    }
    case "object": {
      const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
      const required = new Set((schema["required"] as string[] | undefined) ?? []);
      const additional = schema["additionalProperties"];
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, property] of Object.entries(properties))
        shape[key] = fromSchema(property, fixtures, depth + 1, key);
      const record = fc.record(shape, { requiredKeys: Object.keys(properties).filter((key) => required.has(key)) });
      if (additional && typeof additional === "object") {
        // A record (shocks): factor keys mostly, any key sometimes.
        const keys = fc.oneof(
          fc.constantFrom("market_beta", "value", "size_spread", "__proto__", "constructor"),
          fc.string({ maxLength: 8 }),
        );
        return fc.dictionary(keys, fromSchema(additional as Schema, fixtures, depth + 1), { maxKeys: 3 });
      }
      return record;
    }
    default:
      return hostileValue;
  }
}

/**
 * Bodies that pass validation, per operation: generated from the schema alone, a position is
 * almost never valid (option fields on a stock, a call's negative delta), and the fuzz must
 * also reach the handlers behind validation.
 */
function validBodies(fixtures: Fixtures): Partial<Record<string, fc.Arbitrary<Record<string, unknown>>>> {
  const quantity = fc.integer({ min: -1_000, max: 1_000 }).filter((value) => value !== 0);
  const holding = fc.oneof(
    fc.record({ symbol: tickers, instrument: fc.constantFrom("etf", "stock"), quantity, opened_on: dates }),
    fc.record({
      symbol: fc.constant("SPY 261218C00600000"),
      instrument: fc.constant("option"),
      quantity,
      opened_on: dates,
      underlying_symbol: fc.constant("SPY"),
      option_type: fc.constant("call"),
      strike: fc.integer({ min: 1, max: 2_000 }),
      expiry: fc.constant("2026-12-18"),
      delta: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    fc.record({
      symbol: fc.string({ minLength: 1, maxLength: 20 }),
      instrument: fc.constant("private"),
      quantity,
      opened_on: dates,
    }),
  );
  const shocks = fc.dictionary(
    fc.constantFrom("market_beta", "value", "size_spread", "interest_rate_beta"),
    fc.double({ min: -1, max: 10, noNaN: true }),
    { minKeys: 1, maxKeys: 3 },
  );
  const hedgeOptions = fc.record(
    {
      target: fc.constantFrom("tracking_error", "total"),
      instruments: fc.uniqueArray(fc.constantFrom("SPY", "TLT", "VUG", "VTV", "MTUM", "IWM"), {
        minLength: 1,
        maxLength: 4,
      }),
      penalty: fc.double({ min: 0, max: 1, noNaN: true }),
    },
    { requiredKeys: ["target"] },
  );
  return {
    createPortfolio: fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }),
      cash: fc.integer({ min: -1e6, max: 1e9 }),
    }),
    updatePortfolio: fc.record(
      { name: fc.string({ minLength: 1, maxLength: 40 }), cash: fc.integer({ min: 0, max: 1e9 }) },
      { requiredKeys: [] },
    ),
    createPosition: holding,
    updatePosition: fc.oneof(
      fc.record({ quantity }),
      fc.record({ closed_on: fc.constant("2026-12-31") }),
      fc.record({ opened_on: dates }),
    ),
    runStress: fc.oneof(
      fc.record({ shocks }),
      fc.record({ scenario_id: fc.constantFrom("builtin-market-drop", fixtures.scenario), date: dates }),
    ),
    createScenario: fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }),
      description: fc.string({ maxLength: 200 }),
      shocks,
    }),
    whatIf: fc.record(
      {
        holdings: fc.array(holding, { maxLength: 4 }),
        cash: fc.integer({ min: 0, max: 1e9 }),
        portfolio_id: fc.constant(fixtures.portfolio),
        date: dates,
        hedge: hedgeOptions,
      },
      { requiredKeys: ["holdings"] },
    ),
    hedgePortfolio: fc.record(
      {
        target: hedgeOptions.map((options) => options.target),
        instruments: fc.uniqueArray(tickers, { minLength: 1, maxLength: 4 }),
        penalty: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
        date: dates,
        benchmark: fc.constantFrom("SPY", "QQQ", "none"),
      },
      { requiredKeys: ["target"] },
    ),
  };
}

/** A valid body, or the same with one field replaced by a hostile value (or one hostile field added). */
function mutated(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { arbitrary: valid, weight: 2 },
    {
      arbitrary: fc
        .tuple(valid, fc.nat(), hostileValue, fc.constantFrom("__proto__", "constructor", "extra"))
        .map(([body, pick, value, extra]) => {
          const keys = [...Object.keys(body), extra];
          return { ...body, [keys[pick % keys.length]!]: value };
        }),
      weight: 3,
    },
  );
}

// ---- requests --------------------------------------------------------------------------------

interface Fixtures {
  portfolio: string;
  position: string;
  scenario: string;
  run: string;
}

interface FuzzRequest {
  path: Record<string, unknown>;
  query: [string, unknown][];
  body: { raw: string } | { value: unknown } | null;
}

function requestArbitrary(operation: Operation, fixtures: Fixtures): fc.Arbitrary<FuzzRequest> {
  const pathValues: Record<string, fc.Arbitrary<unknown>> = {};
  for (const parameter of operation.parameters.filter((p) => p.in === "path")) {
    const valid =
      parameter.name === "symbol"
        ? tickers
        : parameter.name === "positionId"
          ? fc.constant(fixtures.position)
          : operation.path.startsWith("/stress/")
            ? fc.constantFrom(fixtures.scenario, "builtin-market-drop")
            : operation.path.startsWith("/admin/")
              ? fc.constant(fixtures.run)
              : fc.constant(fixtures.portfolio);
    pathValues[parameter.name] = fc.oneof(
      { arbitrary: valid, weight: 4 },
      { arbitrary: fc.constantFrom("fuzz-missing-id", "MISSING"), weight: 1 },
      { arbitrary: hostileString, weight: 1 },
    );
  }
  const query = operation.parameters.filter((p) => p.in === "query");
  const queryEntry = (parameter: (typeof query)[number]) =>
    fc.option(
      fromSchema(parameter.schema, fixtures, 0, parameter.name).map((value): [string, unknown] => [
        parameter.name,
        value,
      ]),
      { freq: 2 },
    );
  // Now and then a key no operation takes: prototype names, a typo, a NUL.
  const extraKey = fc.tuple(
    fc.constantFrom("constructor", "__proto__", "toString", "hasOwnProperty", "sortBy", "a\u0000b", ""),
    hostileValue,
  );
  const extraKeys = fc.oneof(
    { arbitrary: fc.constant(null), weight: 6 },
    { arbitrary: extraKey.map(([key, value]): [string, unknown] => [key, value]), weight: 1 },
  );
  const queryArbitrary = fc
    .tuple(fc.tuple(...query.map(queryEntry)), extraKeys)
    .map(([entries, extra]) => [...entries, extra].filter((entry): entry is [string, unknown] => entry !== null));
  let body: fc.Arbitrary<FuzzRequest["body"]> = fc.constant(null);
  if (operation.body?.mediaType === "text/csv") {
    const line = fc.tuple(
      fc.oneof(tickers, hostileString),
      fc.constantFrom("etf", "stock", "private", "option", "bond"),
      fc.oneof(fc.integer({ min: -5, max: 5 }).map(String), hostileString),
      dates,
    );
    body = fc
      .tuple(
        fc.constantFrom(
          "symbol,instrument,quantity,opened_on",
          "symbol,quantity",
          "",
          "symbol,instrument,quantity,opened_on,__proto__",
        ),
        fc.array(line, { maxLength: 4 }),
      )
      .map(([header, lines]) => ({ raw: [header, ...lines.map((fields) => fields.join(","))].join("\n") }));
  } else if (operation.body) {
    const schema = operation.body.schema;
    const valid = validBodies(fixtures)[operation.name];
    body = fc.oneof(
      { arbitrary: fromSchema(schema, fixtures).map((value) => ({ value })), weight: 6 },
      { arbitrary: fc.constantFrom(...rawBodies).map((raw) => ({ raw })), weight: 1 },
      ...(valid ? [{ arbitrary: mutated(valid).map((value) => ({ value })), weight: 6 }] : []),
    );
  }
  return fc.record({ path: fc.record(pathValues), query: queryArbitrary, body });
}

function text(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}

function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return "%ED%A0%80"; // a lone surrogate: invalid UTF-8 in a URL
  }
}

// ---- the run -----------------------------------------------------------------------------------

const stats: { operation: string; requests: number; statuses: Record<number, number> }[] = [];

async function fixturesFor(sub: string, org: string): Promise<Fixtures & { token: string }> {
  const token = await tokenFor(sub, undefined, { org });
  const portfolio = await json<{ id: string }>(
    await call("/portfolios", { token, method: "POST", body: { name: `fuzz ${crypto.randomUUID()}`, cash: 10_000 } }),
    201,
  );
  const position = await json<{ id: string }>(
    await call(`/portfolios/${portfolio.id}/positions`, {
      token,
      method: "POST",
      body: { symbol: "SPY", instrument: "etf", quantity: 10, opened_on: "2026-01-02" },
    }),
    201,
  );
  const scenario = await json<{ id: string }>(
    await call("/stress/scenarios", {
      token,
      method: "POST",
      body: { name: `fuzz ${crypto.randomUUID()}`, shocks: { market_beta: -0.1 } },
    }),
    201,
  );
  const runs = await json<{ runs: { id: string }[] }>(await call("/admin/batch/runs?limit=1", { token }));
  return {
    token,
    portfolio: portfolio.id,
    position: position.id,
    scenario: scenario.id,
    run: runs.runs[0]?.id ?? "no-run",
  };
}

/** Makes a request that would change shared state harmless (see the header). */
async function defuse(
  operation: Operation,
  request: FuzzRequest,
  fixtures: Fixtures & { token: string },
): Promise<FuzzRequest> {
  const body = request.body !== null && "value" in request.body ? request.body.value : undefined;
  if (
    (operation.name === "runBatch" && batchRunRequestSchema.safeParse(body).success) ||
    (operation.name === "backfillBatch" && batchBackfillRequestSchema.safeParse(body).success)
  ) {
    return { ...request, body: { value: { ...(body as object), portfolio_id: "fuzz-missing-portfolio" } } };
  }
  if (operation.name === "uploadPrices" && validatePriceUpload(body).ok)
    return { ...request, body: { value: { prices: [] } } };
  const fresh = async (path: string, payload: unknown) =>
    (await json<{ id: string }>(await call(path, { token: fixtures.token, method: "POST", body: payload }), 201)).id;
  if (operation.name === "deletePortfolio" && request.path["id"] === fixtures.portfolio) {
    return { ...request, path: { id: await fresh("/portfolios", { name: `fuzz ${crypto.randomUUID()}` }) } };
  }
  if (operation.name === "deleteScenario" && request.path["id"] === fixtures.scenario) {
    return {
      ...request,
      path: { id: await fresh("/stress/scenarios", { name: `fuzz ${crypto.randomUUID()}`, shocks: { value: 0.1 } }) },
    };
  }
  if (operation.name === "deletePosition" && request.path["positionId"] === fixtures.position) {
    const position = await fresh(`/portfolios/${fixtures.portfolio}/positions`, {
      symbol: "SPY",
      instrument: "etf",
      quantity: 1,
      opened_on: "2026-01-02",
    });
    return { ...request, path: { ...request.path, positionId: position } };
  }
  return request;
}

async function send(
  operation: Operation,
  request: FuzzRequest,
  token: string,
): Promise<{ status: number; body: string; type: string; url: string }> {
  let path = operation.path;
  for (const [name, value] of Object.entries(request.path)) path = path.replace(`{${name}}`, encode(text(value)));
  const query = request.query.map(([key, value]) => `${encode(key)}=${encode(text(value))}`).join("&");
  const url = `${base}${path}${query ? `?${query}` : ""}`;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: string | undefined;
  if (request.body !== null) {
    body = "raw" in request.body ? request.body.raw : (JSON.stringify(request.body.value) ?? "null");
    headers["content-type"] = operation.body?.mediaType ?? "application/json";
  }
  const response = await exports.default.fetch(url, {
    method: operation.method.toUpperCase(),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get("content-type") ?? "",
    url: `${operation.method.toUpperCase()} ${url} ${body?.slice(0, 300) ?? ""}`,
  };
}

beforeAll(async () => {
  await ensureBatchOutput();
  document = await json(await call("/openapi.json", { token: null }));
});

describe("schema-driven fuzz of every operation", () => {
  it(`answers no 5xx, only declared statuses, and schema-valid 2xx bodies (seed ${seed})`, {
    timeout: budgetMs + 60_000,
  }, async () => {
    const operations: Operation[] = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => {
        const content = (op["requestBody"] as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
        const [mediaType, media] = Object.entries(content ?? {})[0] ?? [];
        return {
          name: op["operationId"] as string,
          method,
          path,
          parameters: (op["parameters"] ?? []) as Operation["parameters"],
          body: mediaType && media ? { mediaType, schema: media.schema } : null,
          declared: new Set(Object.keys(op["responses"] as object).map(Number)),
        };
      }),
    );
    expect(operations.map((operation) => operation.name).sort()).toEqual(Object.keys(routes).sort());
    console.log(`fuzz: seed ${seed}, budget ${budgetMs} ms, ${operations.length} operations`);
    const started = Date.now();
    const failures: string[] = [];
    for (const [index, operation] of operations.entries()) {
      const route = routes[operation.name as keyof typeof routes] as RouteContract;
      const fixtures = await fixturesFor(`fuzz-${operation.name}`, `fuzz-org-${operation.name}`);
      const deadline = started + ((index + 1) * budgetMs) / operations.length;
      const samples = fc.sample(requestArbitrary(operation, fixtures), {
        seed: seed + index,
        numRuns: maxRunsPerOperation,
      });
      const entry = { operation: operation.name, requests: 0, statuses: {} as Record<number, number> };
      stats.push(entry);
      for (const sample of samples) {
        if (Date.now() > deadline && entry.requests >= 10) break;
        const request = await defuse(operation, sample, fixtures);
        const response = await send(operation, request, fixtures.token);
        entry.requests++;
        entry.statuses[response.status] = (entry.statuses[response.status] ?? 0) + 1;
        const problem =
          response.status >= 500
            ? `${response.status}: ${response.body.slice(0, 300)}`
            : !operation.declared.has(response.status)
              ? `undeclared status ${response.status}: ${response.body.slice(0, 300)}`
              : response.status < 300 && route.response && response.type.startsWith("application/json")
                ? (() => {
                    const result = route.response.safeParse(JSON.parse(response.body));
                    return result.success
                      ? null
                      : `2xx body does not match its schema: ${JSON.stringify(result.error.issues.slice(0, 3))}`;
                  })()
                : null;
        if (problem !== null && failures.length < 20)
          failures.push(`${operation.name} ${routeKey(route)}: ${problem}\n  request: ${response.url}`);
      }
    }
    const duration = Date.now() - started;
    const total = stats.reduce((sum, entry) => sum + entry.requests, 0);
    console.log(
      `fuzz: ${total} requests over ${stats.length} operations in ${(duration / 1000).toFixed(1)} s (seed ${seed})`,
    );
    for (const entry of stats)
      console.log(`  ${entry.operation}: ${entry.requests} requests, statuses ${JSON.stringify(entry.statuses)}`);
    expect(failures, failures.join("\n")).toEqual([]);
    expect(stats).toHaveLength(Object.keys(routes).length);
    for (const entry of stats) expect(entry.requests, entry.operation).toBeGreaterThanOrEqual(10);
    // The fuzz reaches past validation: most operations answer some 2xx.
    const succeeded = stats.filter((entry) => Object.keys(entry.statuses).some((status) => Number(status) < 300));
    expect(succeeded.length).toBeGreaterThanOrEqual(20);
  });
});
