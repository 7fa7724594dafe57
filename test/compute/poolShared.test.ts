// The Node pool's shared-memory path: inputs in SharedArrayBuffers (allocShared, a caller's own SAB,
// or copied once into the pool's scratch buffer), one request and one reply per worker, the calling
// thread computing a share, and cancellation and a worker crash in the middle of a run. Needs the
// build (dist/compute/nodeWorker.js and the .wasm files).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileEngine, type Engine } from '../../compute/engine';
import { engineBytes, findWasmDir, loadEngine } from '../../compute/node/loadEngine';
import { createNodePool, nodeWorkerPort } from '../../compute/node/pool';
import { EnginePool } from '../../compute/pool';
import { CancelledError, TorchError, type LossOptions, type Tensor } from '../../compute/types';
import { rng } from './randomCases';
import { readyCounting, recordingFactory, sameBits, waitFor } from './poolPorts';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const itemShape = (shape: readonly number[]) => [shape[0]!, ...shape.slice(2)];

function fillLogits(t: Tensor, seed: number): Tensor {
  const r = rng(seed);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = (r() - 0.5) * 12;
  return t;
}

function fillTargets(t: Tensor, C: number, seed: number, ignore = -100): Tensor {
  const r = rng(seed);
  const d = t.data as BigInt64Array;
  for (let i = 0; i < d.length; i++) d[i] = BigInt(r() < 0.1 ? ignore : Math.floor(r() * C));
  return t;
}

const plain = (shape: number[], dtype: 'float32' | 'int64'): Tensor =>
  ({ dtype, shape, data: dtype === 'float32' ? new Float32Array(numel(shape)) : new BigInt64Array(numel(shape)) });

/** A tensor over a SharedArrayBuffer the caller made, at an offset (not the pool's allocShared). */
function callerShared(shape: number[], dtype: 'float32' | 'int64', offsetElements = 3): Tensor {
  const es = dtype === 'float32' ? 4 : 8;
  const sab = new SharedArrayBuffer((numel(shape) + offsetElements) * es);
  const data = dtype === 'float32' ? new Float32Array(sab, offsetElements * es, numel(shape)) : new BigInt64Array(sab, offsetElements * es, numel(shape));
  return { dtype, shape, data };
}

/**
 * A worker script that serves like nodeWorker.js until its first compute request, then takes a
 * shard on the claim board and ends its thread with exit code 3, unasked and without a reply: what
 * a fatal error in the middle of a shard looks like to the pool.
 */
function crashingWorkerScript(realScript: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tl-pool-')), 'crashingWorker.js');
  writeFileSync(file, [
    "const { parentPort } = require('node:worker_threads');",
    'let served = 0;',
    // registered before the real handler: the thread claims a shard from the front (as
    // workerCore.ts claimFront does) and dies, while the pool's calling thread is busy with its own
    "parentPort.on('message', m => {",
    "  if (m.type !== 'compute' || served++ !== 0) return;",
    '  const b = new Int32Array(m.board);',
    '  for (;;) { const s = Atomics.load(b, 0); if ((s & 0xffff) >= (s >>> 16) || Atomics.compareExchange(b, 0, s, s + 1) === s) break; }',
    '  process.exit(3);',
    '});',
    `require(${JSON.stringify(realScript)});`,
  ].join('\n'));
  return file;
}

