// SQLite connections for streams. Each stream owns one connection for its lifetime (so interactive
// transactions survive across HTTP requests); idle connections are pooled because most streams
// live for a single HTTP request.
import Database from "libsql";

type LibsqlDatabase = InstanceType<typeof Database>;
type LibsqlStatement = ReturnType<LibsqlDatabase["prepare"]>;

export class Connection {
  readonly db: LibsqlDatabase;
  /** Set when a statement changed per-connection state (PRAGMA, ATTACH, …) that a pool reset cannot undo. */
  tainted = false;
  /** Set while a "BEGIN TRANSACTION READONLY" is emulated with PRAGMA query_only. */
  queryOnly = false;
  #changesStatement: LibsqlStatement | undefined;

  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    this.db.defaultSafeIntegers(true);
    // FULL makes every commit fsync the WAL; foreign keys mirror libsql-server, which enables them on every connection.
    this.db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
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
  #closed = false;

  constructor(dbPath: string, maxIdle = 8) {
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
