// Who is sent a batch's progress (`LiveHub.publishBatch`, live-hub.ts). A pure rule, apart from
// the Durable Object, so that a unit test covers each case.
import type { Permission } from "../auth/permissions.ts";
import type { BatchProgress } from "./messages.ts";

/** A socket as the rule sees it: its caller's permissions and the portfolios it subscribed to. */
export interface ProgressWatcher {
  readonly permissions: readonly Permission[];
  /** Portfolio ids, each checked readable by the caller when the socket subscribed to it. */
  readonly topics: readonly string[];
}

/**
 * Whether `socket` is sent `event`: a caller who may run the batch sees every run's progress; a
 * viewer sees a run over every portfolio and the history run of a portfolio it subscribed to, and
 * never another member's portfolio's run. (Batch events reach only the hubs of the tenants whose
 * portfolios the run covers: publish.ts `publishBatchEvent`.)
 */
export function watchesProgress(socket: ProgressWatcher, event: Pick<BatchProgress, "run">): boolean {
  const portfolioId = event.run.portfolio_id;
  return socket.permissions.includes("RUN_BATCH") || portfolioId === null || socket.topics.includes(portfolioId);
}
