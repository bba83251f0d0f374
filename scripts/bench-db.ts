// Database server benchmark: `npm run bench:db` (node scripts/bench-db.ts).
//
// What it measures: the local libSQL server (scripts/libsql-server.ts) under many concurrent
// @libsql/client clients over HTTP, and above all that it keeps every write it acknowledged
// (issue 14: writes waiting on another stream's transaction used to be confirmed and then lost).
// The server runs as a child process on a fresh temp file (its RSS is its own). `--clients`
// clients (200), each its own createClient, loop for `--seconds` (60) over a mix of operations:
//   read          SELECT by a random id, or a count                            40 %
//   write         an autocommit INSERT                                         25 %
//   batch         batch([3 INSERTs], "write")                                  15 %
//   transaction   transaction("write"): read, 2 INSERTs, commit               15 %
//                 (one in ten is rolled back on purpose: its rows are not acknowledged)
//   deferred      transaction("deferred"): read, then INSERT, commit            5 %
//                 (may fail with SQLITE_BUSY_SNAPSHOT when another write came in between: a
//                 legitimate error, counted, its rows not acknowledged)
// Every inserted row carries a unique id; an id is recorded as acknowledged once its statement,
// batch or commit has been confirmed to the client. At the end the server is stopped with
// SIGTERM (it must exit 0), and the file is opened read-only by this process (not the server)
// to count acknowledged ids missing from it, which must be 0; ids present but never
// acknowledged (a write whose answer was an error after all) are reported too.
// Printed and written to bench-results/db.json (`--out`): operations per second, latency
// p50/p95/p99 overall and per kind, errors by code, the server's RSS (VmRSS) after setup, peak
// during the run and at the end, and the missing count. Exit code 1 when anything is missing
// or the server did not stop cleanly.
//
// Options: --seconds N (60), --clients N (200), --busy-timeout-ms (the server's default, 5000;
// informational only: it is the server's), --out FILE (bench-results/db.json), --keep.
import { createClient, LibsqlError, type Client } from "@libsql/client";
import Database from "libsql";
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  benchSay,
  benchTempDir,
  exitOnSignals,
  loadAverage,
  machineInfo,
  printColumns,
  round,
  runAndExit,
  sleep,
  thousands,
  wholeNumber,
  writeResults,
} from "./bench-batch/common.ts";
import { freePort, startChild, tail } from "./bench-batch/stack.ts";
import { required } from "../worker/required.ts";

type Kind = "read" | "write" | "batch" | "transaction" | "deferred";
const kinds: readonly Kind[] = ["read", "write", "batch", "transaction", "deferred"];

function pickKind(): Kind {
  const r = Math.random();
  if (r < 0.4) return "read";
  if (r < 0.65) return "write";
  if (r < 0.8) return "batch";
  if (r < 0.95) return "transaction";
  return "deferred";
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return required(
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))],
    `percentile ${p}`,
  );
}

function latencySummary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50), 2),
    p95: round(percentile(sorted, 95), 2),
    p99: round(percentile(sorted, 99), 2),
    max: round(sorted.at(-1) ?? 0, 2),
  };
}

/**
 * RSS from a third into the run to its end: after the warm-up (connections opened, caches filled), flat memory shows as
 * ~0.
 */
function steadyGrowth(samples: readonly { t: number; rss: number | null }[], atEnd: number | null) {
  const last = samples.at(-1);
  if (last === undefined || atEnd === null) return null;
  const from = samples.find((sample) => sample.t >= last.t / 3 && sample.rss !== null);
  if (from?.rss == null) return null;
  return { fromSecond: from.t, fromMiB: from.rss, toMiB: atEnd, growthMiB: round(atEnd - from.rss, 1) };
}

interface ConnectionStats {
  open: number;
  idle: number;
  waiting: number;
  opened: number;
  max: number;
}

