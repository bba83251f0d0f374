// The security review's findings on input handling, each reproduced against the real Worker:
// control characters (NUL) in every kind of text input, numbers large enough to overflow
// (1e308) sent and already stored, malformed dates, query keys named like Object.prototype's
// members, and overlapping backfills. Every one must be a 4xx naming the field, never a 500.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchRuns, portfolios, positions } from "../../schema/index.ts";
import { activeDedupeKey } from "../../worker/batch/runs.ts";
import { batchDates, call, db, ensureBatchOutput, errorOf, json, latestDate } from "./support.ts";

const owner = "hardening-owner";
const own = { sub: owner, org: "hardening-org" } as const;
const ids = { portfolio: "hardening-portfolio", huge: "hardening-huge", hugePosition: "hardening-huge-position" };

interface Detail {
  path: string;
  message: string;
}

async function validationDetails(response: Response): Promise<Detail[]> {
  const error = await errorOf(response, 400);
  expect(error.code).toBe("VALIDATION_ERROR");
  return error.details as Detail[];
}

beforeAll(async () => {
  await ensureBatchOutput();
  await db
    .insert(portfolios)
    .values({ id: ids.portfolio, owner, org: own.org, name: "Hardening" })
    .onConflictDoNothing();
  await db
    .insert(positions)
    .values({
      id: "hardening-position",
      portfolioId: ids.portfolio,
      symbol: "SPY",
      instrument: "etf",
      quantity: 10,
      openedOn: "2026-01-02",
    })
    .onConflictDoNothing();
  // A portfolio written before the API capped its numbers: a quantity of 1e308 (SQLite stores it as is).
  await db.insert(portfolios).values({ id: ids.huge, owner, org: own.org, name: "Huge" }).onConflictDoNothing();
  await db
    .insert(positions)
    .values([
      {
        id: ids.hugePosition,
        portfolioId: ids.huge,
        symbol: "SPY",
        instrument: "etf",
        quantity: 1e308,
        openedOn: "2026-01-02",
      },
      {
        id: "hardening-huge-2",
        portfolioId: ids.huge,
        symbol: "SPY",
        instrument: "etf",
        quantity: 1e308,
        openedOn: "2026-01-02",
      },
    ])
    .onConflictDoNothing();
});

describe("control characters (finding 8)", () => {
  it("refuses NUL in a query value with 400 naming the field (it was a 500)", async () => {
    const details = await validationDetails(await call("/data/symbols?q=%00"));
    expect(details).toEqual([{ path: "q", message: expect.stringContaining("control characters (U+0000") }]);
    const sector = await validationDetails(await call("/data/symbols?sector=Tech%00nology&limit=abc"));
    expect(sector.map((detail) => detail.path).sort()).toEqual(["limit", "sector"]);
  });

  it("refuses other C0 characters and DEL in query values and path parameters", async () => {
    for (const char of ["%01", "%0A", "%09", "%1F", "%7F"]) {
      const details = await validationDetails(await call(`/data/symbols?q=ab${char}`));
      expect(details[0], char).toMatchObject({ path: "q" });
    }
    const path = await validationDetails(await call(`/portfolios/${ids.portfolio}%00`, own));
    expect(path).toEqual([{ path: "id", message: expect.stringContaining("U+0000") }]);
    const symbol = await validationDetails(await call("/data/symbols/SP%00Y"));
    expect(symbol[0]).toMatchObject({ path: "symbol" });
    const run = await validationDetails(await call("/admin/batch/runs/run%00id"));
    expect(run).toEqual([{ path: "id", message: expect.stringContaining("U+0000") }]);
  });

  it("refuses NUL anywhere in a JSON body, keys included, and writes nothing", async () => {
    const name = await validationDetails(
      await call("/portfolios", { ...own, method: "POST", body: { name: "evil\u0000name" } }),
    );
    expect(name).toEqual([{ path: "name", message: expect.stringContaining("U+0000") }]);
    // The database protocol cannot even carry NUL as a parameter: compare in the test instead.
    const names = (await db.select({ name: portfolios.name }).from(portfolios).where(eq(portfolios.owner, owner))).map(
      (row) => row.name,
    );
    expect(names.filter((value) => value.includes("evil"))).toEqual([]);
    const nested = await validationDetails(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: { holdings: [{ symbol: "SP\u0000Y", instrument: "etf", quantity: 1 }] },
      }),
    );
    expect(nested[0]).toMatchObject({ path: "holdings[0].symbol" });
    const key = await validationDetails(
      await call(`/portfolios/${ids.portfolio}/stress`, {
        ...own,
        method: "POST",
        body: { shocks: { "market\u0000beta": 0.1 } },
      }),
    );
    expect(key[0]).toMatchObject({ path: "shocks.market\u0000beta", message: expect.stringContaining("a field name") });
    // The price upload validates by hand: the body check applies to it too.
    const upload = await validationDetails(
      await call("/admin/market-data/prices", {
        method: "POST",
        body: { prices: [{ date: "2026-06-30", symbol: "SPY\u0000", close: 1 }] },
      }),
    );
    expect(upload[0]).toMatchObject({ path: "prices[0].symbol" });
  });

  it("keeps line breaks where text may have them (a scenario's description), and refuses them in a name", async () => {
    const body = {
      name: `multi-line ${crypto.randomUUID()}`,
      description: "first line\nsecond line\ttabbed",
      shocks: { market_beta: -0.1 },
    };
    const created = await json<{ description: string }>(
      await call("/stress/scenarios", { ...own, method: "POST", body }),
      201,
    );
    expect(created.description).toBe("first line\nsecond line\ttabbed");
    const named = await validationDetails(
      await call("/stress/scenarios", { ...own, method: "POST", body: { ...body, name: "two\nlines" } }),
    );
    expect(named).toEqual([{ path: "name", message: expect.stringContaining("U+000A") }]);
  });

  it("refuses control characters in a CSV import's text fields, by line", async () => {
    const csv = "symbol,instrument,quantity,opened_on\nPRIV\u0001ATE,private,1,2026-01-02\n";
    const response = await call(`/portfolios/${ids.portfolio}/positions/import`, {
      ...own,
      method: "POST",
      body: csv,
      headers: { "content-type": "text/csv" },
    });
    const error = await errorOf(response, 400);
    expect(error.details).toEqual([{ line: 2, path: "symbol", message: expect.stringContaining("U+0001") }]);
  });
});

