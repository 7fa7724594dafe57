// What the panel shows besides the loss, computed from the batch as evaluated (class dim 1): accuracy
// and the per-class confusion summary, the per-sample view of per-element losses, and the
// `softmax → log` steps of one element.
import type { Tensor } from '../../compute/types';
import type { ClassSummary } from '../../protocol/webview';
import { classCount, indicesOf } from './tensorOps';
import { product } from './shapeText';

/** Predicted class per element: argmax over the class dim of `input` ([C], [N, C] or [N, C, d…]). */
export function predictions(input: Tensor): Int32Array {
  const shape = input.shape;
  const classes = classCount(shape);
  const n = shape.length <= 1 ? 1 : shape[0];
  const inner = shape.length <= 2 ? 1 : product(shape.slice(2));
  const out = new Int32Array(n * inner);
  const d = input.data as Float32Array | Float64Array;
  for (let b = 0; b < n; b++) {
    const base = b * classes * inner;
    for (let p = 0; p < inner; p++) {
      let best = 0;
      let bestValue = d[base + p];
      for (let k = 1; k < classes; k++) {
        const v = d[base + k * inner + p];
        if (v > bestValue) {
          best = k;
          bestValue = v;
        }
      }
      out[b * inner + p] = best;
    }
  }
  return out;
}

/**
 * Accuracy and per-class counts of `predicted` against index targets (entries equal to
 * `ignoreIndex`, or outside [0, classes), are not counted).
 */
export function classSummary(predicted: Int32Array, targets: ArrayLike<number>, classes: number, ignoreIndex: number): ClassSummary {
  const targetCounts = new Array<number>(classes).fill(0);
  const predictedCounts = new Array<number>(classes).fill(0);
  const truePositives = new Array<number>(classes).fill(0);
  const pairs = new Map<number, number>();
  let counted = 0;
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) {
    const t = targets[i];
    if (t === ignoreIndex || !(t >= 0 && t < classes)) continue;
    const p = predicted[i];
    counted++;
    targetCounts[t]++;
    predictedCounts[p]++;
    if (p === t) {
      correct++;
      truePositives[t]++;
    } else {
      const key = t * classes + p;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  }
  const topConfusions = [...pairs.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 5)
    .map(([key, count]) => ({ target: Math.floor(key / classes), predicted: key % classes, count }));
  return { classes, counted, correct, targetCounts, predictedCounts, truePositives, topConfusions };
}

/** Index targets as numbers: the data of an integer target, or the argmax of a probability target. */
export function targetIndices(target: Tensor, inputShape: readonly number[]): Float64Array {
  const direct = indicesOf(target);
  if (direct && target.shape.length !== inputShape.length) return direct;
  // Same shape as the input: class probabilities (or an integer tensor PyTorch would reject; its
  // argmax is still the best reading for the summary).
  const asFloat: Tensor = { dtype: 'float32', shape: target.shape, data: Float32Array.from(target.data as ArrayLike<number>, Number) };
  return Float64Array.from(predictions(asFloat));
}

/**
 * One loss per sample from per-element losses of shape [N, d…]: the mean over the sample's
 * non-ignored elements (NaN when all are ignored). For [N] it is the values themselves.
 */
export function perSample(values: Float32Array, shape: readonly number[], ignored?: Uint8Array): Float64Array {
  if (shape.length === 0) return Float64Array.of(values[0]);
  const n = shape[0];
  const inner = product(shape.slice(1));
  const out = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    let sum = 0;
    let count = 0;
    for (let p = 0; p < inner; p++) {
      const i = b * inner + p;
      if (ignored && ignored[i]) continue;
      sum += values[i];
      count++;
    }
    out[b] = count === 0 ? NaN : sum / count;
  }
  return out;
}

/**
 * `softmax(x)` then `log`, literally (not the fused log-sum-exp), in float64, over the class dim:
 * the decomposition the step view compares with the fused loss. Returned as float32 for the engine.
 */
export function logOfSoftmax(input: Tensor): Tensor {
  const shape = input.shape;
  const classes = classCount(shape);
  const n = shape.length <= 1 ? 1 : shape[0];
  const inner = shape.length <= 2 ? 1 : product(shape.slice(2));
  const d = input.data as Float32Array | Float64Array;
  const out = new Float32Array(d.length);
  const e = new Float64Array(classes);
  for (let b = 0; b < n; b++) {
    const base = b * classes * inner;
    for (let p = 0; p < inner; p++) {
      let max = -Infinity;
      for (let k = 0; k < classes; k++) max = Math.max(max, d[base + k * inner + p]);
      let sum = 0;
      for (let k = 0; k < classes; k++) {
        e[k] = Math.exp(d[base + k * inner + p] - (Number.isFinite(max) ? max : 0));
        sum += e[k];
      }
      for (let k = 0; k < classes; k++) out[base + k * inner + p] = Math.log(e[k] / sum);
    }
  }
  return { dtype: 'float32', shape, data: out };
}

/** softmax(x)[k] at one element (flat index over the target's shape), in float64. */
export function softmaxAt(input: Tensor, element: number, k: number): number {
  const shape = input.shape;
  const classes = classCount(shape);
  const inner = shape.length <= 2 ? 1 : product(shape.slice(2));
  const b = Math.floor(element / inner);
  const p = element % inner;
  const d = input.data as Float32Array | Float64Array;
  const base = b * classes * inner + p;
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, d[base + c * inner]);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(d[base + c * inner] - max);
  return Math.exp(d[base + k * inner] - max) / sum;
}
