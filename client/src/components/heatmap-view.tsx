// The heatmap as a Preact component: the uPlot chart (charts/heatmap.ts), its tooltip, a colour
// legend, keyboard navigation (arrow keys move a focused cell, Enter drills down), a table view
// of the same numbers, and PNG export (chart + title + legend composed on one canvas).
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { breachColor, createHeatmap, type HeatmapCell, type HeatmapChart } from "../charts/heatmap.ts";
import { formatExposure } from "../lib/format.ts";
import { css, textColorOn, type DivergingScale } from "../lib/scale.ts";
import "./data-quality.css";

export interface HeatmapProps {
  xs: number[];
  columnLabels: string[];
  /** Full column names for tooltips and the table (dates, or portfolio names). */
  columnTitles: string[];
  rowLabels: string[];
  values: (number | null)[][];
  scale: DivergingScale;
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

/** `npm run bench:client` reads this mark: the first heatmap with numbers on screen. */
let firstDrawMarked = false;

export function Legend(props: { scale: DivergingScale; width?: number }): JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null);
  const width = props.width ?? 220;
  useLayoutEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    drawLegendBar(canvas, props.scale, width, 12);
  }, [props.scale, width]);
  return (
    <div
      class="legend"
      aria-label={
        `Colour scale from ${formatExposure(-props.scale.extent)} (red) through 0 (white) ` +
        `to ${formatExposure(props.scale.extent)} (green)`
      }
      role="img"
    >
      <span>{formatExposure(-props.scale.extent, 2)}</span>
      <canvas ref={ref} style={{ width: `${width}px`, height: "12px" }} />
      <span>{formatExposure(props.scale.extent, 2)}</span>
      <span class="legend-missing">
        <span class="swatch-missing" aria-hidden="true" /> missing
      </span>
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
  scale: DivergingScale,
  title: string,
  legends: PngLegends,
): Promise<Blob> {
  const source = chart.canvas();
  const ratio = source.width / Math.max(1, source.clientWidth || source.width);
  const header = Math.round(34 * ratio);
  // The breach entry takes a line of its own under the bar: beside the dotted one it would run off a narrow chart.
  const breachLine = legends.breach === null ? 0 : Math.round(20 * ratio);
  const footer = Math.round(34 * ratio) + breachLine;
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
  // The legend: the scale's bar with its extent either side.
  const barWidth = Math.round(200 * ratio);
  const barHeight = Math.round(10 * ratio);
  const y = header + source.height + (footer - breachLine - barHeight) / 2;
  const x = Math.round(70 * ratio);
  for (let i = 0; i < barWidth; i++) {
    context.fillStyle = css(scale.color(-scale.extent + (2 * scale.extent * (i + 0.5)) / barWidth));
    context.fillRect(x + i, y, 1, barHeight);
  }
  context.fillStyle = "#52606d";
  context.font = `${Math.round(11 * ratio)}px system-ui, sans-serif`;
  context.textAlign = "right";
  context.fillText(formatExposure(-scale.extent, 2), x - 6 * ratio, y + barHeight / 2);
  context.textAlign = "left";
  const extentText = formatExposure(scale.extent, 2);
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
  return new Promise((resolve, reject) =>
    output.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the PNG could not be encoded"))), "image/png"),
  );
}

export function HeatmapView(props: HeatmapProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<HeatmapChart | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const [hover, setHover] = useState<{ cell: HeatmapCell; left: number; top: number } | null>(null);
  const [focused, setFocused] = useState<HeatmapCell | null>(null);
  const [box, setBox] = useState({ left: 0, top: 0, width: 0, height: 0 });

  const height = props.rowLabels.length * rowHeight + 34;

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const created = createHeatmap(element, {
      width: Math.max(280, element.clientWidth),
      height,
      syncKey: props.syncKey,
      onHover: (cell, position) => setHover(cell && position ? { cell, ...position } : null),
      onClick: (cell) => latest.current.onSelect(cell),
    });
    chart.current = created;
    const observer = new ResizeObserver(() => {
      created.setSize(Math.max(280, element.clientWidth), latest.current.rowLabels.length * rowHeight + 34);
      setBox(created.plotBox());
    });
    observer.observe(element);
    props.onReady?.((title, legends) => composePng(created, latest.current.scale, title, legends));
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
      props.scale,
    );
    if (!firstDrawMarked && props.xs.length > 0) {
      firstDrawMarked = true;
      performance.mark("heatmap-drawn");
    }
    const element = host.current;
    if (element) current.setSize(Math.max(280, element.clientWidth), height);
    setBox(current.plotBox());
  }, [props.xs, props.columnLabels, props.rowLabels, props.values, props.marked, props.breached, props.scale, height]);

  useEffect(() => chart.current?.setSelected(props.selected), [props.selected]);
  useEffect(() => chart.current?.setFocused(focused), [focused]);

  const columns = props.xs.length;
  const rows = props.rowLabels.length;

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
  const focusedUncertainty = focused ? (props.cellUncertainty?.(focused) ?? null) : null;
  const focusedBreach = focused ? (props.cellBreach?.(focused) ?? null) : null;
  // The marked and breached cells as "row:column" pairs: the canvas has no element per cell to carry them.
  const cellList = (grid: boolean[][] | undefined) =>
    (grid ?? []).flatMap((row, r) => row.flatMap((on, c) => (on && c < columns ? [`${r}:${c}`] : []))).join("|");

  return (
    <div class="heatmap">
      {/* A <fieldset> is for form controls (its own border and legend layout). */}
      {/* biome-ignore lint/a11y/useSemanticElements: a group names the widget */}
      <div
        class="chart heatmap-chart"
        ref={host}
        // A custom keyboard widget over a canvas (not an ARIA grid: it has no cell elements); the
        // focused cell is announced through the live region below, and "Show table" is the
        // same numbers as a real table.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: it takes focus for the arrow keys that move its focused cell
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
        onKeyDown={onKeyDown}
        onBlur={() => setFocused(null)}
      >
        {validTip ? (
          <div
            class="tooltip"
            role="tooltip"
            // Right of the pointer, or left of it in the chart's right half, so it never hides the cell's
            // neighbours off-screen.
            style={{
              left: `${validTip.left}px`,
              top: `${validTip.top + 14}px`,
              transform:
                validTip.left > (host.current?.clientWidth ?? 0) / 2
                  ? "translateX(calc(-100% - 14px))"
                  : "translateX(14px)",
            }}
          >
            {props.tooltip(validTip.cell)}
          </div>
        ) : null}
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
                const color = props.scale.color(value);
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
