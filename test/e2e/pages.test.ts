// The other pages in Chromium against the running stack: the universe table (server-side sort,
// filters, paging, a symbol's betas), portfolios (create, positions, CSV import with the API's
// line-numbered errors), the Batch page running a date and the open heatmap updating without a
// reload, and a viewer without RUN_BATCH / MANAGE_PORTFOLIOS seeing no controls for them.
// Every page is screenshotted at 1280×800 and 420 px wide into test/e2e/artifacts/.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatExposure } from "../../client/src/lib/format.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";
import { dropLastSocket, keepSockets } from "./in-page.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");
const pendingDate = inject("pendingDate");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/universe#token=${token}`);
});

afterAll(async () => {
  await browser?.close();
});

async function narrowScreenshot(target: Page, name: string): Promise<void> {
  const size = target.viewportSize()!;
  await target.setViewportSize({ width: 420, height: 800 });
  await target.waitForTimeout(300);
  // Nothing may be wider than the window: the page scrolls vertically only.
  expect(await target.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
  await screenshot(target, `${name}-narrow`);
  await target.setViewportSize(size);
}

describe("universe", () => {
  it("sorts on the server by any column, filters by sector, pages, and links to a symbol's betas", async () => {
    const table = page.getByRole("table", { name: "Symbols" });
    await table.waitFor();
    const range = page.getByTestId("universe-range");
    const all = await apiJson<{ total_count: number }>(baseUrl, token, "/data/symbols?limit=1");
    await expect.poll(() => range.innerText()).toContain(`of ${all.total_count}`);

    await table.getByRole("button", { name: "Market Beta" }).click();
    const header = page.locator('th[data-column="factor_market_beta"]');
    await expect.poll(() => header.getAttribute("aria-sort")).toMatch(/ascending|descending/);
    const order = (await header.getAttribute("aria-sort")) === "ascending" ? "asc" : "desc";
    const expected = await apiJson<{ symbols: { symbol: string }[] }>(
      baseUrl,
      token,
      `/data/symbols?sort_by=factor_market_beta&sort_order=${order}&limit=5`,
    );
    await expect
      .poll(async () => (await table.locator("a.symbol-link").allInnerTexts()).slice(0, 5))
      .toEqual(expected.symbols.map((row) => row.symbol));

    const sectors = await apiJson<{ symbols: { sector: string | null }[] }>(
      baseUrl,
      token,
      "/data/symbols?sort_by=sector&limit=1",
    );
    const sector = sectors.symbols[0]!.sector!;
    const inSector = await apiJson<{ total_count: number }>(
      baseUrl,
      token,
      `/data/symbols?sector=${encodeURIComponent(sector)}&limit=1`,
    );
    await page.getByLabel("Sector").selectOption(sector);
    await expect.poll(() => range.innerText()).toContain(`of ${inSector.total_count}`);
    expect(new URL(page.url()).searchParams.get("sector")).toBe(sector);
    await screenshot(page, "universe");
    await narrowScreenshot(page, "universe");

    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => range.innerText()).toContain(`of ${all.total_count}`);
    await page.getByRole("navigation", { name: "Pages" }).getByRole("button", { name: "Next" }).click();
    await expect.poll(() => range.innerText()).toMatch(/^Rows 51–100 of/);

    await table.locator("a.symbol-link").first().click();
    await page.waitForURL(/\/universe\/[^/?]+$/);
    const symbol = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
    await page.getByRole("heading", { name: symbol, level: 1, exact: true }).waitFor();
    const betas = page.getByRole("table", { name: "Factor betas" });
    await betas.waitFor();
    expect(await betas.locator("tr[data-factor]").count()).toBe(12);
    await screenshot(page, "symbol");
  });
});

