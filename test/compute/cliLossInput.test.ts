// `tensor-lens loss`'s input path: a .npy the engine reads as stored, or such a tensor of a
// .safetensors file or a stored .npz member, goes from the file straight into engine memory (one
// thread) or shared memory (--threads N); every other file goes through the readers with the same
// tensors and the same errors (an .npz member is checked alone, as numpy reads it). In process (lossCommand with captured output).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lossCommand } from '../../cli/loss';
import { ArrayChoiceError, readTensorSpec, type TensorAllocator } from '../../cli/tensorInput';
import type { Engine } from '../../compute/engine';
import { enableRelaxedSimd, loadEngine } from '../../compute/node/loadEngine';
import { readTensorFile } from '../../compute/readers/index';
import { writeNpy } from '../../compute/readers/npy';
import { TensorFileError, type Tensor } from '../../compute/types';
import { buildZip } from './zipFixture';

const tmp = mkdtempSync(join(tmpdir(), 'cli-loss-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const code = await lossCommand(args, { stdout: t => { stdout += t; }, stderr: t => { stderr += t; } });
  return { code, stdout, stderr };
}

/** A big-endian (`>f4`) version-1 .npy of `data`, written by hand as numpy would. */
function bigEndianNpy(shape: number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '>f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, 10 + header.length);
  data.forEach((v, i) => view.setFloat32(i * 4, v, false));
  return out;
}


/** A .safetensors file of `tensors` (name → dtype name, shape, raw little-endian bytes), in order. */
function safetensors(tensors: [string, string, number[], Uint8Array][]): Uint8Array {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, dtype, shape, bytes] of tensors) {
    header[name] = { dtype, shape, data_offsets: [at, at + bytes.length] };
    at += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, , , bytes] of tensors) { out.set(bytes, p); p += bytes.length; }
  return out;
}
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('tensor-lens loss: tensor files straight into engine or shared memory', () => {
  let engine: Engine;
  // above the pool's 2^22-logit threshold, so that --threads N really splits the work
  const shape = [4, 21, 256, 200];
  const xFile = join(tmp, 'x.npy');
  const tFile = join(tmp, 't.npy');
  let x: Tensor;
  let t: Tensor;
  beforeAll(async () => {
    // the build the command runs (it turns relaxed SIMD on for its process: FMA changes the last bits)
    enableRelaxedSimd();
    engine = await loadEngine();
    const n = numel(shape);
    x = { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 5) };
    t = { dtype: 'int64', shape: [4, 256, 200], data: BigInt64Array.from({ length: n / 21 }, (_, i) => BigInt(i % 13 === 0 ? -100 : (i * 7) % 21)) };
    writeFileSync(xFile, writeNpy(x));
    writeFileSync(tFile, writeNpy(t));
  });

  /** `file:logits` and `file:labels` read straight into engine memory: the arrays written, the same loss. */
  async function expectDirectPair(file: string): Promise<void> {
    const allocated: Tensor[] = [];
    const alloc: TensorAllocator = (s, dtype) => { const a = engine.allocTensor(s, dtype); allocated.push(a); return a; };
    const rx = await readTensorSpec(`${file}:logits`, alloc);
    const rt = await readTensorSpec(`${file}:labels`, alloc);
    expect([rx.direct, rt.direct]).toEqual([true, true]);
    expect([rx.tensor, rt.tensor]).toEqual([allocated[0], allocated[1]]);
    expect(Buffer.from(bytesOf(rx.tensor.data)).equals(Buffer.from(bytesOf(x.data)))).toBe(true);
    expect([...(rt.tensor.data as BigInt64Array)]).toEqual([...(t.data as BigInt64Array)]);
    expect(engine.crossEntropy(rx.tensor, rt.tensor).loss).toBe(engine.crossEntropy(x, t).loss);
    for (let i = allocated.length - 1; i >= 0; i--) engine.free(allocated[i]!);
  }

  it('reads an aligned little-endian C-order .npy into the allocator\'s memory, equal to the reader\'s tensor', async () => {
    const allocated: Tensor[] = [];
    const alloc: TensorAllocator = (s, dtype) => {
      const a = engine.allocTensor(s, dtype);
      allocated.push(a);
      return a;
    };
    const rx = await readTensorSpec(xFile, alloc);
    const rt = await readTensorSpec(tFile, alloc);
    expect(rx.direct && rt.direct).toBe(true);
    expect(rx.tensor).toBe(allocated[0]);
    expect(rt.tensor).toBe(allocated[1]);
    expect(rx.tensor.shape).toEqual(shape);
    expect(Buffer.from((rx.tensor.data as Float32Array).slice().buffer).equals(Buffer.from((x.data as Float32Array).buffer))).toBe(true);
    expect([...(rt.tensor.data as BigInt64Array)]).toEqual([...(t.data as BigInt64Array)]);
    const inPlace = engine.crossEntropy(rx.tensor, rt.tensor);
    expect(inPlace.loss).toBe(engine.crossEntropy(x, t).loss);
    for (let i = allocated.length - 1; i >= 0; i--) engine.free(allocated[i]!);
  });

  it('lands in a SharedArrayBuffer with a pool\'s allocator', async () => {
    const alloc: TensorAllocator = (s, dtype) => {
      const buf = new SharedArrayBuffer(numel(s) * (dtype === 'float32' ? 4 : 8));
      return { dtype, shape: s, data: dtype === 'float32' ? new Float32Array(buf) : new BigInt64Array(buf) };
    };
    const r = await readTensorSpec(xFile, alloc);
    expect(r.direct).toBe(true);
    expect(r.tensor.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('leaves other files to the readers: big-endian, Fortran order, .npz members, JSON', async () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
    const be = join(tmp, 'be.npy');
    writeFileSync(be, bigEndianNpy([3, 4], data));
    let calls = 0;
    const alloc: TensorAllocator = (s, dtype) => { calls++; return engine.allocTensor(s, dtype); };
    const r = await readTensorSpec(be, alloc);
    expect(r.direct).toBe(false);
    expect(calls).toBe(0);
    expect([...(r.tensor.data as Float32Array)]).toEqual([...data]);
    const json = join(tmp, 'x.json');
    writeFileSync(json, JSON.stringify([[1, 2], [3, 4]]));
    const j = await readTensorSpec(json, alloc);
    expect(j.direct).toBe(false);
    expect(j.tensor.shape).toEqual([2, 2]);
  });

  it('a truncated .npy is the reader\'s error, and nothing is allocated', async () => {
    const bytes = writeNpy(x);
    const cut = join(tmp, 'cut.npy');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const expected = await readTensorFile(cut, bytes.subarray(0, bytes.length - 100)).catch(e => e);
    let calls = 0;
    const err = await readTensorSpec(cut, (s, d) => { calls++; return engine.allocTensor(s, d); }).catch(e => e);
    expect(err).toBeInstanceOf(TensorFileError);
    expect(err.message).toBe(expected.message);
    expect(calls).toBe(0);
  });

  it('missing files, folders and unnamed multi-array files are clear errors', async () => {
    await expect(readTensorSpec(join(tmp, 'nope.npy'))).rejects.toBeInstanceOf(TensorFileError);
    const dir = join(tmp, 'folder.npy');
    mkdirSync(dir);
    const e = await readTensorSpec(dir).catch(err => err);
    expect(e).toBeInstanceOf(TensorFileError);
    expect(e.message).toMatch(/EISDIR/);
    const st = join(tmp, 'two.json');
    writeFileSync(st, JSON.stringify({ a: [1, 2], b: [3] }));
    await expect(readTensorSpec(st)).rejects.toBeInstanceOf(ArrayChoiceError);
    expect((await readTensorSpec(`${st}:b`)).tensor.shape).toEqual([1]);
    const missing = await readTensorSpec(`${st}:c`).catch(err => err);
    expect(missing).toBeInstanceOf(TensorFileError);
    expect(missing.message).toMatch(/has no array named 'c'/);
  });

  it('the command gives the same bits on one thread, with --threads 2 and --threads 3, and through the readers', async () => {
    const be = join(tmp, 'x-be.npy');
    writeFileSync(be, bigEndianNpy(shape, x.data as Float32Array));
    const ref = engine.crossEntropy(x, t, { labelSmoothing: 0.1 });
    for (const extra of [[], ['--threads', '2'], ['--threads', '3']]) {
      for (const input of [xFile, be]) {
        const r = await run(['--input', input, '--target', tFile, '--label-smoothing', '0.1', '--format', 'json', ...extra]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).loss).toBe(ref.loss);
      }
    }
    const none = await run(['--input', xFile, '--target', tFile, '--reduction', 'none', '--format', 'json', '--threads', '2']);
    const noneRef = engine.crossEntropy(x, t, { reduction: 'none' });
    expect(JSON.parse(none.stdout).values).toEqual(Array.from(noneRef.values!.subarray(0, 1000)));
  });

  it('reads a .safetensors tensor (named, or the only one) straight into the allocator\'s memory; BF16 and bad files go to the readers', async () => {
    const file = join(tmp, 'batch.safetensors');
    writeFileSync(file, safetensors([['logits', 'F32', shape, bytesOf(x.data)], ['labels', 'I64', t.shape as number[], bytesOf(t.data)]]));
    await expectDirectPair(file);
    const allocated: Tensor[] = [];
    const alloc: TensorAllocator = (s, dtype) => { const a = engine.allocTensor(s, dtype); allocated.push(a); return a; };
    // the only tensor of a file needs no name
    const one = join(tmp, 'one.safetensors');
    writeFileSync(one, safetensors([['x', 'F32', [3, 4], bytesOf(Float32Array.from({ length: 12 }, (_, i) => i))]]));
    const r1 = await readTensorSpec(one, alloc);
    expect(r1.direct).toBe(true);
    expect([...(r1.tensor.data as Float32Array)]).toEqual(Array.from({ length: 12 }, (_, i) => i));
    for (let i = allocated.length - 1; i >= 0; i--) engine.free(allocated[i]!);

    let calls = 0;
    const counting: TensorAllocator = (s, dtype) => { calls++; return engine.allocTensor(s, dtype); };
    // two tensors and no name: the readers' ArrayChoiceError; a missing name: their error
    await expect(readTensorSpec(file, counting)).rejects.toBeInstanceOf(ArrayChoiceError);
    expect((await readTensorSpec(`${file}:nope`, counting).catch(e => e)).message).toMatch(/has no array named 'nope' \(arrays: logits, labels\)/);
    // BF16 is widened by the reader (exactly), not read in place
    const bf = join(tmp, 'bf.safetensors');
    writeFileSync(bf, safetensors([['x', 'BF16', [2], new Uint8Array([0x80, 0x3f, 0x00, 0xc0])]]));
    const rb = await readTensorSpec(bf, counting);
    expect(rb.direct).toBe(false);
    expect([...(rb.tensor.data as Float32Array)]).toEqual([1, -2]);
    // truncated data and a broken header: exactly the reader's errors, nothing allocated
    const whole = safetensors([['x', 'F32', [3, 4], bytesOf(new Float32Array(12))]]);
    const broken = whole.slice();
    broken[9] = 0x7b; // a second '{' where the header's key should start
    for (const [label, bytes] of [['cut', whole.subarray(0, whole.length - 8)], ['broken', broken]] as const) {
      const f = join(tmp, `${label}.safetensors`);
      writeFileSync(f, bytes);
      const expected = await readTensorFile(f, bytes).catch(e => e);
      const err = await readTensorSpec(f, counting).catch(e => e);
      expect(err).toBeInstanceOf(TensorFileError);
      expect(err.message).toBe(expected.message);
    }
    expect(calls).toBe(0);
  });

  it('reads a stored .npz member straight into the allocator\'s memory, CRC-checked; deflated members go to the reader', async () => {
    const file = join(tmp, 'batch.npz');
    const xNpy = writeNpy(x), tNpy = writeNpy(t);
    writeFileSync(file, buildZip([{ name: 'logits.npy', data: xNpy, deflate: false }, { name: 'labels.npy', data: tNpy, deflate: false }]));
    await expectDirectPair(file);

    let calls = 0;
    const counting: TensorAllocator = (s, dtype) => { calls++; return engine.allocTensor(s, dtype); };
    // the archive's only array needs no name; a deflated member is the reader's
    const small = writeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const one = join(tmp, 'one.npz');
    writeFileSync(one, buildZip([{ name: 'x.npy', data: small, deflate: false }]));
    expect((await readTensorSpec(one, counting)).direct).toBe(true);
    const deflated = join(tmp, 'deflated.npz');
    writeFileSync(deflated, buildZip([{ name: 'x.npy', data: small, deflate: true }]));
    const rd = await readTensorSpec(deflated, counting);
    expect(rd.direct).toBe(false);
    expect([...(rd.tensor.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(calls).toBe(1);
    // a damaged byte in the member read: the reader's CRC error
    const damaged = buildZip([{ name: 'x.npy', data: small, deflate: false }]);
    damaged[30 + 'x.npy'.length + small.length - 1] ^= 1;
    const bad = join(tmp, 'bad.npz');
    writeFileSync(bad, damaged);
    const expected = await readTensorFile(bad, damaged).catch(e => e);
    expect(expected.message).toMatch(/CRC-32/);
    const err = await readTensorSpec(bad, counting).catch(e => e);
    expect(err).toBeInstanceOf(TensorFileError);
    expect(err.message).toBe(expected.message);
    // a damaged other member: like numpy's np.load, only the member asked for is read and checked
    const mixed = buildZip([{ name: 'x.npy', data: small, deflate: false }, { name: 'y.npy', data: small, deflate: false }]);
    mixed[mixed.indexOf(0x93, 60) + 90] ^= 1; // a data byte of the second member
    const both = join(tmp, 'mixed.npz');
    writeFileSync(both, mixed);
    await expect(readTensorSpec(`${both}:y`)).rejects.toThrow(/CRC-32/);
    expect([...((await readTensorSpec(`${both}:x`, counting)).tensor.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('the command reads .safetensors tensors and stored .npz members in place on one thread and with --threads 2, with the same bits', async () => {
    const st = join(tmp, 'run.safetensors');
    writeFileSync(st, safetensors([['labels', 'I64', t.shape as number[], bytesOf(t.data)], ['logits', 'F32', shape, bytesOf(x.data)]]));
    const npz = join(tmp, 'run.npz');
    writeFileSync(npz, buildZip([{ name: 'labels.npy', data: writeNpy(t), deflate: false }, { name: 'logits.npy', data: writeNpy(x), deflate: false }]));
    const ref = engine.crossEntropy(x, t);
    for (const file of [st, npz]) {
      for (const extra of [[], ['--threads', '2']]) {
        const r = await run(['--input', `${file}:logits`, '--target', `${file}:labels`, '--format', 'json', ...extra]);
        expect(r.stderr).toBe('');
        expect(JSON.parse(r.stdout).loss).toBe(ref.loss);
      }
    }
  });

  it('PyTorch errors are unchanged on the direct path', async () => {
    const bad = join(tmp, 'bad-t.npy');
    writeFileSync(bad, writeNpy({ dtype: 'int64', shape: [4, 1, 256, 200], data: new BigInt64Array(4 * 256 * 200) }));
    for (const extra of [[], ['--threads', '2']]) {
      const r = await run(['--input', xFile, '--target', bad, ...extra]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4\n');
    }
  });
});
