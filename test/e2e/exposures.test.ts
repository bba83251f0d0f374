// The exposures page in Chromium against the running stack: sign-in, the heatmap's colours read
// from its canvas pixels, the portfolio / benchmark / active toggle, the time slider and play,
// the drill-down summing to its cell, PNG and CSV downloads, each portfolio column's own
// benchmark, the views without a benchmark, and a batch run started from the Batch page
// updating the open heatmap without a reload. Expected numbers come from the API.
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatExposure, formatPercent } from "../../client/src/lib/format.ts";
import { cleanNumber } from "../../client/src/lib/csv.ts";
import { fileSlug } from "../../client/src/lib/heatmap-grid.ts";
import { factorScale } from "../../client/src/lib/scale.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";
import { heatmapCellPixel } from "./in-page.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
let portfolioId: string;
let portfolioName: string;
let exposures: ExposuresResponse;

interface Cell {
  row: number;
  column: number;
}

/** The canvas pixel (RGB) at a point inside a heatmap cell, away from its printed value. */
const cellPixel = (target: Page, cell: Cell) => heatmapCellPixel(target, cell, 0.15);

async function heatmapColumns(target: Page): Promise<string[]> {
  return ((await target.getByTestId("heatmap").getAttribute("data-columns")) ?? "").split("|");
}

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string; name: string }[] }>(baseUrl, token, "/portfolios");
  portfolioId = portfolios[0]!.id;
  portfolioName = portfolios[0]!.name;
  exposures = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolioId}/exposures`);
  expect(exposures.dates.length).toBeGreaterThan(20);
  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
});

afterAll(async () => {
  await browser?.close();
});

describe("signing in", () => {
  it("asks for a token, refuses a malformed one, and opens the heatmap with a valid one", async () => {
    await page.goto(`${baseUrl}/`);
    const field = page.getByLabel("Token");
    await field.fill("not a token");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByText("This token cannot be used: a JWT has three dot-separated parts.").isVisible()).toBe(
      true,
    );
    await screenshot(page, "sign-in");
    await field.fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    expect(await page.getByRole("heading", { name: "Exposures", level: 1 }).isVisible()).toBe(true);
  });

  it("signs in from the link `npm start` prints and removes the token from the address bar", async () => {
    const fresh = await newContext(browser);
    const other = await fresh.newPage();
    await other.goto(`${baseUrl}/universe#token=${token}`);
    await other.getByRole("heading", { name: "Universe", level: 1 }).waitFor();
    expect(new URL(other.url()).hash).toBe("");
    await fresh.close();
  });

  it("goes back to sign-in with the reason when the API refuses the token (401)", async () => {
    const forged = await tokenFor("a-different-secret-that-the-worker-does-not-know-0123456789");
    const fresh = await newContext(browser);
    const other = await fresh.newPage();
    await other.goto(`${baseUrl}/#token=${forged}`);
    await other.getByText("The service refused the token").waitFor();
    expect(await other.getByLabel("Token").isVisible()).toBe(true);
    await fresh.close();
  });
});

