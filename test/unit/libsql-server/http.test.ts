import { createClient } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectLibsqlError, pipeline, post, startTestServer } from "./harness.ts";
import type { HttpReply, TestServer } from "./harness.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await server.stop();
});

async function expectServerStillAnswers(): Promise<void> {
  const response = await pipeline(server.url, null, [
    { type: "execute", stmt: { sql: "SELECT 1" } },
    { type: "close" },
  ]);
  expect(response.results[0]?.type).toBe("ok");
}

function expectJsonError(reply: HttpReply, status: number, code: string, message: RegExp): void {
  expect(reply.status).toBe(status);
  // @libsql/client reads error bodies only when the content type is exactly this.
  expect(reply.contentType).toBe("application/json");
  expect(reply.json).toMatchObject({ code, message: expect.stringMatching(message) });
}

describe("endpoints", () => {
  it("GET /health answers 200 ok with the disk's free space and the connection pool's figures", async () => {
    const response = await fetch(new URL("/health", server.url));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "ok",
      problems: [],
      last_write_failure: null,
      connections: { max: 128, waiting: 0 },
    });
    const disk = body.disk as { free_bytes: number; total_bytes: number };
    expect(disk.free_bytes).toBeGreaterThan(0);
    expect(disk.total_bytes).toBeGreaterThanOrEqual(disk.free_bytes);
  });

  it("GET /v2 and /v3 answer 200 while /v3-protobuf and /v3-protobuf/pipeline answer 404", async () => {
    for (const [path, status] of [
      ["/v2", 200],
      ["/v3", 200],
      ["/v3-protobuf", 404],
      ["/v3-protobuf/pipeline", 404],
    ] as const) {
      const response = await fetch(new URL(path, server.url));
      await response.arrayBuffer();
      expect(response.status, path).toBe(status);
    }
  });

  it("unknown paths answer 404 and GET on a pipeline endpoint answers 405, both as JSON", async () => {
    const missing = await fetch(new URL("/v2/nothing", server.url), { method: "POST", body: "{}" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/json");
    const wrongMethod = await fetch(new URL("/v2/pipeline", server.url));
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
  });

  it("/v3/pipeline speaks the same JSON as /v2/pipeline", async () => {
    const response = await pipeline(
      server.url,
      null,
      [{ type: "execute", stmt: { sql: "SELECT 'v3'" } }, { type: "close" }],
      "/v3/pipeline",
    );
    expect(response).toEqual({
      baton: null,
      base_url: null,
      results: [
        {
          type: "ok",
          response: {
            type: "execute",
            result: {
              cols: [{ name: "'v3'", decltype: null }],
              rows: [[{ type: "text", value: "v3" }]],
              affected_row_count: 0,
              last_insert_rowid: "0",
            },
          },
        },
        { type: "ok", response: { type: "close" } },
      ],
    });
  });
});

