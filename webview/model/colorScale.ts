// The heatmap's colour scale: from the editor's background (low loss) through the theme's chart
// colours to its strongest (high loss), interpolated in OKLCh so equal steps in loss look like equal
// steps in colour in both light and dark themes (hue goes round the circle, never through grey);
// plus the legend's ticks.

export interface Rgb {
  readonly r: number;
  readonly g: number;
  readonly b: number;
}

/** `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb(…)`/`rgba(…)`; undefined for anything else. Alpha is dropped. */
export function parseCssColor(text: string): Rgb | undefined {
  const t = text.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,8})$/.exec(t);
  if (m) {
    const h = m[1];
    if (h.length === 3 || h.length === 4) {
      return { r: parseInt(h[0] + h[0], 16), g: parseInt(h[1] + h[1], 16), b: parseInt(h[2] + h[2], 16) };
    }
    if (h.length === 6 || h.length === 8) {
      return { r: parseInt(h.slice(0, 2), 16), g: parseInt(h.slice(2, 4), 16), b: parseInt(h.slice(4, 6), 16) };
    }
    return undefined;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(t);
  if (m) {
    const c = (s: string) => Math.max(0, Math.min(255, Math.round(Number(s))));
    return { r: c(m[1]), g: c(m[2]), b: c(m[3]) };
  }
  return undefined;
}

function toLinear(c: number): number {
  const x = c / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}
function fromLinear(x: number): number {
  const c = x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
  return Math.max(0, Math.min(255, Math.round(c * 255)));
}

type Lab = readonly [number, number, number];

/** sRGB → OKLab (Björn Ottosson's matrices). */
export function rgbToOklab(c: Rgb): Lab {
  const r = toLinear(c.r), g = toLinear(c.g), b = toLinear(c.b);
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

export function oklabToRgb([L, a, b]: Lab): Rgb {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return {
    r: fromLinear(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s),
    g: fromLinear(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s),
    b: fromLinear(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s),
  };
}

/** OKLab lightness of a colour, 0 (black) … 1 (white). */
export function lightness(c: Rgb): number {
  return rgbToOklab(c)[0];
}

export interface ColorScale {
  /** The colour of `t` in [0, 1] (clamped). */
  at(t: number): Rgb;
  /** 256 entries, RGB, for fast per-pixel lookup. */
  readonly table: Uint8ClampedArray;
}

/** OKLab → OKLCh (lightness, chroma, hue in radians) and back. */
function toLch([L, a, b]: Lab): Lab {
  return [L, Math.hypot(a, b), Math.atan2(b, a)];
}
function fromLch([L, c, h]: Lab): Lab {
  return [L, c * Math.cos(h), c * Math.sin(h)];
}

/**
 * Between two stops: lightness and chroma linearly, hue along the shorter arc (OKLCh). Interpolating
 * a and b directly would pass through grey between complementary stops (blue → yellow); going round
 * the hue circle passes through teal and green instead, as perceptual scales such as viridis do.
 * A nearly grey stop (the background) has no meaningful hue: it takes the other stop's hue.
 */
function mixLch(a: Lab, b: Lab, f: number): Lab {
  const la = toLch(a), lb = toLch(b);
  const GREY = 0.02;
  const ha = la[1] < GREY ? lb[2] : la[2];
  const hb = lb[1] < GREY ? ha : lb[2];
  let dh = hb - ha;
  if (dh > Math.PI) dh -= 2 * Math.PI;
  if (dh < -Math.PI) dh += 2 * Math.PI;
  return fromLch([la[0] + (lb[0] - la[0]) * f, la[1] + (lb[1] - la[1]) * f, ha + dh * f]);
}

/** A scale through `stops` (at least two), evenly spaced, interpolated in OKLCh. */
export function makeScale(stops: readonly Rgb[]): ColorScale {
  if (stops.length < 2) throw new Error('a colour scale needs two stops');
  const labs = stops.map(rgbToOklab);
  const at = (t: number): Rgb => {
    const x = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) : 0;
    const pos = x * (labs.length - 1);
    const i = Math.min(Math.floor(pos), labs.length - 2);
    const f = pos - i;
    if (f === 0) return oklabToRgb(labs[i]);
    if (f === 1) return oklabToRgb(labs[i + 1]);
    return oklabToRgb(mixLch(labs[i], labs[i + 1], f));
  };
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = at(i / 255);
    table[i * 3] = c.r;
    table[i * 3 + 1] = c.g;
    table[i * 3 + 2] = c.b;
  }
  return { at, table };
}

/** Fallbacks when a theme variable is missing (VS Code's Dark Modern chart colours). */
const FALLBACK = {
  background: { r: 0x1f, g: 0x1f, b: 0x1f },
  blue: { r: 0x37, g: 0x94, b: 0xff },
  yellow: { r: 0xcc, g: 0xa7, b: 0x00 },
  red: { r: 0xf1, g: 0x4c, b: 0x4c },
};

/**
 * The theme's loss scale: background → charts blue → charts yellow → charts red, read from the
 * `--vscode-*` variables through `lookup`. The low end is pulled a little off the background so a
 * zero-loss pixel is still visible against the page.
 */
export function themeScale(lookup: (cssVariable: string) => string): ColorScale {
  const get = (name: string, fallback: Rgb) => parseCssColor(lookup(name)) ?? fallback;
  const background = get('--vscode-editor-background', FALLBACK.background);
  const blue = get('--vscode-charts-blue', FALLBACK.blue);
  const low = oklabToRgb(mixLab(rgbToOklab(background), rgbToOklab(blue), 0.18));
  return makeScale([low, blue, get('--vscode-charts-yellow', FALLBACK.yellow), get('--vscode-charts-red', FALLBACK.red)]);
}

function mixLab(a: Lab, b: Lab, f: number): Lab {
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Where `v` falls between `min` and `max`, in [0, 1]; NaN for non-finite values. */
export function unit(v: number, min: number, max: number): number {
  if (!Number.isFinite(v)) return NaN;
  if (!(max > min)) return 0;
  return Math.max(0, Math.min(1, (v - min) / (max - min)));
}

/** Finite min and max of `values` (ignoring entries flagged in `skip`); [0, 0] when none. */
export function finiteRange(values: ArrayLike<number>, skip?: ArrayLike<number>): [number, number] {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (skip && skip[i]) continue;
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? [min, max] : [0, 0];
}

/** About `count` round tick values covering [min, max] (1, 2, 5 × 10^k steps), for the legend. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  const raw = (max - min) / Math.max(1, count - 1);
  const mag = 10 ** (Math.floor(Math.log10(raw)) - 1);
  let best: number[] = [];
  for (const m of [1, 2, 5, 10, 20, 50, 100]) {
    const step = m * mag;
    const ticks: number[] = [];
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
    // The candidate closest to `count` ticks wins; on a tie the coarser (later) one reads better.
    if (best.length === 0 || Math.abs(ticks.length - count) <= Math.abs(best.length - count)) best = ticks;
  }
  const ticks = best;
  return ticks;
}
