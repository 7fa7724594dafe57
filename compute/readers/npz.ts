// numpy `.npz` archives: a ZIP reader (stored and deflated members, zip64 as numpy writes it) whose
// `.npy` members become named arrays.
//
// The central directory is authoritative (numpy streams members with data descriptors, so local
// headers may carry zero sizes). Deflate goes through the standard `DecompressionStream('deflate-raw')`
// (Node ≥ 18, Chromium), which makes reading async; output is bounded by the declared size, the
// deflate format's maximum ratio and `maxBytes`, and checked against the member's CRC-32.

import { TensorFileError } from '../types';
import type { NamedTensor } from './index';
import { DEFAULT_MAX_BYTES } from './elements';
import { readNpyWithHeader } from './npy';

export const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIR = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
/** Deflate cannot expand data more than about 1032:1 (a 258-byte match per ~2 bits). */
const MAX_DEFLATE_RATIO = 1032;

export function hasZipMagic(bytes: Uint8Array): boolean {
  // "PK\x03\x04" (a member) or "PK\x05\x06" (an empty archive).
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b
    && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

export interface ZipMember {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** Reads every `.npy` member of an `.npz` archive, in archive order; other members are skipped as numpy does. */
export async function readNpz(fileName: string, bytes: Uint8Array, maxBytes = DEFAULT_MAX_BYTES): Promise<NamedTensor[]> {
  const members = readCentralDirectory(fileName, bytes);
  const arrays: NamedTensor[] = [];
  let decoded = 0;
  for (const m of members) {
    if (!m.name.endsWith('.npy')) continue;
    const raw = await memberBytes(fileName, bytes, m, maxBytes - decoded);
    decoded += raw.length;
    const memberName = `${fileName}[${m.name}]`;
    // An inflated member is a fresh buffer holding only this array: its tensor may view it rather
    // than copy it again. A stored member lies inside the archive's bytes and is copied.
    const { tensor, header } = readNpyWithHeader(memberName, raw, maxBytes, m.method === 8);
    const name = m.name.slice(0, -'.npy'.length);
    arrays.push(header.bigEndian ? { name, tensor, storedAs: header.descr } : { name, tensor });
  }
  return arrays;
}

/** Lists the archive's members from its central directory, validating every offset and size. */
export function readCentralDirectory(fileName: string, bytes: Uint8Array): ZipMember[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(bytes, view);
  if (eocd < 0) throw new TensorFileError(fileName, 'not a valid .npz (ZIP) archive: no end-of-central-directory record (truncated?)');
  let entries = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new TensorFileError(fileName, 'multi-disk ZIP archives are not supported');
  }
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // zip64: the locator sits just before the classic record and points at the zip64 record.
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== ZIP64_LOCATOR) {
      throw new TensorFileError(fileName, 'ZIP archive needs zip64 but has no zip64 locator');
    }
    const z = readU64(fileName, view, loc + 8, 'zip64 record offset');
    if (z + 56 > bytes.length || view.getUint32(z, true) !== ZIP64_END) {
      throw new TensorFileError(fileName, `ZIP archive's zip64 record offset ${z} is outside the file or invalid`);
    }
    entries = readU64(fileName, view, z + 32, 'zip64 entry count');
    cdSize = readU64(fileName, view, z + 40, 'zip64 directory size');
    cdOffset = readU64(fileName, view, z + 48, 'zip64 directory offset');
  }
  if (cdOffset + cdSize > bytes.length) {
    throw new TensorFileError(fileName, `ZIP central directory (${cdSize} bytes at offset ${cdOffset}) runs past the end of the ${bytes.length}-byte file`);
  }
  // Each central entry is at least 46 bytes: a count that cannot fit is a lie, caught before looping.
  if (entries * 46 > cdSize) {
    throw new TensorFileError(fileName, `ZIP directory claims ${entries} entries but is only ${cdSize} bytes`);
  }
  const members: ZipMember[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  const decoder = new TextDecoder('utf-8');
  for (let k = 0; k < entries; k++) {
    if (p + 46 > end || view.getUint32(p, true) !== CENTRAL_HEADER) {
      throw new TensorFileError(fileName, `ZIP central directory entry ${k} is malformed`);
    }
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > end) throw new TensorFileError(fileName, `ZIP central directory entry ${k} runs past the directory`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
    // zip64 extended information: present fields are exactly those whose 32-bit value is saturated.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) break;
      if (id === 0x0001) {
        let q = e + 4;
        const take = (what: string) => {
          if (q + 8 > e + 4 + len) throw new TensorFileError(fileName, `ZIP member '${name}': zip64 field lacks its ${what}`);
          const v = readU64(fileName, view, q, what);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take('size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('header offset');
      }
      e += 4 + len;
    }
    members.push({ name, method, flags, crc32, compressedSize, size, localHeaderOffset });
    p = next;
  }
  return members;
}

/** The member's uncompressed bytes, checked against its declared size and CRC-32. */
async function memberBytes(fileName: string, bytes: Uint8Array, m: ZipMember, maxBytes: number): Promise<Uint8Array> {
  const where = `member '${m.name}'`;
  if (m.flags & 1) throw new TensorFileError(fileName, `${where} is encrypted`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = m.localHeaderOffset;
  if (h + 30 > bytes.length || view.getUint32(h, true) !== LOCAL_HEADER) {
    throw new TensorFileError(fileName, `${where}: no local header at offset ${h}`);
  }
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  if (start + m.compressedSize > bytes.length) {
    throw new TensorFileError(fileName, `${where} claims ${m.compressedSize} bytes at offset ${start} but the file has ${bytes.length} bytes (truncated?)`);
  }
  if (m.size > maxBytes) {
    throw new TensorFileError(fileName, `${where} is ${m.size} bytes uncompressed, more than the ${maxBytes}-byte limit`);
  }
  const compressed = bytes.subarray(start, start + m.compressedSize);
  let out: Uint8Array;
  if (m.method === 0) {
    if (m.compressedSize !== m.size) {
      throw new TensorFileError(fileName, `${where} is stored but its sizes disagree (${m.compressedSize} vs ${m.size})`);
    }
    out = compressed;
  } else if (m.method === 8) {
    if (m.size > m.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw new TensorFileError(fileName, `${where} claims ${m.size} bytes from only ${m.compressedSize} deflated bytes, more than deflate can expand`);
    }
    out = await inflateRaw(fileName, where, compressed, m.size);
  } else {
    throw new TensorFileError(fileName, `${where} uses ZIP compression method ${m.method}; only stored (0) and deflate (8) are supported`);
  }
  const crc = crc32(out);
  if (crc !== m.crc32) throw crcMismatch(fileName, m, crc);
  return out;
}

/** The error for a member whose CRC-32 is not the recorded one. */
export function crcMismatch(fileName: string, m: ZipMember, crc: number): TensorFileError {
  return new TensorFileError(fileName, `member '${m.name}' is corrupt: CRC-32 ${hex(crc)} does not match the recorded ${hex(m.crc32)}`);
}

/**
 * Inflates a member declared as `size` bytes, failing as soon as the stream would overrun it. The
 * buffer grows with the data actually produced (doubling, capped at `size`), so a header that lies
 * about the size costs memory only for bytes the compressed data really expands to.
 */
async function inflateRaw(fileName: string, where: string, compressed: Uint8Array, size: number): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new TensorFileError(fileName, `${where} is deflated and this runtime has no DecompressionStream`);
  }
  // Typical .npy data deflates 1–4×; start near that and grow when it expands further.
  let out = new Uint8Array(Math.min(size, 4 * compressed.length + 65536));
  let filled = 0;
  let stream: ReadableStream<Uint8Array>;
  try {
    const input = new ReadableStream<Uint8Array>({
      start(controller) {
        // A copy: the stream may transfer or retain the chunk, and the caller's bytes must stay intact.
        controller.enqueue(compressed.slice());
        controller.close();
      },
    });
    stream = input.pipeThrough(new DecompressionStream('deflate-raw') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  } catch (err) {
    throw new TensorFileError(fileName, `${where}: cannot start inflating (${describe(err)})`);
  }
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.length > size) {
        throw new TensorFileError(fileName, `${where} inflates to more than its declared ${size} bytes`);
      }
      if (filled + value.length > out.length) {
        const grown = new Uint8Array(Math.min(size, Math.max(2 * out.length, filled + value.length)));
        grown.set(out.subarray(0, filled));
        out = grown;
      }
      out.set(value, filled);
      filled += value.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    if (err instanceof TensorFileError) throw err;
    throw new TensorFileError(fileName, `${where} is not valid deflate data (${describe(err)})`);
  }
  if (filled !== size) {
    throw new TensorFileError(fileName, `${where} inflates to ${filled} bytes but declares ${size}`);
  }
  return out;
}

