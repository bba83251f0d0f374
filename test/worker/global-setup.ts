// Starts three real local libSQL servers for the workerd tests: one migrated and seeded (the
// normal case), one left empty (to see the Worker report pending migrations), and one migrated
// that requires more free disk than any machine has (to see /health report its storage degraded).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLibsqlServer } from "../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(path.join(tmpdir(), "factor-worker-test-"));
  const authToken = "worker-test-libsql-token";
  const migrated = await startLibsqlServer({ dbPath: path.join(dir, "migrated.db"), port: 0, authToken });
  const empty = await startLibsqlServer({ dbPath: path.join(dir, "empty.db"), port: 0, authToken });
  const lowDisk = await startLibsqlServer({
    dbPath: path.join(dir, "low-disk.db"),
    port: 0,
    authToken,
    minFreeBytes: Number.MAX_SAFE_INTEGER,
  });
  await migrateDatabase(migrated.url, authToken);
  await migrateDatabase(lowDisk.url, authToken);
  project.provide("libsqlUrl", migrated.url);
  project.provide("libsqlAuthToken", authToken);
  project.provide("emptyLibsqlUrl", empty.url);
  project.provide("lowDiskLibsqlUrl", lowDisk.url);
  return async () => {
    await Promise.all([migrated.close(), empty.close(), lowDisk.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
}
