import { createClient } from "@libsql/client";
import type { Client } from "@libsql/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { errorOf, expectLibsqlError, okResponse, pipeline, post, startTestServer } from "./harness.ts";
import type { TestServer } from "./harness.ts";

let server: TestServer;
let client: Client;

beforeAll(async () => {
  server = await startTestServer();
  client = createClient({ url: server.url, intMode: "bigint" });
  await client.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)");
});

beforeEach(async () => {
  await client.execute("DELETE FROM notes");
});

afterAll(async () => {
  client.close();
  await server.stop();
});

async function bodies(): Promise<string[]> {
  const result = await client.execute("SELECT body FROM notes ORDER BY id");
  return result.rows.map((row) => String(row[0]));
}

describe("batch", () => {
  it("in write mode commits all statements and returns one result per statement", async () => {
    const results = await client.batch(
      [
        { sql: "INSERT INTO notes (body) VALUES (?)", args: ["one"] },
        { sql: "INSERT INTO notes (body) VALUES (?)", args: ["two"] },
        "SELECT count(*) FROM notes",
      ],
      "write",
    );
    expect(results.map((result) => result.rowsAffected)).toEqual([1, 1, 0]);
    expect(results[2]?.rows[0]?.[0]).toBe(2n);
    expect(await bodies()).toEqual(["one", "two"]);
  });

  it("in write mode rolls back the whole batch when a step fails, reporting the step's SQLite error", async () => {
    await client.execute("INSERT INTO notes (body) VALUES ('taken')");
    const error = await expectLibsqlError(
      client.batch(
        [
          "INSERT INTO notes (body) VALUES ('fresh')",
          "INSERT INTO notes (body) VALUES ('taken')",
          "INSERT INTO notes (body) VALUES ('never')",
        ],
        "write",
      ),
      "SQLITE_CONSTRAINT_UNIQUE",
    );
    expect(error.name).toBe("LibsqlBatchError");
    expect(await bodies()).toEqual(["taken"]);
  });

  it("in read mode runs reads", async () => {
    await client.execute("INSERT INTO notes (body) VALUES ('readable')");
    const results = await client.batch(["SELECT body FROM notes", "SELECT count(*) FROM notes"], "read");
    expect(results[0]?.rows[0]?.[0]).toBe("readable");
    expect(results[1]?.rows[0]?.[0]).toBe(1n);
  });

  it(
    "in read mode fails a write with SQLITE_READONLY and changes nothing; " + "the next stream can write again",
    async () => {
      await expectLibsqlError(
        client.batch(["SELECT 1", "INSERT INTO notes (body) VALUES ('sneaky')"], "read"),
        "SQLITE_READONLY",
        /readonly/,
      );
      expect(await bodies()).toEqual([]);
      // The pooled connection must not stay read-only after the READONLY transaction.
      for (let i = 0; i < 4; i++)
        await client.execute({ sql: "INSERT INTO notes (body) VALUES (?)", args: [`after-${i}`] });
      expect(await bodies()).toHaveLength(4);
    },
  );

  it("in deferred mode commits, and a failing step rolls it back", async () => {
    await client.batch(
      ["INSERT INTO notes (body) VALUES ('d1')", "INSERT INTO notes (body) VALUES ('d2')"],
      "deferred",
    );
    expect(await bodies()).toEqual(["d1", "d2"]);
    await expectLibsqlError(
      client.batch(
        ["INSERT INTO notes (body) VALUES ('d3')", "INSERT INTO notes (id, body) VALUES ('not an integer', 'x')"],
        "deferred",
      ),
      "SQLITE_MISMATCH",
    );
    expect(await bodies()).toEqual(["d1", "d2"]);
  });

  it(
    "evaluates ok, error, not, and, or and is_autocommit conditions, " +
      "skipping steps whose condition is false (raw HTTP)",
    async () => {
      const step = (sql: string, condition?: unknown) => ({
        ...(condition === undefined ? {} : { condition }),
        stmt: { sql },
      });
      const response = await pipeline(
        server.url,
        null,
        [
          {
            type: "batch",
            batch: {
              steps: [
                step("SELECT 1"), // 0 ok
                step("SELECT nope"), // 1 error
                step("SELECT 'ok0'", { type: "ok", step: 0 }), // 2 runs
                step("SELECT 'ok1'", { type: "ok", step: 1 }), // 3 skipped
                step("SELECT 'err1'", { type: "error", step: 1 }), // 4 runs
                step("SELECT 'not'", { type: "not", cond: { type: "ok", step: 1 } }), // 5 runs
                step("SELECT 'and'", {
                  type: "and",
                  conds: [
                    { type: "ok", step: 0 },
                    { type: "ok", step: 1 },
                  ],
                }), // 6 skipped
                step("SELECT 'or'", {
                  type: "or",
                  conds: [
                    { type: "ok", step: 0 },
                    { type: "ok", step: 1 },
                  ],
                }), // 7 runs
                step("SELECT 'auto'", { type: "is_autocommit" }), // 8 runs
                step("BEGIN"), // 9
                step("SELECT 'auto2'", { type: "is_autocommit" }), // 10 skipped: inside a transaction
                step("ROLLBACK"), // 11
              ],
            },
          },
          { type: "close" },
        ],
        "/v3/pipeline",
      );
      const batch = okResponse(response.results[0]);
      if (batch.type !== "batch") throw new Error("wrong response type");
      const ran = batch.result.step_results.map((result) => result !== null);
      expect(ran).toEqual([true, false, true, false, true, true, false, true, true, true, false, true]);
      expect(batch.result.step_errors.map((error) => error?.code ?? null)).toEqual([
        null,
        "SQLITE_ERROR",
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ]);
    },
  );

  it("rejects a condition that refers to the current or a later step", async () => {
    const response = await pipeline(server.url, null, [
      { type: "batch", batch: { steps: [{ condition: { type: "ok", step: 0 }, stmt: { sql: "SELECT 1" } }] } },
    ]);
    expect(errorOf(response.results[0]).code).toBe("BATCH_COND_INVALID");
  });
});

