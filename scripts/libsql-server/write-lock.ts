// One writer at a time per database. SQLite allows one write transaction per file; instead of
// letting streams collide on its lock (SQLITE_BUSY, then retries), a stream that is about to
// write waits here, asynchronously and in arrival order, for its turn, and keeps the turn until
// its connection leaves the transaction (at once for an autocommit statement). Waits are bounded:
// a waiter gives up after its deadline with SQLITE_BUSY naming the wait.
import { HranaError } from "./protocol.ts";

interface Waiter {
  owner: object;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class WriteLock {
  #holder: object | undefined;
  #heldSince = 0;
  readonly #waiters: Waiter[] = [];
  #closedReason: string | undefined;

  /** The stream holding the turn, if any. */
  get holder(): object | undefined {
    return this.#holder;
  }

  /** How many streams are waiting for the turn. */
  get waiting(): number {
    return this.#waiters.length;
  }

  holds(owner: object): boolean {
    return this.#holder === owner;
  }

  /**
   * Resolves once `owner` holds the turn. Rejects with SQLITE_BUSY after `timeoutMs`, or when the
   * lock is closed (server shutdown); a rejected waiter never gets the turn.
   */
  acquire(owner: object, timeoutMs: number): Promise<void> {
    if (this.#closedReason !== undefined) return Promise.reject(new HranaError(this.#closedReason, "SQLITE_BUSY"));
    if (this.#holder === owner) return Promise.resolve();
    if (this.#holder === undefined && this.#waiters.length === 0) {
      this.#grant(owner);
      return Promise.resolve();
    }
    const startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { owner, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(
        () => {
          const index = this.#waiters.indexOf(waiter);
          if (index === -1) return;
          this.#waiters.splice(index, 1);
          const heldFor =
            this.#holder === undefined ? "" : ` (held by another stream for ${Date.now() - this.#heldSince} ms)`;
          reject(
            new HranaError(
              `database is locked: this write waited ${Date.now() - startedAt} ` +
                `ms (the busy timeout) for the database's write lock${heldFor}, ` +
                `which another stream's write or transaction still holds; nothing of this statement was written`,
              "SQLITE_BUSY",
            ),
          );
        },
        Math.max(0, timeoutMs),
      );
      this.#waiters.push(waiter);
    });
  }

  /** Gives the turn to the next waiter; a no-op unless `owner` holds it. */
  release(owner: object): void {
    if (this.#holder !== owner) return;
    this.#holder = undefined;
    const next = this.#waiters.shift();
    if (next === undefined) return;
    clearTimeout(next.timer);
    this.#grant(next.owner);
    next.resolve();
  }

  /** Fails every waiter (and every later acquire) with `reason`; the holder keeps the turn until it releases it. */
  close(reason: string): void {
    this.#closedReason = reason;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new HranaError(reason, "SQLITE_BUSY"));
    }
  }

  #grant(owner: object): void {
    this.#holder = owner;
    this.#heldSince = Date.now();
  }
}
