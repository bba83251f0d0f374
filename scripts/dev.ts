// `npm start`: the whole local stack in one command. Starts the local libSQL server, migrates and
// seeds it, builds the client, runs `wrangler dev` against it, and prints the URLs once the Worker
// reports healthy. Never prompts, never needs the network.
//
// Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP stop every process it started (each runs in a
// process group of its own, so wrangler's workerd children go with it) and leave the data in
// DATA_DIR for the next start. So does the end of whoever started it: dev.ts watches the chain up
// to the process that ran `npm start` (npm's shell, npm, and npm's parent, from /proc where there
// is one; its own parent elsewhere) and stops when a link breaks, e.g. a supervisor killed with
// -9, whose npm would otherwise keep the stack running with nobody to stop it. A signal to npm's
// own pid reaches dev.ts only when npm runs it without a shell in between (`exec` in the script
// line): npm forwards SIGINT and SIGTERM to its child alone, and Debian's sh keeps a SIGINT to
// itself until its child ends.
//
// While it runs, the stack records its settings (ports, data folder, where its secrets are) in
// DATA_DIR/stack.json with a pointer in .data/stacks/, so `npm run batch`, `token`, `link` and
// the imports find it (scripts/local-config.ts). It is the only command that creates secrets.
//
// `npm start -- --no-demo` (or NO_DEMO=1) seeds no demo data and computes no demo history:
// a clean database holds only what the migrations seed (factor definitions, built-in stress
// scenarios), ready for the user's own prices; a database that already has data is kept.
// Otherwise the first start computes the demo's recent history in the background and, when that
// run ends, prints the sign-in link again below its log.
//
// The Worker's market data provider (`--var MARKET_DATA_PROVIDER:<name>`): `synthetic` only
// when the database holds the synthetic demo (closes with source 'synthetic'), `stored` (the
// batch runs on the prices in the database, fetches nothing) otherwise; MARKET_DATA_PROVIDER
// in the environment wins.
import { createClient } from "@libsql/client";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { build } from "vite";
import type { BatchRunDetail } from "../worker/batch/run-history.ts";
import { addDays } from "../worker/dates.ts";
import { isMarketDataProviderName, marketDataProviderNames } from "../worker/market-data/provider.ts";
import { ApiClient, formatError } from "./api-client.ts";
import { formatOutcome, isFinished } from "./batch.ts";
import { freePort } from "./bench-batch/stack.ts";
import { allPermissions, demoOrg, demoOwner, mintDevToken } from "./dev-token.ts";
import {
  canonicalDir,
  createOrLoadLocalSecrets,
  defaultPorts,
  displayDir,
  isPortOpen,
  projectRoot,
  registerStack,
  removeStalePointers,
  runningStacks,
  type StackRecord,
  type StartSettings,
  stackRecordFor,
  stackSettingsText,
  startSettings,
  unregisterStack,
} from "./local-config.ts";
import { migrateDatabase } from "./migrate.ts";
import { seedDemoData } from "./seed-demo.ts";

/** The newest modification time under `dir` (files only), 0 when it does not exist. */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // tsc -b's incremental state is not a source of the bundle.
    if (!entry.isFile() || entry.name.endsWith(".tsbuildinfo")) continue;
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Whether dist/client was built after every source it comes from changed. A second stack on the
 * same checkout (the e2e suite runs two) must not rebuild it under the first: Vite empties the
 * folder first, and a running wrangler dev that sees it empty serves 404s for the dashboard's
 * routes from then on.
 */
function clientIsFresh(): boolean {
  const built = path.join(projectRoot, "dist/client/index.html");
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const sources = [path.join(projectRoot, "client"), path.join(projectRoot, "worker")];
  const lockfile = path.join(projectRoot, "package-lock.json");
  const newestSource = Math.max(...sources.map(newestMtime), existsSync(lockfile) ? statSync(lockfile).mtimeMs : 0);
  return builtAt > newestSource;
}

