// `.safetensors` files: an 8-byte little-endian header length, a JSON header mapping each tensor name
// to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the end of the header), an
// optional `__metadata__` string map, then the little-endian, C-order data.

import { TensorFileError, type TensorDtype } from '../types';
import type { NamedTensor } from './index';
import {
  DEFAULT_MAX_BYTES, DTYPE_SIZE, bfloat16ToFloat32, copyElements, elementCount, makeTensor,
} from './elements';

/** safetensors dtype → our dtype. BF16 is widened to float32 (exactly) since the engine has no bfloat16. */
const DTYPES: Readonly<Record<string, TensorDtype | 'bfloat16'>> = {
  F16: 'float16', BF16: 'bfloat16', F32: 'float32', F64: 'float64',
  I8: 'int8', I16: 'int16', I32: 'int32', I64: 'int64',
  U8: 'uint8', U16: 'uint16', U32: 'uint32', U64: 'uint64',
  BOOL: 'bool',
};

/** The reference implementation refuses headers above 100 MB; so do we, before decoding any text. */
const MAX_HEADER_BYTES = 100_000_000;

export function readSafetensors(
  fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES,
): { arrays: NamedTensor[]; metadata?: Record<string, string> } {
  if (bytes.length < 8) throw new TensorFileError(fileName, `not a .safetensors file: ${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new TensorFileError(fileName, `header length ${declared} is larger than the ${bytes.length - 8} bytes that follow`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) throw new TensorFileError(fileName, `header length ${headerLength} exceeds the 100 MB limit`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new TensorFileError(fileName, `the header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new TensorFileError(fileName, 'the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const arrays: NamedTensor[] = [];
  let metadata: Record<string, string> | undefined;
  const spans: { name: string; begin: number; end: number }[] = [];
  let decoded = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = readMetadata(fileName, entry);
      continue;
    }
    const what = `tensor '${name}'`;
    if (typeof entry !== 'object' || entry === null) throw new TensorFileError(fileName, `${what}: header entry is not an object`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const dtype = typeof dtypeName === 'string' ? DTYPES[dtypeName] : undefined;
    if (!dtype) {
      throw new TensorFileError(fileName, `${what}: unsupported dtype ${JSON.stringify(dtypeName)} (readable: ${Object.keys(DTYPES).join(' ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(d => typeof d === 'number')) {
      throw new TensorFileError(fileName, `${what}: shape ${JSON.stringify(shape)} is not a list of integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(o => Number.isSafeInteger(o) && o >= 0)) {
      throw new TensorFileError(fileName, `${what}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const count = elementCount(fileName, shape as number[], what);
    const size = dtype === 'bfloat16' ? 2 : DTYPE_SIZE[dtype];
    const need = count * size;
    if (end < begin || end - begin !== need) {
      throw new TensorFileError(fileName, `${what}: shape [${shape.join(', ')}] of ${dtypeName} is ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLength) {
      throw new TensorFileError(fileName, `${what}: data_offsets [${begin}, ${end}] run past the ${dataLength} data bytes (truncated?)`);
    }
    decoded += dtype === 'bfloat16' ? count * 4 : need;
    if (decoded > maxBytes) throw new TensorFileError(fileName, `${what}: decoding the file needs more than the ${maxBytes}-byte limit`);
    spans.push({ name, begin, end });
    if (dtype === 'bfloat16') {
      const bits = copyElements(bytes, dataStart + begin, 'uint16', count, false) as Uint16Array;
      arrays.push({ name, tensor: makeTensor('float32', shape as number[], bfloat16ToFloat32(bits)), storedAs: 'BF16' });
    } else {
      arrays.push({ name, tensor: makeTensor(dtype, shape as number[], copyElements(bytes, dataStart + begin, dtype, count, false)) });
    }
  }
  // Tensors may not share bytes (the format's own validation rejects overlaps as well).
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1]!;
    const b = spans[i]!;
    if (b.begin < a.end) {
      throw new TensorFileError(fileName, `tensors '${a.name}' [${a.begin}, ${a.end}] and '${b.name}' [${b.begin}, ${b.end}] overlap`);
    }
  }
  return metadata ? { arrays, metadata } : { arrays };
}

function readMetadata(fileName: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new TensorFileError(fileName, '__metadata__ is not an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new TensorFileError(fileName, `__metadata__ value for '${k}' is not a string`);
    out[k] = v;
  }
  return out;
}
