// Stress tests and what-if in Chromium against the running stack: a built-in scenario's bars
// equal the API's impacts, hand-set shocks recompute, a scenario is saved and deleted; a
// what-if edit recomputes the exposures (debounced) and compares them with the original; trades
// are funded from cash (equity unchanged); an unreadable quantity is an error that stops the recompute.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatExposure } from "../../client/src/lib/format.ts";
import type { StressResponse, WhatIfResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let page: Page;
let errors: string[];
let token: string;
let portfolioId: string;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  portfolioId = portfolios[0]!.id;
  const context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/stress?portfolio=${portfolioId}#token=${token}`);
});

afterAll(async () => {
  await browser?.close();
});

const impactValue = async (key: string) => Number(await page.getByTestId(`impact-${key}`).getAttribute("data-value"));

describe("stress", () => {
  it("shows a built-in scenario's $ impact per factor and in total, as the API computes it", async () => {
    await page.getByRole("heading", { name: "Stress test", level: 1 }).waitFor();
    const { scenarios } = await apiJson<{ scenarios: { id: string; name: string; builtin: boolean }[] }>(
      baseUrl,
      token,
      "/stress/scenarios",
    );
    const scenario = scenarios.find((entry) => entry.builtin)!;
    await page.getByRole("radio", { name: new RegExp(scenario.name) }).check();
    const expected = await apiJson<StressResponse>(baseUrl, token, `/portfolios/${portfolioId}/stress`, {
      method: "POST",
      body: JSON.stringify({ scenario_id: scenario.id }),
    });
    await expect.poll(() => page.getByTestId("stress-scenario-name").innerText()).toContain(scenario.name);
    await expect.poll(() => impactValue("total")).toBeCloseTo(expected.total!, 6);
    for (const impact of expected.impacts) expect(await impactValue(impact.factor_key)).toBeCloseTo(impact.impact!, 6);
    await screenshot(page, "stress");
  });

  it("recomputes hand-set shocks, saves them as a scenario, and deletes it", async () => {
    await page.getByRole("radio", { name: /Custom shocks/ }).check();
    await page.getByTestId("shock-market_beta").fill("-10");
    const expected = await apiJson<StressResponse>(baseUrl, token, `/portfolios/${portfolioId}/stress`, {
      method: "POST",
      body: JSON.stringify({ shocks: { market_beta: -0.1 } }),
    });
    await expect.poll(() => impactValue("total")).toBeCloseTo(expected.total!, 6);
    await page.getByLabel("Scenario name").fill("E2E market −10%");
    await page.getByRole("button", { name: "Save scenario" }).click();
    await page.getByTestId("saved-scenarios").getByText("E2E market −10%").waitFor();
    const saved = await apiJson<{ scenarios: { name: string; shocks: Record<string, number> }[] }>(
      baseUrl,
      token,
      "/stress/scenarios",
    );
    expect(saved.scenarios.find((entry) => entry.name === "E2E market −10%")?.shocks).toEqual({ market_beta: -0.1 });
    await page.getByRole("button", { name: "Delete scenario E2E market −10%" }).click();
    await page
      .getByRole("group", { name: "Confirm deleting E2E market −10%" })
      .getByRole("button", { name: "Delete" })
      .click();
    await expect.poll(() => page.getByTestId("saved-scenarios").getByText("E2E market −10%").count()).toBe(0);
  });
});

