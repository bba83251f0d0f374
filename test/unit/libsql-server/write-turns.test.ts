// Issue 14: a write that had to wait on another stream's interactive transaction left its failed
// statement "in progress" on its pooled connection, after which that connection's autocommit
// writes were acknowledged but never committed. Every check of what is durable here reads the
// file from a separate process, after the server has stopped (cleanly or by kill -9).
import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { expectLibsqlError, makeTempDir, sleep, startTestServer } from "./harness.ts";
import { holdWriteLockElsewhere, readColumnElsewhere, startCli } from "./processes.ts";

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const clients = new Set<Client>();

afterEach(() => {
  for (const client of clients) client.close();
  clients.clear();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
});

function client(url: string): Client {
  const created = createClient({ url });
  clients.add(created);
  return created;
}

function tempDbPath(): string {
  const dir = makeTempDir();
  dirs.add(dir);
  return join(dir, "issue14.db");
}

/**
 * The deterministic reproduction: A's interactive write transaction, B's autocommit INSERT
 * waiting on it, A commits; then B and A insert again and A runs a write batch. Returns the
 * values every acknowledged write inserted.
 */
async function reproduce(url: string): Promise<string[]> {
  const a = client(url);
  const b = client(url);
  await a.execute("CREATE TABLE t (v TEXT NOT NULL)");
  const transaction = await a.transaction("write");
  await transaction.execute("INSERT INTO t VALUES ('a1')");
  let bSettled = false;
  const bFirst = b.execute("INSERT INTO t VALUES ('b1')").finally(() => {
    bSettled = true;
  });
  await sleep(200);
  expect(bSettled).toBe(false);
  await transaction.commit();
  expect((await bFirst).rowsAffected).toBe(1);
  await b.execute("INSERT INTO t VALUES ('b2')");
  await a.execute("INSERT INTO t VALUES ('a2')");
  // This used to fail with "cannot commit transaction - SQL statements in progress".
  await a.batch(["INSERT INTO t VALUES ('a3')", "INSERT INTO t VALUES ('a4')"], "write");
  return ["a1", "b1", "b2", "a2", "a3", "a4"];
}

describe("issue 14: writes that waited on another stream's transaction stay durable", () => {
  it("every acknowledged row of the 2-client reproduction is on disk after a clean stop", async () => {
    const dbPath = tempDbPath();
    const cli = await startCli(dbPath, children);
    const acknowledged = await reproduce(cli.url);
    const seen = await client(cli.url).execute("SELECT v FROM t ORDER BY rowid");
    expect(seen.rows.map((row) => row[0])).toEqual(acknowledged);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(await readColumnElsewhere(dbPath, "SELECT v FROM t ORDER BY rowid")).toEqual(acknowledged);
  });

  it(
    "every acknowledged row of the 2-client reproduction is on disk after kill -9, " + "and the server is not wedged",
    async () => {
      const dbPath = tempDbPath();
      const cli = await startCli(dbPath, children);
      const acknowledged = await reproduce(cli.url);
      // The server keeps working normally afterwards: another interactive transaction commits.
      const transaction = await client(cli.url).transaction("write");
      await transaction.execute("INSERT INTO t VALUES ('after')");
      await transaction.commit();
      cli.child.kill("SIGKILL");
      expect(await cli.exited).toEqual({ code: null, signal: "SIGKILL" });
      expect(await readColumnElsewhere(dbPath, "SELECT v FROM t ORDER BY rowid")).toEqual([...acknowledged, "after"]);
    },
  );

  it("many writers queued behind one transaction are all acknowledged and all durable (kill -9)", async () => {
    const dbPath = tempDbPath();
    const cli = await startCli(dbPath, children);
    const setup = client(cli.url);
    await setup.execute("CREATE TABLE t (v TEXT NOT NULL)");
    const holder = await setup.transaction("write");
    await holder.execute("INSERT INTO t VALUES ('held')");
    const writers = Array.from({ length: 20 }, () => client(cli.url));
    const pending = writers.map((writer, i) =>
      i % 2 === 0
        ? writer.execute(`INSERT INTO t VALUES ('w${i}')`)
        : writer.batch([`INSERT INTO t VALUES ('w${i}')`], "write"),
    );
    await sleep(150);
    await holder.commit();
    await Promise.all(pending);
    // Later writes on the same (pooled) connections are durable too.
    await Promise.all(writers.map((writer, i) => writer.execute(`INSERT INTO t VALUES ('x${i}')`)));
    cli.child.kill("SIGKILL");
    await cli.exited;
    const onDisk = await readColumnElsewhere(dbPath, "SELECT v FROM t");
    const expected = ["held", ...writers.map((_, i) => `w${i}`), ...writers.map((_, i) => `x${i}`)];
    expect([...onDisk].sort()).toEqual([...expected].sort());
  });

  it("a write that met another process's lock is retried, and the connection's later writes still commit", async () => {
    const dbPath = tempDbPath();
    const cli = await startCli(dbPath, children);
    const writer = client(cli.url);
    await writer.execute("CREATE TABLE t (v TEXT NOT NULL)");
    const lock = await holdWriteLockElsewhere(dbPath, 300, children);
    const started = Date.now();
    await writer.execute("INSERT INTO t VALUES ('waited')");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await lock.done;
    await writer.execute("INSERT INTO t VALUES ('next')");
    await writer.batch(["INSERT INTO t VALUES ('batched')"], "write");
    cli.child.kill("SIGKILL");
    await cli.exited;
    expect(await readColumnElsewhere(dbPath, "SELECT v FROM t ORDER BY rowid")).toEqual(["waited", "next", "batched"]);
  });

  it("a write that gave up on another process's lock leaves nothing in progress: later writes commit", async () => {
    const server = await startTestServer({ busyTimeoutMs: 200 });
    try {
      const writer = client(server.url);
      await writer.execute("CREATE TABLE t (v TEXT NOT NULL)");
      const lock = await holdWriteLockElsewhere(server.dbPath, 600, children);
      await expectLibsqlError(writer.execute("INSERT INTO t VALUES ('gave up')"), "SQLITE_BUSY", /database is locked/);
      await lock.done;
      await writer.execute("INSERT INTO t VALUES ('later')");
      await writer.batch(["INSERT INTO t VALUES ('batched')"], "write");
      expect(await readColumnElsewhere(server.dbPath, "SELECT v FROM t ORDER BY rowid")).toEqual(["later", "batched"]);
    } finally {
      await server.stop();
    }
  });
});

