// The exposures page's exports and URL date (client/src/lib/csv.ts, lib/heatmap-grid.ts): the
// CSV's wide and long layouts with factor keys and names under a `# key: value` header block,
// numbers without binary noise, the PNG title and file names that name what is shown, and the
// slider's `date` in the URL (absent follows the latest; an unknown date falls back to the nearest),
// and the zoom that fits the heatmap to a printed page.
import { describe, expect, it } from "vitest";
import { cleanNumber, heatmapCsvHeader, heatmapExportCsv } from "../../../client/src/lib/csv.ts";
import {
  dateParam,
  fileSlug,
  followLatest,
  heatmapExportTitle,
  heatmapFileName,
  pinnedEnd,
} from "../../../client/src/lib/heatmap-grid.ts";
import { printZoom } from "../../../client/src/lib/print-fit.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";

const factors = [
  { key: "market_beta", name: "Market Beta" },
  { key: "value", name: "Value" },
];
const dates = ["2026-10-01", "2026-10-02"];
// Row 0 is a difference with binary noise (0.1 + 0.2), row 1 has a missing cell.
const values = [
  [0.1 + 0.2, 1.2 - 1.1],
  [null, -0.5],
];
const value = (row: number, column: number) => values[row]?.[column] ?? null;
const datesHeader = (layout: "wide" | "long") =>
  heatmapCsvHeader({
    layout,
    columnsAre: "dates",
    view: "active",
    portfolios: [{ id: "p-1", name: "Growth Tilt", benchmark: "SPY" }],
    dates,
    benchmarkChoice: "",
  });
const lines = (text: string) => text.trimEnd().split("\r\n");

