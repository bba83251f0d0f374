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
import { BUILTIN_STRESS_SCENARIOS } from "../../worker/factors/stress.ts";
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
    expect(await migrateDatabase(server.url, authToken)).toEqual({
      migrationsApplied: journal.entries.length,
      factorsSeeded: 12,
      riskFactorsSeeded: 7,
      scenariosSeeded: BUILTIN_STRESS_SCENARIOS.length,
    });
    const afterFirst = await schemaSnapshot();
    expect(await migrateDatabase(server.url, authToken)).toEqual({
      migrationsApplied: 0,
      factorsSeeded: 0,
      riskFactorsSeeded: 0,
      scenariosSeeded: 0,
    });
    expect(await schemaSnapshot()).toBe(afterFirst);
    const factors = await client.execute("select count(*) as n from factor_definitions");
    expect(Number(factors.rows[0]?.["n"])).toBe(12);
  });

  it("creates every table of the data model with its natural-key constraints", async () => {
    const tables = await client.execute(
      "select name from sqlite_master where type = 'table' and name not like '\\_\\_%' escape '\\' and name not like " +
        "'sqlite%' order by name",
    );
    expect(tables.rows.map((row) => row["name"])).toEqual([
      "alerts",
      "batch_chunks",
      "batch_phase_results",
      "batch_runs",
      "company_profiles",
      "factor_covariances",
      "factor_definitions",
      "factor_returns",
      "market_prices",
      "portfolio_factor_exposures",
      "portfolio_limits",
      "portfolio_risk_summaries",
      "portfolio_snapshots",
      "portfolio_stress_results",
      "portfolios",
      "position_factor_exposures",
      "positions",
      "price_revisions",
      "risk_factors",
      "stale_betas",
      "stress_episodes",
      "stress_scenarios",
      "symbol_beta_gaps",
      "symbol_daily_metrics",
      "symbol_factor_exposures",
      "symbol_risk_loadings",
      "symbol_universe",
      "webhook_deliveries",
      "webhooks",
    ]);
    await client.execute(
      "insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, " +
        "quality_flag, calculation_method, regression_window_days) values ('AAA', 1, '2025-01-02', 1.1, 200, 'ok', " +
        "'ols', 365)",
    );
    await expect(
      client.execute(
        "insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, " +
          "quality_flag, calculation_method, regression_window_days) values ('AAA', 1, '2025-01-02', 1.2, 200, 'ok', " +
          "'ols', 365)",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    // A beta outside the cap or a flag that means "no beta" is refused by the schema itself.
    await expect(
      client.execute(
        "insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, " +
          "quality_flag, calculation_method, regression_window_days) values ('BBB', 1, '2025-01-02', 7, 200, 'ok', " +
          "'ols', 365)",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_CHECK" });
    await expect(
      client.execute(
        "insert into symbol_factor_exposures (symbol, factor_id, calculation_date, beta_value, observations, " +
          "quality_flag, calculation_method, regression_window_days) values ('BBB', 1, '2025-01-02', 0, 10, " +
          "'insufficient_data', 'ols', 365)",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_CHECK" });
    // 0003 made exposure_value and coverage nullable in place: the coverage CHECK and the natural key survive.
    await client.execute("insert into portfolios (id, owner, name) values ('p-migrate', 'o', 'migrate test')");
    await client.execute(
      "insert into portfolio_factor_exposures (portfolio_id, factor_id, calculation_date, exposure_value, " +
        "exposure_dollar, coverage, positions_used, positions_total) values ('p-migrate', 1, '2025-01-02', null, 10, " +
        "null, 1, 1)",
    );
    await expect(
      client.execute(
        "insert into portfolio_factor_exposures (portfolio_id, factor_id, calculation_date, exposure_value, " +
          "exposure_dollar, coverage, positions_used, positions_total) values ('p-migrate', 2, '2025-01-02', 1, 10, " +
          "1.5, 1, 1)",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_CHECK" });
    await expect(
      client.execute(
        "insert into portfolio_factor_exposures (portfolio_id, factor_id, calculation_date, exposure_value, " +
          "exposure_dollar, coverage, positions_used, positions_total) values ('p-migrate', 1, '2025-01-02', 1, 10, " +
          "0.5, 1, 1)",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE" });
    await client.execute("delete from portfolios where id = 'p-migrate'");
  });

  it("restores a built-in stress scenario whose stored definition drifted from the code", async () => {
    const scenario = BUILTIN_STRESS_SCENARIOS[0]!;
    await client.execute({
      sql: "update stress_scenarios set shocks = '{\"market_beta\":-0.5}' where id = ?",
      args: [scenario.id],
    });
    expect((await migrateDatabase(server.url, authToken)).scenariosSeeded).toBe(1);
    const stored = await client.execute({
      sql: "select shocks, builtin, owner from stress_scenarios where id = ?",
      args: [scenario.id],
    });
    expect(JSON.parse(String(stored.rows[0]?.["shocks"]))).toEqual(scenario.shocks);
    expect(stored.rows[0]?.["builtin"]).toBe(1);
    expect(stored.rows[0]?.["owner"]).toBeNull();
  });

  it("runs as `npm run db:migrate` against TURSO_DATABASE_URL", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["scripts/migrate.ts"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { ...process.env, TURSO_DATABASE_URL: server.url, TURSO_AUTH_TOKEN: authToken },
    });
    expect(stdout).toContain(
      "0 migration(s) applied, 0 default factor(s) and 0 risk factor(s) seeded, 0 built-in stress scenario(s) written",
    );
  });
});

describe("demo seed", () => {
  it("seeds a synthetic universe with portfolios once, and keeps existing data on the next start", async () => {
    const now = new Date("2026-11-21T12:00:00Z");
    const started = performance.now();
    const first = await seedDemoData(server.url, authToken, now);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `demo seed: ${first.symbols} symbols, ${first.prices} closes, ` +
        `${first.positions} positions in ${seconds.toFixed(2)} s`,
    );
    expect(first).toMatchObject({ seeded: true, portfolios: 5, endDate: "2026-11-20" });
    expect(first.symbols).toBeGreaterThanOrEqual(509);
    const second = await seedDemoData(server.url, authToken, now);
    expect(second.seeded).toBe(false);

    const prices = await client.execute(
      "select count(*) as n, min(close) as low, count(distinct source) as sources, max(source) as source, " +
        "min(date) as first, max(date) as last, count(distinct date) as days from market_prices",
    );
    const summary = prices.rows[0]!;
    expect(Number(summary["n"])).toBe(first.prices);
    expect(Number(summary["low"])).toBeGreaterThan(0);
    expect([summary["sources"], summary["source"]]).toEqual([1, "synthetic"]);
    expect(summary["last"]).toBe("2026-11-20");
    expect(summary["first"]).toBe("2025-11-20");
    expect(Number(summary["days"])).toBeGreaterThanOrEqual(252);

    const universe = await client.execute(
      "select asset_type, count(*) as n, sum(symbol like 'SYN%') as syn, sum(not is_active) as inactive from " +
        "symbol_universe group by asset_type order by asset_type",
    );
    expect(universe.rows.map((row) => ({ ...row }))).toEqual([
      { asset_type: "equity", n: 500, syn: 500, inactive: 5 },
      { asset_type: "etf", n: 9, syn: 0, inactive: 0 },
    ]);
    const profiles = await client.execute(
      "select count(*) as n, sum(company_name like '%(synthetic)') as labelled, sum(pe_ratio is null) as no_pe, " +
        "sum(pe_ratio = 0) as zero_pe from company_profiles",
    );
    expect({ ...profiles.rows[0] }).toMatchObject({ n: 509, labelled: 509, zero_pe: 0 });
    expect(Number(profiles.rows[0]?.["no_pe"])).toBeGreaterThan(9);

    const portfolios = await client.execute("select distinct owner, org from portfolios");
    expect(portfolios.rows.map((row) => ({ ...row }))).toEqual([{ owner: "demo", org: "demo-org" }]);
    const kinds = await client.execute(
      "select instrument, sum(quantity < 0) as shorts, count(*) as n from positions group by instrument order by " +
        "instrument",
    );
    const byKind = Object.fromEntries(
      kinds.rows.map((row) => [row["instrument"], { n: Number(row["n"]), shorts: Number(row["shorts"]) }]),
    );
    expect(byKind["option"]?.n).toBe(5);
    expect(byKind["private"]?.n).toBe(1);
    expect(byKind["etf"]?.n).toBeGreaterThanOrEqual(5);
    expect(byKind["stock"]?.shorts).toBeGreaterThan(0);
    expect(byKind["etf"]?.shorts).toBeGreaterThan(0);
    const options = await client.execute(
      "select sum(delta is not null) as with_delta, sum(delta is null and implied_vol is not null) as vol_only, " +
        "sum(premium is not null) as with_premium, sum(expiry < '2026-11-20') as expired from positions where " +
        "instrument = 'option'",
    );
    expect({ ...options.rows[0] }).toEqual({ with_delta: 3, vol_only: 2, with_premium: 3, expired: 1 });
    const dated = await client.execute(
      "select sum(closed_on < '2026-11-20') as closed, sum(opened_on > '2025-11-20') as opened_later from positions",
    );
    expect(Number(dated.rows[0]?.["closed"])).toBeGreaterThanOrEqual(2);
    expect(Number(dated.rows[0]?.["opened_later"])).toBeGreaterThanOrEqual(2);
    // Every held public symbol and option underlying is in the universe with prices.
    const orphans = await client.execute(
      "select p.symbol from positions p left join symbol_universe u on u.symbol = coalesce(p.underlying_symbol, " +
        "p.symbol) where p.instrument <> 'private' and u.symbol is null",
    );
    expect(orphans.rows).toEqual([]);
  });
});
