// Issue 20 as an analyst meets it on the Universe, a symbol's page and the factors help page, in
// Chromium against the demo stack: the factors page lists every active lens factor with the window
// and minimum GET /factors gives, and the risk lens; the Universe's search finds a symbol by a word
// of its company's name and by a prefix of its ticker (the API's own answer is the expectation);
// a factor header explains its number on hover and on keyboard focus and links to the factor's
// entry; codes show as words with the code in the tooltip; nothing is wider than a 390 px phone.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { FactorsResponse } from "../../worker/api/factors.ts";
import type { RiskFactorsResponse } from "../../worker/api/risk.ts";
import type { SymbolDetailResponse, SymbolsResponse } from "../../worker/api/symbols.ts";
import { demoMarketOptions } from "../../worker/market-data/demo-market.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";
import path from "node:path";
import { apiJson, artifactsDir, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
let factors: FactorsResponse["factors"];

/** Words of a company name that say nothing about it (legal forms, the demo's "(synthetic)"). */
const commonWords = new Set(["inc", "co", "corp", "group", "holdings", "synthetic", "etf", "trust", "the", "and"]);

/**
 * The window as it is: a full-page screenshot resizes the viewport, and a resize closes an open
 * header tooltip, so the shot that shows one keeps the window's size.
 */
async function windowScreenshot(target: Page, name: string): Promise<void> {
  await target.screenshot({ path: path.join(artifactsDir, `${name}.png`) });
}

async function pageWidth(target: Page): Promise<number> {
  return target.evaluate(() => document.documentElement.scrollWidth);
}

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  factors = (await apiJson<FactorsResponse>(baseUrl, token, "/factors")).factors.filter((factor) => factor.is_active);
  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/factors#token=${token}`);
});

afterAll(async () => {
  await browser?.close();
});

describe("the factors help page", () => {
  it("lists each active lens factor by category with its window and minimum, and the risk lens", async () => {
    expect(factors).toHaveLength(12);
    const entries = page.locator("article.factor-entry");
    await entries.first().waitFor();
    expect(await entries.count()).toBe(factors.length);
    for (const factor of factors) {
      const entry = page.locator(`article#${factor.key}`);
      expect(await entry.getAttribute("data-factor")).toBe(factor.key);
      // Under its category's heading, with its own numbers and its ETFs linked to their pages.
      expect(await entry.locator("xpath=ancestor::section[1]").getAttribute("data-category")).toBe(factor.category);
      expect(await entry.getByTestId("factor-window").innerText()).toBe(`Trailing ${factor.window_days} calendar days`);
      expect(await entry.getByTestId("factor-min-observations").innerText()).toBe(
        `${factor.min_observations} daily observations`,
      );
      const symbols = [factor.input_symbol, factor.long_symbol, factor.short_symbol].filter((s) => s !== null);
      const links = await entry
        .locator("a[href^='/universe/']")
        .evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute("href")));
      expect(links).toEqual(symbols.map((symbol) => `/universe/${symbol}`));
      const text = await entry.innerText();
      expect(text).toContain("An exposure of 1.0");
      expect(text).toContain("loading (β)");
      expect(text).toContain(factor.description);
    }
    const risk = await apiJson<RiskFactorsResponse>(baseUrl, token, "/risk/factors");
    const riskRows = page.getByRole("table", { name: "Risk lens factors" }).locator("tbody tr");
    await riskRows.first().waitFor();
    expect(await riskRows.count()).toBe(risk.factors.length);
    expect(await page.locator("#risk-lens").innerText()).toContain(
      `trailing ${risk.settings.window_days} calendar days`,
    );
    expect(await page.locator(".factors-intro").innerText()).toMatch(/cannot be added up/);
    await screenshot(page, "clarity-factors");
  });
});

