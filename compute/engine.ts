// The cross-entropy engine's public API: instantiate a build of the wasm kernels, evaluate PyTorch's
// cross_entropy / nll_loss and TF.js's softmaxCrossEntropy on typed-array tensors, with PyTorch's
// exact errors. Runtime-neutral (no Node, no DOM): hosts hand over the wasm bytes or module.

import { DTYPE_SIZE, viewElements } from './dtypes';
import { blockItems, blocksOf, blockCount, finishTfjs, fusedKernels, longRows, torchResult, T4_MAX_C, type Block } from './finish';
import { planTfjs, planTorch, type LossPlan } from './semantics';
import { HEAP_START, clearReused, type MemoryViews, type SharedHeap, type WasmMemory } from './sharedMemory';
import {
  EngineInputError,
  type EngineKind, type LossOptions, type LossResult, type Tensor, type TensorDtype, type TfjsLossOptions, type TypedArray,
} from './types';

export type EngineFileName = 'ce-relaxed.wasm' | 'ce-simd.wasm' | 'ce-scalar.wasm';
/** The SIMD builds on an imported shared memory, for the worker pool (scripts/buildWasm.mjs). */
export type SharedEngineFileName = 'ce-relaxed-shared.wasm' | 'ce-simd-shared.wasm';

/** A compiled `WebAssembly.Module` (typed opaquely so this file needs neither DOM nor Node typings). */
export type WasmModule = object;
/** Wasm bytes: an ArrayBuffer or a view of one. */
export type WasmBytes = ArrayBuffer | ArrayBufferView;

/** The wasm to instantiate: its bytes or an already compiled module (a webview worker gets either). */
export interface EngineSource {
  readonly bytes?: WasmBytes;
  readonly module?: WasmModule;
}

/** The part of the `WebAssembly` global the engine uses; every runtime we target has it. */
interface WasmGlobal {
  readonly Module: (abstract new (...args: never[]) => object) & { imports(module: WasmModule): { kind: string }[] };
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
  validate(bytes: WasmBytes): boolean;
  compile(bytes: WasmBytes): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ readonly exports: object }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

/** The engine's kernels, as the wasm module exports them (compute/assembly/index.ts). */
interface Kernels {
  readonly memory: WasmMemory;
  heapBase(): number;
  simdLevel(): number;
  weightSum(): number;
  count(): number;
  convertTargetsI64(src: number, dst: number, n: number, C: number, ignore: bigint): number;
  convertTargetsI32(src: number, dst: number, n: number, C: number, ignore: bigint): number;
  convertTargetsU8(src: number, dst: number, n: number, C: number, ignore: bigint): number;
  rowsT4(xp: number, tp: number, wp: number, n: number, C: number, outp: number, mp: number, lsp: number, scratch: number): number;
  rowsLong(xp: number, tp: number, wp: number, n: number, C: number, outp: number, mp: number, lsp: number, ring: number, slot: number, flags: number): number;
  spatial(xp: number, S: number, tp: number, wp: number, n: number, C: number, outp: number, mp: number, lsp: number, scratch: number): number;
  statsF32(xp: number, itemStride: number, classStride: number, C: number, n: number, mp: number, lsp: number): void;
  statsF64(xp: number, itemStride: number, classStride: number, C: number, n: number, mp: number, lsp: number): void;
  indexLossF32(xp: number, is: number, cs: number, C: number, n: number, tp: number, wp: number, mp: number, lsp: number, eps: number, outp: number): number;
  indexLossF64(xp: number, is: number, cs: number, C: number, n: number, tp: number, wp: number, mp: number, lsp: number, eps: number, outp: number): number;
  probLossF32(xp: number, is: number, cs: number, C: number, n: number, yp: number, wp: number, mp: number, lsp: number, eps: number, numClasses: number, outp: number): number;
  probLossF64(xp: number, is: number, cs: number, C: number, n: number, yp: number, wp: number, mp: number, lsp: number, eps: number, numClasses: number, outp: number): number;
  logProbF32(xp: number, is: number, cs: number, C: number, n: number, mp: number, lsp: number, outp: number): void;
  logProbF64(xp: number, is: number, cs: number, C: number, n: number, mp: number, lsp: number, outp: number): void;
}

/** What a block computation returns: the partials, per-item values, log_prob, or the first bad target. */
export interface BlockResults {
  /** [loss, weight, count] per block, in block order. */
  readonly partials: Float64Array;
  readonly values?: Float32Array | Float64Array;
  readonly logProb?: Float32Array | Float64Array;
  /** The first out-of-range target in memory order (PyTorch's E16), when there is one. */
  readonly badTarget?: { readonly index: number; readonly value: string };
}

