// Applies schema/migrations to whatever TURSO_DATABASE_URL points at (the local libSQL
// server by default, a Turso database in production), then seeds the default factor set.
// Both steps are idempotent: running this twice changes nothing the second time.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { factorDefinitions, riskFactors, stressScenarios } from "../schema/index.ts";
import { BUILTIN_STRESS_SCENARIOS } from "../worker/factors/stress.ts";
import { defaultFactors } from "../schema/seed/default-factors.ts";
import { defaultRiskFactors } from "../schema/seed/default-risk-factors.ts";
import { databaseTarget, reportingStackErrors } from "./local-config.ts";

export const migrationsFolder = fileURLToPath(new URL("../schema/migrations", import.meta.url));

export interface MigrationSummary {
  migrationsApplied: number;
  factorsSeeded: number;
  /** Risk lens factors inserted (docs/design.md §11); seeded once, like the factor set. */
  riskFactorsSeeded: number;
  /** Built-in stress scenarios inserted or brought in line with the code's definitions. */
  scenariosSeeded: number;
}

export async function migrateDatabase(url: string, authToken?: string): Promise<MigrationSummary> {
  const client = createClient(authToken ? { url, authToken } : { url });
  try {
    const db = drizzle(client);
    const before = await countAppliedMigrations(client);
    await migrate(db, { migrationsFolder });
    const after = await countAppliedMigrations(client);
    // Factors are seeded once: afterwards they are data that operators may edit.
    const seeded = await db
      .insert(factorDefinitions)
      .values([...defaultFactors])
      .onConflictDoNothing()
      .returning({ id: factorDefinitions.id });
    const riskSeeded = await db
      .insert(riskFactors)
      .values([...defaultRiskFactors])
      .onConflictDoNothing()
      .returning({ id: riskFactors.id });
    // Built-in scenarios belong to the code: updated when their definition changes, and
    // otherwise untouched, so a second run writes nothing.
    const scenarios = await db
      .insert(stressScenarios)
      .values(
        BUILTIN_STRESS_SCENARIOS.map((s) => ({
          id: s.id,
          name: s.name,
          description: s.description,
          shocks: { ...s.shocks },
          builtin: true,
          owner: null,
        })),
      )
      .onConflictDoUpdate({
        target: stressScenarios.id,
        set: { name: sql`excluded.name`, description: sql`excluded.description`, shocks: sql`excluded.shocks` },
        setWhere: sql`${stressScenarios.name} is not excluded.name
          or ${stressScenarios.description} is not excluded.description
          or ${stressScenarios.shocks} is not excluded.shocks`,
      })
      .returning({ id: stressScenarios.id });
    return {
      migrationsApplied: after - before,
      factorsSeeded: seeded.length,
      riskFactorsSeeded: riskSeeded.length,
      scenariosSeeded: scenarios.length,
    };
  } finally {
    client.close();
  }
}

async function countAppliedMigrations(client: ReturnType<typeof createClient>): Promise<number> {
  const table = await client.execute(
    "select count(*) as n from sqlite_master where type = 'table' and name = '__drizzle_migrations'",
  );
  if (Number(table.rows[0]?.["n"]) === 0) return 0;
  const applied = await client.execute("select count(*) as n from __drizzle_migrations");
  return Number(applied.rows[0]?.["n"]);
}

if (import.meta.main) {
  process.exitCode = await reportingStackErrors(async () => {
    // Without TURSO_DATABASE_URL this targets the local server started by `npm start`.
    const { url, authToken } = databaseTarget();
    const summary = await migrateDatabase(url, authToken);
    console.log(
      `migrated ${new URL(url).host}: ${summary.migrationsApplied} migration(s) ` +
        `applied, ${summary.factorsSeeded} default factor(s) and ${summary.riskFactorsSeeded} risk factor(s) ` +
        `seeded, ${summary.scenariosSeeded} built-in stress scenario(s) written`,
    );
    return 0;
  });
}
