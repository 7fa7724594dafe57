// numpy `.npy` files (format versions 1, 2 and 3): a bounded header parser, the reader and the writer.
//
// Layout (numpy/lib/format.py): `\x93NUMPY`, major and minor version bytes, the header length
// (little-endian u16 for v1, u32 for v2/v3), then a Python dict literal such as
// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces to a multiple of
// 64 bytes and ended by `\n`, then the raw elements.

import { TensorFileError, type Tensor, type TensorDtype } from '../types';
import {
  DEFAULT_MAX_BYTES, DTYPE_SIZE, copyElements, elementCount, formatShape, fortranToC, makeTensor, viewElements,
} from './elements';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** numpy type character + size → our dtype. Every other descr is reported as unsupported. */
const DESCR_KINDS: Readonly<Record<string, TensorDtype>> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  b1: 'bool',
};

/** What numpy names a descr we do not read, so the message says what the file holds. */
const UNSUPPORTED_KINDS: Readonly<Record<string, string>> = {
  c: 'complex', U: 'unicode string', S: 'byte string', a: 'byte string', O: 'Python object',
  M: 'datetime', m: 'timedelta', V: 'void/structured', f16: 'float128', f12: 'float96',
};

export interface NpyHeader {
  readonly version: number;
  readonly descr: string;
  readonly dtype: TensorDtype;
  readonly bigEndian: boolean;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Offset of the first element byte. */
  readonly dataOffset: number;
}

