// The factor heatmap, drawn by uPlot: rows are factors, columns dates (or portfolios). The
// cells are a canvas layer painted in uPlot's draw hook inside the plot box, so axes, the
// cursor, sizing, high-DPI scaling (uPlot sizes its canvas in device pixels) and cursor sync
// with the exposure lines all come from the same chart. Columns sit at integer x positions
// (`xs`): for dates, the date's index in the loaded range, which the lines chart shares. A cell
// whose exposure is not distinguishable from zero (|exposure| < 2 SE) has a dotted inner border;
// one whose value breaches a limit a solid orange-red outline inside the focus and selection ones.
// Each row has its own colour scale (lib/scale.ts `rowScales`: the factor's fixed one, or the
// row's own extent). The row labels are not drawn here: the chart leaves a blank strip of the
// labels' width on its left, and the view lays focusable label elements over it (hover and focus
// explain the factor; they stay put while the columns scroll). Numbers are printed only in cells
// at least as wide as the widest number's measured text.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatExposure } from "../lib/format.ts";
import { css, type DivergingScale, missingColor, type Rgb, textColorOn } from "../lib/scale.ts";

export interface HeatmapGrid {
  /** Column x positions (ascending integers) and their axis labels. */
  xs: number[];
  columnLabels: string[];
  /** Row labels, top to bottom (drawn by the view, not on the canvas; their count sets the rows). */
  rowLabels: string[];
  /** values[row][column]; null is missing. */
  values: (number | null)[][];
  /**
   * marked[row][column]: the value is not distinguishable from zero (|exposure| < 2 SE), drawn
   * with a dotted inner border; absent or false: not marked.
   */
  marked?: boolean[][];
  /**
   * breached[row][column]: the value breaches one of the portfolio's limits, drawn with a solid
   * outline; absent or false: not breached.
   */
  breached?: boolean[][];
}

export interface HeatmapCell {
  row: number;
  column: number;
}

export interface HeatmapOptions {
  width: number;
  height: number;
  syncKey?: string;
  onHover: (cell: HeatmapCell | null, position: { left: number; top: number } | null) => void;
  onClick: (cell: HeatmapCell) => void;
  /** The width in CSS pixels of the strip left of the cells that the view's row labels cover. */
  labelSpace: () => number;
  /** After each draw that changes it: whether the cells' numbers were printed (wide enough cells). */
  onNumbers?: (shown: boolean) => void;
}

export interface HeatmapChart {
  /** The grid and one colour scale per row (top to bottom). */
  setGrid(grid: HeatmapGrid, scales: readonly DivergingScale[]): void;
  setSelected(cell: HeatmapCell | null): void;
  setFocused(cell: HeatmapCell | null): void;
  setSize(width: number, height: number): void;
  /** The plot box in CSS pixels relative to the chart's root element (for tests and overlays). */
  plotBox(): { left: number; top: number; width: number; height: number };
  /**
   * The centre of a cell in CSS pixels relative to the chart's root element; null for a cell
   * outside the grid (one kept from before the grid lost columns).
   */
  cellCenter(cell: HeatmapCell): { left: number; top: number } | null;
  canvas(): HTMLCanvasElement;
  destroy(): void;
}

const font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const axisStroke = "#52606d";
/** The cells' number font, in CSS pixels (scaled by the pixel ratio when drawn). */
const numberFontPx = 11;
const numberFont = (px: number) => `${px}px system-ui, sans-serif`;
/** Space either side of a printed number, in CSS pixels. */
const numberPadding = 4;
/** The height a cell needs for a number, in CSS pixels. */
const numberHeight = 14;

let measure: CanvasRenderingContext2D | null | undefined;

/**
 * The width in CSS pixels a cell needs to print every value of `values` as the cells do
 * (`formatExposure(v, 2)` in the number font), padding included: measured with the font, so the
 * threshold follows the browser's glyphs rather than a guess (about 36 px for "+0.38").
 */
