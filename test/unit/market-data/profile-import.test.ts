import { describe, expect, it } from "vitest";
import { validateProfileCsv } from "../../../worker/market-data/profile-import.ts";

function errorsOf(text: string) {
  const result = validateProfileCsv(text);
  if (result.ok) throw new Error("expected validation errors");
  return result.errors;
}

const header = "symbol,company_name,sector,industry,market_cap,enterprise_value,pe_ratio,ps_ratio,pb_ratio,as_of";

describe("validateProfileCsv", () => {
  it("reads every column, with empty cells as null (never 0)", () => {
    const result = validateProfileCsv(
      `${header}\nacme,"Acme, Inc.",Industrials,Machinery,1.5e10,-2e8,,3.2,0,2025-06-30\n`,
    );
    expect(result).toEqual({
      ok: true,
      duplicateLines: [],
      fields: [
        "company_name",
        "sector",
        "industry",
        "market_cap",
        "enterprise_value",
        "pe_ratio",
        "ps_ratio",
        "pb_ratio",
      ],
      rows: [
        {
          symbol: "ACME",
          asOf: "2025-06-30",
          line: 2,
          values: {
            company_name: "Acme, Inc.",
            sector: "Industrials",
            industry: "Machinery",
            market_cap: 1.5e10,
            enterprise_value: -2e8,
            pe_ratio: null,
            ps_ratio: 3.2,
            pb_ratio: 0,
          },
        },
      ],
    });
  });

  it("needs only symbol and as_of; absent columns are not provided (no key), unlike empty cells", () => {
    const result = validateProfileCsv("as_of,symbol,pe_ratio\n2025-06-30,AAA,\n2025-06-30,BBB,12.5\n");
    expect(result).toMatchObject({ ok: true, fields: ["pe_ratio"] });
    expect(result.ok && result.rows.map((row) => row.values)).toEqual([{ pe_ratio: null }, { pe_ratio: 12.5 }]);
  });

  it("reports every bad row and cell with its line", () => {
    const text = [
      header, // 1
      "AAA,A,Tech,Software,1e9,1e9,20,3,4,2025-06-30", // 2 ok
      "BBB,B,Tech,Software,-5,1e9,20,3,4,2025-06-30", // 3 market cap not positive
      "CCC,C,Tech,Software,1e9,1e9,n/a,3,4,2025-06-30", // 4 P/E not a number
      "DDD,D,Tech,Software,1e9,1e9,20,3,4,2025-06-31", // 5 bad as_of
      "EEE,E,Tech,Software,1e9,1e9,20,3,4,", // 6 missing as_of
      ",F,Tech,Software,1e9,1e9,20,3,4,2025-06-30", // 7 missing symbol
      'GGG,"G\u0007",Tech,Software,1e9,1e9,20,inf,4,2025-06-30', // 8 control character, infinite P/S
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      { line: 3, column: "market_cap", reason: "market_cap -5 is not positive" },
      { line: 4, column: "pe_ratio", reason: 'pe_ratio "n/a" is not a number' },
      { line: 5, column: "as_of", reason: 'as_of "2025-06-31" is not a real calendar date' },
      { line: 6, column: "as_of", reason: "as_of is empty" },
      { line: 7, column: "symbol", reason: "symbol is empty" },
      { line: 8, column: "company_name", reason: "company_name contains a control character or line break" },
      { line: 8, column: "ps_ratio", reason: 'ps_ratio "inf" is not a finite number' },
    ]);
  });

  it("requires symbol and as_of and names unknown columns", () => {
    expect(errorsOf("symbol,name\nAAA,x\n")).toEqual([
      { line: 1, column: "name", reason: expect.stringContaining('unknown column "name"') },
      { line: 1, column: "as_of", reason: 'required column "as_of" is missing from the header' },
    ]);
  });

  it("keeps an identical repeat once and refuses a second, different profile for a symbol", () => {
    expect(validateProfileCsv("symbol,as_of,pe_ratio\nAAA,2025-06-30,10\naaa,2025-06-30,10.0\n")).toMatchObject({
      ok: true,
      duplicateLines: [3],
    });
    expect(
      errorsOf("symbol,as_of,pe_ratio,sector\nAAA,2025-06-30,10,Tech\nBBB,2025-06-30,1,\nAAA,2025-07-31,10,\n"),
    ).toEqual([
      {
        line: 4,
        reason:
          "AAA already has a profile on line 2 with a different as_of, sector; a file holds one profile per symbol",
      },
    ]);
  });
});
