// A Hrana stream: one SQLite connection plus the SQL texts the client stored on it, executing the
// stream requests of a pipeline strictly in order.
import { setTimeout as sleep } from "node:timers/promises";
import { maxCachedSqlLength, type Connection, type ConnectionPool } from "./connection-pool.ts";
import { HranaError } from "./protocol.ts";
import type {
  Batch,
  BatchCond,
  BatchResult,
  Col,
  DescribeResult,
  ProtoError,
  Stmt,
  StmtResult,
  StreamRequest,
  StreamResult,
  Value,
} from "./protocol.ts";
import { describeStatement, splitStatements } from "./sql-scan.ts";
import type { ParameterTable, StatementInfo } from "./sql-scan.ts";
import { fromSqliteValue, toSqliteValue } from "./values.ts";
import type { WriteLock } from "./write-lock.ts";
import type { SqliteValue } from "./values.ts";

export interface StreamOptions {
  /** How long a statement may wait for the write turn (and retry another process's lock) before SQLITE_BUSY. */
  busyTimeoutMs: number;
  /** The database's write turn, shared by its streams. */
  writeLock: WriteLock;
  /** True once the server is shutting down, so lock waits give up instead of delaying shutdown. */
  isStopping: () => boolean;
  /** Told the code of every error a statement answers with (the server watches for a full disk). */
  onError?: (code: string) => void;
}

/** Stored SQL texts per stream; generous for @libsql/client (which caches 30) but bounded. */
const maxStoredSql = 1000;

// OP_Transaction with p2 ≠ 0, OP_Vacuum and OP_JournalMode are what make SQLite's resolveP2Values()
// clear Vdbe.readOnly, i.e. what sqlite3_stmt_readonly() reports; OpenWrite is implied by them.
function programWrites(rows: Iterable<unknown>): boolean {
  let writes = false;
  for (const row of rows) {
    if (!Array.isArray(row)) continue;
    const opcode: unknown = row[1];
    const p2: unknown = row[3];
    if (
      (opcode === "Transaction" && p2 !== 0n && p2 !== 0) ||
      opcode === "Vacuum" ||
      opcode === "JournalMode" ||
      opcode === "OpenWrite"
    ) {
      writes = true;
    }
  }
  return writes;
}

function sqliteErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** Errors that belong in a result (`{message, code}`); anything else is a server bug and propagates. */
export function toProtoError(error: unknown): ProtoError | undefined {
  if (error instanceof HranaError) return { message: error.message, code: error.code };
  const code = sqliteErrorCode(error);
  if (code !== undefined && error instanceof Error) return { message: error.message, code };
  return undefined;
}

// Plain SQLITE_BUSY means another connection (another process: this server's streams take turns)
// holds a lock we need; SQLite uses the same code for "cannot commit transaction - SQL statements
// in progress", which waiting cannot fix, and SQLITE_BUSY_SNAPSHOT cannot be waited out either.
function isLockContention(error: unknown): boolean {
  return sqliteErrorCode(error) === "SQLITE_BUSY" && error instanceof Error && !error.message.includes("in progress");
}

function parameterLabel(parameters: ParameterTable, index: number): string {
  const name = parameters.names[index - 1];
  return name ?? `?${index} (parameter ${index})`;
}

function describeParameterCount(parameters: ParameterTable): string {
  return `${parameters.count} parameter${parameters.count === 1 ? "" : "s"}`;
}