describe("the heatmap", () => {
  it("paints each cell in the diverging colour of its value (read from the canvas)", async () => {
    await page.goto(`${baseUrl}/?portfolio=${portfolioId}`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    const columns = await heatmapColumns(page);
    const last = exposures.dates.length - 1;
    expect(columns).toEqual(exposures.dates.slice(last - 19));
    // The default scale is the factor's fixed one (the Universe's colours): one colour per value everywhere.
    const colorOf = (cell: { row: number; value: number }) =>
      factorScale(exposures.factors[cell.row]!.key).color(cell.value);
    // The last date's market beta (the largest, green), the most negative value in view (red),
    // and the value closest to 0 (near white).
    const window = exposures.factors.flatMap((factor, row) =>
      factor.portfolio.slice(last - 19).map((value, column) => ({ row, column, value })),
    );
    const present = window.filter(
      (cell): cell is { row: number; column: number; value: number } => cell.value !== null,
    );
    const mostNegative = present.reduce((a, b) => (b.value < a.value ? b : a));
    const nearZero = present.reduce((a, b) => (Math.abs(b.value) < Math.abs(a.value) ? b : a));
    const market = { row: 0, column: 19, value: exposures.factors[0]!.portfolio[last]! };
    expect(mostNegative.value).toBeLessThan(0);
    for (const cell of [market, mostNegative, nearZero]) {
      const expected = colorOf(cell);
      // Polled: the chart redraws when its box settles (labels measured, a scroll bar appearing).
      let actual: readonly number[] = [];
      await expect
        .poll(
          async () => {
            actual = await cellPixel(page, cell);
            return Math.max(...expected.map((value, channel) => Math.abs((actual[channel] ?? -1) - value)));
          },
          { message: `cell ${cell.row},${cell.column} (${cell.value}): ${actual} vs ${expected}`, timeout: 5_000 },
        )
        .toBeLessThanOrEqual(2);
    }
    // Green for positive, red for negative: the sign is in the hue.
    const green = await cellPixel(page, market);
    expect(green[1]).toBeGreaterThan(green[0]);
    const red = await cellPixel(page, mostNegative);
    expect(red[0]).toBeGreaterThan(red[1]);
    await screenshot(page, "exposures");
    // Nothing is wider than the window, at 1280 px and at 420 px.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await page.setViewportSize({ width: 420, height: 800 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await screenshot(page, "exposures-narrow");
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.waitForTimeout(300);
  });

  it("shows value, coverage and R² on hover", async () => {
    const heatmap = page.getByTestId("heatmap");
    const box = (await heatmap.getAttribute("data-plot-box"))!.split(",").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const bounds = (await heatmap.boundingBox())!;
    await page.mouse.move(bounds.x + box[0] + box[2] * (19.5 / 20), bounds.y + box[1] + box[3] * (0.5 / 12));
    const tooltip = page.getByRole("tooltip");
    await tooltip.waitFor();
    const text = await tooltip.innerText();
    const last = exposures.dates.length - 1;
    expect(text).toContain(exposures.factors[0]!.name);
    expect(text).toContain(exposures.dates[last]!);
    expect(await page.getByTestId("tooltip-value").innerText()).toBe(
      formatExposure(exposures.factors[0]!.portfolio[last]),
    );
    expect(text).toMatch(/Coverage\s+\d+\.\d%/);
    expect(text).toMatch(/R² \(benchmark\)\s+\d+\.\d%/);
    expect(await page.getByTestId("tooltip-r-squared").innerText()).toBe(
      formatPercent(exposures.factors[0]!.r_squared[last]),
    );
    expect(exposures.factors[0]!.r_squared[last]).not.toBeNull();
    // The exposure lines follow the heatmap's cursor (uPlot cursor sync): their readout shows the hovered date.
    await page.mouse.move(bounds.x + box[0] + box[2] * (10.5 / 20), bounds.y + box[1] + box[3] * (0.5 / 12));
    await expect.poll(() => page.locator(".readout caption").innerText()).toBe(exposures.dates[last - 19 + 10]);
    await page.mouse.move(0, 0);
  });

  it("is reachable from the keyboard: arrows move between cells, Enter drills down", async () => {
    const last = exposures.dates.length - 1;
    await page.getByTestId("heatmap").focus();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowDown");
    expect(await page.getByTestId("tooltip-value").innerText()).toBe(
      formatExposure(exposures.factors[1]!.portfolio[last - 1]),
    );
    await page.keyboard.press("Enter");
    const heading = page.getByRole("region", { name: "Drill-down" }).getByRole("heading");
    await expect.poll(() => heading.innerText()).toContain(`${exposures.factors[1]!.name} · `);
    expect(await heading.innerText()).toContain(exposures.dates[last - 1]);
    await page.getByRole("button", { name: "Close the drill-down" }).click();
  });

  it("switches between portfolio, benchmark and active values", async () => {
    await page.getByRole("button", { name: "Show table" }).click();
    const table = page
      .getByRole("table")
      .filter({ has: page.getByRole("rowheader", { name: exposures.factors[1]!.name }) })
      .first();
    const last = exposures.dates.length - 1;
    const cellText = async () => (await table.getByRole("row").nth(2).getByRole("cell").last().innerText()).trim();
    const factor = exposures.factors[1]!;
    expect(await cellText()).toBe(formatExposure(factor.portfolio[last]));
    await page.getByRole("radio", { name: "Benchmark" }).click();
    await expect.poll(cellText).toBe(formatExposure(factor.benchmark[last]));
    expect(new URL(page.url()).searchParams.get("view")).toBe("benchmark");
    await page.getByRole("radio", { name: "Active" }).click();
    await expect.poll(cellText).toBe(formatExposure(factor.active[last]));
    expect(factor.active[last]).toBeCloseTo(factor.portfolio[last]! - factor.benchmark[last]!, 12);
    // The active view's colours come from the same fixed scale of the factor.
    const pixel = await cellPixel(page, { row: 1, column: 19 });
    const expected = factorScale(factor.key).color(factor.active[last]);
    for (let channel = 0; channel < 3; channel++)
      expect(Math.abs(pixel[channel]! - expected[channel]!)).toBeLessThanOrEqual(2);
    await page.getByRole("radio", { name: "Portfolio", exact: true }).click();
    await page.getByRole("button", { name: "Hide table" }).click();
  });

  it("moves the window with the slider and plays it through time", async () => {
    const dates = exposures.dates;
    const last = dates.length - 1;
    const label = page.getByTestId("window-label");
    expect(await label.innerText()).toBe(`${dates[last - 19]} – ${dates[last]}`);
    const slider = page.getByLabel("Last date of the window");
    await slider.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
    await expect.poll(() => label.innerText()).toBe(`${dates[last - 22]} – ${dates[last - 3]}`);
    expect((await heatmapColumns(page))[0]).toBe(dates[last - 22]);
    await page.getByRole("button", { name: "Play" }).click();
    await expect.poll(() => label.innerText(), { timeout: 5_000 }).toBe(`${dates[last - 21]} – ${dates[last - 2]}`);
    await expect.poll(() => label.innerText(), { timeout: 5_000 }).toBe(`${dates[last - 19]} – ${dates[last]}`);
    // Playing stops at the last date.
    await page.getByRole("button", { name: "Play" }).waitFor();
  });

  it("drills down to the stocks behind a cell, whose contributions sum to it", async () => {
    const heatmap = page.getByTestId("heatmap");
    const box = (await heatmap.getAttribute("data-plot-box"))!.split(",").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const bounds = (await heatmap.boundingBox())!;
    const last = exposures.dates.length - 1;
    // Value (row 2) on the last date.
    await page.mouse.click(bounds.x + box[0] + box[2] * (19.5 / 20), bounds.y + box[1] + box[3] * (2.5 / 12));
    const table = page.getByTestId("drill-down-table");
    await table.waitFor();
    const cellValue = exposures.factors[2]!.portfolio[last]!;
    expect(await page.getByRole("region", { name: "Drill-down" }).getByRole("heading").innerText()).toContain(
      exposures.factors[2]!.name,
    );
    const contributions = (await table
      .locator("tbody td[data-contribution]")
      .evaluateAll((cells) => cells.map((cell) => Number((cell as HTMLElement).dataset["contribution"])))) as number[];
    expect(contributions.length).toBeGreaterThan(3);
    const sum = contributions.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(cellValue, 9);
    expect(Number(await page.getByTestId("drill-down-total").getAttribute("data-total"))).toBeCloseTo(cellValue, 12);
    // Sorted by the size of the contribution.
    const sizes = contributions.map(Math.abs);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    await screenshot(page, "exposures-drill-down");
    await page.getByRole("button", { name: "Close the drill-down" }).click();
  });

  it("downloads the heatmap's data as CSV and the chart as PNG", async () => {
    const last = exposures.dates.length - 1;
    const [csvDownload] = await Promise.all([
      page.waitForEvent("download"),
      (async () => {
        await page.getByText("Export CSV", { exact: true }).click();
        await page.getByRole("button", { name: "Long: a row per value" }).click();
      })(),
    ]);
    const slug = fileSlug(portfolioName, portfolioId);
    expect(csvDownload.suggestedFilename()).toBe(
      `heatmap-${slug}-portfolio-${exposures.dates[last - 19]}-${exposures.dates[last]}-long.csv`,
    );
    const lines = readFileSync((await csvDownload.path())!, "utf8")
      .trim()
      .split(/\r?\n/);
    // A header block of `# key: value` lines, then the table.
    const header = lines.filter((line) => line.startsWith("#"));
    expect(header.length).toBe(5);
    expect(lines[header.length]).toBe("date,factor_key,factor_name,value");
    expect(lines).toHaveLength(header.length + 1 + 20 * exposures.factors.length);
    const market = exposures.factors[0]!;
    const row = (date: string, factor: (typeof exposures.factors)[number], value: number | null) =>
      `${date},${factor.key},${factor.name},${cleanNumber(value) ?? ""}`;
    expect(lines).toContain(row(exposures.dates[last]!, market, market.portfolio[last] ?? null));
    const eleventh = exposures.factors[11]!;
    expect(lines).toContain(row(exposures.dates[last - 19]!, eleventh, eleventh.portfolio[last - 19] ?? null));

    const [pngDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export PNG" }).click(),
    ]);
    expect(pngDownload.suggestedFilename()).toMatch(/^heatmap-.*\.png$/);
    const png = readFileSync((await pngDownload.path())!);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const canvasSize = await page
      .getByTestId("heatmap")
      .locator("canvas")
      .evaluate((canvas) => [(canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height]);
    // IHDR: the chart's device pixels plus the title and legend strips.
    expect(png.readUInt32BE(16)).toBe(canvasSize[0]);
    expect(png.readUInt32BE(20)).toBeGreaterThan(canvasSize[1]!);
  });

  it("puts portfolios in columns on the slider's date, each against its own benchmark", async () => {
    await page.getByRole("radio", { name: "Portfolios" }).click();
    const { portfolios } = await apiJson<{ portfolios: { id: string; name: string; benchmark_symbol: string }[] }>(
      baseUrl,
      token,
      "/portfolios",
    );
    // Each column names the benchmark its numbers are against (the seed's Small Cap Tilt: IWM).
    expect(new Set(portfolios.map((entry) => entry.benchmark_symbol)).size).toBeGreaterThan(1);
    await expect
      .poll(() => heatmapColumns(page))
      .toEqual(portfolios.map((entry) => `${entry.name} · vs ${entry.benchmark_symbol}`));
    expect(await page.locator(".subtitle").innerText()).toContain("each against its own benchmark");
    expect(
      await page.getByRole("heading", { name: "Portfolio exposure by factor and portfolio", level: 2 }).innerText(),
    ).toContain("each against its own benchmark");
    const date = exposures.dates.at(-1)!;
    expect(await page.getByTestId("window-label").innerText()).toBe(date);
    // Each portfolio's market beta on that date, as the API has it.
    const expected = await Promise.all(
      portfolios.map(async (entry) => {
        const response = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${entry.id}/exposures`);
        const index = response.dates.indexOf(date);
        return formatExposure(index < 0 ? null : response.factors[0]!.portfolio[index]);
      }),
    );
    expect(expected.filter((text) => text !== "\u2014").length).toBeGreaterThan(1);
    await page.getByRole("button", { name: "Show table" }).click();
    const marketRow = page.locator(".heatmap-table tbody tr").first();
    await expect
      .poll(async () => (await marketRow.locator("td").allInnerTexts()).map((text) => text.trim()))
      .toEqual(expected);
    await page.getByRole("button", { name: "Hide table" }).click();
    await screenshot(page, "exposures-portfolios");
    await page.getByRole("radio", { name: "Dates" }).click();
  });

  it("turns the Benchmark and Active views off without a benchmark, and says why", async () => {
    await page.goto(`${baseUrl}/?portfolio=${portfolioId}&view=active`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    await page.getByLabel("Benchmark", { exact: true }).selectOption("none");
    // Active was shown: the Portfolio view replaces it, with the reason, instead of an all-grey grid.
    await expect.poll(() => page.getByRole("radio", { name: "Active" }).isDisabled()).toBe(true);
    expect(await page.getByRole("radio", { name: "Benchmark" }).isDisabled()).toBe(true);
    expect(await page.getByRole("radio", { name: "Portfolio", exact: true }).getAttribute("aria-checked")).toBe("true");
    expect(await page.getByTestId("view-note").innerText()).toBe(
      "No benchmark chosen, so portfolio exposures are shown: " +
        "choose a benchmark to see benchmark and active exposures.",
    );
    expect(await page.locator(".subtitle").innerText()).toContain("no benchmark");
    const last = exposures.dates.length - 1;
    await page.getByRole("button", { name: "Show table" }).click();
    const marketRow = page.locator(".heatmap-table tbody tr").first();
    await expect
      .poll(async () => (await marketRow.locator("td").last().innerText()).trim())
      .toBe(formatExposure(exposures.factors[0]!.portfolio[last]));
    await page.getByRole("button", { name: "Hide table" }).click();
    // The URL keeps the view asked for: choosing a benchmark again brings Active back.
    await page.getByLabel("Benchmark", { exact: true }).selectOption("");
    await expect.poll(() => page.getByRole("radio", { name: "Active" }).getAttribute("aria-checked")).toBe("true");
    expect(await page.getByTestId("view-note").count()).toBe(0);
    await page.getByRole("radio", { name: "Portfolio", exact: true }).click();
  });

  it("has no page errors", () => {
    expect(errors).toEqual([]);
  });
});
