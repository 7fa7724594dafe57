// The per-pixel loss heatmap of one sample of an `[N, H, W]` loss: a canvas scaled without smoothing,
// the theme's colour scale fixed over the whole batch (so samples compare), ignored pixels and
// non-finite losses marked apart, and a legend with round ticks.
import { finiteRange, niceTicks, parseCssColor, themeScale, unit, type ColorScale } from '../model/colorScale';
import { formatTick } from '../model/format';

export interface HeatmapData {
  readonly values: Float32Array;
  /** [N, H, W]. */
  readonly shape: readonly number[];
  readonly ignored?: Uint8Array;
  /** The finite [min, max] over the batch when already known (the worker computes it). */
  readonly range?: readonly [number, number];
}

function cssVar(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}

export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly legend: HTMLCanvasElement;
  private readonly ticks: HTMLElement;
  private readonly caption: HTMLElement;
  private readonly range: [number, number];
  private sample = 0;

  constructor(private readonly data: HeatmapData) {
    this.range = data.range ? [data.range[0], data.range[1]] : finiteRange(data.values, data.ignored);
    this.element = document.createElement('div');
    this.element.className = 'heatmap';
    const figure = document.createElement('div');
    figure.className = 'heatmap-figure';
    this.canvas = document.createElement('canvas');
    this.canvas.id = 'heatmap-canvas';
    this.canvas.setAttribute('role', 'img');
    const side = document.createElement('div');
    side.className = 'heatmap-legend';
    this.legend = document.createElement('canvas');
    this.legend.width = 14;
    this.legend.height = 160;
    this.ticks = document.createElement('div');
    this.ticks.className = 'heatmap-ticks';
    side.append(this.legend, this.ticks);
    figure.append(this.canvas, side);
    this.caption = document.createElement('div');
    this.caption.className = 'heatmap-caption';
    this.element.append(figure, this.caption);
    this.draw();
  }

  get samples(): number {
    return this.data.shape[0];
  }

  show(sample: number): void {
    this.sample = Math.max(0, Math.min(this.samples - 1, sample));
    this.draw();
  }

  /** Redraws with the current theme's colours (after a theme change). */
  draw(): void {
    const scale = themeScale(cssVar);
    this.drawSample(scale);
    this.drawLegend(scale);
  }

  private drawSample(scale: ColorScale): void {
    const [, h, w] = this.data.shape;
    // Fit the longer side into ~320 CSS px, whole pixels per cell so cells stay square and crisp.
    const cell = Math.max(1, Math.floor(320 / Math.max(h, w, 1)));
    this.canvas.width = w * cell;
    this.canvas.height = h * cell;
    this.canvas.style.width = `${w * cell}px`;
    this.canvas.style.height = `${h * cell}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx || h === 0 || w === 0) return;
    const image = new ImageData(w, h);
    const px = image.data;
    const offset = this.sample * h * w;
    const [min, max] = this.range;
    const bad = parseCssColor(cssVar('--vscode-charts-purple')) ?? { r: 0xb1, g: 0x80, b: 0xd7 };
    const bg = parseCssColor(cssVar('--vscode-editor-background')) ?? { r: 0x80, g: 0x80, b: 0x80 };
    const fg = parseCssColor(cssVar('--vscode-editor-foreground')) ?? { r: 0x80, g: 0x80, b: 0x80 };
    const faint = mix(bg, fg, 0.22);
    const ignoredCells: number[] = [];
    let nonFinite = 0;
    for (let i = 0; i < h * w; i++) {
      const o = i * 4;
      px[o + 3] = 255;
      if (this.data.ignored?.[offset + i]) {
        ignoredCells.push(i);
        px[o] = faint.r; px[o + 1] = faint.g; px[o + 2] = faint.b;
        continue;
      }
      const t = unit(this.data.values[offset + i], min, max);
      if (Number.isNaN(t)) {
        nonFinite++;
        px[o] = bad.r; px[o + 1] = bad.g; px[o + 2] = bad.b;
        continue;
      }
      const k = Math.round(t * 255) * 3;
      px[o] = scale.table[k]; px[o + 1] = scale.table[k + 1]; px[o + 2] = scale.table[k + 2];
    }
    if (cell === 1) {
      ctx.putImageData(image, 0, 0);
    } else {
      // Draw at one canvas pixel per tensor pixel, then scale up without smoothing.
      const small = document.createElement('canvas');
      small.width = w;
      small.height = h;
      small.getContext('2d')!.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, w * cell, h * cell);
    }
    if (cell >= 4 && ignoredCells.length) {
      // Ignored pixels: background with diagonal hatching, unmistakably "no value" in any theme.
      ctx.save();
      ctx.strokeStyle = `rgba(${fg.r}, ${fg.g}, ${fg.b}, 0.45)`;
      ctx.lineWidth = 1;
      for (const i of ignoredCells) {
        const x = (i % w) * cell, y = Math.floor(i / w) * cell;
        ctx.fillStyle = `rgb(${bg.r}, ${bg.g}, ${bg.b})`;
        ctx.fillRect(x, y, cell, cell);
        ctx.beginPath();
        ctx.rect(x, y, cell, cell);
        ctx.clip();
        const step = Math.max(4, Math.round(cell / 4));
        for (let d = -cell; d < cell; d += step) {
          ctx.moveTo(x + d, y + cell);
          ctx.lineTo(x + d + cell, y);
        }
        ctx.stroke();
        ctx.restore();
        ctx.save();
        ctx.strokeStyle = `rgba(${fg.r}, ${fg.g}, ${fg.b}, 0.45)`;
      }
      ctx.restore();
    }
    const notes = [`sample ${this.sample + 1} of ${this.samples} · ${h}×${w}`];
    if (ignoredCells.length) notes.push(`${ignoredCells.length} ignored (hatched)`);
    if (nonFinite) notes.push(`${nonFinite} non-finite (purple)`);
    this.caption.textContent = notes.join(' · ');
    this.canvas.setAttribute('aria-label', `Per-pixel loss of ${notes[0]}`);
  }

  private drawLegend(scale: ColorScale): void {
    const ctx = this.legend.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.legend;
    for (let y = 0; y < height; y++) {
      const c = scale.at(1 - y / (height - 1));
      ctx.fillStyle = `rgb(${c.r}, ${c.g}, ${c.b})`;
      ctx.fillRect(0, y, width, 1);
    }
    const [min, max] = this.range;
    this.ticks.replaceChildren(...niceTicks(min, max, 5).map(v => {
      const t = document.createElement('span');
      t.textContent = formatTick(v);
      t.style.top = `${(1 - unit(v, min, max)) * 100}%`;
      return t;
    }));
  }
}

function mix(a: { r: number; g: number; b: number }, b: { r: number; g: number; b: number }, f: number) {
  return { r: Math.round(a.r + (b.r - a.r) * f), g: Math.round(a.g + (b.g - a.g) * f), b: Math.round(a.b + (b.b - a.b) * f) };
}