function bindArguments(parameters: ParameterTable, stmt: Stmt): SqliteValue[] {
  const positional = stmt.args ?? [];
  const named = stmt.named_args ?? [];
  if (positional.length > 0 && named.length > 0) {
    throw new HranaError(
      "Specifying both positional and named arguments is not supported",
      "ARGS_BOTH_POSITIONAL_AND_NAMED",
    );
  }
  const values: SqliteValue[] = new Array<SqliteValue>(parameters.count).fill(null);
  if (named.length === 0) {
    if (positional.length !== parameters.count) {
      const verb = positional.length > parameters.count ? "Too many" : "Not enough";
      throw new HranaError(
        `${verb} arguments: the statement has ${describeParameterCount(parameters)}, ` +
          `but ${positional.length} positional argument${positional.length === 1 ? " was" : "s were"} given`,
        "ARGS_INVALID",
      );
    }
    positional.forEach((value, i) => {
      values[i] = toSqliteValue(value, `argument ${i + 1}`);
    });
    return values;
  }
  const indexByName = new Map<string, number>();
  parameters.names.forEach((name, i) => {
    if (name !== null) indexByName.set(name, i + 1);
  });
  const given = new Set<number>();
  for (const { name, value } of named) {
    const index = resolveParameterName(indexByName, name);
    if (given.has(index)) {
      throw new HranaError(
        `Argument for parameter ${parameterLabel(parameters, index)} was given more than once`,
        "ARGS_INVALID",
      );
    }
    given.add(index);
    values[index - 1] = toSqliteValue(value, `argument ${JSON.stringify(name)}`);
  }
  for (const index of [...parameters.used].sort((a, b) => a - b)) {
    if (!given.has(index)) {
      throw new HranaError(`Missing argument for parameter ${parameterLabel(parameters, index)}`, "ARGS_INVALID");
    }
  }
  return values;
}

