import { createClient } from "@libsql/client";
import type { Client, InValue } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StmtResult } from "../../../scripts/libsql-server/protocol.ts";
import { errorOf, expectLibsqlError, okResponse, pipeline, startTestServer } from "./harness.ts";
import type { TestServer } from "./harness.ts";

let server: TestServer;
let client: Client;

beforeAll(async () => {
  server = await startTestServer();
  client = createClient({ url: server.url, intMode: "bigint" });
  await client.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB)");
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function blobBytes(value: unknown): Uint8Array {
  // The client hands blobs back as ArrayBuffer.
  expect(value).toBeInstanceOf(ArrayBuffer);
  return new Uint8Array(value as ArrayBuffer);
}

describe("execute: values", () => {
  it("round-trips null, int64 extremes, floats, unicode text and blobs with their SQLite types", async () => {
    const text = "héllo wörld ✓ 😀 日本語";
    const blob = new Uint8Array([0, 1, 127, 128, 254, 255]);
    const args: InValue[] = [null, 9223372036854775807n, -9223372036854775808n, 2.0, -1.25e-300, text, blob];
    const columns = args.map((_, i) => `?${i + 1}, typeof(?${i + 1})`).join(", ");
    const result = await client.execute({ sql: `SELECT ${columns}`, args });
    const row = result.rows[0];
    if (row === undefined) throw new Error("no row");
    expect([row[0], row[1]]).toEqual([null, "null"]);
    expect([row[2], row[3]]).toEqual([9223372036854775807n, "integer"]);
    expect([row[4], row[5]]).toEqual([-9223372036854775808n, "integer"]);
    expect([row[6], row[7]]).toEqual([2, "real"]);
    expect([row[8], row[9]]).toEqual([-1.25e-300, "real"]);
    expect([row[10], row[11]]).toEqual([text, "text"]);
    expect(blobBytes(row[12])).toEqual(blob);
    expect(row[13]).toBe("blob");
  });

  it("stores and reads back every value type through a table", async () => {
    const blob = new Uint8Array(300).map((_, i) => i % 256);
    await client.execute({
      sql: "INSERT INTO items (id, name, score, data) VALUES (?, ?, ?, ?)",
      args: [9223372036854775000n, "ünïcødé ✓", 0.1 + 0.2, blob],
    });
    const result = await client.execute({
      sql: "SELECT id, name, score, data FROM items WHERE id = ?",
      args: [9223372036854775000n],
    });
    expect(result.columns).toEqual(["id", "name", "score", "data"]);
    expect(result.columnTypes).toEqual(["INTEGER", "TEXT", "REAL", "BLOB"]);
    const row = result.rows[0];
    expect(row?.[0]).toBe(9223372036854775000n);
    expect(row?.[1]).toBe("ünïcødé ✓");
    expect(row?.[2]).toBe(0.1 + 0.2);
    expect(blobBytes(row?.[3])).toEqual(blob);
    await client.execute("DELETE FROM items");
  });

  it("returns ±Infinity REAL values (encoded as JSON numbers the client can read)", async () => {
    const result = await client.execute("SELECT 1e999, -1e999");
    expect([result.rows[0]?.[0], result.rows[0]?.[1]]).toEqual([Infinity, -Infinity]);
  });

  it("rejects text containing NUL, which the engine would silently truncate", async () => {
    await expectLibsqlError(client.execute({ sql: "SELECT ?", args: ["a\u0000b"] }), "ARGS_INVALID", /NUL/);
  });
});

describe("execute: arguments", () => {
  it("binds positional arguments by index, including ?NNN", async () => {
    const result = await client.execute({ sql: "SELECT ?2, ?1, ?2", args: ["first", "second"] });
    expect(Array.from(result.rows[0] ?? [])).toEqual(["second", "first", "second"]);
  });

  it("binds named arguments given with their :, @ or $ prefix", async () => {
    const result = await client.execute({ sql: "SELECT :a, @b, $c, :a", args: { ":a": 1n, "@b": "two", $c: 3.5 } });
    expect(Array.from(result.rows[0] ?? [])).toEqual([1n, "two", 3.5, 1n]);
  });

  it("binds named arguments given without a prefix to the :name, @name or $name parameter", async () => {
    const result = await client.execute({ sql: "SELECT :a, @b, $c", args: { a: 1n, b: "two", c: null } });
    expect(Array.from(result.rows[0] ?? [])).toEqual([1n, "two", null]);
  });

  it("leaves ? and :x inside strings and comments alone", async () => {
    const result = await client.execute({ sql: "SELECT '?', ':x', ? /* ? :y */ -- ?", args: [7n] });
    expect(Array.from(result.rows[0] ?? [])).toEqual(["?", ":x", 7n]);
  });

  it("rejects extra positional arguments with ARGS_INVALID", async () => {
    await expectLibsqlError(
      client.execute({ sql: "SELECT ?", args: [1n, 2n] }),
      "ARGS_INVALID",
      /Too many arguments: the statement has 1 parameter, but 2/,
    );
  });

  it("rejects missing positional arguments with ARGS_INVALID", async () => {
    await expectLibsqlError(
      client.execute({ sql: "SELECT ?, ?", args: [1n] }),
      "ARGS_INVALID",
      /Not enough arguments: the statement has 2 parameters, but 1/,
    );
  });

  it("rejects a named argument the statement does not have", async () => {
    await expectLibsqlError(
      client.execute({ sql: "SELECT :a", args: { a: 1n, b: 2n } }),
      "ARGS_INVALID",
      /Unknown named argument "b"/,
    );
  });

  it("rejects a statement whose named parameter has no argument", async () => {
    await expectLibsqlError(
      client.execute({ sql: "SELECT :a, :b", args: { a: 1n } }),
      "ARGS_INVALID",
      /Missing argument for parameter :b/,
    );
  });

  it("rejects a prefixless name that matches two parameters as ambiguous", async () => {
    await expectLibsqlError(client.execute({ sql: "SELECT :a, @a", args: { a: 1n } }), "ARGS_INVALID", /Ambiguous/);
  });
});

describe("execute: statements", () => {
  it("rejects SQL with more than one statement and runs none of it", async () => {
    await expectLibsqlError(
      client.execute("INSERT INTO items (name) VALUES ('one'); INSERT INTO items (name) VALUES ('two')"),
      "SQL_MANY_STATEMENTS",
      /more than one statement/,
    );
    const count = await client.execute("SELECT count(*) FROM items");
    expect(count.rows[0]?.[0]).toBe(0n);
  });

  it("accepts a single statement with a trailing semicolon and comment", async () => {
    const result = await client.execute("SELECT 42; -- the answer");
    expect(result.rows[0]?.[0]).toBe(42n);
  });

  it("rejects SQL without any statement with SQL_NO_STATEMENT", async () => {
    await expectLibsqlError(client.execute(" -- nothing here\n"), "SQL_NO_STATEMENT");
  });

  it("reports syntax errors with the SQLite error code", async () => {
    await expectLibsqlError(client.execute("SELEC 1"), "SQLITE_ERROR", /syntax error/);
  });

  it("surfaces a unique-constraint violation as LibsqlError with code SQLITE_CONSTRAINT_UNIQUE", async () => {
    await client.execute("INSERT INTO items (name) VALUES ('unique-me')");
    await expectLibsqlError(
      client.execute("INSERT INTO items (name) VALUES ('unique-me')"),
      "SQLITE_CONSTRAINT_UNIQUE",
      /UNIQUE constraint failed: items.name/,
    );
    await client.execute("DELETE FROM items");
  });
});

describe("execute: rows affected and last insert rowid", () => {
  it("reports the changes of INSERT, UPDATE and DELETE and the last inserted rowid", async () => {
    const inserted = await client.execute("INSERT INTO items (name) VALUES ('a'), ('b'), ('c')");
    expect(inserted.rowsAffected).toBe(3);
    const ids = await client.execute("SELECT max(id) FROM items");
    expect(inserted.lastInsertRowid).toBe(ids.rows[0]?.[0]);
    const updated = await client.execute("UPDATE items SET score = 1.5 WHERE name IN ('a', 'b')");
    expect(updated.rowsAffected).toBe(2);
    const deleted = await client.execute("DELETE FROM items");
    expect(deleted.rowsAffected).toBe(3);
  });

  it("counts changes for WITH … INSERT and INSERT … RETURNING, which also return rows", async () => {
    const withInsert = await client.execute(
      "WITH names(n) AS (VALUES ('x'), ('y')) INSERT INTO items (name) SELECT n FROM names",
    );
    expect(withInsert.rowsAffected).toBe(2);
    const returning = await client.execute("INSERT INTO items (name) VALUES ('z') RETURNING name");
    expect(returning.rowsAffected).toBe(1);
    expect(returning.rows.map((row) => row[0])).toEqual(["z"]);
    await client.execute("DELETE FROM items");
  });

  it("reports zero changes for DDL and SELECT instead of the previous statement's count", async () => {
    await client.execute("INSERT INTO items (name) VALUES ('p'), ('q')");
    const created = await client.execute("CREATE TABLE IF NOT EXISTS other (a)");
    expect(created.rowsAffected).toBe(0);
    const selected = await client.execute("SELECT * FROM items");
    expect(selected.rowsAffected).toBe(0);
    await client.execute("DELETE FROM items");
  });

  it("reports a last insert rowid near 2^63 exactly", async () => {
    await client.execute("INSERT INTO items (id, name) VALUES (9223372036854775806, 'almost')");
    const next = await client.execute("INSERT INTO items (name) VALUES ('max')");
    expect(next.lastInsertRowid).toBe(9223372036854775807n);
    await client.execute("DELETE FROM items");
  });

  it("with want_rows false runs the statement but returns no rows (raw HTTP)", async () => {
    const response = await pipeline(server.url, null, [
      {
        type: "execute",
        stmt: { sql: "INSERT INTO items (name) VALUES ('quiet') RETURNING id, name", want_rows: false },
      },
      { type: "execute", stmt: { sql: "SELECT name FROM items WHERE name = 'quiet'" } },
      { type: "close" },
    ]);
    const quiet = okResponse(response.results[0]);
    if (quiet.type !== "execute") throw new Error("wrong response type");
    const result: StmtResult = quiet.result;
    expect(result.rows).toEqual([]);
    expect(result.cols.map((col) => col.name)).toEqual(["id", "name"]);
    expect(result.affected_row_count).toBe(1);
    expect(result.last_insert_rowid).toMatch(/^\d+$/);
    const check = okResponse(response.results[1]);
    expect(check.type === "execute" && check.result.rows).toEqual([[{ type: "text", value: "quiet" }]]);
    expect(response.baton).toBeNull();
    await client.execute("DELETE FROM items");
  });

  it("rejects positional and named arguments together (raw HTTP)", async () => {
    const response = await pipeline(server.url, null, [
      {
        type: "execute",
        stmt: { sql: "SELECT ?, :a", args: [{ type: "null" }], named_args: [{ name: "a", value: { type: "null" } }] },
      },
    ]);
    expect(errorOf(response.results[0]).code).toBe("ARGS_BOTH_POSITIONAL_AND_NAMED");
  });
});

describe("connection settings", () => {
  it("runs the database in WAL mode with synchronous=FULL, so commits are fsynced", async () => {
    const journal = await client.execute("PRAGMA journal_mode");
    expect(journal.rows[0]?.[0]).toBe("wal");
    const synchronous = await client.execute("PRAGMA synchronous");
    expect(synchronous.rows[0]?.[0]).toBe(2n);
  });

  it("enforces foreign keys, as libsql-server does, even after a stream turned them off", async () => {
    await client.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)");
    await client.execute("CREATE TABLE children (parent INTEGER REFERENCES parents (id))");
    await client.migrate(["INSERT INTO children VALUES (99)"]); // migrate() runs with foreign_keys=off
    // A stream that switches them off and never back must not hand that setting to later streams.
    const off = await pipeline(server.url, null, [
      { type: "execute", stmt: { sql: "PRAGMA foreign_keys = off" } },
      { type: "close" },
    ]);
    expect(off.results[0]?.type).toBe("ok");
    for (let i = 0; i < 3; i++) {
      await expectLibsqlError(client.execute("INSERT INTO children VALUES (42)"), "SQLITE_CONSTRAINT_FOREIGNKEY");
    }
    await client.executeMultiple("DROP TABLE children; DROP TABLE parents;");
  });
});