const usage = `usage: npm start [-- --no-demo]

Starts the local stack: libSQL server, migrations, client build, wrangler dev.
  --no-demo   no synthetic demo: on an empty database nothing but the factor definitions and
              built-in stress scenarios; bring your own prices (README "Use your own data").
              A database that already has data is kept as it is. NO_DEMO=1 does the same.
  -h, --help  this text
Environment: PORT (8787), LIBSQL_PORT (8080), INSPECTOR_PORT (9229 when free, else any free
port), DATA_DIR (.data), MARKET_DATA_PROVIDER (default: synthetic on the demo's database, stored
otherwise), DEMO_BACKFILL_DAYS (84; 0 skips the first start's history). A second stack needs a
PORT, LIBSQL_PORT and DATA_DIR of its own.`;

interface StartOptions {
  /** Seed the synthetic demo into an empty database and compute its recent history. */
  demo: boolean;
  /**
   * Calendar days of history the first start computes, so the dashboard opens with numbers
   * (84 ≈ 60 trading days); 0 skips it (the end-to-end tests run their own).
   */
  backfillDays: number;
}

/** `--no-demo` or NO_DEMO=1 (true/yes), DEMO_BACKFILL_DAYS; anything unknown is an error, never ignored. */
function parseStartOptions(args: readonly string[], env: NodeJS.ProcessEnv): StartOptions | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: { "no-demo": { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const flag = (env["NO_DEMO"] ?? "").trim().toLowerCase();
  let noDemoFromEnv: boolean;
  if (["", "0", "false", "no"].includes(flag)) noDemoFromEnv = false;
  else if (["1", "true", "yes"].includes(flag)) noDemoFromEnv = true;
  else throw new Error(`NO_DEMO must be 1 (no demo) or 0, got ${JSON.stringify(env["NO_DEMO"])}`);
  const days = (env["DEMO_BACKFILL_DAYS"] ?? "84").trim();
  if (!/^\d+$/.test(days))
    throw new Error(`DEMO_BACKFILL_DAYS must be a whole number of days (0 skips), got ${JSON.stringify(days)}`);
  return { demo: !(values["no-demo"] || noDemoFromEnv), backfillDays: Number(days) };
}

/** What the database holds, as far as the start decides anything on it. */
interface DatabaseContents {
  symbols: number;
  prices: number;
  /** Closes written by the demo seed (or the synthetic provider). */
  syntheticPrices: number;
  lastPriceDate: string | null;
  portfolios: number;
}

async function inspectDatabase(url: string, authToken: string): Promise<DatabaseContents> {
  const client = createClient({ url, authToken });
  try {
    const [universe, prices, owned] = await client.batch(
      [
        "select count(*) as n from symbol_universe",
        "select count(*) as n, coalesce(sum(source = 'synthetic'), 0) as synthetic, " +
          "max(date) as last from market_prices",
        "select count(*) as n from portfolios",
      ],
      "read",
    );
    const universeRow = universe?.rows[0];
    const priceRow = prices?.rows[0];
    const ownedRow = owned?.rows[0];
    if (!universeRow || !priceRow || !ownedRow) throw new Error("the database answered its counts without rows");
    return {
      symbols: Number(universeRow["n"]),
      prices: Number(priceRow["n"]),
      syntheticPrices: Number(priceRow["synthetic"]),
      lastPriceDate: typeof priceRow["last"] === "string" ? priceRow["last"] : null,
      portfolios: Number(ownedRow["n"]),
    };
  } finally {
    client.close();
  }
}

interface ProviderChoice {
  name: string;
  reason: string;
}

/** The rule README's Configuration states: the environment, else synthetic only on the demo's data. */
function chooseProvider(fromEnv: string | undefined, contents: DatabaseContents): ProviderChoice {
  const given = fromEnv?.trim();
  if (given) {
    if (!isMarketDataProviderName(given.toLowerCase())) {
      throw new Error(`MARKET_DATA_PROVIDER=${given} is not a provider; known: ${marketDataProviderNames.join(", ")}`);
    }
    return { name: given.toLowerCase(), reason: "MARKET_DATA_PROVIDER is set in the environment" };
  }
  if (contents.syntheticPrices > 0) return { name: "synthetic", reason: "the database holds the synthetic demo" };
  if (contents.prices === 0)
    return {
      name: "stored",
      reason: "no synthetic demo in the database: the batch will use the prices you import and fetch nothing",
    };
  return {
    name: "stored",
    reason: "the database holds your own prices, no synthetic demo: the batch uses them and fetches nothing",
  };
}

const startedAt = Date.now();
const children: ChildProcess[] = [];
let stopping = false;
/** This stack's record while it is registered (removed on the way out). */
let registered: StackRecord | null = null;

function say(message: string): void {
  console.log(`[start] ${message}`);
}

function elapsed(): string {
  return `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Spawns a child in its own process group, so stopping it also stops what it spawned. */
function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // A child started after stop() collected the others would outlive the stack.
  if (stopping) throw new Error(`the stack is stopping; not starting ${name}`);
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => console.log(`[${name}] ${line}`));
  }
  child.once("exit", (code, signal) => {
    if (!stopping) void stop(1, `${name} exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  return child;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  const stdout = child.stdout;
  if (!stdout) throw new Error(`${what}: no output to watch`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} did not become ready within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const lines = createInterface({ input: stdout });
    lines.on("line", (line) => {
      if (pattern.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => reject(new Error(`${what} exited before it was ready`)));
  });
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      const body: unknown = await response.json();
      if (response.ok) return body;
      last = `HTTP ${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(500);
  }
  throw new Error(`the Worker did not report healthy within ${timeoutMs / 1000} s (last: ${last})`);
}

/** Signals a process group; false when no process of it is left. */
function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/**
 * Stops one child and everything in its process group: SIGTERM, SIGKILL for what is left after 5
 * s. The leader's exit does not end the wait: wrangler's workerd processes may outlive it.
 */
async function stopChild(child: ChildProcess): Promise<void> {
  const groupId = child.pid;
  if (groupId === undefined) return;
  if (!signalGroup(groupId, "SIGTERM")) return;
  const deadline = Date.now() + 5_000;
  while (signalGroup(groupId, 0) && Date.now() < deadline) await sleep(100);
  if (!signalGroup(groupId, "SIGKILL")) return;
  // SIGKILL cannot be caught; what is left is only waiting to be reaped.
  const reaped = Date.now() + 2_000;
  while (signalGroup(groupId, 0) && Date.now() < reaped) await sleep(50);
}

/** Stops every child, removes the stack's record and exits. Once: later calls do nothing. */
async function stop(exitCode: number, reason?: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(reason ? `${reason}; stopping…` : "stopping…");
  await Promise.all(children.map(stopChild));
  unregister();
  process.exit(exitCode);
}

function unregister(): void {
  if (registered) unregisterStack(registered);
  registered = null;
}

/** One link of the chain up to whoever started the stack: `pid`'s parent must stay `parent`. */
interface ParentLink {
  pid: number;
  parent: number;
  /** The parent, in words, for the message when it goes. */
  parentName: string;
}

/** A process's parent from /proc, or null when the process is gone. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** npm titles its process `npm <command>`; otherwise its arguments name npm-cli.js. */
function isNpm(argv: readonly string[]): boolean {
  return /^npm(\s|$)/.test(argv[0]?.trim() ?? "") || argv.some((arg) => /[/\\]npm-cli\.js$/.test(arg));
}

/**
 * The chain from dev.ts up to the process that started it: under npm, also npm's `sh -c` (when the
 * script line has no `exec`) and npm itself, whose parent is the one that ran `npm start`. Only
 * dev.ts's own link where there is no /proc.
 */
function launchChain(): ParentLink[] {
  const chain: ParentLink[] = [{ pid: process.pid, parent: process.ppid, parentName: "the process that started it" }];
  const script = process.env["npm_lifecycle_script"];
  if (!script || !existsSync("/proc/self")) return chain;
  let pid = process.ppid;
  const shell = argvOf(pid);
  // npm runs `sh -c '<script> <args>'`; the environment names the script it ran.
  if (shell[1] === "-c" && (shell[2] === script || shell[2]?.startsWith(`${script} `))) {
    const parent = parentOf(pid);
    if (parent === null) return chain;
    chain[0] = { pid: process.pid, parent: process.ppid, parentName: "npm's shell" };
    chain.push({ pid, parent, parentName: "npm" });
    pid = parent;
  }
  if (isNpm(argvOf(pid))) {
    const parent = parentOf(pid);
    if (parent === null) return chain;
    if (chain.length === 1) chain[0] = { pid: process.pid, parent: process.ppid, parentName: "npm" };
    chain.push({ pid, parent, parentName: "the process that ran `npm start`" });
  }
  return chain;
}

/** Checks the chain twice a second and stops the stack when a link breaks. */
function watchLaunchChain(chain: readonly ParentLink[]): void {
  const timer = setInterval(() => {
    for (const link of chain) {
      const parent = link.pid === process.pid ? process.ppid : parentOf(link.pid);
      if (parent === link.parent) continue;
      clearInterval(timer);
      void stop(1, `${link.parentName} (pid ${link.parent}) is gone`);
      return;
    }
  }, 500);
  timer.unref();
}

/** What stops the stack besides its own errors: signals, the launch chain, a closed terminal pipe. */
function installStopHandlers(): void {
  process.on("SIGINT", () => void stop(0, "SIGINT received"));
  process.on("SIGTERM", () => void stop(0, "SIGTERM received"));
  process.on("SIGHUP", () => void stop(1, "the terminal hung up (SIGHUP)"));
  // A reader that went away (a supervisor's pipe) makes the next write fail: nobody is watching.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", () => void stop(1, "the output pipe closed"));
  process.on("uncaughtException", (error) => {
    console.error(`[start] unexpected error: ${error.stack ?? error.message}`);
    void stop(1);
  });
  process.on("exit", unregister);
  watchLaunchChain(launchChain());
}

/** The next port from `from` up that nothing answers on and no running stack has recorded. */
async function nextFreePort(from: number, taken: ReadonlySet<number>): Promise<number | null> {
  for (let port = from; port < from + 100 && port <= 65_535; port++)
    if (!taken.has(port) && !(await isPortOpen(port))) return port;
  return null;
}

/**
 * Checks that the settings are this stack's alone (its data folder used by no running stack, its
 * ports free) and picks the inspector port; throws with the settings a second stack could use.
 */
async function claimSettings(settings: StartSettings): Promise<{ inspectorPort: number }> {
  removeStalePointers();
  const running = runningStacks(undefined, [settings.dataDir]);
  const taken = new Set(running.flatMap((stack) => [stack.port, stack.libsqlPort, stack.inspectorPort]));
  const suggestion = async (): Promise<string> => {
    // Its own ports where they are free, else the next free ones.
    const port = await nextFreePort(settings.port, taken);
    const libsqlPort = await nextFreePort(settings.libsqlPort, new Set([...taken, port ?? 0]));
    return port === null || libsqlPort === null
      ? "a PORT, LIBSQL_PORT and DATA_DIR of its own"
      : `e.g. \`PORT=${port} LIBSQL_PORT=${libsqlPort} DATA_DIR=.data/stack-${port} npm start\``;
  };
  const owner = running.find((stack) => stack.dataDir === settings.dataDir);
  if (owner) {
    throw new Error(
      `DATA_DIR=${displayDir(settings.dataDir)} is in use by the stack running on port ${owner.port} ` +
        `(pid ${owner.pid}): stop it first, or start a second stack with ${await suggestion()}`,
    );
  }
  for (const [variable, port] of [
    ["PORT", settings.port],
    ["LIBSQL_PORT", settings.libsqlPort],
  ] as const) {
    if (!(await isPortOpen(port))) continue;
    const stack = running.find((candidate) => candidate.port === port || candidate.libsqlPort === port);
    const user = stack ? `the stack over DATA_DIR=${displayDir(stack.dataDir)} (pid ${stack.pid})` : "another program";
    throw new Error(
      `port ${port} (${variable}) is already in use by ${user}: ` +
        `stop it, or start this stack with ${await suggestion()}`,
    );
  }
  if (settings.inspectorPort !== undefined) {
    if (await isPortOpen(settings.inspectorPort))
      throw new Error(
        `INSPECTOR_PORT ${settings.inspectorPort} is already in use: ` +
          `choose another, or leave it unset to use a free one`,
      );
    return { inspectorPort: settings.inspectorPort };
  }
  // The debugger's usual port when it is free; else any, so a second stack never collides on it.
  const usual = defaultPorts.inspector;
  if (!taken.has(usual) && !(await isPortOpen(usual))) return { inspectorPort: usual };
  return { inspectorPort: await freePort() };
}

