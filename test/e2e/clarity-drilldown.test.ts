// The drill-down as an analyst uses it (issue 20), in Chromium at 1280 and 390 px: it opens in
// view with focus on its heading; an option shows its delta-adjusted weight beside the notional
// one; a cash row and totals reconcile the weights with equity and the contributions with the
// cell; every column sorts (aria-sort), a filter hides rows and says so; the CSV has a header
// block, the cash and total rows and no float noise; on a phone the table scrolls sideways in
// its own focusable region to its last column while the page does not. Numbers come from the API.
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatPercent } from "../../client/src/lib/format.ts";
import { parseCsv } from "../../worker/market-data/csv.ts";
import type { DrillDownResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let token: string;
let factors: { key: string; name: string }[];
/** A portfolio holding an option with a beta for the first factor. */
let portfolioId: string;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  factors = (await apiJson<{ factors: { key: string; name: string }[] }>(baseUrl, token, "/factors")).factors;
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  for (const { id } of portfolios) {
    const drill = await apiJson<DrillDownResponse>(
      baseUrl,
      token,
      `/portfolios/${id}/exposures/stocks?factor=${factors[0]!.key}`,
    );
    if (drill.rows.some((row) => row.instrument === "option")) {
      portfolioId = id;
      break;
    }
  }
  expect(portfolioId).toBeDefined();
});

afterAll(async () => {
  await browser?.close();
});

/**
 * Opens the heatmap of the portfolio and drills down from the keyboard (the focused cell:
 * first factor, last date); returns the API's answer for the cell the heading names.
 */
async function openDrillDown(page: Page): Promise<DrillDownResponse> {
  await page.goto(`${baseUrl}/?portfolio=${portfolioId}#token=${token}`);
  const heatmap = page.getByTestId("heatmap");
  await heatmap.locator("canvas").waitFor();
  await heatmap.focus();
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  await page.getByTestId("drill-down-table").waitFor();
  const heading = await page.getByRole("region", { name: "Drill-down" }).getByRole("heading").innerText();
  const [factorName, , date] = heading.split(" · ");
  const factor = factors.find((entry) => entry.name === factorName);
  expect(factor, heading).toBeDefined();
  return apiJson<DrillDownResponse>(
    baseUrl,
    token,
    `/portfolios/${portfolioId}/exposures/stocks?factor=${factor!.key}&date=${date}`,
  );
}

/** Waits until the smooth scroll has settled, then whether the heading is inside the viewport. */
async function headingInView(page: Page): Promise<boolean> {
  const heading = page.getByRole("region", { name: "Drill-down" }).getByRole("heading");
  let last = -1;
  await expect
    .poll(async () => {
      const y = await page.evaluate(() => window.scrollY);
      const settled = y === last;
      last = y;
      return settled;
    })
    .toBe(true);
  const box = (await heading.boundingBox())!;
  const height = page.viewportSize()!.height;
  return box.y >= 0 && box.y + box.height <= height;
}

const holdingWeights = (page: Page) =>
  page
    .getByTestId("drill-down-holdings")
    .locator("td[data-weight]")
    .evaluateAll((cells) => cells.map((cell) => Number((cell as HTMLElement).dataset["weight"])));