describe("heatmap CSV", () => {
  it("opens with a header block naming portfolio, view, benchmark, dates and layout", () => {
    expect(datesHeader("wide")).toEqual([
      ["portfolio", "Growth Tilt (p-1)"],
      ["view", "active (portfolio minus benchmark)"],
      ["benchmark", "SPY"],
      ["dates", "2026-10-01 to 2026-10-02 (2 dates)"],
      ["layout", "wide (a row per factor; a column per date)"],
    ]);
  });

  it("lays out wide: a row per factor with key and name, a column per date, no float noise", () => {
    const text = heatmapExportCsv({
      layout: "wide",
      columnsAre: "dates",
      header: datesHeader("wide"),
      columns: dates.map((key) => ({ key })),
      factors,
      value,
    });
    expect(lines(text)).toEqual([
      "# portfolio: Growth Tilt (p-1)",
      "# view: active (portfolio minus benchmark)",
      "# benchmark: SPY",
      "# dates: 2026-10-01 to 2026-10-02 (2 dates)",
      "# layout: wide (a row per factor; a column per date)",
      "factor_key,factor_name,2026-10-01,2026-10-02",
      "market_beta,Market Beta,0.3,0.1",
      "value,Value,,-0.5",
    ]);
    // Comment lines aside, the table parses with one field per column.
    const table = parseCsv(lines(text).slice(5).join("\r\n")).records.map((record) => record.fields);
    expect(table.every((row) => row.length === 4)).toBe(true);
  });

  it("lays out long: a row per date and factor with key and name", () => {
    const text = heatmapExportCsv({
      layout: "long",
      columnsAre: "dates",
      header: datesHeader("long"),
      columns: dates.map((key) => ({ key })),
      factors,
      value,
    });
    expect(lines(text).slice(4)).toEqual([
      "# layout: long (a row per date and factor)",
      "date,factor_key,factor_name,value",
      "2026-10-01,market_beta,Market Beta,0.3",
      "2026-10-01,value,Value,",
      "2026-10-02,market_beta,Market Beta,0.1",
      "2026-10-02,value,Value,-0.5",
    ]);
  });

  it("with portfolios as columns, names each one's benchmark in the header and the long rows", () => {
    const portfolios = [
      { id: "p-1", name: "Growth Tilt", benchmark: "SPY" },
      { id: "p-2", name: "Small Cap", benchmark: "IWM" },
    ];
    const header = heatmapCsvHeader({
      layout: "long",
      columnsAre: "portfolios",
      view: "portfolio",
      portfolios,
      dates: ["2026-10-02"],
      benchmarkChoice: "",
    });
    expect(header).toEqual([
      ["portfolios", "Growth Tilt (p-1); Small Cap (p-2)"],
      ["view", "portfolio (the portfolio's exposures)"],
      ["benchmark", "each portfolio's own: Growth Tilt vs SPY; Small Cap vs IWM"],
      ["date", "2026-10-02"],
      ["layout", "long (a row per portfolio and factor)"],
    ]);
    const columns = portfolios.map((entry) => ({ key: entry.id, name: entry.name, benchmark: entry.benchmark }));
    const long = heatmapExportCsv({ layout: "long", columnsAre: "portfolios", header: [], columns, factors, value });
    expect(lines(long)).toEqual([
      "portfolio_id,portfolio_name,benchmark,factor_key,factor_name,value",
      "p-1,Growth Tilt,SPY,market_beta,Market Beta,0.3",
      "p-1,Growth Tilt,SPY,value,Value,",
      "p-2,Small Cap,IWM,market_beta,Market Beta,0.1",
      "p-2,Small Cap,IWM,value,Value,-0.5",
    ]);
    // Wide columns are headed by name; two portfolios of one name get their ids.
    const twins = [
      { key: "p-1", name: "Twin" },
      { key: "p-2", name: "Twin" },
    ];
    const wide = heatmapExportCsv({
      layout: "wide",
      columnsAre: "portfolios",
      header: [],
      columns: twins,
      factors,
      value,
    });
    expect(lines(wide)[0]).toBe("factor_key,factor_name,Twin (p-1),Twin (p-2)");
    const none = heatmapCsvHeader({
      ...{ layout: "wide", columnsAre: "portfolios", view: "portfolio" },
      portfolios,
      dates,
      benchmarkChoice: "none",
    });
    expect(none[2]).toEqual(["benchmark", "none"]);
  });

  it("quotes a header line with a comma as one field, and neutralises formula-like names", () => {
    const text = heatmapExportCsv({
      layout: "wide",
      columnsAre: "dates",
      header: [["portfolio", "Smith, Jones & Co (p-9)"]],
      columns: [{ key: "2026-10-01" }],
      factors: [{ key: "x", name: "=HYPERLINK(1)" }],
      value: () => -0.25,
    });
    expect(lines(text)).toEqual([
      '"# portfolio: Smith, Jones & Co (p-9)"',
      "factor_key,factor_name,2026-10-01",
      "x,'=HYPERLINK(1),-0.25",
    ]);
  });

  it("keeps 12 significant digits: noise goes, precision stays", () => {
    expect(cleanNumber(0.1 + 0.2)).toBe(0.3);
    expect(cleanNumber(1.2 - 1.1)).toBe(0.1);
    expect(cleanNumber(-0.123456789012345)).toBe(-0.123456789012);
    expect(cleanNumber(1e-20)).toBe(1e-20);
    expect(cleanNumber(Number.NaN)).toBeNull();
    expect(cleanNumber(null)).toBeNull();
  });
});

