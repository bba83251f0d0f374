// The parent's side of the load generator (./load.ts): autocannon in a child process, forked with
// an IPC channel, one run at a time, so that generating the load never runs on the event loop of
// a benchmark process that also hosts the libSQL server. Used by bench:api and bench:round-trip.
import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../local-config.ts";
import type { LoadReply, LoadRequest, LoadResult } from "./load.ts";

/** The autocannon child: one request at a time over IPC. */
export class LoadGenerator {
  readonly #child: ChildProcess;
  #pending: { resolve: (result: LoadResult) => void; reject: (error: Error) => void } | null = null;

  constructor() {
    this.#child = fork(path.join(projectRoot, "scripts/bench-api/load.ts"), [], {
      cwd: projectRoot,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child.on("message", (message: LoadReply) => {
      const pending = this.#pending;
      this.#pending = null;
      if (!pending) return;
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`autocannon failed: ${message.error}`));
    });
    this.#child.once("exit", (code, signal) => {
      const pending = this.#pending;
      this.#pending = null;
      pending?.reject(new Error(`the load generator exited (${signal ?? `code ${code}`})`));
    });
  }

  run(request: LoadRequest): Promise<LoadResult> {
    if (this.#pending) throw new Error("the load generator is busy");
    return new Promise<LoadResult>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#child.send(request);
    });
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
  }
}
