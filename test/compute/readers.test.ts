// The tensor file readers against real files: the conformance .npy files, numpy-written fixtures of
// every dtype / byte order / memory order, .npz (stored, deflated, zip64), safetensors and JSON,
// plus every error path with a corrupted or lying file.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  detectFormat, float16ToNumber, readJsonTensors, readNpy, readTensorFile, writeNpy, type TensorFileContents,
} from '../../compute/readers/index';
import { crc32 } from '../../compute/readers/npz';
import { buildZip } from './zipFixture';
import { TensorFileError, type Tensor } from '../../compute/types';

const root = join(__dirname, '..', '..');
const fixtures = join(__dirname, 'readerFixtures');
const conformance = join(root, '..', 'shared', 'conformance');

interface Expected { dtype: string; shape: number[]; values: (number | string)[] }
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Record<string, Expected>;

const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));

/** The tensor's elements as comparable values: bigint as decimal strings, float16 decoded, NaN/inf as numpy prints them. */
function valuesOf(t: Tensor): (number | string)[] {
  const out: (number | string)[] = [];
  for (let i = 0; i < t.data.length; i++) {
    const raw = t.data[i]!;
    let v: number | string = typeof raw === 'bigint' ? raw.toString() : t.dtype === 'float16' ? float16ToNumber(raw) : raw;
    if (typeof v === 'number' && !Number.isFinite(v)) v = Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    out.push(v);
  }
  return out;
}

function expectMatches(t: Tensor, e: Expected) {
  expect(t.dtype).toBe(e.dtype);
  expect([...t.shape]).toEqual(e.shape);
  expect(t.data.length).toBe(e.shape.reduce((a, b) => a * b, 1));
  const got = valuesOf(t);
  // float32 fixtures were written from float64; compare through float32 rounding.
  const want = e.values.map(v => (typeof v === 'number' && e.dtype === 'float32' ? Math.fround(v) : v));
  expect(got).toEqual(want);
}

