// The exposures page as an analyst shares and keeps it (issue 20, points 7, 8, 10, 12): the
// choices and the slider's date restored from the URL after a reload, an unknown date falling
// back to the nearest with a note; CSV in wide and long layouts under a header naming what they
// hold, and a PNG whose title names portfolio, view, benchmark and dates; the printed page; a new
// portfolio's first start showing what computes it and then its history's progress, live, to an
// operator and to a viewer without RUN_BATCH; and a failed load retried, without a click, when the
// live connection comes back. Expected numbers come from the API.
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cleanNumber } from "../../client/src/lib/csv.ts";
import { fileSlug } from "../../client/src/lib/heatmap-grid.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";
import { dropLastSocket, keepSockets } from "./in-page.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
let portfolio: { id: string; name: string; benchmark_symbol: string };
/** A benchmark other than the portfolio's, offered by the picker. */
let other: string;
let exposures: ExposuresResponse;

/** The browser's own lines for requests the tests refuse or abort on purpose. */
const expectedNoise = (line: string) => /status of 503|ERR_INTERNET_DISCONNECTED|ERR_FAILED/.test(line);

async function heatmapColumns(target: Page): Promise<string[]> {
  return ((await target.getByTestId("heatmap").getAttribute("data-columns")) ?? "").split("|");
}

async function download(target: Page, click: () => Promise<void>): Promise<{ name: string; body: Buffer }> {
  const [file] = await Promise.all([target.waitForEvent("download"), click()]);
  return { name: file.suggestedFilename(), body: readFileSync((await file.path())!) };
}

const csvLines = (body: Buffer) => body.toString("utf8").trimEnd().split("\r\n");

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: (typeof portfolio)[] }>(baseUrl, token, "/portfolios");
  portfolio = portfolios[0]!;
  other = portfolios.map((entry) => entry.benchmark_symbol).find((symbol) => symbol !== portfolio.benchmark_symbol)!;
  expect(other).toBeTruthy();
  exposures = await apiJson<ExposuresResponse>(
    baseUrl,
    token,
    `/portfolios/${portfolio.id}/exposures?benchmark=${other}`,
  );
  expect(exposures.dates.length).toBeGreaterThan(22);
  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/?portfolio=${portfolio.id}#token=${token}`);
  await page.getByTestId("heatmap").locator("canvas").waitFor();
});

afterAll(async () => {
  await browser?.close();
});

