// The engine and its browser pool in real headless Chromium: workers built from Blob URLs and handed
// the compiled module, as a VS Code webview must do; results bit-identical to one engine, progress,
// cancellation, build selection (Chromium ships relaxed SIMD).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../compute/node/loadEngine';
import type { Tensor } from '../../compute/types';
import { haveChromium, openEnginePage } from './enginePage';

const ORIGIN = 'http://engine.test';

describe.skipIf(!haveChromium)('engine pool in headless Chromium', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ browser, page } = await openEnginePage({
      origin: ORIGIN,
      title: 'engine',
      pageSource: `
        import { createEngine, compileEngine, selectEngineFile } from './compute/engine';
        import { createBrowserPool } from './compute/browser/pool';
        (globalThis as any).engineApi = { createEngine, compileEngine, selectEngineFile, createBrowserPool };
      `,
      wasm: ['ce-simd.wasm', 'ce-relaxed.wasm', 'ce-scalar.wasm'],
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('picks the relaxed-SIMD build, and its pool matches one engine bit for bit', async () => {
    const out = await page.evaluate(async origin => {
      const api = (globalThis as any).engineApi;
      const file = api.selectEngineFile();
      const bytes = await (await fetch(`${origin}/${file}`)).arrayBuffer();
      const module = await api.compileEngine(bytes);
      const engine = await api.createEngine({ module });
      // workers as a webview makes them: the script's text in a Blob
      const workerText = await (await fetch(`${origin}/worker.js`)).text();
      const url = URL.createObjectURL(new Blob([workerText], { type: 'text/javascript' }));
      const pool = api.createBrowserPool({ factory: () => new Worker(url), size: 3, module, minParallelElements: 0 });
      let seed = 7;
      const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
      const results: unknown[] = [];
      for (const shape of [[4099, 10], [1, 21, 200, 301], [5, 3, 64, 64], [300, 1000]]) {
        const n = shape.reduce((a: number, b: number) => a * b, 1);
        const x = Float32Array.from({ length: n }, () => (rand() - 0.5) * 10);
        const items = shape[0]! * shape.slice(2).reduce((a: number, b: number) => a * b, 1);
        const t = BigInt64Array.from({ length: items }, () => BigInt(Math.floor(rand() * shape[1]!)));
        const input = { dtype: 'float32', shape, data: x };
        const target = { dtype: 'int64', shape: [shape[0], ...shape.slice(2)], data: t };
        for (const options of [{}, { reduction: 'none' }, { labelSmoothing: 0.1, reduction: 'sum' }]) {
          const single = engine.crossEntropy(input, target, options);
          const progress: number[] = [];
          const pooled = await pool.crossEntropy(input, target, options, { onProgress: (d: number) => progress.push(d) });
          const sameValues = !single.values || single.values.every((v: number, i: number) => Object.is(v, pooled.values[i]));
          results.push({ shape, options, single: single.loss, pooled: pooled.loss, sameValues, lastProgress: progress[progress.length - 1], items, engine: pooled.engine });
        }
      }
      // cancellation
      const big = [2, 21, 256, 256];
      const nb = big.reduce((a, b) => a * b, 1);
      const controller = new AbortController();
      const cancelled = await pool.crossEntropy(
        { dtype: 'float32', shape: big, data: new Float32Array(nb) },
        { dtype: 'int64', shape: [2, 256, 256], data: new BigInt64Array(2 * 256 * 256) },
        {}, { signal: controller.signal, onProgress: () => controller.abort() },
      ).then(() => 'finished', (e: Error) => e.name);
      pool.terminate();
      return { file, kind: engine.kind, results, cancelled };
    }, ORIGIN);
    expect(out.file).toBe('ce-relaxed.wasm');
    expect(out.kind).toBe('wasm-relaxed-simd');
    expect(out.cancelled).toBe('CancelledError');
    for (const r of out.results as { single: number | null; pooled: number | null; sameValues: boolean; lastProgress: number; items: number; engine: string }[]) {
      expect(Object.is(r.single, r.pooled), JSON.stringify(r)).toBe(true);
      expect(r.sameValues).toBe(true);
      expect(r.lastProgress).toBe(r.items);
      expect(r.engine).toBe('wasm-relaxed-simd');
    }
  });

  it('the SIMD build gives the same bits in Chromium as in Node', async () => {
    const shape = [64, 37];
    const x = Float32Array.from({ length: 64 * 37 }, (_, i) => Math.sin(i) * 4);
    const t = Array.from({ length: 64 }, (_, i) => (i * 7) % 37);
    const node = await loadEngine({ file: 'ce-simd.wasm' });
    const input: Tensor = { dtype: 'float32', shape, data: x };
    const target: Tensor = { dtype: 'int64', shape: [64], data: BigInt64Array.from(t, BigInt) };
    const expected = Array.from(node.crossEntropy(input, target, { reduction: 'none' }).values!);
    const got = await page.evaluate(async ({ origin, x, t }) => {
      const api = (globalThis as any).engineApi;
      const engine = await api.createEngine(await (await fetch(`${origin}/ce-simd.wasm`)).arrayBuffer());
      const r = engine.crossEntropy({ dtype: 'float32', shape: [64, 37], data: Float32Array.from(x) },
        { dtype: 'int64', shape: [64], data: BigInt64Array.from(t, (v: number) => BigInt(v)) }, { reduction: 'none' });
      return { kind: engine.kind, values: Array.from(r.values) };
    }, { origin: ORIGIN, x: Array.from(x), t });
    expect(got.kind).toBe('wasm-simd');
    expect(got.values).toEqual(expected);
  });
});