describe("the universe", () => {
  it("finds a symbol by a word of its company's name and by a prefix of its ticker, as the API does", async () => {
    // The first rows of a search, as the table shows them (sorted by symbol, 50 a page).
    const searched = (q: string) =>
      apiJson<SymbolsResponse>(baseUrl, token, `/data/symbols?q=${encodeURIComponent(q)}&sort_by=symbol&limit=50`);
    // A demo equity whose company name has a distinctive word that finds at most a page of rows,
    // inside the word and in another case, and a ticker prefix that does too.
    const listing = await apiJson<SymbolsResponse>(baseUrl, token, "/data/symbols?sort_by=market_cap&limit=60");
    let found: { symbol: string; company: string; fragment: string; prefix: string } | null = null;
    for (const row of listing.symbols) {
      if (!row.symbol.startsWith("SYN") || row.symbol.length < 5 || row.company_name === null) continue;
      const word = row.company_name
        .split(/[^A-Za-z]+/)
        .find((candidate) => candidate.length >= 5 && !commonWords.has(candidate.toLowerCase()));
      if (!word) continue;
      const fragment = word.slice(1, -1).toLowerCase();
      const prefix = row.symbol.slice(0, -1);
      const [byName, byPrefix] = await Promise.all([searched(fragment), searched(prefix.toLowerCase())]);
      if (byName.total_count > 50 || byPrefix.total_count > 50) continue;
      found = { symbol: row.symbol, company: row.company_name, fragment, prefix };
      break;
    }
    expect(found, "a demo company with a distinctive word").not.toBeNull();
    const target = found!;

    await page.goto(`${baseUrl}/universe`);
    const table = page.getByRole("table", { name: "Symbols" });
    await table.waitFor();
    const search = page.getByLabel("Symbol or company");
    expect(await search.getAttribute("placeholder")).toMatch(/SPY|software/);
    const range = page.getByTestId("universe-range");
    const shownSymbols = () => table.locator("a.symbol-link").allInnerTexts();

    const byName = await searched(target.fragment);
    expect(byName.symbols.map((row) => row.symbol)).toContain(target.symbol);
    await search.fill(target.fragment);
    await expect.poll(() => new URL(page.url()).searchParams.get("q")).toBe(target.fragment);
    await expect.poll(shownSymbols).toEqual(byName.symbols.map((row) => row.symbol));
    expect(await range.innerText()).toContain(`of ${byName.total_count}`);
    // The full company name on hover, and as the cell's text (cut only by CSS).
    const company = table.locator("tr").filter({ hasText: target.symbol }).first().locator(".company");
    expect(await company.getAttribute("title")).toBe(target.company);
    expect(await company.textContent()).toBe(target.company);
    expect(await page.locator("#page-title + .subtitle").innerText()).toMatch(/matching symbols/);

    const byPrefix = await searched(target.prefix.toLowerCase());
    expect(byPrefix.symbols.map((row) => row.symbol)).toContain(target.symbol);
    await search.fill(target.prefix.toLowerCase());
    await search.press("Enter");
    await expect.poll(() => new URL(page.url()).searchParams.get("q")).toBe(target.prefix.toLowerCase());
    await expect.poll(shownSymbols).toEqual(byPrefix.symbols.map((row) => row.symbol));
    expect(await range.innerText()).toContain(`of ${byPrefix.total_count}`);
    await screenshot(page, "clarity-universe-search");
  });

  it("explains a factor header on hover and on keyboard focus, and links it to the factor's entry", async () => {
    const value = factors.find((factor) => factor.key === "value")!;
    const header = page.locator('th[data-column="factor_value"]');
    const tip = header.getByTestId("factor-tip");
    const button = header.getByRole("button", { name: value.name, exact: true });
    expect(await tip.isVisible()).toBe(false);
    expect(await button.getAttribute("aria-describedby")).toBe(await tip.getAttribute("id"));

    await header.hover();
    await expect.poll(() => tip.isVisible()).toBe(true);
    const text = await tip.innerText();
    expect(text).toContain(`Window: Trailing ${value.window_days} calendar days`);
    expect(text).toContain("Unit: loading (β)");
    expect(text).toContain(value.description);
    await page.mouse.move(5, 5);
    await expect.poll(() => tip.isVisible()).toBe(false);

    // Keyboard focus: Tab from the previous column's "?" link onto this column's sort button.
    await page.locator('th[data-column="factor_interest_rate_beta"] a.factor-help').focus();
    await page.keyboard.press("Tab");
    await expect.poll(() => button.evaluate((element) => element === document.activeElement)).toBe(true);
    await expect.poll(() => tip.isVisible()).toBe(true);
    // Visible on the screen, not clipped away by the table's scroll frame.
    const box = (await tip.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    await windowScreenshot(page, "clarity-universe-header");
    await page.keyboard.press("Escape");
    await expect.poll(() => tip.isVisible()).toBe(false);

    // The legend says what the colours' numbers are.
    expect(await page.getByRole("note", { name: "Factor colour scale" }).innerText()).toContain("loading (β)");

    await header.getByRole("link", { name: `What ${value.name} means` }).click();
    await page.waitForURL(/\/factors#value$/);
    const entry = page.locator("article#value");
    await expect.poll(() => entry.getAttribute("class")).toContain("is-target");
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("value");
    expect(await entry.isVisible()).toBe(true);
    const top = (await entry.boundingBox())!.y;
    expect(top).toBeGreaterThanOrEqual(0);
    expect(top).toBeLessThan(400);
  });
});

describe("a symbol's page", () => {
  it("shows codes as words with the code in the tooltip: missing reasons, quality flags, asset type", async () => {
    // The demo's delisted equity (worker/market-data/synthetic.ts) has no betas: every one is a reason.
    const { metrics_date: date } = await apiJson<SymbolsResponse>(baseUrl, token, "/data/symbols?limit=1");
    const market = generateSyntheticMarket(demoMarketOptions(date!));
    const delisted = market.instruments.find((instrument) => instrument.gap === "delisting")!.symbol;
    const detail = await apiJson<SymbolDetailResponse>(baseUrl, token, `/data/symbols/${delisted}`);
    expect(detail.missing_betas.length).toBeGreaterThan(0);

    await page.goto(`${baseUrl}/universe/${delisted}`);
    const betas = page.getByRole("table", { name: "Factor betas" });
    await betas.waitFor();
    for (const gap of detail.missing_betas) {
      const words = betas.locator(`tr[data-factor="${gap.factor_key}"] [data-testid=missing-beta-reason] .coded`);
      expect(await words.innerText()).not.toContain(gap.reason);
      expect(await words.innerText()).not.toContain("_");
      expect(await words.getAttribute("title")).toContain(`code: ${gap.reason}`);
    }
    const assetType = page.getByTestId("symbol-summary").locator(`[data-code="${detail.asset_type}"]`);
    expect(await assetType.innerText()).toBe("Equity");
    expect(await assetType.getAttribute("title")).toContain(detail.asset_type);
    // A factor's name links to its entry on the factors page.
    const first = detail.missing_betas[0]!;
    expect(await betas.locator(`tr[data-factor="${first.factor_key}"] th a`).getAttribute("href")).toBe(
      `/factors#${first.factor_key}`,
    );

    // A symbol with betas: each quality flag and method as words, its code in the title.
    await page.goto(`${baseUrl}/universe/SPY`);
    await betas.locator("tr[data-factor] [data-code]").first().waitFor();
    const coded = betas.locator("[data-code]");
    expect(await coded.count()).toBeGreaterThanOrEqual(24);
    for (const element of await coded.all()) {
      const code = (await element.getAttribute("data-code"))!;
      expect((await element.innerText()).trim()).not.toBe(code);
      expect((await element.getAttribute("title"))!.toLowerCase()).toContain(`code: ${code}`);
    }
    expect(await betas.innerText()).not.toMatch(/\b[a-z]+_[a-z_]+\b/);
    await screenshot(page, "clarity-symbol");
  });
});

describe("at 390 px", () => {
  it("nothing is wider than the phone on the factors page, the searched universe and a symbol", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/factors`);
    await page.locator("article.factor-entry").first().waitFor();
    await page.getByRole("table", { name: "Risk lens factors" }).waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-factors-390");

    await page.goto(`${baseUrl}/universe?q=SP`);
    await page.getByRole("table", { name: "Symbols" }).waitFor();
    expect(await page.getByLabel("Symbol or company").inputValue()).toBe("SP");
    const header = page.locator('th[data-column="factor_market_beta"]');
    await page.locator('th[data-column="return_ytd"] button').focus();
    await page.keyboard.press("Tab");
    const tip = header.getByTestId("factor-tip");
    await expect.poll(() => tip.isVisible()).toBe(true);
    const box = (await tip.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    await windowScreenshot(page, "clarity-universe-390-header");
    await screenshot(page, "clarity-universe-390");

    await page.goto(`${baseUrl}/universe/SPY`);
    await page.getByRole("table", { name: "Factor betas" }).waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    await screenshot(page, "clarity-symbol-390");
  });

  it("had no page errors", () => {
    expect(errors).toEqual([]);
  });
});
