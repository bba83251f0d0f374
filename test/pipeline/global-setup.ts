// A real local libSQL server, migrated and seeded with the demo data set as `npm start` seeds
// it, for a fixed market end date so the run's numbers are reproducible.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLibsqlServer } from "../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { seedDemoData } from "../../scripts/seed-demo.ts";

/** A Tuesday: the demo market's last close, and what the synthetic provider serves. */
export const pipelineMarketEndDate = "2026-06-30";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(path.join(tmpdir(), "factor-pipeline-test-"));
  const authToken = "pipeline-test-libsql-token";
  const server = await startLibsqlServer({ dbPath: path.join(dir, "demo.db"), port: 0, authToken });
  await migrateDatabase(server.url, authToken);
  await seedDemoData(server.url, authToken, new Date(`${pipelineMarketEndDate}T22:00:00Z`));
  project.provide("libsqlUrl", server.url);
  project.provide("libsqlAuthToken", authToken);
  return async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