async function readError(name: string, bytes: Uint8Array): Promise<TensorFileError> {
  try {
    await readTensorFile(name, bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(TensorFileError);
    return err as TensorFileError;
  }
  throw new Error(`${name} was read without error`);
}

function arrayNamed(c: TensorFileContents, name: string): Tensor {
  const a = c.arrays.find(x => x.name === name);
  if (!a) throw new Error(`no array ${name} in ${c.arrays.map(x => x.name).join(', ')}`);
  return a.tensor;
}

describe('.npy written by numpy', () => {
  const npyNames = Object.keys(expected).filter(n => n.endsWith('.npy'));

  it('has a fixture of every dtype in both byte orders and both memory orders', () => {
    for (const dtype of ['float16', 'float32', 'float64', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'uint64']) {
      for (const suffix of ['le_C', 'le_F', 'be_C', 'be_F']) expect(npyNames).toContain(`${dtype}_${suffix}.npy`);
    }
    for (const dtype of ['int8', 'uint8', 'bool']) for (const o of ['C', 'F']) expect(npyNames).toContain(`${dtype}_le_${o}.npy`);
  });

  it.each(npyNames)('%s', async name => {
    const c = await readTensorFile(name, fixture(name));
    expect(c.format).toBe('npy');
    expect(c.arrays).toHaveLength(1);
    expect(c.arrays[0]!.name).toBe(name.replace(/\.npy$/, ''));
    expectMatches(c.arrays[0]!.tensor, expected[name]!);
    expect(c.arrays[0]!.storedAs).toEqual(name.includes('_be_') ? expect.stringMatching(/^>/) : undefined);
  });

  it('gives each tensor its own aligned buffer, also from an unaligned view of the file', () => {
    const bytes = fixture('float64_le_C.npy');
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const t = readNpy('x.npy', shifted.subarray(3));
    expect(t.data).toBeInstanceOf(Float64Array);
    expect(t.data.buffer).not.toBe(shifted.buffer);
    expectMatches(t, expected['float64_le_C.npy']!);
  });
});

describe('.npy share option, byte swaps and Fortran order at size', () => {
  it('returns a view into the file bytes only where the layout allows', async () => {
    const le = fixture('float32_le_C.npy');
    const shared = (await readTensorFile('x.npy', le, { share: true })).arrays[0]!.tensor;
    expect(shared.data.buffer).toBe(le.buffer);
    expectMatches(shared, expected['float32_le_C.npy']!);
    for (const name of ['float32_be_C.npy', 'float32_le_F.npy', 'bool_le_C.npy']) {
      const bytes = fixture(name);
      const t = (await readTensorFile(name, bytes, { share: true })).arrays[0]!.tensor;
      expect(t.data.buffer).not.toBe(bytes.buffer);
      expectMatches(t, expected[name]!);
    }
    const copied = (await readTensorFile('x.npy', le)).arrays[0]!.tensor;
    expect(copied.data.buffer).not.toBe(le.buffer);
  });

  it.each(['float16', 'float32', 'float64', 'int64', 'uint8'] as const)(
    '%s: big-endian Fortran-order data of odd shape matches an index-by-index reference', dtype => {
      const shape = [3, 5, 7, 2];
      const n = 3 * 5 * 7 * 2;
      const size = { float16: 2, float32: 4, float64: 8, int64: 8, uint8: 1 }[dtype];
      // Element value = its C-order index (as bits for the float types, so every byte matters).
      const cBytes = new Uint8Array(n * size);
      const view = new DataView(cBytes.buffer);
      const put = (v: DataView, at: number, i: number, le: boolean) => {
        if (size === 1) v.setUint8(at, i);
        else if (size === 2) v.setUint16(at, i * 257, le);
        else if (size === 4) v.setUint32(at, i * 16843009, le);
        else v.setBigUint64(at, BigInt(i) * 0x0102030405060708n, le);
      };
      for (let i = 0; i < n; i++) put(view, i * size, i, true);
      // The same array written big-endian in Fortran order.
      const fBytes = new Uint8Array(n * size);
      const fView = new DataView(fBytes.buffer);
      let f = 0;
      for (let d = 0; d < 2; d++) for (let c = 0; c < 7; c++) for (let b = 0; b < 5; b++) for (let a = 0; a < 3; a++) {
        put(fView, f++ * size, ((a * 5 + b) * 7 + c) * 2 + d, false);
      }
      const descr = { float16: '>f2', float32: '>f4', float64: '>f8', int64: '>i8', uint8: '|u1' }[dtype];
      const header = `{'descr': '${descr}', 'fortran_order': True, 'shape': (3, 5, 7, 2), }`;
      const padded = header + ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
      const file = new Uint8Array(10 + padded.length + fBytes.length);
      file.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      new DataView(file.buffer).setUint16(8, padded.length, true);
      for (let i = 0; i < padded.length; i++) file[10 + i] = padded.charCodeAt(i);
      file.set(fBytes, 10 + padded.length);
      const t = readNpy('odd.npy', file);
      expect(t.shape).toEqual(shape);
      expect(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(cBytes);
    });
});

describe('the conformance .npy files', () => {
  const files: string[] = [];
  for (const suite of ['torch-ce', 'onnx-loss']) {
    for (const c of readdirSync(join(conformance, suite))) {
      const dir = join(conformance, suite, c);
      if (!statSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.npy')) files.push(join(suite, c, f));
    }
  }

  it('reads every one of them (464 files) with a consistent shape and a known dtype', async () => {
    expect(files.length).toBeGreaterThanOrEqual(464);
    const dtypes = new Set<string>();
    for (const f of files) {
      const c = await readTensorFile(f, new Uint8Array(readFileSync(join(conformance, f))));
      const t = c.arrays[0]!.tensor;
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      dtypes.add(t.dtype);
    }
    expect([...dtypes].sort()).toEqual(['float32', 'int32', 'int64']);
  });

  it('reads int64 targets and float32 inputs with their values', async () => {
    const dir = join(conformance, 'torch-ce');
    const withTarget = readdirSync(dir).find(c => /^seg/.test(c) || c.includes('spatial')) ?? readdirSync(dir)[0]!;
    const input = readNpy('input.npy', new Uint8Array(readFileSync(join(dir, withTarget, 'input.npy'))));
    expect(input.dtype).toBe('float32');
    const target = readNpy('target.npy', new Uint8Array(readFileSync(join(dir, withTarget, 'target.npy'))));
    expect(['int64', 'float32']).toContain(target.dtype);
    if (target.dtype === 'int64') {
      // Class indices: within [-100, C) (ignore_index is -100 by default).
      const c = input.shape[input.shape.length === 1 ? 0 : 1]!;
      for (const v of target.data as BigInt64Array) expect(v >= -100n && v < BigInt(c)).toBe(true);
    }
  });
});

describe('.npz', () => {
  const members = ['logits', 'target', 'weight_be', 'fortran'];

  it.each(['stored.npz', 'deflated.npz', 'zip64.npz'])('%s lists and reads every member', async name => {
    const c = await readTensorFile(name, fixture(name));
    expect(c.format).toBe('npz');
    expect(c.arrays.map(a => a.name)).toEqual(members);
    for (const m of members) expectMatches(arrayNamed(c, m), expected[`npz:${m}`]!);
    expect(c.arrays.find(a => a.name === 'weight_be')!.storedAs).toBe('>f4');
  });

  it('gives every member its own buffer, never a view of the archive', async () => {
    for (const name of ['stored.npz', 'deflated.npz']) {
      const bytes = fixture(name);
      const c = await readTensorFile(name, bytes);
      const buffers = c.arrays.map(a => a.tensor.data.buffer);
      expect(new Set(buffers).size).toBe(buffers.length);
      for (const b of buffers) expect(b).not.toBe(bytes.buffer);
    }
  });

  it('follows a zip64 end-of-central-directory record', async () => {
    // zip64.npz carries a zip64 record and locator; saturating the classic record forces the reader onto them.
    const bytes = fixture('zip64.npz').slice();
    const view = new DataView(bytes.buffer);
    let eocd = bytes.length - 22;
    while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
    view.setUint16(eocd + 8, 0xffff, true);
    view.setUint16(eocd + 10, 0xffff, true);
    view.setUint32(eocd + 12, 0xffffffff, true);
    view.setUint32(eocd + 16, 0xffffffff, true);
    const c = await readTensorFile('zip64.npz', bytes);
    expect(c.arrays.map(a => a.name)).toEqual(members);
  });

  it('reads an archive built by hand with a data descriptor and skips non-.npy members', async () => {
    const a = writeNpy({ dtype: 'int32', shape: [3], data: Int32Array.from([1, -2, 3]) });
    const zip = buildZip([
      { name: 'README.txt', data: new TextEncoder().encode('not an array'), deflate: false },
      { name: 'a.npy', data: a, deflate: true },
    ]);
    const c = await readTensorFile('hand.npz', zip);
    expect(c.arrays.map(x => x.name)).toEqual(['a']);
    expect([...c.arrays[0]!.tensor.data]).toEqual([1, -2, 3]);
  });

  it('reads an empty archive as no arrays', async () => {
    const c = await readTensorFile('empty.npz', buildZip([]));
    expect(c.arrays).toEqual([]);
  });
});

describe('.safetensors', () => {
  it('reads every dtype, the metadata and a 0-d tensor', async () => {
    const c = await readTensorFile('model.safetensors', fixture('model.safetensors'));
    expect(c.format).toBe('safetensors');
    expect(c.metadata).toEqual({ format: 'pt', note: 'fixture' });
    for (const name of ['f32', 'bf16', 'f16', 'f64', 'i8', 'i16', 'i32', 'i64', 'u8', 'bool', 'scalar']) {
      expectMatches(arrayNamed(c, name), expected[`st:${name}`]!);
    }
    expect(c.arrays.find(a => a.name === 'bf16')!.storedAs).toBe('BF16');
  });
});

describe('JSON nested arrays', () => {
  const read = (text: string, name = 'batch.json') => readTensorFile(name, new TextEncoder().encode(text));

  it('infers shape and dtype as torch.tensor does', async () => {
    const ints = (await read('[[1, 2, 3], [4, 5, 6]]')).arrays[0]!;
    expect(ints.name).toBe('batch');
    expect(ints.tensor.dtype).toBe('int64');
    expect(ints.tensor.shape).toEqual([2, 3]);
    expect([...(ints.tensor.data as BigInt64Array)]).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);

    const floats = (await read('[[1, 2.0], [3e0, -4]]')).arrays[0]!.tensor;
    expect(floats.dtype).toBe('float32');
    expect([...floats.data]).toEqual([1, 2, 3, -4]);

    const bools = (await read('[true, false, true]')).arrays[0]!.tensor;
    expect(bools.dtype).toBe('bool');
    expect([...bools.data]).toEqual([1, 0, 1]);

    expect((await read('7')).arrays[0]!.tensor.shape).toEqual([]);
    expect((await read('[[], []]')).arrays[0]!.tensor.shape).toEqual([2, 0]);
    expect((await read('[]')).arrays[0]!.tensor.dtype).toBe('float32');
    const special = (await read('[NaN, Infinity, -Infinity]')).arrays[0]!.tensor;
    expect([...special.data]).toEqual([NaN, Infinity, -Infinity]);
  });

  it('the JSON.parse fast path agrees with the full parser on random arrays', () => {
    let seed = 42;
    const r = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 300; k++) {
      const rank = Math.floor(r() * 4) + 1;
      const shape = Array.from({ length: rank }, () => Math.floor(r() * 4));
      const kind = Math.floor(r() * 4); // ints, floats, bools, mixed
      const leaf = () => {
        const pick = kind === 3 ? Math.floor(r() * 3) : kind;
        if (pick === 0) return String(Math.floor((r() - 0.5) * 1e6));
        if (pick === 1) return r() < 0.5 ? (r() * 10).toFixed(3) : `${Math.floor(r() * 9) + 1}e-${Math.floor(r() * 3)}`;
        return r() < 0.5 ? 'true' : 'false';
      };
      const build = (d: number): string => (d === rank ? leaf()
        : `[${Array.from({ length: shape[d]! }, () => build(d + 1)).join(r() < 0.5 ? ',' : ' ,\n ')}]`);
      let text = build(0);
      if (k % 7 === 3) text = text.replace(/\[([^[\]]+)\]/, '[$1, 1]'); // make one row ragged
      const bytes = new TextEncoder().encode(text);
      const run = (fast: boolean) => {
        try {
          const t = readJsonTensors('r.json', bytes, 'r', { fast })[0]!.tensor;
          return { dtype: t.dtype, shape: [...t.shape], values: [...t.data].map(String) };
        } catch (err) {
          return { error: (err as Error).message };
        }
      };
      expect(run(true), text).toEqual(run(false));
    }
  });

  it('keeps int64 values beyond 2^53 exact', async () => {
    const t = (await read('[9223372036854775807, -9223372036854775808, 9007199254740993]')).arrays[0]!.tensor;
    expect([...(t.data as BigInt64Array)]).toEqual([9223372036854775807n, -9223372036854775808n, 9007199254740993n]);
  });

  it('reads an object of named arrays', async () => {
    const c = await read('{"input": [[0.5, 1.5, -1]], "target": [2], "ls": 0.1}');
    expect(c.arrays.map(a => [a.name, a.tensor.dtype, [...a.tensor.shape]])).toEqual([
      ['input', 'float32', [1, 3]], ['target', 'int64', [1]], ['ls', 'float32', []],
    ]);
  });

  it.each([
    ['[[1, 2], [3]]', /ragged nested array: \[1\] has 1 elements but earlier arrays at that depth have 2 \(line 1/],
    ['[[1, 2], 3]', /ragged nested array: element \[1\] is a scalar but earlier elements at that depth are arrays/],
    ['[[1, 2], [3, [4]]]', /element \[1\]\[1\] is an array/],
    ['{"x": [[1], [2, 3]]}', /"x"\[1\] has 2 elements/],
    ['[1, "2"]', /element \[1\] is a string/],
    ['[1, null]', /element \[1\] is null/],
    ['[1, 2', /unexpected end of file, expected '\]'/],
    ['[1, 2] x', /unexpected text after the value/],
    ['[99999999999999999999]', /does not fit in int64/],
    ['[1.]', /expected a number, a boolean or an array \(line 1, column 2\)/],
    ['[-]', /expected a number, a boolean or an array/],
    ['[1e+]', /expected a number, a boolean or an array/],
    ['[01]', /expected '\]' \(line 1, column 3\)/],
    ['[\n  1,\n  x]', /expected a number, a boolean or an array \(line 3, column 3\)/],
    ['{"a": [1], "a": [2]}', /duplicate key "a"/],
    ['['.repeat(100) + ']'.repeat(100), /nested more than 64 deep/],
  ])('%s is a precise error', async (text, message) => {
    const err = await readError('bad.json', new TextEncoder().encode(text));
    expect(err.fileName).toBe('bad.json');
    expect(err.message).toMatch(message);
  });
});

describe('the npy writer', () => {
  it.each(Object.keys(expected).filter(n => n.endsWith('_le_C.npy') || n.startsWith('scalar') || n.startsWith('empty')))(
    'round-trips %s byte for byte as numpy writes it', name => {
      const bytes = fixture(name);
      const t = readNpy(name, bytes);
      expect(writeNpy(t)).toEqual(bytes);
    });

  it('writes what the reader reads for every dtype', () => {
    const t: Tensor = { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, -2, 3.5, NaN]) };
    const back = readNpy('loss.npy', writeNpy(t));
    expect(back.shape).toEqual([2, 2]);
    expect([...back.data]).toEqual([1, -2, 3.5, NaN]);
  });
});

