// CPU profiles of the Worker's isolate for `npm run bench:api -- --profile DIR`: the V8
// inspector of the direct runtime (Miniflare's `inspectorPort`), Chrome DevTools protocol over
// a WebSocket, Profiler.start while a load runs, Profiler.stop after. The .cpuprofile files
// open in Chrome DevTools (Performance tab) or speedscope; `summarizeProfile` prints where the
// self time went, by function and by source file. The bundle is esbuild's, not minified: it
// keeps a `// path/to/module.ts` line before each module's code, which is how a sampled line
// is attributed to its source file without a source map library.
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

interface Target {
  id: string;
  webSocketDebuggerUrl: string;
}

/** A DevTools protocol session with one inspector target. */
export class InspectorSession {
  readonly #socket: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) return; // an event; none is subscribed to
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) pending?.reject(new Error(`inspector: ${message.error.message}`));
      else pending?.resolve(message.result);
    });
    socket.addEventListener("close", () => {
      for (const pending of this.#pending.values()) pending.reject(new Error("inspector: the connection closed"));
      this.#pending.clear();
    });
  }

  /** Connects to the target whose id is `targetId` (workerd names the Worker `core:user:<name>`). */
  static async open(inspectorPort: number, targetId: string): Promise<InspectorSession> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Target[];
    const target = targets.find((candidate) => candidate.id === targetId);
    if (!target)
      throw new Error(`no inspector target ${targetId}; there are ${targets.map((t) => t.id).join(", ") || "none"}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error(`inspector: cannot connect to ${targetId}`)), {
        once: true,
      });
    });
    return new InspectorSession(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** Runs `during` with the isolate's sampling profiler on (every `intervalMicros`); returns the profile. */
export async function profileWhile(
  session: InspectorSession,
  during: () => Promise<void>,
  intervalMicros = 100,
): Promise<CpuProfile> {
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: intervalMicros });
  await session.send("Profiler.start");
  // Stopped whatever happens, so a failed run does not leave the isolate profiling; the
  // failure is thrown after.
  const outcome = await during().then(
    () => null,
    (error: unknown) => ({ error }),
  );
  const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
  await session.send("Profiler.disable");
  if (outcome !== null) throw outcome.error;
  return profile;
}

/** Source file of each bundle line: esbuild's `// path` markers, in line order. */
export function bundleModules(bundlePath: string): { line: number; module: string }[] {
  const markers: { line: number; module: string }[] = [];
  readFileSync(bundlePath, "utf8")
    .split("\n")
    .forEach((text, index) => {
      const match = /^\/\/ ((?:node_modules|worker|schema)\/\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
      const module = match?.[1];
      if (module !== undefined) markers.push({ line: index, module });
    });
  return markers;
}

function moduleAt(markers: readonly { line: number; module: string }[], line: number): string {
  let low = 0;
  let high = markers.length - 1;
  let found = "(bundle)";
  while (low <= high) {
    const middle = (low + high) >> 1;
    const marker = markers[middle];
    if (marker !== undefined && marker.line <= line) {
      found = marker.module;
      low = middle + 1;
    } else high = middle - 1;
  }
  // node_modules/.pnpm-like paths are long: keep the package and the file.
  return found.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+)\/.*?([^/]+)$/, "$1 ($2)");
}

export interface ProfileSummary {
  /** Sampled ms of the isolate, idle excluded. */
  busyMs: number;
  byFunction: { name: string; module: string; selfMs: number; share: number }[];
  byModule: { module: string; selfMs: number; share: number }[];
}

/** Self time by function (name and module) and by module, largest first; `(idle)` left out. */
export function summarizeProfile(
  profile: CpuProfile,
  markers: readonly { line: number; module: string }[],
  top = 25,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample's time is the delta to the next sample (V8's convention).
  samples.forEach((id, i) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  });
  const functions = new Map<string, { name: string; module: string; micros: number }>();
  const modules = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busy += micros;
    // The bundle is index.js; other scripts are the runtime's own JavaScript in the isolate
    // (Miniflare's rate-limit binding runs there as a wrapped module: `cloudflare-internal:…`).
    const module =
      frame.url === "" ? "(runtime)" : frame.url.endsWith("index.js") ? moduleAt(markers, frame.lineNumber) : frame.url;
    const name = `${frame.functionName || "(anonymous)"}${frame.url === "" ? "" : `:${frame.lineNumber + 1}`}`;
    const key = `${module}|${name}`;
    const entry = functions.get(key) ?? { name, module, micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
    modules.set(module, (modules.get(module) ?? 0) + micros);
  }
  const ms = (micros: number) => Math.round(micros / 10) / 100;
  const share = (micros: number) => (busy === 0 ? 0 : Math.round((micros / busy) * 1000) / 10);
  return {
    busyMs: ms(busy),
    byFunction: [...functions.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map((entry) => ({
        name: entry.name,
        module: entry.module,
        selfMs: ms(entry.micros),
        share: share(entry.micros),
      })),
    byModule: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, micros]) => ({ module, selfMs: ms(micros), share: share(micros) })),
  };
}
