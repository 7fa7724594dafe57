// Benchmark inputs and baselines: seeded logits and targets, medians, the float64 reference and the
// plain-JavaScript cross-entropy every contestant is compared with.
import { mulberry32 } from '../compute/random';

/** A seeded generator, so every run benchmarks the same numbers. */
export const rng = mulberry32;

export interface CeData {
  readonly shape: readonly number[];
  /** Logits [N, C, d…], normal with standard deviation 3 (a realistic spread of confidences). */
  readonly x: Float32Array;
  /** Class indices [N, d…] in [0, C). */
  readonly t: Int32Array;
}

export function makeData(shape: readonly number[], seed = 7): CeData {
  const N = shape[0]!;
  const C = shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const x = new Float32Array(N * C * S);
  for (let i = 0; i < x.length; i += 2) {
    // Box–Muller: two normals per two uniforms.
    const u = r() || 1e-12;
    const v = r();
    const rad = Math.sqrt(-2 * Math.log(u)) * 3;
    x[i] = rad * Math.cos(2 * Math.PI * v);
    if (i + 1 < x.length) x[i + 1] = rad * Math.sin(2 * Math.PI * v);
  }
  const t = new Int32Array(N * S);
  for (let i = 0; i < t.length; i++) t[i] = Math.floor(r() * C);
  return { shape, x, t };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The float64 reference of `cross_entropy(x, t)` with mean reduction: each item's log-sum-exp in
 * double precision with max subtraction, and the items summed with Neumaier compensation, so its own
 * error (≈1e-15) is far below anything it judges.
 */
export function referenceMean(d: CeData): number {
  const { x, t, shape } = d;
  const N = shape[0]!;
  const C = shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  let sum = 0;
  let comp = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const base = n * C * S + s;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, x[base + c * S]!);
      let e = 0;
      for (let c = 0; c < C; c++) e += Math.exp(x[base + c * S]! - max);
      const loss = Math.log(e) + max - x[base + t[n * S + s]! * S]!;
      const y = sum + loss;
      comp += Math.abs(sum) >= Math.abs(loss) ? sum - y + loss : loss - y + sum;
      sum = y;
    }
  }
  return (sum + comp) / (N * S);
}

/**
 * Cross-entropy as one would write it in plain JavaScript: rows (or pixels) with Math.max, Math.exp
 * and Math.log, in double precision. The baseline every other number is relative to.
 */
export function plainJsMean(x: Float32Array, t: Int32Array, shape: readonly number[]): number {
  const N = shape[0]!;
  const C = shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  let total = 0;
  if (S === 1) {
    for (let n = 0; n < N; n++) {
      const row = n * C;
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (x[row + c]! > max) max = x[row + c]!;
      let e = 0;
      for (let c = 0; c < C; c++) e += Math.exp(x[row + c]! - max);
      total += Math.log(e) + max - x[row + t[n]!]!;
    }
  } else {
    // Class stride S: accumulate per pixel across class planes, which keeps the reads sequential.
    const max = new Float64Array(S);
    const e = new Float64Array(S);
    for (let n = 0; n < N; n++) {
      const img = n * C * S;
      max.fill(-Infinity);
      e.fill(0);
      for (let c = 0; c < C; c++) {
        const plane = img + c * S;
        for (let s = 0; s < S; s++) if (x[plane + s]! > max[s]!) max[s] = x[plane + s]!;
      }
      for (let c = 0; c < C; c++) {
        const plane = img + c * S;
        for (let s = 0; s < S; s++) e[s] += Math.exp(x[plane + s]! - max[s]!);
      }
      for (let s = 0; s < S; s++) total += Math.log(e[s]!) + max[s]! - x[img + t[n * S + s]! * S + s]!;
    }
  }
  return total / (N * S);
}
