// The heatmap's clarity pass (issue 20) in Chromium at 1280 and 390 px: each row label explains
// its factor (description, method, inputs, window, what 1.0 means) on hover and on keyboard
// focus; the legend names the scale's mode and the unit; the default colours are each factor's
// fixed scale (the Universe's), "Per row" rescales each row to its own largest |value| (read
// from the canvas pixels) and the URL keeps the mode across a reload; a 120-date window draws no
// numbers in cells too narrow for them; on a phone the page does not overflow, the columns
// scroll in a focusable region and the labels stay where they are. Expected numbers come from the API.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Factor } from "../../client/src/api/types.ts";
import { divergingScale, factorScale, type Rgb } from "../../client/src/lib/scale.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";
import { heatmapCellPixel } from "./in-page.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let page: Page;
let errors: string[];
let portfolioId: string;
let exposures: ExposuresResponse;
let factors: Factor[];

/** The canvas pixel (RGB) near the left edge of a heatmap cell, clear of its printed number. */
const cellPixel = async (target: Page, row: number, column: number): Promise<Rgb> =>
  heatmapCellPixel(target, { row, column }, 0.08);

function expectColor(actual: Rgb, expected: Rgb, what: string): void {
  for (let channel = 0; channel < 3; channel++)
    expect(Math.abs(actual[channel]! - expected[channel]!), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(2);
}

const heatmap = () => page.getByTestId("heatmap");
const label = (name: string) => page.getByTestId("heatmap-row-labels").getByRole("button", { name, exact: true });

/** The explanation a label opened, checked against GET /factors: visible, and the label's accessible description. */
async function expectExplanation(name: string, factor: Factor): Promise<void> {
  const help = page.getByTestId("heatmap-row-help");
  await help.waitFor();
  const text = await help.innerText();
  expect(text).toContain(factor.name);
  expect(text).toContain(factor.description);
  expect(text).toContain("loading (β)");
  expect(text).toMatch(/goes with a 1 % move|move 1 % with it/);
  expect(text).toContain(`Trailing ${factor.window_days} calendar days`);
  expect(text).toContain(factor.input_symbol ?? factor.long_symbol ?? "");
  expect(text).toMatch(/Method\s/);
  // Screen readers get the same words: the label is described by the visible explanation.
  const describedBy = await label(name).getAttribute("aria-describedby");
  expect(await help.getAttribute("id")).toBe(describedBy);
  expect(await label(name).getAttribute("aria-expanded")).toBe("true");
}

/**
 * Numbers are printed exactly when a cell is as wide as the widest number needs (the measured
 * width the chart exposes), so they never overlap; when not, the note says where the values are.
 */
async function expectNumbersFit(columns: number): Promise<"shown" | "hidden"> {
  await expect.poll(() => heatmap().getAttribute("data-numbers")).toMatch(/^(shown|hidden)$/);
  const shown = (await heatmap().getAttribute("data-numbers")) as "shown" | "hidden";
  const need = Number(await heatmap().getAttribute("data-number-width"));
  expect(need).toBeGreaterThan(20);
  const cell = Number(((await heatmap().getAttribute("data-plot-box")) ?? "").split(",")[2]) / columns;
  // Cell edges snap to whole device pixels and lose a 1 px gap: 2 px of slack either way.
  if (shown === "shown") expect(cell).toBeGreaterThanOrEqual(need - 2);
  else {
    expect(cell).toBeLessThan(need + 2);
    expect(await page.getByTestId("heatmap-numbers-note").innerText()).toContain("too narrow for numbers");
  }
  if (shown === "shown") expect(await page.getByTestId("heatmap-numbers-note").count()).toBe(0);
  return shown;
}

beforeAll(async () => {
  browser = await launchBrowser();
  const token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  portfolioId = portfolios[0]!.id;
  exposures = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolioId}/exposures`);
  factors = (await apiJson<{ factors: Factor[] }>(baseUrl, token, "/factors")).factors;
  expect(exposures.dates.length).toBeGreaterThan(20);
  const context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/#token=${token}`);
  await heatmap().locator("canvas").waitFor();
});

