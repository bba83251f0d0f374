// How the commands that talk to a running stack find it (scripts/local-config.ts): the one
// running, or the one PORT / LIBSQL_PORT / DATA_DIR name; a refusal that names the settings to pass
// when that is ambiguous or mixes two stacks; and never a secret of their own (`npm run token`,
// `link` and `batch` against a DATA_DIR without one exit 1 and write nothing).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/bench-batch/stack.ts";
import { devAudience, devIssuer } from "../../scripts/dev-token.ts";
import {
  chooseStack,
  createOrLoadLocalSecrets,
  defaultDataDir,
  defaultPorts,
  LocalStackError,
  readLocalSecrets,
  registerStack,
  removeStalePointers,
  runningStacks,
  type StackRecord,
  stackRecordFor,
  unregisterStack,
} from "../../scripts/local-config.ts";

const projectRoot = path.resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(path.join(tmpdir(), "local-stack-test-"));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

function record(pid: number, port: number, libsqlPort: number, dataDir: string): StackRecord {
  return stackRecordFor({
    pid,
    port,
    libsqlPort,
    inspectorPort: 9229,
    dataDir,
    startedAt: `2026-11-20T10:00:0${pid % 10}Z`,
  });
}

describe("chooseStack", () => {
  const a = record(101, 8787, 8080, "/data/a");
  const b = record(102, 8788, 8081, "/data/b");

  it("uses the defaults when nothing runs and nothing is given, and says it is not running", () => {
    const stack = chooseStack([], {});
    expect(stack).toMatchObject({
      port: defaultPorts.worker,
      libsqlPort: defaultPorts.libsql,
      baseUrl: "http://127.0.0.1:8787",
      databaseUrl: "http://127.0.0.1:8080",
      running: null,
    });
    expect(stack.secretsFile).toBe(path.join(stack.dataDir, "local-secrets.json"));
    expect(path.basename(stack.dataDir)).toBe(path.basename(defaultDataDir));
  });

  it("uses the only running stack whatever its settings when none are given", () => {
    expect(chooseStack([b], {})).toMatchObject({ port: 8788, libsqlPort: 8081, dataDir: "/data/b", running: b });
  });

  it("refuses to guess between two running stacks and names the settings of each", () => {
    const refusal = () => chooseStack([a, b], {}, "npm run batch");
    expect(refusal).toThrow(LocalStackError);
    expect(refusal).toThrow(
      /2 local stacks are running; say which one .* `PORT=8787 DATA_DIR=\/data\/a npm run batch`/,
    );
    expect(refusal).toThrow(/PORT=8788 DATA_DIR=\/data\/b/);
  });

  it("takes the one a given PORT, LIBSQL_PORT or DATA_DIR names among several", () => {
    expect(chooseStack([a, b], { dataDir: "/data/b" }).running).toBe(b);
    expect(chooseStack([a, b], { port: 8787 }).running).toBe(a);
    expect(chooseStack([a, b], { libsqlPort: 8081 }).running).toBe(b);
  });

  it("refuses settings that mix a running stack's with another data folder (the 401 of a foreign secret)", () => {
    // PORT is a's, DATA_DIR is not: a's Worker would get a token signed with /data/other's secret.
    expect(() => chooseStack([a], { port: 8787, dataDir: "/data/other" }, "npm run batch")).toThrow(
      new RegExp(
        /no running stack has PORT=8787 DATA_DIR=\/data\/other.*\n {2}/.source +
          /PORT=8787 and LIBSQL_PORT=8080 \(the default\): the stack running with PORT=8787 DATA_DIR=\/data\/a.*\n/
            .source +
          /To use that stack, give its settings: `PORT=8787 DATA_DIR=\/data\/a npm run batch`/.source,
      ),
    );
    // Only DATA_DIR given: the default PORT is a's.
    expect(() => chooseStack([a], { dataDir: "/data/other" })).toThrow(
      /PORT=8787 \(the default\) and LIBSQL_PORT=8080 \(the default\)/,
    );
  });

  it("gives the settings of a stack that is not running when none of them is a running stack's", () => {
    const stack = chooseStack([a], { port: 9001, libsqlPort: 9002, dataDir: "/data/c" });
    expect(stack).toMatchObject({ port: 9001, libsqlPort: 9002, dataDir: "/data/c", running: null, otherStacks: [a] });
  });
});

/** A process whose command line names dev.ts, as a running stack's does. */
function fakeDevProcess(): ChildProcess {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 60_000)", "fake-scripts/dev.ts"], {
    stdio: "ignore",
  });
  children.add(child);
  return child;
}