/** Who the dashboard link signs in, as the banner says it. */
const demoIdentityNote =
  `signed in as the demo analyst: ${demoOwner}, org ${demoOrg}, ` +
  `every permission, for 12 h; \`npm run link\` prints a fresh link`;

function mintDemoToken(jwtSecret: string): Promise<string> {
  // The demo analyst owns the seeded portfolios and may do everything (the dashboard opens signed in).
  return mintDevToken({ secret: jwtSecret, sub: demoOwner, org: demoOrg, permissions: allPermissions });
}

async function main(options: StartOptions): Promise<void> {
  installStopHandlers();
  const settings = startSettings();
  const { inspectorPort } = await claimSettings(settings);

  const secrets = createOrLoadLocalSecrets(settings.dataDir);
  const record = stackRecordFor({
    pid: process.pid,
    port: settings.port,
    libsqlPort: settings.libsqlPort,
    inspectorPort,
    // Its name now that it exists (a symlinked /tmp resolves), as the other commands will compare it.
    dataDir: canonicalDir(settings.dataDir),
    startedAt: new Date().toISOString(),
  });
  registerStack(record);
  registered = record;

  const databaseUrl = record.databaseUrl;
  const databasePath = path.join(settings.dataDir, "factor.db");
  say(`starting the local libSQL server on ${databaseUrl} (db: ${displayDir(databasePath)})`);
  // The token goes through the child's environment, not its command line: any local user can
  // read a process's arguments (`ps`, /proc/<pid>/cmdline), only its owner its environment.
  const libsql = startChild(
    "libsql",
    ["scripts/libsql-server.ts", "--port", String(settings.libsqlPort), "--db", databasePath],
    { ...process.env, LIBSQL_AUTH_TOKEN: secrets.libsqlAuthToken },
  );
  await waitForLine(libsql, /libsql-server listening on/, 20_000, "the libSQL server");

  const migration = await migrateDatabase(databaseUrl, secrets.libsqlAuthToken);
  say(
    `migrations: ${migration.migrationsApplied} applied now; default factors seeded: ${migration.factorsSeeded}; ` +
      `risk factors seeded: ${migration.riskFactorsSeeded}; ` +
      `built-in stress scenarios written: ${migration.scenariosSeeded}`,
  );
  let demoEndDate: string | null = null;
  if (options.demo) {
    const seed = await seedDemoData(databaseUrl, secrets.libsqlAuthToken);
    demoEndDate = seed.endDate;
    say(
      seed.seeded
        ? `seeded synthetic demo data: ${seed.symbols} symbols, ${seed.prices} closes ` +
            `to ${seed.endDate}, ${seed.portfolios} portfolios, ${seed.positions} positions`
        : `database already has data (${seed.symbols} symbols); keeping it`,
    );
  }
  const contents = await inspectDatabase(databaseUrl, secrets.libsqlAuthToken);
  const holdsDemo = contents.syntheticPrices > 0;
  if (!options.demo) {
    say(
      contents.symbols === 0 && contents.portfolios === 0
        ? "--no-demo: a clean start; no demo data seeded (the database " +
            "holds the factor definitions and built-in stress scenarios only)"
        : `--no-demo: the database already has data (${contents.symbols} ` +
            `symbols, ${contents.prices} closes, ${contents.portfolios} ` +
            `portfolios${holdsDemo ? ", the synthetic demo among them" : ""}); keeping it, nothing is deleted`,
    );
  }
  const provider = chooseProvider(process.env["MARKET_DATA_PROVIDER"], contents);
  say(`market data provider: ${provider.name} (${provider.reason})`);

  if (clientIsFresh()) {
    say("the client is up to date (dist/client is newer than client/, worker/ and the lockfile); not rebuilding");
  } else {
    say("building the client…");
    await build({ configFile: path.join(projectRoot, "client/vite.config.ts"), logLevel: "warn" });
  }

  // wrangler dev takes secrets from process.env when there is no .dev.vars file; a
  // .dev.vars file would win, so say so rather than silently point somewhere else.
  if (existsSync(path.join(projectRoot, ".dev.vars"))) {
    say("warning: .dev.vars exists and overrides the local database settings; remove it to use the local stack");
  }
  const workerSecrets = {
    TURSO_DATABASE_URL: databaseUrl,
    TURSO_AUTH_TOKEN: secrets.libsqlAuthToken,
    JWT_SECRET: secrets.jwtSecret,
  };

  const base = record.baseUrl;
  say(`starting wrangler dev on ${base} (inspector on 127.0.0.1:${inspectorPort})`);
  startChild(
    "wrangler",
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(settings.port),
      "--test-scheduled",
      "--persist-to",
      path.join(settings.dataDir, "wrangler"),
      "--show-interactive-dev-session=false",
      // The live socket accepts pages served by this stack, whatever its port.
      "--var",
      `LIVE_ALLOWED_ORIGINS:http://127.0.0.1:${settings.port},http://localhost:${settings.port}`,
      "--var",
      `MARKET_DATA_PROVIDER:${provider.name}`,
      // wrangler.toml describes production; the local stack accepts the HS256 tokens it mints.
      "--var",
      "ENVIRONMENT:development",
      // Chosen here rather than by wrangler, so the banner can say where and a second stack never
      // races the first for 9229.
      "--inspector-port",
      String(inspectorPort),
    ],
    { ...process.env, ...workerSecrets, WRANGLER_SEND_METRICS: "false" },
  );

  await waitForHealthy(`${base}/api/v1/health`, 90_000);
  const demoToken = await mintDemoToken(secrets.jwtSecret);
  // Only the demo's database gets a first-start history (its closes end on the last weekday).
  const backfill =
    options.demo && holdsDemo && demoEndDate !== null
      ? await startFirstBackfill(base, demoToken, demoEndDate, options.backfillDays)
      : null;
  console.log(
    [
      "",
      `  Factor exposure service is up (healthy after ${elapsed()}).${holdsDemo ? " Demo data is synthetic." : ""}`,
      "",
      `  Market data    ${provider.name}: ${provider.reason}`,
      ...(holdsDemo ? [] : ownDataLines(contents)),
      "",
      `  Dashboard      ${base}/#token=${demoToken}`,
      `                 (${demoIdentityNote}; the token stays in the URL fragment, never sent to a server)`,
      `  Health         ${base}/api/v1/health`,
      `  API docs       ${base}/api/v1/docs  (OpenAPI: ${base}/api/v1/openapi.json)`,
      `  Run the cron   ${base}/__scheduled?cron=30+21+*+*+1-5`,
      `  libSQL (Hrana) ${databaseUrl}  (bearer token in ${displayDir(record.secretsFile)})`,
      `  Inspector      127.0.0.1:${inspectorPort}  (the Worker's debugger, e.g. chrome://inspect)`,
      "",
      `  Demo token     (${demoOwner}, every permission, 12 h; \`npm run token\` mints others)`,
      `  ${demoToken}`,
      "",
      ...(backfill ? [backfill.line, ""] : []),
      `  In another terminal, \`npm run batch\`, \`npm run token\`, \`npm run link\` and the imports find this`,
      `  stack by themselves; with several running, give them its ${stackSettingsText(record)}.`,
      `  Ctrl-C stops everything; data stays in ${displayDir(settings.dataDir)}/.`,
      "",
    ].join("\n"),
  );
  if (backfill?.runId) await followFirstBackfill(base, secrets.jwtSecret, backfill.runId);
}