describe("numbers that overflow (finding 9)", () => {
  it("refuses 1e308 and other out-of-range numbers with 400 naming the field (what-if was a 500)", async () => {
    const whatIf = await validationDetails(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: { holdings: [{ symbol: "SPY", instrument: "etf", quantity: 1e308 }] },
      }),
    );
    expect(whatIf).toEqual([
      { path: "holdings[0].quantity", message: expect.stringMatching(/quantity must be a number from -1e12 to 1e12/) },
    ]);
    const cash = await validationDetails(
      await call("/portfolios", { ...own, method: "POST", body: { name: "rich", cash: 1e300 } }),
    );
    expect(cash).toEqual([{ path: "cash", message: expect.stringContaining("cash must be a number") }]);
    const position = await validationDetails(
      await call(`/portfolios/${ids.portfolio}/positions`, {
        ...own,
        method: "POST",
        body: {
          symbol: "SPY 261218C00600000",
          instrument: "option",
          quantity: 1,
          opened_on: "2026-01-02",
          underlying_symbol: "SPY",
          option_type: "call",
          strike: 1e200,
          expiry: "2026-12-18",
          delta: 0.5,
          multiplier: 1e300,
        },
      }),
    );
    expect(position.map((detail) => detail.path).sort()).toEqual(["multiplier", "strike"]);
    // JSON's 1e999 parses to Infinity: refused as not finite.
    const infinite = await validationDetails(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: '{"holdings":[],"cash":1e999}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(infinite).toEqual([{ path: "cash", message: "cash must be a finite number" }]);
    // Nothing was stored.
    expect(await db.select().from(portfolios).where(eq(portfolios.name, "rich"))).toEqual([]);
  });

  it("answers 422 naming stored quantities that overflow a drill-down, stress test or what-if", async () => {
    // In position id order, as the aggregation reads them.
    const expected = [
      { path: "positions.hardening-huge-2.quantity", message: expect.stringContaining("1e+308") },
      { path: `positions.${ids.hugePosition}.quantity`, message: expect.stringContaining("1e+308") },
    ];
    const drill = await errorOf(
      await call(`/portfolios/${ids.huge}/exposures/stocks?factor=market_beta&date=${latestDate}`, own),
      422,
    );
    expect(drill.code).toBe("VALUE_OUT_OF_RANGE");
    expect(drill.details).toEqual(expected);
    const stress = await errorOf(
      await call(`/portfolios/${ids.huge}/stress`, {
        ...own,
        method: "POST",
        body: { shocks: { market_beta: -0.1 }, date: latestDate },
      }),
      422,
    );
    expect(stress.details).toEqual(expected);
    const whatIf = await errorOf(
      await call("/what-if", {
        ...own,
        method: "POST",
        body: { holdings: [], portfolio_id: ids.huge, date: latestDate },
      }),
      422,
    );
    expect(whatIf.details).toEqual(expected.map((detail) => ({ ...detail, path: `portfolio.${detail.path}` })));
    // Still 422 on a second ask (no state broken), and the portfolio stays readable and repairable.
    expect((await call(`/portfolios/${ids.huge}/exposures/stocks?factor=market_beta`, own)).status).toBe(422);
    expect((await call(`/portfolios/${ids.huge}/positions`, own)).status).toBe(200);
  });

  it("a portfolio of ordinary values is computed as before", async () => {
    const [position] = await db.select().from(positions).where(eq(positions.id, "hardening-position"));
    expect(position?.quantity).toBe(10);
    const drill = await json<{ rows: unknown[]; exposure: number | null }>(
      await call(`/portfolios/${ids.portfolio}/exposures/stocks?factor=market_beta&date=${latestDate}`, own),
    );
    expect(drill.rows).toHaveLength(1);
    expect(Number.isFinite(drill.exposure)).toBe(true);
  });
});

