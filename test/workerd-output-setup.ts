// Global setup of the workerd test projects (worker, pipeline, api, own-data). It runs in vitest's
// main process, where @cloudflare/vitest-plugin prints what workerd logs and what wrangler warns
// while it reads wrangler.toml, and drops three kinds of that tool output which every passing run
// printed, and nothing else. What each one is, and why it is expected:
//
// 1. wrangler's "Missing required secrets: …" warning, with its "Using secrets defined in
//    process.env" line, once per test file. wrangler.toml lists `[secrets] required`; wrangler
//    looks for them in .dev.vars, .env and the process environment only, while the test projects
//    bind them in `miniflare.bindings` (each project's vitest.config.ts), which take precedence
//    over whatever wrangler found. The plugin offers no way to tell wrangler so. The warning is
//    dropped only when every secret it names is one the projects bind (`boundSecrets`): a new
//    required secret the tests do not bind still shows.
// 2. workerd's report of a refused connection. Every outbound fetch of a Worker under miniflare
//    passes through miniflare's own outbound worker (miniflare/dist/src/workers/core/outbound.worker.js),
//    whose handler is `return fetch(request)`. When the connection is refused — the tests that
//    take the database down point TURSO_DATABASE_URL at a closed port — that handler rejects, and
//    workerd logs the refusal and an uncaught exception of that internal worker, native stacks
//    included, although the Worker's code catches the error ("Network connection lost.") and the
//    tests assert what it does with it. A repro inside the Worker sees no unhandled rejection at
//    all. Dropped: the `exception = …: disconnected: Connection refused (os error 111)` entry and,
//    for each one, the two `uncaught exception … Network connection lost.` entries that follow it.
//    Any other exception, and any uncaught exception beyond those two per refusal, still prints.
// 3. workerd's report of an aborted request body: `exception = kj/async-io.c++:…: disconnected:
//    read end of pipe was aborted`. The admin test of the upload cap streams a body with no
//    Content-Length past the cap; the Worker stops reading and cancels the body
//    (readBodyText in worker/http/validation.ts, as it must), and workerd reports that the test's
//    side could not finish pumping it. The test asserts the 413.
import type { TestProject } from "vitest/node";

/** The secrets every workerd project binds itself (`miniflare.bindings` in its vitest.config.ts). */
export const boundSecrets: ReadonlySet<string> = new Set(["TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN", "JWT_SECRET"]);

const ansiEscape = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const missingSecrets = /Missing required secrets: ([A-Z0-9_, ]+)\. Add them to \.dev\.vars/;
const refusedConnection = /^exception = \S+: disconnected: Connection refused \(os error 111\)/;
const abortedRequestBody = /^exception = kj\/async-io\.c\+\+:\d+: disconnected: read end of pipe was aborted$/;
const refusalEchoes = [
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\.$/,
  /^uncaught exception; exception = \S+: disconnected: jsg\.Error: Network connection lost\.$/,
];

/**
 * Decides, write by write, what the filter drops. Each write the plugin makes carries one log
 * entry (its first line names it; a native stack may follow on the next line).
 */
export function createToolOutputFilter(): (text: string) => boolean {
  // Uncaught-exception entries still expected from refused connections already seen.
  let pendingEchoes = 0;
  return (text) => {
    const plain = text.replace(ansiEscape, "");
    const firstLine = plain.split("\n", 1)[0] ?? "";
    if (firstLine === "Using secrets defined in process.env") return true;
    const secrets = missingSecrets.exec(plain);
    if (secrets) return (secrets[1] ?? "").split(", ").every((name) => boundSecrets.has(name));
    if (abortedRequestBody.test(firstLine)) return true;
    if (refusedConnection.test(firstLine)) {
      pendingEchoes += refusalEchoes.length;
      return true;
    }
    if (pendingEchoes > 0 && refusalEchoes.some((echo) => echo.test(firstLine))) {
      pendingEchoes--;
      return true;
    }
    return false;
  };
}

const installed = Symbol.for("factor-exposure.tool-output-filter");

type Write = typeof process.stdout.write;

function filtered(write: Write, drop: (text: string) => boolean): Write {
  return function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    if ((typeof chunk === "string" || chunk instanceof Uint8Array) && drop(Buffer.from(chunk).toString("utf8"))) {
      // Nothing is written, but a caller waiting for its callback still gets it.
      const callback = rest.find((arg): arg is () => void => typeof arg === "function");
      callback?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Write;
}

/** Installs the filter on the main process's stdout and stderr, once for all the projects. */
export default function setup(_project: TestProject): void {
  const registry = globalThis as { [installed]?: true };
  if (registry[installed]) return;
  registry[installed] = true;
  const drop = createToolOutputFilter();
  process.stdout.write = filtered(process.stdout.write, drop);
  process.stderr.write = filtered(process.stderr.write, drop);
}
