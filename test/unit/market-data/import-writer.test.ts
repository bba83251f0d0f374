import { createClient, type Client } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql";
import { drizzle as drizzleWeb } from "drizzle-orm/libsql/web";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../../scripts/migrate.ts";
import { writePrices, writeProfiles } from "../../../worker/market-data/import-writer.ts";
import { validatePriceCsv } from "../../../worker/market-data/price-import.ts";
import type { PriceRow } from "../../../worker/market-data/price-import.ts";
import { validateProfileCsv } from "../../../worker/market-data/profile-import.ts";

const authToken = "import-test-token";
const projectRoot = path.resolve(import.meta.dirname, "../../..");
let dir: string;
let server: Awaited<ReturnType<typeof startLibsqlServer>>;
let client: Client;
let testNumber = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "factor-import-test-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// A fresh, migrated database per test, so every test sees exactly what it wrote.
beforeEach(async () => {
  server = await startLibsqlServer({ dbPath: path.join(dir, `db-${++testNumber}.sqlite`), port: 0, authToken });
  await migrateDatabase(server.url, authToken);
  client = createClient({ url: server.url, authToken });
});

afterEach(async () => {
  client.close();
  await server.close();
});

const db = () => drizzle(client);

function prices(text: string): PriceRow[] {
  const result = validatePriceCsv(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.rows;
}

async function importProfiles(text: string) {
  const result = validateProfileCsv(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return writeProfiles(db(), result.rows, result.fields);
}

/** Every row of the tables an import writes, with every column (updated_at included). */
async function snapshot() {
  const read = async (table: string, order: string) =>
    (await client.execute(`select * from ${table} order by ${order}`)).rows.map((row) => ({ ...row }));
  return {
    prices: await read("market_prices", "symbol, date"),
    universe: await read("symbol_universe", "symbol"),
    profiles: await read("company_profiles", "symbol"),
  };
}

const priceFile = [
  "date,symbol,close,adj_close,volume",
  "2025-01-02,AAA,10.25,10.1,1000",
  "2025-01-03,AAA,10.5,10.35,1200",
  "2025-01-02,SPY,590.12,,",
  "2025-01-03,SPY,592.4,,",
  "2025-01-03,QQQ,512.5,512.5,50000000",
].join("\n");

describe("writePrices", () => {
  it("inserts the rows, keeps missing values NULL and registers new symbols with their dates", async () => {
    const summary = await writePrices(db(), prices(priceFile));
    expect(summary).toEqual({
      rows: 5,
      inserted: 5,
      updated: 0,
      unchanged: 0,
      symbolsRegistered: 3,
      symbolsWidened: 0,
      conflicts: { kept: 0, replaced: 0, examples: [] },
    });
    const state = await snapshot();
    expect(state.prices).toContainEqual({
      symbol: "SPY",
      date: "2025-01-02",
      close: 590.12,
      adj_close: null,
      volume: null,
      source: "csv",
    });
    expect(state.prices).toContainEqual({
      symbol: "AAA",
      date: "2025-01-03",
      close: 10.5,
      adj_close: 10.35,
      volume: 1200,
      source: "csv",
    });
    expect(
      state.universe.map(({ symbol, asset_type, first_seen_date, last_seen_date, is_active }) => ({
        symbol,
        asset_type,
        first_seen_date,
        last_seen_date,
        is_active,
      })),
    ).toEqual([
      {
        symbol: "AAA",
        asset_type: "equity",
        first_seen_date: "2025-01-02",
        last_seen_date: "2025-01-03",
        is_active: 1,
      },
      { symbol: "QQQ", asset_type: "etf", first_seen_date: "2025-01-03", last_seen_date: "2025-01-03", is_active: 1 },
      { symbol: "SPY", asset_type: "etf", first_seen_date: "2025-01-02", last_seen_date: "2025-01-03", is_active: 1 },
    ]);
  });

  it("changes nothing when the same file is imported again, not even updated_at", async () => {
    await writePrices(db(), prices(priceFile));
    const before = await snapshot();
    await new Promise((resolve) => setTimeout(resolve, 5)); // so a rewritten timestamp would differ
    expect(await writePrices(db(), prices(priceFile))).toEqual({
      rows: 5,
      inserted: 0,
      updated: 0,
      unchanged: 5,
      symbolsRegistered: 0,
      symbolsWidened: 0,
      conflicts: { kept: 0, replaced: 0, examples: [] },
    });
    expect(await snapshot()).toEqual(before);
  });

  it(
    "treats a different price as a correction, replaces the whole row, " +
      "and widens but never narrows the universe dates",
    async () => {
      await writePrices(db(), prices(priceFile));
      const corrections = [
        "date,symbol,close,volume",
        "2024-12-31,AAA,10,900", // new, earlier than first_seen
        "2025-01-02,AAA,10.3,1000", // corrected close; the file has no adj_close, so it becomes NULL
        "2025-01-03,SPY,592.4,", // same as stored
      ].join("\n");
      expect(await writePrices(db(), prices(corrections))).toEqual({
        rows: 3,
        inserted: 1,
        updated: 1,
        unchanged: 1,
        symbolsRegistered: 0,
        symbolsWidened: 1,
        conflicts: { kept: 0, replaced: 0, examples: [] },
      });
      const state = await snapshot();
      expect(state.prices).toContainEqual({
        symbol: "AAA",
        date: "2025-01-02",
        close: 10.3,
        adj_close: null,
        volume: 1000,
        source: "csv",
      });
      expect(state.universe.find((row) => row.symbol === "AAA")).toMatchObject({
        first_seen_date: "2024-12-31",
        last_seen_date: "2025-01-03",
      });

      const before = await snapshot();
      const narrow = "date,symbol,close,volume\n2025-01-02,AAA,10.3,1000\n";
      expect(await writePrices(db(), prices(narrow))).toMatchObject({ unchanged: 1, symbolsWidened: 0 });
      expect(await snapshot()).toEqual(before);
    },
  );

  it("can record where prices came from, and a new source is a change", async () => {
    await writePrices(db(), prices(priceFile), { source: "vendor-a" });
    expect(await writePrices(db(), prices(priceFile), { source: "vendor-b" })).toMatchObject({
      inserted: 0,
      updated: 5,
      unchanged: 0,
    });
    const sources = await client.execute("select distinct source from market_prices");
    expect(sources.rows.map((row) => row["source"])).toEqual(["vendor-b"]);
  });

  it("registers an input of any factor definition as an ETF", async () => {
    await client.execute(
      "insert into factor_definitions (id, key, name, category, method, input_symbol, window_days, min_observations, " +
        "description, display_order) values (99, 'tech', 'Tech', 'market', 'ols', 'XLK', 365, 60, 'x', 99)",
    );
    await writePrices(db(), prices("date,symbol,close\n2025-01-02,XLK,230\n2025-01-02,XLKZ,1\n"));
    const types = await client.execute("select symbol, asset_type from symbol_universe order by symbol");
    expect(types.rows.map((row) => [row["symbol"], row["asset_type"]])).toEqual([
      ["XLK", "etf"],
      ["XLKZ", "equity"],
    ]);
  });

  it("leaves nothing behind when the database refuses a row in the middle of the write", async () => {
    await writePrices(db(), prices(priceFile));
    const before = await snapshot();
    // A caller that skips validation hands over a non-positive close: the schema's CHECK refuses
    // it in the last of several statements, after a correction and new rows were already written.
    const rows: PriceRow[] = [
      { symbol: "AAA", date: "2025-01-02", close: 99, adjClose: 99, volume: 1, line: 2 },
      { symbol: "NEW", date: "2025-01-02", close: 5, adjClose: null, volume: null, line: 3 },
      { symbol: "NEW", date: "2025-01-03", close: 6, adjClose: null, volume: null, line: 4 },
      { symbol: "BAD", date: "2025-01-03", close: -1, adjClose: null, volume: null, line: 5 },
    ];
    await expect(writePrices(db(), rows, { chunkRows: 2 })).rejects.toThrow(/CHECK constraint failed/);
    expect(await snapshot()).toEqual(before);
  });

  it("writes through the Worker's web client too", async () => {
    const webClient = createWebClient({ url: server.url, authToken });
    try {
      expect(await writePrices(drizzleWeb(webClient), prices(priceFile))).toMatchObject({ inserted: 5 });
      expect(await writePrices(drizzleWeb(webClient), prices(priceFile))).toMatchObject({ unchanged: 5 });
    } finally {
      webClient.close();
    }
  });

  it("imports and re-imports a large file in chunks", async () => {
    const lines = ["date,symbol,close,adj_close,volume"];
    for (let s = 0; s < 40; s++) {
      for (let d = 1; d <= 28; d++)
        lines.push(
          `2025-02-${String(d).padStart(2, "0")},SYM${s},` +
            `${(100 + s + d / 7).toFixed(6)},${(99 + s + d / 3).toFixed(6)},${s * 1000 + d}`,
        );
    }
    const rows = prices(lines.join("\n"));
    expect(await writePrices(db(), rows, { chunkRows: 100 })).toMatchObject({
      rows: 1120,
      inserted: 1120,
      symbolsRegistered: 40,
    });
    const before = await snapshot();
    expect(await writePrices(db(), rows, { chunkRows: 333 })).toMatchObject({
      inserted: 0,
      updated: 0,
      unchanged: 1120,
    });
    expect(await snapshot()).toEqual(before);
  });
});

describe("writeProfiles", () => {
  const profileFile = [
    "symbol,company_name,sector,industry,market_cap,enterprise_value,pe_ratio,ps_ratio,pb_ratio,as_of",
    'AAA,"Aaa Corp, Inc.",Industrials,Machinery,1.2e10,1.3e10,18.5,2.1,3.3,2025-06-30',
    "BBB,Bbb Co.,Utilities,Electric Utilities,4e9,,,1.9,1.7,2025-06-30",
  ].join("\n");

  it(
    "inserts profiles with missing values as NULL, registers the symbols with their sector, " +
      "and re-imports as a no-op",
    async () => {
      expect(await importProfiles(profileFile)).toEqual({
        rows: 2,
        inserted: 2,
        updated: 0,
        unchanged: 0,
        older: 0,
        symbolsRegistered: 2,
      });
      const state = await snapshot();
      expect(state.profiles).toEqual([
        {
          symbol: "AAA",
          company_name: "Aaa Corp, Inc.",
          sector: "Industrials",
          industry: "Machinery",
          market_cap: 1.2e10,
          enterprise_value: 1.3e10,
          pe_ratio: 18.5,
          ps_ratio: 2.1,
          pb_ratio: 3.3,
          as_of: "2025-06-30",
        },
        {
          symbol: "BBB",
          company_name: "Bbb Co.",
          sector: "Utilities",
          industry: "Electric Utilities",
          market_cap: 4e9,
          enterprise_value: null,
          pe_ratio: null,
          ps_ratio: 1.9,
          pb_ratio: 1.7,
          as_of: "2025-06-30",
        },
      ]);
      expect(
        state.universe.map((row) => [row["symbol"], row["asset_type"], row["sector"], row["first_seen_date"]]),
      ).toEqual([
        ["AAA", "equity", "Industrials", "2025-06-30"],
        ["BBB", "equity", "Utilities", "2025-06-30"],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await importProfiles(profileFile)).toEqual({
        rows: 2,
        inserted: 0,
        updated: 0,
        unchanged: 2,
        older: 0,
        symbolsRegistered: 0,
      });
      expect(await snapshot()).toEqual(state);
    },
  );

  it(
    "updates only the columns a file has, stores an empty cell as NULL, " +
      "and skips a profile older than the stored one",
    async () => {
      await importProfiles(profileFile);
      const update = [
        "symbol,pe_ratio,sector,as_of",
        "AAA,,Capital Goods,2025-07-31",
        "BBB,14,Utilities,2025-03-31",
      ].join("\n");
      expect(await importProfiles(update)).toEqual({
        rows: 2,
        inserted: 0,
        updated: 1,
        unchanged: 0,
        older: 1,
        symbolsRegistered: 0,
      });
      const state = await snapshot();
      expect(state.profiles[0]).toEqual({
        symbol: "AAA",
        company_name: "Aaa Corp, Inc.",
        sector: "Capital Goods",
        industry: "Machinery",
        market_cap: 1.2e10,
        enterprise_value: 1.3e10,
        pe_ratio: null,
        ps_ratio: 2.1,
        pb_ratio: 3.3,
        as_of: "2025-07-31",
      });
      expect(state.profiles[1]).toMatchObject({ symbol: "BBB", pe_ratio: null, as_of: "2025-06-30" });
      expect(state.universe.map((row) => row["sector"])).toEqual(["Capital Goods", "Utilities"]);
    },
  );

  it("does not change a price-registered symbol's dates", async () => {
    await writePrices(db(), prices(priceFile));
    const universe = (await snapshot()).universe;
    expect(await importProfiles("symbol,sector,as_of\nAAA,Industrials,2025-06-30\n")).toMatchObject({
      inserted: 1,
      symbolsRegistered: 0,
    });
    const after = (await snapshot()).universe;
    expect(after.find((row) => row.symbol === "AAA")).toMatchObject({
      first_seen_date: "2025-01-02",
      last_seen_date: "2025-01-03",
      sector: "Industrials",
    });
    expect(after.filter((row) => row.symbol !== "AAA")).toEqual(universe.filter((row) => row.symbol !== "AAA"));
  });
});

describe("import scripts", () => {
  const run = (script: string, file: string) =>
    promisify(execFile)(process.execPath, [script, file], {
      cwd: projectRoot,
      env: { ...process.env, TURSO_DATABASE_URL: server.url, TURSO_AUTH_TOKEN: authToken },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        stdout: error.stdout ?? "",
        stderr: error.stderr ?? "",
      }),
    );

  it("import:prices imports a good file, then reports it unchanged", async () => {
    const file = path.join(dir, "good-prices.csv");
    writeFileSync(file, `\uFEFF${priceFile.replaceAll("\n", "\r\n")}\r\n`);
    const first = await run("scripts/import-prices.ts", file);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toContain("5 price(s): 5 inserted, 0 updated, 0 unchanged; 3 new symbol(s)");
    const second = await run("scripts/import-prices.ts", file);
    expect(second.stdout).toContain("5 price(s): 0 inserted, 0 updated, 5 unchanged; 0 new symbol(s)");
    expect((await snapshot()).prices).toHaveLength(5);
  });

  it("import:prices refuses a file with bad rows, lists them by line and writes nothing", async () => {
    const file = path.join(dir, "bad-prices.csv");
    writeFileSync(
      file,
      ["date,symbol,close", "2025-01-02,AAA,10", "2025-01-03,AAA,-2", "2025-02-30,AAA,11", "2025-01-06,BBB,12"].join(
        "\n",
      ),
    );
    const result = await run("scripts/import-prices.ts", file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: line 3: close -2 is not positive`);
    expect(result.stderr).toContain(`${file}: line 4: date "2025-02-30" is not a real calendar date`);
    expect(result.stderr).toContain("2 error(s)");
    expect(await snapshot()).toEqual({ prices: [], universe: [], profiles: [] });
  });

  it("import:profiles imports a good file and refuses a bad one", async () => {
    const good = path.join(dir, "good-profiles.csv");
    writeFileSync(good, "symbol,company_name,market_cap,as_of\nAAA,Aaa,1e9,2025-06-30\n");
    const first = await run("scripts/import-profiles.ts", good);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain("1 profile(s): 1 inserted, 0 updated, 0 unchanged; 1 new symbol(s)");
    const before = await snapshot();
    const bad = path.join(dir, "bad-profiles.csv");
    writeFileSync(bad, "symbol,company_name,market_cap,as_of\nAAA,Aaa,2e9,2025-07-31\nBBB,Bbb,zero,2025-07-31\n");
    const second = await run("scripts/import-profiles.ts", bad);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('line 3: market_cap "zero" is not a number');
    expect(await snapshot()).toEqual(before);
  });

  it("explains its usage without a file", async () => {
    const result = await promisify(execFile)(process.execPath, ["scripts/import-prices.ts"], {
      cwd: projectRoot,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("usage: npm run import:prices -- FILE.csv"),
    });
  });
});
