// After each file: wait until the batch runs it caused have ended. A position change starts the
// portfolio's history run through the queue; a run still in flight when the next file starts
// would race that file's assertions (and the runtime does not shut down under it cleanly).
import { inArray } from "drizzle-orm";
import { afterAll } from "vitest";
import { batchRuns } from "../../schema/index.ts";
import { db } from "./support.ts";

afterAll(async () => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const active = await db.select({ id: batchRuns.id }).from(batchRuns).where(inArray(batchRuns.status, ["queued", "running"]));
    if (active.length === 0) return;
    if (Date.now() > deadline) throw new Error(`batch runs still active after the file: ${active.map((run) => run.id).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});
