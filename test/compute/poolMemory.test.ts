// The Node pool on one shared wasm memory: allocShared tensors are read in place by every thread
// (a worker's shards are addresses of them), plain inputs are copied there once, each worker
// computes in its own workspace range, the memory grows under warm workers, probability targets and
// float64 inputs in every residency, ranges given back and reused, and a cancelled worker kept with
// its workspace (or, silent past the grace period, replaced). Needs the build (dist/compute/nodeWorker.js, .wasm).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileEngine, type Engine } from '../../compute/engine';
import { engineBytes, findWasmDir, loadEngine } from '../../compute/node/loadEngine';
import { createNodePool, nodeWorkerPort } from '../../compute/node/pool';
import { EnginePool, type WorkerPort } from '../../compute/pool';
import type { SharedHeap } from '../../compute/sharedMemory';
import { CancelledError, TorchError, type LossOptions, type Tensor } from '../../compute/types';
import type { ShardRequest, TensorRef } from '../../compute/workerCore';
import { rng } from './randomCases';
import { readyCounting, recordingFactory, sameBits, waitFor } from './poolPorts';

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const itemShape = (shape: readonly number[]) => [shape[0]!, ...shape.slice(2)];

function fill(t: Tensor, seed: number, f: (r: () => number) => number | bigint): Tensor {
  const r = rng(seed);
  const d = t.data as unknown as { length: number; [i: number]: number | bigint };
  for (let i = 0; i < d.length; i++) d[i] = f(r);
  return t;
}
const logits = (t: Tensor, seed: number) => fill(t, seed, r => (r() - 0.5) * 12);
const indices = (t: Tensor, C: number, seed: number) => fill(t, seed, r => BigInt(r() < 0.1 ? -100 : Math.floor(r() * C)));
const probs = (t: Tensor, seed: number) => fill(t, seed, r => r());
const plain = (shape: number[], dtype: 'float32' | 'float64' | 'int64'): Tensor => ({
  dtype, shape,
  data: dtype === 'float32' ? new Float32Array(numel(shape)) : dtype === 'float64' ? new Float64Array(numel(shape)) : new BigInt64Array(numel(shape)),
});
/** A plain copy (the single engine's input). */
const copy = (t: Tensor): Tensor => ({ ...t, data: t.data.slice() });

const refOf = (t: Tensor | TensorRef): TensorRef => {
  if (!('ptr' in t)) throw new Error('expected an address in the shared memory');
  return t;
};
const heapOf = (pool: EnginePool) => (pool as unknown as { space?: { heap: SharedHeap } }).space!.heap;

