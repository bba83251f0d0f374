// A clean start, as `npm start -- --no-demo` makes it: a real local libSQL server with the
// migrations applied (factor definitions and built-in stress scenarios) and nothing else.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLibsqlServer } from "../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(path.join(tmpdir(), "factor-own-data-test-"));
  const authToken = "own-data-test-libsql-token";
  const server = await startLibsqlServer({ dbPath: path.join(dir, "own.db"), port: 0, authToken });
  await migrateDatabase(server.url, authToken);
  project.provide("libsqlUrl", server.url);
  project.provide("libsqlAuthToken", authToken);
  return async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