describe("sequence", () => {
  it("runs every statement of executeMultiple, including a trigger body full of semicolons", async () => {
    await client.executeMultiple(`
      CREATE TABLE audit (note TEXT);
      CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
        INSERT INTO audit VALUES ('before; ' || NEW.body);
        INSERT INTO audit VALUES (CASE WHEN NEW.body = 'x' THEN 'is x' ELSE 'not x' END);
      END;
      INSERT INTO notes (body) VALUES ('x'); -- fires the trigger
    `);
    const audit = await client.execute("SELECT note FROM audit ORDER BY rowid");
    expect(audit.rows.map((row) => row[0])).toEqual(["before; x", "is x"]);
    await client.executeMultiple("DROP TRIGGER notes_audit; DROP TABLE audit;");
  });

  it("stops at the first failing statement, keeping the effects of the earlier ones", async () => {
    await expectLibsqlError(
      client.executeMultiple(
        "INSERT INTO notes (body) VALUES ('s1'); INSERT INTO notes (body) VALUES ('s1'); " +
          "INSERT INTO notes (body) VALUES ('s3');",
      ),
      "SQLITE_CONSTRAINT_UNIQUE",
    );
    expect(await bodies()).toEqual(["s1"]);
  });

  it("rejects statements with parameters, which a sequence cannot bind (raw HTTP)", async () => {
    const response = await pipeline(server.url, null, [
      { type: "sequence", sql: "SELECT 1; SELECT ?" },
      { type: "close" },
    ]);
    expect(errorOf(response.results[0])).toMatchObject({
      code: "ARGS_INVALID",
      message: expect.stringMatching(/cannot take parameters/),
    });
  });
});

