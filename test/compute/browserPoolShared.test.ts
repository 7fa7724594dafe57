// The browser pool on a cross-origin-isolated page (COOP + COEP headers): SharedArrayBuffer exists,
// so with the shared-memory build every Blob-URL worker instantiates the engine on one shared wasm
// memory, reads the input in place (allocShared) or from one copy, and claims shards on the atomic
// board. Same bits as one engine, progress, cancellation; an ordinary build on the same page takes
// the transfer path. (A VS Code webview is not isolated: browserPool.test.ts covers that path.)
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, openEnginePage } from './enginePage';

// localhost is a secure context, which cross-origin isolation needs (the route answers; nothing listens)
const ORIGIN = 'http://localhost:9';
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

describe.skipIf(!haveChromium)('engine pool with shared memory in headless Chromium', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ browser, page } = await openEnginePage({
      origin: ORIGIN,
      title: 'isolated engine',
      pageSource: `
        import { createEngine, compileEngine, selectSharedEngineFile } from './compute/engine';
        import { createBrowserPool } from './compute/browser/pool';
        (globalThis as any).engineApi = { createEngine, compileEngine, createBrowserPool, selectSharedEngineFile };
      `,
      wasm: ['ce-simd.wasm', 'ce-simd-shared.wasm'],
      headers: ISOLATION,
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shares the input with the workers and matches one engine bit for bit', async () => {
    const out = await page.evaluate(async origin => {
      const api = (globalThis as any).engineApi;
      const module = await api.compileEngine(await (await fetch(`${origin}/ce-simd.wasm`)).arrayBuffer());
      const sharedModule = await api.compileEngine(await (await fetch(`${origin}/ce-simd-shared.wasm`)).arrayBuffer());
      const engine = await api.createEngine({ module });
      const workerText = await (await fetch(`${origin}/worker.js`)).text();
      const url = URL.createObjectURL(new Blob([workerText], { type: 'text/javascript' }));
      // count the workers' messages: shared mode sends one compute request per worker per call
      let computes = 0, made = 0;
      const factory = () => {
        made++;
        const w = new Worker(url);
        const post = w.postMessage.bind(w);
        (w as any).postMessage = (m: any, t: any) => { if (m?.type === 'compute') computes++; post(m, t); };
        return w;
      };
      const pool = api.createBrowserPool({ factory, size: 2, module: sharedModule, minParallelElements: 0 });
      let seed = 11;
      const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
      const results: unknown[] = [];
      for (const shape of [[4099, 10], [1, 21, 200, 301], [5, 3, 64, 64]]) {
        const n = shape.reduce((a: number, b: number) => a * b, 1);
        const items = shape[0]! * shape.slice(2).reduce((a: number, b: number) => a * b, 1);
        const shared = pool.allocShared(shape);
        shared.data.set(Float32Array.from({ length: n }, () => (rand() - 0.5) * 10));
        const t = BigInt64Array.from({ length: items }, () => BigInt(Math.floor(rand() * shape[1]!)));
        const target = { dtype: 'int64', shape: [shape[0], ...shape.slice(2)], data: t };
        const plain = { dtype: 'float32', shape, data: shared.data.slice() };
        for (const options of [{}, { reduction: 'none' }]) {
          const single = engine.crossEntropy(plain, target, options);
          for (const input of [shared, plain]) {
            const progress: number[] = [];
            const before = computes;
            const pooled = await pool.crossEntropy(input, target, options, { onProgress: (d: number) => progress.push(d) });
            const sameValues = !single.values || single.values.every((v: number, i: number) => Object.is(v, pooled.values[i]));
            results.push({
              shape, single: single.loss, pooled: pooled.loss, sameValues, lastProgress: progress[progress.length - 1], items,
              requests: computes - before, sharedBuffer: input.data.buffer instanceof SharedArrayBuffer,
            });
          }
        }
      }
      // cancelled again and again: the worker finishes its shard and is kept, with its workspace (a
      // page cannot tell when a terminated worker's thread ended, so a terminated one's is lost)
      const big = [2, 21, 256, 256];
      const x = pool.allocShared(big);
      const xt = pool.allocShared([2, 256, 256], 'int64');
      const workersBefore = made;
      const cancelled: string[] = [], extents: number[] = [];
      let after = NaN;
      for (let round = 0; round < 5; round++) {
        const controller = new AbortController();
        cancelled.push(await pool.crossEntropy(x, xt, {},
          { signal: controller.signal, onProgress: () => controller.abort() }).then(() => 'finished', (e: Error) => e.name));
        after = (await pool.crossEntropy({ dtype: 'float32', shape: [300, 7], data: new Float32Array(2100) },
          { dtype: 'int64', shape: [300], data: new BigInt64Array(300) })).loss;
        await pool.crossEntropy(x, xt);
        extents.push((pool as any).space.heap.extent);
      }
      const workersMade = made - workersBefore;
      pool.terminate();
      // an ordinary build on the same page: workers with their own memories, sent copies
      const transfer = api.createBrowserPool({ factory, size: 2, module, minParallelElements: 0 });
      // 16 images of one block each: eight shards, four per worker
      const shape = [16, 5, 50, 50];
      const tx = { dtype: 'float32', shape, data: Float32Array.from({ length: 200_000 }, () => (rand() - 0.5) * 10) };
      const tt = { dtype: 'int64', shape: [16, 50, 50], data: BigInt64Array.from({ length: 40_000 }, () => BigInt(Math.floor(rand() * 5))) };
      const before = computes;
      const viaTransfer = (await transfer.crossEntropy(tx, tt)).loss;
      const transferRequests = computes - before;
      transfer.terminate();
      return {
        isolated: (globalThis as any).crossOriginIsolated, results, cancelled, after, extents, workersMade,
        sharedFile: api.selectSharedEngineFile(), sharedData: x.data.buffer instanceof SharedArrayBuffer,
        viaTransfer, single: engine.crossEntropy(tx, tt).loss, transferRequests,
      };
    }, ORIGIN);
    expect(out.isolated).toBe(true);
    expect(out.sharedFile).toMatch(/^ce-(relaxed|simd)-shared\.wasm$/);
    expect(out.sharedData).toBe(true);
    expect(out.viaTransfer).toBe(out.single);
    // transfer mode: a request per shard (four per worker), not one per worker
    expect(out.transferRequests).toBe(8);
    expect(out.cancelled).toEqual(new Array(5).fill('CancelledError'));
    expect(out.after).toBeCloseTo(Math.log(7), 5);
    expect(out.workersMade).toBe(0);
    expect(new Set(out.extents).size).toBe(1);
    const rows = out.results as { single: number | null; pooled: number | null; sameValues: boolean; lastProgress: number; items: number; requests: number; sharedBuffer: boolean }[];
    expect(rows.some(r => r.sharedBuffer)).toBe(true);
    for (const r of rows) {
      expect(Object.is(r.single, r.pooled), JSON.stringify(r)).toBe(true);
      expect(r.sameValues).toBe(true);
      expect(r.lastProgress).toBe(r.items);
      // one request per worker that has a shard to take: [4099, 10] is a single block
      expect(r.requests).toBe(r.items === 4099 ? 1 : 2);
    }
  });
});
