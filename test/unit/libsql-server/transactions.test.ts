import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { expectLibsqlError, okResponse, pipeline, post, sleep, startTestServer } from "./harness.ts";
import type { TestServer } from "./harness.ts";

let server: TestServer;
let client: Client;
let otherClient: Client;

beforeAll(async () => {
  server = await startTestServer({ busyTimeoutMs: 3_000 });
  client = createClient({ url: server.url, intMode: "bigint" });
  otherClient = createClient({ url: server.url, intMode: "bigint" });
  await client.execute("CREATE TABLE accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL)");
});

beforeEach(async () => {
  await client.execute("DELETE FROM accounts");
});

afterAll(async () => {
  client.close();
  otherClient.close();
  await server.stop();
});

async function names(): Promise<string[]> {
  const result = await client.execute("SELECT name FROM accounts ORDER BY name");
  return result.rows.map((row) => String(row[0]));
}

describe("interactive transactions", () => {
  it("a write transaction spans several HTTP requests and its commit is visible to others", async () => {
    const transaction = await client.transaction("write");
    await transaction.execute("INSERT INTO accounts VALUES ('alice', 10)");
    const inside = await transaction.execute("SELECT count(*) FROM accounts");
    expect(inside.rows[0]?.[0]).toBe(1n);
    const outside = await otherClient.execute("SELECT count(*) FROM accounts");
    expect(outside.rows[0]?.[0]).toBe(0n);
    await transaction.execute("UPDATE accounts SET balance = balance + 5");
    await transaction.commit();
    const after = await otherClient.execute("SELECT balance FROM accounts WHERE name = 'alice'");
    expect(after.rows[0]?.[0]).toBe(15n);
  });

  it("a rolled-back transaction leaves no trace", async () => {
    const transaction = await client.transaction("write");
    await transaction.execute("INSERT INTO accounts VALUES ('bob', 1)");
    await transaction.rollback();
    expect(await names()).toEqual([]);
  });

  it("a read transaction can read but its writes fail with SQLITE_READONLY", async () => {
    await client.execute("INSERT INTO accounts VALUES ('carol', 3)");
    const transaction = await client.transaction("read");
    const read = await transaction.execute("SELECT balance FROM accounts");
    expect(read.rows[0]?.[0]).toBe(3n);
    await expectLibsqlError(transaction.execute("UPDATE accounts SET balance = 0"), "SQLITE_READONLY");
    await transaction.rollback();
    expect((await client.execute("SELECT balance FROM accounts")).rows[0]?.[0]).toBe(3n);
  });

  it("an EXPLAIN of a writing statement inside a transaction does not block its COMMIT", async () => {
    const transaction = await client.transaction("write");
    await transaction.execute("INSERT INTO accounts VALUES ('dave', 4)");
    const explained = await transaction.execute("EXPLAIN INSERT INTO accounts VALUES ('erin', 5)");
    expect(explained.rows.length).toBeGreaterThan(0);
    await transaction.commit();
    expect(await names()).toEqual(["dave"]);
  });

  it(
    "a second writer waits for an interactive write transaction, " + "without blocking the server, then succeeds",
    async () => {
      const transaction = await client.transaction("write");
      await transaction.execute("INSERT INTO accounts VALUES ('first', 1)");
      let settled = false;
      const second = otherClient.execute("INSERT INTO accounts VALUES ('second', 2)").finally(() => {
        settled = true;
      });
      await sleep(200);
      expect(settled).toBe(false);
      // The wait is asynchronous: the server keeps answering meanwhile.
      const health = await fetch(new URL("/health", server.url));
      expect(health.status).toBe(200);
      await transaction.execute("INSERT INTO accounts VALUES ('third', 3)");
      await transaction.commit();
      const inserted = await second;
      expect(inserted.rowsAffected).toBe(1);
      expect(await names()).toEqual(["first", "second", "third"]);
    },
  );
});

