// Issue 20, point 9 (dates), in Chromium at 1280 and 390 px: one date format everywhere. No page
// has a native date input (whose format follows the locale: mm/dd/yyyy in en-US); every date
// field takes and shows YYYY-MM-DD, and every date the pages print is written so. A malformed
// or impossible date is said under its field and stops the form; the header gives the token's
// expiry as YYYY-MM-DD HH:MM UTC (computed here from the token's exp); the CSV import says what
// it accepts and refuses a line dated 12/01/2026 naming the line and the field.
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiJson, artifactsDir, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
/** A portfolio of this test's own (empty: nothing here writes to it). */
let portfolioId: string;
/** A demo portfolio holding options: the what-if page shows their expiry fields. */
let optionsPortfolioId: string;
/** The header's expected text, from the token's own exp claim. */
let expiryText: string;

/** Anything written like a date: 2026-12-03, 12/03/2026, 3.12.2026, 2026/12/03. */
const dateLike = /\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/g;
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { exp: number };
  const expiry = new Date(claims.exp * 1000).toISOString();
  expiryText = `token expires ${expiry.slice(0, 10)} ${expiry.slice(11, 16)} UTC`;

  const created = await apiJson<{ id: string }>(baseUrl, token, "/portfolios", {
    method: "POST",
    body: JSON.stringify({ name: "Dates (clarity)" }),
  });
  portfolioId = created.id;
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  for (const portfolio of portfolios) {
    const { positions } = await apiJson<{ positions: { instrument: string }[] }>(
      baseUrl,
      token,
      `/portfolios/${portfolio.id}/positions`,
    );
    if (positions.some((position) => position.instrument === "option")) {
      optionsPortfolioId = portfolio.id;
      break;
    }
  }
  expect(optionsPortfolioId).toBeDefined();

  context = await newContext(browser);
  page = await context.newPage();
  errors = watchErrors(page);
  await page.goto(`${baseUrl}/batch#token=${token}`);
  await page.locator("#page-title").waitFor();
});

afterAll(async () => {
  await browser?.close();
});

