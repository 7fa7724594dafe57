// The tensor file readers' entry point: detect a file's format and read its named arrays.
// Pure TypeScript over `Uint8Array` (no Node, no DOM beyond `DecompressionStream`), so the same code
// runs in the webview's worker and in Node.

import { TensorFileError, type Tensor } from '../types';
import { DEFAULT_MAX_BYTES } from './elements';
import { readJsonTensors } from './json';
import { hasNpyMagic, readNpyWithHeader } from './npy';
import { hasZipMagic, readNpz } from './npz';
import { readSafetensors } from './safetensors';

export { readNpy, readNpyHeader, writeNpy } from './npy';
export { readNpz } from './npz';
export { readSafetensors, readSafetensorsHeader, type SafetensorsEntry } from './safetensors';
export { readJsonTensors } from './json';
export { DEFAULT_MAX_BYTES, float16ToNumber } from './elements';

export type TensorFileFormat = 'npy' | 'npz' | 'safetensors' | 'json';

/** One array of a tensor file. */
export interface NamedTensor {
  /** The array's name: the `.npz` member without `.npy`, the safetensors key, the JSON key, or the file's stem. */
  readonly name: string;
  readonly tensor: Tensor;
  /**
   * The element type as the file stores it (`>f4`, `BF16`, ...), when it differs from what `tensor`
   * holds: big-endian data is converted to native order and bfloat16 is widened to float32 (exactly).
   */
  readonly storedAs?: string;
}

export interface TensorFileContents {
  readonly fileName: string;
  readonly format: TensorFileFormat;
  /** In file order. `.npy` files hold exactly one array; the others hold zero or more. */
  readonly arrays: readonly NamedTensor[];
  /** safetensors `__metadata__` (string → string), when present. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ReadOptions {
  /** Refuse to decode more than this many bytes of array data (default 1 GiB). */
  readonly maxBytes?: number;
  /**
   * `.npy` only: return a view into `bytes` instead of a copy when the data is little-endian, C order
   * and aligned. The tensor then shares `bytes`' buffer (do not transfer or reuse it independently).
   * Other formats hold several arrays in one buffer and always copy.
   */
  readonly share?: boolean;
}

/**
 * The file's format, from its leading bytes first (a renamed file still reads) and its extension
 * second. Returns undefined when neither says.
 */
export function detectFormat(fileName: string, bytes: Uint8Array): TensorFileFormat | undefined {
  if (hasNpyMagic(bytes)) return 'npy';
  if (hasZipMagic(bytes)) return 'npz';
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'npy' || ext === 'npz' || ext === 'safetensors' || ext === 'json') return ext;
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  if (looksLikeJson(bytes)) return 'json';
  return undefined;
}

/**
 * Reads every array of a tensor file. Any problem with the file, however malformed, is a
 * `TensorFileError` naming the file and the problem; memory is bounded by the bytes actually present
 * (and `maxBytes`), never by what a header claims.
 */
export async function readTensorFile(fileName: string, bytes: Uint8Array, options: ReadOptions = {}): Promise<TensorFileContents> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const format = detectFormat(fileName, bytes);
  switch (format) {
    case 'npy': {
      const { tensor, header } = readNpyWithHeader(fileName, bytes, maxBytes, options.share ?? false);
      const array: NamedTensor = header.bigEndian ? { name: stem(fileName), tensor, storedAs: header.descr } : { name: stem(fileName), tensor };
      return { fileName, format, arrays: [array] };
    }
    case 'npz':
      return { fileName, format, arrays: await readNpz(fileName, bytes, maxBytes) };
    case 'safetensors': {
      const { arrays, metadata } = readSafetensors(fileName, bytes, maxBytes);
      return metadata ? { fileName, format, arrays, metadata } : { fileName, format, arrays };
    }
    case 'json':
      return { fileName, format, arrays: readJsonTensors(fileName, bytes, stem(fileName)) };
    case undefined:
      throw new TensorFileError(fileName, 'unknown tensor file format: expected .npy, .npz, .safetensors or .json (nested arrays)');
  }
}

/** The file name without folders and extension: the name a lone array is shown under. */
export function stem(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function looksLikeSafetensors(bytes: Uint8Array): boolean {
  // 8-byte little-endian header length, then a JSON object starting with '{'.
  return bytes.length > 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0;
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length && i < 1024; i++) {
    const b = bytes[i]!;
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x5b || b === 0x7b; // '[' or '{'
  }
  return false;
}
