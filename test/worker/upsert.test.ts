import { env } from "cloudflare:workers";
import { eq, inArray, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { portfolios, portfolioSnapshots } from "../../schema/index.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { runWrites } from "../../worker/db/transaction.ts";
import { upsertStatements } from "../../worker/db/upsert.ts";

const db = getDatabase(env);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("upsertStatements + runWrites", () => {
  it(
    "writes new rows, rewrites none on a replay " + "and only the changed row (and its updated_at) on a change",
    async () => {
      const rows = ["a", "b", "c"].map((name) => ({
        id: `ups-${name}`,
        owner: "upsert-test",
        org: null,
        name,
        cash: 100,
        benchmarkSymbol: "SPY",
      }));
      expect(await runWrites(db, upsertStatements(portfolios, ["owner", "name"], rows))).toEqual({
        written: 3,
        deleted: 0,
      });
      const before = await db.select().from(portfolios).where(eq(portfolios.owner, "upsert-test"));
      await sleep(5);
      expect(await runWrites(db, upsertStatements(portfolios, ["owner", "name"], rows))).toEqual({
        written: 0,
        deleted: 0,
      });
      expect(await db.select().from(portfolios).where(eq(portfolios.owner, "upsert-test"))).toEqual(before);

      const changed = rows.map((row) => (row.name === "b" ? { ...row, cash: 250, id: "ignored-on-conflict" } : row));
      expect(await runWrites(db, upsertStatements(portfolios, ["owner", "name"], changed))).toEqual({
        written: 1,
        deleted: 0,
      });
      const after = new Map(
        (await db.select().from(portfolios).where(eq(portfolios.owner, "upsert-test"))).map((row) => [row.name, row]),
      );
      const b = after.get("b")!;
      expect(b.cash).toBe(250);
      expect(b.id).toBe("ups-b"); // the id is never rewritten
      expect(b.updatedAt > before.find((row) => row.name === "b")!.updatedAt).toBe(true);
      expect(after.get("a")).toEqual(before.find((row) => row.name === "a"));
    },
  );

  it(
    "maps values as the schema does (JSON columns), splits large inputs into statements, " + "and is all or nothing",
    async () => {
      await db
        .insert(portfolios)
        .values({ id: "ups-json", owner: "upsert-test-2", name: "json" })
        .onConflictDoNothing();
      const dataQuality = { coverage: 0.5, missing: [{ symbol: "X", reason: "no_beta" }] };
      const snapshots = Array.from({ length: 1_200 }, (_, i) => ({
        portfolioId: "ups-json",
        date: `3000-01-01+${String(i).padStart(4, "0")}`,
        equity: 1_000 + i,
        gross: 1_000,
        net: 1 / 3,
        dailyPnl: null,
        dailyReturn: null,
        dataQuality,
      }));
      const statements = upsertStatements(portfolioSnapshots, ["portfolioId", "date"], snapshots);
      expect(statements.length).toBeGreaterThanOrEqual(3);
      expect(statements.every((statement) => statement.args.length <= 500 * 8)).toBe(true);
      expect(await runWrites(db, statements)).toEqual({ written: 1_200, deleted: 0 });
      const stored = await db.select().from(portfolioSnapshots).where(like(portfolioSnapshots.date, "3000-01-01+%"));
      expect(stored).toHaveLength(1_200);
      expect(stored.find((row) => row.date === "3000-01-01+0007")).toMatchObject({
        equity: 1_007,
        net: 1 / 3,
        dailyPnl: null,
        dataQuality,
      });

      // A failing statement (a portfolio that does not exist: foreign key) undoes the whole batch.
      const more = snapshots.map((row) => ({ ...row, date: row.date.replace("3000-01-01", "3000-01-02") }));
      const broken = [
        ...upsertStatements(portfolioSnapshots, ["portfolioId", "date"], more),
        ...upsertStatements(
          portfolioSnapshots,
          ["portfolioId", "date"],
          [{ ...more[0]!, portfolioId: "no-such-portfolio" }],
        ),
      ];
      await expect(runWrites(db, broken)).rejects.toThrow();
      expect(await db.select().from(portfolioSnapshots).where(like(portfolioSnapshots.date, "3000-01-02+%"))).toEqual(
        [],
      );
      await db.delete(portfolioSnapshots).where(inArray(portfolioSnapshots.portfolioId, ["ups-json"]));
    },
  );

  it("rejects rows that do not give the same columns, before anything is sent", () => {
    const row = {
      portfolioId: "p",
      date: "2026-01-01",
      equity: 1,
      gross: 1,
      net: 1,
      dailyPnl: null,
      dailyReturn: null,
      dataQuality: null,
    };
    const { dailyReturn: _omitted, ...lacking } = row;
    expect(() => upsertStatements(portfolioSnapshots, ["portfolioId", "date"], [row, lacking as typeof row])).toThrow(
      /lacks dailyReturn/,
    );
    expect(() =>
      upsertStatements(portfolioSnapshots, ["portfolioId", "date"], [{ ...row, bogus: 1 } as typeof row]),
    ).toThrow(/unknown columns bogus/);
    expect(upsertStatements(portfolioSnapshots, ["portfolioId", "date"], [])).toEqual([]);
  });
});
