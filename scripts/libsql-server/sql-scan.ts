// A small SQL scanner that mirrors SQLite's own tokenizer closely enough to answer the questions the
// `libsql` npm package cannot: where one statement ends (it silently runs only the first of
// "SELECT 1; SELECT 2"), which parameters a statement has and which index SQLite gives each of them
// (it silently binds NULL for missing ones and ignores extra ones), and what kind of statement it is.

export type TokenKind =
  | "word"
  | "parameter"
  | "semicolon"
  | "open-paren"
  | "close-paren"
  | "string"
  | "quoted-identifier"
  | "other";

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
}

export interface SqlStatement {
  /** The statement's source text, from its first token through its terminating semicolon (if any). */
  sql: string;
  tokens: Token[];
}

export interface ParameterTable {
  /** What sqlite3_bind_parameter_count() would return: the largest parameter index in use. */
  count: number;
  /**
   * names[i - 1] is the name of parameter i as sqlite3_bind_parameter_name() reports it ("?3", ":id"), or null for "?"
   * and unused indexes.
   */
  names: (string | null)[];
  /** Parameter indexes that appear in the SQL text; indexes skipped by "?NNN" are absent. */
  used: Set<number>;
  /** The index of each parameter token, in order of appearance. */
  occurrences: number[];
}

export interface StatementInfo {
  sql: string;
  parameters: ParameterTable;
  isExplain: boolean;
  /**
   * INSERT, UPDATE, DELETE or REPLACE, possibly behind a WITH clause: the only statements whose sqlite3_changes() is
   * meaningful.
   */
  changesRows: boolean;
  /** libSQL's "BEGIN TRANSACTION READONLY" (plain SQLite would read READONLY as a transaction name). */
  beginsReadonlyTransaction: boolean;
  /** PRAGMA, ATTACH and DETACH change per-connection state that must not leak into another stream via the pool. */
  changesConnectionState: boolean;
  /**
   * A RETURNING keyword appears (so an INSERT/UPDATE/DELETE may return rows); false positives only cost the general
   * path.
   */
  mayReturnRows: boolean;
}

const maxVariableNumber = 32766;

function isIdentifierStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code >= 0x80;
}

function isIdentifierChar(code: number): boolean {
  return isIdentifierStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x24;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/**
 * Tokenizes SQL text, dropping whitespace and comments. Unterminated strings and comments run to the end, as in SQLite
 * (which then reports the error when preparing).
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const length = sql.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number): void => {
    tokens.push({ kind, text: sql.slice(start, end), start, end });
  };
  while (i < length) {
    const start = i;
    const code = sql.charCodeAt(i);
    const next = i + 1 < length ? sql.charCodeAt(i + 1) : -1;
    if (isSpace(code)) {
      i++;
    } else if (code === 0x2d && next === 0x2d) {
      // "--" comment to end of line
      const newline = sql.indexOf("\n", i + 2);
      i = newline === -1 ? length : newline + 1;
    } else if (code === 0x2f && next === 0x2a) {
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? length : close + 2;
    } else if (code === 0x27 || code === 0x22 || code === 0x60) {
      // '…' string, "…" or `…` identifier; the quote character doubled is an escaped quote
      const quote = sql[i];
      i++;
      while (i < length) {
        if (sql[i] === quote) {
          if (sql[i + 1] === quote) {
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          i++;
        }
      }
      push(code === 0x27 ? "string" : "quoted-identifier", start, i);
    } else if (code === 0x5b) {
      const close = sql.indexOf("]", i + 1);
      i = close === -1 ? length : close + 1;
      push("quoted-identifier", start, i);
    } else if (code === 0x3b) {
      i++;
      push("semicolon", start, i);
    } else if (code === 0x28) {
      i++;
      push("open-paren", start, i);
    } else if (code === 0x29) {
      i++;
      push("close-paren", start, i);
    } else if (code === 0x3f) {
      // "?" or "?NNN"
      i++;
      while (i < length && isDigit(sql.charCodeAt(i))) i++;
      push("parameter", start, i);
    } else if (code === 0x3a || code === 0x40 || code === 0x24 || code === 0x23) {
      i = scanNamedParameterEnd(sql, i);
      push(i - start > 1 ? "parameter" : "other", start, i);
    } else if (isDigit(code) || (code === 0x2e && isDigit(next))) {
      // Numeric literal; identifier characters glued to it belong to the same (possibly illegal) token in SQLite.
      i++;
      while (i < length) {
        const c = sql.charCodeAt(i);
        if (isIdentifierChar(c) || c === 0x2e) {
          i++;
        } else if (
          (c === 0x2b || c === 0x2d) &&
          (sql[i - 1] === "e" || sql[i - 1] === "E") &&
          !/^0[xX]/.test(sql.slice(start, i))
        ) {
          i++;
        } else {
          break;
        }
      }
      push("other", start, i);
    } else if (isIdentifierStart(code)) {
      i++;
      while (i < length && isIdentifierChar(sql.charCodeAt(i))) i++;
      push("word", start, i);
    } else {
      i++;
      push("other", start, i);
    }
  }
  return tokens;
}

// Mirrors SQLite's CC_VARALPHA tokenizer case, including the TCL-style "$a::b" and "$a(x)" forms.
function scanNamedParameterEnd(sql: string, start: number): number {
  let i = start + 1;
  let nameLength = 0;
  while (i < sql.length) {
    const code = sql.charCodeAt(i);
    if (isIdentifierChar(code)) {
      nameLength++;
      i++;
    } else if (code === 0x28 && nameLength > 0) {
      let j = i + 1;
      while (j < sql.length && sql[j] !== ")" && !isSpace(sql.charCodeAt(j))) j++;
      if (sql[j] === ")") {
        return j + 1;
      }
      return start + 1;
    } else if (code === 0x3a && sql[i + 1] === ":") {
      i += 2;
    } else {
      break;
    }
  }
  return nameLength === 0 ? start + 1 : i;
}

function keyword(token: Token | undefined): string | undefined {
  return token?.kind === "word" ? token.text.toUpperCase() : undefined;
}

// Token classes and transitions of sqlite3_complete(): a semicolon ends a statement unless we are
// inside CREATE TRIGGER … BEGIN … END, whose body ends only at "; END ;".
const completeTransitions: readonly (readonly number[])[] = [
  /*                  SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END */
  /* 0 INVALID  */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 START    */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL   */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN  */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE   */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER  */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI     */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 END      */ [1, 7, 5, 5, 5, 5, 5, 5],
];