describe("bad input", () => {
  it("malformed JSON gets 400 JSON_INVALID and the server keeps serving", async () => {
    expectJsonError(
      await post(server.url, "/v2/pipeline", '{"baton": null, "requests": ['),
      400,
      "JSON_INVALID",
      /not valid JSON/,
    );
    await expectServerStillAnswers();
  });

  it("an unknown request type gets 400 REQUEST_INVALID naming the field", async () => {
    const reply = await post(server.url, "/v2/pipeline", {
      baton: null,
      requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "frobnicate" }],
    });
    expectJsonError(reply, 400, "REQUEST_INVALID", /requests\[1\]\.type/);
    await expectServerStillAnswers();
  });

  it("a bad value gets 400 REQUEST_INVALID naming the argument", async () => {
    const reply = await post(server.url, "/v2/pipeline", {
      baton: null,
      requests: [
        { type: "execute", stmt: { sql: "SELECT ?, ?", args: [{ type: "null" }, { type: "integer", value: 5 }] } },
      ],
    });
    expectJsonError(reply, 400, "REQUEST_INVALID", /requests\[0\]\.stmt\.args\[1\]\.value/);
    await expectServerStillAnswers();
  });

  it("integers outside the signed 64-bit range and invalid base64 are rejected with 400", async () => {
    const tooBig = await post(server.url, "/v2/pipeline", {
      baton: null,
      requests: [
        { type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "9223372036854775808" }] } },
      ],
    });
    expectJsonError(tooBig, 400, "REQUEST_INVALID", /64-bit/);
    const badBlob = await post(server.url, "/v2/pipeline", {
      baton: null,
      requests: [{ type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "blob", base64: "not base64!" }] } }],
    });
    expectJsonError(badBlob, 400, "REQUEST_INVALID", /base64/);
  });

  it("a body that is not a pipeline request, or a statement with both sql and sql_id, gets 400", async () => {
    expectJsonError(await post(server.url, "/v2/pipeline", [1, 2, 3]), 400, "REQUEST_INVALID", /expected object/);
    expectJsonError(
      await post(server.url, "/v2/pipeline", {
        baton: null,
        requests: [{ type: "execute", stmt: { sql: "SELECT 1", sql_id: 1 } }],
      }),
      400,
      "REQUEST_INVALID",
      /exactly one of `sql` and `sql_id`/,
    );
  });

  it("an oversized body gets 413 and the server keeps serving", async () => {
    const reply = await post(server.url, "/v2/pipeline", {
      baton: null,
      requests: [{ type: "execute", stmt: { sql: `SELECT '${"x".repeat(100 * 1024)}'` } }],
    });
    expectJsonError(reply, 413, "BODY_TOO_LARGE", /larger than the limit/);
    await expectServerStillAnswers();
  });

  it("never logs an internal error for any of the bad inputs above", () => {
    expect(server.logs.filter((line) => line.includes("internal error"))).toEqual([]);
  });
});

describe("authentication", () => {
  it("requires the bearer token when one is configured: 401 UNAUTHORIZED without it, success with it", async () => {
    const guarded = await startTestServer({ authToken: "s3cret-token" });
    const anonymous = createClient({ url: guarded.url });
    const wrong = createClient({ url: guarded.url, authToken: "wrong-token" });
    const authorized = createClient({ url: guarded.url, authToken: "s3cret-token" });
    try {
      await expectLibsqlError(anonymous.execute("SELECT 1"), "UNAUTHORIZED");
      await expectLibsqlError(wrong.execute("SELECT 1"), "UNAUTHORIZED");
      const raw = await post(guarded.url, "/v3/pipeline", { baton: null, requests: [] });
      expectJsonError(raw, 401, "UNAUTHORIZED", /token/);
      const result = await authorized.execute("SELECT 'welcome'");
      expect(result.rows[0]?.[0]).toBe("welcome");
      // Health and version probes stay open.
      expect((await fetch(new URL("/health", guarded.url))).status).toBe(200);
    } finally {
      anonymous.close();
      wrong.close();
      authorized.close();
      await guarded.stop();
    }
  });
});

describe("@libsql/client/web", () => {
  it("works unmodified: execute, batch and an interactive transaction", async () => {
    const web = createWebClient({ url: server.url });
    try {
      await web.execute("CREATE TABLE web_things (id INTEGER PRIMARY KEY, label TEXT)");
      const batch = await web.batch(
        [
          { sql: "INSERT INTO web_things (label) VALUES (?)", args: ["one"] },
          { sql: "INSERT INTO web_things (label) VALUES (:label)", args: { label: "two" } },
        ],
        "write",
      );
      expect(batch.map((result) => result.rowsAffected)).toEqual([1, 1]);
      const transaction = await web.transaction("write");
      await transaction.execute("INSERT INTO web_things (label) VALUES ('three')");
      await transaction.commit();
      const rows = await web.execute("SELECT label FROM web_things ORDER BY id");
      expect(rows.rows.map((row) => row.label)).toEqual(["one", "two", "three"]);
    } finally {
      web.close();
    }
  });
});