describe("busy timeout", () => {
  it("a writer gives up with SQLITE_BUSY after busyTimeoutMs while another transaction holds the lock", async () => {
    const impatient = await startTestServer({ busyTimeoutMs: 150 });
    const holder = createClient({ url: impatient.url });
    const waiter = createClient({ url: impatient.url });
    try {
      await holder.execute("CREATE TABLE t (a)");
      const transaction = await holder.transaction("write");
      await transaction.execute("INSERT INTO t VALUES (1)");
      const started = Date.now();
      await expectLibsqlError(waiter.execute("INSERT INTO t VALUES (2)"), "SQLITE_BUSY", /database is locked/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      await transaction.commit();
      await waiter.execute("INSERT INTO t VALUES (3)");
      expect((await waiter.execute("SELECT count(*) FROM t")).rows[0]?.[0]).toBe(2);
    } finally {
      holder.close();
      waiter.close();
      await impatient.stop();
    }
  });
});

describe("batons", () => {
  it("rotate on every response and a spent baton is rejected with BATON_INVALID", async () => {
    const first = await pipeline(server.url, null, [{ type: "execute", stmt: { sql: "SELECT 1" } }]);
    const second = await pipeline(server.url, first.baton, [{ type: "execute", stmt: { sql: "SELECT 2" } }]);
    expect(first.baton).toEqual(expect.any(String));
    expect(second.baton).toEqual(expect.any(String));
    expect(second.baton).not.toBe(first.baton);
    const reused = await post(server.url, "/v2/pipeline", { baton: first.baton, requests: [] });
    expect(reused.status).toBe(400);
    expect(reused.contentType).toBe("application/json");
    expect(reused.json).toMatchObject({ code: "BATON_INVALID", message: expect.any(String) });
    await pipeline(server.url, second.baton, [{ type: "close" }]);
  });

  it("a forged baton is rejected with 400 and code BATON_INVALID", async () => {
    const forged = await post(server.url, "/v2/pipeline", {
      baton: "forged-baton",
      requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }],
    });
    expect(forged.status).toBe(400);
    expect(forged.json).toMatchObject({ code: "BATON_INVALID" });
  });

  it("a stream keeps its connection across requests, so a transaction opened by BEGIN stays open", async () => {
    const begun = await pipeline(server.url, null, [
      { type: "execute", stmt: { sql: "BEGIN" } },
      { type: "execute", stmt: { sql: "INSERT INTO accounts VALUES ('raw', 1)" } },
    ]);
    const later = await pipeline(
      server.url,
      begun.baton,
      [{ type: "get_autocommit" }, { type: "execute", stmt: { sql: "COMMIT" } }, { type: "close" }],
      "/v3/pipeline",
    );
    const autocommit = okResponse(later.results[0]);
    expect(autocommit.type === "get_autocommit" && autocommit.is_autocommit).toBe(false);
    expect(later.results[1]?.type).toBe("ok");
    expect(await names()).toEqual(["raw"]);
  });
});

describe("stream expiry", () => {
  it(
    "a transaction left idle expires: the client gets STREAM_EXPIRED, " +
      "its writes are rolled back and the lock is released",
    async () => {
      const shortLived = await startTestServer({ streamIdleMs: 150, busyTimeoutMs: 100 });
      const idleClient = createClient({ url: shortLived.url });
      const otherWriter = createClient({ url: shortLived.url });
      try {
        await idleClient.execute("CREATE TABLE t (a)");
        const transaction = await idleClient.transaction("write");
        await transaction.execute("INSERT INTO t VALUES ('uncommitted')");
        await sleep(400);
        // With the lock released, this write succeeds well within the 100 ms busy timeout.
        await otherWriter.execute("INSERT INTO t VALUES ('other')");
        await expectLibsqlError(transaction.execute("SELECT 1"), "STREAM_EXPIRED", /expired/);
        const rows = await otherWriter.execute("SELECT a FROM t");
        expect(rows.rows.map((row) => row[0])).toEqual(["other"]);
      } finally {
        idleClient.close();
        otherWriter.close();
        await shortLived.stop();
      }
    },
  );

  it("an expired baton sent over raw HTTP gets 400 with code STREAM_EXPIRED", async () => {
    const shortLived = await startTestServer({ streamIdleMs: 100 });
    try {
      const opened = await pipeline(shortLived.url, null, [{ type: "execute", stmt: { sql: "SELECT 1" } }]);
      await sleep(300);
      const expired = await post(shortLived.url, "/v2/pipeline", {
        baton: opened.baton,
        requests: [{ type: "close" }],
      });
      expect(expired.status).toBe(400);
      expect(expired.contentType).toBe("application/json");
      expect(expired.json).toMatchObject({ code: "STREAM_EXPIRED", message: expect.any(String) });
    } finally {
      await shortLived.stop();
    }
  });

  it("an active stream does not expire while its requests keep coming", async () => {
    const shortLived = await startTestServer({ streamIdleMs: 200 });
    try {
      let baton = (await pipeline(shortLived.url, null, [{ type: "execute", stmt: { sql: "BEGIN" } }])).baton;
      for (let i = 0; i < 4; i++) {
        await sleep(100);
        const response = await pipeline(shortLived.url, baton, [{ type: "get_autocommit" }], "/v3/pipeline");
        const autocommit = okResponse(response.results[0]);
        expect(autocommit.type === "get_autocommit" && autocommit.is_autocommit).toBe(false);
        baton = response.baton;
      }
      const closed = await pipeline(shortLived.url, baton, [
        { type: "execute", stmt: { sql: "ROLLBACK" } },
        { type: "close" },
      ]);
      expect(closed.baton).toBeNull();
    } finally {
      await shortLived.stop();
    }
  });
});
