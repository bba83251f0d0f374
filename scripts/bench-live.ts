// Live updates benchmark: `npm run bench:live` (node scripts/bench-live.ts).
//
// What it measures: how fast the LiveHub (worker/realtime/live-hub.ts) fans a publish out to
// many dashboards, on the real local stack — `wrangler dev` (the Worker and its Durable
// Objects) against the local libSQL server, over loopback. 1,000 WebSocket clients, each a
// different user of the bench org (`bench-org`, so all of them are on ONE hub,
// `org:bench-org`), 10 per portfolio across the 100 bench portfolios, each subscribed to its
// portfolio. Then:
//   batch publish     POST /api/v1/admin/batch/run {date: endDate} again (nothing changed; its
//                     publish phase still sends every portfolio's exposures, cause "batch").
//                     Per client: receipt of its `exposures.updated` − the publish phase's
//                     start. Two starts, both on this machine's clock:
//                       publish work  the publish chunk's start in its consumer (the chunk's
//                                     `updated_at` − its `duration_ms`, batch_chunks): from
//                                     here the Worker reads the stored exposures and sends them.
//                                     The target's reference.
//                       phase start   batch_phase_results.started_at of `publish`: when the
//                                     phase was planned, before its queue message was
//                                     delivered (the queue hop: up to max_batch_timeout, 1 s).
//                     Also the spread from the first to the last client's receipt.
//   position change   PATCH /portfolios/<--portfolio>/positions/<its first position> (quantity
//                     +10%) by the owner: the Worker recomputes that portfolio's latest date
//                     after the response and pushes it (cause "positions") to its 10 clients.
//                     Latency: receipt − the moment the PATCH was sent (no target). Before it,
//                     a limit on that portfolio's market exposure pinned to its stored value
//                     (POST, then PATCH min = max = the value: within, bounds inclusive), so the
//                     change breaches it: the same latency to each listener's `alert.raised` of
//                     the latest date (docs/live.md). The limit is deleted afterwards.
// Lost messages: every subscribed client must receive exactly one `exposures.updated` for its
// portfolio per publish, with seq = the previous seq + 1 (subscribed's seq, then the batch's);
// missing ones are lost, extra ones duplicates; no client may get another portfolio's update.
// Memory: RSS (VmRSS) of every process in wrangler dev's process group — the workerd that runs
// the Worker and its Durable Objects, wrangler's proxy workerd, wrangler's node — before the
// clients connect, with all of them connected and subscribed, after the batch publish and at
// the end. Target: p99 ≤ 500 ms from the publish work's start to receipt, zero lost, every
// client connected and subscribed.
//
// How: a fresh temp dir holds the database, the wrangler state and logs. The libSQL server
// (scripts/libsql-server.ts) runs as a child process, so that the clients' receipts are not
// queued behind the database's work on this process's event loop. Migrations, then the bench
// data set (scripts/bench-batch/seed.ts) with a smaller universe by default (500 symbols: this
// measures the live path, not the batch), 100 portfolios of 50 positions. The Worker is
// snapshotted as the other benchmarks do (bundled with `wrangler deploy --dry-run`, served with
// `wrangler dev --no-bundle`, the synthetic provider's vars matching the seed,
// LIVE_ALLOWED_ORIGINS = the dev server's own origin, which the clients send). The project's
// wrangler.toml is used unchanged: each client has its own `sub`, so the per-caller rate limit
// (1,200 requests a minute) is not in the way. The batch runs once for the end date, through
// the admin API as bench:api runs it (runBatch in scripts/bench-batch/common.ts, with the setup
// steps the benchmarks share), so that every portfolio has stored exposures and a sequence
// number (1). Clients connect in a pipeline, `--concurrency` at a time, each using its ticket
// as soon as it has it (a ticket is valid 30 s); tokens carry VIEW_FACTOR_ANALYTICS and
// VIEW_ALL_POSITIONS (an org member reads the org's portfolios only with the latter). Receipts
// are stamped with Date.now() in the message event; the database's timestamps come from
// SQLite's clock on the same machine. After the batch run ends the benchmark waits (`--wait`)
// for the missing messages, then 1 s more for duplicates. Everything started is stopped and
// every socket closed on exit, error or Ctrl-C; `--keep` keeps the temp dir (the wrangler log:
// wrangler.log).
//
// Options: --clients N (1000), --portfolios N (100), --concurrency N (connections being set up
// at a time, 50), --symbols N (500), --positions N (50), --end-date YYYY-MM-DD (2026-06-30),
// --portfolio ID (position change, bench-portfolio-001), --skip-position-change, --wait S
// (seconds to wait for messages after a publish, 15), --out FILE (bench-results/live.json),
// --keep.
//
// Caveats:
// - Everything shares the machine's cores: the Worker's workerd (one isolate: the hub and the
//   batch's consumers share a thread), wrangler's proxy workerd (every frame passes through
//   it), wrangler's node (it logs every request), the libSQL server's process and this process
//   (all 1,000 clients on one event loop: a receipt is stamped when its event runs, so the
//   figures include this process's own queueing — the JSON records its event-loop delay).
//   Production hubs run on Cloudflare's machines and clients are across the internet.
// - "publish work" is reconstructed from the database: the chunk's `updated_at` (stamped when
//   its completion is written, a round trip after the work ended) − the work's duration as the
//   consumer measured it (workerd's clock advances only across I/O), so it may be a few ms
//   late; latencies from it may be that much low. "phase start" includes the queue hop.
// - The batch publish sends 100 portfolios' updates to one hub in one call; the first
//   portfolio's clients get theirs before the last portfolio's is built, so the spread covers
//   the hub's loop over updates and sockets, not only the network.
// - Other processes on the machine (tests, another benchmark) skew the figures; the JSON
//   records the load average at start and end.
import { createClient, type Client } from "@libsql/client";
import { readFileSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { mintDevToken } from "./dev-token.ts";
import { migrateDatabase } from "./migrate.ts";
import {
  benchSay,
  benchSecrets,
  benchTempDir,
  benchWorkerVars,
  buildClientIfMissing,
  checkEndDate,
  excerpt,
  exitOnSignals,
  loadAverage,
  machineInfo,
  request,
  round,
  runAndExit,
  runBatch,
  seconds,
  sleep,
  startHealthyWorker,
  thousands,
  wholeNumber,
  writeResults,
  type RunBatchOptions,
} from "./bench-batch/common.ts";
import { benchMarketOptions, benchOrg, benchOwner, seedBenchData, type SeedSummary } from "./bench-batch/seed.ts";
import {
  freePort,
  groupCpuSeconds,
  groupProcesses,
  onStop,
  snapshotWorker,
  startChild,
  tail,
  type ManagedChild,
} from "./bench-batch/stack.ts";
import { LiveClient, settleWithLimit, type ClientSpec } from "./bench-live/clients.ts";
import { parseMessage, serverMessage } from "../worker/realtime/messages.ts";
import { required } from "../worker/required.ts";

const targets = { p99Ms: 500, lost: 0 };

const { values: flags } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    portfolios: { type: "string", default: "100" },
    concurrency: { type: "string", default: "50" },
    symbols: { type: "string", default: "500" },
    positions: { type: "string", default: "50" },
    "end-date": { type: "string", default: "2026-06-30" },
    portfolio: { type: "string", default: "bench-portfolio-001" },
    "skip-position-change": { type: "boolean", default: false },
    wait: { type: "string", default: "15" },
    out: { type: "string", default: "bench-results/live.json" },
    keep: { type: "boolean", default: false },
  },
  strict: true,
});