afterAll(async () => {
  await browser?.close();
});

describe("the heatmap at 1280 px", () => {
  it("explains a factor on its label's hover and keyboard focus, and the legend states the unit", async () => {
    await page.goto(`${baseUrl}/?portfolio=${portfolioId}`);
    await heatmap().locator("canvas").waitFor();
    const value = factors.find((factor) => factor.key === "value")!;
    const market = factors.find((factor) => factor.key === "market_beta")!;
    const legend = page.getByTestId("heatmap-legend");
    expect(await legend.getAttribute("data-scale-mode")).toBe("fixed");
    expect(await page.getByTestId("legend-unit").innerText()).toMatch(/Fixed.*regression loading \(β\)/);
    expect(await legend.innerText()).toContain(`${market.name} ±2`);
    expect(await page.getByTestId("heatmap-row-help").count()).toBe(0);

    await label(value.name).hover();
    await expectExplanation(value.name, value);
    await page.mouse.move(5, 5);
    await expect.poll(() => page.getByTestId("heatmap-row-help").count()).toBe(0);

    // One tab stop for the labels; arrow keys move between them, each opening its own explanation.
    await label(market.name).focus();
    await expectExplanation(market.name, market);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain(value.name);
    await expectExplanation(value.name, value);
    expect(await label(market.name).getAttribute("tabindex")).toBe("-1");
    // Escape closes it (WCAG 1.4.13), focus staying on the label.
    await page.keyboard.press("Escape");
    expect(await page.getByTestId("heatmap-row-help").count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain(value.name);
  });

  it("colours by each factor's fixed scale, and per row after the switch, which the URL keeps", async () => {
    const last = exposures.dates.length - 1;
    const row = exposures.factors.findIndex((factor) => factor.key === "value");
    const series = exposures.factors[row]!.portfolio;
    const cell = series[last]!;
    expect(await heatmap().getAttribute("data-row-extents")).toBe(
      exposures.factors.map((factor) => factorScale(factor.key).extent).join("|"),
    );
    const fixed = await cellPixel(page, row, 19);
    expectColor(fixed, factorScale("value").color(cell), "fixed");
    expect(await heatmap().getAttribute("data-numbers")).toBe("shown");

    await page.getByRole("radio", { name: "Per row" }).click();
    await expect.poll(() => heatmap().getAttribute("data-scale-mode")).toBe("row");
    expect(new URL(page.url()).searchParams.get("scale")).toBe("row");
    const rowScale = divergingScale(series);
    const extents = ((await heatmap().getAttribute("data-row-extents")) ?? "").split("|").map(Number);
    expect(extents[row]).toBeCloseTo(rowScale.extent, 12);
    const perRow = await cellPixel(page, row, 19);
    expectColor(perRow, rowScale.color(cell), "per row");
    // The style row is stronger against its own extent than on the shared ±1.
    expect(Math.abs(perRow[0] - fixed[0]) + Math.abs(perRow[1] - fixed[1])).toBeGreaterThan(20);
    expect(await page.getByTestId("legend-unit").innerText()).toMatch(/^Per row/);

    await page.reload();
    await heatmap().locator("canvas").waitFor();
    expect(await heatmap().getAttribute("data-scale-mode")).toBe("row");
    expect(await page.getByRole("radio", { name: "Per row" }).getAttribute("aria-checked")).toBe("true");
    expectColor(await cellPixel(page, row, 19), rowScale.color(cell), "per row after reload");
    await screenshot(page, "clarity-heatmap-1280");
  });

  it("at 120 dates prints numbers only in cells wide enough for them, the tooltip keeping every value", async () => {
    await page.getByLabel("Window", { exact: true }).selectOption("120");
    const columns = Math.min(120, exposures.dates.length);
    await expect
      .poll(() =>
        heatmap()
          .getAttribute("data-columns")
          .then((v) => v?.split("|").length),
      )
      .toBe(columns);
    await expectNumbersFit(columns);
    // The values stay in the tooltip: hover the last cell.
    const box = ((await heatmap().getAttribute("data-plot-box")) ?? "").split(",").map(Number);
    const bounds = (await heatmap().boundingBox())!;
    await page.mouse.move(bounds.x + box[0]! + box[2]! - 2, bounds.y + box[1]! + 5);
    await page.getByRole("tooltip").waitFor();
    expect(await page.getByTestId("tooltip-value").innerText()).toMatch(/^[+−]?\d\.\d{3}$/);
    await page.mouse.move(5, 5);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await screenshot(page, "clarity-heatmap-1280-120");
    await page.getByLabel("Window", { exact: true }).selectOption("20");
  });
});

describe("the heatmap at 390 px", () => {
  it("fits the page, scrolls its columns in a focusable region under labels that stay put", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/?portfolio=${portfolioId}&scale=row`);
    await heatmap().locator("canvas").waitFor();
    await expect.poll(() => heatmap().getAttribute("data-numbers")).toBe("shown");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const region = page.getByRole("region", { name: /the columns scroll sideways/ });
    expect(await region.getAttribute("tabindex")).toBe("0");
    expect(await region.getAttribute("data-overflowing")).toBe("true");
    // It opens on the newest dates (scrolled to the right end).
    const scroll = () =>
      region.evaluate((element) => ({
        left: element.scrollLeft,
        max: element.scrollWidth - element.clientWidth,
      }));
    const start = await scroll();
    expect(start.max).toBeGreaterThan(100);
    expect(start.left).toBeGreaterThanOrEqual(start.max - 1);

    const name = factors.find((factor) => factor.key === "growth")!.name;
    const before = (await label(name).boundingBox())!;
    const chartBefore = (await heatmap().boundingBox())!;
    // Keyboard scrolling: the region takes focus, and arrow keys scroll it.
    await region.focus();
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowLeft");
    await expect.poll(async () => (await scroll()).left).toBeLessThan(start.left - 100);
    const after = (await label(name).boundingBox())!;
    const chartAfter = (await heatmap().boundingBox())!;
    expect(chartAfter.x).toBeGreaterThan(chartBefore.x + 100);
    expect(after.x).toBeCloseTo(before.x, 0);
    expect(after.x).toBeGreaterThanOrEqual(0);
    // Nothing is painted over the label: the element at its centre is the label.
    const onTop = await page.evaluate(
      ([x, y]) => document.elementFromPoint(x, y)?.closest("button")?.textContent ?? null,
      [after.x + after.width / 2, after.y + after.height / 2] as const,
    );
    expect(onTop).toContain(name);
    await screenshot(page, "clarity-heatmap-390");
  });

  it("explains a factor on the phone too (focus, and hover), inside the screen", async () => {
    const growth = factors.find((factor) => factor.key === "growth")!;
    await label(growth.name).focus();
    await expectExplanation(growth.name, growth);
    const help = (await page.getByTestId("heatmap-row-help").boundingBox())!;
    expect(help.x).toBeGreaterThanOrEqual(0);
    expect(help.x + help.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-heatmap-390-help");
    await label(growth.name).blur();
    const size = factors.find((factor) => factor.key === "size")!;
    await label(size.name).hover();
    await expectExplanation(size.name, size);
    await page.mouse.move(5, 5);
    await expect.poll(() => page.getByTestId("heatmap-row-help").count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("at 120 dates draws colour-only columns without numbers, still within the screen", async () => {
    await page.getByLabel("Window", { exact: true }).selectOption("120");
    const columns = Math.min(120, exposures.dates.length);
    await expect
      .poll(() =>
        heatmap()
          .getAttribute("data-columns")
          .then((v) => v?.split("|").length),
      )
      .toBe(columns);
    // More than 20 columns on a phone: too narrow for numbers whatever the data (at most 6 px each needed).
    expect(await expectNumbersFit(columns)).toBe("hidden");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-heatmap-390-120");
  });
});
