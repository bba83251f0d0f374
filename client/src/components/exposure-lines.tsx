// Exposure lines for chosen factors over the heatmap's window: the portfolio solid, the
// benchmark dashed in the same colour. The cursor follows the heatmap's (uPlot sync) and the
// readout below lists the numbers at the hovered date, so colour is not the only key.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Exposures } from "../api/types.ts";
import { createLines, lineColors, type LinesChart } from "../charts/lines.ts";
import { formatExposure } from "../lib/format.ts";
import { required } from "../../../worker/required.ts";

export function ExposureLines(props: {
  exposures: Exposures;
  range: [number, number];
  chosen: readonly string[];
  syncKey: string;
  benchmarkLabel: string | null;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<LinesChart | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const { exposures, range, chosen } = props;
  const [start, end] = range;
  const factors = exposures.factors.filter((factor) => chosen.includes(factor.key));
  const colorOf = (key: string) =>
    required(
      lineColors[exposures.factors.findIndex((factor) => factor.key === key) % lineColors.length],
      `a line colour for factor ${key}`,
    );

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    chart.current = createLines(element, Math.max(280, element.clientWidth), 260, props.syncKey, setCursor);
    const observer = new ResizeObserver(() => chart.current?.setSize(Math.max(280, element.clientWidth), 260));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
    // Dependencies on purpose: created once
  }, []);

  useEffect(() => {
    // The window's loaded dates; x is a date's index in the loaded range, as in the heatmap.
    const dates = exposures.dates.slice(start, end + 1);
    const xs = dates.map((_, offset) => start + offset);
    const slice = (values: (number | null)[]) => xs.map((i) => values[i] ?? null);
    chart.current?.setData({
      xs,
      dates,
      series: factors.flatMap((factor) => [
        { label: `${factor.name}`, color: colorOf(factor.key), dashed: false, values: slice(factor.portfolio) },
        ...(props.benchmarkLabel
          ? [
              {
                label: `${factor.name} (${props.benchmarkLabel})`,
                color: colorOf(factor.key),
                dashed: true,
                values: slice(factor.benchmark),
              },
            ]
          : []),
      ]),
    });
  }, [exposures, start, end, chosen.join(","), props.benchmarkLabel]);

  const at = cursor === null ? end : start + cursor;
  return (
    <div class="lines">
      <div
        class="chart"
        ref={host}
        role="img"
        aria-label={
          `Exposure lines of ${factors.map((factor) => factor.name).join(", ") || "no factor"}, ` +
          `${exposures.dates[start] ?? ""} to ${exposures.dates[end] ?? ""}`
        }
        data-testid="exposure-lines"
      />
      <table class="data readout" aria-live="off">
        <caption class="muted small">{exposures.dates[at] ?? ""}</caption>
        <thead>
          <tr>
            <th scope="col">Factor</th>
            <th scope="col" class="num">
              Portfolio
            </th>
            {props.benchmarkLabel ? (
              <th scope="col" class="num">
                {props.benchmarkLabel}
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {factors.map((factor) => (
            <tr key={factor.key}>
              <th scope="row">
                <span class="key-line" style={{ background: colorOf(factor.key) }} aria-hidden="true" /> {factor.name}
              </th>
              <td class="num">{formatExposure(factor.portfolio[at] ?? null)}</td>
              {props.benchmarkLabel ? <td class="num">{formatExposure(factor.benchmark[at] ?? null)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
