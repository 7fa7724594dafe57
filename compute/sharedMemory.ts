// One shared WebAssembly.Memory for a pool's engines: creating it, recognising this thread's views of
// it, and the calling thread's allocator over it (inputs, copies for the workers, every thread's
// workspace). Runtime-neutral (no Node, no DOM).
//
// Layout: [0, HEAP_START) belongs to the wasm module (its constant tables, written again, with the
// same bytes, by every instance at instantiation; compute/engine.ts checks `__heap_base` fits);
// everything from HEAP_START on is handed out by one SharedHeap, which lives on the thread that
// made the memory. Other threads never allocate: they compute in regions the heap gave them, so no
// lock is needed and a worker terminated mid-run cannot leave the allocator inconsistent.

import { DTYPE_SIZE, viewElements } from './dtypes';
import { EngineInputError, type Tensor, type TensorDtype, type TypedArray } from './types';

/** The part of a `WebAssembly.Memory` the engine and the pool use. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

interface MemoryConstructor {
  new (descriptor: { initial: number; maximum: number; shared: boolean }): WasmMemory;
}

export const PAGE = 65536;
/** Where the heap starts: the first page is the module's (its data segments end near 7 KB). */
export const HEAP_START = PAGE;
/**
 * The most pages a shared memory may have (4 GiB, all a 32-bit memory addresses; the shared builds
 * declare it). A shared memory cannot move, so V8 reserves its maximum up front as address space;
 * where that fails (32-bit browsers) smaller maxima are tried.
 */
const MAXIMA = [65536, 16384, 4096];

/** Allocations are 64-byte aligned (a cache line, and every SIMD load's alignment). */
export const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** A shared memory of at least `bytes` (past the module's page); throws EngineInputError when the runtime refuses. */
export function createSharedMemory(bytes = 0): WasmMemory {
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: MemoryConstructor } }).WebAssembly.Memory;
  const initial = Math.ceil((HEAP_START + bytes) / PAGE);
  let last: unknown;
  for (const maximum of MAXIMA) {
    try {
      return new Memory({ initial, maximum, shared: true });
    } catch (err) {
      last = err;
    }
  }
  throw new EngineInputError(`this runtime cannot create a shared WebAssembly memory (${String(last)})`);
}

/**
 * One thread's access to a shared memory. After the memory grows (on any thread), `memory.buffer`
 * on this thread is a new SharedArrayBuffer covering the new size, while views made earlier stay
 * valid over the old size (a shared buffer is never detached). A view of the memory cannot be told
 * from a view of another SharedArrayBuffer by looking at it, so every buffer object this thread
 * gets from the memory is remembered here, and views made through `view` are recognised later.
 */
export class MemoryViews {
  private readonly seen = new WeakSet<ArrayBufferLike>();
  private last?: ArrayBufferLike;

  constructor(readonly memory: WasmMemory) {}

  /** The memory's current buffer on this thread. */
  get buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.last) {
      this.seen.add(b);
      this.last = b;
    }
    return b;
  }

  /** `count` elements of `dtype` at byte `ptr`. */
  view(ptr: number, dtype: TensorDtype, count: number): TypedArray {
    return viewElements(this.buffer, ptr, dtype, count);
  }

  /**
   * The byte address of `a` in the memory when it views it and `bytes` from its start (plus
   * `slack`, which the kernels may read past a buffer) lie inside the memory; undefined otherwise.
   */
  addressOf(a: TypedArray, bytes: number, slack: number): number | undefined {
    if (!this.seen.has(a.buffer)) return undefined;
    return a.byteOffset + bytes + slack <= this.buffer.byteLength ? a.byteOffset : undefined;
  }
}

/**
 * Zeros the part of [ptr, ptr + bytes) below `used`, the end of everything ever handed out or
 * written there: an allocation then reads as zeros, like a new typed array, while memory past the
 * mark (as it grew: zero already) is left untouched, so a large fresh range costs no page faults.
 */
