// `tensor-lens loss`'s tensor files, read where the evaluation reads them: a little-endian C-order
// `.npy`, a tensor of a `.safetensors` file and a stored `.npz` member go from the file straight into
// memory the engine (or the pool's workers) computes on, with no copy; every other file goes through
// the readers (compute/readers) as before.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DTYPE_SIZE } from '../compute/dtypes';
import { DEFAULT_MAX_BYTES, readNpyHeader, readSafetensorsHeader, readTensorFile } from '../compute/readers/index';
import { hasNpyMagic } from '../compute/readers/npy';
import { LOCAL_HEADER, crc32, crcMismatch, findEndOfCentralDirectory, hasZipMagic, readCentralDirectory } from '../compute/readers/npz';
import { MAX_HEADER_BYTES } from '../compute/readers/safetensors';
import { TensorFileError, type Tensor, type TensorDtype, type TypedArray } from '../compute/types';

/** Where a tensor read straight from a file lands: `Engine.allocTensor` or `EnginePool.allocShared`. */
export type TensorAllocator = (shape: readonly number[], dtype: TensorDtype) => Tensor;

/** A file spec that names one array of a multi-array file and none is named (a usage problem). */
export class ArrayChoiceError extends Error {}

/** The element types the engine reads in place (logits, probability targets, index targets). */
const DIRECT: ReadonlySet<TensorDtype> = new Set(['float32', 'float64', 'int64', 'int32', 'uint8']);

/** `.npy` magic, version and the header length field: what is needed to find the header's end. */
const PREFIX = 12;

/**
 * Reads `file` or `file:name` (one array of a multi-array file). With `alloc`, a `.npy` whose data
 * the engine reads as stored (little-endian, C order, an engine element type), or the (named or only)
 * array of a `.safetensors` file or of an `.npz` (stored) of such a type, is read from the file into
 * `alloc(shape, dtype)` directly; anything else is read and converted by the readers.
 */
export async function readTensorSpec(spec: string, alloc?: TensorAllocator): Promise<{ tensor: Tensor; direct: boolean }> {
  let fd: number | undefined;
  try {
    fd = openReadable(spec);
  } catch (first) {
    const colon = spec.lastIndexOf(':');
    if (colon <= 0) throw new TensorFileError(spec, `cannot read the file (${(first as NodeJS.ErrnoException).code ?? String(first)})`);
    return readNamed(spec.slice(0, colon), spec.slice(colon + 1), alloc);
  }
  try {
    if (alloc) {
      const direct = readNpzDirect(spec, fd, alloc)
        ?? (isSafetensorsName(spec) ? readSafetensorsDirect(spec, fd, alloc) : readNpyDirect(spec, fd, alloc));
      if (direct) return { tensor: direct, direct: true };
    }
    const contents = await readTensorFile(spec, readAll(spec, fd), { share: true });
    if (contents.arrays.length !== 1) {
      throw new ArrayChoiceError(`${spec} holds ${contents.arrays.length} arrays (${contents.arrays.map(a => a.name).join(', ')}); name one as ${spec}:NAME`);
    }
    return { tensor: contents.arrays[0]!.tensor, direct: false };
  } finally {
    closeSync(fd);
  }
}

