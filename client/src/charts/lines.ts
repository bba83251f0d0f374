// Exposure lines: uPlot time series of chosen factors, the portfolio solid and its benchmark
// dashed in the same colour. x is the date's index in the loaded range (as in the heatmap), so
// the two charts' cursors sync on dates; the axis prints the dates.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatDateTick, formatExposure } from "../lib/format.ts";

export interface LineSeries {
  label: string;
  color: string;
  dashed: boolean;
  values: (number | null)[];
}

export interface LinesData {
  xs: number[];
  dates: string[];
  series: LineSeries[];
}

/** Distinct, colour-blind-aware hues for up to 12 factors (Okabe–Ito, then Tableau's). */
export const lineColors = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#D55E00",
  "#56B4E9",
  "#000000",
  "#8C564B",
  "#7F7F7F",
  "#BCBD22",
  "#9467BD",
  "#17BECF",
];

const font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export interface LinesChart {
  setData(data: LinesData): void;
  setSize(width: number, height: number): void;
  destroy(): void;
}

export function createLines(
  root: HTMLElement,
  width: number,
  height: number,
  syncKey: string,
  onCursor: (index: number | null) => void,
): LinesChart {
  let plot: uPlot | null = null;
  let dates: string[] = [];
  let xs: number[] = [];
  let size = { width, height };

  function build(data: LinesData): void {
    plot?.destroy();
    dates = data.dates;
    xs = data.xs;
    plot = new uPlot(
      {
        width: size.width,
        height: size.height,
        legend: { show: false },
        cursor: {
          sync: { key: syncKey, setSeries: false },
          drag: { x: false, y: false, setScale: false },
          points: { size: 6 },
        },
        scales: {
          x: {
            time: false,
            range: () => {
              const first = xs[0];
              const last = xs.at(-1);
              return first === undefined || last === undefined ? [0, 1] : [first - 0.5, last + 0.5];
            },
          },
        },
        axes: [
          {
            font,
            stroke: "#52606d",
            grid: { stroke: "#eef2f6", width: 1 },
            splits: () => {
              const max = Math.max(2, Math.floor(size.width / 110));
              const step = Math.max(1, Math.ceil(xs.length / max));
              // Every step-th date counted back from the last, so the newest date is always labelled.
              return xs.filter((_, i) => (xs.length - 1 - i) % step === 0);
            },
            values: (_u, splits) =>
              splits.map((x, i) => {
                const date = dates[xs.indexOf(x)];
                const previousSplit = splits[i - 1];
                const previous = previousSplit === undefined ? undefined : dates[xs.indexOf(previousSplit)];
                return date ? formatDateTick(date, previous) : "";
              }),
          },
          {
            font,
            stroke: "#52606d",
            grid: { stroke: "#eef2f6", width: 1 },
            size: 56,
            values: (_u, splits) => splits.map((v) => formatExposure(v, 2)),
          },
        ],
        series: [
          {},
          ...data.series.map((line) => ({
            label: line.label,
            stroke: line.color,
            width: line.dashed ? 1.5 : 2,
            dash: line.dashed ? [6, 4] : undefined,
            spanGaps: false,
            points: { show: false },
          })),
        ],
        hooks: {
          setCursor: [
            (u) => {
              const index = u.cursor.idx;
              onCursor(index === null || index === undefined ? null : index);
            },
          ],
        },
      },
      [data.xs, ...data.series.map((line) => line.values)],
      root,
    );
  }

  return {
    setData(data) {
      // A different set of lines rebuilds the chart; the same lines only take new numbers.
      const current = plot;
      const sameShape =
        current !== null &&
        current.series.length === data.series.length + 1 &&
        data.series.every((line, i) => current.series[i + 1]?.label === line.label);
      if (sameShape) {
        dates = data.dates;
        xs = data.xs;
        current.setData([data.xs, ...data.series.map((line) => line.values)]);
      } else build(data);
    },
    setSize(width, height) {
      size = { width, height };
      plot?.setSize(size);
    },
    destroy() {
      plot?.destroy();
      plot = null;
    },
  };
}