export interface ComputeRequest {
  readonly plan: LossPlan;
  /** logits (or log-probabilities for nll_loss) */
  readonly input: Tensor;
  /** index targets, or probability targets / TF.js labels */
  readonly target: Tensor;
  /** per-class weights (torch) */
  readonly weight?: Tensor;
  /** Items per block: pass the full problem's value when computing a shard of it. */
  readonly blockItems?: number;
  /** Keep per-item losses (reduction 'none', TF.js weights). */
  readonly wantValues?: boolean;
  /** Called between blocks (items done, total) when the evaluation is large enough to show progress. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Spatial layout: the input's (and probability targets') class planes lie this many elements
   * apart instead of `plan.S`: the plan is a pixel range of a larger image, and the tensors are
   * views starting at the range's first pixel. Not with `returnLogProb`.
   */
  readonly classStride?: number;
  /**
   * Where the blocks' workspace goes, for an engine on a shared memory that does not allocate (a
   * pool worker): a range of at least `workspaceBytes(...)` bytes of that memory.
   */
  readonly workspace?: { readonly ptr: number; readonly bytes: number };
}

/** What the workspace of a block computation depends on (see workspaceBytes). */
export interface WorkspaceQuery {
  readonly plan: LossPlan;
  readonly targetDtype: TensorDtype;
  readonly weight: boolean;
  readonly wantValues: boolean;
  readonly blockItems?: number;
  /** The input / the target can be read where they lie (in the engine's memory, in the plan's dtype). */
  readonly inputInPlace: boolean;
  readonly targetInPlace: boolean;
  readonly classStride?: number;
}

/** Per-call hooks of the synchronous engine. */
export interface EvalHooks {
  /**
   * Called between blocks with (items done, total), at most ~100 times, for inputs of 1M+ logits.
   * A Web Worker can post these while the evaluation runs; cancel by terminating the worker.
   */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface Engine {
  readonly kind: EngineKind;
  /** `F.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)`; throws TorchError. */
  crossEntropy(input: Tensor, target: Tensor, options?: LossOptions, hooks?: EvalHooks): LossResult;
  /** `F.nll_loss(input, target, weight, ignore_index, reduction)` on log-probabilities; throws TorchError. */
  nllLoss(input: Tensor, target: Tensor, options?: LossOptions, hooks?: EvalHooks): LossResult;
  /** TF.js `tf.losses.softmaxCrossEntropy(onehotLabels, logits, weights, labelSmoothing, reduction)`; throws TfjsError. */
  softmaxCrossEntropyTfjs(onehotLabels: Tensor, logits: Tensor, options?: TfjsLossOptions, hooks?: EvalHooks): LossResult;
  /**
   * A float32 tensor living in the engine's memory, all zeros, for zero-copy input: fill `data`, then
   * pass the tensor (or its `data`) as the input. `data` is re-created if the memory grew, so read it
   * again after another allocation or evaluation rather than keeping an old view.
   */
  allocInput(shape: readonly number[]): Tensor;
  /** As allocInput, any dtype (targets, weights). */
  allocTensor(shape: readonly number[], dtype: TensorDtype): Tensor;
  /** Releases an allocInput/allocTensor tensor. */
  free(tensor: Tensor): void;
  /** Block-level computation for worker pools: partial sums in the fixed block order. */
  computeBlocks(request: ComputeRequest): BlockResults;
}

/** An engine instantiated against a pool's shared memory (createSharedEngine). */
export interface SharedEngine extends Engine {
  /**
   * A tensor at byte `ptr` of the shared memory (put there by another thread), viewed from this
   * thread, which the kernels read in place. `length` elements (default: the shape's).
   */
  tensorAt(ptr: number, shape: readonly number[], dtype: TensorDtype, length?: number): Tensor;
}

// ---------------------------------------------------------------------------------------------
// Build selection

/** A module with one `v128.const` function: validates where SIMD is available. */
const SIMD_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 5, 1, 0x60, 0, 1, 0x7b,
  3, 2, 1, 0,
  0x0a, 0x16, 1, 0x14, 0, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b,
]);

/** A module with one `f32x4.relaxed_madd` of three constants: validates where relaxed SIMD is. */
const RELAXED_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 5, 1, 0x60, 0, 1, 0x7b,
  3, 2, 1, 0,
  0x0a, 0x3d, 1, 0x3b, 0,
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd 0x105)
  0x0b,
]);

/**
 * A module exporting `f` = lane 0 of f32x4.relaxed_madd(a, a, c), a = 1 + 2^−12, c = −(1 + 2^−11):
 * 2^−24 where the runtime fuses it (one rounding), 0 where it multiplies, rounds and adds (a·a is
 * 1 + 2^−11 + 2^−24, which rounds to 1 + 2^−11: a tie, to even).
 */
export const FMA_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 5, 1, 0x60, 0, 1, 0x7d, // type () → f32
  3, 2, 1, 0,
  7, 5, 1, 1, 0x66, 0, 0, // export "f"
  0x0a, 0x40, 1, 0x3e, 0,
  0xfd, 0x0c, ...[0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f],
  0xfd, 0x0c, ...[0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f, 0, 8, 0x80, 0x3f],
  0xfd, 0x0c, ...[0, 0x10, 0x80, 0xbf, 0, 0x10, 0x80, 0xbf, 0, 0x10, 0x80, 0xbf, 0, 0x10, 0x80, 0xbf],
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0xfd, 0x1f, 0, // f32x4.extract_lane 0
  0x0b,
]);

/**
 * Whether this runtime's f32x4.relaxed_madd is fused. The relaxed build's exps rely on one rounding
 * (vexp's one-word ln2, vexpRow's subtraction inside the step); relaxed SIMD also runs where the
 * CPU has no FMA (x64 before Haswell / Piledriver), multiplying and adding, and gets the SIMD build.
 */
