import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "../../worker/batch/backoff.ts";

describe("queue retry backoff", () => {
  it("doubles from 30 s per attempt and caps at 15 minutes", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 900, 900]);
  });

  it("treats a first delivery (attempts 0 or 1) alike", () => {
    expect(retryDelaySeconds(0)).toBe(30);
  });
});
