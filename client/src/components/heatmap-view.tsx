// The heatmap as a Preact component: the uPlot chart (charts/heatmap.ts), its tooltip, a colour
// legend with the scale's mode and unit, keyboard navigation (arrow keys move a focused cell,
// Enter drills down), the row labels as focusable elements that explain their factor on hover
// and focus, a table view of the same numbers, and PNG export (chart + title + legend composed on
// one canvas). The chart scrolls sideways inside its frame when its columns need more room than
// the page has (a phone), the labels staying put over the cells.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { breachColor, createHeatmap, type HeatmapCell, type HeatmapChart, numberWidth } from "../charts/heatmap.ts";
import { exposureUnit, type FactorMeaning, legendUnit } from "../lib/factor-meaning.ts";
import { formatExposure } from "../lib/format.ts";
import {
  css,
  type DivergingScale,
  formatExtent,
  legendWords,
  missingColor,
  type RowScales,
  type ScaleMode,
  scaleModes,
  textColorOn,
} from "../lib/scale.ts";
import { Segmented } from "./ui.tsx";
import "./data-quality.css";
import "./heatmap.css";

export interface HeatmapProps {
  xs: number[];
  columnLabels: string[];
  /** Full column names for tooltips and the table (dates, or portfolio names). */
  columnTitles: string[];
  rowLabels: string[];
  values: (number | null)[][];
  /** One colour scale per row and the mode that made them (lib/scale.ts `rowScales`). */
  scales: RowScales;
  /** Called with the mode the legend's control asks for; without it the legend shows no control. */
  onScaleMode?: (mode: ScaleMode) => void;
  /** What each row's factor means (lib/factor-meaning.ts), shown on its label's hover and focus; null: none. */
  rowHelp?: (FactorMeaning | null)[];
  selected: HeatmapCell | null;
  syncKey: string;
  label: string;
  tooltip: (cell: HeatmapCell) => ComponentChildren;
  onSelect: (cell: HeatmapCell) => void;
  /** Called with the chart's canvas getter, for PNG export (the dotted border's and the breach outline's entries). */
  onReady?: (exportPng: (title: string, legends: PngLegends) => Promise<Blob>) => void;
  showTable: boolean;
  /** In the table view, a note under a cell's value (coverage while positions are left out) and its title. */
  cellNote?: (cell: HeatmapCell) => { short: string | null; title: string } | null;
  /** marked[row][column]: not distinguishable from zero (|exposure| < 2 SE), drawn with a dotted border. */
  marked?: boolean[][];
  /** What a cell's label says about its standard error (heatmap-grid.ts `uncertaintyLabel`); null: nothing. */
  cellUncertainty?: (cell: HeatmapCell) => { text: string; indistinguishable: boolean } | null;
  /** breached[row][column]: the value breaches a limit, drawn with a solid outline. */
  breached?: boolean[][];
  /** The limits a cell breaches, in words (limit-view.ts `heatmapBreaches`); null: none. */
  cellBreach?: (cell: HeatmapCell) => string | null;
}

/** The PNG's legend entries beyond the colour bar; null leaves one out (no cell it would explain). */
export interface PngLegends {
  /** The dotted border's (heatmap-grid.ts `indistinguishableLegend`). */
  mark: string | null;
  /** The breach outline's (limit-view.ts `breachLegend`). */
  breach: string | null;
}

const rowHeight = 30;
/** The x axis under the cells, in CSS pixels. */
const axisHeight = 34;
/**
 * Up to this many columns (the default 20-date window, or portfolios) every cell gets room for its
 * number, the chart scrolling sideways on a narrow screen; more columns (60 and 120 dates) are
 * colour only unless they fit, each at least `minColourColumn` wide.
 */
const numberedColumns = 20;
const minColourColumn = 6;
/** A cell's width beyond its number: the 1 px gap between cells and whole-pixel rounding of its edges. */
const cellSlack = 2;

/** `npm run bench:client` reads this mark: the first heatmap with numbers on screen. */
let firstDrawMarked = false;
let nextId = 0;

