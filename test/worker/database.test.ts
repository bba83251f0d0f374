import { LibsqlError } from "@libsql/client/web";
import { asc, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { factorDefinitions, portfolios } from "../../schema/index.ts";
import { defaultFactors } from "../../schema/seed/default-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";

describe("drizzle over @libsql/client/web inside workerd", () => {
  it("round-trips a portfolio row through the local libSQL server", async () => {
    const db = getDatabase(env);
    const id = crypto.randomUUID();
    await db.insert(portfolios).values({ id, owner: "alice", name: `Round trip ${id}`, cash: 1234.5 });
    const row = await db.select().from(portfolios).where(eq(portfolios.id, id)).get();
    expect(row).toMatchObject({ id, owner: "alice", cash: 1234.5, benchmarkSymbol: "SPY", org: null });
    expect(row?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("surfaces a unique violation as LibsqlError SQLITE_CONSTRAINT_UNIQUE and writes nothing", async () => {
    const db = getDatabase(env);
    const name = `Duplicate ${crypto.randomUUID()}`;
    await db.insert(portfolios).values({ id: crypto.randomUUID(), owner: "bob", name });
    const duplicate = db.insert(portfolios).values({ id: crypto.randomUUID(), owner: "bob", name });
    const error = await duplicate.then(
      () => null,
      (e: unknown) => e,
    );
    const cause = error instanceof Error && error.cause instanceof LibsqlError ? error.cause : error;
    expect(cause).toBeInstanceOf(LibsqlError);
    expect((cause as LibsqlError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
    const rows = await db.select().from(portfolios).where(eq(portfolios.name, name));
    expect(rows).toHaveLength(1);
  });

  it("finds the default factor set seeded as data by the migration", async () => {
    const db = getDatabase(env);
    const rows = await db.select().from(factorDefinitions).orderBy(asc(factorDefinitions.displayOrder));
    expect(rows.map((row) => row.key)).toEqual(defaultFactors.map((factor) => factor.key));
    expect(rows.filter((row) => row.method === "ridge").every((row) => row.ridgeAlpha === 1)).toBe(true);
    expect(rows.find((row) => row.key === "growth_value_spread")).toMatchObject({
      longSymbol: "VUG",
      shortSymbol: "VTV",
      windowDays: 180,
      minObservations: 60,
    });
  });
});
