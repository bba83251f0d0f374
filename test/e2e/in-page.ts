// Helpers that run code in the page (heatmap pixels, the live socket) for the end-to-end tests; kept
// apart from browser.ts, which Node scripts import too (bench:client) and whose types have no DOM.
import type { Page } from "playwright-core";

/**
 * The canvas pixel (RGB) inside a heatmap cell, a fraction `across` of its width from its left
 * edge and a fifth of its height from its top: clear of the printed number (centred, whose width
 * depends on the machine's fonts) and inside the dotted mark's inset.
 */
export async function heatmapCellPixel(
  target: Page,
  cell: { row: number; column: number },
  across = 0.1,
): Promise<[number, number, number]> {
  return target.evaluate(
    async ({ row, column, across }) => {
      const read = () => {
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
        const y = (top + (row + 0.2) * (height / rows)) * ratio;
        return canvas.getContext("2d")!.getImageData(Math.round(x), Math.round(y), 1, 1).data;
      };
      // A cell is always painted opaque; a transparent pixel is a canvas between a resize (which
      // clears it, e.g. when a scroll bar appears) and its redraw: read again on the next frames.
      let data = read();
      for (let frame = 0; frame < 60 && data[3] !== 255; frame++) {
        await new Promise((done) => requestAnimationFrame(done));
        data = read();
      }
      // Still transparent: no colour at all, which no expectation matches.
      if (data[3] !== 255) return [-1, -1, -1] as [number, number, number];
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