/** Goes to `path` and waits until nothing on it is loading. */
async function open(path: string): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.locator("#page-title").waitFor();
  await expect.poll(() => page.locator('.state-loading, [aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0);
  await page.waitForTimeout(300);
}

/** The page's visible text, less the import card's list of refused forms (written wrong on purpose). */
async function visibleText(): Promise<string> {
  const text = await page.locator("main").innerText();
  const refused = page.getByTestId("import-date-format");
  return (await refused.count()) > 0 ? text.replace(await refused.innerText(), "") : text;
}

const pages = [
  { name: "exposures", path: () => "/", datesShown: true },
  { name: "risk", path: () => "/risk", datesShown: true },
  { name: "stress", path: () => "/stress", datesShown: true },
  { name: "what-if", path: () => `/what-if?portfolio=${encodeURIComponent(optionsPortfolioId)}`, datesShown: true },
  { name: "portfolio", path: () => `/portfolios/${encodeURIComponent(portfolioId)}`, datesShown: true },
  { name: "batch", path: () => "/batch", datesShown: true },
  // The alerts depend on what other tests did: the page may list none, and so no date.
  { name: "alerts", path: () => "/alerts", datesShown: false },
] as const;

describe.each([1280, 390])("at %i px", (width) => {
  it("shows no native date input, and every date field and printed date as YYYY-MM-DD", async () => {
    await page.setViewportSize({ width, height: 800 });
    let dateFields = 0;
    for (const target of pages) {
      await open(target.path());
      if (target.name === "portfolio") await page.getByRole("button", { name: "Add position", exact: true }).click();
      expect(await page.locator('input[type="date"]').count(), target.name).toBe(0);

      const fields = page.locator("input.date-input");
      for (const field of await fields.all()) {
        dateFields += 1;
        expect(await field.getAttribute("type")).toBe("text");
        expect(await field.getAttribute("placeholder")).toBe("YYYY-MM-DD");
        expect(await field.getAttribute("inputmode")).toBe("numeric");
        const value = await field.inputValue();
        if (value !== "") expect(value, `${target.name} ${await field.getAttribute("id")}`).toMatch(isoDate);
      }

      const text = await visibleText();
      const dates = text.match(dateLike) ?? [];
      for (const date of dates) expect(date, target.name).toMatch(isoDate);
      if (target.datesShown) expect(dates.length, `${target.name} shows its dates`).toBeGreaterThan(0);
      expect(text, target.name).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);

      // The header: the token's expiry in the same format, inside the window at any width.
      const expiry = page.getByTestId("token-expiry");
      expect(await expiry.innerText()).toBe(expiryText);
      for (const element of [expiry, page.getByRole("button", { name: "Sign out" })]) {
        const box = await element.boundingBox();
        expect(box).not.toBeNull();
        expect(box!.x + box!.width).toBeLessThanOrEqual(width);
      }
      await screenshot(page, `dates-${target.name}-${width}`);
    }
    // The run date, the risk page's three, stress's, what-if's expiries, the new position's two.
    expect(dateFields).toBeGreaterThanOrEqual(8);
  }, 180_000);

  it("says what is wrong with a malformed or impossible date under its field, and does not submit", async () => {
    await page.setViewportSize({ width, height: 800 });
    await open(`/portfolios/${encodeURIComponent(portfolioId)}`);
    const writes: string[] = [];
    const record = (request: { method: () => string; url: () => string }) => {
      if (request.method() === "POST" && request.url().includes("/positions")) writes.push(request.url());
    };
    page.on("request", record);

    await page.getByRole("button", { name: "Add position", exact: true }).click();
    const form = page.getByRole("form", { name: "Add position" });
    await form.getByLabel("Symbol").fill("AAPL");
    await form.getByLabel("Quantity").fill("10");
    const opened = form.getByLabel("Opened on");
    // The hint is part of the field's description.
    expect(await opened.getAttribute("aria-describedby")).toBe("new-position-opened-on-hint");
    expect(await page.locator("#new-position-opened-on-hint").innerText()).toBe("YYYY-MM-DD");

    const error = page.locator("#new-position-opened-on-error");
    await opened.fill("2026-02-30");
    await form.getByRole("button", { name: "Add position" }).click();
    await expect.poll(() => error.innerText()).toBe("2026-02-30 is not a real date: February 2026 has 28 days");
    expect(await opened.getAttribute("aria-invalid")).toBe("true");

    await opened.fill("12/01/2026");
    await opened.press("Enter");
    await expect.poll(() => error.innerText()).toBe("12/01/2026 is not a date in YYYY-MM-DD form");
    await screenshot(page, `dates-invalid-${width}`);
    await page.waitForTimeout(500);
    expect(writes).toEqual([]);
    expect(await form.isVisible()).toBe(true);

    // Digits alone get their hyphens (a phone's numeric keypad has no "-"), and the error goes.
    await opened.fill("");
    await opened.pressSequentially("20260105");
    expect(await opened.inputValue()).toBe("2026-01-05");
    expect(await error.count()).toBe(0);
    expect(await opened.getAttribute("aria-invalid")).toBeNull();
    await form.getByRole("button", { name: "Cancel" }).click();
    page.off("request", record);

    // The batch: a run date that is not one leaves the Run button disabled.
    await open("/batch");
    const runDate = page.getByLabel("Run date");
    await runDate.fill("2026-13-01");
    await expect
      .poll(() => page.locator("#run-date-error").innerText())
      .toBe("2026-13-01 is not a real date: the month must be 01 to 12");
    expect(await page.getByRole("button", { name: /Run batch|Rerun batch/ }).isDisabled()).toBe(true);
  }, 90_000);

  it("shows the CSV import's accepted format and refuses a line dated 12/01/2026 by line and field", async () => {
    await page.setViewportSize({ width, height: 800 });
    await open(`/portfolios/${encodeURIComponent(portfolioId)}`);
    const card = page.getByRole("region", { name: "Import positions from CSV" });
    const format = card.getByTestId("import-format");
    expect(await format.getByRole("heading", { name: "Accepted format" }).isVisible()).toBe(true);
    expect(await format.getByTestId("import-date-format").innerText()).toMatch(/Dates YYYY-MM-DD \(2026-01-05\) only/);
    const example = await format.locator("pre.example").innerText();
    expect(example.split("\n")[0]).toMatch(/^symbol,instrument,quantity,/);
    expect(example).toMatch(/,\d{4}-\d{2}-\d{2},/);

    await card
      .getByLabel("CSV text")
      .fill("symbol,instrument,quantity,opened_on\nAAPL,stock,10,2026-01-05\nMSFT,stock,5,12/01/2026\n");
    const answer = page.waitForResponse((response) => response.url().includes("/positions/import"));
    await card.getByRole("button", { name: "Import positions" }).click();
    const response = await answer;
    expect(response.status()).toBe(400);
    const body = (await response.json()) as { error: { details: { line: number; path: string; message: string }[] } };
    expect(body.error.details).toEqual([
      { line: 3, path: "opened_on", message: 'opened_on must be a calendar date YYYY-MM-DD, got "12/01/2026"' },
    ]);
    const refusal = card.getByRole("alert");
    await expect.poll(() => refusal.innerText()).toMatch(/Import refused/);
    const issue = await refusal.locator("li").innerText();
    expect(issue).toContain("line 3");
    expect(issue).toContain("opened_on");
    expect(issue).toContain("12/01/2026");
    await card.screenshot({ path: path.join(artifactsDir, `dates-import-${width}.png`) });
    const { positions } = await apiJson<{ positions: unknown[] }>(
      baseUrl,
      token,
      `/portfolios/${portfolioId}/positions`,
    );
    expect(positions).toEqual([]);
  }, 60_000);
});

describe("the pages", () => {
  it("logged no error", () => {
    expect(errors).toEqual([]);
  });
});
