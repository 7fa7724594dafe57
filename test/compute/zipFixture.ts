// A minimal ZIP writer for crafted .npz archives in tests (shared by the readers' and the command's tests).
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../compute/readers/npz';

export interface ZipEntry { name: string; data: Uint8Array; deflate: boolean }

/**
 * A minimal ZIP writer for crafted archives: local headers with a data descriptor (flag bit 3, sizes
 * zero in the local header, as streaming writers do), a central directory and the end record.
 * `lieSize` overrides the uncompressed size recorded in the central directory.
 */
export function buildZip(entries: ZipEntry[], opts: { lieSize?: number; method?: number; flags?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const method = opts.method ?? (e.deflate ? 8 : 0);
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 8 | (opts.flags ?? 0), true);
    lv.setUint16(8, method, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const descriptor = new Uint8Array(16);
    const dv = new DataView(descriptor.buffer);
    dv.setUint32(0, 0x08074b50, true);
    dv.setUint32(4, crc, true);
    dv.setUint32(8, body.length, true);
    dv.setUint32(12, e.data.length, true);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 8 | (opts.flags ?? 0), true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, opts.lieSize ?? e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    parts.push(local, body, descriptor);
    central.push(c);
    offset += local.length + body.length + descriptor.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((a, b) => a + b.length, 0));
  let p = 0;
  for (const a of all) { out.set(a, p); p += a.length; }
  return out;
}
