// The Node worker pool: bit-identical to one engine for every layout and sharding, the first bad
// target in memory order across shards, progress, cancellation, TF.js mode. Needs the build
// (dist/compute/nodeWorker.js and the .wasm files).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../compute/engine';
import { loadEngine } from '../../compute/node/loadEngine';
import { createNodePool } from '../../compute/node/pool';
import type { EnginePool } from '../../compute/pool';
import { CancelledError, TorchError, type LossOptions, type Tensor } from '../../compute/types';
import { rng } from './randomCases';

function logits(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() - 0.5) * 12;
  return { dtype: 'float32', shape, data };
}

function indexTargets(shape: number[], C: number, seed: number, ignore = -100): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new BigInt64Array(n);
  for (let i = 0; i < n; i++) data[i] = BigInt(r() < 0.1 ? ignore : Math.floor(r() * C));
  return { dtype: 'int64', shape, data };
}

function probTargets(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => r()) };
}

const itemShape = (shape: number[]) => [shape[0]!, ...shape.slice(2)];

describe('engine pool (worker_threads)', () => {
  let engine: Engine;
  const pools: EnginePool[] = [];
  beforeAll(async () => {
    engine = await loadEngine({ file: 'ce-simd.wasm' });
    for (const size of [1, 2, 3]) pools.push(await createNodePool({ size, file: 'ce-simd.wasm', minParallelElements: 0 }));
  });
  afterAll(() => pools.forEach(p => p.terminate()));

  const cases: [string, number[], (s: number[]) => Tensor, LossOptions][] = [
    ['rows, small C', [5003, 10], s => indexTargets([s[0]!], 10, 2), {}],
    ['rows, C > 512, weights', [301, 700], s => indexTargets([s[0]!], 700, 3), { weight: logits([700], 9) }],
    ['spatial, many images', [9, 5, 37, 41], s => indexTargets(itemShape(s), 5, 4, 255), { ignoreIndex: 255 }],
    ['spatial, one image (pixel-range shards)', [1, 21, 300, 301], s => indexTargets(itemShape(s), 21, 5), { reduction: 'sum' }],
    ['spatial, smoothing + weights', [2, 7, 150, 150], s => indexTargets(itemShape(s), 7, 6), { labelSmoothing: 0.2, weight: logits([7], 11) }],
    ['probability targets', [1, 6, 200, 200], s => probTargets(s, 7), {}],
    ['none with log_prob', [1, 4, 90, 100], s => indexTargets(itemShape(s), 4, 8), { reduction: 'none', returnLogProb: true }],
    ['rows, none', [3001, 33], s => indexTargets([s[0]!], 33, 12), { reduction: 'none' }],
  ];

  it.each(cases)('%s: every pool size gives the single engine\'s bits', async (_name, shape, makeTarget, options) => {
    const x = logits(shape, 1);
    const t = makeTarget(shape);
    const single = engine.crossEntropy(x, t, options);
    for (const pool of pools) {
      const r = await pool.crossEntropy(x, t, options);
      expect(r.shape).toEqual(single.shape);
      expect(Object.is(r.loss, single.loss), `pool of ${pool.size}: ${r.loss} vs ${single.loss}`).toBe(true);
      if (single.values) expect(Buffer.from(r.values!.buffer).equals(Buffer.from(single.values.buffer))).toBe(true);
      if (single.logProb) expect(Buffer.from(r.logProb!.buffer).equals(Buffer.from(single.logProb.buffer))).toBe(true);
    }
  });

  it('nll_loss and TF.js mode match the engine', async () => {
    const x = logits([4000, 12], 21);
    const t = indexTargets([4000], 12, 22);
    expect((await pools[2]!.nllLoss(x, t)).loss).toBe(engine.nllLoss(x, t).loss);
    const labels = probTargets([4000, 12], 23);
    const weights: Tensor = { dtype: 'float32', shape: [4000], data: probTargets([4000], 24).data };
    for (const reduction of ['NONE', 'MEAN', 'SUM', 'SUM_BY_NONZERO_WEIGHTS'] as const) {
      const a = await pools[2]!.softmaxCrossEntropyTfjs(labels, x, { weights, reduction, labelSmoothing: 0.1 });
      const b = engine.softmaxCrossEntropyTfjs(labels, x, { weights, reduction, labelSmoothing: 0.1 });
      expect(a.loss).toBe(b.loss);
      expect(a.shape).toEqual(b.shape);
    }
  });

  it('reports the first out-of-bounds target in memory order across shards', async () => {
    const shape = [1, 3, 200, 200];
    const t = indexTargets(itemShape(shape), 3, 31);
    (t.data as BigInt64Array)[39_000] = 7n;   // in a later shard
    (t.data as BigInt64Array)[25_000] = -4n;  // the first one
    const err = await pools[2]!.crossEntropy(logits(shape, 32), t).catch(e => e);
    expect(err).toBeInstanceOf(TorchError);
    expect(String(err)).toBe('IndexError: Target -4 is out of bounds.');
  });

  it('PyTorch argument errors reject before any work', async () => {
    const err = await pools[1]!.crossEntropy(logits([2, 5, 4, 4], 1), indexTargets([2, 1, 4, 4], 5, 1)).catch(e => e);
    expect(String(err)).toBe('RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4');
  });

  it('reports progress up to the total', async () => {
    const shape = [8, 5, 100, 100];
    const seen: number[] = [];
    await pools[2]!.crossEntropy(logits(shape, 41), indexTargets(itemShape(shape), 5, 42), {}, { onProgress: (d, total) => { seen.push(d); expect(total).toBe(80_000); } });
    expect(seen.length).toBeGreaterThan(2);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen[seen.length - 1]).toBe(80_000);
  });

  it('cancels: rejects with CancelledError, then works again', async () => {
    const shape = [2, 21, 256, 512];
    const x = logits(shape, 51);
    const t = indexTargets(itemShape(shape), 21, 52);
    const controller = new AbortController();
    const pending = pools[2]!.crossEntropy(x, t, {}, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    const small = [3, 4, 10, 10];
    const again = await pools[2]!.crossEntropy(logits(small, 53), indexTargets(itemShape(small), 4, 54));
    expect(again.loss).toBe(engine.crossEntropy(logits(small, 53), indexTargets(itemShape(small), 4, 54)).loss);
  });
});
