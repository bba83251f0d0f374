// The statement that records a limit's crossing (worker/alerts/evaluate.ts), run against a real
// migrated libSQL database: the previous state is the latest alert dated ≤ D, a first number within
// records nothing, a repeat records nothing (a redelivery), an edit of the limit meanwhile records
// nothing, and a same-date flip-flop raises the date's row again so the current state stays right.
import { createClient, type Client } from "@libsql/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../../scripts/libsql-server/server.ts";
import { migrateDatabase } from "../../../scripts/migrate.ts";
import type { AlertState } from "../../../schema/alerts.ts";
import { type LimitRow, planAlerts, recordAlertStatement } from "../../../worker/alerts/evaluate.ts";
import { limitValuesOf } from "../../../worker/factors/limits.ts";

const authToken = "limit-alerts-sql-token";
let server: Awaited<ReturnType<typeof startLibsqlServer>>;
let client: Client;
let dir: string;
let limitNumber = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "factor-limit-alerts-"));
  server = await startLibsqlServer({ dbPath: path.join(dir, "db.sqlite"), port: 0, authToken });
  await migrateDatabase(server.url, authToken);
  client = createClient({ url: server.url, authToken });
  await client.execute("insert into portfolios (id, owner, name, cash) values ('p', 'owner', 'p', 0)");
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

let limit: LimitRow & { id: string };

beforeEach(async () => {
  limit = {
    id: `limit-${++limitNumber}`,
    portfolioId: "p",
    metric: "exposure",
    factorKey: "market_beta",
    minValue: null,
    maxValue: 1,
    description: "",
    createdBy: "owner",
    createdAt: "",
    updatedAt: "",
  };
  await client.execute({
    sql: `insert into portfolio_limits (id, portfolio_id, metric, factor_key, min_value, max_value, created_by)
      values (?, 'p', 'exposure', 'market_beta', null, 1, 'owner')`,
    args: [limit.id],
  });
});

/** Records `state` on `date` with `value` for the current limit; whether a row was written. */
async function record(date: string, state: AlertState, value: number, cause: "batch" | "positions" = "batch") {
  const [result] = await client.batch([recordAlertStatement({ limit, date, state, value, cause })], "write");
  return (result?.rows.length ?? 0) > 0;
}

async function history() {
  const result = await client.execute({
    sql: `select date, state, value, cause, acknowledged_at from alerts where limit_id = ?
      order by date, created_at, rowid`,
    args: [limit.id],
  });
  return result.rows.map((row) => ({
    date: String(row[0]),
    state: String(row[1]),
    value: Number(row[2]),
    cause: String(row[3]),
    acknowledged: row[4] !== null,
  }));
}

/** The state the next evaluation of `date` compares with (the statement's own subquery). */
async function stateAsOf(date: string): Promise<string | null> {
  const result = await client.execute({
    sql: `select state from alerts where limit_id = ? and date <= ? order by date desc, created_at desc, rowid desc
      limit 1`,
    args: [limit.id, date],
  });
  return result.rows[0] ? String(result.rows[0][0]) : null;
}

describe("recording a crossing", () => {
  it("records nothing for a first number within, then one breach, and nothing again on a repeat", async () => {
    expect(await record("2026-06-01", "cleared", 0.5)).toBe(false);
    expect(await history()).toEqual([]);
    expect(await record("2026-06-02", "breached", 1.3)).toBe(true);
    // A redelivery of the same evaluation, and the next date still breached: nothing.
    expect(await record("2026-06-02", "breached", 1.3)).toBe(false);
    expect(await record("2026-06-03", "breached", 1.4)).toBe(false);
    expect(await record("2026-06-04", "cleared", 0.9)).toBe(true);
    expect(await record("2026-06-05", "cleared", 0.8)).toBe(false);
    expect(await history()).toEqual([
      { date: "2026-06-02", state: "breached", value: 1.3, cause: "batch", acknowledged: false },
      { date: "2026-06-04", state: "cleared", value: 0.9, cause: "batch", acknowledged: false },
    ]);
  });

  it("compares an earlier date with the alerts dated on or before it, never a later one", async () => {
    expect(await record("2026-06-10", "breached", 1.5)).toBe(true);
    // A backfill's earlier date: no alert on or before it yet, so its breach is a crossing of its own.
    expect(await record("2026-06-08", "breached", 1.2)).toBe(true);
    expect(await record("2026-06-09", "breached", 1.2)).toBe(false);
    expect((await history()).map((row) => row.date)).toEqual(["2026-06-08", "2026-06-10"]);
  });

  it("records nothing when the limit changed since its number was evaluated", async () => {
    await client.execute({ sql: "update portfolio_limits set max_value = 2 where id = ?", args: [limit.id] });
    // Evaluated against max 1 (the stale definition): the statement sees max 2 and writes nothing.
    expect(await record("2026-06-01", "breached", 1.5)).toBe(false);
    expect(await history()).toEqual([]);
  });

  it(
    "raises a date's breach again on a same-date flip-flop (breached → cleared → breached): one row per " +
      "state and date, the current state breached, the acknowledgement cleared",
    async () => {
      expect(await record("2026-06-01", "breached", 1.1, "batch")).toBe(true);
      await client.execute({
        sql: `update alerts set acknowledged_at = '2026-06-01T12:00:00.000Z', acknowledged_by = 'someone'
          where limit_id = ?`,
        args: [limit.id],
      });
      expect(await record("2026-06-01", "cleared", 0.9, "positions")).toBe(true);
      expect(await stateAsOf("2026-06-01")).toBe("cleared");
      // Wait a millisecond so the revived row's created_at is strictly later than the cleared one's.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await record("2026-06-01", "breached", 1.2, "positions")).toBe(true);
      expect(await stateAsOf("2026-06-01")).toBe("breached");
      expect(await stateAsOf("2026-06-02")).toBe("breached");
      expect(await history()).toEqual([
        { date: "2026-06-01", state: "cleared", value: 0.9, cause: "positions", acknowledged: false },
        { date: "2026-06-01", state: "breached", value: 1.2, cause: "positions", acknowledged: false },
      ]);
      // Settled: the same evaluation again writes nothing.
      expect(await record("2026-06-01", "breached", 1.2, "positions")).toBe(false);
    },
  );
});

describe("planAlerts", () => {
  it("plans a statement per limit with a number, none for a missing one", () => {
    const values = limitValuesOf({ exposures: [["market_beta", 1.4]], benchmarkBetas: [], risk: null });
    const other: LimitRow = { ...limit, id: "other", factorKey: "value" };
    const volatility: LimitRow = { ...limit, id: "vol", metric: "volatility", factorKey: null };
    const plan = planAlerts([limit, other, volatility], () => values, "2026-06-01", "batch");
    expect(plan.keys).toEqual([{ limitId: limit.id, date: "2026-06-01", state: "breached" }]);
    expect(plan.statements).toHaveLength(1);
    const within = planAlerts([{ ...limit, maxValue: 1.4 }], () => values, "2026-06-01", "batch");
    expect(within.keys).toEqual([{ limitId: limit.id, date: "2026-06-01", state: "cleared" }]);
    expect(planAlerts([limit], () => null, "2026-06-01", "batch").statements).toEqual([]);
  });
});
