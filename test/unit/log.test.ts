import { describe, expect, it } from "vitest";
import { describeError } from "../../worker/log.ts";

describe("describeError", () => {
  it("keeps the first line of each message along the cause chain, dropping bound values", () => {
    const cause = new Error("SERVER_ERROR: connection refused");
    const error = new Error("Failed query: update batch_runs set status = ?\nparams: running,secret-id", { cause });
    expect(describeError(error)).toBe("Error: Failed query: update batch_runs set status = ? <- Error: SERVER_ERROR: connection refused");
  });

  it("describes non-Error values", () => {
    expect(describeError("plain")).toBe("plain");
    expect(describeError(new TypeError("bad", { cause: 42 }))).toBe("TypeError: bad <- 42");
  });
});