/** The banner's lines for a database without the demo: next steps, or what it holds. */
function ownDataLines(contents: DatabaseContents): string[] {
  if (contents.prices === 0) {
    return [
      "",
      "  Clean start: no prices yet. Next steps, in another terminal in this folder",
      '  (README "Use your own data" has the file formats):',
      "    npm run import:prices -- prices.csv        date,symbol,close[,adj_close,volume]; " +
        "SPY TLT VTV VUG MTUM QUAL IWM USMV included",
      "    npm run import:profiles -- profiles.csv    optional: company names, sectors, ratios",
      '    npm run import:positions -- --name "My portfolio" positions.csv',
      "    npm run batch -- --last 10                 the last 10 trading days of your prices (or --from D1 --to D2)",
      "  then open the Dashboard link below: it signs in as the demo analyst, " +
        "who owns the portfolio import:positions creates.",
    ];
  }
  return [
    `  Your data      ${contents.symbols} symbols, ${contents.prices} closes up ` +
      `to ${contents.lastPriceDate ?? "?"}, ${contents.portfolios} portfolio(s)`,
    "                 compute dates with `npm run batch -- --last 10` (or `--from YYYY-MM-DD --to YYYY-MM-DD`)",
  ];
}

interface FirstBackfill {
  /** The banner's line about it. */
  line: string;
  /** The run to follow; null when it could not start (the line says why). */
  runId: string | null;
}