describe('detectFormat', () => {
  it('goes by content first, then by extension', () => {
    expect(detectFormat('renamed.bin', fixture('scalar_f4.npy'))).toBe('npy');
    expect(detectFormat('renamed.bin', fixture('stored.npz'))).toBe('npz');
    expect(detectFormat('renamed.bin', fixture('model.safetensors'))).toBe('safetensors');
    expect(detectFormat('x.json', new TextEncoder().encode('[1]'))).toBe('json');
    expect(detectFormat('renamed.bin', new TextEncoder().encode('  [1]'))).toBe('json');
    expect(detectFormat('notes.txt', new TextEncoder().encode('hello'))).toBeUndefined();
  });
});

describe('corrupted and lying files', () => {
  const npy = () => fixture('int64_le_C.npy'); // shape (2, 3, 4) of <i8 = 192 bytes

  /** A .npy with the given header text (padded like numpy) and payload. */
  function npyWith(header: string, payload: Uint8Array, version = 1): Uint8Array {
    const pre = version === 1 ? 10 : 12;
    const text = header + ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
    const out = new Uint8Array(pre + text.length + payload.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, text.length, true); else view.setUint32(8, text.length, true);
    for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
    out.set(payload, pre + text.length);
    return out;
  }

  it.each([
    ['truncated data', () => npy().subarray(0, npy().length - 96),
      'labels.npy: header says shape (2, 3, 4) of <i8 = 192 bytes but only 96 bytes follow'],
    ['lying shape', () => npyWith("{'descr': '<i8', 'fortran_order': False, 'shape': (4, 5), }", new Uint8Array(96)),
      'labels.npy: header says shape (4, 5) of <i8 = 160 bytes but only 96 bytes follow'],
    ['absurd shape', () => npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000000000), }", new Uint8Array(8)),
      'labels.npy: the .npy header has shape (100000000000, 100000000000) whose element count overflows'],
    ['huge but finite shape', () => npyWith("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", new Uint8Array(8)),
      'labels.npy: header says shape (1000000, 1000000) of <f8 = 8000000000000 bytes, more than the 1073741824-byte limit'],
    ['bad magic', () => new TextEncoder().encode('\x93NUMPZ garbage'),
      undefined],
    ['unsupported dtype', () => npyWith("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)),
      "labels.npy: unsupported dtype '<c8' (complex): readable dtypes are float16/32/64, int8/16/32/64, uint8/16/32/64 and bool"],
    ['structured dtype', () => npyWith("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)),
      /structured dtypes are not supported/],
    ['string dtype', () => npyWith("{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(40)),
      /unsupported dtype '<U5' \(unicode string\)/],
    ['missing key', () => npyWith("{'descr': '<f4', 'shape': (2,), }", new Uint8Array(8)), /missing key 'fortran_order'/],
    ['extra key', () => npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", new Uint8Array(8)), /unexpected key 'x'/],
    ['negative dim', () => npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", new Uint8Array(8)), /expected a non-negative integer/],
    ['bad version', () => { const b = npy().slice(); b[6] = 9; return b; }, /unsupported .npy format version 9\.0/],
    ['header longer than the file', () => { const b = npy().slice(0, 40); return b; }, /truncated .npy header: it declares \d+ header bytes but only 30 follow/],
    ['too short', () => npy().slice(0, 8), /truncated .npy header: only 8 bytes/],
  ] as const)('.npy: %s', async (_, make, message) => {
    const bytes = make();
    const name = 'labels.npy';
    const err = await readError(name, bytes);
    expect(err.fileName).toBe(name);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else if (message) expect(err.message).toMatch(message);
    else expect(err.message).toMatch(/^labels\.npy: /);
  });

  it('.npy: a version 2 header is bounded by the file too', async () => {
    const b = npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8), 2);
    new DataView(b.buffer).setUint32(8, 0xfffffff0, true);
    expect((await readError('x.npy', b)).message).toMatch(/declares 4294967280 header bytes but only \d+ follow/);
  });

  it.each([
    ['truncated archive', (b: Uint8Array) => b.subarray(0, b.length - 30), /no end-of-central-directory record|runs past/],
    ['truncated member', (b: Uint8Array) => b.subarray(0, 200), /no end-of-central-directory record/],
    ['flipped data byte', (b: Uint8Array) => { const c = b.slice(); c[120] = c[120]! ^ 0xff; return c; }, /CRC-32 0x[0-9a-f]{8} does not match|not valid deflate data|inflates to/],
  ])('.npz: %s', async (_, corrupt, message) => {
    for (const name of ['stored.npz', 'deflated.npz']) {
      const err = await readError('data.npz', corrupt(fixture(name)));
      expect(err.message).toMatch(/^data\.npz/);
      expect(err.message).toMatch(message);
    }
  });

  it('.npz: a member that claims more than deflate can produce is refused before inflating', async () => {
    const zip = buildZip([{ name: 'a.npy', data: new Uint8Array(100), deflate: true }], { lieSize: 50_000_000 });
    expect((await readError('bomb.npz', zip)).message).toBe(
      `bomb.npz: member 'a.npy' claims 50000000 bytes from only 6 deflated bytes, more than deflate can expand`);
  });

  it('.npz: a member that inflates past its declared size stops there', async () => {
    const zip = buildZip([{ name: 'a.npy', data: new Uint8Array(5000), deflate: true }], { lieSize: 100 });
    expect((await readError('lie.npz', zip)).message).toBe(`lie.npz: member 'a.npy' inflates to more than its declared 100 bytes`);
  });

  it('.npz: a member that inflates to less than it declares is named with both sizes', async () => {
    // 100 kB of zeros deflate to 114 bytes; the directory claims 110 kB (within deflate's 1032:1 ratio).
    const zip = buildZip([{ name: 'a.npy', data: new Uint8Array(100_000), deflate: true }], { lieSize: 110_000 });
    expect((await readError('short.npz', zip)).message).toBe(`short.npz: member 'a.npy' inflates to 100000 bytes but declares 110000`);
  });

  it('.npz: an unsupported compression method and encryption are named', async () => {
    const zip = buildZip([{ name: 'a.npy', data: new Uint8Array(4), deflate: false }], { method: 12 });
    expect((await readError('bz.npz', zip)).message).toMatch(/uses ZIP compression method 12; only stored \(0\) and deflate \(8\)/);
    const enc = buildZip([{ name: 'a.npy', data: new Uint8Array(4), deflate: false }], { flags: 1 });
    expect((await readError('enc.npz', enc)).message).toBe(`enc.npz: member 'a.npy' is encrypted`);
  });

  it('.npz: a broken member names the archive and the member', async () => {
    const bad = npyWith("{'descr': '<i8', 'fortran_order': False, 'shape': (4, 5), }", new Uint8Array(96));
    const zip = buildZip([{ name: 'labels.npy', data: bad, deflate: true }]);
    expect((await readError('batch.npz', zip)).message).toBe(
      'batch.npz[labels.npy]: header says shape (4, 5) of <i8 = 160 bytes but only 96 bytes follow');
  });

  function safetensorsWith(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
    const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  }

  it.each([
    ['short file', () => new Uint8Array(5), 'w.safetensors: not a .safetensors file: 5 bytes is shorter than the 8-byte header length'],
    ['lying header length', () => safetensorsWith({}, new Uint8Array(0), 1n << 60n), /header length 1152921504606846976 is larger than the 2 bytes that follow/],
    ['header not JSON', () => safetensorsWith('{"a": ', new Uint8Array(0)), /the header is not valid JSON/],
    ['header an array', () => safetensorsWith('[1]', new Uint8Array(0)), /the header is not a JSON object/],
    ['unsupported dtype', () => safetensorsWith({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /tensor 'a': unsupported dtype "F8_E4M3"/],
    ['offsets disagree with shape', () => safetensorsWith({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(24)),
      "w.safetensors: tensor 'a': shape [2, 3] of F32 is 24 bytes but data_offsets [0, 20] span 20"],
    ['offsets past the end', () => safetensorsWith({ a: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, new Uint8Array(16)),
      "w.safetensors: tensor 'a': data_offsets [8, 24] run past the 16 data bytes (truncated?)"],
    ['overlap', () => safetensorsWith({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, new Uint8Array(12)), "w.safetensors: tensors 'a' [0, 8] and 'b' [4, 12] overlap"],
    ['bad shape', () => safetensorsWith({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor 'a' has an invalid dimension -1/],
    ['bad metadata', () => safetensorsWith({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__ value for 'a' is not a string/],
  ] as const)('.safetensors: %s', async (_, make, message) => {
    const err = await readError('w.safetensors', make());
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('an unknown format is named', async () => {
    expect((await readError('notes.txt', new TextEncoder().encode('hello'))).message).toBe(
      'notes.txt: unknown tensor file format: expected .npy, .npz, .safetensors or .json (nested arrays)');
  });

  it('the maxBytes limit is honoured by every format', async () => {
    for (const name of ['float64_le_C.npy', 'deflated.npz', 'model.safetensors']) {
      await expect(readTensorFile(name, fixture(name), { maxBytes: 16 })).rejects.toThrow(/limit/);
    }
  });
});

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('matches zlib at every length around the 8-byte step', () => {
    let seed = 1;
    const data = Uint8Array.from({ length: 300 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    for (let n = 0; n <= 40; n++) expect(crc32(data.subarray(0, n))).toBe(zlibCrc32(data.subarray(0, n)));
    expect(crc32(data)).toBe(zlibCrc32(data));
  });
});
