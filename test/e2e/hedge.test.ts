// The what-if page's hedge in Chromium against the running stack: holdings typed from an empty
// start, a suggested hedge whose trades equal POST /what-if's, the penalty slider recomputing it,
// "Apply to holdings" adding the trades as shares (paid from cash), and "Save as portfolio"
// creating a portfolio with those positions (deleted again afterwards).
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { WhatIfResponse } from "../../worker/api/analytics.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let page: Page;
let errors: string[];
let token: string;
/** Two of the demo's stocks, typed into the what-if. */
let holdings: { symbol: string; instrument: "stock"; quantity: number }[] = [];
const cash = 20_000;
const savedName = `Hedged e2e ${Date.now()}`;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  const { positions } = await apiJson<{
    positions: { symbol: string; instrument: string; closed_on: string | null }[];
  }>(baseUrl, token, `/portfolios/${portfolios[0]!.id}/positions`);
  const stocks = [...new Set(positions.filter((p) => p.instrument === "stock").map((p) => p.symbol))].slice(0, 2);
  holdings = stocks.map((symbol, i) => ({ symbol, instrument: "stock", quantity: i === 0 ? 300 : -120 }));
  expect(holdings).toHaveLength(2);
  const context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/what-if?portfolio=#token=${token}`);
});

afterAll(async () => {
  const { portfolios } = await apiJson<{ portfolios: { id: string; name: string }[] }>(baseUrl, token, "/portfolios");
  for (const portfolio of portfolios.filter((p) => p.name === savedName))
    await fetch(`${baseUrl}/api/v1/portfolios/${portfolio.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
  await browser?.close();
});

const dataValue = async (testId: string): Promise<number> => {
  const text = await page.getByTestId(testId).getAttribute("data-value");
  return text === null || text === "" ? Number.NaN : Number(text);
};

/** The holdings table's rows as symbol → quantity. */
async function rowQuantities(): Promise<Map<string, number>> {
  const quantities = new Map<string, number>();
  const rows = page.getByTestId("holding-row");
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    quantities.set(
      await row.getByTestId("holding-symbol").inputValue(),
      Number(await row.getByTestId("holding-quantity").inputValue()),
    );
  }
  return quantities;
}

const hedgeOf = (penalty: number) =>
  apiJson<WhatIfResponse>(baseUrl, token, "/what-if", {
    method: "POST",
    body: JSON.stringify({ holdings, cash, hedge: { target: "tracking_error", penalty } }),
  }).then((answer) => answer.hedge!);

describe("the what-if page's hedge", () => {
  it("suggests trades equal to POST /what-if's hedge for the typed holdings", async () => {
    const status = page.getByTestId("what-if-status");
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^As of/);
    for (const [index, holding] of holdings.entries()) {
      await page.getByRole("button", { name: "+ Add holding" }).click();
      const row = page.getByTestId("holding-row").nth(index);
      await row.getByTestId("holding-symbol").fill(holding.symbol);
      await page.keyboard.press("Escape");
      await row.getByTestId("holding-quantity").fill(String(holding.quantity));
    }
    await page.getByLabel("Cash ($)").fill(String(cash));
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^As of/);

    await page.getByTestId("hedge-open").click();
    const hedgeStatus = page.getByTestId("hedge-status");
    await expect.poll(() => hedgeStatus.innerText(), { timeout: 15_000 }).toMatch(/^Hedge as of/);
    const expected = await hedgeOf(1e-5);
    expect(expected.instruments_default).toBe(true);
    expect(expected.trades.length).toBeGreaterThan(0);
    expect(await dataValue("hedge-penalty")).toBe(1e-5);
    for (const trade of expected.trades)
      await expect.poll(() => dataValue(`hedge-trade-${trade.symbol}`)).toBeCloseTo(trade.dollars, 6);
    expect(await dataValue("hedge-after-risk")).toBeCloseTo(expected.target_risk.after, 12);
    expect(expected.target_risk.after).toBeLessThan(expected.target_risk.before);
    await screenshot(page, "what-if-hedge");
  });

  it("recomputes as the penalty slider moves", async () => {
    const slider = page.getByTestId("hedge-penalty");
    await slider.focus();
    // Ten steps a decade: 1e-5 → 1e-3.
    for (let step = 0; step < 20; step++) await page.keyboard.press("ArrowRight");
    await expect.poll(() => dataValue("hedge-penalty")).toBe(1e-3);
    const expected = await hedgeOf(1e-3);
    const hedgeStatus = page.getByTestId("hedge-status");
    for (const trade of expected.trades)
      await expect
        .poll(() => dataValue(`hedge-trade-${trade.symbol}`), { timeout: 15_000 })
        .toBeCloseTo(trade.dollars, 6);
    await expect.poll(() => hedgeStatus.innerText()).toMatch(/^Hedge as of/);
    expect(await dataValue("hedge-after-risk")).toBeCloseTo(expected.target_risk.after, 12);
    const before = await hedgeOf(1e-5);
    const norm = (trades: { weight: number }[]) => Math.hypot(...trades.map((trade) => trade.weight));
    expect(norm(expected.trades)).toBeLessThan(norm(before.trades));
  });

  it("applies the trades to the holdings, as shares paid for with cash", async () => {
    const expected = await hedgeOf(1e-3);
    await page.getByTestId("hedge-apply").click();
    const rows = page.getByTestId("holding-row");
    const traded = expected.trades.filter((trade) => Number(trade.shares.toFixed(4)) !== 0);
    await expect.poll(() => rows.count()).toBe(holdings.length + traded.length);
    const quantities = await rowQuantities();
    for (const trade of traded) expect(quantities.get(trade.symbol)).toBeCloseTo(trade.shares, 3);
    const spent = traded.reduce((sum, trade) => sum + Number(trade.shares.toFixed(4)) * trade.close, 0);
    expect(Number(await page.getByLabel("Cash ($)").inputValue())).toBeCloseTo(cash - spent, 2);
    // The applied holdings are hedged already: the next suggestion barely trades.
    await expect.poll(() => page.getByTestId("hedge-status").innerText(), { timeout: 15_000 }).toMatch(/^Hedge as of/);
    await expect.poll(() => page.getByTestId("what-if-status").innerText()).toMatch(/^As of/);
  });

  it("saves the holdings as a new portfolio with the same positions", async () => {
    const quantities = await rowQuantities();
    await page.getByLabel("New portfolio name").fill(savedName);
    await page.getByTestId("save-as-portfolio").click();
    await expect
      .poll(() => page.getByTestId("save-portfolio-status").innerText(), { timeout: 15_000 })
      .toContain(`Saved ${savedName}`);
    const { portfolios } = await apiJson<{ portfolios: { id: string; name: string; cash: number }[] }>(
      baseUrl,
      token,
      "/portfolios",
    );
    const saved = portfolios.find((p) => p.name === savedName);
    expect(saved).toBeDefined();
    expect(saved!.cash).toBeCloseTo(Number(await page.getByLabel("Cash ($)").inputValue()), 2);
    const { positions } = await apiJson<{ positions: { symbol: string; quantity: number }[] }>(
      baseUrl,
      token,
      `/portfolios/${saved!.id}/positions`,
    );
    expect(new Map(positions.map((p) => [p.symbol, p.quantity]))).toEqual(quantities);
  });

  it("has no page errors", () => {
    expect(errors).toEqual([]);
  });
});
