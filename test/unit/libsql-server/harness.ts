// Shared setup for the libsql-server conformance suite: a real server on an ephemeral port with a
// throwaway database file, and a raw HTTP helper for what @libsql/client has no API for.
import { LibsqlError } from "@libsql/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLibsqlServer } from "../../../scripts/libsql-server/server.ts";
import type { LibsqlServer, LibsqlServerOptions } from "../../../scripts/libsql-server/server.ts";
import { expect } from "vitest";
import type { PipelineResponse, StreamResult } from "../../../scripts/libsql-server/protocol.ts";

export interface TestServer extends LibsqlServer {
  dir: string;
  dbPath: string;
  logs: string[];
  stop(): Promise<void>;
}

export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), "libsql-server-test-"));
}

export async function startTestServer(options: Partial<LibsqlServerOptions> = {}): Promise<TestServer> {
  const dir = makeTempDir();
  // A nested path proves the server creates the database's directory.
  const dbPath = join(dir, "nested", "test.db");
  const logs: string[] = [];
  const server = await startLibsqlServer({ dbPath, port: 0, log: (line) => logs.push(line), ...options });
  return {
    ...server,
    dir,
    dbPath,
    logs,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpReply {
  status: number;
  contentType: string | null;
  text: string;
  json: unknown;
}

export async function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const response = await fetch(new URL(path, url), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get("content-type"), text, json };
}

/** Sends a pipeline and insists on HTTP 200, returning the decoded body. */
export async function pipeline(
  url: string,
  baton: string | null,
  requests: unknown[],
  path = "/v2/pipeline",
): Promise<PipelineResponse> {
  const reply = await post(url, path, { baton, requests });
  if (reply.status !== 200) throw new Error(`pipeline answered HTTP ${reply.status}: ${reply.text}`);
  return reply.json as PipelineResponse;
}

export function okResponse(result: StreamResult | undefined): Extract<StreamResult, { type: "ok" }>["response"] {
  if (result?.type !== "ok") throw new Error(`expected an ok result, got ${JSON.stringify(result)}`);
  return result.response;
}

export function errorOf(result: StreamResult | undefined): { message: string; code: string } {
  if (result?.type !== "error") throw new Error(`expected an error result, got ${JSON.stringify(result)}`);
  return result.error;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Awaits a rejection and checks it is the client's LibsqlError with the given code (and message). */
export async function expectLibsqlError(
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<LibsqlError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LibsqlError);
  const libsqlError = error as LibsqlError;
  expect(libsqlError.code).toBe(code);
  if (message !== undefined) expect(libsqlError.message).toMatch(message);
  return libsqlError;
}
