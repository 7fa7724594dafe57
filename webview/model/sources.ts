// Tensors from the panel's sources, in the worker: literal values from the code and seeded random
// batches (logits, log-probabilities, class indices, class probabilities, class weights).
import type { Tensor, TensorDtype, TypedArray } from '../../compute/types';
import type { ClassAxis, TensorSource } from '../../protocol/webview';
import { fillNormal, randomIndex, uniform } from './random';
import { product } from './shapeText';

/** A typed array of `dtype` holding `values` (int64 as BigInt64Array; bool as 0/1 bytes). */
export function typedArrayOf(dtype: TensorDtype, values: ArrayLike<number>): TypedArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'int16': return Int16Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, v => BigInt(Math.trunc(v))));
    case 'uint8': return Uint8Array.from(values);
    case 'uint16': return Uint16Array.from(values);
    case 'uint32': return Uint32Array.from(values);
    case 'uint64': return BigUint64Array.from(Array.from(values, v => BigInt(Math.trunc(v))));
    case 'bool': return Uint8Array.from(values, v => (v ? 1 : 0));
    // float16 data is raw bits; literals from code are never half precision, so widen to float32.
    case 'float16': return Float32Array.from(values);
  }
}

export function literalTensor(source: Extract<TensorSource, { kind: 'literal' }>): Tensor {
  const dtype = source.dtype === 'float16' ? 'float32' : source.dtype;
  return { dtype, shape: source.shape, data: typedArrayOf(dtype, source.values) };
}

/** Normalises `data` to sum to 1 over the class axis (dim 1, or the last dim), in place. */
function normaliseOverClasses(data: Float32Array, shape: readonly number[], axis: ClassAxis): void {
  if (shape.length === 0) return;
  const classAxis = shape.length === 1 ? 0 : axis === 'last' ? shape.length - 1 : 1;
  const classes = shape[classAxis];
  const inner = product(shape.slice(classAxis + 1));
  const outer = product(shape.slice(0, classAxis));
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < inner; p++) {
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += data[(o * classes + k) * inner + p];
      for (let k = 0; k < classes; k++) data[(o * classes + k) * inner + p] /= sum;
    }
  }
}

/**
 * A random tensor, the same for the same seed. `logProbabilities` are returned as logits here; the
 * worker takes log_softmax after moving the class axis (see worker.ts), so both layouts agree.
 */
export function randomTensor(source: Extract<TensorSource, { kind: 'random' }>, classAxis: ClassAxis, onProgress?: (fraction: number) => void): Tensor {
  const n = product(source.shape);
  switch (source.distribution) {
    case 'logits':
    case 'logProbabilities':
      return { dtype: 'float32', shape: source.shape, data: fillNormal(new Float32Array(n), source.seed, source.scale ?? 1, onProgress) };
    case 'classIndex': {
      const next = randomIndex(source.seed, Math.max(1, source.classes ?? 1));
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = next();
      const dtype = source.dtype ?? 'int64';
      return { dtype, shape: source.shape, data: typedArrayOf(dtype, values) };
    }
    case 'probability': {
      const u = uniform(source.seed);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = 0.05 + u();
      normaliseOverClasses(data, source.shape, classAxis);
      return { dtype: 'float32', shape: source.shape, data };
    }
    case 'weight': {
      const u = uniform(source.seed);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = 0.5 + u();
      return { dtype: 'float32', shape: source.shape, data };
    }
  }
}
