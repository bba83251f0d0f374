// Settings of the local stack: what `npm start` (scripts/dev.ts) runs with, and how the commands
// that talk to a running stack (`npm run batch`, `token`, `link`, the imports, `db:migrate`) find it.
//
// `npm start` takes PORT, LIBSQL_PORT, INSPECTOR_PORT and DATA_DIR from its environment and creates
// the stack's secrets once, in DATA_DIR/local-secrets.json (owner-only), so restarts keep working
// tokens and the database stays behind a bearer token as in production. While it runs it records
// its settings in DATA_DIR/stack.json, and a pointer to that folder in .data/stacks/<pid>.json: a
// place every command knows, whatever DATA_DIR is.
//
// The other commands read those records. Given no settings they use the one running stack; PORT,
// LIBSQL_PORT or DATA_DIR say which of several. They refuse to guess (several stacks running, or
// settings that mix one stack's with another's) and never create secrets: a token signed with a
// secret of their own is one no stack accepts, which is how `npm run batch` with another DATA_DIR
// used to end in a 401.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));
export const defaultDataDir = path.join(projectRoot, ".data");
/** Where each running stack leaves a pointer to its data folder (`<pid>.json`). */
export const stackRegistryDir = path.join(defaultDataDir, "stacks");
export const defaultPorts = { worker: 8787, libsql: 8080, inspector: 9229 } as const;

const stackFileName = "stack.json";
const secretsFileName = "local-secrets.json";

/** The local stack cannot be found or used as asked; the message says what to pass or do. */
export class LocalStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalStackError";
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export async function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function portFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535)
    throw new LocalStackError(`${name} must be a port number from 1 to 65535, got ${JSON.stringify(env[name])}`);
  return port;
}

/**
 * One name per folder, so `DATA_DIR=.data`, `DATA_DIR=./.data/` and a symlink to it compare equal.
 * Relative paths are relative to the project folder, where npm runs every script.
 */
export function canonicalDir(dir: string): string {
  const absolute = path.resolve(projectRoot, dir);
  try {
    return realpathSync(absolute);
  } catch (error) {
    // A folder that does not exist yet has no other name than its absolute path.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return absolute;
    throw error;
  }
}

/** A data folder as a person would type it: relative to the project when inside it. */
export function displayDir(dir: string): string {
  const relative = path.relative(projectRoot, dir);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : dir;
}

/** The settings the environment gives (PORT, LIBSQL_PORT, DATA_DIR), each absent when not set. */
export interface GivenSettings {
  port?: number;
  libsqlPort?: number;
  dataDir?: string;
}

export function givenSettings(env: NodeJS.ProcessEnv = process.env): GivenSettings {
  const given: GivenSettings = {};
  const port = portFromEnv(env, "PORT");
  const libsqlPort = portFromEnv(env, "LIBSQL_PORT");
  if (port !== undefined) given.port = port;
  if (libsqlPort !== undefined) given.libsqlPort = libsqlPort;
  if (env["DATA_DIR"]?.trim()) given.dataDir = canonicalDir(env["DATA_DIR"].trim());
  return given;
}

/** What `npm start` runs with: the environment's settings, else the defaults. */
export interface StartSettings {
  port: number;
  libsqlPort: number;
  /** INSPECTOR_PORT, when set; otherwise dev.ts picks one (9229 when free). */
  inspectorPort: number | undefined;
  dataDir: string;
}

export function startSettings(env: NodeJS.ProcessEnv = process.env): StartSettings {
  const given = givenSettings(env);
  return {
    port: given.port ?? defaultPorts.worker,
    libsqlPort: given.libsqlPort ?? defaultPorts.libsql,
    inspectorPort: portFromEnv(env, "INSPECTOR_PORT"),
    dataDir: given.dataDir ?? canonicalDir(defaultDataDir),
  };
}

export function secretsFileOf(dataDir: string): string {
  return path.join(dataDir, secretsFileName);
}

export interface LocalSecrets {
  libsqlAuthToken: string;
  jwtSecret: string;
}

function isLocalSecrets(value: unknown): value is LocalSecrets {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>)["libsqlAuthToken"] === "string" &&
    typeof (value as Record<string, unknown>)["jwtSecret"] === "string"
  );
}

function readSecretsFile(file: string): LocalSecrets {
  // Owner-only, also for a file an older version wrote with the default mode.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (isLocalSecrets(parsed)) return parsed;
  throw new LocalStackError(
    `${file} is not valid; stop the stack and delete it: the next \`npm start\` creates new secrets`,
  );
}

