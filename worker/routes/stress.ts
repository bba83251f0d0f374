// Stress scenarios: the built-in ones and the caller's saved ones (`GET /stress/scenarios`),
// saving (`POST`, MANAGE_PORTFOLIOS) and deleting one's own. A scenario's shocks must name
// active factors; names are unique per owner (409).
import { and, asc, desc, eq, or } from "drizzle-orm";
import { Hono } from "hono";
import { stressScenarios } from "../../schema/index.ts";
import { scenarioParamsSchema, stressScenarioCreateSchema } from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { getDatabase } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { stressScenarioIssues } from "../factors/stress.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { required } from "../required.ts";

type ScenarioRow = typeof stressScenarios.$inferSelect;

function scenarioResponse(row: ScenarioRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    shocks: row.shocks,
    builtin: row.builtin,
    owner: row.owner,
  };
}

export const stressRoutes = new Hono<ApiEnv>()
  .get("/scenarios", guard(routes.listScenarios), noQuery(), async (c) => {
    const caller = c.get("caller");
    const rows = await getDatabase(c.env)
      .select()
      .from(stressScenarios)
      .where(or(eq(stressScenarios.builtin, true), eq(stressScenarios.owner, caller.sub)))
      .orderBy(desc(stressScenarios.builtin), asc(stressScenarios.name));
    return c.json({ scenarios: rows.map(scenarioResponse) }, 200);
  })
  .post(
    "/scenarios",
    guard(routes.createScenario),
    noQuery(),
    validate("json", stressScenarioCreateSchema),
    async (c) => {
      const caller = c.get("caller");
      const body = c.req.valid("json");
      const db = getDatabase(c.env);
      const issues = stressScenarioIssues(body.shocks, await loadActiveFactors(db));
      if (issues.length > 0)
        throw validationError(
          `invalid shocks: ${issues.map((issue) => issue.message).join("; ")}`,
          issues.map((issue) => ({
            path: issue.factorKey === null ? "shocks" : `shocks.${issue.factorKey}`,
            message: issue.message,
          })),
        );
      const clash = await db
        .select({ id: stressScenarios.id })
        .from(stressScenarios)
        .where(and(eq(stressScenarios.owner, caller.sub), eq(stressScenarios.name, body.name)))
        .get();
      if (clash)
        throw new ApiError(409, "CONFLICT", `you already have a scenario named "${body.name}"`, [
          { path: "name", message: "must be unique among your scenarios" },
        ]);
      const [row] = await db
        .insert(stressScenarios)
        .values({
          id: crypto.randomUUID(),
          name: body.name,
          description: body.description ?? "",
          shocks: body.shocks,
          builtin: false,
          owner: caller.sub,
        })
        .returning();
      // An insert returns the row it wrote.
      const created = required(row, "the inserted scenario");
      c.header("Location", `/api/v1/stress/scenarios/${created.id}`);
      return c.json(scenarioResponse(created), 201);
    },
  )
  .delete(
    "/scenarios/:id",
    guard(routes.deleteScenario),
    noQuery(),
    validate("param", scenarioParamsSchema),
    async (c) => {
      const caller = c.get("caller");
      const { id } = c.req.valid("param");
      const db = getDatabase(c.env);
      const row = await db.select().from(stressScenarios).where(eq(stressScenarios.id, id)).get();
      if (!row || (!row.builtin && row.owner !== caller.sub))
        throw new ApiError(404, "NOT_FOUND", `stress scenario ${id} does not exist`);
      if (row.builtin) throw new ApiError(403, "FORBIDDEN", "built-in scenarios cannot be deleted");
      await db.delete(stressScenarios).where(eq(stressScenarios.id, id));
      return c.body(null, 204);
    },
  );
