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
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a `.safetensors` header, checked against the file's length. */
export interface SafetensorsEntry {
  readonly name: string;
  /** What the tensor holds once read (BF16 is widened to float32). */
  readonly dtype: TensorDtype;
  /** The dtype as stored, when it differs from `dtype` (BF16). */
  readonly storedAs?: 'BF16';
  readonly shape: number[];
  /** The element count and the byte range in the file (absolute offsets). */
  readonly count: number;
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses and checks a `.safetensors` header: `prefix` holds the file's first bytes (at least the
 * 8-byte length and the header it declares), `fileLength` the whole file's size. Every check of
 * `readSafetensors` happens here, in the same order and with the same messages, so that a caller
 * reading one tensor straight from the file (`tensor-lens loss`) reports a bad file as the reader does.
 */
export function readSafetensorsHeader(
  fileName: string, prefix: Uint8Array, fileLength: number, maxBytes = DEFAULT_MAX_BYTES,
): { entries: SafetensorsEntry[]; metadata?: Record<string, string> } {
  if (fileLength < 8) throw new TensorFileError(fileName, `not a .safetensors file: ${fileLength} bytes is shorter than the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(fileLength - 8)) {
    throw new TensorFileError(fileName, `header length ${declared} is larger than the ${fileLength - 8} bytes that follow`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) throw new TensorFileError(fileName, `header length ${headerLength} exceeds the 100 MB limit`);
  if (prefix.length < 8 + headerLength) throw new Error(`internal: ${fileName}: the header's ${headerLength} bytes were not all read`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new TensorFileError(fileName, `the header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new TensorFileError(fileName, 'the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> | undefined;
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
    entries.push({
      name, dtype: dtype === 'bfloat16' ? 'float32' : dtype, ...(dtype === 'bfloat16' ? { storedAs: 'BF16' as const } : {}),
      shape: shape as number[], count, begin: dataStart + begin, end: dataStart + end,
    });
  }
  // Tensors may not share bytes (the format's own validation rejects overlaps as well).
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1]!;
    const b = spans[i]!;
    if (b.begin < a.end) {
      throw new TensorFileError(fileName,
        `tensors '${a.name}' [${a.begin - dataStart}, ${a.end - dataStart}] and '${b.name}' [${b.begin - dataStart}, ${b.end - dataStart}] overlap`);
    }
  }
  return metadata ? { entries, metadata } : { entries };
}

export function readSafetensors(
  fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES,
): { arrays: NamedTensor[]; metadata?: Record<string, string> } {
  const { entries, metadata } = readSafetensorsHeader(fileName, bytes, bytes.length, maxBytes);
  const arrays = entries.map((e): NamedTensor => {
    if (e.storedAs === 'BF16') {
      const bits = copyElements(bytes, e.begin, 'uint16', e.count, false) as Uint16Array;
      return { name: e.name, tensor: makeTensor('float32', e.shape, bfloat16ToFloat32(bits)), storedAs: 'BF16' };
    }
    return { name: e.name, tensor: makeTensor(e.dtype, e.shape, copyElements(bytes, e.begin, e.dtype, e.count, false)) };
  });
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
