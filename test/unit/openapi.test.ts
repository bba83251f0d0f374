// The OpenAPI document generated from the route table: valid OpenAPI 3.1 (checked against the
// specification's own JSON Schema), one operation per route, permissions and schemas present.
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { routeKey, routes, type RouteContract } from "../../worker/api/contract.ts";
import { openApiDocument } from "../../worker/api/openapi.ts";

const document = openApiDocument() as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>>; components: { schemas: Record<string, Record<string, unknown>> } };

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
    const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`, operation })));
    expect(operations.map((operation) => operation.key).sort()).toEqual((Object.values(routes) as RouteContract[]).map(routeKey).sort());
    for (const { key, operation } of operations) {
      const route = (Object.values(routes) as RouteContract[]).find((candidate) => routeKey(candidate) === key)!;
      if (route.permission === "public" || route.permission === "ticket") expect(operation["security"], key).toEqual([]);
      else expect(operation["x-required-permission"], key).toBe(route.permission);
    }
  });

  it("documents request schemas from the validating zod schemas: query parameters as text, bodies with their fields", () => {
    const list = document.paths["/data/symbols"]!["get"]! as { parameters: { name: string; schema: Record<string, unknown> }[] };
    const sortBy = list.parameters.find((parameter) => parameter.name === "sort_by")!;
    expect(sortBy.schema["enum"]).toContain("factor_market_beta");
    expect(list.parameters.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(["limit", "offset", "sector", "min_market_cap", "max_pe_ratio", "sort_order"]));
    const create = document.paths["/portfolios/{id}/positions"]!["post"]! as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> } };
    const schema = deref(create.requestBody.content["application/json"]!.schema);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["symbol", "instrument", "quantity", "opened_on", "delta", "implied_vol", "expiry"]));
    expect(schema.required).toEqual(expect.arrayContaining(["symbol", "instrument", "quantity", "opened_on"]));
    const csv = document.paths["/portfolios/{id}/positions/import"]!["post"]! as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(csv.requestBody.content)).toEqual(["text/csv"]);
    const exposures = document.paths["/portfolios/{id}/exposures"]!["get"]! as { responses: Record<string, { content?: Record<string, unknown> }> };
    expect(Object.keys(exposures.responses["200"]!.content!)).toEqual(["application/json", "text/csv"]);
  });
});
