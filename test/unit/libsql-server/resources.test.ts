// Issue 14: the server's memory stays flat under load because it keeps the connections it opens
// (a closed `libsql` connection is freed only when the GC finalizes its statements), up to a cap,
// and long one-off writes run without a prepared statement left behind. /health reports the
// pool's figures and the storage's state (free space, a recent SQLITE_FULL).
import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";
import { StorageMonitor } from "../../../scripts/libsql-server/storage.ts";
import { expectLibsqlError, startTestServer } from "./harness.ts";
import type { TestServer } from "./harness.ts";

const servers = new Set<TestServer>();
const clients = new Set<Client>();

afterEach(async () => {
  for (const client of clients) client.close();
  clients.clear();
  for (const server of servers) await server.stop();
  servers.clear();
});

async function server(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const started = await startTestServer(options);
  servers.add(started);
  return started;
}

function client(url: string): Client {
  const created = createClient({ url });
  clients.add(created);
  return created;
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL("/health", url));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("connection pool", () => {
  it("reuses its connections: 300 streams, 40 at a time, open no more than the cap", async () => {
    const db = await server({ maxConnections: 8 });
    const clients = Array.from({ length: 40 }, () => client(db.url));
    await clients[0]!.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let round = 0; round < 8; round++) {
      await Promise.all(
        clients.map((c, i) =>
          i % 2 === 0
            ? c.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [`r${round}`] })
            : c.execute("SELECT count(*) FROM t"),
        ),
      );
    }
    const { body } = await health(db.url);
    expect(body.connections).toMatchObject({ max: 8, waiting: 0 });
    const connections = body.connections as { opened: number; open: number };
    expect(connections.opened).toBeLessThanOrEqual(8);
    expect(connections.open).toBe(connections.opened);
    expect((await clients[1]!.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(160);
  });

  it(
    "makes a stream wait for a connection while all are in transactions, " +
      "and answers SQLITE_BUSY naming the cap after the busy timeout",
    async () => {
      const db = await server({ maxConnections: 2, busyTimeoutMs: 400 });
      await client(db.url).execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
      const first = await client(db.url).transaction("read");
      const second = await client(db.url).transaction("read");
      await first.execute("SELECT 1");
      await second.execute("SELECT 1");
      const started = Date.now();
      await expectLibsqlError(
        client(db.url).execute("SELECT 1"),
        "SQLITE_BUSY",
        /waited \d+ ms \(the busy timeout\) for one of the server's 2 connections/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      // A waiting stream gets the connection a finished transaction gives back.
      const waiting = client(db.url).execute("SELECT 42 AS answer");
      await first.commit();
      expect((await waiting).rows[0]?.answer).toBe(42);
      await second.rollback();
    },
  );
});

describe("long one-off writes", () => {
  it("runs an inline multi-row INSERT longer than the statement cache takes, with its changes counted", async () => {
    const db = await server();
    const c = client(db.url);
    await c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const insert = (from: number, count: number): string => {
      const rows = Array.from({ length: count }, (_, i) => `(${from + i}, 'value number ${from + i}')`);
      return `INSERT INTO t (id, v) VALUES ${rows.join(", ")}`;
    };
    const sql = insert(1, 500);
    expect(sql.length).toBeGreaterThan(4096);
    const result = await c.execute(sql);
    expect(result.rowsAffected).toBe(500);
    expect(result.lastInsertRowid).toBe(500n);
    // A long write with RETURNING still returns its rows.
    const returnedRows = Array.from({ length: 300 }, (_, i) => `(${1000 + i}, 'returned row ${i}')`);
    const returning = await c.execute(`INSERT INTO t (id, v) VALUES ${returnedRows.join(", ")} RETURNING id`);
    expect(returning.rows).toHaveLength(300);
    expect(returning.rowsAffected).toBe(300);
    // A failing one (a duplicate key) changes nothing and leaves the connection usable.
    await expectLibsqlError(c.execute(`${insert(5000, 200)}, (1, 'duplicate')`), "SQLITE_CONSTRAINT_PRIMARYKEY");
    expect((await c.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(800);
    // Inside a transaction, rolled back with it.
    const tx = await c.transaction("write");
    expect((await tx.execute(insert(2000, 400))).rowsAffected).toBe(400);
    await tx.rollback();
    expect((await c.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(800);
  });
});

describe("storage in /health", () => {
  it("answers 503 degraded with DISK_LOW when the disk has less free space than required", async () => {
    const db = await server({ minFreeBytes: Number.MAX_SAFE_INTEGER });
    const { status, body } = await health(db.url);
    expect(status).toBe(503);
    expect(body.status).toBe("degraded");
    expect(body.problems).toEqual([
      { code: "DISK_LOW", message: expect.stringMatching(/bytes free, under the \d+ the server requires/) },
    ]);
  });

  it("reports a write that failed with SQLITE_FULL for a minute, then forgets it", () => {
    let now = 1_000_000;
    const monitor = new StorageMonitor("/tmp/x.db", 1, () => now);
    monitor.noteError("SQLITE_CONSTRAINT_UNIQUE");
    expect(monitor.report().status).toBe("ok");
    monitor.noteError("SQLITE_FULL");
    now += 30_000;
    const report = monitor.report();
    expect(report.status).toBe("degraded");
    expect(report.problems).toEqual([{ code: "DISK_FULL", message: "a write failed with SQLITE_FULL 30 s ago" }]);
    expect(report.last_write_failure?.code).toBe("SQLITE_FULL");
    now += 31_000;
    expect(monitor.report()).toMatchObject({ status: "ok", problems: [], last_write_failure: { code: "SQLITE_FULL" } });
  });
});
