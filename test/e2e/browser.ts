// Debian's Chromium driven by playwright-core (never a downloaded browser), and the helpers the
// end-to-end tests share: signed-in pages, screenshots under test/e2e/artifacts/, tokens.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { allPermissions, mintDevToken } from "../../scripts/dev-token.ts";
import type { Permission } from "../../worker/auth/permissions.ts";

export const chromiumPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const artifactsDir = fileURLToPath(new URL("./artifacts/", import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
}

export async function tokenFor(
  secret: string,
  sub = "demo",
  permissions: readonly Permission[] = allPermissions,
  org: string | null = "demo-org",
): Promise<string> {
  return mintDevToken({ secret, sub, org, permissions });
}

/** A fresh browser context (its own storage) at 1280×800 and 2× pixels, as a high-DPI laptop. */
export async function newContext(
  browser: Browser,
  options: { width?: number; height?: number; scale?: number } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    deviceScaleFactor: options.scale ?? 2,
    acceptDownloads: true,
  });
}

/**
 * Collects uncaught page errors and console errors (asserted empty by the caller). The
 * browser's own "Failed to load resource" line for a 4xx is not an error of the page: the
 * tests cause refusals on purpose, and the page shows them.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (
      message.type() === "error" &&
      !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())
    )
      errors.push(message.text());
  });
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
}

/** Bearer-authenticated JSON from the API (the tests' expectations come from the API itself). */
export async function apiJson<T>(baseUrl: string, token: string, route: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${baseUrl}/api/v1${route}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
  const body: unknown = await response.json();
  if (!response.ok)
    throw new Error(`${init.method ?? "GET"} ${route}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body as T;
}
