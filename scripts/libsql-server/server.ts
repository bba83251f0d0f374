// A local stand-in for Turso: Hrana over HTTP (JSON encoding, protocol versions 2 and 3) on top of
// the `libsql` package, good enough for @libsql/client to run against unmodified.
//
// Endpoints: POST /v2/pipeline and /v3/pipeline (same JSON), POST /v3/cursor (newline-delimited
// JSON), GET /v2 and /v3 (200), GET /health. /v3-protobuf answers 404 so a client that probes for
// protobuf falls back to JSON.
//
// Error codes beyond SQLite's own (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY, …):
//   HTTP 400 BATON_INVALID, STREAM_EXPIRED, JSON_INVALID, REQUEST_INVALID; 401 UNAUTHORIZED;
//   REQUEST_ABORTED; 404 NOT_FOUND; 405 METHOD_NOT_ALLOWED; 413 BODY_TOO_LARGE; 500 INTERNAL_ERROR.
//   In results: SQL_NO_STATEMENT, SQL_MANY_STATEMENTS, ARGS_INVALID, ARGS_BOTH_POSITIONAL_AND_NAMED,
//   SQL_ID_NOT_FOUND, SQL_ID_EXISTS, SQL_STORE_FULL, BATCH_COND_INVALID, STREAM_CLOSED.
//
// libSQL's "BEGIN TRANSACTION READONLY" means a transaction that may not write; SQLite would take
// READONLY as a transaction name and allow writes, so it runs as BEGIN DEFERRED with
// PRAGMA query_only on until the transaction ends (writes fail with SQLITE_READONLY).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { ConnectionPool } from "./connection-pool.ts";
import { StorageMonitor } from "./storage.ts";
import { CursorRequestSchema, HranaError, PipelineRequestSchema, describeSchemaIssues } from "./protocol.ts";
import type { BatchResult, CursorEntry, PipelineResponse, StreamResult } from "./protocol.ts";
import { Stream, toProtoError } from "./stream.ts";
import { encodeJson } from "./values.ts";
import { WriteLock } from "./write-lock.ts";

export interface LibsqlServerOptions {
  dbPath: string;
  /** 0 picks an ephemeral port; default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, Hrana requests need `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /**
   * A stream (and its transaction, which is rolled back, releasing the write turn) is dropped after this long without
   * requests; default 10 s.
   */
  streamIdleMs?: number;
  /**
   * How long a write waits for its turn (another stream's write or write transaction), then SQLITE_BUSY; default 5 s.
   */
  busyTimeoutMs?: number;
  /**
   * SQLite connections open at once, idle or in use (default 128); a stream finding all in use waits up to
   * busyTimeoutMs.
   */
  maxConnections?: number;
  /** Under this much free disk space GET /health answers 503 degraded; default 16 MiB. */
  minFreeBytes?: number;
  /** Larger request bodies get HTTP 413; default 32 MiB. */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface LibsqlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** An error answered with a non-200 HTTP status and a `{message, code}` JSON body. */
class HttpError extends HranaError {
  readonly status: number;
  constructor(status: number, message: string, code: string) {
    super(message, code);
    this.status = status;
  }
}

interface StreamEntry {
  stream: Stream;
  baton: string | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/** Remembered so that a client reusing an expired baton learns why, instead of "invalid baton". */
const maxRememberedExpiredBatons = 10_000;

class StreamRegistry {
  readonly #byBaton = new Map<string, StreamEntry>();
  readonly #expiredBatons = new Set<string>();
  readonly #live = new Set<StreamEntry>();
  readonly #createStream: () => Stream;
  readonly #idleMs: number;

  constructor(createStream: () => Stream, idleMs: number) {
    this.#createStream = createStream;
    this.#idleMs = idleMs;
  }