/** The row scales' extents in words: "full colour at ±2" (fixed) or "this row's largest |value| ±0.38". */
function extentText(scales: RowScales, row: number): string {
  const scale = scales.rows[row];
  if (!scale) return "";
  return scales.mode === "fixed"
    ? `Full red or green at ${formatExtent(scale.extent)}, this factor's fixed scale (the Universe's colours).`
    : `Full red or green at ${formatExtent(scale.extent)}, this row's largest |value| over the loaded dates.`;
}

/**
 * The heatmap's legend: the scale-mode control, the colour bar with its ends, the rows whose
 * extent differs, the missing swatch, and the unit of the numbers.
 */
export function Legend(props: {
  scales: RowScales;
  rowLabels: string[];
  onScaleMode?: (mode: ScaleMode) => void;
  width?: number;
}): JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null);
  const width = props.width ?? 160;
  const words = legendWords(props.scales, props.rowLabels);
  // Every row shares the bar's colours (an extent only stretches it), so the first scale draws it.
  const barScale = props.scales.rows[0] ?? null;
  useLayoutEffect(() => {
    const canvas = ref.current;
    if (!canvas || !barScale) return;
    drawLegendBar(canvas, barScale, width, 12);
  }, [barScale, width]);
  return (
    <div class="heatmap-legend" data-testid="heatmap-legend" data-scale-mode={props.scales.mode}>
      <div class="heatmap-legend-row">
        {props.onScaleMode ? (
          <div class="field heatmap-scale-field" title={words.mode}>
            <span class="label">Colour scale</span>
            <Segmented
              label="Colour scale"
              value={props.scales.mode}
              options={scaleModes}
              onChange={(mode) => props.onScaleMode?.(mode)}
            />
          </div>
        ) : null}
        <div
          class="legend"
          role="img"
          aria-label={
            `Colour scale: ${words.mode}. From ${words.low} (red) through 0 (white) to ${words.high} (green)` +
            `${words.note ? `; ${words.note}` : ""}. Missing is grey with a diagonal stroke.`
          }
        >
          <span>{words.low}</span>
          <canvas ref={ref} style={{ width: `${width}px`, height: "12px" }} />
          <span>{words.high}</span>
          {words.note ? <span class="legend-note">({words.note})</span> : null}
          <span class="legend-missing">
            <span class="swatch-missing" aria-hidden="true" /> missing
          </span>
        </div>
      </div>
      <p class="legend-unit" data-testid="legend-unit">
        {words.mode}. {legendUnit}.
      </p>
    </div>
  );
}

/** The legend entry of the dotted border: what a marked cell means (heatmap-grid.ts `indistinguishableLegend`). */
export function UncertaintyLegend(props: { text: string }): JSX.Element {
  return (
    <p class="legend legend-indistinguishable" data-testid="legend-indistinguishable">
      <span class="swatch-indistinguishable" aria-hidden="true" /> {props.text}
    </p>
  );
}

/** The legend entry of the breach outline (limit-view.ts `breachLegend`), shown while some cell is outlined. */
export function BreachLegend(props: { text: string }): JSX.Element {
  return (
    <p class="legend legend-breached" data-testid="legend-breached">
      <span class="swatch-breached" aria-hidden="true" /> {props.text}
    </p>
  );
}

function drawLegendBar(canvas: HTMLCanvasElement, scale: DivergingScale, width: number, height: number): void {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  if (!context) return;
  for (let x = 0; x < canvas.width; x++) {
    const value = -scale.extent + (2 * scale.extent * (x + 0.5)) / canvas.width;
    context.fillStyle = css(scale.color(value));
    context.fillRect(x, 0, 1, canvas.height);
  }
}

