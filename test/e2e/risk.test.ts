// The Risk page in Chromium against the running stack, on a portfolio of its own (made from the
// demo's first portfolio's stocks): the headline figures equal the API's, the attribution chart's
// stack ends at the P&L, a position change reaches the open page live, and a predictive stress
// built on the page equals the API's answer.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RiskStressResponse } from "../../worker/api/analytics.ts";
import type { AttributionResponse, PortfolioRiskResponse } from "../../worker/api/portfolio-risk.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

type RiskDate = Extract<PortfolioRiskResponse, { mode: "date" }>;

let browser: Browser;
let page: Page;
let errors: string[];
let token: string;
let portfolioId: string;

interface PositionRow {
  symbol: string;
  instrument: string;
  quantity: number;
  opened_on: string;
  closed_on: string | null;
}

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  const { positions } = await apiJson<{ positions: PositionRow[] }>(
    baseUrl,
    token,
    `/portfolios/${portfolios[0]!.id}/positions`,
  );
  const stocks = positions.filter((p) => p.instrument !== "option" && p.closed_on === null).slice(0, 6);
  const created = await apiJson<{ id: string }>(baseUrl, token, "/portfolios", {
    method: "POST",
    body: JSON.stringify({ name: "Risk e2e", cash: 10_000, benchmark_symbol: "SPY" }),
  });
  portfolioId = created.id;
  for (const stock of stocks)
    await apiJson(baseUrl, token, `/portfolios/${portfolioId}/positions`, {
      method: "POST",
      body: JSON.stringify({
        symbol: stock.symbol,
        instrument: stock.instrument,
        quantity: stock.quantity,
        opened_on: stock.opened_on,
      }),
    });
  // Each position change starts a history run over the dates since it opened: let them finish, so
  // that the stored summaries (the sparklines, the attribution) stop changing under the test.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { runs } = await apiJson<{ runs: { trigger: string; portfolio_id: string | null; status: string }[] }>(
      baseUrl,
      token,
      "/admin/batch/runs?limit=50",
    );
    const ours = runs.filter((run) => run.trigger === "portfolio" && run.portfolio_id === portfolioId);
    if (ours.length > 0 && ours.every((run) => run.status !== "queued" && run.status !== "running")) break;
    if (Date.now() > deadline) throw new Error(`the portfolio's history runs did not finish: ${JSON.stringify(ours)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/risk?portfolio=${portfolioId}#token=${token}`);
});

afterAll(async () => {
  if (portfolioId) await apiJson(baseUrl, token, `/portfolios/${portfolioId}`, { method: "DELETE" }).catch(() => {});
  await browser?.close();
});

const dataValue = async (testId: string): Promise<number> => {
  const text = await page.getByTestId(testId).getAttribute("data-value");
  return text === null || text === "" ? Number.NaN : Number(text);
};

const risk = () => apiJson<RiskDate>(baseUrl, token, `/portfolios/${portfolioId}/risk`);

describe("the Risk page", () => {
  it("shows the API's volatility, tracking error, VaR and factor share, and the contribution bars", async () => {
    await page.getByRole("heading", { name: "Risk: Risk e2e", level: 1 }).waitFor();
    const expected = await risk();
    expect(expected.total).not.toBeNull();
    await expect.poll(() => dataValue("risk-volatility")).toBeCloseTo(expected.total!.volatility, 12);
    expect(await dataValue("risk-tracking-error")).toBeCloseTo(expected.active!.tracking_error, 12);
    expect(await dataValue("risk-var-95")).toBeCloseTo(expected.total!.value_at_risk_95, 6);
    expect(await dataValue("risk-factor-share")).toBeCloseTo(expected.total!.factor_share!, 12);
    // Every risk factor's share, then specific; the shares add up to 100 %.
    let sum = 0;
    for (const factor of expected.total!.factors) {
      const value = await dataValue(`impact-contribution-${factor.factor_key}`);
      expect(value).toBeCloseTo(factor.share!, 12);
      sum += value;
    }
    sum += await dataValue("impact-contribution-specific");
    expect(sum).toBeCloseTo(1, 9);
    // The holdings table: one row per symbol, sortable (a click on a header reverses the order).
    const rows = page.getByTestId("risk-holdings").locator("tbody tr");
    expect(await rows.count()).toBe(expected.total!.holdings.length);
    const firstSymbol = await rows.first().getAttribute("data-symbol");
    await page.getByRole("button", { name: /^Share/ }).click();
    await expect.poll(() => rows.last().getAttribute("data-symbol")).toBe(firstSymbol);
    await screenshot(page, "risk");
  });

  it("draws the attribution whose stacked parts end at the P&L, equal to the API's", async () => {
    const expected = await apiJson<AttributionResponse>(baseUrl, token, `/portfolios/${portfolioId}/attribution`);
    const chart = page.getByTestId("attribution-chart");
    await chart.locator("canvas").first().waitFor();
    const attributed = expected.days.filter((day) => day.status === "attributed");
    const pnl = attributed.reduce((sum, day) => sum + day.pnl!, 0);
    expect(expected.total.pnl).toBeCloseTo(pnl, 6);
    await expect
      .poll(async () => Number(await chart.getAttribute("data-total")), { timeout: 10_000 })
      .toBeCloseTo(expected.total.pnl, 6);
    expect(Number(await chart.getAttribute("data-pnl"))).toBeCloseTo(expected.total.pnl, 6);
    expect(await dataValue("attribution-total")).toBeCloseTo(expected.total.pnl, 6);
  });

  it("updates live after a position change", async () => {
    await expect.poll(() => page.getByTestId("connection-state").innerText()).toBe("Live");
    const before = await risk();
    const shownBefore = await dataValue("risk-volatility");
    await apiJson(baseUrl, token, `/portfolios/${portfolioId}/positions`, {
      method: "POST",
      body: JSON.stringify({ symbol: "TLT", instrument: "stock", quantity: 2_000, opened_on: before.date }),
    });
    let after = before;
    await expect
      .poll(async () => {
        after = await risk();
        return after.total!.volatility;
      })
      .not.toBe(before.total!.volatility);
    await expect.poll(() => dataValue("risk-volatility"), { timeout: 10_000 }).toBeCloseTo(after.total!.volatility, 12);
    expect(await dataValue("risk-volatility")).not.toBeCloseTo(shownBefore, 12);
    await expect.poll(() => page.getByTestId("risk-updated").count()).toBe(1);
  });

  it("runs a predictive stress built on the page, equal to the API's", async () => {
    const shock = page.getByTestId("risk-shock-market");
    await shock.scrollIntoViewIfNeeded();
    await shock.fill("-10");
    const { date } = await risk();
    const expected = await apiJson<RiskStressResponse>(baseUrl, token, `/portfolios/${portfolioId}/stress`, {
      method: "POST",
      body: JSON.stringify({ predictive: { shocks: { market: -0.1 } }, date }),
    });
    await expect
      .poll(() => dataValue("risk-stress-total"), { timeout: 10_000 })
      .toBeCloseTo(expected.propagated!.total, 6);
    expect(await dataValue("risk-stress-unpropagated-total")).toBeCloseTo(expected.unpropagated.total, 6);
    expect(await dataValue("risk-move-market")).toBeCloseTo(-0.1, 12);
    await screenshot(page, "risk-stress");
  });

  it("had no page errors", () => {
    expect(errors).toEqual([]);
  });
});