export function hasNpyMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** Parses and validates the header; checks the declared data size against the bytes present. */
export function readNpyHeader(fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES): NpyHeader {
  if (!hasNpyMagic(bytes)) {
    throw new TensorFileError(fileName, bytes.length < MAGIC.length
      ? `not a .npy file: ${bytes.length} bytes is shorter than the 6-byte magic`
      : `not a .npy file: it does not start with the magic "\\x93NUMPY"`);
  }
  if (bytes.length < 10) throw new TensorFileError(fileName, `truncated .npy header: only ${bytes.length} bytes`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) {
    throw new TensorFileError(fileName, `unsupported .npy format version ${major}.${minor} (versions 1.0, 2.0 and 3.0 are read)`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new TensorFileError(fileName, `truncated .npy header: only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    throw new TensorFileError(fileName, `truncated .npy header: it declares ${headerLength} header bytes but only ${bytes.length - headerStart} follow`);
  }
  const headerBytes = bytes.subarray(headerStart, dataOffset);
  let text: string;
  try {
    // v1/v2 headers are latin-1 (ASCII in practice); v3 allows UTF-8 (structured field names).
    text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(headerBytes) : latin1(headerBytes);
  } catch {
    throw new TensorFileError(fileName, 'the .npy header is not valid UTF-8');
  }
  const dict = parseHeaderDict(fileName, text);
  const { dtype, bigEndian } = parseDescr(fileName, dict.descr);
  const count = elementCount(fileName, dict.shape, 'the .npy header');
  const size = DTYPE_SIZE[dtype];
  const need = count * size; // count is a safe integer and size ≤ 8, so this stays exact below 2^56
  if (need > maxBytes) {
    throw new TensorFileError(fileName, `header says shape ${formatShape(dict.shape)} of ${dict.descr} = ${need} bytes, more than the ${maxBytes}-byte limit`);
  }
  const present = bytes.length - dataOffset;
  if (need > present) {
    throw new TensorFileError(fileName, `header says shape ${formatShape(dict.shape)} of ${dict.descr} = ${need} bytes but only ${present} bytes follow`);
  }
  return { version: major, descr: dict.descr, dtype, bigEndian, fortranOrder: dict.fortranOrder, shape: dict.shape, dataOffset };
}

/**
 * Reads a `.npy` file into a C-order tensor in native (little-endian) byte order.
 * Trailing bytes after the data are ignored, as numpy ignores them.
 */
export function readNpy(fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES): Tensor {
  return readNpyWithHeader(fileName, bytes, maxBytes).tensor;
}

/**
 * `readNpy`, also returning the parsed header (the stored descr, version and order). With `share`,
 * a little-endian C-order array whose data is aligned in `bytes` is returned as a view into `bytes`
 * (no copy: for a 176 MB batch that is most of the read time); otherwise the tensor owns its buffer.
 */
export function readNpyWithHeader(
  fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES, share = false,
): { tensor: Tensor; header: NpyHeader } {
  const h = readNpyHeader(fileName, bytes, maxBytes);
  const count = h.shape.reduce((a, b) => a * b, 1);
  const start = bytes.byteOffset + h.dataOffset;
  if (share && !h.bigEndian && !h.fortranOrder && h.dtype !== 'bool' && start % DTYPE_SIZE[h.dtype] === 0) {
    return { tensor: makeTensor(h.dtype, h.shape, viewElements(bytes.buffer, start, h.dtype, count)), header: h };
  }
  let data = copyElements(bytes, h.dataOffset, h.dtype, count, h.bigEndian);
  // Fortran order stores the transpose's C layout: element (i, j) at i + j·rows.
  if (h.fortranOrder) data = fortranToC(data, h.shape);
  return { tensor: makeTensor(h.dtype, h.shape, data), header: h };
}

/** numpy's descr for each dtype, as `writeNpy` writes it (little-endian). */
const DESCR_OF: Readonly<Record<TensorDtype, string>> = {
  float16: '<f2', float32: '<f4', float64: '<f8',
  int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8',
  bool: '|b1',
};

/**
 * Writes a C-order, little-endian `.npy` (version 1.0, or 2.0 when the header exceeds 65535 bytes),
 * padded exactly as numpy pads it so `numpy.load` reads it back unchanged.
 */
export function writeNpy(tensor: Tensor): Uint8Array {
  const shape = tensor.shape;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${DESCR_OF[tensor.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads the whole preamble (magic, version, length field, dict, '\n') to a multiple of 64 bytes.
  const padded = (preamble: number) => dict + ' '.repeat((64 - ((preamble + dict.length + 1) % 64)) % 64) + '\n';
  let version = 1;
  let preamble = 10;
  let header = padded(preamble);
  if (header.length > 0xffff) {
    // Only a shape with thousands of dims gets here; version 2 has a 4-byte length field.
    version = 2;
    preamble = 12;
    header = padded(preamble);
  }
  const size = DTYPE_SIZE[tensor.dtype];
  const dataBytes = tensor.data.length * size;
  const out = new Uint8Array(preamble + header.length + dataBytes);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  const data = tensor.data;
  // Typed arrays are in the platform's byte order; every engine we run on is little-endian.
  out.set(new Uint8Array(data.buffer, data.byteOffset, dataBytes), preamble + header.length);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function parseDescr(fileName: string, descr: string): { dtype: TensorDtype; bigEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const what = m ? UNSUPPORTED_KINDS[m[2]! + m[3]!] ?? UNSUPPORTED_KINDS[m[2]!] : undefined;
  const dtype = m ? DESCR_KINDS[m[2]! + m[3]!] : undefined;
  if (!m || !dtype) {
    throw new TensorFileError(fileName, `unsupported dtype '${descr}'${what ? ` (${what})` : ''}: readable dtypes are float16/32/64, int8/16/32/64, uint8/16/32/64 and bool`);
  }
  // '=' (native) never appears in files numpy writes; it is taken as little-endian, the only order of
  // every machine this runs on.
  return { dtype, bigEndian: m[1] === '>' };
}

interface HeaderDict {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
}

/**
 * A strict parser for the header's Python literal: a dict with exactly the keys `descr` (a string),
 * `fortran_order` (True/False) and `shape` (a tuple of ints). numpy's own loader rejects anything else.
 */
function parseHeaderDict(fileName: string, text: string): HeaderDict {
  let i = 0;
  const fail = (what: string): never => {
    const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
    throw new TensorFileError(fileName, `malformed .npy header (${what} at character ${i}): ${JSON.stringify(shown.trimEnd())}`);
  };
  const ws = () => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const expect = (c: string) => { ws(); if (text[i] !== c) fail(`expected '${c}'`); i++; };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a string');
    const end = text.indexOf(q!, i + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const int = (): number => {
    ws();
    const m = /^\d+/.exec(text.slice(i, i + 40));
    if (!m) fail('expected a non-negative integer');
    i += m![0].length;
    if (text[i] === 'L') i++; // Python 2 long suffix, as old numpy wrote it
    if (m![0].length > 16) fail(`dimension ${m![0]} is absurdly large`);
    return Number(m![0]);
  };
  const values: Record<string, unknown> = {};
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') { i++; break; }
    const key = str();
    expect(':');
    ws();
    if (key === 'descr') {
      if (text[i] === '[') fail('structured dtypes are not supported');
      values[key] = str();
    } else if (key === 'fortran_order') {
      if (text.startsWith('True', i)) { values[key] = true; i += 4; }
      else if (text.startsWith('False', i)) { values[key] = false; i += 5; }
      else fail('expected True or False');
    } else if (key === 'shape') {
      expect('(');
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') { i++; break; }
        dims.push(int());
        if (dims.length > 64) fail('more than 64 dimensions');
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail("expected ',' or ')'");
      }
      values[key] = dims;
    } else {
      fail(`unexpected key '${key}'`);
    }
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail("expected ',' or '}'");
  }
  if (text.slice(i).trim() !== '') fail('unexpected text after the dict');
  for (const k of ['descr', 'fortran_order', 'shape']) {
    if (!(k in values)) fail(`missing key '${k}'`);
  }
  return { descr: values.descr as string, fortranOrder: values.fortran_order as boolean, shape: values.shape as number[] };
}
