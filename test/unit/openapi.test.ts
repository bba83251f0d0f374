// The OpenAPI document generated from the route table: valid OpenAPI 3.1 (checked against the
// specification's own JSON Schema), one operation per route, permissions and schemas present.
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { routeKey, routes, type RouteContract } from "../../worker/api/contract.ts";
import { errorStatuses, openApiDocument } from "../../worker/api/openapi.ts";

const document = openApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

/** A schema with a top-level $ref replaced by its component. */
function deref<T>(schema: T): T {
  const ref = (schema as { $ref?: string }).$ref;
  return ref ? (document.components.schemas[ref.replace("#/components/schemas/", "")] as T) : schema;
}

describe("openApiDocument", () => {
  it("validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has exactly one operation per route of the table, with its permission", () => {
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`,
        operation,
      })),
    );
    expect(operations.map((operation) => operation.key).sort()).toEqual(
      (Object.values(routes) as RouteContract[]).map(routeKey).sort(),
    );
    for (const { key, operation } of operations) {
      const route = (Object.values(routes) as RouteContract[]).find((candidate) => routeKey(candidate) === key)!;
      if (route.permission === "public" || route.permission === "ticket")
        expect(operation["security"], key).toEqual([]);
      else expect(operation["x-required-permission"], key).toBe(route.permission);
    }
  });

  it(
    "documents request schemas from the validating zod schemas: query parameters as text, " +
      "bodies with their fields",
    () => {
      const list = document.paths["/data/symbols"]!["get"]! as {
        parameters: { name: string; schema: Record<string, unknown> }[];
      };
      const sortBy = list.parameters.find((parameter) => parameter.name === "sort_by")!;
      expect(sortBy.schema["enum"]).toContain("factor_market_beta");
      expect(list.parameters.map((parameter) => parameter.name)).toEqual(
        expect.arrayContaining(["limit", "offset", "sector", "min_market_cap", "max_pe_ratio", "sort_order"]),
      );
      const create = document.paths["/portfolios/{id}/positions"]!["post"]! as {
        requestBody: {
          content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }>;
        };
      };
      const schema = deref(create.requestBody.content["application/json"]!.schema);
      expect(Object.keys(schema.properties)).toEqual(
        expect.arrayContaining(["symbol", "instrument", "quantity", "opened_on", "delta", "implied_vol", "expiry"]),
      );
      expect(schema.required).toEqual(expect.arrayContaining(["symbol", "instrument", "quantity", "opened_on"]));
      const csv = document.paths["/portfolios/{id}/positions/import"]!["post"]! as {
        requestBody: { content: Record<string, unknown> };
      };
      expect(Object.keys(csv.requestBody.content)).toEqual(["text/csv"]);
      const exposures = document.paths["/portfolios/{id}/exposures"]!["get"]! as {
        responses: Record<string, { content?: Record<string, unknown> }>;
      };
      expect(Object.keys(exposures.responses["200"]!.content!)).toEqual(["application/json", "text/csv"]);
    },
  );

  it("declares every path parameter of every route, as a required path parameter", () => {
    for (const [name, route] of Object.entries(routes) as [string, RouteContract][]) {
      const operation = document.paths[route.path.replace(/:([A-Za-z_]+)/g, "{$1}")]![route.method]! as {
        parameters: { name: string; in: string; required: boolean }[];
      };
      const inPath = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]);
      const declared = operation.parameters.filter((parameter) => parameter.in === "path");
      expect(declared.map((parameter) => parameter.name).sort(), name).toEqual(inPath.sort());
      for (const parameter of declared) expect(parameter.required, `${name} ${parameter.name}`).toBe(true);
    }
    const run = document.paths["/admin/batch/runs/{id}"]!["get"]! as { parameters: { name: string; in: string }[] };
    expect(run.parameters).toContainEqual(expect.objectContaining({ name: "id", in: "path" }));
  });

  it("declares the docs page as text/html, not JSON", () => {
    const docs = document.paths["/docs"]!["get"]! as {
      responses: Record<string, { content: Record<string, unknown> }>;
    };
    expect(Object.keys(docs.responses["200"]!.content)).toEqual(["text/html"]);
  });

  it("lists every error status a route answers, each with the error body", () => {
    const statuses = (path: string, method: string) =>
      Object.keys((document.paths[path]![method]! as { responses: Record<string, unknown> }).responses).sort();
    // The review's findings: 409 on name conflicts, 404 on what-if and admin, 415 on import.
    expect(statuses("/portfolios", "post")).toEqual(
      expect.arrayContaining(["400", "401", "403", "409", "413", "429", "503"]),
    );
    expect(statuses("/portfolios/{id}", "patch")).toEqual(expect.arrayContaining(["403", "404", "409"]));
    expect(statuses("/stress/scenarios", "post")).toContain("409");
    expect(statuses("/what-if", "post")).toEqual(expect.arrayContaining(["400", "404", "413", "422"]));
    // A hedge that cannot be computed (singular instruments, no benchmark) is a 422 naming the field.
    expect(statuses("/portfolios/{id}/hedge", "post")).toEqual(expect.arrayContaining(["400", "404", "413", "422"]));
    expect(statuses("/admin/batch/run", "post")).toEqual(expect.arrayContaining(["200", "202", "404"]));
    expect(statuses("/admin/batch/backfill", "post")).toEqual(expect.arrayContaining(["200", "202", "404", "409"]));
    expect(statuses("/admin/batch/runs/{id}", "get")).toContain("404");
    expect(statuses("/admin/dual-write/report", "get")).toContain("404");
    expect(statuses("/portfolios/{id}/positions/import", "post")).toEqual(
      expect.arrayContaining(["400", "404", "413", "415"]),
    );
    expect(statuses("/live", "get")).toEqual(expect.arrayContaining(["401", "403", "426"]));
    for (const [name, route] of Object.entries(routes) as [string, RouteContract][]) {
      const responses = (
        document.paths[route.path.replace(/:([A-Za-z_]+)/g, "{$1}")]![route.method]! as {
          responses: Record<string, { content: Record<string, { schema: { required: string[] } }> }>;
        }
      ).responses;
      if (route.permission !== "public" && route.permission !== "ticket")
        expect(Object.keys(responses), name).toEqual(expect.arrayContaining(["401", "403", "429", "503"]));
      if (route.params || route.query || route.body) expect(Object.keys(responses), name).toContain("400");
      for (const status of errorStatuses(route))
        expect(responses[String(status)]!.content["application/json"]!.schema.required, `${name} ${status}`).toEqual([
          "error",
        ]);
    }
  });
});