export function numberWidth(values: readonly (readonly (number | null)[])[]): number {
  measure ??= document.createElement("canvas").getContext("2d");
  // One sample per distinct text length: the digits are the same width in system fonts' numbers.
  const texts = new Map<number, string>([[5, "−8.88"]]);
  for (const row of values)
    for (const value of row)
      if (value !== null) {
        const text = formatExposure(value, 2);
        if (!texts.has(text.length)) texts.set(text.length, text);
      }
  let widest = 0;
  if (measure) {
    measure.font = numberFont(numberFontPx);
    for (const text of texts.values()) widest = Math.max(widest, measure.measureText(text).width);
  } else widest = 7 * Math.max(...texts.keys());
  return Math.ceil(widest + 2 * numberPadding);
}

/**
 * A cell not distinguishable from zero: a dotted border inside it, in the colour its text would
 * have (so it shows on light and dark fills, and without colour vision), apart from the solid
 * focus and selection outlines and the single diagonal of a missing cell.
 */
function drawMark(
  context: CanvasRenderingContext2D,
  fill: Rgb,
  left: number,
  top: number,
  width: number,
  height: number,
  breached: boolean,
): void {
  const ratio = uPlot.pxRatio;
  // Inside a breach outline (which ends 4 px in) when there is one, so both show.
  const inset = Math.min((breached ? 5.5 : 3) * ratio, width / 4, height / 4);
  if (width - 2 * inset <= 0 || height - 2 * inset <= 0) return;
  context.save();
  context.strokeStyle = css(textColorOn(fill));
  context.globalAlpha = 0.85;
  context.lineWidth = Math.max(1, ratio);
  context.setLineDash([Math.max(1, 1.5 * ratio), Math.max(1, 1.5 * ratio)]);
  context.strokeRect(left + inset, top + inset, width - 2 * inset, height - 2 * inset);
  context.restore();
}

/** The breach outline's colour: apart from focus (#2458c6), selection (#111827) and the scale's red and green. */
export const breachColor = "#d9480f";

/**
 * A cell whose value breaches a limit: a solid 2 px outline from 2 to 4 px inside the cell, just
 * within the focus and selection outlines (0 to 2 px), so a focused or selected breached cell
 * shows both; the dotted mark, when the cell has one, moves inside it.
 */
function drawBreach(context: CanvasRenderingContext2D, left: number, top: number, width: number, height: number): void {
  const ratio = uPlot.pxRatio;
  // Narrow cells (a long window) keep the outline, thinner and nearer the edge, rather than lose it.
  const lineWidth = Math.max(1, Math.min(2 * ratio, width / 4, height / 4));
  const inset = Math.min(2 * ratio + lineWidth / 2, width / 4, height / 4);
  if (width - 2 * inset <= 0 || height - 2 * inset <= 0) return;
  context.save();
  context.strokeStyle = breachColor;
  context.lineWidth = lineWidth;
  context.strokeRect(left + inset, top + inset, width - 2 * inset, height - 2 * inset);
  context.restore();
}

