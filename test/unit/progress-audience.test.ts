// Who is sent a batch's progress (worker/realtime/progress-audience.ts); the live test
// (test/api/live.test.ts) checks a portfolio's run end to end through the hub.
import { describe, expect, it } from "vitest";
import type { Permission } from "../../worker/auth/permissions.ts";
import { watchesProgress } from "../../worker/realtime/progress-audience.ts";

const viewer: Permission[] = ["VIEW_FACTOR_ANALYTICS"];
const operator: Permission[] = ["VIEW_FACTOR_ANALYTICS", "RUN_BATCH"];
const runOf = (portfolioId: string | null) => ({
  run: { trigger: "portfolio", portfolio_id: portfolioId, dates_total: 3 },
});

describe("watchesProgress", () => {
  it("sends every run's progress to a caller who may run the batch", () => {
    expect(watchesProgress({ permissions: operator, topics: [] }, runOf("p-other"))).toBe(true);
    expect(watchesProgress({ permissions: operator, topics: [] }, runOf(null))).toBe(true);
  });

  it("sends a viewer a run over every portfolio, subscribed or not", () => {
    expect(watchesProgress({ permissions: viewer, topics: [] }, runOf(null))).toBe(true);
    expect(watchesProgress({ permissions: viewer, topics: ["p-1"] }, runOf(null))).toBe(true);
  });

  it("sends a viewer the history run of a portfolio it subscribed to, and no other portfolio's", () => {
    expect(watchesProgress({ permissions: viewer, topics: ["p-1", "p-2"] }, runOf("p-2"))).toBe(true);
    expect(watchesProgress({ permissions: viewer, topics: ["p-1"] }, runOf("p-2"))).toBe(false);
    expect(watchesProgress({ permissions: [], topics: [] }, runOf("p-2"))).toBe(false);
  });
});
