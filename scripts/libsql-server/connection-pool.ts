// SQLite connections for streams. Each stream owns one connection for its lifetime (so interactive
// transactions survive across HTTP requests); idle connections are pooled because most streams
// live for a single HTTP request.
//
// The pool is bounded and keeps what it opens. A connection of the `libsql` package is freed only
// when the garbage collector finalizes every statement prepared on it (close() does not free it
// while one is alive), and V8 does not see that native memory, so opening and closing connections
// under load grew the server's memory by hundreds of MiB (issue 14). Connections are therefore
// opened up to `maxConnections`, reused, and closed only when retired (rare) or at shutdown; a
// stream that finds every connection in use waits for one, up to its busy timeout.
import Database from "libsql";
import { HranaError } from "./protocol.ts";

type LibsqlDatabase = InstanceType<typeof Database>;
export type LibsqlStatement = ReturnType<LibsqlDatabase["prepare"]>;

/** Prepared statements kept per connection: re-preparing every execution leaves the native objects to the GC. */
const maxCachedStatements = 64;
/** Connections open at once (idle or in use), the default of `maxConnections`. */
export const defaultMaxConnections = 128;
/**
 * Page cache per connection, in KiB (SQLite's default is 2,000 KiB): 128 connections × 256 KiB bound it at 32 MiB; the
 * OS caches the file anyway.
 */
const cacheSizeKiB = 256;
/** SQL texts whose "does it write" answer is remembered per database. */
const maxRememberedWrites = 2000;
/**
 * Longer SQL texts are neither cached nor remembered: the batch's writers inline their values
 * (worker/db/upsert.ts), so such a text is used once, and keeping it would hold megabytes.
 */
export const maxCachedSqlLength = 4096;