async function composePng(
  chart: HeatmapChart,
  scales: RowScales,
  rowLabels: readonly string[],
  title: string,
  legends: PngLegends,
): Promise<Blob> {
  const source = chart.canvas();
  const ratio = source.width / Math.max(1, source.clientWidth || source.width);
  const header = Math.round(34 * ratio);
  // The breach entry takes a line of its own under the bar: beside the dotted one it would run off a narrow chart.
  const breachLine = legends.breach === null ? 0 : Math.round(20 * ratio);
  // The scale's mode and unit, a line under the rest.
  const unitLine = Math.round(20 * ratio);
  const footer = Math.round(34 * ratio) + breachLine + unitLine;
  const output = document.createElement("canvas");
  output.width = source.width;
  output.height = source.height + header + footer;
  const context = output.getContext("2d");
  if (!context) throw new Error("this browser cannot draw the PNG");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, output.width, output.height);
  context.fillStyle = "#1f2933";
  context.font = `600 ${Math.round(14 * ratio)}px system-ui, sans-serif`;
  context.textBaseline = "middle";
  context.fillText(title, Math.round(8 * ratio), header / 2);
  context.drawImage(source, 0, header);
  // The row labels (elements on the page) into the strip the chart leaves for them, with each row's extent.
  const box = chart.plotBox();
  const texts = rowLabels.map((label, row) =>
    scales.rows[row] ? `${label} ${formatExtent(scales.rows[row].extent)}` : label,
  );
  // 12 px, or smaller when the longest would not fit the strip (the page's labels wrap instead).
  context.font = `${Math.round(12 * ratio)}px system-ui, sans-serif`;
  const widest = Math.max(1, ...texts.map((text) => context.measureText(text).width));
  const fontPx = Math.max(8, Math.min(12, (12 * (box.left - 12) * ratio) / widest));
  context.font = `${Math.round(fontPx * ratio)}px system-ui, sans-serif`;
  context.fillStyle = "#1f2933";
  context.textAlign = "right";
  texts.forEach((text, row) => {
    const y = header + (box.top + ((row + 0.5) * box.height) / Math.max(1, rowLabels.length)) * ratio;
    context.fillText(text, (box.left - 6) * ratio, y);
  });
  // The legend: the scale's bar with its ends either side.
  const words = legendWords(scales, rowLabels);
  const barScale = scales.rows[0] ?? null;
  const barWidth = Math.round(200 * ratio);
  const barHeight = Math.round(10 * ratio);
  const y = header + source.height + (footer - breachLine - unitLine - barHeight) / 2;
  const lowWidth = context.measureText(words.low).width;
  const x = Math.round(Math.max(70 * ratio, lowWidth + 14 * ratio));
  if (barScale)
    for (let i = 0; i < barWidth; i++) {
      context.fillStyle = css(barScale.color(-barScale.extent + (2 * barScale.extent * (i + 0.5)) / barWidth));
      context.fillRect(x + i, y, 1, barHeight);
    }
  context.fillStyle = "#52606d";
  context.font = `${Math.round(11 * ratio)}px system-ui, sans-serif`;
  context.textAlign = "right";
  context.fillText(words.low, x - 6 * ratio, y + barHeight / 2);
  context.textAlign = "left";
  const extentText = words.note ? `${words.high} (${words.note})` : words.high;
  context.fillText(extentText, x + barWidth + 6 * ratio, y + barHeight / 2);
  if (legends.mark !== null) {
    // The dotted border's entry, after the bar: a swatch as the cells draw it, then its meaning.
    const swatchX = x + barWidth + 18 * ratio + context.measureText(extentText).width;
    context.save();
    context.strokeStyle = "#1f2933";
    context.lineWidth = Math.max(1, ratio);
    context.setLineDash([Math.max(1, 1.5 * ratio), Math.max(1, 1.5 * ratio)]);
    context.strokeRect(swatchX, y, barHeight, barHeight);
    context.restore();
    context.fillText(legends.mark, swatchX + barHeight + 6 * ratio, y + barHeight / 2);
  }
  if (legends.breach !== null) {
    // A swatch as the cells draw the outline (2 px, solid), under the bar's start.
    const lineY = y + barHeight + Math.round(10 * ratio);
    context.save();
    context.strokeStyle = breachColor;
    context.lineWidth = 2 * ratio;
    context.strokeRect(x + ratio, lineY + ratio, barHeight - 2 * ratio, barHeight - 2 * ratio);
    context.restore();
    context.fillText(legends.breach, x + barHeight + 6 * ratio, lineY + barHeight / 2);
  }
  context.fillText(
    `${words.mode}. Unit: ${exposureUnit}.`,
    Math.round(8 * ratio),
    header + source.height + footer - unitLine / 2 - 4 * ratio,
  );
  return new Promise((resolve, reject) =>
    output.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the PNG could not be encoded"))), "image/png"),
  );
}