describe("what-if", () => {
  it("starts from a portfolio with no change", async () => {
    await page.goto(`${baseUrl}/what-if?portfolio=${portfolioId}`);
    const status = page.getByTestId("what-if-status");
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^As of/);
    const market = page.getByTestId("exposure-market_beta");
    expect(await market.getByTestId("change-value").innerText()).toMatch(/^[+]?0\.000$/);
    expect(await page.getByTestId("holding-row").count()).toBeGreaterThan(3);
    await screenshot(page, "what-if");
  });

  it("funds trades from cash: removing a holding and adding one leaves equity as it was", async () => {
    const status = page.getByTestId("what-if-status");
    const equity = page.getByTestId("total-equity");
    const startEquity = Number(await equity.getByTestId("total-original").getAttribute("data-value"));
    const startCash = Number(await page.getByLabel("Cash ($)").inputValue());
    const rows = page.getByTestId("holding-row");
    const count = await rows.count();
    let removed = -1;
    for (let i = 0; i < count && removed < 0; i++) {
      const instrument = await rows
        .nth(i)
        .getByRole("combobox", { name: /^Instrument of/ })
        .inputValue();
      if (instrument === "stock" || instrument === "etf") removed = i;
    }
    expect(removed).toBeGreaterThanOrEqual(0);
    const symbol = await rows.nth(removed).getByTestId("holding-symbol").inputValue();
    await page
      .getByRole("button", { name: `Remove ${symbol}` })
      .first()
      .click();
    await page.getByRole("button", { name: "+ Add holding" }).click();
    const added = rows.last();
    await added.getByTestId("holding-symbol").fill("SPY");
    await page.keyboard.press("Escape");
    await added.getByLabel("Instrument of SPY").selectOption("etf");
    await added.getByTestId("holding-quantity").fill("25");
    await expect.poll(() => page.getByTestId("trade-cost").count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^As of/);
    // The cash moved by the trades; the equity did not (to the cent).
    const cost = Number(await page.getByTestId("trade-cost").getAttribute("data-value"));
    expect(Number(await page.getByLabel("Cash ($)").inputValue())).toBeCloseTo(startCash - cost, 2);
    await expect
      .poll(async () => Number(await equity.getByTestId("total-what-if").getAttribute("data-value")), {
        timeout: 15_000,
      })
      .toBeCloseTo(startEquity, 2);
    expect(await page.getByTestId("trade-unpriced").count()).toBe(0);
  });

  it("shows a quantity that is not a number on its row and does not drop the holding from the request", async () => {
    const status = page.getByTestId("what-if-status");
    const sent: string[] = [];
    const record = (request: { url(): string; method(): string; postData(): string | null }) => {
      if (request.method() === "POST" && request.url().endsWith("/what-if")) sent.push(request.postData() ?? "");
    };
    page.on("request", record);
    const row = page.getByTestId("holding-row").last();
    await row.getByTestId("holding-quantity").fill("12x");
    await expect
      .poll(() => row.getByTestId("row-issues").innerText(), { timeout: 15_000 })
      .toContain('quantity must be a number, got "12x"');
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^Not recomputed/);
    expect(await row.getByTestId("holding-quantity").getAttribute("aria-invalid")).toBe("true");
    // The recompute is stopped, not sent without the row.
    await page.waitForTimeout(800);
    expect(sent).toEqual([]);
    await row.getByTestId("holding-quantity").fill("12");
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^As of/);
    page.off("request", record);
    expect(sent.length).toBeGreaterThan(0);
    const body = JSON.parse(sent.at(-1)!) as { holdings: { symbol: string; quantity: number }[] };
    expect(body.holdings.at(-1)).toMatchObject({ symbol: "SPY", quantity: 12 });
  });

  it("recomputes as holdings are typed, equal to the API's what-if for the same holdings", async () => {
    await page.getByLabel("Start from").selectOption("");
    const status = page.getByTestId("what-if-status");
    await expect.poll(() => page.getByTestId("holding-row").count()).toBe(0);
    await page.getByRole("button", { name: "+ Add holding" }).click();
    const row = page.getByTestId("holding-row").first();
    await row.getByTestId("holding-symbol").fill("SPY");
    await page.keyboard.press("Escape");
    await row.getByLabel("Instrument of SPY").selectOption("etf");
    await row.getByTestId("holding-quantity").fill("100");
    await page.getByLabel("Cash ($)").fill("10000");
    const expected = await apiJson<WhatIfResponse>(baseUrl, token, "/what-if", {
      method: "POST",
      body: JSON.stringify({ holdings: [{ symbol: "SPY", instrument: "etf", quantity: 100 }], cash: 10000 }),
    });
    const market = expected.what_if.exposures.find((entry) => entry.factor_key === "market_beta")!;
    expect(market.exposure).not.toBeNull();
    await expect
      .poll(
        async () => (await page.getByTestId("exposure-market_beta").getByTestId("what-if-value").innerText()).trim(),
        { timeout: 15_000 },
      )
      .toBe(formatExposure(market.exposure));
    await expect.poll(() => status.innerText()).toMatch(/^As of/);
    await screenshot(page, "what-if-empty-start");
  });

  it("has no page errors", () => {
    expect(errors).toEqual([]);
  });
});