export function createHeatmap(root: HTMLElement, options: HeatmapOptions): HeatmapChart {
  let grid: HeatmapGrid = { xs: [], columnLabels: [], rowLabels: [], values: [] };
  let scales: readonly DivergingScale[] = [];
  /** The CSS width a cell needs for its number (`numberWidth` of the grid's values). */
  let numbersNeed = Number.POSITIVE_INFINITY;
  /** Whether the last draw printed the numbers (reported through `onNumbers` when it changes). */
  let numbersShown: boolean | null = null;
  let selected: HeatmapCell | null = null;
  let focused: HeatmapCell | null = null;
  let hovered: HeatmapCell | null = null;

  const rows = () => grid.rowLabels.length;
  /** Row r is drawn at y = rows − 1 − r, so row 0 is at the top. */
  const rowY = (row: number) => rows() - 1 - row;

  function columnOf(x: number): number {
    // xs are ascending integers; the nearest one.
    let best = -1;
    let distance = Infinity;
    for (const [i, columnX] of grid.xs.entries()) {
      const d = Math.abs(columnX - x);
      if (d < distance) {
        distance = d;
        best = i;
      }
    }
    return distance <= 0.5 ? best : -1;
  }

  /** The device-pixel rectangle of the cell in the column at `x` and in `row`. */
  function cellRect(u: uPlot, x: number, row: number): [number, number, number, number] {
    const y = rowY(row);
    // Whole device pixels so neighbouring cells neither overlap nor leave seams.
    const left = Math.round(u.valToPos(x - 0.5, "x", true));
    const right = Math.round(u.valToPos(x + 0.5, "x", true));
    const top = Math.round(u.valToPos(y + 0.5, "y", true));
    const bottom = Math.round(u.valToPos(y - 0.5, "y", true));
    return [left, top, right - left, bottom - top];
  }

  function drawCells(u: uPlot): void {
    // A const the callbacks below see (`scales` itself can be reassigned).
    const cellScales = scales;
    if (grid.xs.length === 0) return;
    const context = u.ctx;
    const ratio = uPlot.pxRatio;
    context.save();
    context.beginPath();
    context.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    context.clip();
    const gap = Math.max(1, Math.round(ratio));
    let cellWidth = Infinity;
    let cellHeight = Infinity;
    grid.xs.forEach((x, column) => {
      for (let row = 0; row < rows(); row++) {
        const [left, top, width, height] = cellRect(u, x, row);
        const value = grid.values[row]?.[column] ?? null;
        const color = value === null ? missingColor : (cellScales[row]?.color(value) ?? missingColor);
        context.fillStyle = css(color);
        context.fillRect(left, top, width - gap, height - gap);
        if (value === null) {
          // Missing is grey with a diagonal stroke: told apart from a small value without colour.
          context.strokeStyle = "rgba(82, 96, 109, 0.55)";
          context.lineWidth = ratio;
          context.beginPath();
          context.moveTo(left + 2 * ratio, top + height - gap - 2 * ratio);
          context.lineTo(left + width - gap - 2 * ratio, top + 2 * ratio);
          context.stroke();
        }
        const breached = value !== null && grid.breached?.[row]?.[column] === true;
        if (breached) drawBreach(context, left, top, width - gap, height - gap);
        if (value !== null && grid.marked?.[row]?.[column])
          drawMark(context, color, left, top, width - gap, height - gap, breached);
        cellWidth = Math.min(cellWidth, width - gap);
        cellHeight = Math.min(cellHeight, height - gap);
      }
    });
    // Values printed in the cells when the widest fits (wide columns: few dates, or portfolios);
    // narrower cells show none rather than overlapping ones (the tooltip and the table have them).
    const showNumbers = cellWidth >= numbersNeed * ratio && cellHeight >= numberHeight * ratio;
    if (showNumbers) {
      context.font = numberFont(Math.round(numberFontPx * ratio));
      context.textAlign = "center";
      context.textBaseline = "middle";
      grid.xs.forEach((x, column) => {
        for (let row = 0; row < rows(); row++) {
          const value = grid.values[row]?.[column] ?? null;
          if (value === null) continue;
          const [left, top, width, height] = cellRect(u, x, row);
          context.fillStyle = css(textColorOn(cellScales[row]?.color(value) ?? missingColor));
          context.fillText(formatExposure(value, 2), left + (width - gap) / 2, top + (height - gap) / 2);
        }
      });
    }
    // After the cells' own marks and breach outlines, so these stay on top of them.
    for (const [cell, stroke] of [
      [focused, "#2458c6"],
      [selected, "#111827"],
    ] as const) {
      // A cell outside the grid (kept from before it shrank) has no outline to draw.
      const x = cell ? grid.xs[cell.column] : undefined;
      if (!cell || x === undefined || cell.row >= rows()) continue;
      const [left, top, width, height] = cellRect(u, x, cell.row);
      context.strokeStyle = stroke;
      context.lineWidth = 2 * ratio;
      context.strokeRect(left + ratio, top + ratio, width - gap - 2 * ratio, height - gap - 2 * ratio);
    }
    context.restore();
    if (showNumbers !== numbersShown) {
      numbersShown = showNumbers;
      options.onNumbers?.(showNumbers);
    }
  }

  const plot = new uPlot(
    {
      width: options.width,
      height: options.height,
      legend: { show: false },
      cursor: {
        sync: options.syncKey ? { key: options.syncKey, setSeries: false } : undefined,
        points: { show: false },
        drag: { x: false, y: false, setScale: false },
        y: false,
      },
      scales: {
        x: {
          time: false,
          range: () => {
            const first = grid.xs[0];
            const last = grid.xs.at(-1);
            return first === undefined || last === undefined ? [0, 1] : [first - 0.5, last + 0.5];
          },
        },
        y: { range: () => [-0.5, Math.max(0, rows() - 0.5)] },
      },
      axes: [
        {
          stroke: axisStroke,
          font,
          grid: { show: false },
          ticks: { show: true, size: 4, stroke: "#bcccdc" },
          splits: (u) => {
            const count = grid.xs.length;
            if (count === 0) return [];
            // About one label per 80 CSS pixels, whatever the chart's current width.
            const max = Math.max(2, Math.floor(u.bbox.width / uPlot.pxRatio / 80));
            const step = Math.max(1, Math.ceil(count / max));
            // Every step-th column counted back from the last, so the newest date is always labelled.
            return grid.xs.filter((_, i) => (count - 1 - i) % step === 0);
          },
          values: (_u, splits) => splits.map((x) => grid.columnLabels[grid.xs.indexOf(x)] ?? ""),
        },
        // A blank strip the view's row labels cover (elements, so they can be hovered and focused).
        {
          show: true,
          size: () => options.labelSpace(),
          gap: 0,
          grid: { show: false },
          ticks: { show: false },
          splits: () => [],
          values: () => [],
        },
      ],
      series: [{}, { label: "cells", show: true, stroke: "transparent", points: { show: false }, paths: () => null }],
      hooks: {
        draw: [drawCells],
        setCursor: [
          (u) => {
            const { left, top } = u.cursor;
            if (left === undefined || top === undefined || left < 0 || top < 0) {
              hovered = null;
              options.onHover(null, null);
              return;
            }
            const column = columnOf(u.posToVal(left, "x"));
            const row = rows() - 1 - Math.round(u.posToVal(top, "y"));
            hovered = column >= 0 && row >= 0 && row < rows() ? { row, column } : null;
            options.onHover(
              hovered,
              hovered ? { left: left + u.bbox.left / uPlot.pxRatio, top: top + u.bbox.top / uPlot.pxRatio } : null,
            );
          },
        ],
      },
    },
    [[], []],
    root,
  );
  plot.over.style.cursor = "pointer";
  plot.over.addEventListener("click", () => {
    if (hovered) options.onClick(hovered);
  });

  function plotBox() {
    const ratio = uPlot.pxRatio;
    return {
      left: plot.bbox.left / ratio,
      top: plot.bbox.top / ratio,
      width: plot.bbox.width / ratio,
      height: plot.bbox.height / ratio,
    };
  }

  return {
    setGrid(next, nextScales) {
      grid = next;
      scales = nextScales;
      numbersNeed = numberWidth(next.values);
      // A y placeholder per column: uPlot needs aligned series even though the cells draw themselves.
      plot.setData([next.xs, next.xs.map(() => null)], true);
      plot.redraw(false, true);
    },
    setSelected(cell) {
      selected = cell;
      plot.redraw(false, false);
    },
    setFocused(cell) {
      focused = cell;
      plot.redraw(false, false);
    },
    setSize(width, height) {
      plot.setSize({ width, height });
    },
    plotBox,
    cellCenter(cell) {
      const x = grid.xs[cell.column];
      if (x === undefined) return null;
      const ratio = uPlot.pxRatio;
      const [left, top, width, height] = cellRect(plot, x, cell.row);
      return { left: (left + width / 2) / ratio, top: (top + height / 2) / ratio };
    },
    canvas: () => plot.ctx.canvas,
    destroy() {
      plot.destroy();
    },
  };
}