describe("describe", () => {
  async function describeSql(sql: string) {
    const response = await pipeline(server.url, null, [{ type: "describe", sql }, { type: "close" }]);
    const described = okResponse(response.results[0]);
    if (described.type !== "describe") throw new Error("wrong response type");
    return described.result;
  }

  it("reports parameters (with SQLite's names and indexes), result columns and flags of a query", async () => {
    const result = await describeSql(
      "SELECT id, body AS text, 1 + 1 FROM notes WHERE id = :id AND body = ? OR id = ?5",
    );
    expect(result.params).toEqual([{ name: ":id" }, { name: null }, { name: null }, { name: null }, { name: "?5" }]);
    expect(result.cols).toEqual([
      { name: "id", decltype: "INTEGER" },
      { name: "text", decltype: "TEXT" },
      { name: "1 + 1", decltype: null },
    ]);
    expect(result.is_explain).toBe(false);
    expect(result.is_readonly).toBe(true);
  });

  it("marks writing statements as not read-only and EXPLAIN as explain", async () => {
    expect((await describeSql("INSERT INTO notes (body) VALUES ('x')")).is_readonly).toBe(false);
    expect((await describeSql("CREATE TABLE t (a)")).is_readonly).toBe(false);
    expect((await describeSql("BEGIN IMMEDIATE")).is_readonly).toBe(false);
    expect((await describeSql("BEGIN")).is_readonly).toBe(true);
    expect((await describeSql("PRAGMA user_version = 3")).is_readonly).toBe(false);
    const explain = await describeSql("EXPLAIN QUERY PLAN SELECT * FROM notes");
    expect(explain).toMatchObject({ is_explain: true, is_readonly: true });
    expect(await bodies()).toEqual([]);
  });

  it("reports errors: SQL that does not prepare, and more than one statement", async () => {
    const response = await pipeline(server.url, null, [
      { type: "describe", sql: "SELECT * FROM missing_table" },
      { type: "describe", sql: "SELECT 1; SELECT 2" },
      { type: "close" },
    ]);
    expect(errorOf(response.results[0])).toMatchObject({
      code: "SQLITE_ERROR",
      message: expect.stringMatching(/no such table/),
    });
    expect(errorOf(response.results[1]).code).toBe("SQL_MANY_STATEMENTS");
  });
});

describe("store_sql and close_sql", () => {
  it("stores SQL under an id usable by execute, batch, describe and sequence until close_sql (raw HTTP)", async () => {
    const response = await pipeline(server.url, null, [
      { type: "store_sql", sql_id: 7, sql: "INSERT INTO notes (body) VALUES (?) RETURNING body" },
      { type: "execute", stmt: { sql_id: 7, args: [{ type: "text", value: "stored" }] } },
      { type: "batch", batch: { steps: [{ stmt: { sql_id: 7, args: [{ type: "text", value: "batched" }] } }] } },
      { type: "describe", sql_id: 7 },
      { type: "store_sql", sql_id: 8, sql: "UPDATE notes SET body = body || '!'" },
      { type: "sequence", sql_id: 8 },
      { type: "store_sql", sql_id: 7, sql: "SELECT 'duplicate id'" },
      { type: "close_sql", sql_id: 7 },
      { type: "execute", stmt: { sql_id: 7, args: [{ type: "text", value: "gone" }] } },
      { type: "close" },
    ]);
    expect(response.results.map((result) => (result.type === "ok" ? result.response.type : result.error.code))).toEqual(
      [
        "store_sql",
        "execute",
        "batch",
        "describe",
        "store_sql",
        "sequence",
        "SQL_ID_EXISTS",
        "close_sql",
        "SQL_ID_NOT_FOUND",
        "close",
      ],
    );
    expect(await bodies()).toEqual(["stored!", "batched!"]);
  });

  it("is what the client's batch uses for its SQL cache, including close_sql on eviction", async () => {
    const sent: { type?: unknown }[] = [];
    const recordingFetch = async (request: Request): Promise<Response> => {
      const body: unknown = JSON.parse(await request.clone().text());
      const requests = (body as { requests?: unknown }).requests;
      if (Array.isArray(requests)) sent.push(...(requests as { type?: unknown }[]));
      return fetch(request);
    };
    const recordingClient = createClient({ url: server.url, fetch: recordingFetch });
    try {
      const transaction = await recordingClient.transaction("write");
      // The client caches 30 SQL texts per stream; the second batch evicts five of the first.
      await transaction.batch(
        Array.from({ length: 30 }, (_, i) => ({ sql: `INSERT INTO notes (body) VALUES ('cached-${i}')`, args: [] })),
      );
      const more = await transaction.batch(Array.from({ length: 5 }, (_, i) => `SELECT ${i} AS n`));
      await transaction.commit();
      expect(more.map((result) => result.rows[0]?.[0])).toEqual([0, 1, 2, 3, 4]);
    } finally {
      recordingClient.close();
    }
    const types = sent.map((request) => request.type);
    expect(types.filter((type) => type === "store_sql")).toHaveLength(35);
    expect(types.filter((type) => type === "close_sql")).toHaveLength(5);
    expect(await bodies()).toHaveLength(30);
  });
});

