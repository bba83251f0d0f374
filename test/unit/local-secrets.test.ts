// The local stack's secrets stay with their owner: the libSQL server started as scripts/dev.ts
// starts it takes its token from the environment (never on the command line, which any local
// user can read in `ps` or /proc/<pid>/cmdline), and its directory, database file, -wal and
// -shm are owner-only; so is local-secrets.json, which only `npm start` creates (scripts/local-config.ts).
import { createClient } from "@libsql/client";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createOrLoadLocalSecrets } from "../../scripts/local-config.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const readyLine = /libsql-server listening on (http:\/\/127\.0\.0\.1:\d+)/;
const scratch = mkdtempSync(path.join(tmpdir(), "local-secrets-test-"));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** The CLI exactly as scripts/dev.ts starts it: flags for port and path, the token in the environment. */
async function startAsDevDoes(dbPath: string, token: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["scripts/libsql-server.ts", "--port", "0", "--db", dbPath], {
    cwd: projectRoot,
    env: { ...process.env, LIBSQL_AUTH_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 15_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = readyLine.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => reject(new Error(`the server exited (${String(code)}): ${output}`)));
  });
  return { child, url };
}

function modeOf(file: string): number {
  return statSync(file).mode & 0o777;
}

describe.runIf(process.platform === "linux")("the local libSQL server", () => {
  it("keeps its token off the command line and creates owner-only database files", async () => {
    const token = `secret-token-${Math.random().toString(36).slice(2)}`;
    const dbPath = path.join(scratch, "fresh", "factor.db");
    const { child, url } = await startAsDevDoes(dbPath, token);

    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8");
    expect(cmdline).toContain("scripts/libsql-server.ts");
    expect(cmdline).not.toContain(token);

    // The token from the environment is the one the server requires.
    await expect(createClient({ url }).execute("SELECT 1")).rejects.toThrow(/UNAUTHORIZED|401/);
    const client = createClient({ url, authToken: token });
    await client.execute("CREATE TABLE t (x INTEGER)");
    await client.execute("INSERT INTO t VALUES (1)");
    client.close();

    expect(modeOf(path.dirname(dbPath))).toBe(0o700);
    expect(modeOf(dbPath)).toBe(0o600);
    expect(existsSync(`${dbPath}-wal`)).toBe(true);
    expect(modeOf(`${dbPath}-wal`)).toBe(0o600);
    expect(modeOf(`${dbPath}-shm`)).toBe(0o600);
  });

  it("tightens a database file an older version left world-readable", async () => {
    const dbPath = path.join(scratch, "old.db");
    writeFileSync(dbPath, "");
    chmodSync(dbPath, 0o644);
    await startAsDevDoes(dbPath, "another-token");
    expect(modeOf(dbPath)).toBe(0o600);
  });
});

describe.runIf(process.platform === "linux")("local-secrets.json", () => {
  it("is written 0600 in a 0700 data directory, and a world-readable one is tightened on load", () => {
    const dataDir = path.join(scratch, "data");
    const secrets = createOrLoadLocalSecrets(dataDir);
    const file = path.join(dataDir, "local-secrets.json");
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(file)).toBe(0o600);

    chmodSync(file, 0o644);
    expect(createOrLoadLocalSecrets(dataDir)).toEqual(secrets);
    expect(modeOf(file)).toBe(0o600);
  });
});
