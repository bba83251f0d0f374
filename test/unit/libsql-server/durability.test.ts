import { createClient } from "@libsql/client";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { makeTempDir } from "./harness.ts";

const cliPath = fileURLToPath(new URL("../../../scripts/libsql-server.ts", import.meta.url));
const readyLine = /^libsql-server listening on (http:\/\/127\.0\.0\.1:(\d+)) \(db: (.+)\)$/;

interface RunningCli {
  child: ChildProcess;
  url: string;
  line: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
});

function startCli(dbPath: string): Promise<RunningCli> {
  const child = spawn(process.execPath, [cliPath, "--port", "0", "--db", dbPath], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`server did not get ready; stderr: ${stderr}`)), 10_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      const line = stdout.slice(0, newline);
      const match = readyLine.exec(line);
      if (match?.[1] === undefined) reject(new Error(`unexpected first line: ${line}`));
      else resolve({ child, url: match[1], line, exited });
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before getting ready; stderr: ${stderr}`));
    });
  });
}

describe("CLI and durability", () => {
  it("prints exactly one ready line naming the URL and database path", async () => {
    const dir = makeTempDir();
    dirs.add(dir);
    const dbPath = join(dir, "cli.db");
    const cli = await startCli(dbPath);
    expect(cli.line).toMatch(readyLine);
    expect(readyLine.exec(cli.line)?.[3]).toBe(dbPath);
    const response = await fetch(new URL("/health", cli.url));
    expect(await response.json()).toMatchObject({ status: "ok", problems: [], connections: { max: 128 } });
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it("keeps committed data across kill -9 and a restart on the same file", async () => {
    const dir = makeTempDir();
    dirs.add(dir);
    const dbPath = join(dir, "data", "durable.db");
    const first = await startCli(dbPath);
    const writer = createClient({ url: first.url });
    await writer.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, entry TEXT)");
    await writer.batch(
      ["INSERT INTO ledger (entry) VALUES ('batch-1')", "INSERT INTO ledger (entry) VALUES ('batch-2')"],
      "write",
    );
    const transaction = await writer.transaction("write");
    await transaction.execute("INSERT INTO ledger (entry) VALUES ('transaction')");
    await transaction.commit();
    // An uncommitted transaction must vanish, not half-survive.
    const pending = await writer.transaction("write");
    await pending.execute("INSERT INTO ledger (entry) VALUES ('uncommitted')");
    first.child.kill("SIGKILL");
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
    writer.close();

    const second = await startCli(dbPath);
    const reader = createClient({ url: second.url });
    try {
      const rows = await reader.execute("SELECT entry FROM ledger ORDER BY id");
      expect(rows.rows.map((row) => row.entry)).toEqual(["batch-1", "batch-2", "transaction"]);
      await reader.execute("INSERT INTO ledger (entry) VALUES ('after restart')");
    } finally {
      reader.close();
    }
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });
});
