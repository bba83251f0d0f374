// `GET /factors`: the factor definitions in display order (inactive ones included, flagged).
import { asc } from "drizzle-orm";
import { Hono } from "hono";
import { factorDefinitions } from "../../schema/index.ts";
import { routes } from "../api/contract.ts";
import type { FactorsResponse } from "../api/factors.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { getDatabase } from "../db/client.ts";
import { noQuery } from "../http/validate.ts";

export const factorRoutes = new Hono<ApiEnv>().get("/", guard(routes.listFactors), noQuery(), async (c) => {
  const rows = await getDatabase(c.env)
    .select()
    .from(factorDefinitions)
    .orderBy(asc(factorDefinitions.displayOrder), asc(factorDefinitions.id));
  const response: FactorsResponse = {
    factors: rows.map((row) => ({
      id: row.id,
      key: row.key,
      name: row.name,
      category: row.category,
      method: row.method,
      input_symbol: row.inputSymbol,
      long_symbol: row.longSymbol,
      short_symbol: row.shortSymbol,
      window_days: row.windowDays,
      min_observations: row.minObservations,
      ridge_alpha: row.ridgeAlpha,
      description: row.description,
      display_order: row.displayOrder,
      is_active: row.isActive,
    })),
  };
  return c.json(response, 200);
});