/**
 * The row labels over the chart's left strip: one tab stop (arrow keys, Home and End move between
 * them), each explaining its factor on hover and focus in a popover that stays while the pointer
 * is on it and closes on Escape (WCAG 1.4.13); screen readers get the same text as the label's
 * description.
 */
function RowLabels(props: {
  labels: string[];
  help: (FactorMeaning | null)[];
  scales: RowScales;
  top: number;
  rowSize: number;
  width: number;
  idPrefix: string;
  labelsRef: { current: HTMLDivElement | null };
}): JSX.Element {
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  const [activeRow, setActiveRow] = useState(0);
  const [hoverRow, setHoverRow] = useState<number | null>(null);
  const [focusRow, setFocusRow] = useState<number | null>(null);
  const [dismissed, setDismissed] = useState(false);
  // The latest of hover and focus wins while both are on (the pointer resting on one label, the keys on another).
  const [lastVia, setLastVia] = useState<"hover" | "focus">("hover");
  const hideTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (hideTimer.current !== null) clearTimeout(hideTimer.current);
    },
    [],
  );
  const rows = props.labels.length;
  const tabRow = Math.min(activeRow, Math.max(0, rows - 1));
  const shown = dismissed ? null : lastVia === "focus" ? (focusRow ?? hoverRow) : (hoverRow ?? focusRow);

  const keepHover = (row: number): void => {
    if (hideTimer.current !== null) clearTimeout(hideTimer.current);
    hideTimer.current = null;
    setHoverRow(row);
    setLastVia("hover");
    setDismissed(false);
  };
  // A moment's grace, so the pointer can travel from the label onto its popover.
  const dropHover = (): void => {
    if (hideTimer.current !== null) clearTimeout(hideTimer.current);
    hideTimer.current = setTimeout(() => {
      hideTimer.current = null;
      setHoverRow(null);
    }, 200);
  };
  const onKeyDown = (event: KeyboardEvent, row: number): void => {
    const targets: Record<string, number> = { ArrowUp: row - 1, ArrowDown: row + 1, Home: 0, End: rows - 1 };
    const target = targets[event.key];
    if (target !== undefined) {
      event.preventDefault();
      const next = Math.min(rows - 1, Math.max(0, target));
      setActiveRow(next);
      buttons.current[next]?.focus();
    } else if (event.key === "Escape" && shown !== null) {
      event.preventDefault();
      event.stopPropagation();
      setDismissed(true);
    }
  };

  return (
    <>
      {/* A <fieldset> is for form controls (its own border and legend layout). */}
      {/* biome-ignore lint/a11y/useSemanticElements: a group names the labels */}
      <div
        class="heatmap-rows"
        ref={(element) => {
          props.labelsRef.current = element;
        }}
        role="group"
        aria-label="Factors: arrow keys move between them, each explains its factor"
        style={{ paddingTop: `${props.top}px`, height: `${props.top + rows * props.rowSize}px` }}
        data-testid="heatmap-row-labels"
      >
        {props.labels.map((label, row) => {
          const help = props.help[row] ?? null;
          const scale = props.scales.rows[row];
          return (
            <button
              key={label}
              type="button"
              class="heatmap-row-label"
              style={{ height: `${props.rowSize}px` }}
              ref={(element) => {
                buttons.current[row] = element;
              }}
              tabIndex={row === tabRow ? 0 : -1}
              aria-describedby={`${props.idPrefix}-help-${row}`}
              aria-expanded={shown === row}
              data-row={row}
              data-extent={scale ? String(scale.extent) : undefined}
              onMouseEnter={() => keepHover(row)}
              onMouseLeave={dropHover}
              onFocus={() => {
                setActiveRow(row);
                setFocusRow(row);
                setLastVia("focus");
                setDismissed(false);
              }}
              onBlur={() => setFocusRow((current) => (current === row ? null : current))}
              onClick={() => {
                // A tap on a touch screen may not focus the button: open its explanation anyway.
                setFocusRow(row);
                setLastVia("focus");
                setDismissed(false);
              }}
              onKeyDown={(event) => onKeyDown(event, row)}
            >
              <span class={help ? "heatmap-row-name has-help" : "heatmap-row-name"}>{label}</span>
              {scale ? (
                <span class="heatmap-row-extent" aria-hidden="true">
                  {formatExtent(scale.extent)}
                </span>
              ) : null}
            </button>
          );
        })}
      </div>
      {props.labels.map((label, row) => {
        const help = props.help[row] ?? null;
        // Below the label in the upper half, above it in the lower half, so it stays beside the chart.
        const lower = row >= rows / 2;
        const edge = props.top + (lower ? row : row + 1) * props.rowSize;
        return (
          <div
            key={label}
            id={`${props.idPrefix}-help-${row}`}
            class="heatmap-row-help"
            role="tooltip"
            hidden={shown !== row}
            data-testid={shown === row ? "heatmap-row-help" : undefined}
            style={{ top: `${edge}px`, transform: lower ? "translateY(-100%)" : undefined }}
            onMouseEnter={() => keepHover(row)}
            onMouseLeave={dropHover}
          >
            {help ? (
              <>
                <p class="row-help-title">
                  <strong>{help.name}</strong> <code>{help.key}</code>
                </p>
                <p>{help.description}</p>
                <dl>
                  <dt>Unit</dt>
                  <dd>
                    {exposureUnit}. {help.one}
                  </dd>
                  <dt>Method</dt>
                  <dd>{help.method}</dd>
                  <dt>Inputs</dt>
                  <dd>{help.inputs}</dd>
                  <dt>Window</dt>
                  <dd>{help.window}</dd>
                  <dt>Colour</dt>
                  <dd>{extentText(props.scales, row)}</dd>
                </dl>
                {help.caveat ? <p class="row-help-note">{help.caveat}</p> : null}
              </>
            ) : (
              <p>
                <strong>{label}</strong>: {extentText(props.scales, row)}
              </p>
            )}
          </div>
        );
      })}
    </>
  );
}