export class Connection {
  readonly db: LibsqlDatabase;
  /** Set when a statement changed per-connection state (PRAGMA, ATTACH, …) that a pool reset cannot undo. */
  tainted = false;
  /** Set while a "BEGIN TRANSACTION READONLY" is emulated with PRAGMA query_only. */
  queryOnly = false;
  /**
   * Set when a statement failed in a way that may have left it (or the connection) in progress,
   * e.g. SQLITE_BUSY, after which SQLite does not halt the statement: such a connection is closed
   * when its stream ends, never pooled.
   */
  retired = false;
  #changesStatement: LibsqlStatement | undefined;
  readonly #statements = new Map<string, LibsqlStatement>();

  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    this.db.defaultSafeIntegers(true);
    // FULL makes every commit fsync the WAL; foreign keys mirror libsql-server, which enables them on every connection.
    this.db.exec(`PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-${cacheSizeKiB}`);
  }

  /**
   * A prepared statement for `sql`, reused across executions. The `libsql` package resets a
   * statement before each run()/iterate()/get(); every execution here ends with the statement
   * halted (run to completion, or stopped by an error that halts it), so a cached one is never
   * "in progress" between uses.
   */
  prepare(sql: string): LibsqlStatement {
    if (sql.length > maxCachedSqlLength) return this.db.prepare(sql);
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = this.db.prepare(sql);
    this.#statements.set(sql, statement);
    if (this.#statements.size > maxCachedStatements) {
      const [oldest] = this.#statements.keys();
      if (oldest !== undefined) this.#statements.delete(oldest);
    }
    return statement;
  }

  /** Drops a statement from the cache, e.g. one whose state is uncertain. */
  forget(sql: string): void {
    this.#statements.delete(sql);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /**
   * sqlite3_changes() and sqlite3_last_insert_rowid() of the last completed statement; `run().lastInsertRowid` is a
   * lossy JS number.
   */
  changesAndLastInsertRowid(): { changes: bigint; lastInsertRowid: bigint } {
    this.#changesStatement ??= this.db.prepare("SELECT changes(), last_insert_rowid()").raw(true);
    // get() steps once and then resets the statement, so it never stays "in progress".
    const row: unknown = this.#changesStatement.get([]);
    if (!Array.isArray(row) || typeof row[0] !== "bigint" || typeof row[1] !== "bigint") {
      throw new Error("unexpected result of SELECT changes(), last_insert_rowid()");
    }
    return { changes: row[0], lastInsertRowid: row[1] };
  }

  setQueryOnly(on: boolean): void {
    this.db.exec(`PRAGMA query_only=${on ? "ON" : "OFF"}`);
    this.queryOnly = on;
  }

  /** Leaves the connection as a fresh one would be, or reports that it cannot. */
  reset(): boolean {
    try {
      if (this.retired) return false;
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      if (this.queryOnly) this.setQueryOnly(false);
      if (this.tainted) return false;
      const temp: unknown = this.prepare("SELECT count(*) FROM temp.sqlite_schema").raw(true).get();
      return Array.isArray(temp) && temp[0] === 0n;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#statements.clear();
    this.#changesStatement = undefined;
    try {
      this.db.close();
    } catch {
      // Already unusable; nothing else to release.
    }
  }
}

interface Waiter {
  resolve(connection: Connection): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ConnectionPool {
  readonly #dbPath: string;
  readonly #maxConnections: number;
  readonly #idle: Connection[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #writes = new Map<string, boolean>();
  /** Connections open now, idle or in use. */
  #openCount = 0;
  /** Connections ever opened: with a healthy pool it stops growing once load is steady. */
  #opened = 0;
  #closed = false;

  constructor(dbPath: string, maxConnections = defaultMaxConnections) {
    if (!Number.isInteger(maxConnections) || maxConnections < 1)
      throw new Error(`maxConnections must be a positive integer, got ${maxConnections}`);
    this.#dbPath = dbPath;
    this.#maxConnections = maxConnections;
  }

  /** Switches the database file to WAL once; the journal mode is persistent, so connections need not repeat it. */
  initialize(): void {
    const connection = this.#openConnection();
    try {
      const mode: unknown = connection.db.prepare("PRAGMA journal_mode=WAL").raw(true).get();
      if (!Array.isArray(mode) || String(mode[0]).toLowerCase() !== "wal") {
        throw new Error(
          `could not switch ${this.#dbPath} to WAL mode (journal_mode ` +
            `is ${String(Array.isArray(mode) ? mode[0] : mode)})`,
        );
      }
    } catch (error) {
      this.#discard(connection);
      throw error;
    }
    this.release(connection);
  }

  get stats(): { open: number; idle: number; waiting: number; opened: number; max: number } {
    return {
      open: this.#openCount,
      idle: this.#idle.length,
      waiting: this.#waiters.length,
      opened: this.#opened,
      max: this.#maxConnections,
    };
  }

  /** The remembered answer to "does this SQL text write?", if any. */
  rememberedWrites(sql: string): boolean | undefined {
    return this.#writes.get(sql);
  }

  rememberWrites(sql: string, writes: boolean): void {
    if (sql.length > maxCachedSqlLength) return;
    if (this.#writes.size >= maxRememberedWrites) {
      const [oldest] = this.#writes.keys();
      if (oldest !== undefined) this.#writes.delete(oldest);
    }
    this.#writes.set(sql, writes);
  }

  /**
   * A connection for a stream: an idle one, a new one while under the cap, or the next one released, waiting at most
   * `timeoutMs`.
   */
  acquire(timeoutMs: number): Promise<Connection> {
    if (this.#closed)
      return Promise.reject(new HranaError("database is locked: the server is shutting down", "SQLITE_BUSY"));
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#openCount < this.#maxConnections) return Promise.resolve(this.#openConnection());
    const started = Date.now();
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(
          () => {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            reject(
              new HranaError(
                `database is locked: this statement waited ${Date.now() - started} ms (the busy timeout) for one ` +
                  `of the server's ${this.#maxConnections} connections, all in use by other streams; retry later`,
                "SQLITE_BUSY",
              ),
            );
          },
          Math.max(0, timeoutMs),
        ),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Gives a connection back: to the next waiting stream, to the idle list, or closed when it cannot be reset. */
  release(connection: Connection): void {
    if (this.#closed || !connection.reset()) {
      this.#discard(connection);
      // A closed connection frees a place under the cap.
      const waiter = this.#waiters.shift();
      if (waiter === undefined) return;
      clearTimeout(waiter.timer);
      try {
        waiter.resolve(this.#openConnection());
      } catch (error) {
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#idle.push(connection);
      return;
    }
    clearTimeout(waiter.timer);
    waiter.resolve(connection);
  }

  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) this.#discard(connection);
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new HranaError("database is locked: the server is shutting down", "SQLITE_BUSY"));
    }
  }

  #openConnection(): Connection {
    const connection = new Connection(this.#dbPath);
    this.#openCount++;
    this.#opened++;
    return connection;
  }

  #discard(connection: Connection): void {
    if (connection.inTransaction) {
      try {
        connection.db.exec("ROLLBACK");
      } catch {
        // Closing the connection rolls back anyway.
      }
    }
    connection.close();
    this.#openCount--;
  }
}