const endDate = checkEndDate(flags["end-date"]);
const clientCount = wholeNumber("clients", flags.clients, 1);
const portfolioCount = wholeNumber("portfolios", flags.portfolios, 1);
const concurrency = wholeNumber("concurrency", flags.concurrency, 1);
const symbols = wholeNumber("symbols", flags.symbols, 1);
const positionsPerPortfolio = wholeNumber("positions", flags.positions, 1);
const waitSeconds = wholeNumber("wait", flags.wait, 1);
const changedPortfolio = flags.portfolio;
const portfolioIds = Array.from(
  { length: portfolioCount },
  (_, p) => `bench-portfolio-${String(p + 1).padStart(3, "0")}`,
);
if (!flags["skip-position-change"] && !portfolioIds.includes(changedPortfolio))
  throw new Error(`--portfolio ${changedPortfolio} is not one of the ${portfolioCount} bench portfolios`);
// Positions open two weeks before the end date; a year of closes before it, plus a margin (as
// the other benchmarks compute the window).
const firstMeasuredDate = endDate;
const lookbackDays = 540;
/** Each client reads its portfolio only through its org: VIEW_ALL_POSITIONS is needed (ownership). */
const clientPermissions = ["VIEW_FACTOR_ANALYTICS", "VIEW_ALL_POSITIONS"] as const;
const connectTimeoutMs = 30_000;

const say = benchSay();
/** How this benchmark polls a batch run (runBatch): every 0.5 s, no progress lines, 15 min at most. */
const batchPolling: RunBatchOptions = { say, hardLimitMs: 15 * 60_000, pollMs: 500, progressEveryMs: null };

// ---------------------------------------------------------------------------------------------

interface ProcessMemory {
  pid: number;
  command: string;
  role: string;
  rssMiB: number;
}

/** RSS of every process in a process group, from /proc (VmRSS); [] where /proc is not available. */
function groupMemory(pgid: number, devPort: number): ProcessMemory[] {
  const found: ProcessMemory[] = [];
  for (const { pid, comm: command } of groupProcesses(pgid) ?? []) {
    let status: string;
    let cmdline: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, "utf8");
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue; // exited meanwhile
    }
    const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    const role =
      command === "workerd"
        ? cmdline.includes(`entry=127.0.0.1:${devPort} `)
          ? "wrangler's proxy (the dev port)"
          : "the Worker and its Durable Objects"
        : command === "node"
          ? "wrangler (node)"
          : command;
    found.push({ pid, command, role, rssMiB: round(kib / 1024, 1) });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

interface MemorySnapshot {
  label: string;
  processes: ProcessMemory[];
  workerdMiB: number;
  totalMiB: number;
  /** This process (the clients), for reference. */
  benchProcessMiB: number;
}

function memorySnapshot(label: string, wrangler: ManagedChild, devPort: number): MemorySnapshot {
  const processes = wrangler.child.pid === undefined ? [] : groupMemory(wrangler.child.pid, devPort);
  const sum = (list: ProcessMemory[]) =>
    round(
      list.reduce((total, p) => total + p.rssMiB, 0),
      1,
    );
  return {
    label,
    processes,
    workerdMiB: sum(processes.filter((p) => p.command === "workerd")),
    totalMiB: sum(processes),
    benchProcessMiB: round(process.memoryUsage().rss / 2 ** 20, 1),
  };
}

// ---------------------------------------------------------------------------------------------

interface LatencyFigures {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

/** Nearest-rank percentiles of `values` (ms). */
function latencyFigures(values: readonly number[]): LatencyFigures | null {
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0];
  const max = sorted.at(-1);
  if (min === undefined || max === undefined) return null;
  const rank = (q: number) =>
    required(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))], `the ${q} rank`);
  return {
    count: sorted.length,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max,
    min,
    mean: round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length, 1),
  };
}

function describeLatency(figures: LatencyFigures | null): string {
  return figures === null
    ? "no receipts"
    : `p50 ${figures.p50} ms, p99 ${figures.p99} ms, max ${figures.max} ms (min ${figures.min} ms, n ${figures.count})`;
}

interface DeliveryCheck {
  /** Clients that should have received the update (subscribed, to an updated portfolio). */
  expected: number;
  received: number;
  lost: number;
  /** Extra `exposures.updated` for the client's own portfolio beyond the first. */
  duplicates: number;
  /** First message with a seq other than the expected one. */
  wrongSeq: number;
  wrongCause: number;
  /** `exposures.updated` for a portfolio the client is not subscribed to. */
  foreign: number;
  /** Messages that fail the protocol's schema (worker/realtime/messages.ts). */
  invalid: number;
  /** Message types received in the window, all clients. */
  types: Record<string, number>;
  receiptTimes: number[];
  lostClients: { sub: string; portfolioId: string; socketOpen: boolean; closed: string | null }[];
}