describe("dates (finding 12)", () => {
  it("refuses a malformed backfill date with 400 naming the field (it was a 500)", async () => {
    const details = await validationDetails(
      await call("/admin/batch/backfill", { method: "POST", body: { from: " 5" } }),
    );
    expect(details).toEqual([{ path: "from", message: 'from must be a calendar date YYYY-MM-DD, got " 5"' }]);
    const withTo = await validationDetails(
      await call("/admin/batch/backfill", { method: "POST", body: { from: " 5", to: "2026-06-30" } }),
    );
    expect(withTo.map((detail) => detail.path)).toEqual(["from"]);
  });

  it("refuses a malformed dual-write report date with 400 naming the field (it was a 500)", async () => {
    const details = await validationDetails(await call("/admin/dual-write/report?start_date=0"));
    expect(details.map((detail) => detail.path).sort()).toEqual(["end_date", "start_date"]);
    const withEnd = await validationDetails(await call("/admin/dual-write/report?start_date=0&end_date=2026-06-30"));
    expect(withEnd).toEqual([
      { path: "start_date", message: 'start_date must be a calendar date YYYY-MM-DD, got "0"' },
    ]);
  });

  it("refuses dates that are not on the calendar or outside 1900-2199, everywhere a date is taken", async () => {
    const cases: [string, string][] = [
      ["/admin/dual-write/report?start_date=2026-02-30&end_date=2026-03-01", "start_date"],
      ["/admin/dual-write/report?start_date=0050-01-01&end_date=0050-01-02", "start_date"],
      ["/data/symbols?date=2026-13-01", "date"],
      ["/data/symbols?date=2026-06-30T00:00:00Z", "date"],
      ["/data/sectors?date=9999-12-31", "date"],
      [`/portfolios/${ids.portfolio}/exposures?from=1899-12-31`, "from"],
      [`/portfolios/${ids.portfolio}/exposures?from=x&to=2026-06-30`, "from"],
    ];
    for (const [path, field] of cases) {
      const details = await validationDetails(await call(path, own));
      expect(
        details.map((detail) => detail.path),
        path,
      ).toContain(field);
    }
    const run = await validationDetails(
      await call("/admin/batch/run", { method: "POST", body: { date: "2026-02-29" } }),
    );
    expect(run).toEqual([{ path: "date", message: expect.stringContaining("calendar date") }]);
  });
});