export function findEndOfCentralDirectory(bytes: Uint8Array, view: DataView): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let p = bytes.length - 22; p >= lowest; p--) {
    if (view.getUint32(p, true) === END_OF_CENTRAL_DIR && p + 22 + view.getUint16(p + 20, true) <= bytes.length) return p;
  }
  return -1;
}

function readU64(fileName: string, view: DataView, at: number, what: string): number {
  if (at + 8 > view.byteLength) throw new TensorFileError(fileName, `ZIP ${what} lies outside the file`);
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TensorFileError(fileName, `ZIP ${what} ${v} is absurd`);
  return Number(v);
}

let crcTables: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, reflected, as ZIP uses), slicing-by-8: eight 256-entry tables let each step
 * consume 8 bytes with independent lookups (about 4× the byte-at-a-time loop).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  if (!crcTables) {
    crcTables = new Uint32Array(256 * 8);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTables[n] = c >>> 0;
    }
    // Table k advances a byte's contribution by k more zero bytes.
    for (let k = 1; k < 8; k++) {
      for (let n = 0; n < 256; n++) {
        const prev = crcTables[(k - 1) * 256 + n]!;
        crcTables[k * 256 + n] = (prev >>> 8) ^ crcTables[prev & 0xff]!;
      }
    }
  }
  const t = crcTables;
  // continuing `previous` (the CRC of the bytes before `data`): 0 starts afresh
  let c = (previous ^ 0xffffffff) >>> 0;
  let i = 0;
  const n8 = data.length - (data.length % 8);
  for (; i < n8; i += 8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    c = t[7 * 256 + (lo & 0xff)]! ^ t[6 * 256 + ((lo >>> 8) & 0xff)]! ^ t[5 * 256 + ((lo >>> 16) & 0xff)]! ^ t[4 * 256 + (lo >>> 24)]!
      ^ t[3 * 256 + (hi & 0xff)]! ^ t[2 * 256 + ((hi >>> 8) & 0xff)]! ^ t[256 + ((hi >>> 16) & 0xff)]! ^ t[(hi >>> 24) & 0xff]!;
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
