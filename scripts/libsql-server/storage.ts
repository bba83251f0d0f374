// What the server can tell about its storage without writing: the free space of the database's
// file system, and whether a statement recently failed because the disk was full or would not
// take a write. GET /health reports both, so a full disk shows before the next write fails
// (issue 14: /health said ok through 21 minutes of SQLITE_FULL).
import { statfsSync } from "node:fs";
import { dirname } from "node:path";

/** Below this much free space the server reports itself degraded (default 16 MiB; LIBSQL_MIN_FREE_BYTES). */
export const defaultMinFreeBytes = 16 * 1024 * 1024;
/** A write failure keeps /health degraded this long after it happened. */
const recentFailureMs = 60_000;

export interface StorageProblem {
  code: "DISK_LOW" | "DISK_FULL" | "DISK_IO_ERROR";
  message: string;
}

export interface StorageReport {
  status: "ok" | "degraded";
  problems: StorageProblem[];
  disk: { free_bytes: number; total_bytes: number } | null;
  last_write_failure: { code: string; at: string } | null;
}

export class StorageMonitor {
  readonly #directory: string;
  readonly #minFreeBytes: number;
  readonly #now: () => number;
  #lastFailure: { code: string; at: number } | undefined;

  constructor(dbPath: string, minFreeBytes = defaultMinFreeBytes, now: () => number = Date.now) {
    this.#directory = dirname(dbPath);
    this.#minFreeBytes = minFreeBytes;
    this.#now = now;
  }

  /** Called with the SQLite code of every statement error; remembers the ones that mean storage trouble. */
  noteError(code: string): void {
    if (code.startsWith("SQLITE_FULL") || code.startsWith("SQLITE_IOERR"))
      this.#lastFailure = { code, at: this.#now() };
  }

  report(): StorageReport {
    const problems: StorageProblem[] = [];
    let disk: StorageReport["disk"] = null;
    try {
      const stats = statfsSync(this.#directory);
      disk = { free_bytes: stats.bavail * stats.bsize, total_bytes: stats.blocks * stats.bsize };
      if (disk.free_bytes < this.#minFreeBytes) {
        problems.push({
          code: "DISK_LOW",
          message:
            `the database's disk has ${disk.free_bytes} bytes free, ` +
            `under the ${this.#minFreeBytes} the server requires; writes may fail with SQLITE_FULL`,
        });
      }
    } catch (error) {
      problems.push({
        code: "DISK_IO_ERROR",
        message:
          `cannot read the free space ` +
          `of ${this.#directory}: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    const failure = this.#lastFailure;
    if (failure !== undefined && this.#now() - failure.at < recentFailureMs) {
      const seconds = Math.round((this.#now() - failure.at) / 1000);
      problems.push({
        code: failure.code.startsWith("SQLITE_FULL") ? "DISK_FULL" : "DISK_IO_ERROR",
        message: `a write failed with ${failure.code} ${seconds} s ago`,
      });
    }
    return {
      status: problems.length === 0 ? "ok" : "degraded",
      problems,
      disk,
      last_write_failure: failure === undefined ? null : { code: failure.code, at: new Date(failure.at).toISOString() },
    };
  }
}
