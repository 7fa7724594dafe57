// Engines on one shared WebAssembly.Memory (the pool's shared-memory builds): what instantiation and
// the kernels write (only the module's constant data, the same bytes every time, and the ranges the
// host hands them), the calling thread's allocator, several instances giving a private-memory
// engine's bits, pixel ranges read in place with their image's class stride, and a worker-style
// engine that computes only in the workspace it is given. Needs the build (dist/compute/*.wasm).
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileEngine, createEngineSync, createSharedEngine, importsMemory, selectEngineFile, selectSharedEngineFile, sharedVariant, workspaceBytes,
  type BlockResults, type Engine, type SharedEngine, type WasmModule,
} from '../../compute/engine';
import { engineBytes, loadEngine } from '../../compute/node/loadEngine';
import { planTorch } from '../../compute/semantics';
import { HEAP_START, MemoryViews, SharedHeap, createSharedMemory } from '../../compute/sharedMemory';
import type { LossOptions, Tensor } from '../../compute/types';
import { makeCase, rng, type CaseSpec } from './randomCases';
import { BASE_CASE, PATH_VARIANTS, nanCanonicalBits, resident } from './pathCases';

const bits = nanCanonicalBits;
function sameBlocks(a: BlockResults, b: BlockResults): void {
  expect(bits(a.partials)).toBe(bits(b.partials));
  expect(bits(a.values)).toBe(bits(b.values));
  expect(bits(a.logProb)).toBe(bits(b.logProb));
  expect(a.badTarget).toEqual(b.badTarget);
}

const base: Omit<CaseSpec, 'shape'> = { ...BASE_CASE, reduction: 'none' };
const variants = PATH_VARIANTS;
const shapes = [[37, 5], [9, 300], [3, 5, 37], [2, 21, 13, 11], [1, 3, 1024]];