/** The server's connection figures, from its /health. */
async function serverConnections(url: string): Promise<ConnectionStats | null> {
  try {
    const body: unknown = await (await fetch(`${url}/health`)).json();
    if (typeof body !== "object" || body === null || !("connections" in body)) return null;
    return body.connections as ConnectionStats;
  } catch {
    return null;
  }
}

function rssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? null : round(Number(match[1]) / 1024, 1);
  } catch {
    return null;
  }
}

function errorKind(error: unknown): string {
  if (error instanceof LibsqlError) {
    const cause = error.cause instanceof LibsqlError ? error.cause.code : undefined;
    return cause !== undefined && cause !== error.code ? `${error.code}/${cause}` : error.code;
  }
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 80)}`;
  return String(error);
}

async function main(): Promise<number> {
  const { values: flags } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      clients: { type: "string", default: "200" },
      out: { type: "string", default: "bench-results/db.json" },
      keep: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const durationSeconds = wholeNumber("seconds", flags.seconds, 1);
  const clientCount = wholeNumber("clients", flags.clients, 1);
  const loadAtStart = loadAverage();
  const say = benchSay();
  exitOnSignals();

  const dir = benchTempDir("bench-db-", flags.keep);
  const dbPath = path.join(dir, "bench.db");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startChild(
    "libsql-server",
    ["scripts/libsql-server.ts", "--port", String(port), "--db", dbPath],
    { ...process.env },
    path.join(dir, "libsql-server.log"),
  );
  const serverExited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    server.child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  for (let attempt = 0; ; attempt++) {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      throw new Error(`the libSQL server exited:\n${tail(server.logFile, 20)}`);
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (attempt > 100)
      throw new Error(`the libSQL server did not answer /health within 20 s:\n${tail(server.logFile, 20)}`);
    await sleep(200);
  }
  const pid = server.child.pid;
  say(`libSQL server on ${url} (pid ${pid}), database ${dbPath}; ${clientCount} clients for ${durationSeconds} s`);

  const setup = createClient({ url });
  await setup.execute(
    "CREATE TABLE acks (id TEXT PRIMARY KEY, kind TEXT NOT NULL, client INTEGER NOT NULL, payload TEXT NOT NULL)",
  );
  setup.close();
  const rssAfterSetup = rssMiB(pid);
  let rssPeak = rssAfterSetup ?? 0;
  const rssSamples: { t: number; rss: number | null }[] = [];

  const acknowledged = new Set<string>();
  const attempted = new Set<string>();
  const latencies: Record<Kind, number[]> = { read: [], write: [], batch: [], transaction: [], deferred: [] };
  const okCounts: Record<Kind, number> = { read: 0, write: 0, batch: 0, transaction: 0, deferred: 0 };
  const errors = new Map<string, number>();
  const errorsByKind = new Map<string, number>();
  const errorSamples = new Map<string, string>();
  let idCounter = 0;
  const newId = (client: number) => `${client}-${++idCounter}`;
  const payload = "x".repeat(64);

  async function insertOne(
    client: Client | { execute: Client["execute"] },
    id: string,
    kind: Kind,
    clientIndex: number,
  ): Promise<void> {
    await client.execute({
      sql: "INSERT INTO acks (id, kind, client, payload) VALUES (?, ?, ?, ?)",
      args: [id, kind, clientIndex, payload],
    });
  }

  async function operation(client: Client, clientIndex: number, kind: Kind): Promise<void> {
    switch (kind) {
      case "read": {
        if (Math.random() < 0.5) await client.execute("SELECT count(*) FROM acks");
        else
          await client.execute({
            sql: "SELECT id, kind, payload FROM acks WHERE id = ?",
            args: [`${clientIndex}-${Math.floor(Math.random() * Math.max(1, idCounter))}`],
          });
        return;
      }
      case "write": {
        const id = newId(clientIndex);
        attempted.add(id);
        await insertOne(client, id, kind, clientIndex);
        acknowledged.add(id);
        return;
      }
      case "batch": {
        const ids = [newId(clientIndex), newId(clientIndex), newId(clientIndex)];
        for (const id of ids) attempted.add(id);
        await client.batch(
          ids.map((id) => ({
            sql: "INSERT INTO acks (id, kind, client, payload) VALUES (?, ?, ?, ?)",
            args: [id, kind, clientIndex, payload],
          })),
          "write",
        );
        for (const id of ids) acknowledged.add(id);
        return;
      }
      case "transaction":
      case "deferred": {
        const transaction = await client.transaction(kind === "transaction" ? "write" : "deferred");
        try {
          await transaction.execute("SELECT count(*) FROM acks");
          const ids = kind === "transaction" ? [newId(clientIndex), newId(clientIndex)] : [newId(clientIndex)];
          for (const id of ids) {
            attempted.add(id);
            await insertOne(transaction, id, kind, clientIndex);
          }
          if (kind === "transaction" && Math.random() < 0.1) {
            await transaction.rollback();
            return;
          }
          await transaction.commit();
          for (const id of ids) acknowledged.add(id);
        } finally {
          transaction.close();
        }
        return;
      }
    }
  }

  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  const sampler = setInterval(() => {
    const rss = rssMiB(pid);
    rssSamples.push({ t: round((performance.now() - started) / 1000, 1), rss });
    if (rss !== null) rssPeak = Math.max(rssPeak, rss);
  }, 1_000);
  const progress = setInterval(() => {
    const done = Object.values(okCounts).reduce((a, b) => a + b, 0);
    const failed = [...errors.values()].reduce((a, b) => a + b, 0);
    say(
      `${thousands(done)} ops ok, ${thousands(failed)} errors, ${thousands(acknowledged.size)} ` +
        `rows acknowledged, server RSS ${rssMiB(pid) ?? "?"} MiB`,
    );
  }, 10_000);

  const clients = Array.from({ length: clientCount }, () => createClient({ url }));
  await Promise.all(
    clients.map(async (client, clientIndex) => {
      while (performance.now() < deadline) {
        const kind = pickKind();
        const sent = performance.now();
        try {
          await operation(client, clientIndex, kind);
          latencies[kind].push(performance.now() - sent);
          okCounts[kind]++;
        } catch (error) {
          const code = errorKind(error);
          errors.set(code, (errors.get(code) ?? 0) + 1);
          errorsByKind.set(`${kind}: ${code}`, (errorsByKind.get(`${kind}: ${code}`) ?? 0) + 1);
          if (!errorSamples.has(code))
            errorSamples.set(code, error instanceof Error ? error.message.slice(0, 300) : String(error));
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  clearInterval(progress);
  for (const client of clients) client.close();
  const rssAtEnd = rssMiB(pid);
  if (rssAtEnd !== null) rssPeak = Math.max(rssPeak, rssAtEnd);
  const connections = await serverConnections(url);
  say(`load done after ${round(elapsedMs / 1000, 1)} s; stopping the server (SIGTERM)`);

  server.child.kill("SIGTERM");
  const exit = await Promise.race([serverExited, sleep(15_000).then(() => null)]);
  const stoppedCleanly = exit !== null && exit.code === 0;
  if (!stoppedCleanly) say(`the server did not exit cleanly: ${JSON.stringify(exit)}\n${tail(server.logFile, 20)}`);

  // A separate read of the file, with the server gone.
  const reader = new Database(dbPath, { readonly: true });
  const onDisk = new Set<string>();
  for (const row of reader.prepare("SELECT id FROM acks").raw(true).iterate())
    onDisk.add(String((row as unknown[])[0]));
  const integrity = String((reader.prepare("PRAGMA integrity_check").raw(true).get() as unknown[])[0]);
  reader.close();
  const missing = [...acknowledged].filter((id) => !onDisk.has(id));
  const unacknowledgedPresent = [...onDisk].filter((id) => !acknowledged.has(id)).length;
  const strays = [...onDisk].filter((id) => !attempted.has(id)).length;

  const allLatencies = kinds.flatMap((kind) => latencies[kind]);
  const totalOk = allLatencies.length;
  const totalErrors = [...errors.values()].reduce((a, b) => a + b, 0);
  const opsPerSecond = round(totalOk / (elapsedMs / 1000), 1);
  const overall = latencySummary(allLatencies);
  const perKind = kinds.map((kind) => [kind, latencySummary(latencies[kind])] as const);

  console.log(
    `\n${clientCount} clients, ${round(elapsedMs / 1000, 1)} s: ${thousands(totalOk)} ` +
      `operations ok (${opsPerSecond} ops/s), ${thousands(totalErrors)} errors`,
  );
  console.log("\nlatency (ms)");
  printColumns(
    ["kind", "ok", "p50", "p95", "p99", "max"],
    [["all", overall] as const, ...perKind].map(([name, s]) => [
      name,
      thousands(s.count),
      s.p50.toFixed(2),
      s.p95.toFixed(2),
      s.p99.toFixed(2),
      s.max.toFixed(2),
    ]),
  );
  console.log("\nerrors by kind");
  if (errorsByKind.size === 0) console.log("  none");
  else
    printColumns(
      ["operation: code", "count"],
      [...errorsByKind].sort((a, b) => b[1] - a[1]).map(([code, n]) => [code, thousands(n)]),
    );
  for (const [code, message] of errorSamples) console.log(`  e.g. ${code}: ${message}`);
  console.log(
    `\nserver RSS: ${rssAfterSetup ?? "?"} MiB after setup, peak ${rssPeak} MiB, ${rssAtEnd ?? "?"} MiB at the end`,
  );
  const steady = steadyGrowth(rssSamples, rssAtEnd);
  if (steady !== null)
    console.log(
      `  steady state: ${steady.fromMiB} MiB at ${steady.fromSecond} s (a third in), ${steady.toMiB} ` +
        `MiB at the end: ${steady.growthMiB >= 0 ? "+" : ""}${steady.growthMiB} MiB`,
    );
  if (connections !== null)
    console.log(
      `server connections: ${connections.opened} opened in ` +
        `all, ${connections.open} open at the end (cap ${connections.max})`,
    );
  console.log(
    `server stopped cleanly: ${stoppedCleanly ? "yes" : `no (${JSON.stringify(exit)})`}; integrity_check: ${integrity}`,
  );
  console.log(
    `acknowledged writes: ${thousands(acknowledged.size)}; on disk: ${thousands(onDisk.size)}; ` +
      `acknowledged but MISSING: ${missing.length}; on disk but not acknowledged: ${unacknowledgedPresent}`,
  );
  if (missing.length > 0) console.log(`  missing, first ones: ${missing.slice(0, 10).join(", ")}`);

  writeResults(flags.out, {
    benchmark: "db",
    date: new Date().toISOString(),
    machine: machineInfo(loadAtStart),
    config: {
      clients: clientCount,
      seconds: durationSeconds,
      mix: { read: 0.4, write: 0.25, batch: 0.15, transaction: 0.15, deferred: 0.05 },
      rolledBackOnPurpose: "10% of transactions",
    },
    elapsedSeconds: round(elapsedMs / 1000, 2),
    operations: { ok: totalOk, errors: totalErrors, opsPerSecond, okByKind: okCounts },
    latencyMs: { all: overall, ...Object.fromEntries(perKind) },
    errors: Object.fromEntries(errors),
    errorsByKind: Object.fromEntries(errorsByKind),
    errorSamples: Object.fromEntries(errorSamples),
    serverRssMiB: { afterSetup: rssAfterSetup, peak: rssPeak, atEnd: rssAtEnd, steady, samples: rssSamples },
    serverConnections: connections,
    durability: {
      acknowledged: acknowledged.size,
      onDisk: onDisk.size,
      missing: missing.length,
      missingSample: missing.slice(0, 20),
      unacknowledgedPresent,
      strays,
      integrity,
      stoppedCleanly,
      exit,
    },
  });
  return missing.length === 0 && stoppedCleanly && strays === 0 ? 0 : 1;
}

runAndExit(main);
