// Element decoding shared by the readers: bounded copies out of file bytes, byte swaps,
// Fortran-to-C transposition and float16/bfloat16 bit conversions.

import { DTYPE_SIZE, viewElements } from '../dtypes';
import { TensorFileError, type Tensor, type TensorDtype, type TypedArray } from '../types';

export { DTYPE_SIZE, viewElements };

/**
 * The largest decoded payload a reader will produce (1 GiB). A header that asks for more is reported
 * rather than allocated; callers with more memory pass their own `maxBytes`.
 */
export const DEFAULT_MAX_BYTES = 1 << 30;

/** Makes an empty typed array of the dtype's storage type (float16 as raw `Uint16Array` bits). */
export function allocate(dtype: TensorDtype, length: number): TypedArray {
  switch (dtype) {
    case 'float16': return new Uint16Array(length);
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'int8': return new Int8Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': return new Int32Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'uint8': return new Uint8Array(length);
    case 'uint16': return new Uint16Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'uint64': return new BigUint64Array(length);
    case 'bool': return new Uint8Array(length);
  }
}

/**
 * Number of elements in `shape`, or an error when a dim is not a non-negative safe integer or the
 * product leaves the safe-integer range (a lying header must not wrap around to a small number).
 */
export function elementCount(fileName: string, shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new TensorFileError(fileName, `${what} has an invalid dimension ${String(d)} in shape ${formatShape(shape)}`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) {
      throw new TensorFileError(fileName, `${what} has shape ${formatShape(shape)} whose element count overflows`);
    }
  }
  // A zero dim makes the product 0 even after an absurd earlier dim; that is a valid empty array.
  return n;
}

/** `(4, 5)` / `(3,)` / `()`: numpy's tuple spelling, which is what the user sees in their own code. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Copies `count` elements of `dtype` starting at `offset` into a fresh, aligned buffer, swapping bytes
 * when the file is big-endian. The caller has already checked `offset + count * size <= bytes.length`.
 * Copying (rather than viewing the file's buffer) gives each tensor its own transferable buffer and
 * removes any alignment requirement on the file layout.
 */
export function copyElements(
  bytes: Uint8Array, offset: number, dtype: TensorDtype, count: number, bigEndian: boolean,
): TypedArray {
  const size = DTYPE_SIZE[dtype];
  const out = allocate(dtype, count);
  const raw = new Uint8Array(out.buffer, out.byteOffset, count * size);
  raw.set(bytes.subarray(offset, offset + count * size));
  if (bigEndian && size > 1) swapBytes(raw, size);
  if (dtype === 'bool') normalizeBools(raw);
  return out;
}

/**
 * Reverses each `size`-byte group in place. `raw` is aligned to `size` (it views a fresh typed array),
 * so the swap works on whole 16/32-bit words rather than single bytes.
 */
export function swapBytes(raw: Uint8Array, size: number): void {
  if (size === 2) {
    const u = new Uint16Array(raw.buffer, raw.byteOffset, raw.length >> 1);
    for (let i = 0; i < u.length; i++) {
      const v = u[i]!;
      u[i] = ((v & 0xff) << 8) | (v >>> 8);
    }
  } else if (size === 4 || size === 8) {
    const u = new Uint32Array(raw.buffer, raw.byteOffset, raw.length >> 2);
    for (let i = 0; i < u.length; i++) u[i] = bswap32(u[i]!);
    // An 8-byte element is its two swapped words in the opposite order.
    if (size === 8) {
      for (let i = 0; i + 1 < u.length; i += 2) {
        const t = u[i]!;
        u[i] = u[i + 1]!;
        u[i + 1] = t;
      }
    }
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** numpy and safetensors store bools as bytes; anything non-zero is true, and the tensor holds 0/1. */
function normalizeBools(raw: Uint8Array): void {
  for (let i = 0; i < raw.length; i++) if (raw[i]! > 1) raw[i] = 1;
}

/**
 * Reorders Fortran-order (column-major) data into C order: output element (i0, …, ik) in C order is
 * input element i0 + i1·d0 + i2·d0·d1 + …. The outer dims are walked with an odometer that keeps the
 * column-major offset incrementally; the innermost C dim is a strided gather. Elements are moved as
 * raw bits (never through float registers, so NaN payloads survive).
 */
export function fortranToC<T extends TypedArray>(data: T, shape: readonly number[]): T {
  const rank = shape.length;
  if (rank < 2 || data.length === 0) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const words = data.BYTES_PER_ELEMENT === 8 ? 2 : 1;
  const unit = data.BYTES_PER_ELEMENT === 1 ? Uint8Array : data.BYTES_PER_ELEMENT === 2 ? Uint16Array : Uint32Array;
  const src = new unit(data.buffer as ArrayBuffer, data.byteOffset, data.length * words);
  const dst = new unit(out.buffer as ArrayBuffer, out.byteOffset, out.length * words);
  // Column-major strides in elements: the first dim varies fastest.
  const fStride = new Array<number>(rank);
  fStride[0] = 1;
  for (let k = 1; k < rank; k++) fStride[k] = fStride[k - 1]! * shape[k - 1]!;
  const inner = shape[rank - 1]!;
  const innerStride = fStride[rank - 1]! * words;
  const index = new Array<number>(rank - 1).fill(0);
  let f = 0; // column-major offset of the current outer index, in elements
  let c = 0; // output position, in words
  const outer = data.length / inner;
  for (let o = 0; o < outer; o++) {
    if (words === 1) {
      for (let j = 0, s = f; j < inner; j++, s += innerStride) dst[c++] = src[s]!;
    } else {
      for (let j = 0, s = f * 2; j < inner; j++, s += innerStride) {
        dst[c++] = src[s]!;
        dst[c++] = src[s + 1]!;
      }
    }
    for (let k = rank - 2; k >= 0; k--) {
      index[k]!++;
      f += fStride[k]!;
      if (index[k]! < shape[k]!) break;
      f -= fStride[k]! * shape[k]!;
      index[k] = 0;
    }
  }
  return out;
}

/** bfloat16 bits → float32: bfloat16 is the top half of a float32, so the conversion is exact. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
  return out;
}

/** IEEE half-precision bits → number (exact). */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal: frac · 2^-10 · 2^-14
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A tensor built by a reader. The invariant `data.length === product(shape)` is the readers' to keep. */
export function makeTensor(dtype: TensorDtype, shape: readonly number[], data: TypedArray): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  if (n !== data.length) throw new Error(`reader bug: ${data.length} elements for shape [${shape.join(', ')}]`);
  return { dtype, shape: [...shape], data };
}
