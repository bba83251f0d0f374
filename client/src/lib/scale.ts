// The heatmap's diverging colour scale (docs/design.md §10): red for negative, white at 0,
// green for positive, symmetric around 0 — the same |value| gets the same intensity on either
// side. Colours are interpolated in linear light (sRGB decoded), so the midpoints are not
// muddy. A missing value has its own colour (a mid grey), never white: white means 0.

export type Rgb = readonly [number, number, number];

export const negativeColor: Rgb = [178, 24, 43];
export const zeroColor: Rgb = [247, 247, 247];
export const positiveColor: Rgb = [26, 152, 80];
export const missingColor: Rgb = [189, 189, 189];

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

export function css(color: Rgb): string {
  return `rgb(${color[0]}, ${color[1]}, ${color[2]})`;
}

/** Text that stays readable on `background`: dark on light cells, white on dark ones. */
export function textColorOn(background: Rgb): Rgb {
  const luminance =
    0.2126 * toLinear(background[0]) + 0.7152 * toLinear(background[1]) + 0.0722 * toLinear(background[2]);
  return luminance > 0.35 ? [27, 31, 36] : [255, 255, 255];
}