describe("export titles and file names", () => {
  const base = { subject: "Growth Tilt", columns: "dates" as const, benchmark: "SPY", choice: "" };
  const range = { from: "2026-10-01", to: "2026-11-30" };
  it("names the portfolio, the view with its benchmark, and the dates", () => {
    expect(heatmapExportTitle({ ...base, ...range, view: "active" })).toBe(
      "Growth Tilt — active vs SPY — 2026-10-01 to 2026-11-30",
    );
    expect(heatmapExportTitle({ ...base, ...range, view: "portfolio" })).toBe(
      "Growth Tilt — portfolio exposures (benchmark SPY) — 2026-10-01 to 2026-11-30",
    );
    expect(heatmapExportTitle({ ...base, ...range, view: "benchmark" })).toBe(
      "Growth Tilt — benchmark exposures (SPY) — 2026-10-01 to 2026-11-30",
    );
    expect(heatmapExportTitle({ ...base, ...range, view: "portfolio", benchmark: null, choice: "none" })).toBe(
      "Growth Tilt — portfolio exposures (no benchmark) — 2026-10-01 to 2026-11-30",
    );
    const all = { ...base, subject: "All portfolios (3)", columns: "portfolios" as const, from: "2026-11-30" };
    expect(heatmapExportTitle({ ...all, to: "2026-11-30", view: "active" })).toBe(
      "All portfolios (3) — active vs each one's own benchmark — 2026-11-30",
    );
    expect(heatmapExportTitle({ ...all, to: "2026-11-30", view: "active", choice: "QQQ" })).toBe(
      "All portfolios (3) — active vs QQQ — 2026-11-30",
    );
  });

  it("puts subject, view and dates in file names", () => {
    expect(fileSlug("Growth Tilt (US)", "p-1")).toBe("growth-tilt-us");
    expect(fileSlug("Été 2026", "p-1")).toBe("ete-2026");
    expect(fileSlug("★★", "p-1")).toBe("p-1");
    expect(heatmapFileName("growth-tilt", "active", ["2026-10-01", "2026-11-30"], "-wide.csv")).toBe(
      "heatmap-growth-tilt-active-2026-10-01-2026-11-30-wide.csv",
    );
    expect(heatmapFileName("all-portfolios", "portfolio", ["2026-11-30"], ".png")).toBe(
      "heatmap-all-portfolios-portfolio-2026-11-30.png",
    );
  });
});

describe("the slider's date in the URL", () => {
  const loaded = ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06"];
  it("follows the latest date without one, and pins a loaded date", () => {
    expect(pinnedEnd(loaded, undefined)).toEqual({ end: followLatest, note: null });
    expect(pinnedEnd(loaded, "")).toEqual({ end: followLatest, note: null });
    expect(pinnedEnd(loaded, "2026-10-02")).toEqual({ end: 1, note: null });
    expect(pinnedEnd(loaded, "2026-10-06")).toEqual({ end: 3, note: null });
  });

  it("falls back to the nearest loaded date with a note (the earlier of two as near)", () => {
    expect(pinnedEnd(loaded, "2026-10-04")).toEqual({
      end: 3 - 1,
      note: "2026-10-04 has no computed exposures: showing the nearest loaded date, 2026-10-05.",
    });
    expect(pinnedEnd(loaded, "2026-10-03").end).toBe(1);
    expect(pinnedEnd(loaded, "2020-01-01").end).toBe(0);
    expect(pinnedEnd(loaded, "2030-01-01").end).toBe(3);
    expect(pinnedEnd(loaded, "2030-01-01").note).toContain("2026-10-06");
  });

  it("ignores what is not a date, with a note, and says nothing before dates load", () => {
    expect(pinnedEnd(loaded, "yesterday")).toEqual({
      end: followLatest,
      note: '"yesterday" in the address is not a date (YYYY-MM-DD): showing the latest.',
    });
    expect(pinnedEnd(loaded, "2026-13-45").end).toBe(followLatest);
    expect(pinnedEnd([], "2026-10-04")).toEqual({ end: followLatest, note: null });
  });

  it("writes the date the slider moved to, and removes it at the latest date", () => {
    expect(dateParam(loaded, 1)).toBe("2026-10-02");
    expect(dateParam(loaded, 0)).toBe("2026-10-01");
    expect(dateParam(loaded, 3)).toBeNull();
    expect(dateParam(loaded, followLatest)).toBeNull();
    // A round trip: the written date pins the same index.
    for (let index = 0; index < loaded.length - 1; index++)
      expect(pinnedEnd(loaded, dateParam(loaded, index) ?? undefined).end).toBe(index);
  });
});

describe("the heatmap on paper", () => {
  it("zooms wide content down to the page, never up, and leaves it when a width is unknown", () => {
    expect(printZoom(1000, 2000)).toBe(0.5);
    expect(printZoom(676, 1021)).toBe(0.662);
    expect(printZoom(1000, 800)).toBe(1);
    expect(printZoom(0, 800)).toBe(1);
    expect(printZoom(1000, 0)).toBe(1);
  });
});