/** The stack's secrets, created on its first start. Only `npm start` calls this. */
export function createOrLoadLocalSecrets(dataDir: string): LocalSecrets {
  const file = secretsFileOf(dataDir);
  if (existsSync(file)) return readSecretsFile(file);
  // The data directory holds the secrets and the database: owner-only when created here.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets: LocalSecrets = {
    libsqlAuthToken: randomBytes(24).toString("base64url"),
    jwtSecret: randomBytes(32).toString("base64url"),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

/** What a running stack records about itself (DATA_DIR/stack.json). */
export interface StackRecord {
  /** scripts/dev.ts's process. */
  pid: number;
  port: number;
  libsqlPort: number;
  inspectorPort: number;
  dataDir: string;
  baseUrl: string;
  databaseUrl: string;
  secretsFile: string;
  startedAt: string;
}

function isStackRecord(value: unknown): value is StackRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    ["pid", "port", "libsqlPort", "inspectorPort"].every((key) => Number.isInteger(record[key])) &&
    ["dataDir", "baseUrl", "databaseUrl", "secretsFile", "startedAt"].every((key) => typeof record[key] === "string")
  );
}

export function stackRecordFor(settings: Omit<StackRecord, "baseUrl" | "databaseUrl" | "secretsFile">): StackRecord {
  return {
    ...settings,
    baseUrl: `http://127.0.0.1:${settings.port}`,
    databaseUrl: `http://127.0.0.1:${settings.libsqlPort}`,
    secretsFile: secretsFileOf(settings.dataDir),
  };
}

/** Written whole or not at all: a reader never sees half a file. */
function writeFileAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Records a starting stack where the other commands look (its data folder and the registry). */
export function registerStack(record: StackRecord, registryDir: string = stackRegistryDir): void {
  writeFileAtomically(path.join(record.dataDir, stackFileName), `${JSON.stringify(record, null, 2)}\n`);
  mkdirSync(registryDir, { recursive: true, mode: 0o700 });
  writeFileAtomically(
    path.join(registryDir, `${record.pid}.json`),
    `${JSON.stringify({ pid: record.pid, dataDir: record.dataDir })}\n`,
  );
}

/** Removes what `registerStack` wrote, leaving a data folder another stack has since recorded alone. */
export function unregisterStack(record: StackRecord, registryDir: string = stackRegistryDir): void {
  rmSync(path.join(registryDir, `${record.pid}.json`), { force: true });
  const stackFile = path.join(record.dataDir, stackFileName);
  if (readStackFile(record.dataDir)?.pid === record.pid) rmSync(stackFile, { force: true });
}

/** The record in `dataDir`, or null when there is none or it cannot be read as one. */
function readStackFile(dataDir: string): StackRecord | null {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, stackFileName), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isStackRecord(parsed) ? parsed : null;
  } catch {
    // Handled: only dev.ts writes the file (atomically); one that does not parse names no stack.
    return null;
  }
}

/**
 * Whether the process a record names is still that stack's dev.ts: alive, and (where /proc tells)
 * still running dev.ts, not another program that got the pid of one killed with -9.
 */
export function isStackAlive(record: Pick<StackRecord, "pid">): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's; any other error: no such process.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const cmdline = `/proc/${record.pid}/cmdline`;
  if (!existsSync("/proc/self")) return true;
  try {
    return readFileSync(cmdline, "utf8").includes("dev.ts");
  } catch {
    // Handled: the process ended between the two checks.
    return false;
  }
}

interface StackPointer {
  pid: number;
  dataDir: string;
}

function readPointers(registryDir: string): { file: string; pointer: StackPointer | null }[] {
  if (!existsSync(registryDir)) return [];
  return readdirSync(registryDir)
    .filter((name) => /^\d+\.json$/.test(name))
    .map((name) => {
      const file = path.join(registryDir, name);
      try {
        const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<StackPointer>;
        const valid = Number.isInteger(parsed.pid) && typeof parsed.dataDir === "string";
        return { file, pointer: valid ? (parsed as StackPointer) : null };
      } catch {
        // Handled: an unreadable pointer names no stack (stale ones are removed by the next `npm start`).
        return { file, pointer: null };
      }
    });
}

/**
 * The stacks running now: those the registry points at, plus the ones recorded in `dataDirs`
 * (the DATA_DIR a command was given), each only while its dev.ts is alive. Oldest first.
 */