export function relaxedMaddFuses(): boolean {
  try {
    const module = new (wasm.Module as unknown as new (bytes: WasmBytes) => WasmModule)(FMA_PROBE);
    return (new wasm.Instance(module, {}).exports as { f(): number }).f() === 2 ** -24;
  } catch {
    return false;
  }
}

/**
 * The build this runtime can run, best first: relaxed SIMD where its multiply-add fuses, SIMD,
 * scalar. `validate` is `WebAssembly.validate` and `fuses` the FMA probe (parameters so that a host
 * can force a build in tests).
 */
export function selectEngineFile(validate: (bytes: Uint8Array) => boolean = b => wasm.validate(b),
                                 fuses: () => boolean = relaxedMaddFuses): EngineFileName {
  if (validate(RELAXED_PROBE) && fuses()) return 'ce-relaxed.wasm';
  if (validate(SIMD_PROBE)) return 'ce-simd.wasm';
  return 'ce-scalar.wasm';
}

/** A module importing one shared memory (`env.memory`, 1 to 1 pages): validates where wasm threads are. */
const THREADS_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  2, 0x10, 1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 3, 1, 1,
]);

/**
 * The shared-memory build this runtime can run for a worker pool, or undefined where a pool cannot
 * share one memory (no SharedArrayBuffer, no wasm threads, no SIMD): such a pool copies shards to
 * workers with their own memories instead.
 */
export function selectSharedEngineFile(validate: (bytes: Uint8Array) => boolean = b => wasm.validate(b),
                                       fuses: () => boolean = relaxedMaddFuses): SharedEngineFileName | undefined {
  if (typeof SharedArrayBuffer !== 'function' || !validate(THREADS_PROBE)) return undefined;
  return sharedVariant(selectEngineFile(validate, fuses));
}

/** The shared-memory build of a build (the same kernels), if there is one. */
export function sharedVariant(file: EngineFileName | SharedEngineFileName): SharedEngineFileName | undefined {
  if (file === 'ce-relaxed.wasm' || file === 'ce-relaxed-shared.wasm') return 'ce-relaxed-shared.wasm';
  if (file === 'ce-simd.wasm' || file === 'ce-simd-shared.wasm') return 'ce-simd-shared.wasm';
  return undefined;
}

/** Whether a compiled module is a shared-memory build (it imports its memory). */
export function importsMemory(module: WasmModule): boolean {
  return wasm.Module.imports(module).some(i => i.kind === 'memory');
}

/** Instantiates the engine from wasm bytes or a compiled module. */
export async function createEngine(src: EngineSource | WasmBytes | WasmModule): Promise<Engine> {
  let module: WasmModule;
  if (src instanceof wasm.Module) module = src;
  else if (ArrayBuffer.isView(src) || src instanceof ArrayBuffer) module = await wasm.compile(src);
  else if ((src as EngineSource).module) module = (src as EngineSource).module!;
  else if ((src as EngineSource).bytes) module = await wasm.compile((src as EngineSource).bytes!);
  else throw new EngineInputError('createEngine needs the wasm bytes or a compiled module');
  refuseShared(module);
  const instance = await wasm.instantiate(module, { env: { abort: wasmAbort } });
  return new WasmEngine(instance.exports as unknown as Kernels);
}

/** Synchronous instantiation from a compiled module (workers that already hold one). */
export function createEngineSync(module: WasmModule): Engine {
  refuseShared(module);
  const instance = new wasm.Instance(module, { env: { abort: wasmAbort } });
  return new WasmEngine(instance.exports as unknown as Kernels);
}

/**
 * Instantiates a shared-memory build against a pool's memory (synchronously: the module is
 * compiled). With `heap` (the thread that owns the memory) the engine allocates; without (a pool
 * worker) it computes in the workspace each request names and cannot allocate tensors.
 */
export function createSharedEngine(module: WasmModule, views: MemoryViews, heap?: SharedHeap): SharedEngine {
  if (!importsMemory(module)) throw new EngineInputError('a shared-memory engine needs a shared-memory build (ce-*-shared.wasm)');
  const instance = new wasm.Instance(module, { env: { abort: wasmAbort, memory: views.memory } });
  return new WasmEngine(instance.exports as unknown as Kernels, { views, heap });
}

/** A shared-memory build has no memory of its own: it runs only on a pool's memory. */
function refuseShared(module: WasmModule): void {
  if (importsMemory(module)) throw new EngineInputError('a shared-memory build (ce-*-shared.wasm) runs in a worker pool, on its shared memory');
}

/** Compiles wasm bytes (hosts compile once and hand the module to each worker). */
export function compileEngine(bytes: WasmBytes): Promise<WasmModule> {
  return wasm.compile(bytes);
}

function wasmAbort(): never {
  throw new Error('internal: the cross-entropy kernel aborted');
}

// ---------------------------------------------------------------------------------------------
// The engine

