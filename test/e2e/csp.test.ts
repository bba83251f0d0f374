// The dashboard under its Content-Security-Policy (client/public/_headers, applied by wrangler
// dev as by Workers static assets) and the API docs page under its own: every main page is
// opened in Chromium with the demo token and must raise no CSP violation at all, while the
// header is on the HTML document. A deliberate inline script shows the listener does see one.
// Also the token's storage (client/src/state/session.ts): it survives a reload in its tab, and
// another tab is not signed in.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiJson, launchBrowser, newContext, screenshot, tokenFor, watchErrors } from "./browser.ts";

const baseUrl = inject("baseUrl");
const secret = inject("jwtSecret");

let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let token: string;
let portfolioId: string;
/** Every violation any page of the context reported, from the page itself and from the console. */
const violations: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
  token = await tokenFor(secret);
  const { portfolios } = await apiJson<{ portfolios: { id: string }[] }>(baseUrl, token, "/portfolios");
  portfolioId = portfolios[0]!.id;
  context = await newContext(browser);
  // Reported out of each document as it happens: a navigation would lose what a page kept itself.
  await context.exposeFunction("e2eReportCspViolation", (text: string) => violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = (window as unknown as { e2eReportCspViolation: (text: string) => void }).e2eReportCspViolation;
      void report(`${event.effectiveDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  context.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(`console: ${message.text()}`);
  });
  page = await context.newPage();
  errors = watchErrors(page);
});

afterAll(async () => {
  await browser?.close();
});

/** The page's CSP header, parsed into directive → sources. */
function directives(header: string | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (header ?? "").split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name, sources);
  }
  return map;
}

describe("the dashboard under its CSP", () => {
  it("serves the HTML document with a strict policy and the other security headers", async () => {
    const response = await page.goto(`${baseUrl}/#token=${token}`);
    const headers = response!.headers();
    const csp = directives(headers["content-security-policy"]);
    expect(csp.get("default-src")).toEqual(["'self'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("img-src")).toEqual(["'self'", "data:", "blob:"]);
    expect(csp.get("object-src")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    expect(csp.get("form-action")).toEqual(["'self'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(headers["content-security-policy"]).not.toContain("unsafe-");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    // A client-side route (the single-page fallback) gets the same policy.
    const fallback = await fetch(`${baseUrl}/portfolios/${portfolioId}`);
    expect(fallback.headers.get("content-security-policy")).toBe(headers["content-security-policy"]);
  });

  it("renders the heatmap, goes live over the WebSocket and exports CSV and PNG without a violation", async () => {
    await page.getByTestId("heatmap").locator("canvas").waitFor();
    await expect.poll(() => page.getByTestId("connection-state").innerText(), { timeout: 15_000 }).toBe("Live");
    const exportButton = (name: string) => page.getByRole("button", { name }).first();
    const [csv] = await Promise.all([
      page.waitForEvent("download"),
      (async () => {
        await page.getByText("Export CSV", { exact: true }).click();
        await page.getByRole("button", { name: "Wide: a row per factor" }).click();
      })(),
    ]);
    expect(csv.suggestedFilename()).toMatch(/\.csv$/);
    const [png] = await Promise.all([page.waitForEvent("download"), exportButton("Export PNG").click()]);
    expect(png.suggestedFilename()).toMatch(/\.png$/);
    await screenshot(page, "csp-exposures");
    expect(violations).toEqual([]);
  });

  it("opens every other main page without a violation", async () => {
    await page.goto(`${baseUrl}/universe`);
    const table = page.getByRole("table", { name: "Symbols" });
    await table.waitFor();
    await table.locator("a.symbol-link").first().click();
    await page.getByRole("table", { name: "Factor betas" }).waitFor();

    await page.goto(`${baseUrl}/stress?portfolio=${portfolioId}`);
    await page.getByRole("heading", { name: "Stress test", level: 1 }).waitFor();
    await page.getByRole("radio").first().waitFor();

    await page.goto(`${baseUrl}/what-if?portfolio=${portfolioId}`);
    await expect.poll(() => page.getByTestId("what-if-status").innerText(), { timeout: 15_000 }).toMatch(/^As of/);

    await page.goto(`${baseUrl}/portfolios`);
    await page.getByTestId("portfolio-table").waitFor();
    await page.goto(`${baseUrl}/portfolios/${portfolioId}`);
    await page.getByTestId("positions-table").waitFor();

    await page.goto(`${baseUrl}/batch`);
    await page.getByRole("heading", { name: "Batch", level: 1 }).waitFor();
    await page.getByTestId("run-table").waitFor();
    await screenshot(page, "csp-batch");

    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("keeps the token for reloads of its tab only (sessionStorage)", async () => {
    await page.reload();
    await page.getByRole("heading", { name: "Batch", level: 1 }).waitFor();
    const key = "factor-exposure.token";
    const stored = await page.evaluate((name) => [sessionStorage.getItem(name), localStorage.getItem(name)], key);
    expect(stored).toEqual([token, null]);

    const other = await context.newPage();
    await other.goto(`${baseUrl}/universe`);
    await other.getByLabel("Token").waitFor();
    expect(await other.getByRole("table", { name: "Symbols" }).count()).toBe(0);
    await other.close();
  });

  it("does block an inline script, and the test sees it (the listener works)", async () => {
    const probe = await context.newPage();
    await probe.goto(`${baseUrl}/#token=${token}`);
    await probe.getByTestId("heatmap").locator("canvas").waitFor();
    expect(violations).toEqual([]);
    const ran = await probe.evaluate(async () => {
      const script = document.createElement("script");
      script.textContent = "window.e2eInlineRan = true";
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return (window as unknown as { e2eInlineRan?: boolean }).e2eInlineRan ?? false;
    });
    expect(ran).toBe(false);
    try {
      await expect.poll(() => violations.some((text) => /^script-src(-elem)? blocked inline/.test(text))).toBe(true);
    } finally {
      await probe.close();
      violations.length = 0;
    }
  });
});

describe("the API docs page under its own CSP", () => {
  it("loads its inline script and style (allowed by hash) and renders every operation, no violation", async () => {
    const response = await page.goto(`${baseUrl}/api/v1/docs`);
    const csp = directives(response!.headers()["content-security-policy"]);
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual([expect.stringMatching(/^'sha256-[A-Za-z0-9+/]+=*'$/)]);
    expect(csp.get("style-src")).toEqual([expect.stringMatching(/^'sha256-[A-Za-z0-9+/]+=*'$/)]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    await expect.poll(() => page.locator("section.op").count()).toBeGreaterThan(10);
    // The inline style applied: operations are boxed (border from the stylesheet).
    const firstOp = page.locator("section.op").first();
    const border = await firstOp.evaluate((element) => getComputedStyle(element).borderTopStyle);
    expect(border).toBe("solid");
    expect(violations).toEqual([]);
  });
});
