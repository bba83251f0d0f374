// The entity tag's inputs (worker/http/etag.ts): what an answer depends on apart from the data.
// The api project checks the 304s against a real database; this checks the representation part
// that no stored row changes: a new release (the Worker version's id), another caller, another
// query or format each give another tag.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../worker/auth/permissions.ts";
import { entityTag, ifNoneMatchMatches, representationOf } from "../../worker/http/etag.ts";

const analyst: Caller = { sub: "analyst", org: "org-a", permissions: new Set(["VIEW_FACTOR_ANALYTICS"]) };
const version = ["2026-12-02", 17];

/** The tag a request would get, with the Worker version `id` (none: no binding). */
async function tagOf(url: string, caller: Caller, id?: string, format: "json" | "csv" = "json"): Promise<string> {
  const app = new Hono<{ Bindings: { CF_VERSION_METADATA?: { id: string } } }>();
  app.get("*", async (c) => c.text(await entityTag(representationOf(c, "GET /x", caller, format), version)));
  const env = id === undefined ? {} : { CF_VERSION_METADATA: { id } };
  return (await app.request(url, {}, env)).text();
}

describe("entity tags", () => {
  it("are weak, stable for the same answer, and independent of the query's parameter order", async () => {
    const tag = await tagOf("http://x/api?a=1&b=2", analyst, "v1");
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]{43}"$/);
    expect(await tagOf("http://x/api?b=2&a=1", analyst, "v1")).toBe(tag);
  });

  it("change with the Worker version, the caller, the query and the format", async () => {
    const tag = await tagOf("http://x/api?a=1", analyst, "v1");
    const others = [
      await tagOf("http://x/api?a=1", analyst, "v2"),
      await tagOf("http://x/api?a=1", analyst),
      await tagOf("http://x/api?a=1", { ...analyst, org: "org-b" }),
      await tagOf("http://x/api?a=1", { ...analyst, sub: "other" }),
      await tagOf("http://x/api?a=1", {
        ...analyst,
        permissions: new Set(["VIEW_FACTOR_ANALYTICS", "MANAGE_PORTFOLIOS"]),
      }),
      await tagOf("http://x/api?a=2", analyst, "v1"),
      await tagOf("http://x/api?a=1", analyst, "v1", "csv"),
    ];
    for (const other of others) expect(other).not.toBe(tag);
    expect(new Set(others).size).toBe(others.length);
  });

  it("match If-None-Match weakly, in lists and as *, and never a malformed header", () => {
    const tag = 'W/"abc"';
    expect(ifNoneMatchMatches('"abc"', tag)).toBe(true);
    expect(ifNoneMatchMatches('W/"x", W/"abc"', tag)).toBe(true);
    expect(ifNoneMatchMatches("*", tag)).toBe(true);
    expect(ifNoneMatchMatches('W/"abd"', tag)).toBe(false);
    expect(ifNoneMatchMatches("abc", tag)).toBe(false);
    expect(ifNoneMatchMatches(null, tag)).toBe(false);
  });
});
