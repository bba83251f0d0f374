// The heatmap's diverging colour scale (docs/design.md §10): red for negative, white at 0,
// green for positive, symmetric around 0 — the same |value| gets the same intensity on either
// side. Colours are interpolated in linear light (sRGB decoded), so the midpoints are not
// muddy. A missing value has its own colour (a mid grey), never white: white means 0.
// `factorScale` is the one definition of a factor's fixed colour extent, shared by the Universe,
// the symbol page and the heatmap (so a value has one colour on every screen); the heatmap can
// also scale each row to its own largest |value| (`rowScales`). Text on a coloured cell is
// chosen by its WCAG contrast ratio (`textColorOn`), at least 4.5:1 on every colour here.

export type Rgb = readonly [number, number, number];

export const negativeColor: Rgb = [178, 24, 43];
export const zeroColor: Rgb = [247, 247, 247];
export const positiveColor: Rgb = [26, 152, 80];
export const missingColor: Rgb = [189, 189, 189];

/**
 * The two text colours on a cell. The dark one is black on purpose: a diverging scale from white
 * to a saturated end passes through luminances near 0.2, where white reaches about 4.6:1 and only
 * a (near) black reaches 4.5:1 too; the page's ink (#1b1f24) reaches neither there (about 4.1:1).
 */
export const darkText: Rgb = [0, 0, 0];
export const lightText: Rgb = [255, 255, 255];

/** WCAG AA for normal-size text (the cells' numbers are 11 px). */
export const minimumContrast = 4.5;

const toLinear = (channel: number) => {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (linear: number) => {
  const c = linear <= 0.0031308 ? linear * 12.92 : 1.055 * linear ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, c)) * 255);
};

function mix(from: Rgb, to: Rgb, t: number): Rgb {
  const channel = (a: number, b: number) => toSrgb(toLinear(a) + (toLinear(b) - toLinear(a)) * t);
  return [channel(from[0], to[0]), channel(from[1], to[1]), channel(from[2], to[2])];
}

export interface DivergingScale {
  /** The largest |value| shown at full intensity; the domain is [-extent, extent]. */
  extent: number;
  color(value: number | null | undefined): Rgb;
  /** Legend stops: -extent, -extent/2, 0, extent/2, extent. */
  ticks: number[];
}

/**
 * A scale over `values` (nulls ignored): its extent is the largest |value|, or `fixedExtent`
 * when given; 1 when every value is 0 or missing, so 0 stays white.
 */
export function divergingScale(values: readonly (number | null | undefined)[], fixedExtent?: number): DivergingScale {
  let extent = fixedExtent ?? 0;
  if (fixedExtent === undefined)
    for (const value of values)
      if (value !== null && value !== undefined && Number.isFinite(value)) extent = Math.max(extent, Math.abs(value));
  if (!(extent > 0) || !Number.isFinite(extent)) extent = 1;
  return {
    extent,
    color(value) {
      if (value === null || value === undefined || !Number.isFinite(value)) return missingColor;
      const t = Math.max(-1, Math.min(1, value / extent));
      return t >= 0 ? mix(zeroColor, positiveColor, t) : mix(zeroColor, negativeColor, -t);
    },
    ticks: [-extent, -extent / 2, 0, extent / 2, extent],
  };
}

/**
 * The fixed colour extent of a factor (its key, `market_beta`, or its Universe column,
 * `factor_market_beta`): full red or green at ±extent, so a value keeps its colour across
 * screens, pages, sorts and filters (an extent from the visible numbers would repaint the same
 * beta when they change). Market beta centres on 1 across a universe, so its extent is 2 (a very
 * high-beta stock); the style and spread loadings rarely pass ±1. Values beyond are clamped to
 * full colour; the number is always printed or in the tooltip.
 */
export function factorExtent(key: string): number {
  return key.replace(/^factor_/, "") === "market_beta" ? 2 : 1;
}

/** The factor's fixed scale (`factorExtent`): the Universe's, the symbol page's and the heatmap's default. */
export function factorScale(key: string): DivergingScale {
  return divergingScale([], factorExtent(key));
}

/** How the heatmap colours its rows: each factor's fixed scale, or each row's own largest |value|. */
export type ScaleMode = "fixed" | "row";

export const scaleModes: readonly { value: ScaleMode; label: string; title: string }[] = [
  { value: "fixed", label: "Fixed", title: "Fixed: the factor's own scale, the same colours as the Universe" },
  { value: "row", label: "Per row", title: "Per row: each row full colour at its own largest |value| loaded" },
];

/** The mode a URL's `scale` parameter asks for (absent or unknown: fixed). */
export function parseScaleMode(value: string | undefined): ScaleMode {
  return value === "row" ? "row" : "fixed";
}

/** A scale per heatmap row (top to bottom) and the mode that made them. */
export interface RowScales {
  mode: ScaleMode;
  rows: DivergingScale[];
}

/**
 * One scale per row: in "fixed" mode each factor's `factorScale`; in "row" mode each row's
 * largest |value| over `values[row]` (pass everything loaded for the view, not just the window,
 * so colours stay put while the slider moves; a row of zeros or missing values gets extent 1).
 */
export function rowScales(
  mode: ScaleMode,
  keys: readonly string[],
  values: readonly (readonly (number | null | undefined)[])[],
): RowScales {
  return {
    mode,
    rows: keys.map((key, row) => (mode === "fixed" ? factorScale(key) : divergingScale(values[row] ?? []))),
  };
}

/** An extent to two significant digits (±2, ±0.38, ±0.052): enough to tell the rows' extents apart. */
export function formatExtent(extent: number): string {
  return `±${Number(extent.toPrecision(2))}`;
}

/**
 * The legend's words for a set of row scales: the ends of its colour bar and a note naming the
 * rows whose extent differs from the bar's (fixed mode: Market beta ±2 beside ±1 for the rest).
 * In "row" mode every row has its own extent, so the bar's ends are words and the note points at
 * the extents printed beside the row names.
 */
export function legendWords(
  scales: RowScales,
  rowLabels: readonly string[],
): { low: string; high: string; note: string | null; mode: string } {
  const mode = scaleModes.find((option) => option.value === scales.mode)?.title ?? "";
  if (scales.mode === "row")
    return { low: "−row max", high: "+row max", note: "each row's extent is beside its name", mode };
  // The bar's extent: the one most rows share (ties: the smaller, the style loadings' ±1).
  const counts = new Map<number, number>();
  for (const scale of scales.rows) counts.set(scale.extent, (counts.get(scale.extent) ?? 0) + 1);
  const common = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 1;
  const others = scales.rows.flatMap((scale, row) =>
    scale.extent === common ? [] : [`${rowLabels[row] ?? `row ${row + 1}`} ${formatExtent(scale.extent)}`],
  );
  const bound = formatExtent(common).slice(1);
  return {
    low: `−${bound}`,
    high: `+${bound}`,
    note: others.length > 0 ? others.join(", ") : null,
    mode,
  };
}

export function css(color: Rgb): string {
  return `rgb(${color[0]}, ${color[1]}, ${color[2]})`;
}

/** WCAG relative luminance of an sRGB colour. */
export function luminance(color: Rgb): number {
  return 0.2126 * toLinear(color[0]) + 0.7152 * toLinear(color[1]) + 0.0722 * toLinear(color[2]);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** The text colour with the higher contrast on `background`: black on light cells, white on dark ones. */
export function textColorOn(background: Rgb): Rgb {
  return contrastRatio(darkText, background) >= contrastRatio(lightText, background) ? darkText : lightText;
}
