// The end-to-end suite's stack: `npm start`'s own script over a temporary data directory on free
// ports (scripts/demo-stack.ts), so the suite runs exactly what a user runs. The history the
// tests need is computed through the admin API: every weekday of the five weeks before the
// demo's last trading date, which a test then runs from the dashboard's Batch page.
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startDemoStack } from "../../scripts/demo-stack.ts";
import { lastWeekday } from "../../scripts/seed-demo.ts";
import { addDays } from "../../worker/dates.ts";
import { chromiumPath } from "./browser.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jwtSecret: string;
    /** The demo's last trading date: computed by no batch run yet when the suite starts. */
    pendingDate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}: apt-get install -y chromium (.ci/run does this)`);
  }
  const pendingDate = lastWeekday(new Date());
  const computedTo = lastWeekday(new Date(`${addDays(pendingDate, -1)}T12:00:00Z`));
  const stack = await startDemoStack({ backfill: { from: addDays(computedTo, -36), to: computedTo } });
  project.provide("baseUrl", stack.baseUrl);
  project.provide("jwtSecret", stack.jwtSecret);
  project.provide("pendingDate", pendingDate);
  return () => stack.stop();
}