describe('engine pool, shared memory (worker_threads)', () => {
  let engine: Engine;
  const pools: EnginePool[] = [];
  let two: EnginePool;
  let three: EnginePool;
  let dispatchOnly: EnginePool;
  beforeAll(async () => {
    engine = await loadEngine({ file: 'ce-simd.wasm' });
    two = await createNodePool({ size: 2, file: 'ce-simd.wasm', minParallelElements: 0 });
    three = await createNodePool({ size: 3, file: 'ce-simd.wasm', minParallelElements: 0 });
    dispatchOnly = await createNodePool({ size: 2, file: 'ce-simd.wasm', minParallelElements: 0, callerComputes: false });
    pools.push(two, three, dispatchOnly);
  });
  afterAll(() => pools.forEach(p => p.terminate()));

  const cases: [string, number[], LossOptions][] = [
    ['rows', [20_011, 10], {}],
    ['rows, many classes, none', [301, 1500], { reduction: 'none' }],
    ['spatial, whole images', [6, 5, 64, 70], { ignoreIndex: 3, labelSmoothing: 0.1 }],
    ['spatial, one image (pixel ranges gathered by the workers)', [1, 21, 200, 301], { reduction: 'sum' }],
    ['spatial, one image, none + log_prob', [1, 4, 90, 100], { reduction: 'none', returnLogProb: true }],
  ];

  it.each(cases)('%s: allocShared and a caller\'s SharedArrayBuffer give the single engine\'s bits', async (_name, shape, options) => {
    const C = shape[1]!;
    const ignore = Number(options.ignoreIndex ?? -100);
    const ref = engine.crossEntropy(fillLogits(plain(shape, 'float32'), 1), fillTargets(plain(itemShape(shape), 'int64'), C, 2, ignore), options);
    for (const pool of pools) {
      const inputs: [Tensor, Tensor][] = [
        [fillLogits(pool.allocShared(shape), 1), fillTargets(pool.allocShared(itemShape(shape), 'int64'), C, 2, ignore)],
        [fillLogits(callerShared(shape, 'float32'), 1), fillTargets(callerShared(itemShape(shape), 'int64'), C, 2, ignore)],
        // shared logits with plain targets: only the targets are copied
        [fillLogits(pool.allocShared(shape), 1), fillTargets(plain(itemShape(shape), 'int64'), C, 2, ignore)],
        // neither shared: the workers' shards are copied into the pool's scratch buffer ahead of them
        [fillLogits(plain(shape, 'float32'), 1), fillTargets(plain(itemShape(shape), 'int64'), C, 2, ignore)],
      ];
      for (const [x, t] of inputs) {
        const r = await pool.crossEntropy(x, t, options);
        expect(Object.is(r.loss, ref.loss), `pool of ${pool.size}: ${r.loss} vs ${ref.loss}`).toBe(true);
        expect(r.shape).toEqual(ref.shape);
        expect(sameBits(r.values, ref.values)).toBe(true);
        expect(sameBits(r.logProb, ref.logProb)).toBe(true);
      }
    }
  });

  it('probability targets in shared memory, gathered per pixel range, match the engine', async () => {
    const shape = [1, 6, 150, 200];
    const x = fillLogits(two.allocShared(shape), 5);
    const y = two.allocShared(shape);
    const r = rng(6);
    (y.data as Float32Array).forEach((_, i, a) => { a[i] = r(); });
    const ref = engine.crossEntropy({ ...x, data: (x.data as Float32Array).slice() }, { ...y, data: (y.data as Float32Array).slice() }, { labelSmoothing: 0.05 });
    for (const pool of pools) expect((await pool.crossEntropy(x, y, { labelSmoothing: 0.05 })).loss).toBe(ref.loss);
  });

  it('leaves the caller\'s shared input untouched', async () => {
    const shape = [4096, 33];
    const x = fillLogits(two.allocShared(shape), 7);
    const before = (x.data as Float32Array).slice();
    await two.crossEntropy(x, fillTargets(plain([4096], 'int64'), 33, 8), { labelSmoothing: 0.2 });
    expect(sameBits(x.data as Float32Array, before)).toBe(true);
  });

  it('sends one compute request per worker per evaluation', async () => {
    const dir = findWasmDir();
    const module = await compileEngine(engineBytes({ wasmDir: dir, file: 'ce-simd-shared.wasm' }).bytes);
    const { state, factory } = recordingFactory(join(dir, 'nodeWorker.js'));
    const pool = new EnginePool({ factory, size: 3, module, shared: true, callerComputes: true, minParallelElements: 0 });
    try {
      pool.start();
      await waitFor(() => state.ready === 2);
      // large enough (5.5M logits, milliseconds) that warm workers take shards before the caller is done
      const shape = [4, 21, 256, 256];
      const x = fillLogits(plain(shape, 'float32'), 9);
      const t = fillTargets(plain(itemShape(shape), 'int64'), 21, 10);
      const ref = engine.crossEntropy(x, t);
      for (let call = 1; call <= 3; call++) {
        const seen: number[] = [];
        const r = await pool.crossEntropy(x, t, {}, { onProgress: d => seen.push(d) });
        expect(r.loss).toBe(ref.loss);
        // two workers (the calling thread is the third), each asked once, warm across calls
        expect(state.requests.length).toBe(2 * call);
        expect([...seen].sort((a, b) => a - b)).toEqual(seen);
        expect(seen[seen.length - 1]).toBe(4 * 256 * 256);
      }
      // the workers took part (they claim shards as they get free, so how many varies)
      expect(state.shardsByWorkers).toBeGreaterThan(0);
      // below the parallel threshold: the calling thread alone, no message at all
      const small = new EnginePool({ factory, size: 3, module, shared: true, callerComputes: true });
      const sx = fillLogits(plain([100, 7], 'float32'), 11), st = fillTargets(plain([100], 'int64'), 7, 12);
      expect((await small.crossEntropy(sx, st)).loss).toBe(engine.crossEntropy(sx, st).loss);
      expect(state.requests.length).toBe(6);
      small.terminate();
    } finally {
      pool.terminate();
    }
  });

  it('keeps a plain input of long rows on the calling thread by default; in the shared memory it splits', async () => {
    const dir = findWasmDir();
    const module = await compileEngine(engineBytes({ wasmDir: dir, file: 'ce-simd-shared.wasm' }).bytes);
    const { state, factory } = recordingFactory(join(dir, 'nodeWorker.js'));
    const pool = new EnginePool({ factory, size: 2, module, shared: true, callerComputes: true });
    try {
      pool.start();
      await waitFor(() => state.ready === 1);
      // 4.4M logits, over the 2^22 threshold, 4000 classes per row (rowsLong)
      const shape = [1100, 4000];
      const x = fillLogits(plain(shape, 'float32'), 13), t = fillTargets(plain([1100], 'int64'), 4000, 14);
      const ref = engine.crossEntropy(x, t);
      expect((await pool.crossEntropy(x, t)).loss).toBe(ref.loss);
      expect(state.requests.length).toBe(0);
      // the same rows written into the pool's shared memory: split
      const xs = pool.allocShared(shape);
      (xs.data as Float32Array).set(x.data as Float32Array);
      expect((await pool.crossEntropy(xs, t)).loss).toBe(ref.loss);
      expect(state.requests.length).toBe(1);
      // 100 classes per row (rowsT4) from a plain array: split as before
      const x2 = fillLogits(plain([42000, 100], 'float32'), 15), t2 = fillTargets(plain([42000], 'int64'), 100, 16);
      expect((await pool.crossEntropy(x2, t2)).loss).toBe(engine.crossEntropy(x2, t2).loss);
      expect(state.requests.length).toBe(2);
    } finally {
      pool.terminate();
    }
  });

  it('cancels mid-run (shared input): rejects with CancelledError, then works again', async () => {
    const shape = [4, 21, 256, 512];
    const x = fillLogits(three.allocShared(shape), 13);
    const t = fillTargets(three.allocShared(itemShape(shape), 'int64'), 21, 14);
    const controller = new AbortController();
    let calls = 0;
    const pending = three.crossEntropy(x, t, {}, {
      signal: controller.signal,
      onProgress: (done, total) => { calls++; if (done > 0 && done < total) controller.abort(); },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(calls).toBeGreaterThan(0);
    const small = [3, 4, 10, 10];
    const sx = fillLogits(plain(small, 'float32'), 15), st = fillTargets(plain(itemShape(small), 'int64'), 4, 16);
    expect((await three.crossEntropy(sx, st)).loss).toBe(engine.crossEntropy(sx, st).loss);
    // and a large one again, on the same workers (each finished its shard and was kept)
    const big = await three.crossEntropy(x, t);
    expect(big.loss).toBe(engine.crossEntropy({ ...x, data: (x.data as Float32Array).slice() }, t).loss);
  });

  it('an abort before the call rejects without computing', async () => {
    const controller = new AbortController();
    controller.abort();
    const x = fillLogits(plain([10, 3], 'float32'), 1);
    await expect(two.crossEntropy(x, fillTargets(plain([10], 'int64'), 3, 1), {}, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  it('a worker crash mid-run rejects with an error naming it, and the pool recovers', async () => {
    const dir = findWasmDir();
    const module = await compileEngine(engineBytes({ wasmDir: dir, file: 'ce-simd-shared.wasm' }).bytes);
    const crashing = crashingWorkerScript(join(dir, 'nodeWorker.js'));
    let made = 0;
    // the first worker crashes on its first request; its replacement is a normal one
    const { state, factory } = readyCounting(() => nodeWorkerPort(made++ === 0 ? crashing : join(dir, 'nodeWorker.js')));
    const pool = new EnginePool({ factory, size: 2, module, shared: true, callerComputes: true, minParallelElements: 0 });
    try {
      // started and ready before the evaluation, so that it gets its request while the caller
      // computes (a worker that never took a shard is not waited for)
      pool.start();
      await waitFor(() => state.ready === 1);
      const shape = [4, 21, 512, 256];
      const x = fillLogits(pool.allocShared(shape), 17);
      const t = fillTargets(pool.allocShared(itemShape(shape), 'int64'), 21, 18);
      const err = await pool.crossEntropy(x, t).catch(e => e);
      expect(err).toBeInstanceOf(Error);
      expect(String(err)).toMatch(/engine worker exited with code 3/);
      expect(err).not.toBeInstanceOf(TorchError);
      const r = await pool.crossEntropy(x, t);
      expect(made).toBe(2);
      expect(r.loss).toBe(engine.crossEntropy({ ...x, data: (x.data as Float32Array).slice() }, t).loss);
    } finally {
      pool.terminate();
    }
  });
});