describe('shared-memory builds', () => {
  it('are built for both SIMD builds and import one shared memory', async () => {
    for (const file of ['ce-simd-shared.wasm', 'ce-relaxed-shared.wasm'] as const) {
      const { bytes } = engineBytes({ file });
      const module = await compileEngine(bytes).catch(() => undefined);
      // the relaxed build compiles only where this Node has relaxed SIMD (a V8 flag in Node 20)
      if (!module) { expect(file).toBe('ce-relaxed-shared.wasm'); continue; }
      expect(importsMemory(module)).toBe(true);
      expect(WebAssembly.Module.imports(module as WebAssembly.Module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    }
    expect(importsMemory(await compileEngine(engineBytes({ file: 'ce-simd.wasm' }).bytes))).toBe(false);
  });

  it('are picked by selectSharedEngineFile where threads, SIMD and SharedArrayBuffer are', () => {
    expect(selectSharedEngineFile()).toBe(sharedVariant(selectEngineFile()));
    // the probes: the threads probe imports a memory (its first section is imports, id 2), the
    // relaxed-SIMD probe is the long one
    const threads = (b: Uint8Array) => b[8] === 2;
    const relaxed = (b: Uint8Array) => b.length > 60;
    expect(selectSharedEngineFile(() => true, () => true)).toBe('ce-relaxed-shared.wasm');
    expect(selectSharedEngineFile(() => true, () => false)).toBe('ce-simd-shared.wasm'); // relaxed SIMD without FMA
    expect(selectSharedEngineFile(b => !relaxed(b))).toBe('ce-simd-shared.wasm');
    expect(selectSharedEngineFile(threads)).toBeUndefined(); // threads without SIMD: the scalar build has no shared variant
    expect(selectSharedEngineFile(b => !threads(b))).toBeUndefined();
    expect(sharedVariant('ce-scalar.wasm')).toBeUndefined();
    expect(sharedVariant('ce-relaxed.wasm')).toBe('ce-relaxed-shared.wasm');
  });
});

describe('engines on one shared memory', () => {
  let module: WasmModule;
  let privateEngine: Engine;
  beforeAll(async () => {
    module = await compileEngine(engineBytes({ file: 'ce-simd-shared.wasm' }).bytes);
    privateEngine = await loadEngine({ file: 'ce-simd.wasm' });
  });

  it('instantiation writes only the module\'s constant data, the same bytes each time; kernels write none of it', () => {
    const views = new MemoryViews(createSharedMemory(1 << 20));
    const bytes = () => new Uint8Array(views.buffer);
    // a pattern in the heap and below it, where instantiation must not write
    const r = rng(5);
    const pattern = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(r() * 256));
    bytes().set(pattern, HEAP_START);
    bytes().fill(0xa5, 0, HEAP_START);
    const heap = new SharedHeap(views);
    const a = createSharedEngine(module, views, heap);
    const low = bytes().slice(0, HEAP_START);
    // only the data segments changed below HEAP_START, and they end well before it
    const changed = low.reduce((last, v, i) => v === 0xa5 ? last : i, -1);
    expect(changed).toBeGreaterThan(1000);
    expect(changed).toBeLessThan(HEAP_START / 2);
    expect(Buffer.from(bytes().subarray(HEAP_START, HEAP_START + pattern.length)).equals(Buffer.from(pattern))).toBe(true);

    // the kernels on every path: nothing below the heap changes
    for (const [vi, v] of variants.entries()) {
      const { input, target, options } = makeCase({ ...base, ...v, shape: [2, 21, 13, 11] }, 11 + vi);
      const call = (e: Engine) => v.fn === 'nll_loss' ? e.nllLoss(input, target, options) : e.crossEntropy(input, target, options);
      call(a);
    }
    expect(Buffer.from(bytes().subarray(0, HEAP_START)).equals(Buffer.from(low))).toBe(true);

    // a second and third instance rewrite the same bytes and leave a's allocations alone
    const x = resident(a, makeCase({ ...base, shape: [64, 10] }, 3).input);
    const before = bits(x.data as Float32Array);
    createSharedEngine(module, views);
    createSharedEngine(module, views, heap);
    expect(Buffer.from(bytes().subarray(0, HEAP_START)).equals(Buffer.from(low))).toBe(true);
    expect(bits(x.data as Float32Array)).toBe(before);
  });

  it('several instances on one memory give a private engine\'s bits, staged or in place, sharing each other\'s tensors', () => {
    const views = new MemoryViews(createSharedMemory());
    const heap = new SharedHeap(views);
    const engines: SharedEngine[] = [createSharedEngine(module, views, heap), createSharedEngine(module, views, heap), createSharedEngine(module, views, heap)];
    let compared = 0;
    for (const shape of shapes) {
      for (const [vi, v] of variants.entries()) {
        const spec: CaseSpec = { ...base, ...v, shape };
        const { input, target, options } = makeCase(spec, 101 + vi);
        const plan = planTorch(spec.fn, input, target, options);
        const ref = privateEngine.computeBlocks({ plan, input, target, weight: options.weight, wantValues: true, blockItems: 8 });
        // allocated by one instance, read in place by another; and staged from the caller's arrays
        const xr = resident(engines[compared % 3]!, input);
        const tr = resident(engines[(compared + 1) % 3]!, target);
        for (const [i, e] of engines.entries()) {
          const [x, t] = [[input, target], [xr, tr], [xr, target], [input, tr]][(i + compared) % 4]!;
          sameBlocks(e.computeBlocks({ plan, input: x!, target: t!, weight: options.weight, wantValues: true, blockItems: 8 }), ref);
        }
        engines[0]!.free(tr);
        engines[1]!.free(xr);
        compared++;
      }
    }
    expect(compared).toBe(shapes.length * variants.length);
  });

  it('reads a pixel range in place with its image\'s class stride, as the gathered range', () => {
    const views = new MemoryViews(createSharedMemory());
    const heap = new SharedHeap(views);
    const e = createSharedEngine(module, views, heap);
    const worker = createSharedEngine(module, views);
    for (const v of [{}, { prob: true, eps: 0.2 }, { weighted: true, ignoreIndex: 1 }, { dtype: 'float64' as const }]) {
      const shape = [3, 5, 700];
      const { input, target, options } = makeCase({ ...base, ...v, shape }, 31);
      const isProb = !!(v as { prob?: boolean }).prob;
      const xr = resident(e, input), tr = resident(e, target);
      const [C, S] = [5, 700];
      for (const [image, start, len] of [[0, 0, 256], [1, 256, 300], [2, 512, 188]] as const) {
        // the gathered [1, C, len] range, as a plain array
        const gather = (t: Tensor): Tensor => {
          const out = new (t.data.constructor as new (n: number) => Float32Array)(C * len);
          for (let c = 0; c < C; c++) out.set((t.data as Float32Array).subarray((image * C + c) * S + start, (image * C + c) * S + start + len), c * len);
          return { dtype: t.dtype, shape: [1, C, len], data: out };
        };
        const first = image * C * S + start, end = first + (C - 1) * S + len;
        const view = (t: Tensor): Tensor => ({ dtype: t.dtype, shape: [1, C, len], data: t.data.subarray(first, end) as Float32Array });
        const tIdx = (t: Tensor): Tensor => ({ dtype: t.dtype, shape: [1, len], data: t.data.subarray(image * S + start, image * S + start + len) as Float32Array });
        const gx = gather(input);
        const gt = isProb ? gather(target) : tIdx(target);
        const plan = planTorch('cross_entropy', gx, gt, options);
        const ref = privateEngine.computeBlocks({ plan, input: gx, target: gt, weight: options.weight, wantValues: true, blockItems: 64 });
        const strided = { plan, weight: options.weight, wantValues: true, blockItems: 64, classStride: S };
        // in place (both resident), staged from the caller's arrays, and mixed
        sameBlocks(e.computeBlocks({ ...strided, input: view(xr), target: isProb ? view(tr) : tIdx(tr) }), ref);
        sameBlocks(e.computeBlocks({ ...strided, input: view(input), target: isProb ? view(target) : tIdx(target) }), ref);
        sameBlocks(e.computeBlocks({ ...strided, input: view(xr), target: isProb ? view(target) : tIdx(target) }), ref);
        // a worker's engine: addresses, and the workspace it is given
        const es = input.data.BYTES_PER_ELEMENT, ts = target.data.BYTES_PER_ELEMENT;
        const bytes = workspaceBytes({
          plan, targetDtype: target.dtype, weight: !!options.weight, wantValues: true, blockItems: 64, classStride: S,
          inputInPlace: true, targetInPlace: true,
        });
        const ws = { ptr: heap.alloc(bytes), bytes };
        const at = (t: Tensor) => views.addressOf(t.data, 0, 0)!;
        const wx = worker.tensorAt(at(xr) + first * es, [1, C, len], input.dtype, end - first);
        const wt = isProb ? worker.tensorAt(at(tr) + first * ts, [1, C, len], target.dtype, end - first)
          : worker.tensorAt(at(tr) + (image * S + start) * ts, [1, len], target.dtype);
        sameBlocks(worker.computeBlocks({ ...strided, input: wx, target: wt, workspace: ws }), ref);
        expect(() => worker.computeBlocks({ ...strided, input: wx, target: wt, workspace: { ptr: ws.ptr, bytes: bytes - 64 } })).toThrow(/internal/);
        expect(() => worker.computeBlocks({ ...strided, input: wx, target: wt })).toThrow(/internal: a pool worker/);
        heap.release(ws.ptr);
      }
    }
    expect(() => createSharedEngine(module, views).allocInput([4, 4])).toThrow(/does not allocate/);
  });

  it('refuses a build with its own memory, and a plain engine refuses a shared build', async () => {
    const own = await compileEngine(engineBytes({ file: 'ce-simd.wasm' }).bytes);
    expect(() => createSharedEngine(own, new MemoryViews(createSharedMemory()))).toThrow(/shared-memory build/);
    expect(() => createEngineSync(module)).toThrow(/runs in a worker pool/);
    await expect(loadEngine({ file: 'ce-simd-shared.wasm' })).rejects.toThrow(/runs in a worker pool/);
  });
});

describe('SharedHeap', () => {
  it('hands out 64-byte-aligned ranges, reuses freed ones, merges neighbours and grows the memory', () => {
    const views = new MemoryViews(createSharedMemory());
    const heap = new SharedHeap(views);
    const a = heap.alloc(10), b = heap.alloc(100), c = heap.alloc(1000);
    expect([a, b, c]).toEqual([HEAP_START, HEAP_START + 64, HEAP_START + 192]);
    heap.release(b);
    expect(heap.alloc(64)).toBe(b);               // first fit in the hole
    heap.release(a);
    heap.release(b);                              // a and b merge: 192 bytes
    expect(heap.alloc(150)).toBe(a);
    heap.release(a);
    heap.release(c);                              // the top range: the heap shrinks back to its start
    expect(heap.extent).toBe(HEAP_START);
    heap.release(12345);                          // unknown pointers are ignored
    const before = views.buffer.byteLength;
    const big = heap.alloc(3 * before);
    expect(views.buffer.byteLength).toBeGreaterThanOrEqual(big + 3 * before);
    // a view made before the growth still reads and writes the same memory
    const t = heap.tensor([4], 'float32', 64, false);
    (t.data as Float32Array).set([1, 2, 3, 4]);
    heap.alloc(4 * views.buffer.byteLength);
    expect([...new Float32Array(views.buffer, t.data.byteOffset, 4)]).toEqual([1, 2, 3, 4]);
    expect(views.addressOf(t.data, 16, 64)).toBe(t.data.byteOffset);
    expect(views.addressOf(new Float32Array(new SharedArrayBuffer(16)), 16, 0)).toBeUndefined();
    expect(heap.releaseTensor(t)).toBe(true);
    expect(heap.releaseTensor(t)).toBe(false);
  });

  it('hands out tensors as zeros, as a new typed array: a reused range is cleared, a fresh one left alone', () => {
    const views = new MemoryViews(createSharedMemory());
    const heap = new SharedHeap(views);
    const a = heap.tensor([1000], 'float32', 64, false);
    (a.data as Float32Array).fill(7);
    const work = heap.alloc(1 << 16);             // a workspace the kernels write
    new Uint8Array(views.buffer, work, 1 << 16).fill(0xff);
    heap.releaseTensor(a);
    heap.release(work);
    for (const [shape, dtype] of [[[600], 'float32'], [[300], 'int64'], [[5000], 'float32']] as const) {
      const t = heap.tensor(shape, dtype, 64, false);
      expect(t.data.byteOffset).toBeLessThan(HEAP_START + (1 << 16));   // over the dirty ranges
      expect(new Uint8Array(views.buffer, t.data.byteOffset, t.data.byteLength).every(v => v === 0)).toBe(true);
      new Uint8Array(views.buffer, t.data.byteOffset, t.data.byteLength).fill(0xaa);
      heap.releaseTensor(t);
    }
  });

  it('never hands out overlapping ranges, and shrinks back when everything is released (random sequences)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300_000 }), fc.nat()), { maxLength: 60 }), ops => {
      const heap = new SharedHeap(new MemoryViews(createSharedMemory()));
      const live: [number, number][] = [];
      for (const [alloc, bytes, pick] of ops) {
        if (alloc || live.length === 0) {
          const ptr = heap.alloc(bytes);
          expect(ptr % 64).toBe(0);
          expect(ptr).toBeGreaterThanOrEqual(HEAP_START);
          for (const [p, b] of live) expect(ptr + bytes <= p || p + b <= ptr).toBe(true);
          live.push([ptr, bytes]);
        } else {
          const [ptr] = live.splice(pick % live.length, 1)[0]!;
          heap.release(ptr);
        }
        for (const [p, b] of live) expect(p + b).toBeLessThanOrEqual(heap.extent);
      }
      for (const [p] of live) heap.release(p);
      expect(heap.extent).toBe(HEAP_START);
    }), { numRuns: 200, seed: 20261128 });
  });

  it('gives a collected tensor\'s range back (the FinalizationRegistry behind allocShared), and not a live one\'s', async () => {
    // V8's gc, exposed at run time (as `node --expose-gc` would)
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = new SharedHeap(new MemoryViews(createSharedMemory()));
    const kept = heap.tensor([1000], 'float32', 64, true);
    const fill = () => { (heap.tensor([250_000], 'float32', 64, true).data as Float32Array).fill(1); }; // dropped at once
    fill();
    const top = heap.extent;
    expect(top).toBeGreaterThan(HEAP_START + 1_000_000);
    // finalizers run after a collection, on a later task: collect and wait until the range is back
    for (let i = 0; i < 50 && heap.extent === top; i++) {
      gc();
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    expect(heap.extent).toBe(kept.data.byteOffset + 4096); // the kept tensor (4000 + 64 bytes, 64-aligned) is the top again
    expect(heap.releaseTensor(kept)).toBe(true);
    expect(heap.extent).toBe(HEAP_START);
  });

  it('a refused growth is a clear EngineInputError', () => {
    const heap = new SharedHeap(new MemoryViews(createSharedMemory()));
    expect(() => heap.alloc(2 ** 33)).toThrow(/MiB of shared engine memory, more than this runtime allows/);
  });
});

export type { LossOptions };
