// SQLite connections for streams. Each stream owns one connection for its lifetime (so interactive
// transactions survive across HTTP requests); idle connections are pooled because most streams
// live for a single HTTP request.
import Database from "libsql";

type LibsqlDatabase = InstanceType<typeof Database>;
export type LibsqlStatement = ReturnType<LibsqlDatabase["prepare"]>;

/** Prepared statements kept per connection: re-preparing every execution leaves the native objects to the GC. */
const maxCachedStatements = 64;
/** SQL texts whose "does it write" answer is remembered per database. */
const maxRememberedWrites = 2000;
/**
 * Longer SQL texts are neither cached nor remembered: the batch's writers inline their values
 * (worker/db/upsert.ts), so such a text is used once, and keeping it would hold megabytes.
 */
const maxCachedSqlLength = 4096;

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
    this.db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
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

  /** sqlite3_changes() and sqlite3_last_insert_rowid() of the last completed statement; `run().lastInsertRowid` is a lossy JS number. */
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
      const temp: unknown = this.db.prepare("SELECT count(*) FROM temp.sqlite_schema").raw(true).get();
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

export class ConnectionPool {
  readonly #dbPath: string;
  readonly #maxIdle: number;
  readonly #idle: Connection[] = [];
  readonly #writes = new Map<string, boolean>();
  #closed = false;

  constructor(dbPath: string, maxIdle = 32) {
    this.#dbPath = dbPath;
    this.#maxIdle = maxIdle;
  }

  /** Switches the database file to WAL once; the journal mode is persistent, so connections need not repeat it. */
  initialize(): void {
    const connection = new Connection(this.#dbPath);
    try {
      const mode: unknown = connection.db.prepare("PRAGMA journal_mode=WAL").raw(true).get();
      if (!Array.isArray(mode) || String(mode[0]).toLowerCase() !== "wal") {
        throw new Error(`could not switch ${this.#dbPath} to WAL mode (journal_mode is ${String(Array.isArray(mode) ? mode[0] : mode)})`);
      }
    } catch (error) {
      connection.close();
      throw error;
    }
    this.release(connection);
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

  acquire(): Connection {
    if (this.#closed) throw new Error("connection pool is closed");
    return this.#idle.pop() ?? new Connection(this.#dbPath);
  }

  release(connection: Connection): void {
    if (!this.#closed && this.#idle.length < this.#maxIdle && connection.reset()) {
      this.#idle.push(connection);
    } else {
      if (connection.inTransaction) {
        try {
          connection.db.exec("ROLLBACK");
        } catch {
          // Closing the connection rolls back anyway.
        }
      }
      connection.close();
    }
  }

  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.close();
  }
}