// Clients may name ":id" as ":id" or just "id"; without a prefix, it must identify one parameter.
function resolveParameterName(indexByName: ReadonlyMap<string, number>, name: string): number {
  const exact = indexByName.get(name);
  if (exact !== undefined) return exact;
  if (/^[:@$?#]/.test(name)) {
    throw new HranaError(
      `Unknown named argument ${JSON.stringify(name)}: the statement has no such parameter`,
      "ARGS_INVALID",
    );
  }
  const candidates = [":", "@", "$"].map((prefix) => prefix + name).filter((candidate) => indexByName.has(candidate));
  const [only] = candidates;
  if (only === undefined) {
    throw new HranaError(
      `Unknown named argument ${JSON.stringify(name)}: the statement has no parameter :${name}, @${name} or $${name}`,
      "ARGS_INVALID",
    );
  }
  if (candidates.length > 1) {
    throw new HranaError(
      `Ambiguous named argument ${JSON.stringify(name)}: the statement has parameters ${candidates.join(" and ")}`,
      "ARGS_INVALID",
    );
  }
  return indexByName.get(only) ?? 0;
}

function singleStatement(sql: string): StatementInfo {
  const statements = splitStatements(sql);
  const [first] = statements;
  if (first === undefined) throw new HranaError("SQL string does not contain any statement", "SQL_NO_STATEMENT");
  if (statements.length > 1) {
    throw new HranaError(
      `SQL string contains more than one statement (${statements.length}); ` +
        `execute them one by one, in a batch, or as a sequence`,
      "SQL_MANY_STATEMENTS",
    );
  }
  return describeStatement(first);
}

function rowValues(row: unknown): Value[] {
  if (!Array.isArray(row)) throw new Error("libsql returned a row that is not an array in raw mode");
  return row.map(fromSqliteValue);
}

export class Stream {
  readonly #pool: ConnectionPool;
  readonly #options: StreamOptions;
  readonly #storedSql = new Map<number, string>();
  #connection: Connection | undefined;
  #closed = false;

  constructor(pool: ConnectionPool, options: StreamOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Rolls back whatever is in progress, gives the connection back, then the write turn. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#storedSql.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    try {
      if (connection !== undefined) this.#pool.release(connection);
    } finally {
      this.#options.writeLock.release(this);
    }
  }

  async handle(request: StreamRequest): Promise<StreamResult> {
    if (this.#closed) {
      return { type: "error", error: { message: "The stream has been closed", code: "STREAM_CLOSED" } };
    }
    try {
      switch (request.type) {
        case "close":
          this.close();
          return { type: "ok", response: { type: "close" } };
        case "execute":
          return { type: "ok", response: { type: "execute", result: await this.execute(request.stmt) } };
        case "batch":
          return { type: "ok", response: { type: "batch", result: await this.executeBatch(request.batch) } };
        case "sequence":
          await this.#sequence(this.#resolveSql(request));
          return { type: "ok", response: { type: "sequence" } };
        case "describe":
          return {
            type: "ok",
            response: { type: "describe", result: await this.#describe(this.#resolveSql(request)) },
          };
        case "store_sql":
          this.#storeSql(request.sql_id, request.sql);
          return { type: "ok", response: { type: "store_sql" } };
        case "close_sql":
          this.#storedSql.delete(request.sql_id);
          return { type: "ok", response: { type: "close_sql" } };
        case "get_autocommit":
          return {
            type: "ok",
            response: { type: "get_autocommit", is_autocommit: !(this.#connection?.inTransaction ?? false) },
          };
      }
    } catch (error) {
      const protoError = toProtoError(error);
      if (protoError === undefined) throw error;
      this.#options.onError?.(protoError.code);
      return { type: "error", error: protoError };
    }
  }

  async execute(stmt: Stmt): Promise<StmtResult> {
    const info = singleStatement(this.#resolveSql(stmt));
    const args = bindArguments(info.parameters, stmt);
    return this.#run(info, args, stmt.want_rows ?? true);
  }

  async executeBatch(batch: Batch): Promise<BatchResult> {
    batch.steps.forEach((step, index) => {
      if (step.condition != null) checkConditionSteps(step.condition, index);
    });
    const result: BatchResult = { step_results: [], step_errors: [] };
    for (const step of batch.steps) {
      if (step.condition != null && !this.#evaluate(step.condition, result)) {
        result.step_results.push(null);
        result.step_errors.push(null);
        continue;
      }
      try {
        result.step_results.push(await this.execute(step.stmt));
        result.step_errors.push(null);
      } catch (error) {
        const protoError = toProtoError(error);
        if (protoError === undefined) throw error;
        this.#options.onError?.(protoError.code);
        result.step_results.push(null);
        result.step_errors.push(protoError);
      }
    }
    return result;
  }

  #evaluate(condition: BatchCond, result: BatchResult): boolean {
    switch (condition.type) {
      case "ok":
        return result.step_results[condition.step] != null;
      case "error":
        return result.step_errors[condition.step] != null;
      case "not":
        return !this.#evaluate(condition.cond, result);
      case "and":
        return condition.conds.every((inner) => this.#evaluate(inner, result));
      case "or":
        return condition.conds.some((inner) => this.#evaluate(inner, result));
      case "is_autocommit":
        return !(this.#connection?.inTransaction ?? false);
    }
  }

  #resolveSql(source: { sql?: string | null | undefined; sql_id?: number | null | undefined }): string {
    if (source.sql != null) return source.sql;
    const id = source.sql_id;
    const sql = id == null ? undefined : this.#storedSql.get(id);
    if (sql === undefined)
      throw new HranaError(`No SQL text is stored under sql_id ${String(id)} on this stream`, "SQL_ID_NOT_FOUND");
    return sql;
  }

  #storeSql(id: number, sql: string): void {
    if (this.#storedSql.has(id))
      throw new HranaError(`A SQL text is already stored under sql_id ${id}`, "SQL_ID_EXISTS");
    if (this.#storedSql.size >= maxStoredSql) {
      throw new HranaError(
        `A stream can store at most ${maxStoredSql} SQL texts; close some with close_sql`,
        "SQL_STORE_FULL",
      );
    }
    this.#storedSql.set(id, sql);
  }

  async #connectionForUse(deadline: number): Promise<Connection> {
    if (this.#connection !== undefined) return this.#connection;
    const connection = await this.#pool.acquire(deadline - Date.now());
    if (this.#closed || this.#connection !== undefined) {
      // Closed (expired, server stopping) while it waited, or a concurrent request got one first.
      this.#pool.release(connection);
      if (this.#closed) throw new HranaError("The stream has been closed", "STREAM_CLOSED");
      return this.#connection ?? (await this.#connectionForUse(deadline));
    }
    this.#connection = connection;
    return connection;
  }

  async #sequence(sql: string): Promise<void> {
    for (const statement of splitStatements(sql)) {
      const info = describeStatement(statement);
      if (info.parameters.count > 0) {
        throw new HranaError(
          `Statements in a sequence cannot take parameters, ` +
            `but this one has ${describeParameterCount(info.parameters)}: ${info.sql}`,
          "ARGS_INVALID",
        );
      }
      await this.#run(info, [], false);
    }
  }

  async #run(info: StatementInfo, args: SqliteValue[], wantRows: boolean): Promise<StmtResult> {
    const deadline = Date.now() + this.#options.busyTimeoutMs;
    const connection = await this.#connectionForUse(deadline);
    if (info.changesConnectionState) connection.tainted = true;
    try {
      if (info.beginsReadonlyTransaction) {
        // libSQL's READONLY transaction, emulated: a deferred transaction on a connection that may not write.
        // exec() finalizes what it prepares, whatever happens, so a failed BEGIN leaves nothing in progress.
        await this.#retryingBusy(deadline, () => connection.db.exec("BEGIN DEFERRED"));
        connection.setQueryOnly(true);
        const { lastInsertRowid } = connection.changesAndLastInsertRowid();
        return { cols: [], rows: [], affected_row_count: 0, last_insert_rowid: lastInsertRowid.toString() };
      }
      // One writer at a time: a statement that writes waits for the database's write turn first,
      // so it never meets another stream's lock inside SQLite. A read-only transaction cannot write.
      if (!connection.queryOnly && !this.#options.writeLock.holds(this) && this.#writes(connection, info.sql)) {
        await this.#takeWriteTurn(deadline);
      }
      if (args.length === 0 && info.changesRows && !info.mayReturnRows && info.sql.length > maxCachedSqlLength) {
        return await this.#executeOnce(connection, info, deadline);
      }
      const statement = await this.#retryingBusy(deadline, () => connection.prepare(info.sql));
      return await this.#execute(connection, statement, info, args, wantRows, deadline);
    } finally {
      if (connection.queryOnly && !connection.inTransaction && !connection.retired) connection.setQueryOnly(false);
      this.#afterStatement();
    }
  }

  /**
   * A long write with its values inline (the batch's multi-row upserts, worker/db/upsert.ts), run
   * with exec(), which finalizes its statement whatever happens: such a text is used once, and a
   * prepared statement would hold its native memory until the garbage collector finalized it.
   */
  async #executeOnce(connection: Connection, info: StatementInfo, deadline: number): Promise<StmtResult> {
    await this.#retryingBusy(deadline, () => connection.db.exec(info.sql));
    const { changes, lastInsertRowid } = connection.changesAndLastInsertRowid();
    return { cols: [], rows: [], affected_row_count: Number(changes), last_insert_rowid: lastInsertRowid.toString() };
  }

  /**
   * Whether `sql` writes, from its program (cached per database); when that cannot be told, it is
   * assumed to. A text too long to remember is assumed to write without asking: an EXPLAIN of it
   * would be one more statement left to the garbage collector, and the cost of the assumption is
   * only that a long read waits for the write turn.
   */
  #writes(connection: Connection, sql: string): boolean {
    if (sql.length > maxCachedSqlLength) return true;
    const remembered = this.#pool.rememberedWrites(sql);
    if (remembered !== undefined) return remembered;
    let writes: boolean;
    try {
      const explained = connection.db.prepare(`EXPLAIN ${sql}`).raw(true);
      writes = programWrites(explained.iterate([]));
      resetExplain(explained, []);
    } catch {
      // Not preparable now (a syntax error, a missing table, a lock): the real prepare reports it;
      // taking the turn meanwhile is the safe side.
      return true;
    }
    this.#pool.rememberWrites(sql, writes);
    return writes;
  }

  async #takeWriteTurn(deadline: number): Promise<void> {
    if (this.#options.isStopping())
      throw new HranaError("database is locked: the server is shutting down", "SQLITE_BUSY");
    await this.#options.writeLock.acquire(this, deadline - Date.now());
    if (this.#closed) {
      // The stream was closed (expired, server stopping) while it waited.
      this.#options.writeLock.release(this);
      throw new HranaError("The stream has been closed", "STREAM_CLOSED");
    }
  }

  /**
   * After every statement: a connection left in an uncertain state is dropped (its transaction, if
   * any, rolled back), and the write turn is given back once the connection is out of its transaction.
   */
  #afterStatement(): void {
    const connection = this.#connection;
    if (connection?.retired === true && !connection.inTransaction) {
      this.#connection = undefined;
      this.#pool.release(connection);
    }
    if (!(this.#connection?.inTransaction ?? false)) this.#options.writeLock.release(this);
  }

  /**
   * Runs a prepared statement. SQLITE_BUSY (another process holding the lock: streams of this
   * server wait for their turn instead) is retried with the same statement, which the `libsql`
   * package resets before running it again, until the deadline. An error after which SQLite may
   * not have halted the statement is followed by halting it (haltStatement), so no statement ever
   * stays "in progress" on the connection.
   */
  async #execute(
    connection: Connection,
    statement: PreparedStatement,
    info: StatementInfo,
    args: SqliteValue[],
    wantRows: boolean,
    deadline: number,
  ): Promise<StmtResult> {
    let delayMs = 2;
    for (;;) {
      try {
        return runPrepared(connection, statement, info, args, wantRows);
      } catch (error) {
        if (!mayLeaveStatementActive(error)) throw error;
        // Halted, the statement leaves the connection as healthy as before, and it stays in use: a
        // connection closed instead would hold its native memory until the garbage collector got to
        // its statements (see connection-pool.ts). One that cannot be halted is retired.
        if (!haltStatement(connection, statement)) {
          this.#abandonConnection(connection, info.sql);
          throw error;
        }
        const remainingMs = deadline - Date.now();
        if (!isLockContention(error) || remainingMs <= 0 || this.#options.isStopping()) throw error;
        await sleep(Math.min(delayMs, remainingMs));
        delayMs = Math.min(delayMs * 2, 25);
      }
    }
  }

  /** A connection whose statement could not be halted: roll back what it has open and never use it again. */
  #abandonConnection(connection: Connection, sql: string): void {
    connection.forget(sql);
    connection.retired = true;
    if (connection.inTransaction) {
      try {
        // ROLLBACK works with statements in progress (they are aborted).
        connection.db.exec("ROLLBACK");
      } catch {
        // Closing the connection is what is left.
      }
    }
    if (this.#connection === connection) this.#connection = undefined;
    this.#pool.release(connection);
  }

  async #describe(sql: string): Promise<DescribeResult> {
    const info = singleStatement(sql);
    const deadline = Date.now() + this.#options.busyTimeoutMs;
    const connection = await this.#connectionForUse(deadline);
    // Only prepares (and EXPLAIN, which writes nothing and is reset after), so a retry is harmless.
    return this.#retryingBusy(deadline, () => {
      const statement = connection.db.prepare(info.sql);
      const cols = statement.reader
        ? statement.columns().map((column) => ({ name: column.name, decltype: column.type }))
        : [];
      let isReadonly = true;
      if (!info.isExplain && !info.beginsReadonlyTransaction) {
        const explained = connection.db.prepare(`EXPLAIN ${info.sql}`).raw(true);
        isReadonly = !programWrites(explained.iterate([]));
        resetExplain(explained, []);
      }
      return {
        params: info.parameters.names.map((name) => ({ name })),
        cols,
        is_explain: info.isExplain,
        is_readonly: isReadonly,
      };
    });
  }

  // For operations that leave nothing in progress when they fail (prepare, exec): retried
  // asynchronously, so a wait does not block the event loop.
  async #retryingBusy<T>(deadline: number, operation: () => T): Promise<T> {
    let delayMs = 2;
    for (;;) {
      try {
        return operation();
      } catch (error) {
        const remainingMs = deadline - Date.now();
        if (!isLockContention(error) || remainingMs <= 0 || this.#options.isStopping()) throw error;
        await sleep(Math.min(delayMs, remainingMs));
        delayMs = Math.min(delayMs * 2, 25);
      }
    }
  }
}

