// "Every number served says where it came from, and every missing one says why", in Chromium
// against the demo stack: a new portfolio imported from a CSV with a stock that has no prices
// (ZZZQ), an option past its expiry on a demo underlying, and two ordinary holdings. The import's
// warnings name those lines and reasons (in the API's answer and on the page); the exposures page
// fills in the portfolio's history without a reload while showing "computing history…", lists the
// positions left out with their reasons, and never shows 100% coverage while one is left out
// (tooltip, table view, drill-down); the portfolio page flags them; a symbol's missing betas say
// why; the history run's Batch page shows only its own two phases.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { coverageLabel } from "../../client/src/lib/data-quality.ts";
import { demoMarketOptions } from "../../worker/market-data/demo-market.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import type { SymbolDetailResponse, SymbolsResponse } from "../../worker/api/symbols.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
let portfolioId: string;
/** The dates the batch computed (the demo's portfolio has every one), ascending. */
let computedDates: string[];
let openedOn: string;
let expiry: string;
let stocks: [string, string];
let optionSymbol: string;

interface ImportAnswer {
  imported: number;
  warnings: { line?: number; position_id: string; symbol: string; reason: string; detail: string }[];
}

interface RunSummary {
  id: string;
  trigger: string;
  portfolio_id: string | null;
  status: string;
  phase_plan: string[];
}

const noFullCoverage = /\b100(\.0)?%/;

async function narrowScreenshot(target: Page, name: string): Promise<void> {
  const size = target.viewportSize()!;
  await target.setViewportSize({ width: 420, height: 800 });
  await target.waitForTimeout(300);
  expect(await target.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
  await screenshot(target, `${name}-narrow`);
  await target.setViewportSize(size);
}

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  computedDates = (await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolios[0]!.id}/exposures`))
    .dates;
  expect(computedDates.length).toBeGreaterThan(15);
  // Opened 15 computed dates ago; the option expired 6 dates ago: valued before, left out after.
  openedOn = computedDates.at(-15)!;
  expiry = computedDates.at(-6)!;
  // Two large stocks with every beta on the latest date.
  const symbols = await apiJson<SymbolsResponse>(
    baseUrl,
    token,
    "/data/symbols?sort_by=market_cap&sort_order=desc&limit=40",
  );
  const complete = symbols.symbols.filter(
    (row) =>
      row.sector !== null && Object.entries(row).every(([key, value]) => !key.startsWith("factor_") || value !== null),
  );
  expect(complete.length).toBeGreaterThanOrEqual(2);
  stocks = [complete[0]!.symbol, complete[1]!.symbol];
  optionSymbol = `${stocks[0]} ${expiry.slice(2).replaceAll("-", "")}C00100000`;

  const created = await apiJson<{ id: string }>(baseUrl, token, "/portfolios", {
    method: "POST",
    body: JSON.stringify({ name: `Zz data quality ${Date.now()}`, cash: 20_000 }),
  });
  portfolioId = created.id;
  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/portfolios/${portfolioId}#token=${token}`);
});

