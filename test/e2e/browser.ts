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

/**
 * The canvas pixel (RGB) inside a heatmap cell, a fraction `across` of its width from its left
 * edge (clear of the printed number), read through the chart's data attributes.
 */
export async function heatmapCellPixel(
  target: Page,
  cell: { row: number; column: number },
  across = 0.1,
): Promise<[number, number, number]> {
  return target.evaluate(
    ({ row, column, across }) => {
      const root = document.querySelector<HTMLElement>("[data-testid=heatmap]")!;
      const canvas = root.querySelector("canvas")!;
      const [left, top, width, height] = root.dataset["plotBox"]!.split(",").map(Number) as [
        number,
        number,
        number,
        number,
      ];
      const columns = root.dataset["columns"]!.split("|").length;
      const rows = root.dataset["rows"]!.split("|").length;
      const ratio = canvas.width / canvas.clientWidth;
      const x = (left + (column + across) * (width / columns)) * ratio;
      const y = (top + (row + 0.5) * (height / rows)) * ratio;
      const data = canvas.getContext("2d")!.getImageData(Math.round(x), Math.round(y), 1, 1).data;
      return [data[0]!, data[1]!, data[2]!] as [number, number, number];
    },
    { ...cell, across },
  );
}

/**
 * Test instrumentation only: keeps a handle on every WebSocket the page opens
 * (`window.e2eSockets`), so that a test can drop one (`dropLastSocket`) or count them.
 */
export async function keepSockets(target: Page): Promise<void> {
  await target.addInitScript(() => {
    const Native = window.WebSocket;
    const sockets: WebSocket[] = [];
    (window as unknown as { e2eSockets: WebSocket[] }).e2eSockets = sockets;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  });
}

/** Closes the page's newest WebSocket (kept by `keepSockets`) with `reason`. */
export async function dropLastSocket(target: Page, reason: string): Promise<void> {
  await target.evaluate(
    (why) => (window as unknown as { e2eSockets: WebSocket[] }).e2eSockets.at(-1)!.close(4001, why),
    reason,
  );
}
