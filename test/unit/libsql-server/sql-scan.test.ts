import fc from "fast-check";
import Database from "libsql";
import { describe, expect, it } from "vitest";
import {
  describeStatement,
  scanParameters,
  splitStatements,
  tokenize,
} from "../../../scripts/libsql-server/sql-scan.ts";

function parametersOf(sql: string) {
  return scanParameters(tokenize(sql));
}

describe("SQL scanner: parameter indexing", () => {
  it("numbers plain ? parameters 1, 2, 3 in order", () => {
    const table = parametersOf("SELECT ?, ?, ?");
    expect(table.count).toBe(3);
    expect(table.names).toEqual([null, null, null]);
    expect(table.occurrences).toEqual([1, 2, 3]);
  });

  it("gives ?NNN index NNN and continues plain ? after the largest index so far", () => {
    const table = parametersOf("SELECT ?3, :a, ?");
    expect(table.count).toBe(5);
    expect(table.names).toEqual([null, null, "?3", ":a", null]);
    expect(table.occurrences).toEqual([3, 4, 5]);
    expect([...table.used].sort()).toEqual([3, 4, 5]);
  });

  it("reuses the first index of a named parameter that appears again", () => {
    const table = parametersOf("SELECT :a, :b, :a, ?");
    expect(table.count).toBe(3);
    expect(table.occurrences).toEqual([1, 2, 1, 3]);
    expect(table.names).toEqual([":a", ":b", null]);
  });

  it("treats :a, @a and $a as three different parameters", () => {
    expect(parametersOf("SELECT :a, @a, $a").names).toEqual([":a", "@a", "$a"]);
  });

  it("lets ?NNN share an index already named by a :name parameter", () => {
    const table = parametersOf("SELECT :a, ?1");
    expect(table.count).toBe(1);
    expect(table.names).toEqual([":a"]);
    expect(table.occurrences).toEqual([1, 1]);
  });

  it("ignores ? and :x inside strings, quoted identifiers and comments", () => {
    const sql = `SELECT '?', 'it''s :x ?', "?", [?], \`:y\`, ? -- ? :z
      /* ? :w
      */ , :real`;
    const table = parametersOf(sql);
    expect(table.names).toEqual([null, ":real"]);
  });

  it("reads TCL-style $names with :: and (…) suffixes as one parameter", () => {
    expect(parametersOf("SELECT $a::b, $f(g), $h").names).toEqual(["$a::b", "$f(g)", "$h"]);
  });

  it("matches SQLite's own parameter indexes for any mix of parameters, strings and comments", () => {
    // Every generated statement runs through the real engine, binding value i at index i, so
    // each result column reveals the index SQLite gave that parameter.
    const db = new Database(":memory:");
    db.defaultSafeIntegers(true);
    const parameter = fc.constantFrom("?", "?2", "?5", ":a", ":b", "@a", "$a", "$b::c", ":a1");
    // Decoys evaluate to text, so only bound parameters come back as integers.
    const decoy = fc.constantFrom("'?'", "'x'':y'", "/* ? */ 'c'", "'d' -- :z\n", "'$a'");
    try {
      fc.assert(
        fc.property(
          fc.array(fc.oneof({ arbitrary: parameter, weight: 3 }, { arbitrary: decoy, weight: 1 }), {
            minLength: 1,
            maxLength: 8,
          }),
          (terms) => {
            const sql = `SELECT ${terms.join(", ")}`;
            const table = parametersOf(sql);
            const args = Array.from({ length: table.count }, (_, i) => BigInt(i + 1));
            const row: unknown = db.prepare(sql).raw(true).get(args);
            const bound = (row as unknown[]).filter((value) => typeof value === "bigint");
            expect(bound, sql).toEqual(table.occurrences.map(BigInt));
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      db.close();
    }
  });
});

describe("SQL scanner: statement splitting", () => {
  it("splits on semicolons and drops empty statements and comments", () => {
    const statements = splitStatements("SELECT 1; ;; SELECT ';' -- x;\n; /* ; */ SELECT 3");
    expect(statements.map((statement) => statement.sql)).toEqual(["SELECT 1;", "SELECT ';' -- x;\n;", "SELECT 3"]);
  });

  it("finds no statement in empty SQL or SQL made of comments", () => {
    expect(splitStatements("")).toEqual([]);
    expect(splitStatements("  -- nothing\n /* at all */ ;")).toEqual([]);
  });

  it("keeps CREATE TRIGGER … BEGIN …; …; END as one statement, even with CASE … END inside", () => {
    const sql = `CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN
        UPDATE y SET n = CASE WHEN NEW.a THEN 1 ELSE 0 END;
        INSERT INTO z VALUES (1);
      END; SELECT 1`;
    const statements = splitStatements(sql);
    expect(statements).toHaveLength(2);
    expect(statements[0]?.sql).toMatch(/^CREATE TEMP TRIGGER[\s\S]*END;$/);
    expect(statements[1]?.sql).toBe("SELECT 1");
  });

  it("splits a plain statement that merely mentions the words TRIGGER and END", () => {
    expect(splitStatements("SELECT 'trigger' AS trigger_name, 1 AS end_; SELECT 2")).toHaveLength(2);
  });
});

describe("SQL scanner: statement kinds", () => {
  const info = (sql: string) => {
    const [statement] = splitStatements(sql);
    if (statement === undefined) throw new Error("no statement");
    return describeStatement(statement);
  };

  it("counts changes only for INSERT, UPDATE, DELETE and REPLACE, including behind WITH and with RETURNING", () => {
    expect(info("INSERT INTO t VALUES (1) RETURNING *").changesRows).toBe(true);
    expect(info("with c(x) AS (SELECT 1) insert into t SELECT x FROM c").changesRows).toBe(true);
    expect(info("WITH c AS (SELECT 1), d AS (SELECT 2) DELETE FROM t").changesRows).toBe(true);
    expect(info("REPLACE INTO t VALUES (1)").changesRows).toBe(true);
    expect(info("WITH c(x) AS (INSERT INTO q VALUES (1)) SELECT 1").changesRows).toBe(false);
    expect(info("SELECT 1").changesRows).toBe(false);
    expect(info("CREATE TABLE t(a)").changesRows).toBe(false);
    expect(info("EXPLAIN INSERT INTO t VALUES (1)").changesRows).toBe(false);
  });

  it("recognizes EXPLAIN and libSQL's BEGIN TRANSACTION READONLY", () => {
    expect(info("explain query plan SELECT 1").isExplain).toBe(true);
    expect(info("SELECT 'EXPLAIN'").isExplain).toBe(false);
    expect(info("BEGIN TRANSACTION READONLY").beginsReadonlyTransaction).toBe(true);
    expect(info("begin readonly;").beginsReadonlyTransaction).toBe(true);
    expect(info("BEGIN DEFERRED").beginsReadonlyTransaction).toBe(false);
    expect(info("BEGIN TRANSACTION").beginsReadonlyTransaction).toBe(false);
  });

  it("flags PRAGMA, ATTACH and DETACH as changing connection state", () => {
    expect(info("PRAGMA foreign_keys=off").changesConnectionState).toBe(true);
    expect(info("ATTACH ':memory:' AS m").changesConnectionState).toBe(true);
    expect(info("SELECT 1").changesConnectionState).toBe(false);
  });
});