export function HeatmapView(props: HeatmapProps): JSX.Element {
  const frame = useRef<HTMLDivElement>(null);
  const scroller = useRef<HTMLElement>(null);
  const labelsRef = useRef<HTMLDivElement | null>(null);
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<HeatmapChart | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const [idPrefix] = useState(() => `heatmap-${++nextId}`);
  const [hover, setHover] = useState<{ cell: HeatmapCell; left: number; top: number } | null>(null);
  const [focused, setFocused] = useState<HeatmapCell | null>(null);
  const [box, setBox] = useState({ left: 0, top: 0, width: 0, height: 0 });
  const [numbersShown, setNumbersShown] = useState<boolean | null>(null);
  // The frame's width and the row labels' (the strip the chart leaves them), both measured.
  const [sizes, setSizes] = useState({ frame: 0, labels: 120 });
  const labelSpace = useRef(sizes.labels);
  labelSpace.current = sizes.labels;
  const [scrollLeft, setScrollLeft] = useState(0);
  /** The width the chart was last sized to (its plot box is measured against it). */
  const lastWidth = useRef(0);

  const rows = props.rowLabels.length;
  const columns = props.xs.length;
  const height = rows * rowHeight + axisHeight;
  // Wide enough for every column's number up to `numberedColumns` columns, else for its colour; the
  // frame scrolls sideways when that is wider than the page.
  const numberSpace = numberWidth(props.values);
  const minColumn = columns <= numberedColumns ? numberSpace + cellSlack : minColourColumn;
  // The chart's width outside its plot box (the labels' strip and uPlot's padding), as last measured.
  const outside = box.width > 0 ? Math.max(0, lastWidth.current - box.width) : sizes.labels + 24;
  const chartWidth = Math.max(280, sizes.frame, Math.ceil(outside + columns * minColumn));
  const overflowing = chartWidth > sizes.frame + 1 && sizes.frame > 0;

  useEffect(() => {
    const element = host.current;
    const outer = frame.current;
    if (!element || !outer) return;
    const created = createHeatmap(element, {
      width: Math.max(280, outer.clientWidth),
      height,
      syncKey: props.syncKey,
      labelSpace: () => labelSpace.current,
      onHover: (cell, position) => setHover(cell && position ? { cell, ...position } : null),
      onClick: (cell) => latest.current.onSelect(cell),
      onNumbers: setNumbersShown,
    });
    chart.current = created;
    const observer = new ResizeObserver(() =>
      setSizes({ frame: outer.clientWidth, labels: Math.ceil(labelsRef.current?.offsetWidth ?? 120) }),
    );
    observer.observe(outer);
    if (labelsRef.current) observer.observe(labelsRef.current);
    props.onReady?.((title, legends) =>
      composePng(created, latest.current.scales, latest.current.rowLabels, title, legends),
    );
    return () => {
      observer.disconnect();
      created.destroy();
      chart.current = null;
    };
    // Dependencies on purpose: the chart is created once
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.setGrid(
      {
        xs: props.xs,
        columnLabels: props.columnLabels,
        rowLabels: props.rowLabels,
        values: props.values,
        ...(props.marked ? { marked: props.marked } : {}),
        ...(props.breached ? { breached: props.breached } : {}),
      },
      props.scales.rows,
    );
    if (!firstDrawMarked && props.xs.length > 0) {
      firstDrawMarked = true;
      performance.mark("heatmap-drawn");
    }
    current.setSize(chartWidth, height);
    lastWidth.current = chartWidth;
    setBox(current.plotBox());
  }, [
    props.xs,
    props.columnLabels,
    props.rowLabels,
    props.values,
    props.marked,
    props.breached,
    props.scales,
    height,
    chartWidth,
    sizes.labels,
  ]);

  // Columns wider than the frame (a phone) open on the newest dates, at the right, as the wide chart reads.
  useLayoutEffect(() => {
    const area = scroller.current;
    if (area && overflowing) area.scrollLeft = area.scrollWidth;
  }, [overflowing, chartWidth]);

  useEffect(() => chart.current?.setSelected(props.selected), [props.selected]);
  useEffect(() => {
    chart.current?.setFocused(focused);
    // Keep the focused cell in view when the columns scroll (a phone): clear of the sticky labels.
    const area = scroller.current;
    const center = focused ? chart.current?.cellCenter(focused) : null;
    if (!area || !center) return;
    const margin = 24;
    if (center.left < area.scrollLeft + sizes.labels + margin)
      area.scrollLeft = Math.max(0, center.left - sizes.labels - margin);
    else if (center.left > area.scrollLeft + area.clientWidth - margin)
      area.scrollLeft = center.left - area.clientWidth + margin;
  }, [focused]);

  const onKeyDown = (event: KeyboardEvent): void => {
    if (columns === 0 || rows === 0) return;
    const current = focused ?? { row: 0, column: columns - 1 };
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
      Home: [0, -columns],
      End: [0, columns],
    };
    const move = moves[event.key];
    if (move) {
      event.preventDefault();
      setFocused({
        row: Math.min(rows - 1, Math.max(0, current.row + move[0])),
        column: Math.min(columns - 1, Math.max(0, current.column + move[1])),
      });
    } else if ((event.key === "Enter" || event.key === " ") && focused) {
      event.preventDefault();
      props.onSelect(focused);
    } else if (event.key === "Escape") {
      setFocused(null);
    }
  };

  // The focused cell's tooltip sits at its centre; the hovered one follows the mouse.
  const focusedCenter = focused ? chart.current?.cellCenter(focused) : null;
  const tip = hover ?? (focused && focusedCenter ? { cell: focused, ...focusedCenter } : null);
  const validTip = tip && tip.cell.column < columns && tip.cell.row < rows ? tip : null;
  // In the frame's coordinates (the tooltip is outside the scrolling area, which would clip it).
  const tipLeft = validTip ? validTip.left - scrollLeft : 0;
  const focusedUncertainty = focused ? (props.cellUncertainty?.(focused) ?? null) : null;
  const focusedBreach = focused ? (props.cellBreach?.(focused) ?? null) : null;
  // The marked and breached cells as "row:column" pairs: the canvas has no element per cell to carry them.
  const cellList = (grid: boolean[][] | undefined) =>
    (grid ?? []).flatMap((row, r) => row.flatMap((on, c) => (on && c < columns ? [`${r}:${c}`] : []))).join("|");
  const help = props.rowHelp ?? [];

  return (
    <div class="heatmap">
      <Legend
        scales={props.scales}
        rowLabels={props.rowLabels}
        {...(props.onScaleMode ? { onScaleMode: props.onScaleMode } : {})}
      />
      <div class="heatmap-frame" ref={frame}>
        {/* A named region (a labelled <section>) that keyboard users can focus to scroll columns wider than it. */}
        <section
          class="heatmap-scroll"
          ref={scroller}
          aria-label={`${props.label}: the columns scroll sideways`}
          // A scrolling area must be focusable, or keyboard users cannot scroll it (WCAG 2.1.1): a tab stop
          // only while it scrolls.
          tabIndex={overflowing ? 0 : undefined}
          data-testid="heatmap-scroll"
          data-overflowing={overflowing ? "true" : undefined}
          onScroll={(event) => setScrollLeft(event.currentTarget.scrollLeft)}
        >
          <div class="heatmap-inner" style={{ width: `${chartWidth}px` }}>
            <RowLabels
              labels={props.rowLabels}
              help={help}
              scales={props.scales}
              top={box.top}
              rowSize={rows > 0 && box.height > 0 ? box.height / rows : rowHeight}
              width={sizes.labels}
              idPrefix={idPrefix}
              labelsRef={labelsRef}
            />
            {/* A <fieldset> is for form controls (its own border and legend layout). */}
            {/* biome-ignore lint/a11y/useSemanticElements: a group names the widget */}
            <div
              class="chart heatmap-chart"
              ref={host}
              // Under the labels: its left strip, as wide as they are, is where they sit.
              style={{ width: `${chartWidth}px`, marginLeft: `${-sizes.labels}px` }}
              // A custom keyboard widget over a canvas (not an ARIA grid: it has no cell elements); the
              // focused cell is announced through the live region below, and "Show table" is the
              // same numbers as a real table.
              // biome-ignore lint/a11y/noNoninteractiveTabindex: it takes focus for the arrow keys (cell moves)
              tabIndex={0}
              role="group"
              aria-roledescription="heatmap"
              aria-label={`${props.label}. Arrow keys move between cells, Enter shows the stocks behind a cell.`}
              data-testid="heatmap"
              data-plot-box={`${box.left},${box.top},${box.width},${box.height}`}
              data-columns={props.columnTitles.join("|")}
              data-rows={props.rowLabels.join("|")}
              data-indistinguishable-cells={cellList(props.marked)}
              data-breached-cells={cellList(props.breached)}
              data-scale-mode={props.scales.mode}
              data-row-extents={props.scales.rows.map((scale) => scale.extent).join("|")}
              data-numbers={numbersShown === null ? undefined : numbersShown ? "shown" : "hidden"}
              data-number-width={numberSpace}
              onKeyDown={onKeyDown}
              onBlur={() => setFocused(null)}
            >
              {focused && !hover ? (
                <span
                  class="visually-hidden"
                  aria-live="polite"
                  data-testid="heatmap-focused-cell"
                  data-indistinguishable={focusedUncertainty?.indistinguishable ? "true" : undefined}
                  data-breached={focusedBreach ? "true" : undefined}
                >
                  {props.rowLabels[focused.row]}, {props.columnTitles[focused.column]}:{" "}
                  {formatExposure(props.values[focused.row]?.[focused.column] ?? null)}
                  {focusedBreach ? `. ${focusedBreach}` : ""}
                  {focusedUncertainty ? `. ${focusedUncertainty.text}` : ""}
                </span>
              ) : null}
            </div>
          </div>
        </section>
        {validTip ? (
          <div
            class="tooltip"
            role="tooltip"
            // Right of the pointer, or left of it in the frame's right half, so it never hides the cell's
            // neighbours off-screen.
            style={{
              left: `${tipLeft}px`,
              top: `${validTip.top + 14}px`,
              transform: tipLeft > sizes.frame / 2 ? "translateX(calc(-100% - 14px))" : "translateX(14px)",
            }}
          >
            {props.tooltip(validTip.cell)}
          </div>
        ) : null}
      </div>
      {numbersShown === false && columns > 0 ? (
        <p class="heatmap-numbers-note" data-testid="heatmap-numbers-note">
          Cells too narrow for numbers: hover a cell or focus it (arrow keys) for its value, or show the table.
        </p>
      ) : null}
      {props.showTable ? <HeatmapTable {...props} /> : null}
    </div>
  );
}