export function runningStacks(registryDir: string = stackRegistryDir, dataDirs: readonly string[] = []): StackRecord[] {
  const byPid = new Map<number, StackRecord>();
  const candidates = [
    ...readPointers(registryDir).flatMap(({ pointer }) =>
      pointer ? [{ pid: pointer.pid, dataDir: pointer.dataDir }] : [],
    ),
    ...dataDirs.map((dataDir) => ({ pid: null, dataDir })),
  ];
  for (const candidate of candidates) {
    const record = readStackFile(candidate.dataDir);
    if (record === null || (candidate.pid !== null && record.pid !== candidate.pid)) continue;
    if (!byPid.has(record.pid) && isStackAlive(record)) byPid.set(record.pid, record);
  }
  return [...byPid.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** Removes registry pointers whose stack is gone (killed with -9, say); `npm start` does it. */
export function removeStalePointers(registryDir: string = stackRegistryDir): void {
  const running = new Set(runningStacks(registryDir).map((record) => record.pid));
  for (const { file, pointer } of readPointers(registryDir))
    if (pointer === null || !running.has(pointer.pid)) rmSync(file, { force: true });
}

/** The stack a command talks to: a running one, or the settings one would run with. */
export interface LocalStack {
  port: number;
  libsqlPort: number;
  dataDir: string;
  baseUrl: string;
  databaseUrl: string;
  secretsFile: string;
  /** The running stack these settings are from; null when none runs with them. */
  running: StackRecord | null;
  /** The other stacks running, for messages that say what could be meant instead. */
  otherStacks: readonly StackRecord[];
}

/** `PORT=8787 DATA_DIR=.data`: what to put before a command to reach this stack. */
export function stackSettingsText(stack: Pick<StackRecord, "port" | "dataDir">): string {
  return `PORT=${stack.port} DATA_DIR=${displayDir(stack.dataDir)}`;
}

function givenText(given: GivenSettings): string {
  return [
    given.port === undefined ? null : `PORT=${given.port}`,
    given.libsqlPort === undefined ? null : `LIBSQL_PORT=${given.libsqlPort}`,
    given.dataDir === undefined ? null : `DATA_DIR=${displayDir(given.dataDir)}`,
  ]
    .filter((part) => part !== null)
    .join(" ");
}

function runningList(stacks: readonly StackRecord[]): string {
  return stacks
    .map(
      (stack) =>
        `  ${stackSettingsText(stack)}   (libSQL on ${stack.libsqlPort}, pid ${stack.pid}, since ${stack.startedAt})`,
    )
    .join("\n");
}

/**
 * Which stack a command means, decided from the stacks running and the settings it was given
 * alone (the commands call `findLocalStack`, which reads both). The one running stack that has
 * every given setting; with no such stack, the given settings completed with the defaults, unless
 * a running stack has one of them (its port, its data folder): mixing two stacks' settings signs
 * with one stack's secret and talks to the other. `command` names the command in the messages
 * (e.g. `npm run batch`).
 */
export function chooseStack(
  running: readonly StackRecord[],
  given: GivenSettings,
  command = "the command",
): LocalStack {
  const matches = running.filter(
    (stack) =>
      (given.port === undefined || stack.port === given.port) &&
      (given.libsqlPort === undefined || stack.libsqlPort === given.libsqlPort) &&
      (given.dataDir === undefined || stack.dataDir === given.dataDir),
  );
  const [only, another] = matches;
  if (only && !another) {
    return {
      port: only.port,
      libsqlPort: only.libsqlPort,
      dataDir: only.dataDir,
      baseUrl: only.baseUrl,
      databaseUrl: only.databaseUrl,
      secretsFile: only.secretsFile,
      running: only,
      otherStacks: running.filter((stack) => stack !== only),
    };
  }
  const asked = givenText(given);
  if (only && another) {
    throw new LocalStackError(
      [
        `${matches.length} local stacks are running${asked ? ` with ${asked}` : ""}; ` +
          `say which one by giving its PORT and DATA_DIR, e.g. \`${stackSettingsText(only)} ${command}\`:`,
        runningList(matches),
      ].join("\n"),
    );
  }
  const settings = {
    port: given.port ?? defaultPorts.worker,
    libsqlPort: given.libsqlPort ?? defaultPorts.libsql,
    dataDir: given.dataDir ?? canonicalDir(defaultDataDir),
  };
  const overlapping = running.filter(
    (stack) =>
      stack.port === settings.port || stack.libsqlPort === settings.libsqlPort || stack.dataDir === settings.dataDir,
  );
  const [firstOverlapping] = overlapping;
  if (firstOverlapping) {
    const defaulted = (isGiven: boolean) => (isGiven ? "" : " (the default)");
    const clashes = (stack: StackRecord): string =>
      [
        stack.port === settings.port ? `PORT=${settings.port}${defaulted(given.port !== undefined)}` : null,
        stack.libsqlPort === settings.libsqlPort
          ? `LIBSQL_PORT=${settings.libsqlPort}${defaulted(given.libsqlPort !== undefined)}`
          : null,
        stack.dataDir === settings.dataDir
          ? `DATA_DIR=${displayDir(settings.dataDir)}${defaulted(given.dataDir !== undefined)}`
          : null,
      ]
        .filter((clash) => clash !== null)
        .join(" and ");
    throw new LocalStackError(
      [
        `no running stack has ${asked}; part of that is another stack's:`,
        ...overlapping.map(
          (stack) =>
            `  ${clashes(stack)}: the stack running with ${stackSettingsText(stack)} ` +
            `(libSQL on ${stack.libsqlPort}, pid ${stack.pid})`,
        ),
        `To ` +
          `use ${overlapping.length > 1 ? "one of them, give its settings, e.g." : "that stack, give its settings:"} ` +
          `\`${stackSettingsText(firstOverlapping)} ${command}\`. A stack of your own needs a DATA_DIR, ` +
          `PORT and LIBSQL_PORT no running stack has: \`DATA_DIR=… PORT=… LIBSQL_PORT=… npm start\`.`,
      ].join("\n"),
    );
  }
  return {
    ...settings,
    baseUrl: `http://127.0.0.1:${settings.port}`,
    databaseUrl: `http://127.0.0.1:${settings.libsqlPort}`,
    secretsFile: secretsFileOf(settings.dataDir),
    otherStacks: running,
    running: null,
  };
}

/** How the running command is called, for messages: `npm run batch`, else the script's name. */
function commandName(): string {
  const event = process.env["npm_lifecycle_event"];
  if (event) return `npm run ${event}`;
  return `node ${path.relative(projectRoot, process.argv[1] ?? "the command")}`;
}

export interface FindStackOptions {
  env?: NodeJS.ProcessEnv;
  /** A port the command was given otherwise (`--url`); it wins over PORT. */
  port?: number;
  registryDir?: string;
}

/** The stack the environment's settings (PORT, LIBSQL_PORT, DATA_DIR) mean; see `chooseStack`. */
export function findLocalStack(options: FindStackOptions = {}): LocalStack {
  const given = givenSettings(options.env ?? process.env);
  if (options.port !== undefined) given.port = options.port;
  const running = runningStacks(options.registryDir ?? stackRegistryDir, given.dataDir ? [given.dataDir] : []);
  return chooseStack(running, given, commandName());
}

/**
 * The secrets of the stack a command talks to. Never creates them: only `npm start` does, and a
 * secret made here would sign tokens its stack refuses.
 */
export function readLocalSecrets(stack: LocalStack): LocalSecrets {
  if (existsSync(stack.secretsFile)) return readSecretsFile(stack.secretsFile);
  const where = displayDir(stack.dataDir);
  const start = `\`${stackSettingsText(stack)} npm start\``;
  if (stack.running)
    throw new LocalStackError(
      `the stack running over DATA_DIR=${where} has no ${secretsFileName} (was it deleted?); ` +
        `restart it with ${start} to create one`,
    );
  throw new LocalStackError(
    [
      `DATA_DIR=${where} has no ${secretsFileName}, and no stack is running with ${stackSettingsText(stack)}: ` +
        `only \`npm start\` creates the secrets this command signs with. Start that stack first (${start}), ` +
        `or give the PORT and DATA_DIR of one that runs.`,
      ...(stack.otherStacks.length > 0 ? ["Running now:", runningList(stack.otherStacks)] : []),
    ].join("\n"),
  );
}

export interface DatabaseTarget {
  url: string;
  authToken: string | undefined;
}

/** Where scripts write: TURSO_DATABASE_URL (+ TURSO_AUTH_TOKEN) when set, else the local stack's server. */
export function databaseTarget(): DatabaseTarget {
  const url = process.env["TURSO_DATABASE_URL"];
  if (url) return { url, authToken: process.env["TURSO_AUTH_TOKEN"] || undefined };
  const stack = findLocalStack();
  return { url: stack.databaseUrl, authToken: readLocalSecrets(stack).libsqlAuthToken };
}

/**
 * Runs a command's `main`: a `LocalStackError` (no stack running, several, settings that mix two
 * stacks) is printed as `error: …` with exit code 2, since its message says what to pass; any
 * other error is a bug and keeps its stack trace.
 */
export async function reportingStackErrors(main: () => Promise<number>): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (!(error instanceof LocalStackError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
}
