// The tensor file readers' throughput: a segmentation batch's logits as .npy (little-endian, big-endian,
// Fortran order, and the zero-copy `share` path), deflated .npz, .safetensors, and a JSON nested array.

import { deflateRawSync } from 'node:zlib';
import { readTensorFile, writeNpy } from '../compute/readers/index';
import { swapBytes } from '../compute/readers/elements';
import { crc32 } from '../compute/readers/npz';
import { makeData, median } from './data';
import { fmt, table } from './machine';

export interface ReaderRow {
  readonly file: string;
  readonly megabytes: number;
  readonly medianMs: number;
  readonly megabytesPerSecond: number;
}

export async function readersBench(opts: { quick: boolean; log: (line: string) => void }): Promise<ReaderRow[]> {
  const { log } = opts;
  const shape = opts.quick ? [1, 21, 128, 128] : [2, 21, 512, 512];
  const reps = opts.quick ? 3 : 5;
  const { x } = makeData(shape, 11);
  const le = writeNpy({ dtype: 'float32', shape, data: x });
  const files: [string, Uint8Array, { share?: boolean }][] = [
    ['logits.npy (<f4, C order)', le, {}],
    ['logits.npy (<f4, C order, share: true)', le, { share: true }],
    ['logits.npy (>f4, big-endian)', bigEndian(le), {}],
    ['logits.npy (<f4, Fortran order)', fortran(le), {}],
    ['batch.npz (deflated)', npz('logits.npy', le), {}],
    ['model.safetensors (F32)', safetensors('logits', shape, x), {}],
    ['batch.json (nested array)', json(x.subarray(0, opts.quick ? 20_000 : 200_000), 200), {}],
  ];
  const times = files.map(() => [] as number[]);
  for (let r = -1; r < reps; r++) {
    for (let i = 0; i < files.length; i++) {
      const [name, bytes, options] = files[i]!;
      const t0 = performance.now();
      await readTensorFile(name.split(' ')[0]!, bytes, options);
      if (r >= 0) times[i]!.push(performance.now() - t0); // r = -1 is the warm-up
    }
  }
  const rows = files.map(([file, bytes], i) => {
    const m = median(times[i]!);
    return { file, megabytes: bytes.length / 1e6, medianMs: m, megabytesPerSecond: bytes.length / 1e3 / m };
  });
  log(`${shape.join('×')} float32 logits (${fmt(le.length / 1e6)} MB), ${reps} interleaved reps after a warm-up`);
  log(table(['file', 'MB', 'median ms', 'MB/s'], rows.map(r => [r.file, fmt(r.megabytes), r.medianMs.toFixed(1), fmt(r.megabytesPerSecond)])));
  return rows;
}

/** The same .npy with big-endian data (the header's descr has the same length). */
function bigEndian(le: Uint8Array): Uint8Array {
  const be = le.slice();
  const text = new TextDecoder().decode(be.subarray(10, 10 + new DataView(be.buffer).getUint16(8, true)));
  const at = 10 + text.indexOf('<f4');
  be[at] = '>'.charCodeAt(0);
  const dataStart = 10 + text.length;
  swapBytes(be.subarray(dataStart), 4);
  return be;
}

/** The same bytes declared Fortran-ordered (the reader transposes; the values are irrelevant here). */
function fortran(le: Uint8Array): Uint8Array {
  const f = le.slice();
  const len = new DataView(f.buffer).getUint16(8, true);
  const text = new TextDecoder().decode(f.subarray(10, 10 + len)).replace("'fortran_order': False, ", "'fortran_order': True,  ");
  f.set(new TextEncoder().encode(text), 10);
  return f;
}

/** A one-member deflated ZIP, as numpy.savez_compressed writes it (without zip64 records). */
function npz(name: string, data: Uint8Array): Uint8Array {
  const body = deflateRawSync(data, { level: 6 });
  const nameBytes = new TextEncoder().encode(name);
  const crc = crc32(data);
  const local = new Uint8Array(30 + nameBytes.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(4, 20, true);
  lv.setUint16(8, 8, true);
  lv.setUint32(14, crc, true);
  lv.setUint32(18, body.length, true);
  lv.setUint32(22, data.length, true);
  lv.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const central = new Uint8Array(46 + nameBytes.length);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(6, 20, true);
  cv.setUint16(10, 8, true);
  cv.setUint32(16, crc, true);
  cv.setUint32(20, body.length, true);
  cv.setUint32(24, data.length, true);
  cv.setUint16(28, nameBytes.length, true);
  central.set(nameBytes, 46);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length, true);
  ev.setUint32(16, local.length + body.length, true);
  return concat([local, body, central, end]);
}

function safetensors(name: string, shape: readonly number[], x: Float32Array): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ [name]: { dtype: 'F32', shape, data_offsets: [0, x.byteLength] } }));
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
  return concat([head, header, new Uint8Array(x.buffer, x.byteOffset, x.byteLength)]);
}

function json(values: Float32Array, rowLength: number): Uint8Array {
  const rows: string[] = [];
  for (let i = 0; i < values.length; i += rowLength) rows.push(`[${Array.from(values.subarray(i, i + rowLength), v => v.toFixed(5)).join(', ')}]`);
  return new TextEncoder().encode(`[${rows.join(',\n')}]`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