/** Where `client`'s inbox stood when `marks` was taken (one mark per client, by `spec.index`). */
function markOf(marks: readonly number[], client: LiveClient): number {
  return required(marks[client.spec.index], `an inbox mark for client ${client.spec.index}`);
}

/** The seq a subscribed client's `subscribed` answer carried (set by `connect`). */
function subscribedSeq(client: LiveClient): number {
  return required(client.subscribedSeq, `the subscribed seq of client ${client.spec.index}`);
}

/**
 * Checks what `clients` received from inbox index `marks[i]` on: one `exposures.updated` each
 * (for their portfolio, seq = `expectedSeq(client)`, cause `cause`) when their portfolio is in
 * `updated`, none otherwise.
 */
function checkDelivery(
  clients: readonly LiveClient[],
  marks: readonly number[],
  updated: ReadonlySet<string>,
  cause: string,
  expectedSeq: (client: LiveClient) => number,
): DeliveryCheck {
  const check: DeliveryCheck = {
    expected: 0,
    received: 0,
    lost: 0,
    duplicates: 0,
    wrongSeq: 0,
    wrongCause: 0,
    foreign: 0,
    invalid: 0,
    types: {},
    receiptTimes: [],
    lostClients: [],
  };
  clients.forEach((client, i) => {
    const window = client.inbox.slice(marks[i] ?? 0);
    for (const receipt of window) {
      check.types[receipt.type] = (check.types[receipt.type] ?? 0) + 1;
      if (!parseMessage(serverMessage, receipt.text).ok) check.invalid++;
    }
    const updates = window.filter((receipt) => receipt.type === "exposures.updated");
    const own = updates.filter((receipt) => receipt.portfolioId === client.spec.portfolioId);
    check.foreign += updates.length - own.length;
    if (!updated.has(client.spec.portfolioId)) {
      check.duplicates += own.length;
      return;
    }
    check.expected++;
    const first = own[0];
    if (first === undefined) {
      check.lost++;
      if (check.lostClients.length < 20) {
        check.lostClients.push({
          sub: client.spec.sub,
          portfolioId: client.spec.portfolioId,
          socketOpen: client.open,
          closed: client.closed ? `${client.closed.code} ${client.closed.reason}` : null,
        });
      }
      return;
    }
    check.received++;
    check.receiptTimes.push(first.at);
    check.duplicates += own.length - 1;
    if (first.seq !== expectedSeq(client)) check.wrongSeq++;
    if (first.cause !== cause) check.wrongCause++;
  });
  return check;
}

/** Waits until every client whose portfolio is in `updated` has its update, or the time is up; then `extraMs` more. */
async function waitForUpdates(
  clients: readonly LiveClient[],
  marks: readonly number[],
  updated: ReadonlySet<string>,
  timeoutMs: number,
  extraMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  const missing = () =>
    clients.some(
      (client, i) =>
        updated.has(client.spec.portfolioId) &&
        !client.inbox
          .slice(marks[i] ?? 0)
          .some((receipt) => receipt.type === "exposures.updated" && receipt.portfolioId === client.spec.portfolioId),
    );
  let complete = !missing();
  while (!complete && performance.now() < deadline) {
    await sleep(50);
    complete = !missing();
  }
  await sleep(extraMs);
  return complete;
}

interface PublishReferences {
  /** batch_phase_results.started_at of `publish` (Date.parse). */
  phaseStartedAt: number;
  phaseFinishedAt: number;
  phaseDurationMs: number;
  /** The publish chunk's updated_at − its duration_ms. */
  workStartedAt: number | null;
  chunkUpdatedAt: number | null;
  chunkDurationMs: number | null;
  chunkCounts: unknown;
  /** `at` of the Worker's `batch.published` log line for the run, if found. */
  loggedPublishedAt: number | null;
  loggedSockets: number | null;
}