describe.runIf(process.platform === "linux")("the records of running stacks", () => {
  it("lists a stack while its dev.ts lives, ignores and removes stale pointers, and unregisters", () => {
    const registry = path.join(scratch, "registry");
    const liveDir = path.join(scratch, "live");
    const deadDir = path.join(scratch, "dead");
    mkdirSync(liveDir);
    mkdirSync(deadDir);
    const live = fakeDevProcess();
    const alive = record(live.pid as number, 18787, 18080, liveDir);
    // A pid no process has: a stack killed with -9 leaves its records behind.
    const dead = record(2 ** 22 + 1, 18788, 18081, deadDir);
    registerStack(alive, registry);
    registerStack(dead, registry);

    expect(runningStacks(registry)).toEqual([alive]);
    // Found through its data folder too, without the registry.
    expect(runningStacks(path.join(scratch, "no-registry"), [liveDir])).toEqual([alive]);

    removeStalePointers(registry);
    expect(readdirSync(registry)).toEqual([`${alive.pid}.json`]);

    unregisterStack(alive, registry);
    expect(readdirSync(registry)).toEqual([]);
    expect(existsSync(path.join(liveDir, "stack.json"))).toBe(false);
  });
});

describe("secrets", () => {
  it("are never created by a command: a data folder without them is an error that says to run npm start", () => {
    const dataDir = path.join(scratch, "never-started");
    const stack = chooseStack([], { port: 9101, libsqlPort: 9102, dataDir });
    expect(() => readLocalSecrets(stack)).toThrow(LocalStackError);
    expect(() => readLocalSecrets(stack)).toThrow(
      new RegExp(
        /has no local-secrets\.json, and no stack is running with PORT=9101 DATA_DIR=/.source +
          /.*only `npm start` creates the secrets/.source,
      ),
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it("are the ones npm start created, for a stack that is not running as for one that is", () => {
    const dataDir = path.join(scratch, "started-once");
    const created = createOrLoadLocalSecrets(dataDir);
    expect(readLocalSecrets(chooseStack([], { port: 9103, libsqlPort: 9104, dataDir }))).toEqual(created);
  });
});

const run = promisify(execFile);

/**
 * Runs a script as npm would, with DATA_DIR and, unless `withPorts` is false (a stack found by its
 * data folder alone), free ports no running stack has.
 */
async function runScript(
  script: string,
  args: string[],
  dataDir: string,
  withPorts = true,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  for (const name of ["API_TOKEN", "PORT", "LIBSQL_PORT"]) delete env[name];
  if (withPorts) {
    env["PORT"] = String(await freePort());
    env["LIBSQL_PORT"] = String(await freePort());
  }
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args], { cwd: projectRoot, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("npm run token / link / batch with a DATA_DIR npm start never used", () => {
  let emptyDir: string;
  beforeAll(() => {
    emptyDir = path.join(scratch, "empty");
    mkdirSync(emptyDir);
  });

  it.each([
    ["scripts/token.ts", ["--sub", "alice", "--permissions", "VIEW_FACTOR_ANALYTICS"]],
    ["scripts/link.ts", []],
    ["scripts/batch.ts", ["--date", "2026-11-20"]],
  ])("%s exits 1 with what to pass, and writes no secret", async (script, args) => {
    const result = await runScript(script, args, emptyDir);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/has no local-secrets\.json.*only `npm start` creates the secrets/);
    expect(readdirSync(emptyDir)).toEqual([]);
  });
});

describe("npm run token / link with the secrets of a stack", () => {
  it("signs the token with that stack's secret, saying on stderr that it is not running", async () => {
    const dataDir = path.join(scratch, "stopped");
    const { jwtSecret } = createOrLoadLocalSecrets(dataDir);
    const result = await runScript("scripts/token.ts", ["--sub", "alice", "--org", "acme"], dataDir);
    expect(result.code).toBe(0);
    const { payload } = await jwtVerify(result.stdout.trim(), new TextEncoder().encode(jwtSecret), {
      issuer: devIssuer,
      audience: devAudience,
    });
    expect(payload).toMatchObject({ sub: "alice", org: "acme", permissions: [] });
    expect(result.stderr).toMatch(/not running now/);
  });

  it("link refuses when nothing runs, and prints the demo analyst's link for a running stack", async () => {
    const dataDir = path.join(scratch, "running");
    const { jwtSecret } = createOrLoadLocalSecrets(dataDir);
    const stopped = await runScript("scripts/link.ts", [], dataDir);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/no local stack is running .*start it with `PORT=\d+ DATA_DIR=.* npm start`/);

    const live = fakeDevProcess();
    const port = await freePort();
    // Recorded in its data folder only (a registry of this test's own): the command finds it by DATA_DIR.
    registerStack(record(live.pid as number, port, await freePort(), dataDir), path.join(scratch, "own-registry"));
    const result = await runScript("scripts/link.ts", [], dataDir, false);
    expect(result.code, result.stderr).toBe(0);
    const link = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)$/.exec(result.stdout.trim());
    expect(Number(link?.[1])).toBe(port);
    const { payload } = await jwtVerify(link?.[2] ?? "", new TextEncoder().encode(jwtSecret), {
      issuer: devIssuer,
      audience: devAudience,
    });
    expect(payload).toMatchObject({ sub: "demo", org: "demo-org" });
    expect(payload["permissions"]).toEqual(
      expect.arrayContaining(["VIEW_FACTOR_ANALYTICS", "MANAGE_PORTFOLIOS", "RUN_BATCH"]),
    );
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(12 * 3600);
  });
});
