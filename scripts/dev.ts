// `npm start`: the whole local stack in one command. Starts the local libSQL server,
// migrates and seeds it, builds the client, runs `wrangler dev` against it, and prints the
// URLs once the Worker reports healthy. Ctrl-C stops every process it started; the data
// stays in .data/ for the next start. Never prompts, never needs the network.
//
// `npm start -- --no-demo` (or NO_DEMO=1) seeds no demo data and computes no demo history:
// a clean database holds only what the migrations seed (factor definitions, built-in stress
// scenarios), ready for the user's own prices; a database that already has data is kept.
//
// The Worker's market data provider (`--var MARKET_DATA_PROVIDER:<name>`): `synthetic` only
// when the database holds the synthetic demo (closes with source 'synthetic'), `stored` (the
// batch runs on the prices in the database, fetches nothing) otherwise; MARKET_DATA_PROVIDER
// in the environment wins.
import { createClient } from "@libsql/client";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { build } from "vite";
import {
  dataDir,
  isPortOpen,
  loadLocalSecrets,
  localDatabasePath,
  localDatabaseUrl,
  localPorts,
  projectRoot,
} from "./local-config.ts";
import { migrateDatabase } from "./migrate.ts";
import { allPermissions, mintDevToken } from "./dev-token.ts";
import { demoOrg, demoOwner, seedDemoData } from "./seed-demo.ts";
import { addDays } from "../worker/dates.ts";
import { isMarketDataProviderName, marketDataProviderNames } from "../worker/market-data/provider.ts";

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
Environment: PORT (8787), LIBSQL_PORT (8080), DATA_DIR (.data), MARKET_DATA_PROVIDER
(default: synthetic on the demo's database, stored otherwise), DEMO_BACKFILL_DAYS (84).`;

interface StartOptions {
  /** Seed the synthetic demo into an empty database and compute its recent history. */
  demo: boolean;
}

/** `--no-demo` or NO_DEMO=1 (true/yes); anything else unknown is an error, never ignored. */
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
  return { demo: !(values["no-demo"] || noDemoFromEnv) };
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
        "select count(*) as n, coalesce(sum(source = 'synthetic'), 0) as synthetic, max(date) as last from market_prices",
        "select count(*) as n from portfolios",
      ],
      "read",
    );
    const priceRow = prices!.rows[0]!;
    return {
      symbols: Number(universe!.rows[0]!["n"]),
      prices: Number(priceRow["n"]),
      syntheticPrices: Number(priceRow["synthetic"]),
      lastPriceDate: typeof priceRow["last"] === "string" ? priceRow["last"] : null,
      portfolios: Number(owned!.rows[0]!["n"]),
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

/**
 * Calendar days of history the first start computes, so the dashboard opens with numbers
 * (84 ≈ 60 trading days); DEMO_BACKFILL_DAYS=0 skips it (the end-to-end tests run their own).
 */
const firstStartBackfillDays = Number(process.env["DEMO_BACKFILL_DAYS"] ?? 84);

const startedAt = Date.now();
const children: ChildProcess[] = [];
let stopping = false;

function say(message: string): void {
  console.log(`[start] ${message}`);
}

function elapsed(): string {
  return `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
}

/** Spawns a child in its own process group, so stopping it also stops what it spawned. */
function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
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
    if (!stopping) {
      console.error(`[start] ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack`);
      void stop(1);
    }
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
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the Worker did not report healthy within ${timeoutMs / 1000} s (last: ${last})`);
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          child.once("exit", () => resolve());
          process.kill(-child.pid, "SIGTERM");
          // A child that ignores SIGTERM gets SIGKILL after 5 s.
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
              process.kill(-child.pid, "SIGKILL");
          }, 5_000).unref();
        }),
    ),
  );
  process.exit(exitCode);
}