/**
 * On a database that has never run the batch, computes the demo's recent history in the
 * background (a backfill through the admin API), so the dashboard's heatmap has numbers; its
 * progress shows live on the Batch page and the heatmap fills in as dates are published.
 */
async function startFirstBackfill(
  base: string,
  token: string,
  endDate: string,
  days: number,
): Promise<FirstBackfill | null> {
  if (days === 0) return null;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const runs = await fetch(`${base}/api/v1/admin/batch/runs?limit=1`, { headers });
  if (!runs.ok)
    return {
      line: `  Could not read the batch history (HTTP ${runs.status}); run \`npm run batch\` yourself.`,
      runId: null,
    };
  const history = (await runs.json()) as { total_count: number };
  if (history.total_count > 0) return null;
  const from = addDays(endDate, -days);
  const started = await fetch(`${base}/api/v1/admin/batch/backfill`, {
    method: "POST",
    headers,
    body: JSON.stringify({ from, to: endDate }),
  });
  if (!started.ok)
    return {
      line:
        `  Could not start the first batch run (HTTP ${started.status}: ${await started.text()}); ` +
        `run \`npm run batch\` yourself.`,
      runId: null,
    };
  const { run_id: runId } = (await started.json()) as { run_id: string };
  return {
    line:
      `  First start: computing ${from}..${endDate} in the background (about a minute; ` +
      `follow it on the Batch page;\n  the sign-in link is printed again when it ends).`,
    runId,
  };
}

