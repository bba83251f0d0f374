// Helpers for tests that need other processes: the server's CLI as a child process (so it can be
// stopped with SIGTERM or killed with SIGKILL), and reads or locks of the database file from a
// separate `node` process through the `libsql` package, never through the server.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../../scripts/libsql-server.ts", import.meta.url));
const projectRoot = fileURLToPath(new URL("../../../", import.meta.url));
const readyLine = /^libsql-server listening on (http:\/\/127\.0\.0\.1:(\d+)) \(db: (.+)\)$/;

export interface RunningCli {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

export function startCli(dbPath: string, children: Set<ChildProcess>): Promise<RunningCli> {
  const child = spawn(process.execPath, [cliPath, "--port", "0", "--db", dbPath], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`server did not get ready; stderr: ${stderr}`)), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      const match = readyLine.exec(stdout.slice(0, newline));
      if (match?.[1] === undefined) reject(new Error(`unexpected first line: ${stdout}`));
      else resolve({ child, url: match[1], exited, stderr: () => stderr });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before getting ready; stderr: ${stderr}`));
    });
  });
}

function runNode(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["-e", script, "--", ...args],
      { cwd: projectRoot, timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** The first column of every row `sql` returns, read in a separate process that opens the file read-only. */
export async function readColumnElsewhere(dbPath: string, sql: string): Promise<unknown[]> {
  const script = `
    const Database = require("libsql");
    const [path, sql] = process.argv.slice(-2);
    const db = new Database(path, { readonly: true });
    const values = db.prepare(sql).raw(true).all().map((row) => row[0]);
    db.close();
    process.stdout.write(JSON.stringify(values));
  `;
  return JSON.parse(await runNode(script, [dbPath, sql])) as unknown[];
}

/**
 * Another process holding the file's write lock (BEGIN IMMEDIATE) for `holdMs`, then rolling
 * back. Resolves once the lock is held; `done` resolves when the process has exited.
 */
export function holdWriteLockElsewhere(
  dbPath: string,
  holdMs: number,
  children: Set<ChildProcess>,
): Promise<{ done: Promise<void> }> {
  const script = `
    const Database = require("libsql");
    const [path, holdMs] = process.argv.slice(-2);
    const db = new Database(path);
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("locked\\n");
    setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, Number(holdMs));
  `;
  const child = spawn(process.execPath, ["-e", script, "--", dbPath, String(holdMs)], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("locked")) resolve({ done });
    });
    void done.then(() => reject(new Error(`the lock holder exited early: ${stderr}`)));
  });
}
