// Shared by the API tests: requests through the real Worker, and the batch output they read.
import { env, exports } from "cloudflare:workers";
import { eq, inArray, sql } from "drizzle-orm";
import { expect } from "vitest";
import { batchRuns, portfolioSnapshots } from "../../schema/index.ts";
import type { Permission } from "../../worker/auth/permissions.ts";
import { getDatabase } from "../../worker/db/client.ts";
import type { ApiErrorBody } from "../../worker/http/errors.ts";
import { allPermissions, tokenFor } from "../support/tokens.ts";

export const db = getDatabase(env);
export const base = "http://localhost/api/v1";

/** The dates the batch computes for these tests: Friday, Monday and Tuesday (the seed's last day). */
export const batchDates = ["2026-06-26", "2026-06-29", "2026-06-30"];
export const latestDate = "2026-06-30";
/** The demo seed's owner and org (scripts/seed-demo.ts). */
export const demoOwner = "demo";
export const demoOrg = "demo-org";

export interface CallOptions {
  method?: string;
  /** A token, or a sub to mint one for (with `permissions`); null sends none. */
  token?: string | null;
  sub?: string;
  org?: string | null;
  permissions?: readonly Permission[];
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const token =
    options.token === undefined
      ? await tokenFor(options.sub ?? demoOwner, options.permissions ?? allPermissions, {
          org: options.org === undefined ? demoOrg : options.org,
        })
      : options.token;
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === "string") body = options.body;
    else {
      body = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
  }
  return exports.default.fetch(`${base}${path}`, {
    method: options.method ?? "GET",
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

export async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status, text.slice(0, 500)).toBe(status);
  return JSON.parse(text) as T;
}

export async function errorOf(response: Response, status: number): Promise<ApiErrorBody["error"]> {
  const body = await json<ApiErrorBody>(response, status);
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+|SQLITE|select .* from/i);
  return body.error;
}

/** Runs the batch for `batchDates` through the admin API once per database, and waits for it. */
export async function ensureBatchOutput(): Promise<void> {
  const done = await db
    .select({ n: sql<number>`count(*)` })
    .from(portfolioSnapshots)
    .where(eq(portfolioSnapshots.date, latestDate))
    .get();
  if ((done?.n ?? 0) > 0) return;
  const response = await call("/admin/batch/backfill", {
    method: "POST",
    sub: "api-test-operator",
    permissions: ["RUN_BATCH"],
    body: { from: batchDates[0], to: batchDates.at(-1) },
  });
  const { run_id: runId } = await json<{ run_id: string }>(response, response.status === 200 ? 200 : 202);
  const deadline = Date.now() + 170_000;
  for (;;) {
    const run = await db
      .select({ status: batchRuns.status, error: batchRuns.errorText })
      .from(batchRuns)
      .where(eq(batchRuns.id, runId))
      .get();
    if (run && run.status !== "queued" && run.status !== "running") {
      expect(run.status, run.error ?? "").toBe("completed");
      return;
    }
    if (Date.now() > deadline) throw new Error(`the batch run ${runId} did not finish in time (${run?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits until no batch run is queued or running (a position change starts its portfolio's history run). */
export async function waitForIdleRuns(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const active = await db
      .select({ id: batchRuns.id })
      .from(batchRuns)
      .where(inArray(batchRuns.status, ["queued", "running"]));
    if (active.length === 0) return;
    if (Date.now() > deadline) throw new Error(`batch runs still active: ${active.map((run) => run.id).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