const PAGE = 65536;
/** Bytes the SIMD kernels may read past a logits (or probability-target) buffer: 3 rows + one vector. */
const readSlack = (C: number) => 3 * 4 * C + 64;
/** rowsLong's flags (compute/assembly/index.ts): the call continues the previous call's rows. */
const LONG_CONTINUE = 1;
/** rowsLong's flags: the row after the call's last is readable (its max and min carry over). */
const LONG_NEXT = 2;
const align = (n: number) => Math.ceil(n / 64) * 64;
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
/** Bytes the SIMD kernels may read past a logits buffer: 3 rows (t4 groups) + one vector. */
const slackFor = (shape: readonly number[]) => 3 * 4 * (shape.length >= 2 ? shape[1]! : shape[0] ?? 0) + 64;

interface Allocation { ptr: number; bytes: number; freed: boolean }

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** An engine on a shared memory: this thread's views of it, and the allocator when this thread owns it. */
interface SharedSpace {
  readonly views: MemoryViews;
  readonly heap?: SharedHeap;
}

class WasmEngine implements SharedEngine {
  readonly kind: EngineKind;
  private readonly k: Kernels;
  private readonly simd: boolean;
  private readonly base: number;
  private readonly allocs: Allocation[] = [];
  /** The end of all memory ever allocated or used as workspace: past it the memory is still zero. */
  private used = 0;
  /** tensor objects and their data views → allocation, so a view detached by growth still resolves */
  private readonly owned = new WeakMap<object, Allocation>();
  /** Set for an engine on a pool's shared memory: allocations come from the pool's heap, not `allocs`. */
  private readonly space?: SharedSpace;
  /** The shared engine's workspace from the heap, reused while large enough. */
  private work?: { ptr: number; bytes: number };

  constructor(kernels: Kernels, space?: SharedSpace) {
    this.k = kernels;
    const level = kernels.simdLevel();
    this.kind = level === 2 ? 'wasm-relaxed-simd' : level === 1 ? 'wasm-simd' : 'wasm-scalar';
    this.simd = level > 0;
    this.base = align(kernels.heapBase());
    this.space = space;
    // Every instance rewrites the module's data below __heap_base: the heap must start above it.
    if (space && this.base > HEAP_START) throw new Error(`internal: the engine's static data (${this.base} bytes) overlaps the shared heap`);
  }

  /** The memory's current buffer on this thread. */
  private buffer(): ArrayBufferLike {
    return this.space ? this.space.views.buffer : this.k.memory.buffer;
  }

  crossEntropy(input: Tensor, target: Tensor, options: LossOptions = {}, hooks: EvalHooks = {}): LossResult {
    return this.runTorch(planTorch('cross_entropy', input, target, options), input, target, options.weight, hooks);
  }

  nllLoss(input: Tensor, target: Tensor, options: LossOptions = {}, hooks: EvalHooks = {}): LossResult {
    return this.runTorch(planTorch('nll_loss', input, target, options), input, target, options.weight, hooks);
  }

  softmaxCrossEntropyTfjs(onehotLabels: Tensor, logits: Tensor, options: TfjsLossOptions = {}, hooks: EvalHooks = {}): LossResult {
    const plan = planTfjs(onehotLabels, logits, options);
    const t0 = now();
    const wantValues = plan.tfjsReduction === 'NONE' || !!options.weights;
    const r = this.computeBlocks({ plan, input: logits, target: onehotLabels, wantValues, onProgress: hooks.onProgress });
    const fin = finishTfjs(plan, r.partials, r.values as Float32Array | undefined, options.weights);
    return {
      loss: fin.loss, shape: fin.shape, values: fin.values, elapsedMs: now() - t0, engine: this.kind, dtype: 'float32',
    };
  }

  private runTorch(plan: LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, hooks: EvalHooks): LossResult {
    const t0 = now();
    const r = this.computeBlocks({ plan, input, target, weight, wantValues: plan.reduction === 'none', onProgress: hooks.onProgress });
    return torchResult(plan, r, now() - t0, this.kind);
  }

  // ---- memory

  allocInput(shape: readonly number[]): Tensor {
    return this.allocTensor(shape, 'float32');
  }

  allocTensor(shape: readonly number[], dtype: TensorDtype): Tensor {
    if (this.space) {
      if (!this.space.heap) throw new Error('internal: a pool worker\'s engine does not allocate');
      return this.space.heap.tensor(shape, dtype, slackFor(shape), false);
    }
    if (shape.some(d => !Number.isSafeInteger(d) || d < 0)) throw new EngineInputError(`invalid shape ${JSON.stringify(shape)}`);
    const n = numel(shape);
    const top = this.allocs.length ? this.allocs[this.allocs.length - 1]!.ptr + this.allocs[this.allocs.length - 1]!.bytes : this.base;
    const a: Allocation = { ptr: align(top), bytes: align(n * DTYPE_SIZE[dtype] + slackFor(shape)), freed: false };
    this.ensure(a.ptr + a.bytes);
    clearReused(this.k.memory.buffer, a.ptr, n * DTYPE_SIZE[dtype], this.used);
    this.used = Math.max(this.used, a.ptr + a.bytes);
    this.allocs.push(a);
    const self = this;
    let view: TypedArray | undefined;
    const tensor: Tensor = {
      dtype,
      shape: [...shape],
      get data(): TypedArray {
        if (!view || view.byteLength === 0 && n > 0) {
          view = self.view(dtype, a.ptr, n);
          self.owned.set(view, a);
        }
        return view;
      },
    };
    this.owned.set(tensor, a);
    void tensor.data;
    return tensor;
  }

