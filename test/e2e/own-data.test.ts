// README "Use your own data", followed command by command: the commands come from the section's
// `sh` blocks (so a README change the test does not follow fails it) and run in order in the
// project folder, with only the three file names replaced by files this test writes: a small
// realistic data set (test/e2e/own-data-fixture.ts) that ends on the last date the README's
// batch command computes. `npm start -- --no-demo` runs in the background on free ports over a
// temporary DATA_DIR (never the developer's .data/) and is stopped by process group at the end.
// Checked: every command exits 0 (the batch's 2 = partial is a failure), no synthetic close
// exists, the start chose the `stored` provider, the dashboard link `npm start` printed opens the
// portfolio's heatmap with a number in every cell, and no process of the stack is left behind.
// This file starts its own stack; the suite's demo stack (global-setup.ts) is not used.
import { createClient } from "@libsql/client";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/bench-batch/stack.ts";
import { isPortOpen, projectRoot } from "../../scripts/local-config.ts";
import { validatePriceCsv } from "../../worker/market-data/price-import.ts";
import { validateProfileCsv } from "../../worker/market-data/profile-import.ts";
import { launchBrowser, newContext, screenshot, watchErrors } from "./browser.ts";
import {
  ownDataFixture,
  positionHeader,
  priceHeader,
  profileHeader,
  weekdaysEndingOn,
  type OwnDataFixture,
} from "./own-data-fixture.ts";
import { codeBlocks, readmeSection, shellCommands } from "./readme-section.ts";

const verbose = Boolean(process.env["E2E_VERBOSE"]);
const section = readmeSection("Use your own data");
const blocks = codeBlocks(section);
const commands = shellCommands(blocks);
const fileNames = ["prices.csv", "profiles.csv", "positions.csv"] as const;
type FileName = (typeof fileNames)[number];

/** Getting the code and installing it: the test already runs in an installed checkout. */
function isSetupCommand(command: string): boolean {
  return (
    /^git clone \S.*$/.test(command) ||
    /^cd [\w.-]+$/.test(command) ||
    command === "npm install" ||
    command === "npm ci"
  );
}

const isStartCommand = (command: string) => /^(NO_DEMO=\S+ )?npm (start|run start)\b/.test(command);

/** The command with the three file names replaced by the test's files (quoted). */
function withFixtureFiles(command: string, files: Record<FileName, string>): string {
  return command.replace(
    /(?<![\w./-])(prices|profiles|positions)\.csv(?![\w.-])/g,
    (name) => `'${files[name as FileName]}'`,
  );
}

interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

let dataDir: string;
let filesDir: string;
let env: NodeJS.ProcessEnv;
let ports: { worker: number; libsql: number; inspector: number };
let fixture: OwnDataFixture;
let files: Record<FileName, string>;
let stack: ChildProcess | null = null;
let stackOutput: string[] = [];
let dashboardLink: string | null = null;
/** Every process the stack ran, gathered while it ran, to check that none is left. */
const stackProcesses = new Set<number>();
let browser: Browser | undefined;

/** pid → parent pid and state, from /proc. */
function processTable(): Map<number, { ppid: number; state: string }> {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(entry), { ppid: Number(ppid), state: state ?? "?" });
    } catch {
      // The process ended while the table was read.
    }
  }
  return table;
}

function noteStackProcesses(): void {
  if (!stack?.pid) return;
  const table = processTable();
  const queue = [stack.pid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    stackProcesses.add(pid);
    for (const [child, info] of table) if (info.ppid === pid && !stackProcesses.has(child)) queue.push(child);
  }
}

function runningOf(pids: Iterable<number>): number[] {
  const table = processTable();
  return [...pids].filter((pid) => {
    const info = table.get(pid);
    return info !== undefined && info.state !== "Z";
  });
}

/** Runs one README command through `sh -c` in the project folder, in a process group of its own. */
function runCommand(command: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], {
      cwd: projectRoot,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        output.push(chunk);
        if (verbose) process.stdout.write(chunk);
      });
    }
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`\`${command}\` did not finish within ${timeoutMs / 1000} s:\n${output.join("")}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: output.join("") });
    });
  });
}

/** Starts the long-running command in the background and waits for its banner's dashboard link. */
function startStack(command: string, timeoutMs: number): Promise<string> {
  const child = spawn("sh", ["-c", command], {
    cwd: projectRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  stack = child;
  stackOutput = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `\`${command}\` printed no dashboard link within ${timeoutMs / 1000} s:\n` +
              `${stackOutput.slice(-40).join("\n")}`,
          ),
        ),
      timeoutMs,
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        stackOutput.push(line);
        if (verbose) console.log(`[own-data stack] ${line}`);
        const link = /^\s*Dashboard\s+(http:\/\/\S+#token=\S+)/.exec(line);
        if (link) {
          clearTimeout(timer);
          resolve(link[1]!);
        }
      });
    }
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `\`${command}\` exited (${signal ?? `code ${code}`}) before it was up:\n${stackOutput.slice(-40).join("\n")}`,
        ),
      );
    });
  });
}