async function readNamed(path: string, name: string, alloc?: TensorAllocator): Promise<{ tensor: Tensor; direct: boolean }> {
  let fd: number;
  try {
    fd = openReadable(path);
  } catch (err) {
    throw new TensorFileError(path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    if (alloc) {
      const direct = readNpzDirect(path, fd, alloc, name) ?? (isSafetensorsName(path) ? readSafetensorsDirect(path, fd, alloc, name) : undefined);
      if (direct) return { tensor: direct, direct: true };
    }
    const contents = await readTensorFile(path, readAll(path, fd), { share: true });
    const found = contents.arrays.find(a => a.name === name);
    if (!found) throw new TensorFileError(path, `has no array named '${name}' (arrays: ${contents.arrays.map(a => a.name).join(', ') || 'none'})`);
    return { tensor: found.tensor, direct: false };
  } finally {
    closeSync(fd);
  }
}

/**
 * The direct path: the header is read and checked by the `.npy` reader, then the elements are read
 * from the file into the allocation. Returns undefined (nothing allocated) when the file is not a
 * `.npy` the engine can read as stored; the readers then handle it, errors included.
 */
function readNpyDirect(fileName: string, fd: number, alloc: TensorAllocator): Tensor | undefined {
  const size = fstatSync(fd).size;
  if (size < PREFIX) return undefined;
  const prefix = new Uint8Array(PREFIX);
  if (readFully(fd, prefix, 0) < PREFIX || !hasNpyMagic(prefix)) return undefined;
  const major = prefix[6]!;
  const view = new DataView(prefix.buffer);
  const headerEnd = major === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
  if (headerEnd > size || headerEnd > 1 << 20) return undefined;
  // The reader checks the declared data size against the file's length, so it gets a buffer of
  // that length holding the header. Only the header's pages are written: the rest of a fresh
  // ArrayBuffer is zero pages the system does not back with memory until touched.
  const probe = new Uint8Array(size);
  if (readFully(fd, probe.subarray(0, headerEnd), 0) < headerEnd) return undefined;
  const h = readNpyHeader(fileName, probe);
  if (h.bigEndian || h.fortranOrder || !DIRECT.has(h.dtype)) return undefined;
  return readIntoAllocation(fileName, fd, alloc(h.shape, h.dtype), h.dataOffset);
}

/** Fills `tensor` (just allocated) with the file's bytes from `offset`, as stored. */
function readIntoAllocation(fileName: string, fd: number, tensor: Tensor, offset: number): Tensor {
  const data = tensor.data as TypedArray;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const got = readFully(fd, bytes, offset);
  // the header check saw the length; a file that shrank since is still an error, not zeros
  if (got < bytes.length) throw new TensorFileError(fileName, `the data ended after ${got} of ${bytes.length} bytes (the file changed while it was read)`);
  touchPages(bytes);
  return tensor;
}

/** A name the readers take for `.safetensors` when its leading bytes are not .npy's or a zip's. */
function isSafetensorsName(fileName: string): boolean {
  return /\.safetensors$/i.test(fileName);
}

/**
 * The direct path for `.safetensors`: the length and the JSON header are read and checked by the
 * reader's own header parser (its errors, in its order), then the one tensor asked for (by `name`,
 * or the file's only one) is read from the file into the allocation. Returns undefined (nothing
 * allocated) when the file is not one the readers take as safetensors, the tensor is not named or
 * not there, or its type is not one the engine reads as stored (BF16, F16, ...): the readers then
 * handle it, with their errors.
 */
function readSafetensorsDirect(fileName: string, fd: number, alloc: TensorAllocator, name?: string): Tensor | undefined {
  const size = fstatSync(fd).size;
  if (size < 8) return undefined;
  const lengthField = new Uint8Array(8);
  if (readFully(fd, lengthField, 0) < 8 || hasNpyMagic(lengthField) || hasZipMagic(lengthField)) return undefined;
  const declared = new DataView(lengthField.buffer).getBigUint64(0, true);
  // a header longer than the file or the reader's limit: the reader's error, from the reader
  if (declared > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) return undefined;
  const prefix = new Uint8Array(8 + Number(declared));
  if (readFully(fd, prefix, 0) < prefix.length) return undefined;
  const { entries } = readSafetensorsHeader(fileName, prefix, size);
  const entry = name === undefined ? (entries.length === 1 ? entries[0] : undefined) : entries.find(e => e.name === name);
  if (!entry || entry.storedAs || !DIRECT.has(entry.dtype)) return undefined;
  return readIntoAllocation(fileName, fd, alloc(entry.shape, entry.dtype), entry.begin);
}

/**
 * The direct path for a stored (not deflated) `.npz` member: the central directory is read from the
 * file's end and parsed by the reader's own code, the member's `.npy` header by the `.npy` reader, and
 * its data read from the file into the allocation, then checked against the member's CRC-32 (the
 * reader's error when it differs). As numpy's `np.load` does, only the member asked for (by `name`,
 * or the archive's only array) is read, so a damaged other member goes unnoticed here where the
 * reader, which decodes every member, would refuse the file. Returns undefined (nothing allocated)
 * for anything else: not a zip, zip64 or multi-disk, a deflated or encrypted member, big-endian or
 * Fortran-order data, an element type the engine does not read as stored, or a file the checks here
 * find wrong; the readers then handle it, with their errors.
 */
function readNpzDirect(fileName: string, fd: number, alloc: TensorAllocator, name?: string): Tensor | undefined {
  const size = fstatSync(fd).size;
  if (size < 22) return undefined;
  const magic = new Uint8Array(4);
  if (readFully(fd, magic, 0) < 4 || !hasZipMagic(magic)) return undefined;
  // A buffer of the file's length holding only the regions read: the rest stays untouched zero pages.
  const bytes = new Uint8Array(size);
  const tail = Math.min(size, 22 + 0xffff);
  if (readFully(fd, bytes.subarray(size - tail), size - tail) < tail) return undefined;
  const view = new DataView(bytes.buffer);
  const eocd = findEndOfCentralDirectory(bytes, view);
  if (eocd < 0 || view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) return undefined;
  const entries = view.getUint16(eocd + 10, true), cdSize = view.getUint32(eocd + 12, true), cdOffset = view.getUint32(eocd + 16, true);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff || cdOffset + cdSize > size) return undefined;
  if (readFully(fd, bytes.subarray(cdOffset, cdOffset + cdSize), cdOffset) < cdSize) return undefined;
  let members;
  try {
    members = readCentralDirectory(fileName, bytes);
  } catch {
    return undefined;
  }
  const arrays = members.filter(m => m.name.endsWith('.npy'));
  const m = name === undefined ? (arrays.length === 1 ? arrays[0] : undefined) : arrays.find(a => a.name === `${name}.npy`);
  if (!m || m.method !== 0 || m.flags & 1 || m.size !== m.compressedSize || m.size > DEFAULT_MAX_BYTES) return undefined;
  const h = m.localHeaderOffset;
  if (h + 30 > size || readFully(fd, bytes.subarray(h, h + 30), h) < 30 || view.getUint32(h, true) !== LOCAL_HEADER) return undefined;
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  if (start + m.size > size || m.size < PREFIX || readFully(fd, bytes.subarray(start, start + PREFIX), start) < PREFIX) return undefined;
  const prefix = bytes.subarray(start, start + PREFIX);
  if (!hasNpyMagic(prefix)) return undefined;
  const pv = new DataView(prefix.buffer, prefix.byteOffset, PREFIX);
  const headerEnd = prefix[6] === 1 ? 10 + pv.getUint16(8, true) : 12 + pv.getUint32(8, true);
  if (headerEnd > m.size || headerEnd > 1 << 20 || readFully(fd, bytes.subarray(start, start + headerEnd), start) < headerEnd) return undefined;
  let header;
  try {
    header = readNpyHeader(`${fileName}[${m.name}]`, bytes.subarray(start, start + m.size));
  } catch {
    return undefined;
  }
  if (header.bigEndian || header.fortranOrder || !DIRECT.has(header.dtype)) return undefined;
  const count = header.shape.reduce((a, b) => a * b, 1);
  // the member holds the header and the data, nothing after them (else the readers decide)
  if (header.dataOffset + count * DTYPE_SIZE[header.dtype] !== m.size) return undefined;
  const tensor = readIntoAllocation(fileName, fd, alloc(header.shape, header.dtype), start + header.dataOffset);
  const data = tensor.data as TypedArray;
  const crc = crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), crc32(bytes.subarray(start, start + header.dataOffset)));
  if (crc !== m.crc32) throw crcMismatch(fileName, m, crc);
  return tensor;
}