  free(tensor: Tensor): void {
    if (this.space) {
      this.space.heap?.releaseTensor(tensor);
      return;
    }
    const a = this.owned.get(tensor) ?? this.owned.get(tensor.data);
    if (!a) return;
    a.freed = true;
    while (this.allocs.length && this.allocs[this.allocs.length - 1]!.freed) this.allocs.pop();
  }

  private userTop(): number {
    const last = this.allocs[this.allocs.length - 1];
    return last ? align(last.ptr + last.bytes) : this.base;
  }

  private ensure(end: number): void {
    const mem = this.k.memory;
    if (end > mem.buffer.byteLength) {
      const pages = Math.ceil((end - mem.buffer.byteLength) / PAGE);
      try {
        mem.grow(pages);
      } catch {
        throw new EngineInputError(`the inputs need ${Math.ceil(end / 2 ** 20)} MiB of engine memory, more than this runtime allows`);
      }
    }
  }

  private view(dtype: TensorDtype, ptr: number, n: number): TypedArray {
    return this.space ? this.space.views.view(ptr, dtype, n) : viewElements(this.k.memory.buffer, ptr, dtype, n);
  }

  tensorAt(ptr: number, shape: readonly number[], dtype: TensorDtype, length = numel(shape)): Tensor {
    if (!this.space) throw new Error('internal: tensorAt is for engines on a shared memory');
    return { dtype, shape, data: this.space.views.view(ptr, dtype, length) };
  }

  /**
   * The pointer of a tensor already in engine memory (zero copy), if it is one of ours: for a
   * shared memory, any view of it with `slack` readable bytes after the `bytesNeeded`.
   */
  private ownPointer(t: Tensor, bytesNeeded: number, slack: number): number | undefined {
    if (this.space) return this.space.views.addressOf(t.data, bytesNeeded, slack);
    const a = this.owned.get(t) ?? this.owned.get(t.data);
    if (a && !a.freed && bytesNeeded <= a.bytes) {
      // a view into the middle of an allocation (a subarray) starts at its own offset
      const off = t.data.buffer === this.k.memory.buffer ? t.data.byteOffset : a.ptr;
      if (off >= a.ptr && off + bytesNeeded <= a.ptr + a.bytes) return off;
    }
    return undefined;
  }

  /**
   * Where a block computation's workspace of `bytes` goes: above the caller's allocations (a private
   * memory), the range the request names (a pool worker), or the engine's range of the pool's heap.
   */
  private workspace(bytes: number, given: ComputeRequest['workspace']): number {
    if (!this.space) return this.userTop();
    if (given) {
      if (given.bytes < bytes) throw new Error(`internal: a ${given.bytes}-byte workspace for a computation needing ${bytes}`);
      return given.ptr;
    }
    const heap = this.space.heap;
    if (!heap) throw new Error('internal: a pool worker\'s computation came without a workspace');
    if (!this.work || this.work.bytes < bytes) {
      if (this.work) heap.release(this.work.ptr);
      this.work = undefined;
      this.work = { ptr: heap.alloc(bytes), bytes };
    }
    return this.work.ptr;
  }

  // ---- computation