/** SIGTERM to the stack's process group (dev.ts stops its own children), SIGKILL after 15 s. */
async function stopStack(): Promise<void> {
  const child = stack;
  if (!child?.pid) return;
  noteStackProcesses();
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // Already gone.
        }
        resolve();
      }, 15_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      process.kill(-child.pid!, "SIGTERM");
    });
  }
  // dev.ts's children run in process groups of their own: wait for them to go too.
  const deadline = Date.now() + 15_000;
  while (runningOf(stackProcesses).length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  stack = null;
}

/** The fixture's last trading day (a fixed past Friday, so the data and the numbers are reproducible). */
const fixtureEndDate = "2026-11-13";

/**
 * The dates the README's batch command computes: `--from D1 --to D2`, or `--last N` (the N most
 * recent trading days of the stored closes, which end on the fixture's last day).
 */
function batchRange(): { from: string; to: string } {
  for (const command of commands) {
    const range = /^npm run batch -- .*--from (\d{4}-\d{2}-\d{2}) --to (\d{4}-\d{2}-\d{2})\b/.exec(command);
    if (range) return { from: range[1]!, to: range[2]! };
    const last = /^npm run batch -- .*--last (\d+)\b/.exec(command);
    if (last) return { from: weekdaysEndingOn(fixtureEndDate, Number(last[1]))[0]!, to: fixtureEndDate };
  }
  throw new Error(
    `the section computes no dates (no \`npm run batch -- --last N\` or \`--from D1 --to D2\`); its commands:\n` +
      `${commands.join("\n")}`,
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "factor-own-data-"));
  filesDir = mkdtempSync(path.join(tmpdir(), "factor-own-files-"));
  ports = { worker: await freePort(), libsql: await freePort(), inspector: await freePort() };
  env = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(ports.worker),
    LIBSQL_PORT: String(ports.libsql),
    INSPECTOR_PORT: String(ports.inspector),
    WRANGLER_SEND_METRICS: "false",
  };
  // Nothing from the caller's shell may point the commands elsewhere or choose for them.
  for (const name of [
    "MARKET_DATA_PROVIDER",
    "NO_DEMO",
    "API_TOKEN",
    "TURSO_DATABASE_URL",
    "TURSO_AUTH_TOKEN",
    "DEMO_BACKFILL_DAYS",
  ])
    delete env[name];
  const range = batchRange();
  fixture = ownDataFixture(range);
  files = {
    "prices.csv": path.join(filesDir, "prices.csv"),
    "profiles.csv": path.join(filesDir, "profiles.csv"),
    "positions.csv": path.join(filesDir, "positions.csv"),
  };
  writeFileSync(files["prices.csv"], fixture.prices);
  writeFileSync(files["profiles.csv"], fixture.profiles);
  writeFileSync(files["positions.csv"], fixture.positions);
});

afterAll(async () => {
  await browser?.close();
  await stopStack();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(filesDir, { recursive: true, force: true });
});

