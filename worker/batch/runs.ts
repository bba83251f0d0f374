import { eq } from "drizzle-orm";
import { batchRuns } from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { describeError, logEvent } from "../log.ts";
import { calculationDateFor, isWeekend } from "./calendar.ts";
import type { BatchMessage } from "./messages.ts";

export type StartRunResult =
  | { outcome: "started"; runId: string; date: string }
  | { outcome: "already_started"; runId: string; date: string }
  | { outcome: "skipped"; date: string; reason: "weekend" };

/**
 * Starts the daily run for the cron firing at `scheduledTime`. Idempotent: the run row is
 * keyed by `cron:<date>`, so a second invocation for the same date finds the first run
 * and enqueues nothing.
 */
export async function startScheduledRun(
  db: Database,
  queue: Queue<BatchMessage>,
  scheduledTime: number,
): Promise<StartRunResult> {
  const date = calculationDateFor(scheduledTime);
  if (isWeekend(date)) {
    logEvent("info", "batch.run_skipped", { date, reason: "weekend" });
    return { outcome: "skipped", date, reason: "weekend" };
  }
  const dedupeKey = `cron:${date}`;
  const inserted = await db
    .insert(batchRuns)
    .values({ id: crypto.randomUUID(), dedupeKey, trigger: "cron", startDate: date, endDate: date })
    .onConflictDoNothing({ target: batchRuns.dedupeKey })
    .returning({ id: batchRuns.id });
  const created = inserted[0];
  if (!created) {
    const existing = await db.select({ id: batchRuns.id }).from(batchRuns).where(eq(batchRuns.dedupeKey, dedupeKey)).get();
    if (!existing) throw new Error(`batch run ${dedupeKey} conflicted on insert but cannot be read back`);
    logEvent("info", "batch.run_already_started", { runId: existing.id, date });
    return { outcome: "already_started", runId: existing.id, date };
  }
  try {
    await queue.send({ type: "run.start", runId: created.id, date });
  } catch (error) {
    // Without its message the run would sit in `queued` forever: record why it failed.
    await db
      .update(batchRuns)
      .set({ status: "failed", errorText: `could not enqueue the run: ${describeError(error)}` })
      .where(eq(batchRuns.id, created.id));
    throw error;
  }
  logEvent("info", "batch.run_started", { runId: created.id, date, trigger: "cron" });
  return { outcome: "started", runId: created.id, date };
}