afterAll(async () => {
  if (portfolioId)
    await fetch(`${baseUrl}/api/v1/portfolios/${portfolioId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
  await browser?.close();
});

describe("a portfolio with holdings the numbers cannot use", () => {
  let heatmapPage: Page;
  let heatmapErrors: string[];

  it(
    "imports a CSV whose warnings name the unpriced stock's and the expired option's lines, " +
      "on the page and in the API's answer",
    async () => {
      // The exposures page is open before the import: the history must arrive there live.
      heatmapPage = await context.newPage();
      heatmapErrors = watchErrors(heatmapPage);
      // A new tab: the token is per tab (sessionStorage), so this one signs in from the link too.
      await heatmapPage.goto(`${baseUrl}/?portfolio=${portfolioId}#token=${token}`);
      await heatmapPage.getByText("No computed exposures yet").waitFor();
      await expect.poll(() => heatmapPage.getByTestId("connection-state").innerText()).toBe("Live");
      await heatmapPage.evaluate(() => {
        const state = window as unknown as { e2eMarker: string; e2eHistory: string[] };
        state.e2eMarker = "still here";
        state.e2eHistory = [];
        new MutationObserver(() => {
          const text = document.querySelector("[data-testid=history-progress]")?.textContent;
          if (text && state.e2eHistory.at(-1) !== text) state.e2eHistory.push(text);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });

      await page.getByRole("heading", { level: 1 }).waitFor();
      const csv = [
        "symbol,instrument,quantity,opened_on,cost_basis,underlying_symbol,option_type,strike,expiry,multiplier,delta",
        `${stocks[0]},stock,100,${openedOn},,,,,,,`,
        `${stocks[1]},stock,80,${openedOn},,,,,,,`,
        `ZZZQ,stock,200,${openedOn},,,,,,,`,
        `${optionSymbol},option,3,${openedOn},,${stocks[0]},call,100,${expiry},100,0.5`,
      ].join("\n");
      await page.getByLabel("CSV text").fill(`${csv}\n`);
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.url().includes("/positions/import")),
        page.getByRole("button", { name: /^Import/ }).click(),
      ]);
      expect(response.status()).toBe(200);
      const answer = (await response.json()) as ImportAnswer;
      expect(answer.imported).toBe(4);
      const byLine = new Map(answer.warnings.map((warning) => [warning.line, warning]));
      expect(byLine.get(4)).toMatchObject({ symbol: "ZZZQ", reason: "no_prices" });
      expect(byLine.get(5)).toMatchObject({ symbol: optionSymbol, reason: "expired" });
      expect(byLine.has(2) || byLine.has(3)).toBe(false);
      // The history run starts now: a picture of the indicator, if it is still up (it is asserted below).
      await heatmapPage
        .getByTestId("history-progress")
        .waitFor({ timeout: 5_000 })
        .then(
          () => screenshot(heatmapPage, "data-quality-history"),
          () => undefined,
        );

      // The page lists them by line, with the reason in words.
      const warnings = page.getByTestId("position-warnings");
      await warnings.waitFor();
      const lineFour = warnings.locator("li[data-line='4']");
      const lineFive = warnings.locator("li[data-line='5']");
      expect(await lineFour.innerText()).toMatch(/line 4\s*ZZZQ: No prices/);
      expect(await lineFive.innerText()).toMatch(/^line 5/);
      expect(await lineFive.innerText()).toContain(`${optionSymbol}: Expired`);
      expect(await warnings.locator("li").count()).toBe(answer.warnings.length);
      await screenshot(page, "data-quality-import");
    },
  );

  it("fills in the history on the open exposures page without a reload, saying so while it runs", {
    timeout: 180_000,
  }, async () => {
    const expected = computedDates.filter((date) => date >= openedOn);
    await expect
      .poll(
        async () => (await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolioId}/exposures`)).dates,
        { timeout: 150_000, interval: 1_000 },
      )
      .toEqual(expected);
    const heatmap = heatmapPage.getByTestId("heatmap");
    await expect
      .poll(async () => ((await heatmap.getAttribute("data-columns")) ?? "").split("|"), { timeout: 20_000 })
      .toEqual(expected);
    expect(await heatmapPage.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker)).toBe(
      "still here",
    );
    const seen = await heatmapPage.evaluate(() => (window as unknown as { e2eHistory: string[] }).e2eHistory);
    expect(seen.length, "the history indicator was shown").toBeGreaterThan(0);
    expect(seen.some((text) => /computing history… \d+ of \d+ dates/.test(text))).toBe(true);
    // Gone once the run is over.
    await expect.poll(() => heatmapPage.getByTestId("history-progress").count(), { timeout: 15_000 }).toBe(0);
  });

  it("lists the positions left out near the heatmap, and shows no 100% coverage while they are", async () => {
    const exposures = await apiJson<ExposuresResponse>(baseUrl, token, `/portfolios/${portfolioId}/exposures`);
    const quality = exposures.data_quality!;
    expect(quality.positions_excluded.map((item) => [item.symbol, item.reason]).sort()).toEqual(
      [
        [optionSymbol, "expired"],
        ["ZZZQ", "no_price"],
      ].sort(),
    );
    const last = exposures.dates.length - 1;
    const market = exposures.factors[0]!;
    expect(market.positions_used[last]).toBeLessThan(market.positions_total[last]!);

    // The page reloads its numbers as the history lands; the last load has the latest data_quality.
    await heatmapPage.reload();
    const leftOut = heatmapPage.getByTestId("left-out");
    await leftOut.waitFor();
    expect(await heatmapPage.getByTestId("left-out-line").innerText()).toBe(
      "2 positions left out: 1 unpriced, 1 expired",
    );
    await leftOut.locator("summary").click();
    const rows = leftOut.locator("tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await leftOut.locator("tr[data-reason=no_price]").innerText()).toMatch(/ZZZQ[\s\S]*Unpriced/);
    expect(await leftOut.locator("tr[data-reason=expired]").innerText()).toMatch(/Expired[\s\S]*expired on/);

    // Tooltip of the market beta on the last date: coverage by value and by count, never 100%.
    const heatmap = heatmapPage.getByTestId("heatmap");
    await heatmap.locator("canvas").waitFor();
    // The pointer only hovers what is on screen, and not under the sticky top bar.
    await heatmap.evaluate((element) => element.scrollIntoView({ block: "center" }));
    const columns = ((await heatmap.getAttribute("data-columns")) ?? "").split("|").length;
    const box = (await heatmap.getAttribute("data-plot-box"))!.split(",").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    const bounds = (await heatmap.boundingBox())!;
    await heatmapPage.mouse.move(
      bounds.x + box[0] + box[2] * ((columns - 0.5) / columns),
      bounds.y + box[1] + box[3] * (0.5 / exposures.factors.length),
    );
    const coverage = heatmapPage.getByTestId("tooltip-coverage");
    await coverage.waitFor();
    const expectedCoverage = coverageLabel({
      value: market.coverage[last],
      used: market.positions_used[last],
      total: market.positions_total[last],
    }).text;
    expect(await coverage.innerText()).toBe(expectedCoverage);
    expect(expectedCoverage).toContain(`${market.positions_used[last]} of ${market.positions_total[last]} positions`);
    expect(expectedCoverage).not.toMatch(noFullCoverage);
    await screenshot(heatmapPage, "data-quality-exposures");
    await heatmapPage.mouse.move(0, 0);

    // Table view: each cell of a date with a position left out carries its count; no cell says 100%.
    await heatmapPage.getByRole("button", { name: "Show table" }).click();
    const notes = heatmapPage.locator(".heatmap-table .cell-button[data-note]");
    await expect.poll(() => notes.count()).toBeGreaterThan(0);
    // The note is drawn from data-note (the cell's text stays its number); what it shows:
    const lastNotes = await heatmapPage.locator(".heatmap-table tbody tr").evaluateAll((trs) =>
      trs.map((tr) => {
        const button = tr.querySelector("td:last-child .cell-button");
        return button
          ? getComputedStyle(button, "::after")
              .content.replace(/^"|"$/g, "")
              .replace(/^none$/, "")
          : "";
      }),
    );
    expect(lastNotes).toEqual(
      exposures.factors.map((factor) =>
        factor.positions_used[last]! < factor.positions_total[last]!
          ? `${factor.positions_used[last]} of ${factor.positions_total[last]}`
          : "",
      ),
    );
    const tableText = await heatmapPage.locator(".heatmap-table").innerText();
    expect(tableText).not.toMatch(noFullCoverage);
    const titles = await heatmapPage
      .locator(".heatmap-table td[title]")
      .evaluateAll((cells) => cells.map((cell) => cell.getAttribute("title") ?? ""));
    expect(titles.length).toBeGreaterThan(0);
    for (const title of titles) expect(title).not.toMatch(noFullCoverage);
    await screenshot(heatmapPage, "data-quality-table");

    // Drill-down of the market beta on the last date: the left-out holdings are rows, with their reasons.
    await heatmapPage.locator(".heatmap-table tbody tr").first().locator("td").last().getByRole("button").click();
    const drill = heatmapPage.getByTestId("drill-down-table");
    await drill.waitFor();
    const leftOutRows = heatmapPage.getByTestId("drill-down-left-out");
    expect(await leftOutRows.locator("tr[data-reason=no_price]").innerText()).toMatch(/ZZZQ[\s\S]*Unpriced/);
    expect(await leftOutRows.locator("tr[data-reason=expired]").innerText()).toMatch(
      new RegExp(`${optionSymbol.split(" ")[0]}[\\s\\S]*Expired`),
    );
    const drillCoverage = await heatmapPage.getByTestId("drill-down-coverage").innerText();
    expect(drillCoverage).toContain(`${market.positions_used[last]} of ${market.positions_total[last]} positions`);
    expect(drillCoverage).not.toMatch(noFullCoverage);
    await screenshot(heatmapPage, "data-quality-drill-down");
    expect(heatmapErrors).toEqual([]);
    await heatmapPage.close();
  });

  it("flags the expired option and the unpriced stock in the portfolio's positions", async () => {
    await page.reload();
    const table = page.getByTestId("positions-table");
    await table.waitFor();
    const optionRow = table.locator("tr[data-position-id]").filter({ hasText: optionSymbol });
    await optionRow.getByTestId("expired-badge").waitFor();
    const unpriced = table.locator("tr[data-position-id]").filter({ hasText: "ZZZQ" });
    await expect.poll(() => unpriced.getByTestId("left-out-badge").innerText()).toBe("Unpriced");
    expect(await page.getByTestId("left-out-line").innerText()).toBe("2 positions left out: 1 unpriced, 1 expired");
    await screenshot(page, "data-quality-portfolio");
    await narrowScreenshot(page, "data-quality-portfolio");
  });

  it("shows the history run's own phases on the Batch page", async () => {
    const { runs } = await apiJson<{ runs: RunSummary[] }>(baseUrl, token, "/admin/batch/runs?limit=20");
    const history = runs.find((run) => run.trigger === "portfolio" && run.portfolio_id === portfolioId);
    expect(history).toBeDefined();
    expect(history!.phase_plan).toEqual(["portfolio_analytics", "publish"]);
    await page.goto(`${baseUrl}/batch?run=${history!.id}`);
    const detail = page.getByTestId("run-detail");
    await detail.waitFor();
    expect(await page.getByTestId("run-plan").innerText()).toBe("Portfolio analytics → Publish");
    expect(
      await page
        .locator("li[data-testid^=phase-]")
        .evaluateAll((items) => items.map((item) => item.getAttribute("data-phase"))),
    ).toEqual(["portfolio_analytics", "publish"]);
    await screenshot(page, "data-quality-batch");
  });
});

describe("a run's data warnings", () => {
  it(
    "shows a kept price conflict with both values, and dates added for stale betas (the run's answer rewritten: " +
      "the demo market never conflicts)",
    async () => {
      const { runs } = await apiJson<{ runs: RunSummary[] }>(baseUrl, token, "/admin/batch/runs?limit=50");
      const backfill = runs.find((run) => run.trigger === "backfill" && run.status === "completed");
      expect(backfill).toBeDefined();
      // Test instrumentation only: the synthetic demo provider is never asked about a symbol with
      // closes of another source, so no run of the demo has a conflict; this one's answer gets two.
      await page.route(`**/api/v1/admin/batch/runs/${backfill!.id}?*`, async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as {
          run: { dates: string[]; stale_dates: { date: string; symbols: string[] }[] };
          phases: {
            date: string;
            name: string;
            counts: Record<string, unknown>;
            issues?: { item: string; kind: string; reason: string; detail: string }[];
          }[];
        };
        const date = body.run.dates.at(-1)!;
        body.run.stale_dates = [{ date: body.run.dates[0]!, symbols: [stocks[0], stocks[1]] }];
        for (const phase of body.phases) {
          if (phase.date === date && phase.name === "market_data") {
            phase.counts["price_conflicts_kept"] = 2;
            phase.issues = [
              ...(phase.issues ?? []),
              {
                item: stocks[0],
                kind: "skipped",
                reason: "source_conflict",
                detail: `stored close 101.50 (csv), provider 100.10 (stooq): kept 101.50`,
              },
              {
                item: stocks[1],
                kind: "skipped",
                reason: "source_conflict",
                detail: `stored close 55.00 (upload), provider 54.20 (stooq): kept 55.00`,
              },
            ];
          }
          if (phase.date === date && phase.name === "universe_factors") phase.counts["recomputed_stale"] = 2;
        }
        await route.fulfill({ response, json: body });
      });
      await page.goto(`${baseUrl}/batch?run=${backfill!.id}`);
      const banner = page.getByTestId("run-data-warnings");
      await banner.waitFor();
      expect(await banner.locator("li[data-kind=price_conflicts_kept]").innerText()).toMatch(
        /2 price conflicts kept: the provider's close differs from an imported one/,
      );
      expect(await banner.locator("li[data-kind=recomputed_stale]").innerText()).toMatch(
        /2 symbols recomputed after a price revision/,
      );
      const phaseWarning = page.getByTestId("phase-table").locator("li.data-warning[data-kind=price_conflicts_kept]");
      await phaseWarning.waitFor();
      const text = await phaseWarning.innerText();
      expect(text).toContain("stored close 101.50 (csv), provider 100.10 (stooq)");
      expect(text).toContain(stocks[1]);
      expect(await page.getByTestId("stale-dates").innerText()).toMatch(
        /1 earlier date added: a price revision made their stored betas stale/,
      );
      await screenshot(page, "data-quality-batch-conflicts");
      await page.unroute(`**/api/v1/admin/batch/runs/${backfill!.id}?*`);
    },
  );
});

describe("a symbol's missing betas", () => {
  it("says why each is missing: the new ZZZQ has never been computed", async () => {
    const detail = await apiJson<SymbolDetailResponse>(baseUrl, token, "/data/symbols/ZZZQ");
    expect(detail.betas).toEqual([]);
    expect(detail.missing_betas.length).toBe(12);
    await page.goto(`${baseUrl}/universe/ZZZQ`);
    const betas = page.getByRole("table", { name: "Factor betas" });
    await betas.waitFor();
    const rows = betas.locator("tr[data-missing]");
    expect(await rows.count()).toBe(12);
    const labels: Record<string, string> = { not_computed: "Not computed", no_prices: "No prices" };
    for (const gap of detail.missing_betas) {
      const cell = betas.locator(`tr[data-factor="${gap.factor_key}"] [data-testid=missing-beta-reason]`);
      expect(labels[gap.reason], gap.reason).toBeDefined();
      expect(await cell.innerText()).toContain(labels[gap.reason]!);
      expect(await cell.getAttribute("title")).toBe(gap.detail);
    }
    // Never a bare dash or 0 where the beta would be.
    for (const text of await rows.locator("td").allInnerTexts()) expect(text.trim()).not.toMatch(/^(\u2014|0|0\.000)$/);
    await screenshot(page, "data-quality-symbol");
  });

  it("says a delisted symbol's betas are missing because it is inactive, not because a run missed it", async () => {
    // The demo market delists a documented equity (worker/market-data/synthetic.ts) and the seed
    // stores it inactive, so the batch no longer computes it: its page must say that, not
    // suggest that the next run will compute it.
    const date = computedDates.at(-1)!;
    const market = generateSyntheticMarket(demoMarketOptions(date));
    const delisted = market.instruments.find((instrument) => instrument.gap === "delisting");
    expect(delisted, "the demo market has a delisted equity").toBeDefined();
    const symbol = delisted!.symbol;
    const detail = await apiJson<SymbolDetailResponse>(baseUrl, token, `/data/symbols/${encodeURIComponent(symbol)}`);
    expect(detail.is_active).toBe(false);
    expect(detail.betas).toEqual([]);
    expect(detail.missing_betas.length).toBeGreaterThan(0);
    for (const missing of detail.missing_betas) {
      expect(missing.reason).toBe("not_computed");
      expect(missing.detail).toContain("inactive in the universe");
      expect(missing.detail).not.toContain("the next run computes it");
    }
    const gap = detail.missing_betas[0]!;
    await page.goto(`${baseUrl}/universe/${encodeURIComponent(symbol)}`);
    const cell = page
      .getByRole("table", { name: "Factor betas" })
      .locator(`tr[data-factor="${gap.factor_key}"] [data-testid=missing-beta-reason]`);
    await cell.waitFor();
    expect(await cell.innerText()).toContain("Not computed");
    expect(await cell.getAttribute("title")).toBe(gap.detail);
    await screenshot(page, "data-quality-symbol-inactive");
  });

  it("had no page errors", () => {
    expect(errors).toEqual([]);
  });
});