async function publishReferences(db: Client, runId: string, logFile: string): Promise<PublishReferences> {
  const phase = await db.execute({
    sql:
      "select started_at, finished_at, duration_ms from batch_phase_results " +
      "where run_id = ? and calculation_date = ? and phase = 'publish'",
    args: [runId, endDate],
  });
  const row = phase.rows[0];
  if (!row) throw new Error(`no publish phase result for run ${runId} on ${endDate}`);
  const chunks = await db.execute({
    sql:
      "select updated_at, counts from batch_chunks " +
      "where run_id = ? and calculation_date = ? and phase = 'publish' and status = 'done' order by chunk_index",
    args: [runId, endDate],
  });
  const chunk = chunks.rows[0];
  const counts = chunk ? (JSON.parse(String(chunk["counts"])) as { duration_ms?: unknown; counts?: unknown }) : null;
  const chunkUpdatedAt = chunk ? Date.parse(String(chunk["updated_at"])) : null;
  const chunkDurationMs = typeof counts?.duration_ms === "number" ? counts.duration_ms : null;
  let loggedPublishedAt: number | null = null;
  let loggedSockets: number | null = null;
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"batch.published"') || !line.includes(runId)) continue;
    try {
      const event = JSON.parse(line.slice(line.indexOf("{"))) as { at?: unknown; sockets?: unknown };
      if (typeof event.at === "string") loggedPublishedAt = Date.parse(event.at);
      if (typeof event.sockets === "number") loggedSockets = event.sockets;
    } catch {
      // not the JSON line itself
    }
  }
  return {
    phaseStartedAt: Date.parse(String(row["started_at"])),
    phaseFinishedAt: Date.parse(String(row["finished_at"])),
    phaseDurationMs: Number(row["duration_ms"]),
    workStartedAt: chunkUpdatedAt !== null && chunkDurationMs !== null ? chunkUpdatedAt - chunkDurationMs : null,
    chunkUpdatedAt,
    chunkDurationMs,
    chunkCounts: counts?.counts ?? null,
    loggedPublishedAt,
    loggedSockets,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const loadAtStart = loadAverage();
  const dir = benchTempDir("bench-live-", flags.keep);
  const { authToken, jwtSecret, operatorToken } = await benchSecrets();
  const ownerToken = await mintDevToken({
    secret: jwtSecret,
    sub: benchOwner,
    org: benchOrg,
    permissions: ["VIEW_FACTOR_ANALYTICS", "VIEW_ALL_POSITIONS", "MANAGE_PORTFOLIOS"],
    ttlSeconds: 4 * 3600,
  });
  const marketOptions = benchMarketOptions({ endDate, symbols, lookbackDays });
  say(
    `temp dir ${dir}; end date ${endDate}; ${symbols} symbols (${marketOptions.etfs} ` +
      `ETFs + ${marketOptions.equities} equities), ${portfolioCount} portfolios ` +
      `of ${positionsPerPortfolio} positions; ${clientCount} clients`,
  );

  // 1. Database: the libSQL server in a child process, migrations, the bench data.
  const setupStarted = performance.now();
  const dbPort = await freePort();
  const dbUrl = `http://127.0.0.1:${dbPort}`;
  const libsql = startChild(
    "libsql-server",
    ["scripts/libsql-server.ts", "--port", String(dbPort), "--db", path.join(dir, "bench.db")],
    // The token through the environment: a command line shows in `ps`.
    { ...process.env, LIBSQL_AUTH_TOKEN: authToken },
    path.join(dir, "libsql-server.log"),
  );
  for (let attempt = 0; ; attempt++) {
    if (libsql.child.exitCode !== null || libsql.child.signalCode !== null)
      throw new Error(`the libSQL server exited:\n${tail(libsql.logFile, 20)}`);
    const ok = await fetch(`${dbUrl}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (attempt > 100)
      throw new Error(`the libSQL server did not answer /health within 20 s:\n${tail(libsql.logFile, 20)}`);
    await sleep(200);
  }
  say(`libSQL server on ${dbUrl} (pid ${libsql.child.pid})`);
  const migration = await migrateDatabase(dbUrl, authToken);
  say(`migrated (${migration.migrationsApplied} migrations)`);
  const seed: SeedSummary = await seedBenchData(
    dbUrl,
    authToken,
    { endDate, symbols, lookbackDays, portfolios: portfolioCount, positionsPerPortfolio, firstMeasuredDate },
    (line) => say(line),
  );
  say(
    `seeded ${seed.symbols} symbols, ${thousands(seed.priceRows)} closes, ${seed.portfolios} ` +
      `portfolios, ${seed.positions} positions in ${seconds(seed.ms.total)}`,
  );
  const db = createClient({ url: dbUrl, authToken });
  onStop(() => db.close());

  // 2. The Worker: snapshot, wrangler dev.
  const [port, inspectorPort] = [await freePort(), await freePort()];
  await buildClientIfMissing(say);
  const config = await snapshotWorker(path.join(dir, "worker"), path.join(dir, "wrangler-build.log"));
  say("bundled the Worker and copied its config and assets (wrangler.toml unchanged)");
  const origin = `http://127.0.0.1:${port}`;
  const vars = benchWorkerVars({ endDate, equities: marketOptions.equities, lookbackDays }, origin);
  const logFile = path.join(dir, "wrangler.log");
  say(`starting wrangler dev on ${origin} (log ${logFile})`);
  const { wrangler, base } = await startHealthyWorker({
    port,
    inspectorPort,
    persistTo: path.join(dir, "wrangler-state"),
    logFile,
    vars,
    secrets: { TURSO_DATABASE_URL: dbUrl, TURSO_AUTH_TOKEN: authToken, JWT_SECRET: jwtSecret },
    config,
    noBundle: true,
  });
  say("Worker healthy");

  // 3. The batch for the end date, so that every portfolio has stored exposures (and seq 1).
  say(`batch: POST /api/v1/admin/batch/run {"date": "${endDate}"} (stores every portfolio's exposures)`);
  const firstBatch = await runBatch(base, operatorToken, wrangler, endDate, batchPolling);
  say(`  run ${firstBatch.runId} ${firstBatch.status} in ${seconds(firstBatch.ms)}`);
  for (const failed of firstBatch.failedPhases) say(`  FAILED ${failed.date} ${failed.phase}: ${failed.message}`);
  if (firstBatch.status === "failed")
    throw new Error(`the batch run failed: ${firstBatch.errorText ?? "(no error text)"}`);
  const setupMs = performance.now() - setupStarted;
  await sleep(2_000);
  const pgid = wrangler.child.pid;
  if (pgid === undefined) throw new Error("wrangler has no pid");
  const memoryBeforeConnecting = memorySnapshot("before connecting", wrangler, port);
  const memory: MemorySnapshot[] = [memoryBeforeConnecting];
  say(
    `memory before connecting: workerd ${memoryBeforeConnecting.workerdMiB} MiB ` +
      `(${memoryBeforeConnecting.processes.map((p) => `${p.role} ${p.rssMiB}`).join(", ")})`,
  );

  // 4. The clients: ticket, socket, welcome, subscribe, subscribed; `concurrency` at a time.
  const specs: ClientSpec[] = [];
  for (let i = 0; i < clientCount; i++) {
    const sub = `bench-live-${String(i + 1).padStart(4, "0")}`;
    specs.push({
      index: i,
      sub,
      token: await mintDevToken({
        secret: jwtSecret,
        sub,
        org: benchOrg,
        permissions: clientPermissions,
        ttlSeconds: 4 * 3600,
      }),
      portfolioId: required(portfolioIds[i % portfolioCount], `portfolio ${i % portfolioCount}`),
    });
  }
  const clients = specs.map((spec) => new LiveClient(spec));
  onStop(async () => {
    const open = clients.filter((client) => client.open);
    if (open.length > 0) await Promise.all(open.map((client) => client.close(2_000)));
  });
  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const client of clients) client.heartbeat(now);
  }, 1_000);
  onStop(() => clearInterval(heartbeat));
  say(
    `connecting ${clientCount} clients (${concurrency} at a ` +
      `time; ${Math.ceil(clientCount / portfolioCount)} per portfolio), Origin ${origin}`,
  );
  const cpuBeforeConnect = groupCpuSeconds(pgid);
  const connectStarted = performance.now();
  let connectedSoFar = 0;
  const progress = setInterval(() => say(`  ${connectedSoFar} subscribed…`), 5_000);
  const outcomes = await settleWithLimit(clients, concurrency, async (client) => {
    const timings = await client.connect(base, origin, connectTimeoutMs);
    connectedSoFar++;
    return timings;
  });
  clearInterval(progress);
  const connectMs = performance.now() - connectStarted;
  const cpuAfterConnect = groupCpuSeconds(pgid);
  const failures = new Map<string, number>();
  outcomes.forEach((outcome) => {
    if (outcome.status === "rejected") {
      const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
      failures.set(reason, (failures.get(reason) ?? 0) + 1);
    }
  });
  const subscribed = clients.filter((client) => client.subscribedSeq !== null);
  const timings = subscribed.map((client) =>
    required(client.timings, `connect timings of client ${client.spec.index}`),
  );
  const connectFigures = {
    clients: clientCount,
    subscribed: subscribed.length,
    failed: clientCount - subscribed.length,
    failures: Object.fromEntries(failures),
    wallMs: round(connectMs),
    perSecond: round(subscribed.length / (connectMs / 1000), 1),
    concurrency,
    ticketMs: latencyFigures(timings.map((t) => round(t.ticketMs, 1))),
    welcomeMs: latencyFigures(timings.map((t) => round(t.welcomeMs, 1))),
    subscribeMs: latencyFigures(timings.map((t) => round(t.subscribeMs, 1))),
    totalMs: latencyFigures(timings.map((t) => round(t.totalMs, 1))),
    subscribedSeqs: Object.fromEntries(
      [...new Set(subscribed.map(subscribedSeq))].map((seq) => [
        String(seq),
        subscribed.filter((client) => client.subscribedSeq === seq).length,
      ]),
    ),
    workerdCpuSeconds:
      cpuBeforeConnect && cpuAfterConnect
        ? round((cpuAfterConnect["workerd"] ?? 0) - (cpuBeforeConnect["workerd"] ?? 0), 2)
        : null,
  };
  say(
    `${subscribed.length} of ${clientCount} clients subscribed in ${seconds(connectMs)} ` +
      `(${connectFigures.perSecond}/s); per client: ${describeLatency(connectFigures.totalMs)}`,
  );
  for (const [reason, n] of failures) say(`  FAILED ×${n}: ${reason}`);
  if (subscribed.length === 0) throw new Error(`no client subscribed; wrangler log tail:\n${tail(logFile, 40)}`);
  await sleep(2_000);
  const connectedMemory = memorySnapshot("all connected and subscribed", wrangler, port);
  memory.push(connectedMemory);
  say(
    `memory with ${subscribed.length} clients: workerd ${connectedMemory.workerdMiB} ` +
      `MiB (${connectedMemory.processes.map((p) => `${p.role} ${p.rssMiB}`).join(", ")})`,
  );

  // 5. The batch publish: the same date again; its publish phase sends every portfolio.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const batchMarks = clients.map((client) => client.inbox.length);
  const cpuBeforePublish = groupCpuSeconds(pgid);
  say(`publish: POST /api/v1/admin/batch/run {"date": "${endDate}"} again, ${subscribed.length} clients listening`);
  loopDelay.enable();
  const secondBatch = await runBatch(base, operatorToken, wrangler, endDate, batchPolling);
  say(`  run ${secondBatch.runId} ${secondBatch.status} in ${seconds(secondBatch.ms)}`);
  for (const failed of secondBatch.failedPhases) say(`  FAILED ${failed.date} ${failed.phase}: ${failed.message}`);
  const allUpdated = new Set(portfolioIds);
  const batchComplete = await waitForUpdates(
    subscribed,
    subscribed.map((client) => markOf(batchMarks, client)),
    allUpdated,
    waitSeconds * 1000,
    1_000,
  );
  loopDelay.disable();
  const cpuAfterPublish = groupCpuSeconds(pgid);
  const references = await publishReferences(db, secondBatch.runId, logFile);
  const batchCheck = checkDelivery(
    subscribed,
    subscribed.map((client) => markOf(batchMarks, client)),
    allUpdated,
    "batch",
    (client) => subscribedSeq(client) + 1,
  );
  const batchCompletedReceived = subscribed.filter((client) =>
    client.inbox.slice(markOf(batchMarks, client)).some((receipt) => receipt.type === "batch.completed"),
  ).length;
  const receipts = batchCheck.receiptTimes;
  const firstReceipt = receipts.length > 0 ? Math.min(...receipts) : null;
  const lastReceipt = receipts.length > 0 ? Math.max(...receipts) : null;
  const { workStartedAt } = references;
  const fromWork = workStartedAt === null ? null : latencyFigures(receipts.map((at) => at - workStartedAt));
  const fromPhase = latencyFigures(receipts.map((at) => at - references.phaseStartedAt));
  const fromFirst = firstReceipt === null ? null : latencyFigures(receipts.map((at) => at - firstReceipt));
  const loopDelayMs = {
    max: round(loopDelay.max / 1e6, 1),
    p99: round(loopDelay.percentile(99) / 1e6, 1),
    mean: round(loopDelay.mean / 1e6, 1),
  };
  // Receipts per portfolio, in id order (the order the publish builds its updates in): a rising
  // series means the clients' wait grows with the portfolio's place in the hub's loop.
  const receiptReference = references.workStartedAt ?? firstReceipt ?? 0;
  const byPortfolio = portfolioIds.map((id) => {
    const times = subscribed
      .filter((client) => client.spec.portfolioId === id)
      .map(
        (client) =>
          client.inbox
            .slice(markOf(batchMarks, client))
            .find((receipt) => receipt.type === "exposures.updated" && receipt.portfolioId === id)?.at,
      )
      .filter((at): at is number => at !== undefined);
    return {
      portfolio: id,
      received: times.length,
      firstMs: times.length > 0 ? Math.min(...times) - receiptReference : null,
      lastMs: times.length > 0 ? Math.max(...times) - receiptReference : null,
    };
  });
  const portfolioSamples = [
    ...new Set([
      0,
      Math.floor(portfolioCount / 4),
      Math.floor(portfolioCount / 2),
      Math.floor((3 * portfolioCount) / 4),
      portfolioCount - 1,
    ]),
  ]
    .map((i) => required(byPortfolio[i], `the receipts of portfolio ${i}`))
    .map((row) => `${row.portfolio.replace("bench-portfolio-", "#")} ${row.firstMs ?? "?"}–${row.lastMs ?? "?"}`)
    .join(", ");
  const batchPublish = {
    runId: secondBatch.runId,
    runStatus: secondBatch.status,
    runMs: secondBatch.ms,
    allReceivedBeforeTimeout: batchComplete,
    references: {
      postedAt: iso(secondBatch.postedAt),
      publishPhaseStartedAt: iso(references.phaseStartedAt),
      publishWorkStartedAt: iso(references.workStartedAt),
      publishChunkDoneAt: iso(references.chunkUpdatedAt),
      publishChunkDurationMs: references.chunkDurationMs,
      publishPhaseFinishedAt: iso(references.phaseFinishedAt),
      publishPhaseDurationMs: references.phaseDurationMs,
      queueHopMs: references.workStartedAt === null ? null : references.workStartedAt - references.phaseStartedAt,
      workerLoggedPublishedAt: iso(references.loggedPublishedAt),
      workerLoggedSockets: references.loggedSockets,
      publishChunkCounts: references.chunkCounts,
    },
    firstReceiptAt: iso(firstReceipt),
    lastReceiptAt: iso(lastReceipt),
    latencyFromPublishWorkMs: fromWork,
    latencyFromPhaseStartMs: fromPhase,
    spreadFirstToLastMs: lastReceipt !== null && firstReceipt !== null ? lastReceipt - firstReceipt : null,
    sinceFirstReceiptMs: fromFirst,
    lastReceiptAfterWorkerLogMs:
      lastReceipt !== null && references.loggedPublishedAt !== null ? lastReceipt - references.loggedPublishedAt : null,
    delivery: { ...batchCheck, receiptTimes: undefined },
    receiptsByPortfolioMs: {
      reference: references.workStartedAt === null ? "first receipt" : "publish work start",
      portfolios: byPortfolio,
    },
    batchCompletedReceived,
    benchEventLoopDelayMs: loopDelayMs,
    workerdCpuSeconds:
      cpuBeforePublish && cpuAfterPublish
        ? round((cpuAfterPublish["workerd"] ?? 0) - (cpuBeforePublish["workerd"] ?? 0), 2)
        : null,
  };
  say(
    `  publish phase started ${iso(references.phaseStartedAt)}, its work ${iso(references.workStartedAt)} ` +
      `(queue hop ${batchPublish.references.queueHopMs ?? "?"} ms), chunk ${references.chunkDurationMs ?? "?"} ms`,
  );
  say(
    `  received by ${batchCheck.received} of ${batchCheck.expected}: from the publish ` +
      `work ${describeLatency(fromWork)}; first → last ${batchPublish.spreadFirstToLastMs ?? "?"} ms`,
  );
  say(
    `  lost ${batchCheck.lost}, duplicates ${batchCheck.duplicates}, ` +
      `wrong seq ${batchCheck.wrongSeq}, foreign ${batchCheck.foreign}, ` +
      `invalid ${batchCheck.invalid}; batch.completed received by ${batchCompletedReceived}`,
  );
  memory.push(memorySnapshot("after the batch publish", wrangler, port));

  // 6. A position change on one portfolio: its clients only.
  let positionChange: Record<string, unknown> | null = null;
  if (!flags["skip-position-change"]) {
    const positionsAnswer = await request(`${base}/api/v1/portfolios/${changedPortfolio}/positions`, ownerToken);
    if (positionsAnswer.status !== 200)
      throw new Error(
        `GET /portfolios/${changedPortfolio}/positions answered ${positionsAnswer.status}: ${excerpt(positionsAnswer)}`,
      );
    const held = (positionsAnswer.body as { positions: { id: string; quantity: number; instrument: string }[] })
      .positions;
    const position = held.find((p) => p.instrument === "stock") ?? held[0];
    if (!position) throw new Error(`${changedPortfolio} has no positions`);
    const quantity =
      Math.round(position.quantity * 1.1) === position.quantity
        ? position.quantity + Math.sign(position.quantity || 1)
        : Math.round(position.quantity * 1.1);
    // A limit the change is sure to breach: the portfolio's market exposure bounded to exactly its
    // stored value (bounds are inclusive, so within now), set through the API like a user's. Any
    // change of the position then records `breached` and pushes `alert.raised` to the listeners.
    const probe = await request(`${base}/api/v1/portfolios/${changedPortfolio}/limits`, ownerToken, {
      method: "POST",
      body: { metric: "exposure", factor_key: "market_beta", max_value: 1e6, description: "bench:live" },
    });
    if (probe.status !== 201) throw new Error(`POST …/limits answered ${probe.status}: ${excerpt(probe)}`);
    const limit = probe.body as { id: string; current: { value: number | null; date: string | null } };
    const exposureNow = limit.current.value;
    if (exposureNow === null) throw new Error(`no stored market exposure for ${changedPortfolio}: ${excerpt(probe)}`);
    const pinned = await request(`${base}/api/v1/portfolios/${changedPortfolio}/limits/${limit.id}`, ownerToken, {
      method: "PATCH",
      body: { min_value: exposureNow, max_value: exposureNow },
    });
    if (pinned.status !== 200) throw new Error(`PATCH …/limits answered ${pinned.status}: ${excerpt(pinned)}`);
    const marks = clients.map((client) => client.inbox.length);
    const seqBefore = new Map(
      subscribed.map((client) => [
        client.spec.index,
        client.inbox.filter((r) => r.type === "exposures.updated" && r.portfolioId === client.spec.portfolioId).at(-1)
          ?.seq ?? subscribedSeq(client),
      ]),
    );
    const listeners = subscribed.filter((client) => client.spec.portfolioId === changedPortfolio);
    say(
      `position change: PATCH /api/v1/portfolios/${changedPortfolio}/positions/${position.id} ` +
        `quantity ${position.quantity} → ${quantity} (${listeners.length} clients listening)`,
    );
    const sentAt = Date.now();
    const patch = await request(`${base}/api/v1/portfolios/${changedPortfolio}/positions/${position.id}`, ownerToken, {
      method: "PATCH",
      body: { quantity },
    });
    if (patch.status !== 200) throw new Error(`PATCH answered ${patch.status}: ${excerpt(patch)}`);
    const complete = await waitForUpdates(
      subscribed,
      subscribed.map((client) => markOf(marks, client)),
      new Set([changedPortfolio]),
      waitSeconds * 1000,
      1_000,
    );
    const check = checkDelivery(
      subscribed,
      subscribed.map((client) => markOf(marks, client)),
      new Set([changedPortfolio]),
      "positions",
      (client) =>
        required(seqBefore.get(client.spec.index), `the seq before the change of client ${client.spec.index}`) + 1,
    );
    const latency = latencyFigures(check.receiptTimes.map((at) => at - sentAt));
    // The limit's alert of the latest date, per listener: its first `alert.raised` after the PATCH
    // (the refresh's, or the history run's for the same date if that got there first).
    const alertDeadline = Date.now() + waitSeconds * 1000;
    const alertReceipt = (client: LiveClient) =>
      client.inbox.slice(markOf(marks, client)).find((receipt) => {
        if (receipt.type !== "alert.raised") return false;
        const message = JSON.parse(receipt.text) as { limit_id?: string; date?: string };
        return message.limit_id === limit.id && message.date === limit.current.date;
      });
    while (Date.now() < alertDeadline && listeners.some((client) => alertReceipt(client) === undefined))
      await sleep(50);
    const alertTimes = listeners.flatMap((client) => {
      const receipt = alertReceipt(client);
      return receipt === undefined ? [] : [receipt.at - sentAt];
    });
    const alertLatency = latencyFigures(alertTimes);
    await request(`${base}/api/v1/portfolios/${changedPortfolio}/limits/${limit.id}`, ownerToken, {
      method: "DELETE",
    });
    positionChange = {
      portfolio: changedPortfolio,
      position: position.id,
      quantity: { from: position.quantity, to: quantity },
      patchMs: round(patch.ms, 1),
      sentAt: iso(sentAt),
      allReceivedBeforeTimeout: complete,
      latencyFromPatchSentMs: latency,
      delivery: { ...check, receiptTimes: undefined },
      alert: {
        limit: `market_beta exposure in [${exposureNow}, ${exposureNow}]`,
        received: alertTimes.length,
        expected: listeners.length,
        latencyFromPatchSentMs: alertLatency,
      },
    };
    say(
      `  PATCH answered 200 in ${round(patch.ms)} ms; ` +
        `received by ${check.received} of ${check.expected}: from the PATCH ${describeLatency(latency)}`,
    );
    say(
      `  alert.raised of the breached limit received by ${alertTimes.length} of ${listeners.length}: ` +
        `from the PATCH ${describeLatency(alertLatency)}`,
    );
    say(
      `  lost ${check.lost}, duplicates ${check.duplicates} (others' clients getting it count here), ` +
        `wrong seq ${check.wrongSeq}, foreign ${check.foreign}, invalid ${check.invalid}`,
    );
  }
  await sleep(1_000);
  memory.push(memorySnapshot("at the end", wrangler, port));

  // 7. Close every socket.
  const stillOpen = subscribed.filter((client) => client.open).length;
  const unexpectedCloses = clients.filter((client) => client.closed !== null && client.subscribedSeq !== null);
  const closedCleanly = (
    await Promise.all(clients.filter((client) => client.open).map((client) => client.close(5_000)))
  ).filter(Boolean).length;
  const closeCodes: Record<string, number> = {};
  for (const client of clients)
    if (client.closed) closeCodes[String(client.closed.code)] = (closeCodes[String(client.closed.code)] ?? 0) + 1;
  const heartbeats = {
    pingsSent: clients.reduce((n, c) => n + c.pingsSent, 0),
    pongs: clients.reduce((n, c) => n + c.pongs, 0),
  };
  clearInterval(heartbeat);
  say(
    `closed ${closedCleanly} of ${stillOpen} open sockets (close ` +
      `codes: ${JSON.stringify(closeCodes)}); ${unexpectedCloses.length} closed ` +
      `by the other side before the end; pings ${heartbeats.pingsSent}, pongs ${heartbeats.pongs}`,
  );

  // Summary.
  const p99 = fromWork?.p99 ?? null;
  const p99Met = p99 !== null && p99 <= targets.p99Ms && batchCheck.received > 0;
  const lostMet =
    batchCheck.lost === 0 && batchCheck.duplicates === 0 && batchCheck.wrongSeq === 0 && batchCheck.foreign === 0;
  const allConnected = subscribed.length === clientCount;
  const met = p99Met && lostMet && allConnected;
  const mem = (label: string) => memory.find((m) => m.label === label);
  console.log(
    `\nLive updates: ${clientCount} clients, ${portfolioCount} portfolios ` +
      `(${Math.ceil(clientCount / portfolioCount)} clients each), ` +
      `one hub (org:${benchOrg}), ${seed.symbols} symbols, end date ${endDate}`,
  );
  console.log(
    `  connected and subscribed  ${subscribed.length} of ${clientCount} ` +
      `in ${seconds(connectMs)} (${connectFigures.perSecond}/s, ${concurrency} at a time); ` +
      `per client ticket ${describeLatency(connectFigures.ticketMs)}`,
  );
  console.log(
    `                            upgrade→welcome ${describeLatency(connectFigures.welcomeMs)}; ` +
      `subscribe ${describeLatency(connectFigures.subscribeMs)}`,
  );
  console.log(`  batch publish (run ${secondBatch.runId}, ${secondBatch.status} in ${seconds(secondBatch.ms)}):`);
  console.log(`    publish work → receipt  ${describeLatency(fromWork)}`);
  console.log(
    `    phase start → receipt   ${describeLatency(fromPhase)} (includes ` +
      `the queue hop of ${batchPublish.references.queueHopMs ?? "?"} ms)`,
  );
  console.log(
    `    first → last receipt    ${batchPublish.spreadFirstToLastMs ?? "?"} ms; ` +
      `by portfolio in id order (first–last client, ms from the publish work): ${portfolioSamples}`,
  );
  const logBeforeLastReceiptMs =
    batchPublish.lastReceiptAfterWorkerLogMs === null ? "?" : -batchPublish.lastReceiptAfterWorkerLogMs;
  console.log(
    `    publish chunk ${references.chunkDurationMs ?? "?"} ms; ` +
      `the Worker logged batch.published (${references.loggedSockets ?? "?"} sockets; after batch.completed) ` +
      `${logBeforeLastReceiptMs} ms after the last receipt`,
  );
  console.log(
    `    delivered ${batchCheck.received} of ${batchCheck.expected}; lost ${batchCheck.lost}, ` +
      `duplicates ${batchCheck.duplicates}, wrong seq ${batchCheck.wrongSeq}, ` +
      `wrong cause ${batchCheck.wrongCause}, foreign ${batchCheck.foreign}, ` +
      `invalid ${batchCheck.invalid}; batch.completed ${batchCompletedReceived} of ${subscribed.length}`,
  );
  console.log(`    this process's event-loop delay during it: max ${loopDelayMs.max} ms, p99 ${loopDelayMs.p99} ms`);
  if (positionChange) {
    const delivery = positionChange["delivery"] as Omit<DeliveryCheck, "receiptTimes">;
    console.log(
      `  position change on ${changedPortfolio} (PATCH answered in ${String(positionChange["patchMs"])} ms):`,
    );
    const fromPatchSent = positionChange["latencyFromPatchSentMs"] as LatencyFigures | null;
    console.log(`    PATCH sent → receipt    ${describeLatency(fromPatchSent)}`);
    const alert = positionChange["alert"] as { latencyFromPatchSentMs: LatencyFigures | null } | undefined;
    console.log(`    PATCH sent → alert.raised ${describeLatency(alert?.latencyFromPatchSentMs ?? null)}`);
    console.log(
      `    delivered ${delivery.received} of ${delivery.expected}; lost ${delivery.lost}, ` +
        `duplicates ${delivery.duplicates}, wrong seq ${delivery.wrongSeq}, foreign ${delivery.foreign}`,
    );
  }
  console.log(`  memory (RSS, MiB)          ${memory.map((m) => `${m.label}: workerd ${m.workerdMiB}`).join("; ")}`);
  for (const snapshot of memory)
    console.log(
      `    ${snapshot.label.padEnd(29)} ${snapshot.processes.map((p) => `${p.role} ${p.rssMiB}`).join(", ")}; ` +
        `this process ${snapshot.benchProcessMiB}`,
    );
  const before = mem("before connecting");
  const connected = mem("all connected and subscribed");
  if (before && connected && subscribed.length > 0) {
    console.log(
      `    per connected ` +
        `client: ${round(((connected.workerdMiB - before.workerdMiB) * 1024) / subscribed.length, 1)} ` +
        `KiB of workerd RSS`,
    );
  }
  console.log(
    `\nTarget: p99 ≤ ${targets.p99Ms} ms from the publish work to receipt: ${p99Met ? "MET" : "NOT MET"} ` +
      `(p99 ${p99 ?? "n/a"} ms); zero lost (no duplicates, seq + 1): ${lostMet ? "MET" : "NOT MET"} ` +
      `(lost ${batchCheck.lost}); all ${clientCount} ` +
      `connected: ${allConnected ? "yes" : `NO (${subscribed.length})`} → ${met ? "MET" : "NOT MET"}`,
  );
  console.log(
    `  (from the publish phase's start, queue hop included: p99 ${fromPhase?.p99 ?? "n/a"} ` +
      `ms, ${fromPhase !== null && fromPhase.p99 <= targets.p99Ms ? "within" : "over"} ${targets.p99Ms} ms)`,
  );

  const results = {
    machine: machineInfo(loadAtStart),
    configuration: {
      clients: clientCount,
      portfolios: portfolioCount,
      clientsPerPortfolio: Math.ceil(clientCount / portfolioCount),
      hub: `org:${benchOrg}`,
      clientPermissions,
      concurrency,
      endDate,
      symbols,
      positionsPerPortfolio,
      lookbackDays,
      waitSeconds,
      positionChangePortfolio: flags["skip-position-change"] ? null : changedPortfolio,
      workerVars: vars,
      workerSource:
        "bundle snapshot (wrangler deploy --dry-run, served with --no-bundle); " +
        "wrangler.toml unchanged (rate limit per sub; every client has its own sub)",
    },
    setup: { ms: round(setupMs), seed, migrationsApplied: migration.migrationsApplied, firstBatch },
    connect: connectFigures,
    batchPublish,
    positionChange,
    memory,
    heartbeats,
    close: { stillOpenAtEnd: stillOpen, closedCleanly, closedByServerBeforeEnd: unexpectedCloses.length, closeCodes },
    targets: {
      p99Ms: targets.p99Ms,
      reference: "publish work start (publish chunk updated_at − duration_ms)",
      p99: p99,
      p99Met,
      lost: batchCheck.lost,
      lostMet,
      allConnected,
      met,
    },
    notes: [
      "receipt times: Date.now() in the client's message event (one Node process for every client); " +
        "database times: SQLite's strftime('now') on the same machine",
      "publish work start = the publish chunk's updated_at − its duration_ms (measured " +
        "by the consumer in workerd, whose clock advances across I/O): may be a few ms late",
      "publish phase start = batch_phase_results.started_at, " +
        "when the publish chunk was planned: includes the queue hop to its consumer",
      "lost: subscribed clients without an exposures.updated for their portfolio in the window; " +
        "duplicates: extra ones, or any for a portfolio that was not updated",
      "memory: VmRSS of each process in wrangler dev's process group, from /proc",
    ],
  };
  writeResults(flags.out, results);
  return 0;
}

exitOnSignals();
if (import.meta.main) runAndExit(main);