describe("portfolios", () => {
  it(
    "creates a portfolio, adds a position, " + "and shows a CSV import's line-numbered errors without importing",
    async () => {
      await page.goto(`${baseUrl}/portfolios`);
      const form = page.getByRole("form", { name: "Create portfolio" });
      await form.getByLabel("Name").fill("E2E portfolio");
      await form.getByLabel("Cash ($)").fill("50000");
      await form.getByRole("button", { name: "Create portfolio" }).click();
      await page.getByRole("heading", { name: "E2E portfolio", level: 1 }).waitFor();
      const id = new URL(page.url()).pathname.split("/").pop()!;

      await page.getByRole("button", { name: "Add position" }).click();
      const add = page.getByRole("form", { name: "Add position" });
      await add.getByLabel("Symbol", { exact: true }).fill("SPY");
      await add.getByLabel("Quantity").fill("100");
      await add.getByRole("button", { name: "Add position" }).click();
      await expect.poll(() => page.getByTestId("positions-table").locator("tr[data-position-id]").count()).toBe(1);

      await page
        .getByLabel("CSV text")
        .fill(
          "symbol,instrument,quantity,opened_on\nSPY,stock,10,2026-01-05\nQQQ,bond,5,2026-01-05\n" +
            "IWM,stock,lots,2026-01-05\n",
        );
      await page.getByRole("button", { name: /^Import/ }).click();
      const refused = page.getByRole("alert").filter({ hasText: "Import refused" });
      await refused.waitFor();
      const text = await refused.innerText();
      expect(text).toMatch(/line 3/);
      expect(text).toMatch(/instrument/);
      expect(text).toMatch(/line 4/);
      expect(text).toMatch(/quantity/);
      // All or nothing: still the one position.
      const positions = await apiJson<{ positions: unknown[] }>(baseUrl, token, `/portfolios/${id}/positions`);
      expect(positions.positions).toHaveLength(1);
      await screenshot(page, "portfolio");
      await narrowScreenshot(page, "portfolio");
      await page.goto(`${baseUrl}/portfolios`);
      await page.getByTestId("portfolio-table").waitFor();
      await screenshot(page, "portfolios");
      // Deleting asks in place first.
      await page.getByRole("button", { name: "Delete E2E portfolio" }).click();
      await page
        .getByRole("group", { name: "Confirm deleting E2E portfolio" })
        .getByRole("button", { name: "Confirm delete" })
        .click();
      await expect.poll(() => page.locator(`tr[data-portfolio-id="${id}"]`).count()).toBe(0);
      expect(
        (await fetch(`${baseUrl}/api/v1/portfolios/${id}`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(404);
    },
  );
});

describe("batch and live updates", () => {
  it("runs a date from the Batch page; the open heatmap gains that date without a reload", async () => {
    const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
    const before = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolios[0]!.id}/exposures`);
    expect(before.dates).not.toContain(pendingDate);

    const heatmapPage = await context.newPage();
    const heatmapErrors = watchErrors(heatmapPage);
    // A new tab: the token is per tab (sessionStorage), so this one signs in from the link too.
    await heatmapPage.goto(`${baseUrl}/#token=${token}`);
    await heatmapPage.getByTestId("heatmap").locator("canvas").waitFor();
    await expect.poll(() => heatmapPage.getByTestId("connection-state").innerText()).toBe("Live");
    const label = heatmapPage.getByTestId("window-label");
    expect(await label.innerText()).toMatch(new RegExp(`– ${before.dates.at(-1)}$`));
    await heatmapPage.evaluate(() => ((window as unknown as { e2eMarker: string }).e2eMarker = "still here"));

    await page.goto(`${baseUrl}/batch`);
    await page.getByLabel("Run date").fill(pendingDate);
    await page.getByRole("button", { name: /Run batch|Rerun batch/ }).click();
    await page.getByTestId("run-started").waitFor();
    // Watch the phase bars while the run goes: they move through running to completed, one
    // phase after another, without a reload.
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          for (const phase of await page
            .locator("li[data-testid^=phase-][data-state=running]")
            .evaluateAll((items) => items.map((item) => item.getAttribute("data-testid"))))
            seen.add(phase!);
          return page.getByTestId("run-detail").getAttribute("data-status");
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe("completed");
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect(await page.locator("li[data-testid^=phase-] .progress[data-state=completed]").count()).toBe(7);
    await screenshot(page, "batch");
    await narrowScreenshot(page, "batch");

    await expect.poll(() => label.innerText(), { timeout: 20_000 }).toMatch(new RegExp(`– ${pendingDate}$`));
    expect(await heatmapPage.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker)).toBe(
      "still here",
    );
    const columns = ((await heatmapPage.getByTestId("heatmap").getAttribute("data-columns")) ?? "").split("|");
    expect(columns.at(-1)).toBe(pendingDate);
    expect(heatmapErrors).toEqual([]);
    await heatmapPage.close();
  });
});

describe("reconnecting", () => {
  it("reconnects after the socket drops and replays the update it missed, in place", async () => {
    const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
    const portfolioId = portfolios[0]!.id;
    const { positions } = await apiJson<{
      positions: { id: string; symbol: string; instrument: string; quantity: number; closed_on: string | null }[];
    }>(baseUrl, token, `/portfolios/${portfolioId}/positions`);
    const position =
      positions.find((entry) => entry.instrument !== "option" && entry.closed_on === null && entry.symbol === "SPY") ??
      positions.find((entry) => entry.instrument !== "option" && entry.closed_on === null)!;

    const live = await context.newPage();
    const liveErrors = watchErrors(live);
    await keepSockets(live);
    await live.goto(`${baseUrl}/?portfolio=${portfolioId}#token=${token}`);
    await live.getByTestId("heatmap").locator("canvas").waitFor();
    const state = live.getByTestId("connection-state");
    await expect.poll(() => state.innerText()).toBe("Live");
    await live.evaluate(() => ((window as unknown as { e2eMarker: string }).e2eMarker = "still here"));
    await live.getByRole("button", { name: "Show table" }).click();
    const marketLast = live.locator(".heatmap-table tbody tr").first().locator("td").last();
    const before = (await marketLast.innerText()).trim();

    // No tickets for a while: the socket drops and the dashboard keeps retrying with backoff.
    await live.route("**/api/v1/live/ticket", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: '{"error":{"code":"UNAVAILABLE","message":"test outage"}}',
      }),
    );
    await dropLastSocket(live, "test drop");
    await expect.poll(() => state.innerText()).toBe("Live: reconnecting");

    // Meanwhile a position change is published to the hub, which this client misses.
    await apiJson(baseUrl, token, `/portfolios/${portfolioId}/positions/${position.id}`, {
      method: "PATCH",
      body: JSON.stringify({ quantity: position.quantity * 3 }),
    });
    // The recompute may finish after the PATCH answers: wait for the stored number to change.
    let expected = before;
    await expect
      .poll(async () => {
        const changed = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolioId}/exposures`);
        expected = formatExposure(changed.factors[0]!.portfolio.at(-1));
        return expected;
      })
      .not.toBe(before);
    await live.waitForTimeout(1_000);
    expect((await marketLast.innerText()).trim()).toBe(before);

    // Tickets again: the next attempt reconnects, resumes from the last sequence number and
    // receives the missed update.
    await live.unroute("**/api/v1/live/ticket");
    await expect.poll(() => state.innerText(), { timeout: 20_000 }).toBe("Live");
    await expect.poll(async () => (await marketLast.innerText()).trim(), { timeout: 10_000 }).toBe(expected);
    expect(await live.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker)).toBe("still here");
    expect(await live.evaluate(() => (window as unknown as { e2eSockets: WebSocket[] }).e2eSockets.length)).toBe(2);
    // Only the simulated outage's refused tickets were logged.
    expect(liveErrors.filter((error) => !error.includes("status of 503"))).toEqual([]);

    await apiJson(baseUrl, token, `/portfolios/${portfolioId}/positions/${position.id}`, {
      method: "PATCH",
      body: JSON.stringify({ quantity: position.quantity }),
    });
    await live.close();
  });
});

describe("a viewer without RUN_BATCH or MANAGE_PORTFOLIOS", () => {
  it("sees no batch menu, page or controls, and read-only portfolios", async () => {
    const viewerToken = await tokenFor(secret, "demo", ["VIEW_FACTOR_ANALYTICS", "VIEW_ALL_POSITIONS"]);
    const viewerContext = await newContext(browser);
    const viewer = await viewerContext.newPage();
    const viewerErrors = watchErrors(viewer);
    await viewer.goto(`${baseUrl}/#token=${viewerToken}`);
    await viewer.getByTestId("heatmap").locator("canvas").waitFor();
    const menu = viewer.getByRole("navigation", { name: "Main" });
    expect(await menu.getByRole("link").allInnerTexts()).not.toContain("Batch");
    expect(await menu.getByRole("link", { name: "Exposures" }).isVisible()).toBe(true);

    await viewer.goto(`${baseUrl}/batch`);
    await viewer.getByRole("heading", { name: "Not available" }).waitFor();
    expect(await viewer.getByRole("button", { name: /Run batch|Rerun batch/ }).count()).toBe(0);
    expect(await viewer.getByLabel("Run date").count()).toBe(0);

    await viewer.goto(`${baseUrl}/portfolios`);
    await viewer.getByTestId("portfolio-table").waitFor();
    expect(await viewer.getByRole("form", { name: "Create portfolio" }).count()).toBe(0);
    await viewer.getByTestId("portfolio-table").getByRole("link").first().click();
    await viewer.getByTestId("read-only-note").waitFor();
    expect(await viewer.getByRole("button", { name: "Add position" }).count()).toBe(0);
    await screenshot(viewer, "viewer-portfolio");
    expect(viewerErrors).toEqual([]);
    await viewerContext.close();
  });
});

describe("the pages", () => {
  it("had no page errors", () => {
    expect(errors).toEqual([]);
  });
});
