import { describe, expect, it } from "vitest";
import { boundLogValue, describeError, formatLogLine, maxLogArrayItems, maxLogStringChars } from "../../worker/log.ts";

describe("describeError", () => {
  it("keeps the first line of each message along the cause chain, dropping bound values", () => {
    const cause = new Error("SERVER_ERROR: connection refused");
    const error = new Error("Failed query: update batch_runs set status = ?\nparams: running,secret-id", { cause });
    expect(describeError(error)).toBe(
      "Error: Failed query: update batch_runs set status = ? <- Error: SERVER_ERROR: connection refused",
    );
  });

  it("describes non-Error values", () => {
    expect(describeError("plain")).toBe("plain");
    expect(describeError(new TypeError("bad", { cause: 42 }))).toBe("TypeError: bad <- 42");
  });
});

describe("bounded log lines", () => {
  const sql = `insert into betas values ${Array.from({ length: 500 }, () => "(?, ?, ?)").join(", ")}`;

  it("cuts a long string to a few hundred characters, keeping its start and end, saying how much was cut", () => {
    const bounded = boundLogValue(sql) as string;
    expect(bounded.length).toBeLessThan(maxLogStringChars + 60);
    expect(bounded.startsWith("insert into betas values (?, ?, ?)")).toBe(true);
    expect(bounded.endsWith("(?, ?, ?)")).toBe(true);
    expect(bounded).toContain(`… [${sql.length - maxLogStringChars} chars cut] …`);
    expect(boundLogValue("short")).toBe("short");
  });

  it("cuts long arrays, nested strings and deep nesting; leaves numbers, booleans and null", () => {
    const params = Array.from({ length: 1500 }, (_, i) => i);
    const bounded = boundLogValue({ params, nested: { sql }, n: 1, ok: true, none: null }) as Record<string, unknown>;
    expect(bounded["params"]).toEqual([
      ...params.slice(0, maxLogArrayItems),
      `… [${1500 - maxLogArrayItems} more items cut]`,
    ]);
    expect((bounded["nested"] as { sql: string }).sql.length).toBeLessThan(maxLogStringChars + 60);
    expect(bounded).toMatchObject({ n: 1, ok: true, none: null });
    let deep: unknown = "bottom";
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(JSON.stringify(boundLogValue(deep))).toContain("[nested too deep, cut]");
  });

  it("keeps a failed-message line with ~500 placeholders under 2 KB, with the root cause", () => {
    const error = new Error(`Failed query: ${sql}\nparams: ${"1,".repeat(1500)}`, {
      cause: new Error("SQLITE_FULL: database or disk is full"),
    });
    const line = formatLogLine(
      "error",
      "batch.message_failed",
      { error: describeError(error), sql, params: Array.from({ length: 1500 }, () => 1) },
      new Date(0),
    );
    expect(line.length).toBeLessThan(2048);
    expect(JSON.parse(line)).toMatchObject({
      level: "error",
      event: "batch.message_failed",
      at: "1970-01-01T00:00:00.000Z",
    });
    expect(line).toContain("SQLITE_FULL: database or disk is full");
  });
});