  computeBlocks(req: ComputeRequest): BlockResults {
    const { plan, input, target, weight } = req;
    const k = this.k;
    const f64 = plan.dtype === 'float64';
    const es = f64 ? 8 : 4;
    const { C, items } = plan;
    const elems = plan.N * C * plan.S;
    const B = req.blockItems ?? blockItems(plan);
    const nBlocks = blockCount(plan, B);
    const partials = new Float64Array(nBlocks * 3);
    const isProb = plan.kind === 'prob';
    const rows = plan.layout === 'rows';
    const S = plan.S;

    if (input.dtype === 'float16' || isProb && target.dtype === 'float16' || weight?.dtype === 'float16') {
      throw new EngineInputError('float16 tensors are not supported by the engine: convert them to float32');
    }

    // Inputs not already in engine memory are staged one block at a time into a reusable area
    // (layoutBlocks); a staged block goes through the same arithmetic as in place, so the results
    // are bit-identical to computing on a whole copy.
    const CS = rows ? S : req.classStride ?? S;
    if (CS !== S && plan.returnLogProb) throw new Error('internal: log_prob of a pixel range with a class stride');
    const xBytes = elems * es;
    // the bytes from the input's first element to its last (a pixel range spans its image's planes)
    const spanBytes = (elems === 0 ? 0 : rows ? elems : (plan.N * C - 1) * CS + S) * es;
    const xOwn = input.dtype === plan.dtype ? this.ownPointer(input, spanBytes, readSlack(C)) : undefined;
    const yOwn = isProb && target.dtype === plan.dtype ? this.ownPointer(target, spanBytes, readSlack(C)) : undefined;
    const tSize = isProb ? 0 : DTYPE_SIZE[target.dtype];
    const tOwn = isProb || items === 0 ? undefined : this.ownPointer(target, items * tSize, 16);
    const wantValues = !!req.wantValues;
    const L = layoutBlocks(plan, B, {
      inputInPlace: xOwn !== undefined, targetInPlace: isProb ? yOwn !== undefined : tOwn !== undefined,
      targetDtype: target.dtype, weight: !!weight, wantValues, classStride: CS,
    });
    const { stageX, stageY, stride } = L;
    const base = this.workspace(L.total, req.workspace);
    const xp = L.x < 0 ? xOwn! : base + L.x + (stageX && rows ? stagePhase(input, base + L.x) : 0);
    const yp = !isProb ? 0 : L.y < 0 ? yOwn! : base + L.y;
    const rawTp = base + L.rawT, tp = base + L.t;
    const wp = weight ? base + L.w : 0;
    const outp = wantValues ? base + L.out : 0;
    const lpp = plan.returnLogProb ? base + L.lp : 0;
    const mp = base + L.m, lsp = base + L.ls, scratch = base + L.scratch;
    // A zero-copy input may be the last allocation: keep its over-read slack inside the memory.
    if (!this.space) {
      this.ensure(Math.max(base + L.total, L.x < 0 ? xp + spanBytes + readSlack(C) : 0, L.y < 0 ? yp + spanBytes + readSlack(C) : 0));
      this.used = Math.max(this.used, base + L.total);
    }
    const buf = this.buffer();
    const mem = new Uint8Array(buf);

    if (weight) (f64 ? new Float64Array(buf, wp, C) : new Float32Array(buf, wp, C)).set(numbersOf(weight));
    if (L.x >= 0 && !stageX && xBytes > 0) {
      (f64 ? new Float64Array(buf, xp, elems) : new Float32Array(buf, xp, elems)).set(numbersOf(input));
    }
    if (isProb && L.y >= 0 && !stageY && xBytes > 0) {
      (f64 ? new Float64Array(buf, yp, elems) : new Float32Array(buf, yp, elems)).set(numbersOf(target));
    }
    const xStage = stageX ? stager(input, plan.dtype, mem, xp) : undefined;
    const yStage = stageY ? stager(target, plan.dtype, mem, yp) : undefined;
    const tRaw = !isProb && tOwn === undefined && items > 0 ? target.data : undefined;
    const tRaw8 = tRaw && new Uint8Array(tRaw.buffer, tRaw.byteOffset, items * tSize);
    const convert = plan.targetDtype === 'int64' ? k.convertTargetsI64
      : plan.targetDtype === 'int32' ? k.convertTargetsI32 : k.convertTargetsU8;

    // Fused SIMD kernels for the common case; otherwise row statistics then a scalar consumer.
    const fused = this.simd && C > 0 && fusedKernels(plan);
    const simdStats = this.simd && !f64 && C > 0;
    // rowsLong hands each block's first-row pass to the block before it (LONG_CONTINUE / LONG_NEXT):
    // the row after a block is read in place, or staged with the block into a ring of maxN + 1 rows
    // (row r in slot r mod ring; the layout's staging area has room for maxN + 3).
    const long = this.simd && longRows(plan);
    const ring = long && xStage ? Math.min(B, plan.N) + 1 : 0;
    let b = 0;
    // progress roughly every 1% of the blocks, only when there is enough work to watch
    const progress = req.onProgress && elems >= 1 << 20 ? req.onProgress : undefined;
    const every = Math.max(1, Math.floor(nBlocks / 100));
    let done = 0;
    for (const blk of blocksOf(plan, B)) {
      const n = blk.end - blk.start;
      // element offset of the block's first item and its item index in the caller's layout
      const elemOff = rows ? blk.start * C : blk.image * C * CS + blk.start;
      const itemOff = rows ? blk.start : blk.image * S + blk.start;
      // the block's strides and first logit where the kernel reads it (staged or in place)
      const is = rows ? C : 1;
      const cs = rows ? 1 : stageX ? stride : CS;
      let x = xp + elemOff * es;
      if (xStage) {
        x = xp;
        if (ring) {
          // the block's first row came with the block before (the first block stages its own)
          const to = Math.min(plan.N, blk.end + 1);
          for (let r = b === 0 ? blk.start : blk.start + 1; r < to;) {
            const slot = r % ring, run = Math.min(to - r, ring - slot);
            xStage.copy(r * C, run * C, slot * C);
            r += run;
          }
        } else if (rows) xStage.copy(elemOff, n * C, 0);
        else for (let c = 0; c < C; c++) xStage.copy(elemOff + c * CS, n, c * stride);
      }
      let y = yp + elemOff * es;
      if (yStage) {
        y = yp;
        if (rows) yStage.copy(elemOff, n * C, 0);
        else for (let c = 0; c < C; c++) yStage.copy(elemOff + c * CS, n, c * stride);
      }
      // Targets: converted per block (validated, ignore_index → −1); the first bad one in memory
      // order is PyTorch's IndexError, whatever block it is in.
      const t = tp;
      if (!isProb && n > 0) {
        const from = tOwn === undefined ? rawTp : tOwn + itemOff * tSize;
        if (tRaw8) mem.set(tRaw8.subarray(itemOff * tSize, (itemOff + n) * tSize), rawTp);
        const bad = convert(from, tp, n, C, plan.ignoreIndex);
        if (bad >= 0) return { partials, badTarget: { index: itemOff + bad, value: String(target.data[itemOff + bad]) } };
      }
      const out = outp ? outp + itemOff * es : 0;
      let loss: number;
      if (fused) {
        loss = rows
          ? (C <= T4_MAX_C ? k.rowsT4(x, t, wp, n, C, out, 0, 0, scratch)
            : k.rowsLong(x, t, wp, n, C, out, 0, 0, ring, ring ? blk.start % ring : 0,
              (b > 0 ? LONG_CONTINUE : 0) | (blk.end < plan.N ? LONG_NEXT : 0)))
          : k.spatial(x, cs, t, wp, n, C, out, 0, 0, scratch);
      } else if (plan.kind === 'nll') {
        loss = f64 ? k.indexLossF64(x, is, cs, C, n, t, wp, 0, 0, 0, out) : k.indexLossF32(x, is, cs, C, n, t, wp, 0, 0, 0, out);
      } else {
        this.stats(simdStats, f64, rows, x, is, cs, C, cs, n, mp, lsp, scratch);
        if (isProb) {
          loss = f64 ? k.probLossF64(x, is, cs, C, n, y, wp, mp, lsp, plan.eps, plan.epsDivisor, out)
            : k.probLossF32(x, is, cs, C, n, y, wp, mp, lsp, plan.eps, plan.epsDivisor, out);
        } else {
          loss = f64 ? k.indexLossF64(x, is, cs, C, n, t, wp, mp, lsp, plan.eps, out)
            : k.indexLossF32(x, is, cs, C, n, t, wp, mp, lsp, plan.eps, out);
        }
        if (lpp) {
          // rows: the block's log_prob goes to its place in the output, whatever x points at
          const lp = lpp + elemOff * es;
          if (f64) k.logProbF64(x, is, cs, C, n, mp, lsp, lp);
          else k.logProbF32(x, is, cs, C, n, mp, lsp, lp);
        }
      }
      partials[b * 3] = loss;
      partials[b * 3 + 1] = k.weightSum();
      partials[b * 3 + 2] = k.count();
      b++;
      done += n;
      if (progress && (b % every === 0 || b === nBlocks)) progress(done, items);
    }
    const out = this.buffer();
    // Copied as bytes: in Node 20 a float view's slice()/set() out of wasm memory took ~9 ms per
    // 2.6 MB (element by element), a byte view's set() 0.2 ms.
    const copyOut = (ptr: number, len: number) => {
      const r = f64 ? new Float64Array(len) : new Float32Array(len);
      new Uint8Array(r.buffer).set(new Uint8Array(out, ptr, len * es));
      return r;
    };
    return {
      partials,
      values: outp ? copyOut(outp, items) : undefined,
      logProb: lpp ? copyOut(lpp, elems) : undefined,
    };
  }

