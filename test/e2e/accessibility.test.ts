// Accessibility in Chromium against the running stack: axe-core (the devDependency's own build, injected
// with page.evaluate, which the app's strict CSP does not govern) on every page state a user opens, at
// 1280×800 and at a phone's 390×844, with no serious or critical violation; at 390 px nothing is wider than
// the window. The states: sign-in (with a refusal shown), the exposures heatmap, its table, benchmark and
// active views and a drill-down, every route, the 404 page, the risk page's stress builder with a result,
// the what-if page with a suggested hedge and a portfolio's CSV import with its refusal listed. A live alert
// toast is checked where one is raised (alerts.test.ts); axe itself is in axe.ts.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { seriousViolations } from "./axe.ts";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let token: string;
let portfolioId: string;
let symbol: string;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  portfolioId = portfolios[0]!.id;
  const { positions } = await apiJson<{ positions: { symbol: string; instrument: string }[] }>(
    baseUrl,
    token,
    `/portfolios/${portfolioId}/positions`,
  );
  symbol = positions.find((position) => position.instrument === "stock")!.symbol;
});

afterAll(async () => {
  await browser?.close();
});

/** Waits until the page shows its heading and no part of it is still loading. */
async function settle(page: Page): Promise<void> {
  await page.locator("h1").first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll(".state-loading, [aria-busy='true']").length === 0);
  // What the last render set off (resize observers, the re-render they ask for) lands in the next frames.
  await page.evaluate(
    () => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)))),
  );
}

/** No serious or critical axe violation and, at a phone's width, nothing wider than the window. */
async function expectAccessible(page: Page, state: string): Promise<void> {
  await settle(page);
  expect(await seriousViolations(page), `axe on ${state}`).toEqual([]);
  const width = page.viewportSize()!.width;
  if (width < 760)
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${state}: page width`).toBeLessThanOrEqual(
      width,
    );
}

const widths = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

describe.each(widths)("at $width px ($name)", ({ name, width, height }) => {
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    context = await newContext(browser, { width, height });
    page = await context.newPage();
    errors = watchErrors(page);
  });

  afterAll(async () => {
    await context?.close();
  });

  it("the sign-in page, before and after a refused token; the check itself catches low contrast", async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByLabel("Token").waitFor();
    await expectAccessible(page, "sign-in");
    await page.getByLabel("Token").fill("not a token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("This token cannot be used").waitFor();
    await expectAccessible(page, "sign-in with a refusal");
    // The harness finds what it is there to find: grey #aaa on white (2.3:1) is a serious violation.
    await page.evaluate(() => {
      const probe = document.createElement("p");
      probe.id = "contrast-probe";
      probe.style.color = "#aaaaaa";
      probe.textContent = "Too faint to read";
      document.querySelector("main, body")!.append(probe);
    });
    const found = await seriousViolations(page);
    expect(found.join("\n")).toMatch(/^color-contrast \(serious, 1×\)[\s\S]*#contrast-probe/);
    await page.evaluate(() => document.getElementById("contrast-probe")!.remove());
  });

  it("the exposures heatmap, its table and its benchmark and active views", async () => {
    await page.goto(`${baseUrl}/?portfolio=${portfolioId}#token=${token}`);
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    await expectAccessible(page, "exposures");
    await screenshot(page, `a11y-exposures-${name}`);
    await page.getByRole("button", { name: "Show table" }).click();
    await page.locator(".heatmap-table").waitFor();
    await expectAccessible(page, "exposures, table shown");
    await page.getByRole("radio", { name: "Benchmark" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("view")).toBe("benchmark");
    await expectAccessible(page, "exposures, benchmark view");
    await page.getByRole("radio", { name: "Active" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("view")).toBe("active");
    await expectAccessible(page, "exposures, active view");
    await page.getByRole("radio", { name: "Portfolio", exact: true }).click();
    await page.getByRole("button", { name: "Hide table" }).click();
  });

  it("a drill-down opened from the heatmap", async () => {
    // From the keyboard: the same at every width, wherever the cells are drawn.
    await page.getByTestId("heatmap").focus();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Enter");
    await page.getByTestId("drill-down-table").waitFor();
    await expectAccessible(page, "exposures, drill-down open");
    await screenshot(page, `a11y-drill-down-${name}`);
  });

  const routes = [
    "/universe",
    "/universe/:symbol",
    "/factors",
    "/risk",
    "/stress",
    "/what-if",
    "/portfolios",
    "/portfolios/:id",
    "/alerts",
    "/batch",
    "/no-such-page",
  ];
  it.each(routes)("the page at %s", async (route) => {
    await page.goto(`${baseUrl}${route.replace(":symbol", symbol).replace(":id", portfolioId)}`);
    await expectAccessible(page, route);
  });

  it("a scrolling table's frame is a named tab stop only while it scrolls", async () => {
    await page.goto(`${baseUrl}/portfolios`);
    const frame = page.getByRole("region", { name: "Portfolio table" });
    await frame.locator("table").waitFor();
    const scrolls = await frame.evaluate((element) => element.scrollWidth > element.clientWidth + 1);
    // The list's columns need about 850 px: a phone scrolls them, a desktop shows them whole.
    expect(scrolls).toBe(width < 760);
    await expect.poll(() => frame.getAttribute("tabindex")).toBe(scrolls ? "0" : null);
    if (scrolls) {
      await frame.focus();
      await page.keyboard.press("ArrowRight");
      await expect.poll(() => frame.evaluate((element) => element.scrollLeft)).toBeGreaterThan(0);
    }
  });

  it("the risk page's stress builder with a result", async () => {
    await page.goto(`${baseUrl}/risk?portfolio=${portfolioId}`);
    await settle(page);
    const shock = page.getByTestId("risk-shock-market");
    await shock.scrollIntoViewIfNeeded();
    await shock.fill("-10");
    await page.getByTestId("risk-stress-total").waitFor();
    await expectAccessible(page, "risk, stress built");
    await screenshot(page, `a11y-risk-stress-${name}`);
  });

  it("the what-if page with a suggested hedge", async () => {
    await page.goto(`${baseUrl}/what-if?portfolio=${portfolioId}`);
    await settle(page);
    await page.getByTestId("hedge-open").click();
    await expect.poll(() => page.getByTestId("hedge-status").innerText(), { timeout: 20_000 }).toMatch(/^Hedge as of/);
    await page.getByTestId("hedge-trades").waitFor();
    await expectAccessible(page, "what-if, hedge suggested");
    await screenshot(page, `a11y-what-if-hedge-${name}`);
  });

  it("a portfolio's CSV import with its refusal listed", async () => {
    await page.goto(`${baseUrl}/portfolios/${portfolioId}`);
    await settle(page);
    // All or nothing: a refused import writes nothing, so the shared demo data stays as it is.
    await page.getByLabel("CSV text").fill("symbol,instrument,quantity,opened_on\nQQQ,bond,5,2026-01-05\n");
    await page.getByRole("button", { name: /^Import/ }).click();
    await page.getByRole("alert").filter({ hasText: "Import refused" }).waitFor();
    await expectAccessible(page, "portfolio, import refused");
    await screenshot(page, `a11y-portfolio-import-${name}`);
  });

  it("had no page errors", () => {
    expect(errors).toEqual([]);
  });
});