describe("the drill-down at 1280 px", () => {
  it("opens in view, reconciles weights and contributions, sorts, filters and exports a clean CSV", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchErrors(page);
    const drill = await openDrillDown(page);

    // In view, with focus on its heading; the page scrolled down to it.
    expect(await headingInView(page)).toBe(true);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    expect(
      await page.evaluate(
        () => document.activeElement?.closest(".drill-down") !== null && document.activeElement?.tagName,
      ),
    ).toBe("H2");

    // An option shows its notional weight and its delta-adjusted weight side by side.
    const option = drill.rows.find((row) => row.instrument === "option")!;
    const optionRow = page.locator(`tr[data-instrument=option][data-symbol="${option.symbol}"]`);
    expect(Number(await optionRow.locator("td[data-weight]").getAttribute("data-weight"))).toBeCloseTo(
      option.weight!,
      12,
    );
    expect(Number(await optionRow.locator("td[data-delta-weight]").getAttribute("data-delta-weight"))).toBeCloseTo(
      option.weight! * option.delta,
      12,
    );
    const optionText = await optionRow.innerText();
    expect(optionText).toContain(formatPercent(option.weight, 2));
    expect(optionText).toContain(formatPercent(option.weight! * option.delta, 2));

    // Cash row and totals: weights sum to 1 + options' notional beyond premium; contributions to the cell.
    const cashWeight = drill.cash / drill.equity;
    expect(await page.getByTestId("drill-down-cash").innerText()).toContain(formatPercent(cashWeight, 2));
    expect(await page.getByTestId("drill-down-cash").innerText()).toContain("no factor loading");
    const allWeights = 1 + (drill.options_notional - drill.options_premium) / drill.equity;
    expect(Number(await page.getByTestId("drill-down-total-weight").getAttribute("data-total"))).toBeCloseTo(
      allWeights,
      9,
    );
    expect(Number(await page.getByTestId("drill-down-total").getAttribute("data-total"))).toBeCloseTo(
      drill.exposure!,
      12,
    );
    expect(await page.getByTestId("drill-down-cell-value").innerText()).toContain(
      drill.exposure!.toFixed(4).replace("-", "\u2212"),
    );
    const note = await page.getByTestId("drill-down-weights-note").innerText();
    expect(note).toContain(`Weights sum to ${formatPercent(allWeights, 2)} of equity`);
    expect(note).toContain(`${formatPercent(cashWeight, 2)} cash`);
    expect(note).toContain("options count at their notional");

    // Sorting: Weight, largest first, then reversed; aria-sort follows.
    const weightHeader = page.locator("th", { has: page.locator("button[data-sort-key=weight]") });
    expect(await weightHeader.getAttribute("aria-sort")).toBeNull();
    await page.locator("button[data-sort-key=weight]").click();
    expect(await weightHeader.getAttribute("aria-sort")).toBe("descending");
    const descending = await holdingWeights(page);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    await page.locator("button[data-sort-key=weight]").click();
    expect(await weightHeader.getAttribute("aria-sort")).toBe("ascending");
    const ascending = await holdingWeights(page);
    expect(ascending).toEqual([...descending].reverse());
    await page.locator("button[data-sort-key=symbol]").click();
    const symbols = await page
      .getByTestId("drill-down-holdings")
      .locator("tr")
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset["symbol"] ?? ""));
    expect(symbols).toEqual([...symbols].sort((a, b) => a.localeCompare(b, "en", { numeric: true })));

    // Filter by the option's underlying: only its rows remain, the totals stay those of all holdings.
    const expectedShown = drill.rows.filter(
      (row) => row.symbol.includes(option.beta_symbol) || row.beta_symbol.includes(option.beta_symbol),
    ).length;
    await page.getByLabel("Filter holdings").fill(option.beta_symbol);
    const shownRows = page.getByTestId("drill-down-holdings").locator("tr[data-symbol]");
    await expect.poll(() => shownRows.count()).toBe(expectedShown);
    expect(expectedShown).toBeLessThan(drill.rows.length);
    expect(await page.getByTestId("drill-down-filter-note").innerText()).toContain(
      `${expectedShown} of ${drill.rows.length} holdings`,
    );
    expect(await page.getByTestId("drill-down-filter-note").innerText()).toContain("totals are of all holdings");
    expect(Number(await page.getByTestId("drill-down-total").getAttribute("data-total"))).toBeCloseTo(
      drill.exposure!,
      12,
    );
    await screenshot(page, "clarity-drilldown-1280");

    // The CSV: header block, every holding (whatever the filter), the cash and total rows, rounded.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("region", { name: "Drill-down" }).getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const text = readFileSync((await download.path())!, "utf8");
    const rows = parseCsv(text).records.map((record) => record.fields);
    expect(rows[0]![0]).toBe("factor");
    expect(rows.find((fields) => fields[0] === "portfolio")![1]).toContain(portfolioId);
    expect(rows.find((fields) => fields[0] === "date")![1]).toBe(drill.date);
    expect(rows.find((fields) => fields[0] === "view")![1]).toContain("portfolio exposure");
    expect(rows.find((fields) => fields[0] === "precision")![1]).toContain("6 decimals");
    expect(rows.filter((fields) => fields[0] === "holding")).toHaveLength(drill.rows.length);
    const cash = rows.find((fields) => fields[0] === "cash")!;
    expect(Number(cash[6])).toBe(Number(cashWeight.toFixed(6)));
    const total = rows.find((fields) => fields[0] === "total")!;
    expect(Number(total[6])).toBe(Number(allWeights.toFixed(6)));
    expect(Number(total[10])).toBeCloseTo(drill.exposure!, 5);
    const csvOption = rows.find((fields) => fields[0] === "holding" && fields[1] === option.symbol)!;
    expect(Number(csvOption[7])).toBe(Number((option.weight! * option.delta).toFixed(6)));
    // No float noise: each number within its stated precision (dollars 2 decimals, weights and
    // deltas 6 decimals, betas and contributions 6 significant digits).
    const decimals = (field: string) => (field.split(".")[1] ?? "").replace(/e.*$/, "").length;
    const significant = (field: string) => field.replace(/e.*$/, "").replace(/[-.]/g, "").replace(/^0+/, "").length;
    for (const fields of rows.filter((entry) => ["holding", "cash", "total"].includes(entry[0]!))) {
      for (const index of [5, 11]) expect(decimals(fields[index]!)).toBeLessThanOrEqual(2);
      for (const index of [6, 7, 8]) expect(decimals(fields[index]!)).toBeLessThanOrEqual(6);
      for (const index of [9, 10]) expect(significant(fields[index]!)).toBeLessThanOrEqual(6);
    }

    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the drill-down at 390 px", () => {
  it("fits the page and scrolls its table sideways in a focusable region to the last column", async () => {
    const context = await newContext(browser, { width: 390, height: 844 });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const drill = await openDrillDown(page);
    expect(await headingInView(page)).toBe(true);

    // The page itself does not overflow sideways; the table's region does.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const region = page.getByRole("region", { name: /Drill-down holdings table/ });
    expect(await region.getAttribute("tabindex")).toBe("0");
    const overflow = await region.evaluate((element) => element.scrollWidth - element.clientWidth);
    expect(overflow).toBeGreaterThan(0);

    // The option's two weights are both on screen next to the pinned symbol.
    const option = drill.rows.find((row) => row.instrument === "option")!;
    const optionRow = page.locator(`tr[data-instrument=option][data-symbol="${option.symbol}"]`);
    const deltaWeight = (await optionRow.locator("td[data-delta-weight]").boundingBox())!;
    expect(deltaWeight.x + deltaWeight.width).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-drilldown-390");

    // From the keyboard: focus the region and scroll right to the last column.
    await region.focus();
    for (let i = 0; i < 40; i++) await page.keyboard.press("ArrowRight");
    await expect.poll(() => region.evaluate((element) => element.scrollLeft)).toBeGreaterThan(0);
    await region.evaluate((element) => {
      element.scrollLeft = element.scrollWidth;
    });
    const lastHeader = page.locator("button[data-sort-key=instrument]");
    const regionBox = (await region.boundingBox())!;
    const lastBox = (await lastHeader.boundingBox())!;
    expect(lastBox.x).toBeGreaterThanOrEqual(regionBox.x);
    expect(lastBox.x + lastBox.width).toBeLessThanOrEqual(regionBox.x + regionBox.width + 1);
    // The symbol column stays pinned at the region's left edge.
    const symbolBox = (await optionRow.locator("th").boundingBox())!;
    expect(Math.abs(symbolBox.x - regionBox.x)).toBeLessThanOrEqual(2);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-drilldown-390-scrolled");

    expect(errors).toEqual([]);
    await context.close();
  });
});