describe('engine pool on one shared wasm memory', () => {
  let engine: Engine;
  let module: object;
  let script: string;
  beforeAll(async () => {
    engine = await loadEngine({ file: 'ce-simd.wasm' });
    const dir = findWasmDir();
    module = await compileEngine(engineBytes({ wasmDir: dir, file: 'ce-simd-shared.wasm' }).bytes);
    script = join(dir, 'nodeWorker.js');
  });

  /** The calling thread and one worker on a shared memory, the worker ready (started and waited for). */
  async function warmPool(factory: () => WorkerPort, state: { ready: number }): Promise<EnginePool> {
    const pool = new EnginePool({ factory, size: 2, module, shared: true, callerComputes: true, minParallelElements: 0 });
    pool.start();
    await waitFor(() => state.ready === 1).catch(err => { pool.terminate(); throw err; });
    return pool;
  }

  it('workers read an allocShared input where it lies and a plain one from one copy, each in its own workspace', async () => {
    const { state, factory } = recordingFactory(script);
    const pool = new EnginePool({ factory, size: 3, module, shared: true, callerComputes: true, minParallelElements: 0 });
    try {
      const shape = [40_000, 33];
      const x = logits(pool.allocShared(shape), 1), t = indices(pool.allocShared(itemShape(shape), 'int64'), 33, 2);
      const ref = engine.crossEntropy(copy(x), copy(t), { reduction: 'none' });
      // warm: the workers' instances are ready before the evaluation we look at
      pool.start();
      await waitFor(() => state.ready === 2);
      const r = await pool.crossEntropy(x, t, { reduction: 'none' });
      expect(Object.is(r.loss, ref.loss)).toBe(true);
      expect(sameBits(r.values, ref.values)).toBe(true);
      expect(state.requests).toHaveLength(2);
      const shards = state.requests[0]!.shards;
      // in place: shard k's rows start at the tensor's own address
      let row = 0;
      for (const s of shards) {
        expect(refOf(s.input).ptr).toBe(x.data.byteOffset + row * 33 * 4);
        expect(refOf(s.target).ptr).toBe(t.data.byteOffset + row * 8);
        row += s.plan.N;
      }
      expect(row).toBe(40_000);
      // two workspaces, apart from each other and from the tensors
      const ranges = [
        ...state.requests.map(q => [q.workspace!.ptr, q.workspace!.ptr + q.workspace!.bytes]),
        [x.data.byteOffset, x.data.byteOffset + x.data.byteLength], [t.data.byteOffset, t.data.byteOffset + t.data.byteLength],
      ].sort((a, b) => a[0]! - b[0]!);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]!);
      // the workers and the calling thread both computed shards
      expect(state.shardsByWorkers).toBeGreaterThan(0);
      expect(state.shardsByWorkers).toBeLessThan(shards.length);

      // a plain input: copied into the memory once, outside the caller's tensors, same bits
      const px = copy(x), pt = copy(t);
      const r2 = await pool.crossEntropy(px, pt, { reduction: 'none' });
      expect(sameBits(r2.values, ref.values)).toBe(true);
      const copied = state.requests[2]!.shards.map(s => refOf(s.input).ptr);
      expect(copied.every(p => p < x.data.byteOffset || p >= x.data.byteOffset + x.data.byteLength)).toBe(true);
    } finally {
      pool.terminate();
    }
  });

  it('reads pixel ranges of an allocShared image in place, with the image\'s class stride', async () => {
    const { state, factory } = recordingFactory(script);
    const pool = await warmPool(factory, state);
    try {
      const shape = [1, 21, 300, 301];
      const x = logits(pool.allocShared(shape), 3), t = indices(pool.allocShared(itemShape(shape), 'int64'), 21, 4);
      for (const options of [{}, { labelSmoothing: 0.1, reduction: 'none' as const }]) {
        const ref = engine.crossEntropy(copy(x), copy(t), options);
        const r = await pool.crossEntropy(x, t, options);
        expect(Object.is(r.loss, ref.loss)).toBe(true);
        expect(sameBits(r.values, ref.values)).toBe(true);
      }
      const s = state.requests.at(-1)!.shards[1] as ShardRequest;
      expect(s.classStride).toBe(300 * 301);
      expect(refOf(s.input).length).toBe(20 * 300 * 301 + s.plan.S);
    } finally {
      pool.terminate();
    }
  });

  it('keeps working, warm, when the memory grows (earlier tensors stay valid)', async () => {
    const pool = await createNodePool({ size: 2, file: 'ce-simd.wasm', minParallelElements: 0 });
    try {
      const small = [3000, 10];
      const x1 = logits(pool.allocShared(small), 5), t1 = indices(pool.allocShared([3000], 'int64'), 10, 6);
      const ref1 = engine.crossEntropy(copy(x1), copy(t1));
      expect((await pool.crossEntropy(x1, t1)).loss).toBe(ref1.loss);
      // 48 MB more: the memory grows while both threads hold instances on it
      const big = [2, 21, 512, 560];
      const x2 = logits(pool.allocShared(big), 7), t2 = indices(pool.allocShared(itemShape(big), 'int64'), 21, 8);
      expect(x2.data.buffer).not.toBe(x1.data.buffer);
      expect(x2.data.buffer.byteLength).toBeGreaterThan(x1.data.buffer.byteLength + 40e6);
      const ref2 = engine.crossEntropy(copy(x2), copy(t2), { reduction: 'sum' });
      expect((await pool.crossEntropy(x2, t2, { reduction: 'sum' })).loss).toBe(ref2.loss);
      // a plain input now needs a larger copy area: grows again
      const x3 = logits(plain([4, 21, 512, 512], 'float32'), 9), t3 = indices(plain([4, 512, 512], 'int64'), 21, 10);
      expect((await pool.crossEntropy(x3, t3)).loss).toBe(engine.crossEntropy(x3, t3).loss);
      expect((await pool.crossEntropy(x1, t1)).loss).toBe(ref1.loss);
    } finally {
      pool.terminate();
    }
  });

  it('probability targets and float64 inputs, in shared memory, plain or mixed, match the engine', async () => {
    const pool = await createNodePool({ size: 3, file: 'ce-simd.wasm', minParallelElements: 0 });
    try {
      const cases: [number[], 'float32' | 'float64', 'float32' | 'float64', LossOptions][] = [
        [[1, 6, 150, 200], 'float32', 'float32', { labelSmoothing: 0.05 }],   // pixel ranges
        [[5000, 40], 'float32', 'float32', { reduction: 'none' }],            // rows
        [[3, 5, 80, 90], 'float64', 'float64', { labelSmoothing: 0.2 }],     // float64 throughout
        [[1, 4, 200, 150], 'float32', 'float64', {}],                        // promoted to float64
      ];
      for (const [shape, xd, yd, options] of cases) {
        const xs = logits(pool.allocShared(shape, xd), 11), ys = probs(pool.allocShared(shape, yd), 12);
        const xp = copy(xs), yp = copy(ys);
        const ref = engine.crossEntropy(xp, yp, options);
        for (const [x, y] of [[xs, ys], [xs, yp], [xp, ys], [xp, yp]]) {
          const r = await pool.crossEntropy(x!, y!, options);
          expect(Object.is(r.loss, ref.loss), `${JSON.stringify(shape)} ${xd}/${yd}`).toBe(true);
          expect(r.dtype).toBe(ref.dtype);
          expect(sameBits(r.values, ref.values)).toBe(true);
        }
        const wx = logits(pool.allocShared([shape[0]!, ...shape.slice(1)], xd), 13);
        const idx = indices(pool.allocShared(itemShape(shape), 'int64'), shape[1]!, 14);
        expect(Object.is((await pool.nllLoss(wx, idx)).loss, engine.nllLoss(copy(wx), copy(idx)).loss)).toBe(true);
      }
    } finally {
      pool.terminate();
    }
  });

  it('names the first bad target in memory order when the targets lie in shared memory', async () => {
    const pool = await createNodePool({ size: 3, file: 'ce-simd.wasm', minParallelElements: 0 });
    try {
      const shape = [1, 3, 200, 200];
      const x = logits(pool.allocShared(shape), 15), t = indices(pool.allocShared(itemShape(shape), 'int64'), 3, 16);
      (t.data as BigInt64Array)[39_000] = 7n;
      (t.data as BigInt64Array)[25_000] = -4n;
      const err = await pool.crossEntropy(x, t).catch(e => e);
      expect(err).toBeInstanceOf(TorchError);
      expect(String(err)).toBe('IndexError: Target -4 is out of bounds.');
    } finally {
      pool.terminate();
    }
  });

  it('gives freed ranges back; after terminate an allocShared tensor is an ordinary input', async () => {
    const pool = await createNodePool({ size: 2, file: 'ce-simd.wasm', minParallelElements: 0 });
    const shape = [4000, 25];
    const a = logits(pool.allocShared(shape), 17);
    const offset = a.data.byteOffset;
    pool.free(a);
    const b = logits(pool.allocShared(shape), 17);
    expect(b.data.byteOffset).toBe(offset);
    const t = indices(plain([4000], 'int64'), 25, 18);
    const ref = engine.crossEntropy(copy(b), t);
    expect((await pool.crossEntropy(b, t)).loss).toBe(ref.loss);
    pool.terminate();
    expect((await pool.crossEntropy(b, t)).loss).toBe(ref.loss);
    pool.terminate();
  });

  it('keeps a cancelled worker, which finishes its shard and computes the next evaluation in the same workspace', async () => {
    let made = 0, terminated = 0;
    const { state, factory } = readyCounting(() => {
      made++;
      const port = nodeWorkerPort(script);
      return { ...port, post: port.post.bind(port), listen: port.listen.bind(port), terminate: () => { terminated++; return port.terminate(); } };
    });
    const pool = await warmPool(factory, state);
    try {
      const shape = [4, 21, 256, 512];
      const x = logits(pool.allocShared(shape), 19), t = indices(pool.allocShared(itemShape(shape), 'int64'), 21, 20);
      const ref = engine.crossEntropy(copy(x), copy(t), { reduction: 'none' });
      const extents: number[] = [];
      for (let round = 0; round < 4; round++) {
        const controller = new AbortController();
        const pending = pool.crossEntropy(x, t, { reduction: 'none' }, {
          signal: controller.signal, onProgress: (done, total) => { if (done > 0 && done < total) controller.abort(); },
        });
        await expect(pending).rejects.toBeInstanceOf(CancelledError);
        // at once, with no pause for a thread to end: the worker is the same one
        const r = await pool.crossEntropy(x, t, { reduction: 'none' });
        expect(sameBits(r.values, ref.values)).toBe(true);
        extents.push(heapOf(pool).extent);
      }
      expect([made, terminated]).toEqual([1, 0]);
      // the workspace is kept, not left behind and reallocated: the heap does not grow
      expect(new Set(extents).size).toBe(1);
    } finally {
      pool.terminate();
    }
  });

  it('cancelled at random moments, plain or shared inputs, it keeps its worker and computes every next evaluation right', async () => {
    let made = 0;
    const { state, factory } = readyCounting(() => { made++; return nodeWorkerPort(script); });
    const pool = await warmPool(factory, state);
    try {
      const shape = [2, 21, 256, 256];
      const x = logits(pool.allocShared(shape), 31), t = indices(pool.allocShared(itemShape(shape), 'int64'), 21, 32);
      const px = copy(x), pt = copy(t);
      const ref = engine.crossEntropy(px, pt, { reduction: 'none' });
      const r = rng(33);
      const outcomes = { cancelled: 0, finished: 0 };
      const extents = new Set<number>();
      for (let round = 0; round < 24; round++) {
        const [ix, it] = round % 2 ? [px, pt] : [x, t];
        const controller = new AbortController();
        // abort before the call, after a random number of progress reports, or on a timer
        const how = Math.floor(r() * 3), after = Math.floor(r() * 4);
        if (how === 0 && r() < 0.3) controller.abort();
        let reports = 0;
        if (how === 2) setTimeout(() => controller.abort(), r() * 3);
        const outcome = await pool.crossEntropy(ix, it, { reduction: 'none' }, {
          signal: controller.signal,
          onProgress: () => { if (how === 1 && reports++ >= after) controller.abort(); },
        }).then(res => { expect(sameBits(res.values, ref.values)).toBe(true); return 'finished' as const; },
          (err: unknown) => { expect(err).toBeInstanceOf(CancelledError); return 'cancelled' as const; });
        outcomes[outcome]++;
        const next = await pool.crossEntropy(round % 3 ? x : px, round % 3 ? t : pt, { reduction: 'none' });
        expect(sameBits(next.values, ref.values)).toBe(true);
        extents.add(heapOf(pool).extent);
      }
      expect(outcomes.cancelled).toBeGreaterThan(5);
      expect(made).toBe(1);
      // the plain input's staging area and the workspace are reused round after round
      expect(extents.size).toBe(1);
    } finally {
      pool.terminate();
    }
  });

  it('terminates a cancelled worker that does not reply within the grace period, and replaces it', async () => {
    // the first worker swallows its first result: cancelled, it never seems to finish its shard
    let made = 0;
    const { state, factory } = readyCounting(() => {
      const port = nodeWorkerPort(script);
      if (made++ > 0) return port;
      let swallowed = false;
      return {
        post: (request, transfer) => port.post(request, transfer),
        listen: (onMessage, onError) => port.listen(reply => {
          if (reply.type === 'result' && !swallowed) { swallowed = true; return; }
          onMessage(reply);
        }, onError),
        terminate: () => port.terminate(),
      };
    });
    const pool = await warmPool(factory, state);
    try {
      const shape = [4, 21, 256, 512];
      const x = logits(pool.allocShared(shape), 23), t = indices(pool.allocShared(itemShape(shape), 'int64'), 21, 24);
      const ref = engine.crossEntropy(copy(x), copy(t));
      const controller = new AbortController();
      const pending = pool.crossEntropy(x, t, {}, {
        signal: controller.signal, onProgress: (done, total) => { if (done > 0 && done < total) controller.abort(); },
      });
      await expect(pending).rejects.toBeInstanceOf(CancelledError);
      const t0 = Date.now();
      expect((await pool.crossEntropy(x, t)).loss).toBe(ref.loss);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900); // it waited out the grace period (2 s)
      expect(made).toBe(2);
    } finally {
      pool.terminate();
    }
  });

  it('replaces a worker that died without a shard, whether or not its evaluation saw it die', async () => {
    // exits on its first compute request without taking a shard: the calling thread computes them
    // all; the evaluation rejects if the exit arrives first, else it is complete and correct
    const file = join(mkdtempSync(join(tmpdir(), 'tl-pool-')), 'exitingWorker.js');
    writeFileSync(file, [
      "const { parentPort } = require('node:worker_threads');",
      "let served = 0;",
      "parentPort.on('message', m => { if (m.type === 'compute' && served++ === 0) process.exit(4); });",
      `require(${JSON.stringify(script)});`,
    ].join('\n'));
    let made = 0;
    const { state, factory } = readyCounting(() => nodeWorkerPort(made++ === 0 ? file : script));
    const pool = await warmPool(factory, state);
    try {
      const shape = [2, 21, 256, 256];
      const x = logits(pool.allocShared(shape), 21), t = indices(pool.allocShared(itemShape(shape), 'int64'), 21, 22);
      const ref = engine.crossEntropy(copy(x), copy(t));
      const first = await pool.crossEntropy(x, t).then(r => r.loss, e => String(e));
      if (typeof first === 'string') expect(first).toMatch(/engine worker exited with code 4/);
      else expect(first).toBe(ref.loss);
      await new Promise(resolve => setTimeout(resolve, 200));
      for (let i = 0; i < 3; i++) expect((await pool.crossEntropy(x, t)).loss).toBe(ref.loss);
      expect(made).toBe(2);
    } finally {
      pool.terminate();
    }
  });
});
