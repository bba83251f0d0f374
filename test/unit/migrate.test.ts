import { createClient, type Client } from "@libsql/client";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { seedDemoData } from "../../scripts/seed-demo.ts";
import journal from "../../schema/migrations/meta/_journal.json" with { type: "json" };

const authToken = "migrate-test-token";
let server: Awaited<ReturnType<typeof startLibsqlServer>>;
let client: Client;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "factor-migrate-test-"));
  server = await startLibsqlServer({ dbPath: path.join(dir, "db.sqlite"), port: 0, authToken });
  client = createClient({ url: server.url, authToken });
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function schemaSnapshot(): Promise<string> {
  const rows = await client.execute("select type, name, sql from sqlite_master order by type, name");
  return JSON.stringify(rows.rows);
}

describe("db:migrate", () => {
  it("applies the migrations and seeds the 12 default factors, then is a no-op the second time", async () => {
    expect(await migrateDatabase(server.url, authToken)).toEqual({ migrationsApplied: journal.entries.length, factorsSeeded: 12 });
    const afterFirst = await schemaSnapshot();
    expect(await migrateDatabase(server.url, authToken)).toEqual({ migrationsApplied: 0, factorsSeeded: 0 });
    expect(await schemaSnapshot()).toBe(afterFirst);
    const factors = await client.execute("select count(*) as n from factor_definitions");
    expect(Number(factors.rows[0]?.["n"])).toBe(12);
  });

  it("creates every table of the data model with its natural-key constraints", async () => {
    const tables = await client.execute("select name from sqlite_master where type = 'table' and name not like '\\_\\_%' escape '\\' and name not like 'sqlite%' order by name");
    expect(tables.rows.map((row) => row["name"])).toEqual([
      "batch_phase_results", "batch_runs", "company_profiles", "factor_definitions", "market_prices",
      "portfolio_factor_exposures", "portfolio_snapshots", "portfolios", "position_factor_exposures",
      "positions", "stress_scenarios", "symbol_daily_metrics", "symbol_factor_exposures", "symbol_universe",
    ]);
    await client.execute("insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, quality_flag, calculation_method, regression_window_days) values ('AAA', 1, '2025-01-02', 1.1, 200, 'ok', 'ols', 365)");
    await expect(
      client.execute("insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, quality_flag, calculation_method, regression_window_days) values ('AAA', 1, '2025-01-02', 1.2, 200, 'ok', 'ols', 365)"),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    // A beta outside the cap or a flag that means "no beta" is refused by the schema itself.
    await expect(
      client.execute("insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, quality_flag, calculation_method, regression_window_days) values ('BBB', 1, '2025-01-02', 7, 200, 'ok', 'ols', 365)"),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_CHECK" });
    await expect(
      client.execute("insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, quality_flag, calculation_method, regression_window_days) values ('BBB', 1, '2025-01-02', 0, 10, 'insufficient_data', 'ols', 365)"),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_CHECK" });
  });

  it("runs as `npm run db:migrate` against TURSO_DATABASE_URL", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["scripts/migrate.ts"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { ...process.env, TURSO_DATABASE_URL: server.url, TURSO_AUTH_TOKEN: authToken },
    });
    expect(stdout).toContain("0 migration(s) applied, 0 default factor(s) seeded");
  });
});

describe("demo seed", () => {
  it("seeds a synthetic universe with portfolios once, and keeps existing data on the next start", async () => {
    const now = new Date("2026-11-21T12:00:00Z");
    const first = await seedDemoData(server.url, authToken, now);
    expect(first).toMatchObject({ seeded: true, portfolios: 3, endDate: "2026-11-20" });
    expect(first.symbols).toBeGreaterThanOrEqual(60);
    const second = await seedDemoData(server.url, authToken, now);
    expect(second.seeded).toBe(false);
    const prices = await client.execute("select count(*) as n, min(close) as low, count(distinct source) as sources, max(source) as source from market_prices");
    expect(Number(prices.rows[0]?.["n"])).toBe(first.prices);
    expect(Number(prices.rows[0]?.["low"])).toBeGreaterThan(0);
    expect(prices.rows[0]?.["source"]).toBe("synthetic");
    const kinds = await client.execute("select instrument, sum(quantity < 0) as shorts, count(*) as n from positions group by instrument order by instrument");
    const byKind = Object.fromEntries(kinds.rows.map((row) => [row["instrument"], { n: Number(row["n"]), shorts: Number(row["shorts"]) }]));
    expect(byKind["option"]?.n).toBe(3);
    expect(byKind["private"]?.n).toBe(1);
    expect((byKind["stock"]?.shorts ?? 0) + (byKind["etf"]?.shorts ?? 0)).toBeGreaterThan(0);
  });
});