describe("state in the URL", () => {
  it("restores portfolio, view, benchmark, window and the slider's date after a reload", async () => {
    const dates = exposures.dates;
    const last = dates.length - 1;
    // The slider first: with a 60-date window over fewer loaded dates it has nowhere to go.
    const slider = page.getByLabel("Last date of the window");
    await slider.focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowLeft");
    const label = page.getByTestId("window-label");
    const pinned = dates[last - 4]!;
    await expect.poll(() => new URL(page.url()).searchParams.get("date")).toBe(pinned);
    await page.getByRole("combobox", { name: "Window" }).selectOption("60");
    await page.getByRole("radio", { name: "Active" }).click();
    await page.getByRole("combobox", { name: "Benchmark" }).selectOption(other);
    const params = new URL(page.url()).searchParams;
    expect(Object.fromEntries(params)).toMatchObject({
      portfolio: portfolio.id,
      view: "active",
      benchmark: other,
      window: "60",
      date: pinned,
    });

    await page.reload();
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    await expect.poll(() => label.innerText()).toBe(`${dates[Math.max(0, last - 4 - 59)]} – ${pinned}`);
    expect(await page.getByRole("combobox", { name: "Window" }).inputValue()).toBe("60");
    expect(await page.getByRole("combobox", { name: "Benchmark" }).inputValue()).toBe(other);
    expect(await page.getByRole("radio", { name: "Active" }).getAttribute("aria-checked")).toBe("true");
    expect((await heatmapColumns(page)).at(-1)).toBe(pinned);
    await screenshot(page, "clarity-exposures-restored");

    // Back to the latest date: the URL drops `date` and follows the latest again.
    await page.getByRole("combobox", { name: "Window" }).selectOption("20");
    await slider.focus();
    await page.keyboard.press("End");
    await expect.poll(() => new URL(page.url()).searchParams.has("date")).toBe(false);
    expect((await heatmapColumns(page)).at(-1)).toBe(dates[last]);
  });

  it("falls back to the nearest loaded date, with a note, for a date the link has but the data does not", async () => {
    const dates = exposures.dates;
    // A day inside the range with no computed date (a weekend), nearer the earlier date.
    const index = dates.findIndex(
      (date, i) => i >= 19 && Date.parse(dates[i + 1] ?? date) - Date.parse(date) > 86_400_000,
    );
    expect(index).toBeGreaterThan(0);
    const gap = new Date(Date.parse(dates[index]!) + 86_400_000).toISOString().slice(0, 10);
    await page.goto(`${baseUrl}/?portfolio=${portfolio.id}&date=${gap}`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    const note = page.getByTestId("date-note");
    await expect
      .poll(() => note.innerText())
      .toBe(`${gap} has no computed exposures: showing the nearest loaded date, ${dates[index]}.`);
    expect(await page.getByTestId("window-label").innerText()).toBe(`${dates[index - 19]} – ${dates[index]}`);
    await page.setViewportSize({ width: 390, height: 800 });
    await page.waitForTimeout(300);
    const box = (await note.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-exposures-date-note-narrow");
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe("exports", () => {
  it("downloads CSV in wide and long layouts under a header naming what they hold", async () => {
    const dates = exposures.dates;
    const end = dates.length - 3;
    const shown = dates.slice(end - 19, end + 1);
    await page.goto(`${baseUrl}/?portfolio=${portfolio.id}&view=active&benchmark=${other}&date=${dates[end]}`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    const header = [
      `# portfolio: ${portfolio.name} (${portfolio.id})`,
      "# view: active (portfolio minus benchmark)",
      `# benchmark: ${other}`,
      `# dates: ${shown[0]} to ${shown[19]} (20 dates)`,
    ];
    const stem = `heatmap-${fileSlug(portfolio.name, portfolio.id)}-active-${shown[0]}-${shown[19]}`;
    const menu = page.getByText("Export CSV", { exact: true });

    await menu.click();
    await screenshot(page, "clarity-exposures-csv-menu");
    const wide = await download(page, () => page.getByRole("button", { name: "Wide: a row per factor" }).click());
    expect(wide.name).toBe(`${stem}-wide.csv`);
    const wideLines = csvLines(wide.body);
    expect(wideLines.slice(0, 5)).toEqual([...header, "# layout: wide (a row per factor; a column per date)"]);
    expect(wideLines[5]).toBe(`factor_key,factor_name,${shown.join(",")}`);
    expect(wideLines).toHaveLength(6 + exposures.factors.length);
    for (const [row, factor] of exposures.factors.entries()) {
      const fields = wideLines[6 + row]!.split(",");
      expect(fields.slice(0, 2)).toEqual([factor.key, factor.name]);
      expect(fields.slice(2)).toEqual(
        factor.active.slice(end - 19, end + 1).map((value) => String(cleanNumber(value) ?? "")),
      );
    }

    await menu.click();
    const long = await download(page, () => page.getByRole("button", { name: "Long: a row per value" }).click());
    expect(long.name).toBe(`${stem}-long.csv`);
    const longLines = csvLines(long.body);
    expect(longLines.slice(0, 6)).toEqual([
      ...header,
      "# layout: long (a row per date and factor)",
      "date,factor_key,factor_name,value",
    ]);
    expect(longLines).toHaveLength(6 + 20 * exposures.factors.length);
    const market = exposures.factors[0]!;
    expect(longLines).toContain(`${dates[end]},${market.key},${market.name},${cleanNumber(market.active[end]!)}`);
  });

  it("names each portfolio's benchmark when portfolios are the columns", async () => {
    const { portfolios } = await apiJson<{ portfolios: (typeof portfolio)[] }>(baseUrl, token, "/portfolios");
    await page.getByRole("radio", { name: "Portfolios" }).click();
    // Each portfolio's numbers against its own benchmark: the export waits for them (it is off while they load).
    const loads = portfolios.map((entry) =>
      page.waitForResponse((response) => {
        const url = new URL(response.url());
        return url.pathname.endsWith(`/portfolios/${entry.id}/exposures`) && !url.searchParams.has("benchmark");
      }),
    );
    await page.getByRole("combobox", { name: "Benchmark" }).selectOption("");
    await Promise.all(loads);
    const summary = page.locator(".export-menu summary");
    await expect.poll(() => summary.getAttribute("aria-disabled")).toBeNull();
    await page.getByText("Export CSV", { exact: true }).click();
    const long = await download(page, () => page.getByRole("button", { name: "Long: a row per value" }).click());
    expect(long.name).toMatch(/^heatmap-all-portfolios-active-\d{4}-\d{2}-\d{2}-long\.csv$/);
    const lines = csvLines(long.body);
    const benchmarkLine = lines.find((line) => line.startsWith("# benchmark: ") || line.startsWith('"# benchmark: '));
    expect(benchmarkLine).toContain(`${portfolio.name} vs ${portfolio.benchmark_symbol}`);
    expect(lines).toContain("portfolio_id,portfolio_name,benchmark,factor_key,factor_name,value");
    for (const entry of portfolios)
      expect(
        lines.some((line) => line.startsWith(`${entry.id},`) && line.includes(`,${entry.benchmark_symbol},`)),
      ).toBe(true);
    await page.getByRole("radio", { name: "Dates" }).click();
  });

  it("exports a PNG whose title names portfolio, view, benchmark and dates, drawn above the chart", async () => {
    const dates = exposures.dates;
    const end = dates.length - 3;
    await page.goto(`${baseUrl}/?portfolio=${portfolio.id}&view=active&benchmark=${other}&date=${dates[end]}`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    const button = page.getByRole("button", { name: "Export PNG" });
    const title = `${portfolio.name} — active vs ${other} — ${dates[end - 19]} to ${dates[end]}`;
    expect(await button.getAttribute("data-png-title")).toBe(title);
    const png = await download(page, () => button.click());
    expect(png.name).toBe(
      `heatmap-${fileSlug(portfolio.name, portfolio.id)}-active-${dates[end - 19]}-${dates[end]}.png`,
    );
    expect([...png.body.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const canvas = await page
      .getByTestId("heatmap")
      .locator("canvas")
      .evaluate((element) => [(element as HTMLCanvasElement).width, (element as HTMLCanvasElement).height]);
    expect(png.body.readUInt32BE(16)).toBe(canvas[0]);
    expect(png.body.readUInt32BE(20)).toBeGreaterThan(canvas[1]!);
    // The title strip (above the chart) has dark text pixels; the strip's right end, past the title, is blank.
    const ink = await page.evaluate(async (data) => {
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d")!;
      context.drawImage(image, 0, 0);
      const strip = Math.round(image.height * 0.03);
      const dark = (x0: number, x1: number) => {
        const pixels = context.getImageData(x0, 0, x1 - x0, strip).data;
        let count = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 90 && pixels[i + 1]! < 90) count++;
        return count;
      };
      return { left: dark(0, Math.round(image.width / 2)), right: dark(image.width - 20, image.width) };
    }, png.body.toString("base64"));
    expect(ink.left).toBeGreaterThan(200);
    expect(ink.right).toBe(0);
  });

  it("prints the heatmap, its legends and title without navigation, buttons or the slider", async () => {
    const pngTitle = await page.getByRole("button", { name: "Export PNG" }).getAttribute("data-png-title");
    await page.emulateMedia({ media: "print" });
    const title = page.locator(".print-title");
    expect(await title.isVisible()).toBe(true);
    expect(await title.innerText()).toBe(pngTitle);
    expect(await page.getByTestId("heatmap").locator("canvas").isVisible()).toBe(true);
    expect(await page.getByTestId("legend-indistinguishable").isVisible()).toBe(true);
    for (const hidden of [
      page.getByRole("navigation", { name: "Main" }),
      page.getByTestId("connection-state"),
      page.getByRole("button", { name: "Export PNG" }),
      page.getByLabel("Last date of the window"),
      page.getByRole("button", { name: "Show table" }),
    ])
      expect(await hidden.isVisible()).toBe(false);
    expect(await page.locator("h1").evaluate((element) => getComputedStyle(element).color)).toBe("rgb(0, 0, 0)");
    // Nothing cut at a page's width: the charts shrink to it.
    await page.setViewportSize({ width: 700, height: 900 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(700);
    // The heatmap's columns, which scroll sideways on screen, are zoomed to the page: the whole grid is there.
    const [inner, frame] = await Promise.all([
      page.locator(".heatmap-inner").boundingBox(),
      page.getByTestId("heatmap-scroll").boundingBox(),
    ]);
    expect(inner!.x).toBeGreaterThanOrEqual(frame!.x - 1);
    expect(inner!.x + inner!.width).toBeLessThanOrEqual(frame!.x + frame!.width + 1);
    for (const canvas of await page.locator("canvas").all()) {
      const box = await canvas.boundingBox();
      if (box) expect(box.x + box.width).toBeLessThanOrEqual(700);
    }
    await screenshot(page, "clarity-exposures-print");
    await page.emulateMedia({ media: "screen" });
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});

describe("first start", () => {
  it("says what computes a new portfolio, then shows its history's progress live to operator and viewer", async () => {
    const created = await apiJson<{ id: string }>(baseUrl, token, "/portfolios", {
      method: "POST",
      body: JSON.stringify({ name: "First start e2e", cash: 1_000, benchmark_symbol: "SPY" }),
    });
    const viewerToken = await tokenFor(secret, "demo", ["VIEW_FACTOR_ANALYTICS", "VIEW_ALL_POSITIONS"]);
    const viewerContext = await newContext(browser, { width: 390 });
    const viewer = await viewerContext.newPage();
    const viewerErrors = watchErrors(viewer);
    await page.goto(`${baseUrl}/?portfolio=${created.id}`);
    await viewer.goto(`${baseUrl}/?portfolio=${created.id}#token=${viewerToken}`);
    for (const target of [page, viewer]) {
      const idle = target.getByTestId("first-start");
      await idle.waitFor();
      expect(await idle.getAttribute("data-state")).toBe("idle");
      expect(await idle.innerText()).toMatch(/daily batch computes exposures on weekdays at 21:30 UTC/);
      await expect.poll(() => target.getByTestId("connection-state").innerText()).toBe("Live");
      // Every progress text the page shows, recorded as it renders.
      await target.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { e2eProgress: string[] }).e2eProgress = seen;
        new MutationObserver(() => {
          for (const element of document.querySelectorAll(
            "[data-testid=first-start-progress], [data-testid=history-progress]",
          )) {
            const text = (element as HTMLElement).innerText.trim();
            if (text && seen.at(-1) !== text) seen.push(text);
          }
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
    }
    expect(await page.getByRole("link", { name: /Batch page/ }).count()).toBe(1);
    expect(await viewer.getByRole("link", { name: /Batch page/ }).count()).toBe(0);
    await screenshot(page, "clarity-exposures-first-start");
    await screenshot(viewer, "clarity-exposures-first-start-viewer-narrow");

    // A position held since the demo's first date: the latest date at once, the earlier ones by a history run.
    const since = exposures.dates[0]!;
    await apiJson(baseUrl, token, `/portfolios/${created.id}/positions`, {
      method: "POST",
      body: JSON.stringify({ symbol: "SPY", instrument: "etf", quantity: 10, opened_on: since }),
    });
    const deadline = Date.now() + 120_000;
    let finalDates = 0;
    for (;;) {
      const { runs } = await apiJson<{ runs: { trigger: string; portfolio_id: string | null; status: string }[] }>(
        baseUrl,
        token,
        "/admin/batch/runs?limit=50",
      );
      const ours = runs.filter((run) => run.trigger === "portfolio" && run.portfolio_id === created.id);
      if (ours.length > 0 && ours.every((run) => run.status !== "queued" && run.status !== "running")) break;
      if (Date.now() > deadline) throw new Error(`the history run did not finish: ${JSON.stringify(ours)}`);
      await page.waitForTimeout(500);
    }
    finalDates = (await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${created.id}/exposures`)).dates.length;
    expect(finalDates).toBeGreaterThan(20);
    for (const target of [page, viewer]) {
      // The heatmap replaced the empty state without a reload, with every date, and the progress is gone.
      await target.getByTestId("heatmap").locator("canvas").waitFor({ timeout: 20_000 });
      await expect
        .poll(() => target.locator(".subtitle").innerText(), { timeout: 20_000 })
        .toContain(`${finalDates} dates loaded`);
      await expect.poll(() => target.getByTestId("history-progress").count(), { timeout: 20_000 }).toBe(0);
      const seen = await target.evaluate(() => (window as unknown as { e2eProgress: string[] }).e2eProgress);
      // The progress was shown while the run went on, counting dates of the run's total.
      expect(seen.length, `progress seen: ${JSON.stringify(seen)}`).toBeGreaterThan(0);
      expect(seen.every((text) => /\d+ of \d+ dates/.test(text))).toBe(true);
    }
    await screenshot(viewer, "clarity-exposures-first-start-done-narrow");
    expect(viewerErrors).toEqual([]);
    await viewerContext.close();
    await apiJson(baseUrl, token, `/portfolios/${created.id}`, { method: "DELETE" }).catch(() => undefined);
  }, 180_000);
});

describe("a failed load", () => {
  it("loads again, without a click, when the live connection comes back", async () => {
    const live = await context.newPage();
    const liveErrors = watchErrors(live);
    await keepSockets(live);
    await live.goto(`${baseUrl}/?portfolio=${portfolio.id}#token=${token}`);
    await live.getByTestId("heatmap").locator("canvas").waitFor();
    const state = live.getByTestId("connection-state");
    await expect.poll(() => state.innerText()).toBe("Live");

    // The network goes: no tickets, the socket drops, and the exposures cannot load.
    await live.route("**/api/v1/live/ticket", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: '{"error":{"code":"UNAVAILABLE","message":"x"}}',
      }),
    );
    const exposuresUrl = (url: URL) => /\/portfolios\/[^/]+\/exposures$/.test(url.pathname);
    await live.route(exposuresUrl, (route) => route.abort("internetdisconnected"));
    await dropLastSocket(live, "drop");
    await expect.poll(() => state.innerText()).toBe("Live: reconnecting");
    await live.getByRole("combobox", { name: "Benchmark" }).selectOption(other);
    const failure = live.getByRole("alert").filter({ hasText: "Something went wrong" });
    await failure.waitFor();
    await screenshot(live, "clarity-exposures-load-failed");

    // The network is back: the socket reconnects and the exposures load, with no click on "Try again".
    await live.unroute(exposuresUrl);
    await live.unroute("**/api/v1/live/ticket");
    await expect.poll(() => state.innerText(), { timeout: 30_000 }).toBe("Live");
    await expect.poll(() => failure.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => live.getByRole("button", { name: "Export PNG" }).getAttribute("data-png-title"))
      .toContain(`benchmark ${other}`);
    expect(await live.getByTestId("heatmap").locator("canvas").isVisible()).toBe(true);
    expect(liveErrors.filter((line) => !expectedNoise(line))).toEqual([]);
    await live.close();
  });

  it("logged no errors on the main page", () => {
    expect(errors.filter((line) => !expectedNoise(line))).toEqual([]);
  });
});