describe("get_autocommit and close", () => {
  it("get_autocommit is true outside a transaction and false inside BEGIN (v3 pipeline)", async () => {
    const response = await pipeline(
      server.url,
      null,
      [
        { type: "get_autocommit" },
        { type: "execute", stmt: { sql: "BEGIN" } },
        { type: "get_autocommit" },
        { type: "execute", stmt: { sql: "ROLLBACK" } },
        { type: "get_autocommit" },
        { type: "close" },
      ],
      "/v3/pipeline",
    );
    const flags = response.results.filter(
      (result) => result.type === "ok" && result.response.type === "get_autocommit",
    );
    expect(
      flags.map(
        (result) => result.type === "ok" && result.response.type === "get_autocommit" && result.response.is_autocommit,
      ),
    ).toEqual([true, false, true]);
  });

  it("close ends the stream: the response baton is null and later requests in the pipeline fail", async () => {
    const response = await pipeline(server.url, null, [
      { type: "execute", stmt: { sql: "SELECT 1" } },
      { type: "close" },
      { type: "execute", stmt: { sql: "SELECT 2" } },
    ]);
    expect(response.baton).toBeNull();
    expect(okResponse(response.results[1]).type).toBe("close");
    expect(errorOf(response.results[2]).code).toBe("STREAM_CLOSED");
  });

  it("close rolls back a transaction left open on the stream", async () => {
    const opened = await pipeline(server.url, null, [
      { type: "execute", stmt: { sql: "BEGIN" } },
      { type: "execute", stmt: { sql: "INSERT INTO notes (body) VALUES ('dropped')" } },
    ]);
    expect(opened.baton).toEqual(expect.any(String));
    const closed = await pipeline(server.url, opened.baton, [{ type: "close" }]);
    expect(closed.baton).toBeNull();
    expect(await bodies()).toEqual([]);
    const reused = await post(server.url, "/v2/pipeline", { baton: opened.baton, requests: [] });
    expect(reused.status).toBe(400);
    expect(reused.json).toMatchObject({ code: "BATON_INVALID" });
  });

  it("keeps executing a pipeline after a failing request", async () => {
    const response = await pipeline(server.url, null, [
      { type: "execute", stmt: { sql: "SELECT * FROM nowhere" } },
      { type: "execute", stmt: { sql: "INSERT INTO notes (body) VALUES ('still runs')" } },
      { type: "close" },
    ]);
    expect(errorOf(response.results[0]).code).toBe("SQLITE_ERROR");
    expect(okResponse(response.results[1]).type).toBe("execute");
    expect(await bodies()).toEqual(["still runs"]);
  });
});

describe("cursor (v3)", () => {
  it("streams step_begin, row, step_end and step_error entries as newline-delimited JSON", async () => {
    const reply = await post(server.url, "/v3/cursor", {
      baton: null,
      batch: {
        steps: [
          { stmt: { sql: "SELECT 1 AS a UNION ALL SELECT 2" } },
          { stmt: { sql: "SELECT nope" } },
          { condition: { type: "ok", step: 1 }, stmt: { sql: "SELECT 'skipped'" } },
        ],
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.text.endsWith("\n")).toBe(true);
    const lines: unknown[] = reply.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    expect(lines[0]).toMatchObject({ baton: expect.any(String), base_url: null });
    expect(lines.slice(1)).toEqual([
      { type: "step_begin", step: 0, cols: [{ name: "a", decltype: null }] },
      { type: "row", row: [{ type: "integer", value: "1" }] },
      { type: "row", row: [{ type: "integer", value: "2" }] },
      { type: "step_end", affected_row_count: 0, last_insert_rowid: expect.any(String) },
      {
        type: "step_error",
        step: 1,
        error: { message: expect.stringMatching(/no such column/), code: "SQLITE_ERROR" },
      },
    ]);
    const baton = (lines[0] as { baton: string }).baton;
    const closed = await pipeline(server.url, baton, [{ type: "close" }], "/v3/pipeline");
    expect(closed.baton).toBeNull();
  });
});