  private stats(simd: boolean, f64: boolean, rows: boolean, x: number, is: number, cs: number, C: number, S: number,
                n: number, mp: number, lsp: number, scratch: number): void {
    const k = this.k;
    if (!simd) {
      if (f64) k.statsF64(x, is, cs, C, n, mp, lsp);
      else k.statsF32(x, is, cs, C, n, mp, lsp);
    } else if (rows) {
      if (C <= T4_MAX_C) k.rowsT4(x, 0, 0, n, C, 0, mp, lsp, scratch);
      else k.rowsLong(x, 0, 0, n, C, 0, mp, lsp, 0, 0, 0);
    } else {
      k.spatial(x, S, 0, 0, n, C, 0, mp, lsp, scratch);
    }
  }
}

/** A block computation's workspace: what is staged, and each region's offset from its start. */
interface BlockLayout {
  readonly stageX: boolean;
  readonly stageY: boolean;
  /** elements between a staged tile's class rows (rows layout: C) */
  readonly stride: number;
  /** -1 where the tensor is read in place */
  readonly x: number;
  readonly y: number;
  readonly rawT: number;
  readonly t: number;
  readonly w: number;
  readonly out: number;
  readonly lp: number;
  readonly m: number;
  readonly ls: number;
  readonly scratch: number;
  readonly total: number;
}

/**
 * The workspace of a block computation: x | targets raw | targets i32 | weight | y | values |
 * logProb | m | ls | scratch, each region 64-byte aligned with over-read slack.
 *
 * An input not in engine memory is staged one block at a time into a reusable area (rows ≈ 512 KB,
 * rowsLong's ≈ 128 KB, so the kernel reads it from L2 right after the copy wrote it; pixels ≈ 4 MB,
 * see blockItems) rather than copied whole first: one pass over DRAM instead of three, and engine
 * memory bounded by the block size. (rowsLong's blocks use it as a ring of rows, a block staged
 * with the row after it: see computeBlocks.) A staged spatial
 * block is a [C, stride] tile (one copy per class plane); the kernels take the class stride. log_prob
 * output of the spatial layout is written in the input's layout (the kernels address input and
 * output with the same offsets), so that one combination copies the input whole. Probability
 * targets are addressed with the input's offsets: read in place when both are in memory, staged
 * exactly when the input is, else copied whole in the input's layout.
 */