  open(): StreamEntry {
    const entry: StreamEntry = { stream: this.#createStream(), baton: undefined, idleTimer: undefined };
    this.#live.add(entry);
    return entry;
  }

  /** Hands out the stream a baton belongs to; the baton is spent whatever happens next. */
  take(baton: string): StreamEntry {
    const entry = this.#byBaton.get(baton);
    if (entry === undefined) {
      if (this.#expiredBatons.has(baton)) {
        throw new HttpError(
          400,
          "The stream has expired because it was idle for too long; any transaction on it was rolled back",
          "STREAM_EXPIRED",
        );
      }
      throw new HttpError(
        400,
        "The baton is not valid: it was never issued, was already used, or its stream was closed",
        "BATON_INVALID",
      );
    }
    this.#byBaton.delete(baton);
    clearTimeout(entry.idleTimer);
    entry.baton = undefined;
    entry.idleTimer = undefined;
    return entry;
  }

  /** Issues a fresh baton for the next request on this stream, or null once it is closed. */
  park(entry: StreamEntry): string | null {
    if (entry.stream.closed) {
      this.#live.delete(entry);
      return null;
    }
    const baton = randomBytes(24).toString("base64url");
    entry.baton = baton;
    this.#byBaton.set(baton, entry);
    entry.idleTimer = setTimeout(() => this.#expire(entry, baton), this.#idleMs);
    entry.idleTimer.unref();
    return baton;
  }

  discard(entry: StreamEntry): void {
    entry.stream.close();
    this.#live.delete(entry);
  }

  #expire(entry: StreamEntry, baton: string): void {
    if (entry.baton !== baton) return;
    this.#byBaton.delete(baton);
    entry.baton = undefined;
    this.#expiredBatons.add(baton);
    if (this.#expiredBatons.size > maxRememberedExpiredBatons) {
      const [oldest] = this.#expiredBatons;
      if (oldest !== undefined) this.#expiredBatons.delete(oldest);
    }
    this.discard(entry);
  }

  closeAll(): void {
    for (const entry of this.#live) {
      clearTimeout(entry.idleTimer);
      entry.stream.close();
    }
    this.#live.clear();
    this.#byBaton.clear();
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = encodeJson(body);
  // @libsql/client only parses error bodies whose content type is exactly "application/json".
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function isAuthorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (match?.[1] === undefined) return false;
  // Hashing first gives equal lengths, so the comparison time does not depend on the token.
  const given = createHash("sha256").update(match[1]).digest();
  const expected = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        // Keep reading (so the client gets to see the 413), but not forever.
        if (received > maxBytes * 2 + 16 * 1024 * 1024) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge)
        reject(new HttpError(413, `The request body is larger than the limit of ${maxBytes} bytes`, "BODY_TOO_LARGE"));
      else resolveBody(Buffer.concat(chunks));
    });
    req.on("error", (error) =>
      reject(new HttpError(400, `The request failed while being read: ${error.message}`, "REQUEST_ABORTED")),
    );
    req.on("close", () => {
      if (!req.complete) reject(new HttpError(400, "The request body was cut short", "REQUEST_ABORTED"));
    });
  });
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return parsed;
  } catch (error) {
    throw new HttpError(
      400,
      `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      "JSON_INVALID",
    );
  }
}

function cursorEntries(result: BatchResult): CursorEntry[] {
  const entries: CursorEntry[] = [];
  result.step_results.forEach((stepResult, step) => {
    const stepError = result.step_errors[step];
    if (stepResult != null) {
      entries.push({ type: "step_begin", step, cols: stepResult.cols });
      for (const row of stepResult.rows) entries.push({ type: "row", row });
      entries.push({
        type: "step_end",
        affected_row_count: stepResult.affected_row_count,
        last_insert_rowid: stepResult.last_insert_rowid,
      });
    } else if (stepError != null) {
      entries.push({ type: "step_error", step, error: stepError });
    }
  });
  return entries;
}

export async function startLibsqlServer(options: LibsqlServerOptions): Promise<LibsqlServer> {
  const dbPath = resolve(options.dbPath);
  const host = options.host ?? "127.0.0.1";
  const streamIdleMs = options.streamIdleMs ?? 10_000;
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const authToken = options.authToken === "" ? undefined : options.authToken;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  mkdirSync(dirname(dbPath), { recursive: true });
  const pool = new ConnectionPool(dbPath, options.maxConnections);
  pool.initialize();
  const storage = new StorageMonitor(dbPath, options.minFreeBytes);

  let stopping = false;
  const writeLock = new WriteLock();
  const registry = new StreamRegistry(
    () =>
      new Stream(pool, {
        busyTimeoutMs,
        writeLock,
        isStopping: () => stopping,
        onError: (code) => storage.noteError(code),
      }),
    streamIdleMs,
  );

  function streamFor(baton: string | null | undefined): StreamEntry {
    return baton == null ? registry.open() : registry.take(baton);
  }

  async function handlePipeline(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = PipelineRequestSchema.safeParse(await readJson(req, maxBodyBytes));
    if (!parsed.success)
      throw new HttpError(400, `Invalid pipeline request: ${describeSchemaIssues(parsed.error)}`, "REQUEST_INVALID");
    const entry = streamFor(parsed.data.baton);
    const results: StreamResult[] = [];
    try {
      // Every request runs, in order, even after one fails; each result reports its own outcome.
      for (const request of parsed.data.requests) results.push(await entry.stream.handle(request));
    } catch (error) {
      registry.discard(entry);
      throw error;
    }
    const response: PipelineResponse = { baton: registry.park(entry), base_url: null, results };
    sendJson(res, 200, response);
  }

  async function handleCursor(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = CursorRequestSchema.safeParse(await readJson(req, maxBodyBytes));
    if (!parsed.success)
      throw new HttpError(400, `Invalid cursor request: ${describeSchemaIssues(parsed.error)}`, "REQUEST_INVALID");
    const entry = streamFor(parsed.data.baton);
    let entries: CursorEntry[];
    try {
      entries = cursorEntries(await entry.stream.executeBatch(parsed.data.batch));
    } catch (error) {
      const protoError = toProtoError(error);
      if (protoError === undefined) {
        registry.discard(entry);
        throw error;
      }
      entries = [{ type: "error", error: protoError }];
    }
    const head = { baton: registry.park(entry), base_url: null };
    const text = [head, ...entries].map((item) => `${encodeJson(item)}\n`).join("");
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const method = req.method ?? "GET";
    const requireMethod = (allowed: string): void => {
      if (method !== allowed)
        throw new HttpError(405, `${path} accepts only ${allowed} requests`, "METHOD_NOT_ALLOWED");
    };
    if (path === "/health") {
      requireMethod("GET");
      // Storage first (free space, a recent SQLITE_FULL), then the connection pool's figures.
      const report = storage.report();
      sendJson(res, report.status === "ok" ? 200 : 503, { ...report, connections: pool.stats });
      return;
    }
    // Clients probe these to pick a protocol version; we speak JSON only, so v3-protobuf must look absent.
    if (path === "/v3-protobuf" || path.startsWith("/v3-protobuf/")) {
      throw new HttpError(404, "This server does not support the protobuf encoding", "NOT_FOUND");
    }
    if (path === "/v2" || path === "/v3") {
      requireMethod("GET");
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(`Hrana over HTTP, JSON encoding (${path.slice(1)})\n`);
      return;
    }
    if (path.startsWith("/v2/") || path.startsWith("/v3/")) {
      if (authToken !== undefined && method === "POST" && !isAuthorized(req.headers.authorization, authToken)) {
        throw new HttpError(
          401,
          "Missing or wrong authentication token (expected `Authorization: Bearer <token>`)",
          "UNAUTHORIZED",
        );
      }
      if (path === "/v2/pipeline" || path === "/v3/pipeline") {
        requireMethod("POST");
        await handlePipeline(req, res);
        return;
      }
      if (path === "/v3/cursor") {
        requireMethod("POST");
        await handleCursor(req, res);
        return;
      }
    }
    throw new HttpError(404, `No such endpoint: ${method} ${path}`, "NOT_FOUND");
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(res, error.status, { message: error.message, code: error.code });
        return;
      }
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`libsql-server: internal error on ${req.method ?? "?"} ${req.url ?? "?"}: ${detail}`);
      sendJson(res, 500, {
        message: `Internal server error: ${error instanceof Error ? error.message : String(error)}`,
        code: "INTERNAL_ERROR",
      });
    });
  });
  // Keep idle connections longer than clients do: workerd's fetch reuses pooled connections,
  // and a server closing one (Node's default is 5 s idle) just as the Worker sends on it
  // surfaces as "Network connection lost" in the Worker. Turso's servers keep them longer too.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });

  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once("error", rejectListen);
      server.listen(options.port ?? 8080, host, () => {
        server.off("error", rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    pool.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolveClose) => {
      stopping = true;
      // Writers still waiting for their turn get an answer now rather than at their deadline.
      writeLock.close("database is locked: the server is shutting down");
      const forceTimer = setTimeout(() => server.closeAllConnections(), 2_000);
      server.close(() => {
        clearTimeout(forceTimer);
        registry.closeAll();
        pool.close();
        resolveClose();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { url, port, close };
}
