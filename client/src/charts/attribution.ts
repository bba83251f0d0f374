// Cumulative P&L attribution: uPlot areas of each risk factor's cumulative P&L stacked with the
// specific P&L (bands between consecutive running sums), and the cumulative P&L as a dark line,
// which the top of the stack meets on every day (the parts add up to the P&L, §11). x is the
// day's index; the axis prints dates.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatDateTick, formatDollars } from "../lib/format.ts";
import type { AttributionStack } from "../lib/risk-view.ts";

export interface AttributionChartData {
  stack: AttributionStack;
  labels: string[];
  colors: string[];
}

export interface AttributionChart {
  setData(data: AttributionChartData): void;
  setSize(width: number, height: number): void;
  /** The plot's canvas (for a PNG), or null before the first data. */
  canvas(): HTMLCanvasElement | null;
  destroy(): void;
}

const font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** `#rrggbb` at an opacity, for the stacked areas (the boundary lines keep the full colour). */
function translucent(color: string, alpha: number): string {
  const value = Number.parseInt(color.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

export function createAttributionChart(
  root: HTMLElement,
  width: number,
  height: number,
  onCursor: (index: number | null) => void,
): AttributionChart {
  let plot: uPlot | null = null;
  let size = { width, height };

  function build(data: AttributionChartData): void {
    plot?.destroy();
    const { stack } = data;
    const xs = stack.dates.map((_, i) => i);
    plot = new uPlot(
      {
        width: size.width,
        height: size.height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 5 } },
        scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, xs.length - 0.5)] } },
        axes: [
          {
            font,
            stroke: "#52606d",
            grid: { stroke: "#eef2f6", width: 1 },
            splits: () => {
              const max = Math.max(2, Math.floor(size.width / 110));
              const step = Math.max(1, Math.ceil(xs.length / max));
              return xs.filter((_, i) => (xs.length - 1 - i) % step === 0);
            },
            values: (_u, splits) =>
              splits.map((x, i) => {
                const date = stack.dates[x];
                const previousSplit = splits[i - 1];
                return date
                  ? formatDateTick(date, previousSplit === undefined ? undefined : stack.dates[previousSplit])
                  : "";
              }),
          },
          {
            font,
            stroke: "#52606d",
            grid: { stroke: "#eef2f6", width: 1 },
            size: 64,
            values: (_u, splits) => splits.map((v) => formatDollars(v)),
          },
        ],
        series: [
          {},
          ...stack.layers.map((layer, j) => ({
            label: data.labels[j] ?? layer.key,
            stroke: data.colors[j] ?? "#7F7F7F",
            width: 1,
            // The bottom layer fills down to zero; the others fill to the layer below (bands).
            ...(j === 0 ? { fill: translucent(data.colors[j] ?? "#7F7F7F", 0.35), fillTo: 0 } : {}),
            points: { show: false },
          })),
          {
            label: "P&L",
            stroke: "#1f2933",
            width: 2.5,
            points: { show: false },
          },
        ],
        bands: stack.layers.slice(1).map((_, i) => ({
          series: [i + 2, i + 1] as [number, number],
          fill: translucent(data.colors[i + 1] ?? "#7F7F7F", 0.35),
        })),
        hooks: {
          setCursor: [
            (u) => {
              const index = u.cursor.idx;
              onCursor(index === null || index === undefined ? null : index);
            },
          ],
        },
      },
      [xs, ...stack.stacked, stack.pnl],
      root,
    );
  }

  return {
    setData(data) {
      build(data);
    },
    setSize(width, height) {
      size = { width, height };
      plot?.setSize(size);
    },
    canvas() {
      return plot?.root.querySelector("canvas") ?? null;
    },
    destroy() {
      plot?.destroy();
      plot = null;
    },
  };
}