function layoutBlocks(plan: LossPlan, B: number, q: Omit<WorkspaceQuery, 'plan' | 'blockItems'>): BlockLayout {
  const es = plan.dtype === 'float64' ? 8 : 4;
  const { C, items, S } = plan;
  const rows = plan.layout === 'rows';
  const isProb = plan.kind === 'prob';
  const CS = rows ? S : q.classStride ?? S;
  const xBytes = plan.N * C * S * es;
  const maxN = rows ? Math.min(B, plan.N) : Math.min(B, S);
  // A tile's class rows start 64-byte aligned and, at a multiple of 4 KB apart, would share L1 sets
  // (C = 16, 32, 64… give such blocks), so such a stride gets one more cache line.
  const tileStride = Math.ceil(maxN / 16) * 16;
  const stride = rows ? C : tileStride * es % 4096 === 0 ? tileStride + 16 : tileStride;
  const yInMemory = isProb && q.targetInPlace;
  // A pixel range in place whose probability targets are not is staged too: a whole copy of the
  // targets would need the image's class stride.
  const stageX = xBytes > 0 && (rows || !plan.returnLogProb) && (!q.inputInPlace || !rows && CS !== S && isProb && !yInMemory);
  const yInPlace = yInMemory && !stageX;
  const stageY = isProb && xBytes > 0 && !yInPlace && (rows || stageX);
  // Bytes the SIMD kernels may read past a block's logits: 3 rows (t4 groups) + one vector.
  const stageBytes = rows ? (maxN + 3) * C * es + 96 : C * stride * es + 64;
  const tSize = isProb ? 0 : DTYPE_SIZE[q.targetDtype];
  let p = 0;
  const x = q.inputInPlace && !stageX ? -1 : p;
  if (x >= 0) p = align(p + (stageX ? stageBytes : xBytes + readSlack(C)));
  const rawT = p; p = align(p + (isProb || q.targetInPlace ? 0 : maxN * tSize) + 16);
  const t = p; p = align(p + (isProb ? 0 : maxN * 4) + 64);
  const w = p; p = align(p + (q.weight ? C * es : 0) + 16);
  const y = yInPlace ? -1 : p; p = align(p + (isProb && !yInPlace ? (stageY ? stageBytes : xBytes) : 0) + 64);
  const out = p; p = align(p + (q.wantValues ? items * es : 0) + 16);
  const lp = p; p = align(p + (plan.returnLogProb ? xBytes : 0) + 16);
  const m = p; p = align(p + B * es + 64);
  const ls = p; p = align(p + B * es + 64);
  const scratch = p; p = align(p + Math.max(C * 16 + 128 + 32 * 32, 3 * 512 * 4 + 64)); // rowsT4's columns and chunk sums / spatial's tiles
  return { stageX, stageY, stride, x, y, rawT, t, w, out, lp, m, ls, scratch, total: p };
}

/** Bytes of workspace a block computation needs (a pool sizes its workers' workspaces with it). */
export function workspaceBytes(q: WorkspaceQuery): number {
  return layoutBlocks(q.plan, q.blockItems ?? blockItems(q.plan), q).total;
}

/** Copies runs of a tensor's elements into engine memory, converted to the plan's float type. */
interface Stager {
  /** `count` elements from element `from` of the tensor to element `to` of the staging area. */
  copy(from: number, count: number, to: number): void;
}

function stager(t: Tensor, dtype: 'float32' | 'float64', mem: Uint8Array, dst: number): Stager {
  const d = t.data;
  const es = dtype === 'float64' ? 8 : 4;
  if (dtype === 'float64' ? d instanceof Float64Array : d instanceof Float32Array) {
    // Same type: a byte copy (memmove), never an element-by-element conversion. (By the array, not
    // the declared dtype: a Float64Array declared float32 is converted, as TypedArray.set does.)
    const src = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    return { copy: (from, count, to) => mem.set(src.subarray(from * es, (from + count) * es), dst + to * es) };
  }
  const view = dtype === 'float64' ? new Float64Array(mem.buffer) : new Float32Array(mem.buffer);
  const at = dst / es;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    return { copy: (from, count, to) => view.set(Array.from(d.subarray(from, from + count), Number), at + to) };
  }
  return { copy: (from, count, to) => view.set((d as Exclude<TypedArray, BigInt64Array | BigUint64Array>).subarray(from, from + count), at + to) };
}

/**
 * Bytes to move a staging area at `at` so that it lies at the source's address mod 32, where memmove
 * runs fastest (0.35 against 0.48 ms per 16 MB on this machine). JS cannot see an address: a large
 * buffer from Node's allocator (glibc malloc's mmap) starts 16 bytes into a page, so that is assumed.
 * Kept 16-aligned (the kernels' loads then never straddle a cache line); 0 otherwise.
 */
function stagePhase(t: Tensor, at: number): number {
  const off = t.data.byteOffset;
  if (off % 16 !== 0) return 0;
  return (((16 + off - at) % 32) + 32) % 32;
}

/** A tensor's values as something TypedArray.set accepts (float16 was refused earlier). */
function numbersOf(t: Tensor): ArrayLike<number> {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  return d;
}

export type { Block, LossPlan };
