// Element sizes and typed-array views per dtype, shared by the engine, the pools and the readers.

import type { TensorDtype, TypedArray } from './types';

/** Bytes per element of each dtype the engine's `Tensor` can hold. */
export const DTYPE_SIZE: Readonly<Record<TensorDtype, number>> = {
  float16: 2, float32: 4, float64: 8,
  int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8,
  bool: 1,
};

/**
 * A typed-array view of `count` elements at byte `offset` of `buffer` (which must be aligned), of the
 * dtype's storage type (float16 as raw `Uint16Array` bits, bool as `Uint8Array`).
 */
export function viewElements(buffer: ArrayBufferLike, offset: number, dtype: TensorDtype, count: number): TypedArray {
  switch (dtype) {
    case 'float16': return new Uint16Array(buffer, offset, count);
    case 'float32': return new Float32Array(buffer, offset, count);
    case 'float64': return new Float64Array(buffer, offset, count);
    case 'int8': return new Int8Array(buffer, offset, count);
    case 'int16': return new Int16Array(buffer, offset, count);
    case 'int32': return new Int32Array(buffer, offset, count);
    case 'int64': return new BigInt64Array(buffer, offset, count);
    case 'uint8': return new Uint8Array(buffer, offset, count);
    case 'uint16': return new Uint16Array(buffer, offset, count);
    case 'uint32': return new Uint32Array(buffer, offset, count);
    case 'uint64': return new BigUint64Array(buffer, offset, count);
    case 'bool': return new Uint8Array(buffer, offset, count);
  }
}
