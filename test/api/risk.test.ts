// The risk model's routes (worker/routes/risk.ts): the risk factors with the model's settings,
// stored factor returns over a range, and the factor covariance of a date. The rows they read
// are written here directly (the batch's risk phase is tested on its own), on dates in 2019 and
// 2199 that no batch of these tests computes; answers are checked value by value, with their
// CSV layouts, 400s (field and reason), the 404 `not_computed` and the stored-reason path.
import { and, eq, lte, max, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { factorCovariances, factorReturns } from "../../schema/index.ts";
import {
  type CovarianceResponse,
  covarianceResponseSchema,
  type FactorReturnsResponse,
  factorReturnsResponseSchema,
  type RiskFactorsResponse,
  riskFactorsResponseSchema,
} from "../../worker/api/risk.ts";
import { addDays } from "../../worker/dates.ts";
import { call, db, errorOf, json } from "./support.ts";

const riskKeys = ["market", "rates", "growth_value", "momentum", "size", "quality", "low_volatility"];
const lensKeys = [
  "market_beta",
  "interest_rate_beta",
  "value",
  "growth",
  "momentum",
  "quality",
  "size",
  "low_volatility",
  "growth_value_spread",
  "momentum_spread",
  "size_spread",
  "quality_spread",
];
const halfLife = 90;
const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
const today = () => new Date().toISOString().slice(0, 10);

/** Risk returns on four dates of March 2019; `size` has none on 03-06 (one of its symbols had no return). */
const returnDates = ["2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07"];
const riskReturn = (key: string, day: number) =>
  (riskKeys.indexOf(key) + 1) * 0.001 * (day % 2 === 0 ? 1 : -1) + day / 1e5;

/** A 7 × 7 covariance with distinct variances and a few correlations; `low_volatility` has no variance in `flat`. */
function covarianceMatrix(flat = false): number[][] {
  const variances = riskKeys.map((_, index) => (index + 1) * 1e-5);
  if (flat) variances[6] = 0;
  return riskKeys.map((_, i) =>
    riskKeys.map((_, j) => {
      if (i === j) return variances[i]!;
      if (flat && (i === 6 || j === 6)) return 0;
      const rho = (i + j) % 3 === 0 ? 0.4 : -0.1;
      return rho * Math.sqrt(variances[i]! * variances[j]!);
    }),
  );
}

async function upsertCovariance(row: typeof factorCovariances.$inferInsert): Promise<void> {
  await db
    .insert(factorCovariances)
    .values(row)
    .onConflictDoUpdate({
      target: [factorCovariances.calculationDate, factorCovariances.halfLifeDays],
      set: {
        factorKeys: row.factorKeys,
        matrix: row.matrix ?? null,
        observations: row.observations,
        firstDate: row.firstDate ?? null,
        lastDate: row.lastDate ?? null,
        reason: row.reason ?? null,
        detail: row.detail ?? null,
        updatedAt: now,
      },
    });
}

/** What the covariance route answered for its default date before this file stored anything. */
let defaultBefore: { status: number; body: CovarianceResponse | null; stored: boolean };

beforeAll(async () => {
  const stored = await db
    .select({ n: sql<number>`count(*)` })
    .from(factorCovariances)
    .where(and(eq(factorCovariances.halfLifeDays, halfLife), lte(factorCovariances.calculationDate, today())))
    .get();
  const response = await call("/risk/covariance");
  defaultBefore = {
    status: response.status,
    body: response.status === 200 ? ((await response.json()) as CovarianceResponse) : null,
    stored: (stored?.n ?? 0) > 0,
  };

  const rows: (typeof factorReturns.$inferInsert)[] = [];
  for (const [day, date] of returnDates.entries()) {
    for (const key of riskKeys) {
      if (key === "size" && date === "2019-03-06") continue;
      rows.push({ kind: "risk", factorKey: key, date, value: riskReturn(key, day) });
    }
    rows.push({ kind: "lens", factorKey: "market_beta", date, value: 0.002 * (day + 1) });
  }
  // A key no active factor has: stored, never served.
  rows.push({ kind: "risk", factorKey: "retired_factor", date: "2019-03-04", value: 0.5 });
  await db
    .insert(factorReturns)
    .values(rows)
    .onConflictDoUpdate({
      target: [factorReturns.kind, factorReturns.factorKey, factorReturns.date],
      set: { value: sql`excluded.value` },
    });

  await upsertCovariance({
    calculationDate: "2019-03-07",
    halfLifeDays: halfLife,
    factorKeys: riskKeys,
    matrix: covarianceMatrix(),
    observations: 250,
    firstDate: "2018-03-07",
    lastDate: "2019-03-07",
  });
  await upsertCovariance({
    calculationDate: "2019-03-08",
    halfLifeDays: halfLife,
    factorKeys: riskKeys,
    matrix: null,
    observations: 42,
    firstDate: "2019-01-02",
    lastDate: "2019-03-08",
    reason: "insufficient_history",
    detail: "42 days with every risk factor's return, fewer than 60",
  });
  await upsertCovariance({
    calculationDate: "2019-03-11",
    halfLifeDays: halfLife,
    factorKeys: riskKeys,
    matrix: covarianceMatrix(true),
    observations: 251,
    firstDate: "2018-03-11",
    lastDate: "2019-03-11",
  });
  // After today: never the default date; answered when asked for.
  await upsertCovariance({
    calculationDate: "2199-01-02",
    halfLifeDays: halfLife,
    factorKeys: riskKeys,
    matrix: covarianceMatrix(),
    observations: 504,
    firstDate: "2197-01-02",
    lastDate: "2199-01-02",
  });
  // Another half-life than the deployment's: not this deployment's covariance.
  await upsertCovariance({
    calculationDate: "2019-03-12",
    halfLifeDays: 30,
    factorKeys: riskKeys,
    matrix: covarianceMatrix(),
    observations: 250,
    firstDate: "2018-03-12",
    lastDate: "2019-03-12",
  });
});

function csvLines(text: string): string[][] {
  return text
    .trim()
    .split("\r\n")
    .map((line) => line.split(","));
}

describe("GET /risk/factors", () => {
  it("lists the active risk factors in display order with the model's settings", async () => {
    const body = await json<RiskFactorsResponse>(await call("/risk/factors"));
    expect(riskFactorsResponseSchema.safeParse(body).success).toBe(true);
    expect(body.factors.map((factor) => factor.key)).toEqual(riskKeys);
    expect(body.factors.map((factor) => factor.display_order)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(body.factors[0]).toMatchObject({ key: "market", long_symbol: "SPY", short_symbol: null });
    expect(body.factors.find((factor) => factor.key === "growth_value")).toMatchObject({
      long_symbol: "VUG",
      short_symbol: "VTV",
    });
    expect(body.settings).toEqual({
      window_days: 365,
      min_observations: 60,
      half_life_days: 90,
      max_covariance_days: 504,
      min_covariance_days: 60,
      annualization_days: 252,
    });
  });

  it("answers CSV with one row per factor, and refuses unknown parameters", async () => {
    for (const response of [
      await call("/risk/factors?format=csv"),
      await call("/risk/factors", { headers: { accept: "text/csv" } }),
    ]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const lines = csvLines(await response.text());
      expect(lines[0]).toEqual(["key", "name", "long_symbol", "short_symbol", "description", "display_order"]);
      expect(lines.slice(1).map((line) => line[0])).toEqual(riskKeys);
      expect(lines[1]!.slice(2, 4)).toEqual(["SPY", ""]); // no short leg: an empty field
    }
    const error = await errorOf(await call("/risk/factors?kind=risk"), 400);
    expect(error.details).toEqual([{ path: "kind", message: 'unknown field "kind"' }]);
  });

  it("is a conditional read: ETag, then 304 for a matching If-None-Match", async () => {
    const first = await call("/risk/factors");
    await first.arrayBuffer();
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const again = await call("/risk/factors", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    // CSV is another representation: another tag.
    const csv = await call("/risk/factors?format=csv", { headers: { "if-none-match": etag } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("etag")).not.toBe(etag);
    await csv.arrayBuffer();
  });
});

describe("GET /risk/factor-returns", () => {
  it("serves the range's risk returns per factor aligned with the dates, null where none is stored", async () => {
    const body = await json<FactorReturnsResponse>(await call("/risk/factor-returns?from=2019-03-01&to=2019-03-10"));
    expect(factorReturnsResponseSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ from: "2019-03-01", to: "2019-03-10", kind: "risk", factors: riskKeys });
    expect(body.dates).toEqual(returnDates);
    expect(Object.keys(body.returns)).toEqual(riskKeys); // the retired key is not served
    for (const key of riskKeys) {
      expect(body.returns[key], key).toEqual(
        returnDates.map((date, day) => (key === "size" && date === "2019-03-06" ? null : riskReturn(key, day))),
      );
    }
    expect(body.data_quality.status).toBe("partial");
    expect(body.data_quality.missing).toEqual([{ factor_key: "size", dates: 1, reason: "no_return" }]);
  });

  it("serves the lens kind: the twelve lens factors, nulls for those without stored returns", async () => {
    const body = await json<FactorReturnsResponse>(
      await call("/risk/factor-returns?from=2019-03-05&to=2019-03-06&kind=lens"),
    );
    expect(body.kind).toBe("lens");
    expect(body.factors).toEqual(lensKeys);
    expect(body.dates).toEqual(["2019-03-05", "2019-03-06"]);
    expect(body.returns["market_beta"]).toEqual([0.004, 0.006]);
    expect(body.returns["value"]).toEqual([null, null]);
    expect(body.data_quality.missing.map((entry) => entry.factor_key)).toEqual(lensKeys.slice(1));
  });

  it("answers a range with nothing stored with empty arrays and says so, never zeros", async () => {
    const body = await json<FactorReturnsResponse>(await call("/risk/factor-returns?from=1990-01-01&to=1990-03-01"));
    expect(body.dates).toEqual([]);
    expect(body.factors).toEqual(riskKeys);
    for (const key of riskKeys) expect(body.returns[key]).toEqual([]);
    expect(body.data_quality).toMatchObject({ status: "none_stored", missing: [] });
    expect(body.data_quality.detail).toMatch(/no risk factor return is stored from 1990-01-01 to 1990-03-01/);
  });

  it("answers a range where every factor has every return as complete", async () => {
    const body = await json<FactorReturnsResponse>(await call("/risk/factor-returns?from=2019-03-07&to=2019-03-07"));
    expect(body.dates).toEqual(["2019-03-07"]);
    expect(body.data_quality).toMatchObject({ status: "complete", missing: [] });
  });

  it("defaults to the year up to the latest stored return of the kind", async () => {
    const latest = await db
      .select({ date: max(factorReturns.date) })
      .from(factorReturns)
      .where(and(eq(factorReturns.kind, "risk"), lte(factorReturns.date, today())))
      .get();
    const to = latest?.date ?? today();
    const body = await json<FactorReturnsResponse>(await call("/risk/factor-returns"));
    expect(body.to).toBe(to);
    expect(body.from).toBe(addDays(to, -365));
    expect(body.dates.at(-1)).toBe(to);
    const from = addDays(to, -30);
    const fromOnly = await json<FactorReturnsResponse>(await call(`/risk/factor-returns?from=${from}`));
    expect(fromOnly.from).toBe(from);
    expect(fromOnly.to).toBe(to);
  });

  it("exports CSV wide: a row per date, a column per factor, a missing return an empty field", async () => {
    const response = await call("/risk/factor-returns?from=2019-03-01&to=2019-03-10&format=csv");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toContain("factor-returns-risk-2019-03-01-2019-03-10.csv");
    const lines = csvLines(await response.text());
    expect(lines[0]).toEqual(["date", ...riskKeys]);
    expect(lines.slice(1).map((line) => line[0])).toEqual(returnDates);
    const march6 = lines[3]!;
    expect(march6[riskKeys.indexOf("size") + 1]).toBe("");
    expect(Number(march6[1])).toBe(riskReturn("market", 2));
    expect(Number(lines[1]![2])).toBe(riskReturn("rates", 0));
  });

  it("refuses bad ranges, dates and kinds with the field and the reason", async () => {
    const reversed = await errorOf(await call("/risk/factor-returns?from=2019-03-10&to=2019-03-01"), 400);
    expect(reversed.details).toEqual([{ path: "from", message: "from (2019-03-10) is after to (2019-03-01)" }]);
    const long = await errorOf(
      await call(`/risk/factor-returns?from=${addDays("2019-03-08", -2001)}&to=2019-03-08`),
      400,
    );
    expect(long.code).toBe("VALIDATION_ERROR");
    expect(long.details).toEqual([{ path: "from", message: "from must be within 2000 days of to" }]);
    // Exactly 2,000 days is allowed.
    const longest = await json<FactorReturnsResponse>(
      await call(`/risk/factor-returns?from=${addDays("2019-03-07", -2000)}&to=2019-03-07`),
    );
    expect(longest.dates.at(-1)).toBe("2019-03-07");
    const afterDefault = await errorOf(await call("/risk/factor-returns?from=2199-01-01"), 400);
    expect((afterDefault.details as { path: string; message: string }[])[0]).toMatchObject({ path: "from" });
    expect((afterDefault.details as { message: string }[])[0]!.message).toMatch(
      /is after to \(\d{4}-\d{2}-\d{2}: the default, the latest stored risk return or today\)/,
    );
    const date = await errorOf(await call("/risk/factor-returns?from=2019-02-30"), 400);
    expect(date.details).toEqual([
      { path: "from", message: 'from must be a calendar date YYYY-MM-DD, got "2019-02-30"' },
    ]);
    const kind = await errorOf(await call("/risk/factor-returns?kind=style"), 400);
    expect(kind.details).toEqual([{ path: "kind", message: "kind must be risk or lens" }]);
    const unknown = await errorOf(await call("/risk/factor-returns?factor=market"), 400);
    expect(unknown.details).toEqual([{ path: "factor", message: 'unknown field "factor"' }]);
  });
});

describe("GET /risk/covariance", () => {
  it("serves the stored matrix with annualized volatilities and correlations", async () => {
    const body = await json<CovarianceResponse>(await call("/risk/covariance?date=2019-03-07"));
    expect(covarianceResponseSchema.safeParse(body).success).toBe(true);
    const matrix = covarianceMatrix();
    expect(body).toMatchObject({
      date: "2019-03-07",
      half_life_days: 90,
      factors: riskKeys,
      observations: 250,
      first_date: "2018-03-07",
      last_date: "2019-03-07",
      matrix,
      reason: null,
      detail: null,
    });
    for (const [index, key] of riskKeys.entries())
      expect(body.annualized_volatility![key]).toBeCloseTo(Math.sqrt(252 * (index + 1) * 1e-5), 14);
    expect(body.annualized_volatility!["market"]).toBeCloseTo(0.0501996, 6);
    const correlation = body.correlation!;
    for (const [i] of riskKeys.entries()) {
      expect(correlation[i]![i]).toBe(1);
      for (const [j] of riskKeys.entries())
        if (i !== j) expect(correlation[i]![j]).toBeCloseTo((i + j) % 3 === 0 ? 0.4 : -0.1, 12);
    }
  });

  it("says why a factor without variance has no correlation", async () => {
    const body = await json<CovarianceResponse>(await call("/risk/covariance?date=2019-03-11"));
    expect(body.annualized_volatility!["low_volatility"]).toBe(0);
    const last = riskKeys.length - 1;
    expect(body.correlation![last]).toEqual(riskKeys.map(() => null));
    expect(body.correlation!.map((row) => row[last])).toEqual(riskKeys.map(() => null));
    expect(body.correlation![0]![0]).toBe(1);
  });

  it("serves a date stored with a reason as matrix null with the reason, detail and figures", async () => {
    const body = await json<CovarianceResponse>(await call("/risk/covariance?date=2019-03-08"));
    expect(covarianceResponseSchema.safeParse(body).success).toBe(true);
    expect(body).toEqual({
      date: "2019-03-08",
      half_life_days: 90,
      factors: riskKeys,
      observations: 42,
      first_date: "2019-01-02",
      last_date: "2019-03-08",
      matrix: null,
      annualized_volatility: null,
      correlation: null,
      reason: "insufficient_history",
      detail: "42 days with every risk factor's return, fewer than 60",
    });
  });

  it("answers 404 not_computed for a date without a stored covariance (another half-life's is not one)", async () => {
    for (const date of ["2019-03-06", "2019-03-12"]) {
      const error = await errorOf(await call(`/risk/covariance?date=${date}`), 404);
      expect(error.code).toBe("NO_DATA");
      expect(error.message).toContain(`no factor covariance was computed for ${date}`);
      expect(error.details).toEqual({ date, half_life_days: 90, reason: "not_computed" });
    }
  });

  it("defaults to the latest stored date on or before today, never a later one", async () => {
    const latest = await db
      .select({ date: max(factorCovariances.calculationDate) })
      .from(factorCovariances)
      .where(and(eq(factorCovariances.halfLifeDays, halfLife), lte(factorCovariances.calculationDate, today())))
      .get();
    const body = await json<CovarianceResponse>(await call("/risk/covariance"));
    expect(body.date).toBe(latest?.date);
    expect(body.date! <= today()).toBe(true);
    const future = await json<CovarianceResponse>(await call("/risk/covariance?date=2199-01-02"));
    expect(future.observations).toBe(504);
  });

  it("answers 200 not_computed, with nothing made up, when no covariance is stored at all", () => {
    // Only observable when nothing was stored before this file (the batch's risk phase may have run).
    if (defaultBefore.stored) return;
    expect(defaultBefore.status).toBe(200);
    expect(defaultBefore.body).toMatchObject({
      date: null,
      half_life_days: 90,
      factors: [],
      observations: 0,
      matrix: null,
      annualized_volatility: null,
      correlation: null,
      reason: "not_computed",
    });
    expect(defaultBefore.body!.detail).toMatch(/no factor covariance .* has been computed/);
  });

  it("exports the matrix as CSV with factor keys on both edges; a date without one is the header alone", async () => {
    const response = await call("/risk/covariance?date=2019-03-07", { headers: { accept: "text/csv" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = csvLines(await response.text());
    expect(lines[0]).toEqual(["factor", ...riskKeys]);
    expect(lines.slice(1).map((line) => line[0])).toEqual(riskKeys);
    const matrix = covarianceMatrix();
    expect(lines.slice(1).map((line) => line.slice(1).map(Number))).toEqual(matrix);
    const reasoned = await call("/risk/covariance?date=2019-03-08&format=csv");
    expect(csvLines(await reasoned.text())).toEqual([["factor", ...riskKeys]]);
  });

  it("refuses a malformed date and unknown parameters with the field and the reason", async () => {
    const date = await errorOf(await call("/risk/covariance?date=yesterday"), 400);
    expect(date.details).toEqual([
      { path: "date", message: 'date must be a calendar date YYYY-MM-DD, got "yesterday"' },
    ]);
    const unknown = await errorOf(await call("/risk/covariance?half_life_days=30"), 400);
    expect(unknown.details).toEqual([{ path: "half_life_days", message: 'unknown field "half_life_days"' }]);
  });

  it("revalidates with 304 until the stored covariance changes", async () => {
    const path = "/risk/covariance?date=2019-03-11";
    const first = await call(path);
    await first.arrayBuffer();
    const etag = first.headers.get("etag")!;
    const same = await call(path, { headers: { "if-none-match": etag } });
    expect(same.status).toBe(304);
    await same.arrayBuffer();
    await db
      .update(factorCovariances)
      .set({ observations: 252, updatedAt: now })
      .where(and(eq(factorCovariances.calculationDate, "2019-03-11"), eq(factorCovariances.halfLifeDays, halfLife)));
    const changed = await call(path, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as CovarianceResponse).observations).toBe(252);
  });
});
