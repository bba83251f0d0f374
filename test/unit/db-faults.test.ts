// The one classification of database faults (worker/db/client.ts) and the error boundary's
// answer to them (worker/http/errors.ts): 503 DATABASE_UNAVAILABLE with Retry-After.
import { captureLogs, eventsOf } from "../support/logs.ts";
import { LibsqlError } from "@libsql/client/web";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { databaseFault, DatabaseUnavailableError, dbTimeoutMs } from "../../worker/db/client.ts";
import { ApiError, handleError } from "../../worker/http/errors.ts";

/** drizzle's wrapping: "Failed query: …" with the client's error as the cause. */
function failedQuery(cause: unknown): Error {
  return new Error(`Failed query: insert into t values ${"(?, ?), ".repeat(250)}\nparams: 1,2`, { cause });
}

describe("databaseFault", () => {
  it.each([
    ["SQLITE_FULL", "full"],
    ["SQLITE_BUSY", "busy"],
    ["SQLITE_BUSY_SNAPSHOT", "busy"],
    ["SQLITE_IOERR_WRITE", "io_error"],
  ])("classifies a LibsqlError %s under drizzle's wrapper as %s", (code, reason) => {
    expect(databaseFault(failedQuery(new LibsqlError("boom", code)))).toMatchObject({ reason });
  });

  it("classifies the fetch wrapper's timeout and unreachable errors", () => {
    expect(databaseFault(failedQuery(new DatabaseUnavailableError("timeout", "x")))?.reason).toBe("timeout");
    expect(databaseFault(new DatabaseUnavailableError("unreachable", "x"))?.reason).toBe("unreachable");
  });

  it("classifies a 5xx from the server, not a 401 or a query error", () => {
    const http = (status: number) =>
      new LibsqlError(
        "Server returned HTTP status",
        "SERVER_ERROR",
        undefined,
        undefined,
        Object.assign(new Error("http"), { status }),
      );
    expect(databaseFault(http(502))?.reason).toBe("server_error");
    expect(databaseFault(http(401))).toBeNull();
    expect(
      databaseFault(failedQuery(new LibsqlError("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE"))),
    ).toBeNull();
    expect(databaseFault(new TypeError("x is undefined"))).toBeNull();
  });
});

describe("dbTimeoutMs", () => {
  it("reads DB_TIMEOUT_MS when it is a positive number, else 10 s", () => {
    expect(dbTimeoutMs({})).toBe(10_000);
    expect(dbTimeoutMs({ DB_TIMEOUT_MS: "2500" })).toBe(2500);
    expect(dbTimeoutMs({ DB_TIMEOUT_MS: "soon" })).toBe(10_000);
    expect(dbTimeoutMs({ DB_TIMEOUT_MS: "0" })).toBe(10_000);
  });
});

describe("handleError", () => {
  function appThrowing(error: Error) {
    const app = new Hono();
    app.get("/x", () => {
      throw error;
    });
    app.onError(handleError);
    return app;
  }

  it("answers a full database with 503 DATABASE_UNAVAILABLE, Retry-After and no SQL or stack", async () => {
    const logged = captureLogs("http.database_unavailable");
    const response = await appThrowing(failedQuery(new LibsqlError("database or disk is full", "SQLITE_FULL"))).request(
      "/x",
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: "DATABASE_UNAVAILABLE",
        message: "the database is full (SQLITE_FULL): writes fail until space is freed; try again in 5 s",
        details: { reason: "full", retry_after_seconds: 5 },
      },
    });
    expect(text).not.toMatch(/insert|Failed query|\.ts:\d+/);
    expect(eventsOf(logged)).toEqual(["http.database_unavailable"]);
  });

  it("still answers other errors as before: ApiError as itself, anything else a bare 500", async () => {
    const logged = captureLogs("http.unhandled_error");
    expect((await appThrowing(new ApiError(409, "CONFLICT", "taken")).request("/x")).status).toBe(409);
    const response = await appThrowing(new TypeError("x is undefined")).request("/x");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: "INTERNAL_ERROR", message: "internal error" } });
    // The 500 is logged (with the error), the 409 is not: it is the caller's mistake.
    expect(eventsOf(logged)).toEqual(["http.unhandled_error"]);
  });
});