function checkConditionSteps(condition: BatchCond, stepIndex: number): void {
  switch (condition.type) {
    case "ok":
    case "error":
      if (condition.step >= stepIndex) {
        throw new HranaError(
          `The condition of batch step ${stepIndex} refers to step ${condition.step}, which is not an earlier step`,
          "BATCH_COND_INVALID",
        );
      }
      return;
    case "not":
      checkConditionSteps(condition.cond, stepIndex);
      return;
    case "and":
    case "or":
      for (const inner of condition.conds) checkConditionSteps(inner, stepIndex);
      return;
    case "is_autocommit":
      return;
  }
}

type PreparedStatement = ReturnType<Connection["db"]["prepare"]>;

// A drained EXPLAIN of a writing statement stays "active" in SQLite until reset (sqlite3VdbeList never
// halts), which blocks COMMIT. libsql exposes no reset(), but get() resets after stepping, and
// re-stepping an EXPLAIN has no side effects.
function resetExplain(statement: PreparedStatement, args: SqliteValue[]): void {
  statement.get(args);
}

/**
 * After SQLITE_BUSY (and the other lock errors) SQLite returns from sqlite3_step() without halting
 * the statement: it stays "in progress", and while it does, the connection's autocommit statements
 * never commit (their changes pile up in a transaction that is rolled back later) and COMMIT fails
 * with "SQL statements in progress". The same holds for a statement left half-read. Other SQLite
 * errors halt the statement.
 */