async function main(options: StartOptions): Promise<void> {
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));

  for (const [name, port] of Object.entries(localPorts)) {
    if (await isPortOpen(port)) {
      const variable = name === "libsql" ? "LIBSQL_PORT" : "PORT";
      throw new Error(`port ${port} (${name}) is already in use: stop what runs there or set ${variable}`);
    }
  }

  const secrets = loadLocalSecrets();
  const databaseUrl = localDatabaseUrl();
  say(`starting the local libSQL server on ${databaseUrl} (db: ${path.relative(projectRoot, localDatabasePath)})`);
  // The token goes through the child's environment, not its command line: any local user can
  // read a process's arguments (`ps`, /proc/<pid>/cmdline), only its owner its environment.
  const libsql = startChild(
    "libsql",
    ["scripts/libsql-server.ts", "--port", String(localPorts.libsql), "--db", localDatabasePath],
    { ...process.env, LIBSQL_AUTH_TOKEN: secrets.libsqlAuthToken },
  );
  await waitForLine(libsql, /libsql-server listening on/, 20_000, "the libSQL server");

  const migration = await migrateDatabase(databaseUrl, secrets.libsqlAuthToken);
  say(
    `migrations: ${migration.migrationsApplied} applied now; default factors seeded: ${migration.factorsSeeded}; built-in stress scenarios written: ${migration.scenariosSeeded}`,
  );
  let demoEndDate: string | null = null;
  if (options.demo) {
    const seed = await seedDemoData(databaseUrl, secrets.libsqlAuthToken);
    demoEndDate = seed.endDate;
    say(
      seed.seeded
        ? `seeded synthetic demo data: ${seed.symbols} symbols, ${seed.prices} closes to ${seed.endDate}, ${seed.portfolios} portfolios, ${seed.positions} positions`
        : `database already has data (${seed.symbols} symbols); keeping it`,
    );
  }
  const contents = await inspectDatabase(databaseUrl, secrets.libsqlAuthToken);
  const holdsDemo = contents.syntheticPrices > 0;
  if (!options.demo) {
    say(
      contents.symbols === 0 && contents.portfolios === 0
        ? "--no-demo: a clean start; no demo data seeded (the database holds the factor definitions and built-in stress scenarios only)"
        : `--no-demo: the database already has data (${contents.symbols} symbols, ${contents.prices} closes, ${contents.portfolios} portfolios${holdsDemo ? ", the synthetic demo among them" : ""}); keeping it, nothing is deleted`,
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

  say(`starting wrangler dev on http://127.0.0.1:${localPorts.worker}`);
  startChild(
    "wrangler",
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(localPorts.worker),
      "--test-scheduled",
      "--persist-to",
      path.join(dataDir, "wrangler"),
      "--show-interactive-dev-session=false",
      // The live socket accepts pages served by this stack, whatever its port.
      "--var",
      `LIVE_ALLOWED_ORIGINS:http://127.0.0.1:${localPorts.worker},http://localhost:${localPorts.worker}`,
      "--var",
      `MARKET_DATA_PROVIDER:${provider.name}`,
      // wrangler.toml describes production; the local stack accepts the HS256 tokens it mints.
      "--var",
      "ENVIRONMENT:development",
      // A second stack (the end-to-end tests' own) needs its own inspector port.
      ...(process.env["INSPECTOR_PORT"] ? ["--inspector-port", process.env["INSPECTOR_PORT"]] : []),
    ],
    { ...process.env, ...workerSecrets, WRANGLER_SEND_METRICS: "false" },
  );

  const base = `http://127.0.0.1:${localPorts.worker}`;
  await waitForHealthy(`${base}/api/v1/health`, 90_000);
  // The demo analyst owns the seeded portfolios and may do everything (the dashboard opens signed in).
  const demoToken = await mintDevToken({
    secret: secrets.jwtSecret,
    sub: demoOwner,
    org: demoOrg,
    permissions: allPermissions,
  });
  // Only the demo's database gets a first-start history (its closes end on the last weekday).
  const backfill =
    options.demo && holdsDemo && demoEndDate !== null ? await startFirstBackfill(base, demoToken, demoEndDate) : null;
  console.log(
    [
      "",
      `  Factor exposure service is up (healthy after ${elapsed()}).${holdsDemo ? " Demo data is synthetic." : ""}`,
      "",
      `  Market data    ${provider.name}: ${provider.reason}`,
      ...(holdsDemo ? [] : ownDataLines(contents)),
      "",
      `  Dashboard      ${base}/#token=${demoToken}`,
      "                 (signed in as the demo analyst; the token stays in the URL fragment, never sent to a server)",
      `  Health         ${base}/api/v1/health`,
      `  API docs       ${base}/api/v1/docs  (OpenAPI: ${base}/api/v1/openapi.json)`,
      `  Run the cron   ${base}/__scheduled?cron=30+21+*+*+1-5`,
      `  libSQL (Hrana) ${databaseUrl}  (bearer token in ${path.relative(projectRoot, path.join(dataDir, "local-secrets.json"))})`,
      "",
      `  Demo token     (${demoOwner}, every permission, 12 h; \`npm run token\` mints others)`,
      `  ${demoToken}`,
      "",
      ...(backfill ? [backfill, ""] : []),
      `  Ctrl-C stops everything; data stays in ${path.relative(projectRoot, dataDir)}/.`,
      "",
    ].join("\n"),
  );
}

