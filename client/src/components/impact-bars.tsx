// Diverging bars around a zero line: red to the left for negative, green to the right for
// positive (scale.ts's end colours), the value always printed beside the bar so colour is
// never the only signal. `ImpactBars` is a labelled list (stress impacts); `MiniBar` is one
// small bar for a table cell (what-if exposures), optionally with a reference marker. A bar whose
// number breaches a limit is outlined, and its title and hidden text say which limit.
import type { ComponentChildren, CSSProperties, JSX } from "preact";
import { css, negativeColor, positiveColor } from "../lib/scale.ts";
import "./limits.css";

export interface ImpactBarItem {
  key: string;
  label: ComponentChildren;
  /** Secondary line under the label (e.g. the shock). */
  detail?: ComponentChildren;
  value: number | null;
  /** The printed value (formatted by the caller); "—" for missing. */
  text: string;
  /** A short note shown instead of a bar when the value is missing. */
  missingNote?: string;
  title?: string;
  total?: boolean;
  /** A limit this bar's number breaches (its description): the row is outlined and says so to every reader. */
  breached?: string;
}

/** The share of the half-track a value fills, 0–50 (%), for a symmetric extent. */
function halfWidth(value: number, extent: number): number {
  if (!(extent > 0) || !Number.isFinite(value)) return 0;
  return Math.min(50, (Math.abs(value) / extent) * 50);
}

function barStyle(value: number, extent: number): CSSProperties {
  const width = halfWidth(value, extent);
  return {
    left: value < 0 ? `${50 - width}%` : "50%",
    width: `${width}%`,
    background: css(value < 0 ? negativeColor : positiveColor),
  };
}

/** The largest finite |value| (1 when none), so every bar fits its track. */
export function barExtent(values: readonly (number | null | undefined)[]): number {
  let extent = 0;
  for (const value of values)
    if (value !== null && value !== undefined && Number.isFinite(value)) extent = Math.max(extent, Math.abs(value));
  return extent > 0 ? extent : 1;
}

export function ImpactBars(props: { items: readonly ImpactBarItem[]; label: string; testId?: string }): JSX.Element {
  const extent = barExtent(props.items.map((item) => item.value));
  return (
    <ul class="impact-bars" aria-label={props.label} data-testid={props.testId}>
      {props.items.map((item) => (
        <li
          key={item.key}
          class={`impact-row${item.total ? " impact-total" : ""}${item.breached ? " impact-breached" : ""}`}
          title={item.breached ? `${item.title ? `${item.title}. ` : ""}Limit breached: ${item.breached}` : item.title}
          data-testid={`impact-${item.key}`}
          data-value={item.value ?? ""}
          data-breached={item.breached ? "" : undefined}
        >
          <span class="impact-label">
            <span class="impact-name">{item.label}</span>
            {item.breached ? <span class="visually-hidden">Limit breached: {item.breached}</span> : null}
            {item.detail ? <span class="impact-detail">{item.detail}</span> : null}
          </span>
          <span class="bar-track impact-track" aria-hidden="true">
            <span class="bar-zero" style={{ left: "50%" }} />
            {item.value !== null && item.value !== 0 ? <span class="bar" style={barStyle(item.value, extent)} /> : null}
            {item.value === null && item.missingNote ? <span class="impact-missing">{item.missingNote}</span> : null}
          </span>
          <span
            class={
              "impact-value num " +
              (item.value === null ? "" : item.value < 0 ? "negative" : item.value > 0 ? "positive" : "")
            }
          >
            {item.text}
          </span>
        </li>
      ))}
    </ul>
  );
}

/**
 * One small diverging bar for a table cell; `reference` (e.g. the original exposure) is drawn
 * as a thin dark tick so the move from it is visible. Decorative: the cell next to it prints
 * the numbers.
 */
export function MiniBar(props: { value: number | null; reference?: number | null; extent: number }): JSX.Element {
  const { value, reference, extent } = props;
  const referenceLeft =
    reference === null || reference === undefined || !Number.isFinite(reference)
      ? null
      : 50 + Math.sign(reference) * halfWidth(reference, extent);
  return (
    <span class="bar-track mini-bar" aria-hidden="true">
      <span class="bar-zero" style={{ left: "50%" }} />
      {value !== null && Number.isFinite(value) && value !== 0 ? (
        <span class="bar" style={barStyle(value, extent)} />
      ) : null}
      {referenceLeft !== null ? <span class="mini-bar-reference" style={{ left: `${referenceLeft}%` }} /> : null}
    </span>
  );
}