/** Keeps touchPages' reads from being optimised away. */
let touched = 0;

/**
 * Reads one byte of every page. Memory that read() filled cost a page fault on its first access from
 * JavaScript or wasm here (measured: 300 ms for a 176 MB array on the first pass, 4 ms on the
 * second; the same after a memcpy costs nothing), so that cost belongs to reading the file, not to
 * the evaluation the command times as `elapsedMs`.
 */
function touchPages(bytes: Uint8Array): void {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 4096) s += bytes[i]!;
  touched = (touched + s) | 0;
}

/** Opens a regular file for reading; a folder fails here (EISDIR) as it would when read. */
function openReadable(path: string): number {
  const fd = openSync(path, 'r');
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read`), { code: 'EISDIR' });
  }
  return fd;
}


/** Reads into `into` from `position` until it is full or the file ends; returns the bytes read. */
function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    // at most 1 GiB per call: readSync's length is a 32-bit integer
    const n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The whole file, for the readers. */
function readAll(fileName: string, fd: number): Uint8Array {
  const size = fstatSync(fd).size;
  const bytes = new Uint8Array(size);
  const got = readFully(fd, bytes, 0);
  if (got < size) throw new TensorFileError(fileName, `the file ended after ${got} of ${size} bytes (it changed while it was read)`);
  return bytes;
}