describe("prototype-named query keys (finding 13)", () => {
  it("refuses constructor, __proto__, toString and hasOwnProperty like any unknown key", async () => {
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      for (const path of [
        "/data/symbols",
        `/portfolios/${ids.portfolio}/exposures`,
        "/admin/batch/runs",
        "/factors",
        "/stress/scenarios",
      ]) {
        const details = await validationDetails(await call(`${path}?${key}=1`, own));
        expect(details, `${path}?${key}`).toEqual([{ path: key, message: `unknown field "${key}"` }]);
      }
    }
  });

  it("refuses unknown query keys on routes that take none", async () => {
    const details = await validationDetails(
      await call("/what-if?sortBy=x", { ...own, method: "POST", body: { holdings: [] } }),
    );
    expect(details).toEqual([{ path: "sortBy", message: 'unknown field "sortBy"' }]);
  });

  it("refuses prototype-named keys in JSON bodies and shock records", async () => {
    const body = await validationDetails(
      await call("/portfolios", {
        ...own,
        method: "POST",
        body: '{"name":"x","__proto__":{"admin":true}}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(body).toEqual([{ path: "__proto__", message: 'unknown field "__proto__"' }]);
    for (const key of ["__proto__", "constructor", "toString"]) {
      // Beside a valid shock: the key must not be dropped silently, leaving the valid one to run.
      const body = `{"shocks":{"${key}":0.1,"market_beta":-0.1}}`;
      const shocks = await validationDetails(
        await call(`/portfolios/${ids.portfolio}/stress`, {
          ...own,
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        }),
      );
      expect(shocks, key).toEqual([
        { path: `shocks.${key}`, message: expect.stringMatching(/not a factor key|must be factor keys|unknown field/) },
      ]);
    }
  });
});

describe("overlapping backfills (finding 14)", () => {
  const fakeRun = "hardening-running-backfill";
  const request = {
    trigger: "backfill" as const,
    startDate: "2026-06-22",
    endDate: "2026-06-26",
    portfolioId: null,
    forceRerun: false,
    replacePrices: false,
  };

  beforeAll(async () => {
    // A backfill that is still running: a row only (no queue message), so the test controls its status.
    await db
      .insert(batchRuns)
      .values({
        id: fakeRun,
        dedupeKey: activeDedupeKey(request),
        trigger: "backfill",
        startDate: request.startDate,
        endDate: request.endDate,
        dates: ["2026-06-22", "2026-06-26"],
        status: "running",
      })
      .onConflictDoNothing();
  });
  afterAll(async () => {
    await db
      .update(batchRuns)
      .set({ status: "completed", dedupeKey: `${fakeRun}:done` })
      .where(eq(batchRuns.id, fakeRun));
  });

  it("answers 409 with the running run's id to a backfill whose range overlaps it", async () => {
    const error = await errorOf(
      await call("/admin/batch/backfill", { method: "POST", body: { from: "2026-06-25", to: batchDates.at(-1) } }),
      409,
    );
    expect(error).toMatchObject({
      code: "RUN_IN_PROGRESS",
      details: { run_id: fakeRun, status: "running", start_date: "2026-06-22", end_date: "2026-06-26" },
    });
    expect(error.message).toContain(fakeRun);
    // One date in common is an overlap; so is a range inside it.
    expect(
      (await call("/admin/batch/backfill", { method: "POST", body: { from: "2026-06-26", to: "2026-06-26" } })).status,
    ).toBe(409);
    expect(
      (
        await call("/admin/batch/backfill", {
          method: "POST",
          body: { from: "2026-06-23", to: "2026-06-24", force_rerun: true },
        })
      ).status,
    ).toBe(409);
    // Nothing was created.
    const active = await db.select({ id: batchRuns.id }).from(batchRuns).where(eq(batchRuns.status, "queued"));
    expect(active).toEqual([]);
  });

  it("answers the same request with the run already under way (200), as before", async () => {
    const response = await call("/admin/batch/backfill", {
      method: "POST",
      body: { from: request.startDate, to: request.endDate },
    });
    const body = await json<{ run_id: string; outcome: string }>(response, 200);
    expect(body).toMatchObject({ run_id: fakeRun, outcome: "already_running" });
  });
});

describe("deeply nested bodies", () => {
  it("refuses JSON nested deeper than 32 levels with 400 (it overflowed the stack: a 500)", async () => {
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    for (const path of ["/portfolios", "/what-if", "/admin/market-data/prices"]) {
      const details = await validationDetails(
        await call(path, { ...own, method: "POST", body: deep, headers: { "content-type": "application/json" } }),
      );
      expect(details, path).toEqual([
        { path: expect.stringMatching(/^(\[0\]){32}$/), message: "the input nests deeper than 32 levels" },
      ]);
    }
  });
});