export function clearReused(buffer: ArrayBufferLike, ptr: number, bytes: number, used: number): void {
  const dirty = Math.min(ptr + bytes, used) - ptr;
  if (dirty > 0) new Uint8Array(buffer, ptr, dirty).fill(0);
}

/**
 * The allocator over a shared memory, on the thread that created it: first fit over a sorted free
 * list, coalescing on free, the memory grown when nothing fits. Wasm memory never shrinks, so the
 * memory stays at its high-water mark and freed ranges are reused.
 */
export class SharedHeap {
  private top = HEAP_START;
  /** The end of every range ever handed out: past it the memory is as it grew, all zeros. */
  private highWater = HEAP_START;
  /** Free ranges [start, end), sorted, never adjacent (merged on free). */
  private readonly free: [number, number][] = [];
  private readonly sizes = new Map<number, number>();
  /** allocShared tensors: freed when their `data` view is collected, unless freed by hand first. */
  private readonly registry = new FinalizationRegistry<number>(ptr => this.release(ptr));

  constructor(readonly views: MemoryViews) {}

  /** Bytes from the heap's start to its top (what the memory must hold). */
  get extent(): number {
    return this.top;
  }

  /** A 64-byte-aligned range of at least `bytes`; grows the memory when needed. */
  alloc(bytes: number): number {
    const size = align64(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const [start, end] = this.free[i]!;
      if (end - start < size) continue;
      if (end - start === size) this.free.splice(i, 1);
      else this.free[i] = [start + size, end];
      this.sizes.set(start, size);
      return start;
    }
    const ptr = this.top;
    this.ensure(ptr + size);
    this.top = ptr + size;
    this.highWater = Math.max(this.highWater, this.top);
    this.sizes.set(ptr, size);
    return ptr;
  }

  /** Gives back a range from `alloc` (unknown or already freed pointers are ignored). */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    let start = ptr, end = ptr + size;
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < start) i++;
    // merge with the range before and the one after
    if (i > 0 && this.free[i - 1]![1] === start) start = this.free[--i]![0], this.free.splice(i, 1);
    if (i < this.free.length && this.free[i]![0] === end) end = this.free[i]![1], this.free.splice(i, 1);
    if (end === this.top) this.top = start;
    else this.free.splice(i, 0, [start, end]);
  }

  /**
   * A tensor in the memory with the kernels' over-read slack after it (`slack` bytes), all zeros as
   * a new typed array is (a reused range is cleared; one past the high-water mark already is). Its
   * `data` is a plain view (a shared memory's views survive growth). With `collect`, the range is
   * released when the view is garbage-collected (allocShared); `releaseTensor` releases it earlier.
   */
  tensor(shape: readonly number[], dtype: TensorDtype, slack: number, collect: boolean): Tensor {
    if (shape.some(d => !Number.isSafeInteger(d) || d < 0)) throw new EngineInputError(`invalid shape ${JSON.stringify(shape)}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const used = this.highWater;
    const ptr = this.alloc(n * DTYPE_SIZE[dtype] + slack);
    clearReused(this.views.buffer, ptr, n * DTYPE_SIZE[dtype], used);
    const data = this.views.view(ptr, dtype, n);
    if (collect) this.registry.register(data, ptr, data);
    return { dtype, shape: [...shape], data };
  }

  /** Releases a tensor from `tensor` (by its view's address); false when it is not one of ours. */
  releaseTensor(t: Tensor): boolean {
    const ptr = this.views.addressOf(t.data, 0, 0);
    if (ptr === undefined || !this.sizes.has(ptr)) return false;
    this.registry.unregister(t.data);
    this.release(ptr);
    return true;
  }

  private ensure(end: number): void {
    const have = this.views.buffer.byteLength;
    if (end <= have) return;
    try {
      this.views.memory.grow(Math.ceil((end - have) / PAGE));
    } catch {
      throw new EngineInputError(`the inputs need ${Math.ceil(end / 2 ** 20)} MiB of shared engine memory, more than this runtime allows`);
    }
  }
}