function completeTokenClass(token: Token): number {
  if (token.kind === "semicolon") return 0;
  switch (keyword(token)) {
    case "EXPLAIN":
      return 3;
    case "CREATE":
      return 4;
    case "TEMP":
    case "TEMPORARY":
      return 5;
    case "TRIGGER":
      return 6;
    case "END":
      return 7;
    default:
      return 2;
  }
}

/**
 * Splits SQL text into statements the way SQLite would execute them one after another; empty statements (";;",
 * comments) are dropped.
 */
export function splitStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let state = 0;
  let current: Token[] = [];
  const finish = (end: number): void => {
    const meaningful = current.filter((token) => token.kind !== "semicolon");
    const first = current[0];
    if (meaningful.length > 0 && first !== undefined) {
      statements.push({ sql: sql.slice(first.start, end), tokens: current });
    }
    current = [];
  };
  for (const token of tokenize(sql)) {
    const next = completeTransitions[state]?.[completeTokenClass(token)] ?? 2;
    if (token.kind === "semicolon" && next === 1) {
      if (current.length > 0) {
        current.push(token);
        finish(token.end);
      }
    } else {
      current.push(token);
    }
    state = next;
  }
  const last = current.at(-1);
  if (last !== undefined) finish(last.end);
  return statements;
}

/** Assigns parameter indexes exactly as sqlite3ExprAssignVarNumber() does. */
export function scanParameters(tokens: readonly Token[]): ParameterTable {
  let count = 0;
  const namesByIndex = new Map<number, string>();
  const indexByName = new Map<string, number>();
  const used = new Set<number>();
  const occurrences: number[] = [];
  for (const token of tokens) {
    if (token.kind !== "parameter") continue;
    let index: number | undefined;
    if (token.text === "?") {
      count++;
      index = count;
    } else if (token.text.startsWith("?")) {
      index = Number(token.text.slice(1));
      // SQLite refuses ?0 and ?NNN beyond its limit when preparing; leave that error to it.
      if (!Number.isInteger(index) || index < 1 || index > maxVariableNumber) continue;
      if (index > count) count = index;
      if (!namesByIndex.has(index)) namesByIndex.set(index, token.text);
    } else {
      index = indexByName.get(token.text);
      if (index === undefined) {
        count++;
        index = count;
        indexByName.set(token.text, index);
        namesByIndex.set(index, token.text);
      }
    }
    used.add(index);
    occurrences.push(index);
  }
  const names: (string | null)[] = [];
  for (let index = 1; index <= count; index++) names.push(namesByIndex.get(index) ?? null);
  return { count, names, used, occurrences };
}

const changingVerbs = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);
const mainVerbs = new Set(["SELECT", "VALUES", "INSERT", "UPDATE", "DELETE", "REPLACE"]);

// The verb of "WITH a AS (…), b AS (…) INSERT …" is the first verb outside the CTE parentheses.
function verbAfterWith(tokens: readonly Token[]): string | undefined {
  let depth = 0;
  for (const token of tokens.slice(1)) {
    if (token.kind === "open-paren") depth++;
    else if (token.kind === "close-paren") depth--;
    else if (depth === 0) {
      const word = keyword(token);
      if (word !== undefined && mainVerbs.has(word)) return word;
    }
  }
  return undefined;
}

function isBeginReadonly(tokens: readonly Token[]): boolean {
  const words = tokens.filter((token) => token.kind !== "semicolon");
  if (keyword(words[0]) !== "BEGIN") return false;
  const rest = words.slice(1).map(keyword);
  return rest.includes("READONLY") && rest.every((word) => word === "READONLY" || word === "TRANSACTION");
}

export function describeStatement(statement: SqlStatement): StatementInfo {
  const { tokens } = statement;
  const first = keyword(tokens[0]);
  const isExplain = first === "EXPLAIN";
  const verb = first === "WITH" ? verbAfterWith(tokens) : first;
  return {
    sql: statement.sql,
    parameters: scanParameters(tokens),
    isExplain,
    changesRows: verb !== undefined && changingVerbs.has(verb),
    beginsReadonlyTransaction: isBeginReadonly(tokens),
    changesConnectionState: first === "PRAGMA" || first === "ATTACH" || first === "DETACH",
    mayReturnRows: tokens.some((token) => keyword(token) === "RETURNING"),
  };
}