function HeatmapTable(props: HeatmapProps): JSX.Element {
  return (
    // A named region (a labelled <section>) that keyboard users can focus to scroll a table wider than the page.
    <section
      class="table-wrap heatmap-table"
      aria-label={`${props.label} as a table`}
      // A scrollable region must be focusable, or keyboard users cannot scroll it (WCAG 2.1.1).
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable
      tabIndex={0}
    >
      <table class="data">
        <thead>
          <tr>
            <th scope="col">Factor</th>
            {props.columnTitles.map((title) => (
              <th scope="col" class="num" key={title}>
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rowLabels.map((label, row) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              {props.xs.map((_, column) => {
                const value = props.values[row]?.[column] ?? null;
                const color = value === null ? missingColor : (props.scales.rows[row]?.color(value) ?? missingColor);
                const note = value === null ? null : (props.cellNote?.({ row, column }) ?? null);
                const uncertainty = value === null ? null : (props.cellUncertainty?.({ row, column }) ?? null);
                const marked = uncertainty?.indistinguishable === true;
                const breach = value === null ? null : (props.cellBreach?.({ row, column }) ?? null);
                // Read after the number: the breached limits, the coverage note when positions are left
                // out, then the standard error.
                const description = [
                  breach ? `${breach}.` : null,
                  note?.short ? note.title : null,
                  uncertainty?.text ?? null,
                ]
                  .filter((part): part is string => part !== null)
                  .join(" ");
                return (
                  <td
                    key={column}
                    class={["num", marked ? "indistinguishable" : "", breach ? "breached" : ""]
                      .filter(Boolean)
                      .join(" ")}
                    style={{ background: css(color), color: css(textColorOn(color)) }}
                    title={[breach, note?.title, uncertainty?.text].filter(Boolean).join("\n") || undefined}
                    data-indistinguishable={marked ? "true" : undefined}
                    data-breached={breach ? "true" : undefined}
                  >
                    {/* The coverage note is drawn from data-note (CSS), so the cell's text stays its number. */}
                    <button
                      type="button"
                      class="cell-button"
                      data-note={note?.short ?? undefined}
                      data-indistinguishable={marked ? "true" : undefined}
                      aria-description={description || undefined}
                      onClick={() => props.onSelect({ row, column })}
                    >
                      {formatExposure(value)}
                    </button>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