describe("write turns", () => {
  it(
    "an interactive transaction left idle past streamIdleMs is rolled back " +
      "and the writer waiting behind it proceeds",
    async () => {
      const server = await startTestServer({ streamIdleMs: 300, busyTimeoutMs: 5_000 });
      try {
        const idle = client(server.url);
        const next = client(server.url);
        await idle.execute("CREATE TABLE t (v TEXT NOT NULL)");
        const transaction = await idle.transaction("write");
        await transaction.execute("INSERT INTO t VALUES ('abandoned')");
        const started = Date.now();
        // Already waiting when the transaction expires: it gets the turn then, not at its busy timeout.
        await next.execute("INSERT INTO t VALUES ('next')");
        const waited = Date.now() - started;
        expect(waited).toBeGreaterThanOrEqual(200);
        expect(waited).toBeLessThan(3_000);
        await expectLibsqlError(transaction.execute("INSERT INTO t VALUES ('too late')"), "STREAM_EXPIRED", /expired/);
        transaction.close();
        expect((await next.execute("SELECT v FROM t")).rows.map((row) => row[0])).toEqual(["next"]);
      } finally {
        await server.stop();
      }
    },
  );

  it(
    "a writer waiting past busyTimeoutMs gets a clear SQLITE_BUSY naming the wait, " +
      "and nothing of its batch is written",
    async () => {
      const server = await startTestServer({ busyTimeoutMs: 250, streamIdleMs: 10_000 });
      try {
        const holder = client(server.url);
        const waiter = client(server.url);
        await holder.execute("CREATE TABLE t (v TEXT NOT NULL)");
        const transaction = await holder.transaction("write");
        await transaction.execute("INSERT INTO t VALUES ('holder')");
        const started = Date.now();
        const error = await expectLibsqlError(
          waiter.batch(
            ["INSERT INTO t VALUES ('w1')", "INSERT INTO t VALUES ('w2')", "INSERT INTO t VALUES ('w3')"],
            "write",
          ),
          "SQLITE_BUSY",
          /database is locked: this write waited \d+ ms \(the busy timeout\) for the database's write lock/,
        );
        expect(error.message).toMatch(/nothing of this statement was written/);
        expect(Date.now() - started).toBeGreaterThanOrEqual(240);
        await expectLibsqlError(waiter.execute("INSERT INTO t VALUES ('single')"), "SQLITE_BUSY", /waited \d+ ms/);
        await transaction.commit();
        // Once the turn is free the same client writes normally.
        await waiter.execute("INSERT INTO t VALUES ('after')");
        const rows = await waiter.execute("SELECT v FROM t ORDER BY rowid");
        expect(rows.rows.map((row) => row[0])).toEqual(["holder", "after"]);
      } finally {
        await server.stop();
      }
    },
  );

  it("reads are not queued behind a write transaction", async () => {
    const server = await startTestServer({ busyTimeoutMs: 5_000 });
    try {
      const holder = client(server.url);
      const reader = client(server.url);
      await holder.execute("CREATE TABLE t (v TEXT NOT NULL)");
      await holder.execute("INSERT INTO t VALUES ('committed')");
      const transaction = await holder.transaction("write");
      await transaction.execute("INSERT INTO t VALUES ('pending')");
      const started = Date.now();
      const rows = await reader.execute("SELECT v FROM t");
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(rows.rows.map((row) => row[0])).toEqual(["committed"]);
      await transaction.rollback();
    } finally {
      await server.stop();
    }
  });

  it(
    "a deferred transaction whose snapshot went stale gets SQLITE_BUSY_SNAPSHOT, " + "and its connection stays usable",
    async () => {
      const server = await startTestServer({ busyTimeoutMs: 2_000 });
      try {
        const first = client(server.url);
        const second = client(server.url);
        await first.execute("CREATE TABLE t (v TEXT NOT NULL)");
        const deferred = await first.transaction("deferred");
        expect((await deferred.execute("SELECT count(*) FROM t")).rows[0]?.[0]).toBe(0);
        await second.execute("INSERT INTO t VALUES ('other')");
        await expectLibsqlError(deferred.execute("INSERT INTO t VALUES ('stale')"), "SQLITE_BUSY_SNAPSHOT");
        await deferred.rollback();
        // The turn was given back and no statement was left in progress: both clients write and commit.
        await first.execute("INSERT INTO t VALUES ('first')");
        await first.batch(["INSERT INTO t VALUES ('batch')"], "write");
        await second.execute("INSERT INTO t VALUES ('second')");
        const dbPath = server.dbPath;
        expect(await readColumnElsewhere(dbPath, "SELECT v FROM t ORDER BY rowid")).toEqual([
          "other",
          "first",
          "batch",
          "second",
        ]);
      } finally {
        await server.stop();
      }
    },
  );
});
