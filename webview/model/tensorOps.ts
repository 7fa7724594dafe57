// The conversions the panel applies before the engine sees a batch: class axis last → PyTorch's dim 1,
// index ⇄ probability targets (one-hot and argmax), and reading class indices of any integer dtype.
// Errors are PyTorch's, in its words, because the panel stands in for the user's own conversion code.
import { TorchError, type Tensor, type TypedArray } from '../../compute/types';
import { product } from './shapeText';

/**
 * `x.movedim(-1, 1)`: `[N, d1…dK, C]` → `[N, C, d1…dK]` (a copy in C order). Ranks below 3 are
 * unchanged, since there the class dim is already the last one and dim 1 (or the only dim).
 */
export function classLastToFirst(t: Tensor): Tensor {
  const shape = t.shape;
  if (shape.length < 3) return t;
  const n = shape[0];
  const c = shape[shape.length - 1];
  const inner = product(shape.slice(1, -1));
  const src = t.data;
  const dst = newLike(src, src.length);
  // src index ((b * inner + p) * c + k) → dst index ((b * c + k) * inner + p)
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < inner; p++) {
      const s = (b * inner + p) * c;
      for (let k = 0; k < c; k++) (dst as { [i: number]: number | bigint })[(b * c + k) * inner + p] = src[s + k];
    }
  }
  return { dtype: t.dtype, shape: [n, c, ...shape.slice(1, -1)], data: dst };
}

function newLike(a: TypedArray, length: number): TypedArray {
  return new (a.constructor as new (n: number) => TypedArray)(length);
}

/** Class indices as numbers, whatever integer dtype holds them; null for floating-point data. */
export function indicesOf(t: Tensor): Float64Array | null {
  if (t.dtype.startsWith('float')) return null;
  const out = new Float64Array(t.data.length);
  const d = t.data;
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/**
 * `F.one_hot(target, C)` moved to the class axis the loss expects (dim 1, or 0 for a 0-d target),
 * as float32: index targets → probability targets. Its checks and messages are `F.one_hot`'s.
 */
export function oneHot(target: Tensor, classes: number): Tensor {
  if (target.dtype !== 'int64') throw new TorchError('RuntimeError', 'one_hot is only applicable to index tensor.');
  const idx = indicesOf(target)!;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0) throw new TorchError('RuntimeError', 'Class values must be non-negative.');
    if (idx[i] >= classes) throw new TorchError('RuntimeError', 'Class values must be smaller than num_classes.');
  }
  const shape = target.shape;
  const n = shape.length === 0 ? 1 : shape[0];
  const inner = shape.length === 0 ? 1 : product(shape.slice(1));
  const out = new Float32Array(n * classes * inner);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < inner; p++) out[(b * classes + idx[b * inner + p]) * inner + p] = 1;
  }
  const outShape = shape.length === 0 ? [classes] : [shape[0], classes, ...shape.slice(1)];
  return { dtype: 'float32', shape: outShape, data: out };
}

/**
 * `target.argmax(dim=1)` (dim 0 for a 1-D target) as int64: probability targets → index targets.
 * The first maximum wins and NaN counts as the maximum, as in PyTorch.
 */
export function argmaxClasses(t: Tensor): Tensor {
  const shape = t.shape;
  if (shape.length === 0) throw new TorchError('IndexError', 'argmax(): Expected reduction dim 0 to have non-zero size.');
  const axis = shape.length === 1 ? 0 : 1;
  const classes = shape[axis];
  const outShape = shape.filter((_, i) => i !== axis);
  const n = axis === 0 ? 1 : shape[0];
  const inner = axis === 0 ? 1 : product(shape.slice(2));
  if (classes === 0 && n * inner > 0) {
    throw new TorchError('IndexError', `argmax(): Expected reduction dim ${axis} to have non-zero size.`);
  }
  const out = new BigInt64Array(n * inner);
  const d = t.data;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < inner; p++) {
      let best = 0;
      let bestValue = Number(d[(b * classes) * inner + p]);
      for (let k = 1; k < classes && !Number.isNaN(bestValue); k++) {
        const v = Number(d[(b * classes + k) * inner + p]);
        if (v > bestValue || Number.isNaN(v)) {
          best = k;
          bestValue = v;
        }
      }
      out[b * inner + p] = BigInt(best);
    }
  }
  return { dtype: 'int64', shape: outShape, data: out };
}

/** The class count of an input laid out for PyTorch: dim 1, or dim 0 of a 1-D input. */
export function classCount(inputShape: readonly number[]): number {
  if (inputShape.length === 0) return 0;
  return inputShape.length === 1 ? inputShape[0] : inputShape[1];
}
