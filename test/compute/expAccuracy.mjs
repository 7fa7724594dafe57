// The kernels' exp (the wasm export expLanes) against Math.exp, in ulps of the float32 result, over
// dense grids of x ≤ 0, and rowsLong's (rowExpLanes) against e^(x − max + c). Plain ESM so a child
// Node with --experimental-wasm-relaxed-simd can run it: `node --experimental-wasm-relaxed-simd
// expAccuracy.mjs <file.wasm>` prints both reports as JSON.
import { readFileSync } from 'node:fs';

/** The wasm build at `path`, with `points` floats of input (src) and of output (dst) at `base`. */
function instance(path, points) {
  const e = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env: { abort() { throw new Error('abort'); } } }).exports;
  const base = (e.heapBase() + 63) & ~63;
  const need = base + 2 * points * 4;
  if (e.memory.buffer.byteLength < need) e.memory.grow(Math.ceil((need - e.memory.buffer.byteLength) / 65536));
  const src = new Float32Array(e.memory.buffer, base, points);
  const dst = new Float32Array(e.memory.buffer, base + points * 4, points);
  return { e, base, src, dst };
}

/** Max error in ulps per range, and the special values, for the wasm build at `path`. */
export function expAccuracy(path, points = 1 << 18) {
  const { e, base, src, dst } = instance(path, points);
  const run = xs => {
    src.set(xs);
    e.expLanes(base, base + points * 4, points);
    return dst;
  };
  const ranges = {};
  for (const [lo, hi] of [[-0.35, 0], [-8, 0], [-20, -8], [-80, -20]]) {
    const xs = Float32Array.from({ length: points }, (_, i) => lo + (hi - lo) * i / (points - 1));
    const ys = run(xs);
    let max = 0;
    for (let i = 0; i < points; i++) {
      const exact = Math.exp(xs[i]);
      const r = Math.fround(exact);
      const ulp = Math.fround(r * (1 + 2 ** -23)) - r;
      max = Math.max(max, Math.abs(ys[i] - exact) / ulp);
    }
    ranges[`[${lo}, ${hi}]`] = max;
  }
  const specials = [0, -80, -80.5, -100, -1e30, -Infinity, NaN];
  const sp = run(Float32Array.from({ length: points }, (_, i) => specials[i % specials.length]));
  return { ranges, specials: specials.map((x, i) => [String(x), sp[i]]) };
}

/**
 * rowsLong's exp (the wasm export rowExpLanes) for rows with max m on both sides of its fusing limit
 * (2^20): each term against e^(x − m + c) in f64, x = fl(m − d) for d over [0, 79] (2^−115, the
 * clamp, is e^−79.7). Its rounded t = x·log2e − M errs by ≤ |t|·2^−24, so the report is the largest
 * relative error over 2^−24·(1 + |x − m|), and the terms of x = m − 200, −inf (the clamp) and NaN.
 */
export function rowExpAccuracy(path, points = 1 << 16) {
  const { e, base, src, dst } = instance(path, points);
  const rows = [];
  for (const m of [0, 7.25, -3000.5, 1048000, 2.5e6].map(Math.fround)) {
    for (let i = 0; i < points; i++) src[i] = Math.fround(m - 79 * i / (points - 1));
    const c = e.rowExpLanes(base, base + points * 4, points, m);
    let worst = 0;
    for (let i = 0; i < points; i++) {
      const d = src[i] - m, exact = Math.exp(d + c);
      worst = Math.max(worst, Math.abs(dst[i] - exact) / exact / 2 ** -24 / (1 + Math.abs(d)));
    }
    src.set([m - 200, -Infinity, NaN, m]);
    e.rowExpLanes(base, base + points * 4, 4, m);
    rows.push({ m, c, worst, specials: Array.from(dst.subarray(0, 4), v => Number.isNaN(v) ? null : v) });
  }
  return rows;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, '')) && process.argv[2]) {
  process.stdout.write(JSON.stringify({ ...expAccuracy(process.argv[2]), rows: rowExpAccuracy(process.argv[2]) }));
}