/**
 * Follows the first start's run and, when it ends, prints its outcome and a fresh sign-in link
 * last: its log (a line per phase and chunk) would otherwise bury the banner's.
 */
async function followFirstBackfill(base: string, jwtSecret: string, runId: string): Promise<void> {
  const client = new ApiClient(base, await mintDemoToken(jwtSecret), { requestTimeoutMs: 30_000 });
  const detailPath = `/admin/batch/runs/${encodeURIComponent(runId)}?include_issues=false`;
  let outcome: string | null = null;
  for (let failures = 0; outcome === null; ) {
    await sleep(3_000);
    if (stopping) return;
    try {
      const { body } = await client.get<BatchRunDetail>(detailPath);
      failures = 0;
      if (isFinished(body.run.status)) {
        outcome = formatOutcome(body);
        if (body.run.status !== "completed") outcome += "\n  The Batch page lists what is missing and why.";
      }
    } catch (error) {
      // Retried: the stack is busy with the very run; a minute of failures in a row ends the wait.
      if (++failures >= 20)
        outcome = `could not follow run ${runId} (${formatError(error)}); the Batch page shows how it went`;
    }
  }
  // wrangler's log of the last requests is still on its way through the pipe; the link goes after it.
  await sleep(1_000);
  if (stopping) return;
  console.log(
    [
      "",
      `  First start's history: ${outcome}`,
      "",
      `  Dashboard      ${base}/#token=${await mintDemoToken(jwtSecret)}`,
      `                 (${demoIdentityNote})`,
      "",
    ].join("\n"),
  );
}

let options: StartOptions | "help";
try {
  options = parseStartOptions(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`[start] error: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
  process.exit(2);
}
if (options === "help") {
  console.log(usage);
  process.exit(0);
}
main(options).catch((error: unknown) => {
  console.error(`[start] ${error instanceof Error ? error.message : String(error)}`);
  void stop(1);
});