function mayLeaveStatementActive(error: unknown): boolean {
  const code = sqliteErrorCode(error);
  return code === undefined || code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

/**
 * Halts a statement that may be in progress, without side effects. The `libsql` package has no
 * reset(); its get() resets the statement, steps it once and resets it again. With PRAGMA
 * query_only on, a writing statement stops at its first step with SQLITE_READONLY (which halts
 * it) and a reading one reads one row. True when the statement is known halted.
 */
function haltStatement(connection: Connection, statement: PreparedStatement): boolean {
  const wasQueryOnly = connection.queryOnly;
  try {
    if (!wasQueryOnly) connection.db.exec("PRAGMA query_only=ON");
    try {
      statement.get([]);
    } catch (error) {
      // Binding nothing leaves the previous values bound, so a reading statement runs as it did.
      if (mayLeaveStatementActive(error)) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    if (!wasQueryOnly) {
      try {
        connection.db.exec("PRAGMA query_only=OFF");
      } catch {
        connection.retired = true;
      }
    }
  }
}

function runPrepared(
  connection: Connection,
  statement: PreparedStatement,
  info: StatementInfo,
  args: SqliteValue[],
  wantRows: boolean,
): StmtResult {
  let cols: Col[] = [];
  let rows: Value[][] = [];
  if (statement.reader) {
    cols = statement.columns().map((column) => ({ name: column.name, decltype: column.type }));
    statement.raw(true);
    // Always drain, and only then convert: the statement must run to completion even when the
    // client does not want rows, and nothing thrown here may leave it half-read.
    const raw: unknown[] = [];
    for (const row of statement.iterate(args)) {
      if (wantRows) raw.push(row);
    }
    if (info.isExplain) resetExplain(statement, args);
    rows = raw.map(rowValues);
  } else {
    statement.run(args);
  }
  const { changes, lastInsertRowid } = connection.changesAndLastInsertRowid();
  return {
    cols,
    rows,
    // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE, so it is stale for anything else.
    affected_row_count: info.changesRows ? Number(changes) : 0,
    last_insert_rowid: lastInsertRowid.toString(),
  };
}