/** The banner's lines for a database without the demo: next steps, or what it holds. */
function ownDataLines(contents: DatabaseContents): string[] {
  // Another terminal must reach the same stack: the scripts read the same variables.
  const custom = ["PORT", "LIBSQL_PORT", "DATA_DIR"].filter((name) => process.env[name]);
  const sameEnv = custom.length > 0 ? ` (with the same ${custom.join(", ")})` : "";
  if (contents.prices === 0) {
    return [
      "",
      `  Clean start: no prices yet. Next steps, in another terminal in this folder${sameEnv}`,
      '  (README "Use your own data" has the file formats):',
      "    npm run import:prices -- prices.csv        date,symbol,close[,adj_close,volume]; SPY TLT VTV VUG MTUM QUAL IWM USMV included",
      "    npm run import:profiles -- profiles.csv    optional: company names, sectors, ratios",
      '    npm run import:positions -- --name "My portfolio" positions.csv',
      "    npm run batch -- --last 10                 the last 10 trading days of your prices (or --from D1 --to D2)",
      "  then open the Dashboard link below: it signs in as the demo analyst, who owns the portfolio import:positions creates.",
    ];
  }
  return [
    `  Your data      ${contents.symbols} symbols, ${contents.prices} closes up to ${contents.lastPriceDate ?? "?"}, ${contents.portfolios} portfolio(s)`,
    `                 compute dates with \`npm run batch -- --last 10\` (or \`--from YYYY-MM-DD --to YYYY-MM-DD\`)${sameEnv}`,
  ];
}

/**
 * On a database that has never run the batch, computes the demo's recent history in the
 * background (a backfill through the admin API), so the dashboard's heatmap has numbers; its
 * progress shows live on the Batch page and the heatmap fills in as dates are published.
 */
async function startFirstBackfill(base: string, token: string, endDate: string): Promise<string | null> {
  if (!(firstStartBackfillDays > 0)) return null;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const runs = await fetch(`${base}/api/v1/admin/batch/runs?limit=1`, { headers });
  if (!runs.ok) return `  Could not read the batch history (HTTP ${runs.status}); run \`npm run batch\` yourself.`;
  const history = (await runs.json()) as { total_count: number };
  if (history.total_count > 0) return null;
  const from = addDays(endDate, -firstStartBackfillDays);
  const started = await fetch(`${base}/api/v1/admin/batch/backfill`, {
    method: "POST",
    headers,
    body: JSON.stringify({ from, to: endDate }),
  });
  if (!started.ok)
    return `  Could not start the first batch run (HTTP ${started.status}: ${await started.text()}); run \`npm run batch\` yourself.`;
  return `  First start: computing ${from}..${endDate} in the background (about a minute; follow it on the Batch page).`;
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
