// The heatmap's colour scale: colour parsing, OKLab interpolation, theme stops and legend ticks.
import { describe, expect, it } from 'vitest';
import {
  finiteRange, lightness, makeScale, niceTicks, oklabToRgb, parseCssColor, rgbToOklab, themeScale, unit,
} from '../../webview/model/colorScale';
import { formatLoss, formatMs, formatThroughput } from '../../webview/model/format';

const light: Record<string, string> = {
  '--vscode-editor-background': '#ffffff', '--vscode-charts-blue': '#1a85ff',
  '--vscode-charts-yellow': '#bf8803', '--vscode-charts-red': '#e51400',
};
const dark: Record<string, string> = {
  '--vscode-editor-background': '#1f1f1f', '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-yellow': '#cca700', '--vscode-charts-red': '#f14c4c',
};

describe('parseCssColor', () => {
  it.each([
    ['#fff', { r: 255, g: 255, b: 255 }], ['#1F1F1F', { r: 31, g: 31, b: 31 }], ['#11223380', { r: 17, g: 34, b: 51 }],
    ['rgb(1, 2, 3)', { r: 1, g: 2, b: 3 }], ['rgba(10,20,30,0.5)', { r: 10, g: 20, b: 30 }], [' #abc ', { r: 170, g: 187, b: 204 }],
  ])('%s', (text, rgb) => expect(parseCssColor(text)).toEqual(rgb));
  it('returns undefined for what it cannot read', () => {
    for (const t of ['', 'red', '#12', 'var(--x)', 'hsl(1,2%,3%)']) expect(parseCssColor(t)).toBeUndefined();
  });
});

describe('OKLab', () => {
  it('round-trips sRGB within one step', () => {
    for (const c of [{ r: 0, g: 0, b: 0 }, { r: 255, g: 255, b: 255 }, { r: 241, g: 76, b: 76 }, { r: 12, g: 200, b: 99 }]) {
      const back = oklabToRgb(rgbToOklab(c));
      expect(Math.abs(back.r - c.r) + Math.abs(back.g - c.g) + Math.abs(back.b - c.b)).toBeLessThanOrEqual(3);
    }
  });
  it('orders lightness', () => {
    expect(lightness({ r: 0, g: 0, b: 0 })).toBeCloseTo(0, 6);
    expect(lightness({ r: 255, g: 255, b: 255 })).toBeCloseTo(1, 3);
  });
});

describe('makeScale', () => {
  it('hits its stops at the ends and the middle, and clamps', () => {
    const s = makeScale([{ r: 0, g: 0, b: 0 }, { r: 255, g: 0, b: 0 }, { r: 255, g: 255, b: 255 }]);
    expect(s.at(0)).toEqual({ r: 0, g: 0, b: 0 });
    expect(s.at(0.5)).toEqual({ r: 255, g: 0, b: 0 });
    expect(s.at(1)).toEqual({ r: 255, g: 255, b: 255 });
    expect(s.at(-3)).toEqual(s.at(0));
    expect(s.at(7)).toEqual(s.at(1));
    expect(s.table.length).toBe(768);
    expect([s.table[765], s.table[766], s.table[767]]).toEqual([255, 255, 255]);
  });
  it('needs two stops', () => {
    expect(() => makeScale([{ r: 0, g: 0, b: 0 }])).toThrow('two stops');
  });
});

describe('themeScale', () => {
  it('starts near the editor background and ends at the theme red, in both themes', () => {
    for (const theme of [light, dark]) {
      const s = themeScale(v => theme[v] ?? '');
      const bg = parseCssColor(theme['--vscode-editor-background'])!;
      const low = s.at(0);
      expect(Math.abs(lightness(low) - lightness(bg))).toBeLessThan(0.12);
      expect(low).not.toEqual(bg); // a zero-loss pixel still shows against the page
      expect(s.at(1)).toEqual(parseCssColor(theme['--vscode-charts-red']));
    }
  });
  it('moves away from the background as the loss grows (light: darker, dark: lighter at first)', () => {
    const l = themeScale(v => light[v] ?? '');
    const d = themeScale(v => dark[v] ?? '');
    expect(lightness(l.at(0.33))).toBeLessThan(lightness(l.at(0)));
    expect(lightness(d.at(0.33))).toBeGreaterThan(lightness(d.at(0)));
  });
  it('falls back when the variables are missing', () => {
    expect(themeScale(() => '').at(1)).toEqual({ r: 0xf1, g: 0x4c, b: 0x4c });
  });
});

describe('value mapping and legend', () => {
  it('maps values into [0, 1], non-finite to NaN', () => {
    expect(unit(5, 0, 10)).toBe(0.5);
    expect(unit(-1, 0, 10)).toBe(0);
    expect(unit(11, 0, 10)).toBe(1);
    expect(unit(3, 3, 3)).toBe(0);
    expect(unit(NaN, 0, 1)).toBeNaN();
    expect(unit(Infinity, 0, 1)).toBeNaN();
  });
  it('finds the finite range, skipping ignored pixels', () => {
    expect(finiteRange([3, NaN, -1, Infinity, 7])).toEqual([-1, 7]);
    expect(finiteRange([3, 100, 4], [0, 1, 0])).toEqual([3, 4]);
    expect(finiteRange([NaN])).toEqual([0, 0]);
  });
  it('picks round ticks', () => {
    expect(niceTicks(0, 10, 6)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 4.7, 5)).toEqual([1, 2, 3, 4]);
    expect(niceTicks(2, 2)).toEqual([2]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });
});

describe('formatting', () => {
  it('prints losses with 5 significant digits and names non-finite values', () => {
    expect(formatLoss(3.045112)).toBe('3.0451');
    expect(formatLoss(Math.log(21))).toBe('3.0445');
    expect(formatLoss(0.000012345)).toBe('1.2345e-5');
    expect(formatLoss(123456)).toBe('1.2346e+5');
    expect(formatLoss(NaN)).toBe('NaN');
    expect(formatLoss(Infinity)).toBe('∞');
    expect(formatLoss(null)).toBe('—');
    expect(formatLoss(-0)).toBe('-0');
  });
  it('prints times and throughput', () => {
    expect(formatMs(0.5)).toBe('0.50 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(12345)).toBe('12.3 s');
    expect(formatThroughput(1e6, 1)).toBe('1.00 G el/s');
    expect(formatThroughput(5e5, 10)).toBe('50.0 M el/s');
    expect(formatThroughput(0, 1)).toBe('—');
  });
});

describe('hue path', () => {
  it('goes from blue to yellow through green, not grey', () => {
    const s = makeScale([{ r: 0x37, g: 0x94, b: 0xff }, { r: 0xcc, g: 0xa7, b: 0x00 }]);
    const mid = s.at(0.5);
    const [, a, b] = rgbToOklab(mid);
    expect(Math.hypot(a, b)).toBeGreaterThan(0.08); // grey would be ~0.01
    expect(mid.g).toBeGreaterThan(mid.r);
    expect(mid.g).toBeGreaterThan(mid.b);
  });
});

describe('legend ticks', () => {
  it('are short', async () => {
    const { formatTick } = await import('../../webview/model/format');
    expect([10, 8, 2.5, 0, 0.002, 0.0005, 1e6].map(formatTick)).toEqual(['10', '8', '2.5', '0', '0.002', '5e-4', '1e+6']);
  });
});