describe("README: Use your own data", () => {
  it("documents the three files with the columns this test writes, and examples the importers accept", () => {
    const examples = blocks
      .filter((block) => block.language === "csv")
      .map((block) => block.lines.filter((line) => line.trim() !== ""));
    expect(examples.map((lines) => lines[0])).toEqual([priceHeader, profileHeader, positionHeader]);
    for (const lines of examples) expect(lines).toHaveLength(3);
    const prices = validatePriceCsv(examples[0]!.join("\n"));
    expect(prices.ok ? [] : prices.errors).toEqual([]);
    const profiles = validateProfileCsv(examples[1]!.join("\n"));
    expect(profiles.ok ? [] : profiles.errors).toEqual([]);
    // Every file the commands name is one the test supplies, and every one is used.
    const named = new Set(commands.flatMap((command) => command.match(/[\w.-]+\.csv\b/g) ?? []));
    expect([...named].sort()).toEqual([...fileNames].sort());
  });

  it("runs every command of the section in order and gets exit 0 from each", { timeout: 300_000 }, async () => {
    const setup = commands.filter(isSetupCommand);
    expect(setup.length, "the section starts from an empty folder: clone and install").toBeGreaterThanOrEqual(2);
    const starts = commands.filter(isStartCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatch(/--no-demo\b|^NO_DEMO=1 /);
    for (const command of commands) {
      if (isSetupCommand(command)) continue;
      if (isStartCommand(command)) {
        const started = Date.now();
        dashboardLink = await startStack(withFixtureFiles(command, files), 180_000);
        noteStackProcesses();
        console.log(`own-data: \`${command}\` up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        continue;
      }
      expect(stack, `\`${command}\` runs after the stack was started`).not.toBeNull();
      const started = Date.now();
      const result = await runCommand(withFixtureFiles(command, files), 180_000);
      noteStackProcesses();
      console.log(`own-data: \`${command}\` exit ${result.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(result.code, `\`${command}\` failed:\n${result.output}`).toBe(0);
      if (/^npm run import:positions\b/.test(command))
        expect(result.output).toMatch(new RegExp(`${fixture.positionSymbols.length} position\\(s\\) imported`));
    }
    expect(dashboardLink).not.toBeNull();
  });

  it("started on a clean database with the stored provider and wrote no synthetic close", async () => {
    const banner = stackOutput.join("\n");
    expect(banner).toMatch(/market data provider: stored/);
    expect(banner).toMatch(/--no-demo: a clean start/);
    expect(banner).not.toMatch(/seeded synthetic demo data|Demo data is synthetic/);
    const secrets = JSON.parse(readFileSync(path.join(dataDir, "local-secrets.json"), "utf8")) as {
      libsqlAuthToken: string;
    };
    const client = createClient({ url: `http://127.0.0.1:${ports.libsql}`, authToken: secrets.libsqlAuthToken });
    try {
      const sources = await client.execute(
        "select source, count(*) as n from market_prices group by source order by source",
      );
      const bySource = Object.fromEntries(sources.rows.map((row) => [String(row["source"]), Number(row["n"])]));
      expect(bySource["synthetic"] ?? 0).toBe(0);
      expect(bySource).toEqual({ csv: fixture.priceRows });
      const universe = await client.execute("select count(*) as n from symbol_universe where symbol like 'SYN%'");
      expect(Number(universe.rows[0]!["n"])).toBe(0);
    } finally {
      client.close();
    }
  });

  it("opens the printed dashboard link on the portfolio's heatmap, with a number in every cell", {
    timeout: 60_000,
  }, async () => {
    expect(dashboardLink).not.toBeNull();
    const { from, to } = batchRange();
    const computed = weekdaysEndingOn(to, fixture.calendar.length).filter((date) => date >= from);
    const name = /--name "([^"]+)"/.exec(
      commands.find((command) => /^npm run import:positions\b/.test(command)) ?? "",
    )?.[1];
    expect(name).toBeDefined();

    browser = await launchBrowser();
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(dashboardLink!);
    const heatmap = page.getByTestId("heatmap");
    await heatmap.locator("canvas").waitFor();
    expect(
      await page.locator("#select-portfolio").evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.text),
    ).toBe(name);
    await expect.poll(async () => ((await heatmap.getAttribute("data-columns")) ?? "").split("|")).toEqual(computed);
    await page.getByRole("button", { name: "Show table" }).click();
    const rows = page.locator(".heatmap-table tbody tr");
    await expect.poll(() => rows.count()).toBe(12);
    for (let row = 0; row < 12; row++) {
      const cells = await rows.nth(row).locator("td").allInnerTexts();
      expect(cells, `row ${row}`).toHaveLength(computed.length);
      for (const cell of cells)
        expect(cell.trim(), `row ${row}: ${cells.join(" ")}`).toMatch(/^[+\u2212-]?\d+\.\d{3}$/);
    }
    await screenshot(page, "own-data-exposures");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("stops with the stack's process group and leaves no process or port behind", { timeout: 60_000 }, async () => {
    expect(stackProcesses.size).toBeGreaterThanOrEqual(3);
    await stopStack();
    expect(runningOf(stackProcesses)).toEqual([]);
    for (const port of Object.values(ports)) expect(await isPortOpen(port), `port ${port}`).toBe(false);
  });
});
