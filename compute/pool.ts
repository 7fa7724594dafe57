// A pool of engine workers, runtime-neutral: splits a loss evaluation into shards cut on the fixed
// block boundaries (compute/finish.ts), runs them on the workers (each with its own wasm instance)
// and, optionally, on the calling thread, and adds the block partials in block order, so the result
// is bit-identical to one engine's.
//
// Two ways to hand out the work:
// - shared (a shared-memory build: Node worker_threads; a cross-origin-isolated page): every
//   instance, the calling thread's too, runs on ONE shared WebAssembly.Memory the pool owns
//   (compute/sharedMemory.ts). An input from `allocShared` already lies there; a plain array is
//   copied there once, by the calling thread, shard by shard just ahead of the workers. A shard is
//   then an address: every thread's kernels read it in place (a pixel range of an image too, with
//   the image's class stride), with no copy per thread. Each worker gets one request naming every
//   shard and its own workspace range, and sends one reply. Threads claim shards on an atomic board
//   as they get free, the calling thread from the back, so the split balances itself; the caller
//   yields between shards so that cancellation and progress still get through. Only the calling
//   thread allocates in the shared memory.
// - transfer (browser webviews, which are not cross-origin isolated, and runtimes without a shared
//   build): each worker has its own memory; each shard is copied out and transferred to the next
//   free worker, four shards per worker, as they finish.
// An AbortSignal rejects at once. In shared mode the workers stop claiming shards, finish the one in
// hand and are kept; in transfer mode they are terminated (new ones start on next use), as they
// are, in both modes, when a worker crashes.
// Hosts: compute/node/pool.ts (worker_threads), compute/browser/pool.ts (Web Workers).

import { DTYPE_SIZE, viewElements } from './dtypes';
import {
  createEngineSync, createSharedEngine, importsMemory, workspaceBytes,
  type BlockResults, type Engine, type SharedEngine, type WasmBytes, type WasmModule,
} from './engine';
import { blockItems, blockCount, finishTfjs, longRows, torchResult } from './finish';
import { planTfjs, planTorch, type LossPlan } from './semantics';
import { align64, createSharedMemory, MemoryViews, SharedHeap } from './sharedMemory';
import {
  CancelledError, EngineInputError,
  type EngineKind, type LossOptions, type LossResult, type Tensor, type TensorDtype, type TfjsLossOptions, type TypedArray,
} from './types';
import {
  BOARD, MAX_BOARD_SHARDS, computeShards, type ShardRequest, type TensorRef, type WorkerReply, type WorkerRequest,
} from './workerCore';

/** One worker, as the pool sees it (a Node Worker or a browser Worker behind an adapter). */
export interface WorkerPort {
  post(request: WorkerRequest, transfer: ArrayBuffer[]): void;
  /** Called once; `onError` covers crashes and failed loads. */
  listen(onMessage: (reply: WorkerReply) => void, onError: (err: Error) => void): void;
  /**
   * Ends the worker; where the host can tell, the promise settles once its thread has stopped
   * (until then it may still write to its workspace in the shared memory).
   */
  terminate(): void | Promise<unknown>;
}

export type WorkerFactory = () => WorkerPort;

export interface PoolOptions {
  /** Creates a worker that runs createWorkerHandler (compute/workerCore.ts). */
  readonly factory: WorkerFactory;
  /** Threads computing (≥ 1): workers, plus the calling thread when `callerComputes`. */
  readonly size: number;
  /** The engine build for every worker: a compiled module (shared, no recompiling) or bytes. */
  readonly module?: WasmModule;
  readonly bytes?: WasmBytes;
  /**
   * Inputs with fewer logits than this go to one thread in one shard (that input then never leaves
   * a computing caller's thread). Default: 2^22 with a computing caller (MIN_PARALLEL_SHARED), else 2^18;
   * with a computing caller, a plain input (not in the shared memory) of more than 184 classes per
   * row (rowsLong's) is never split (see computeShared).
   */
  readonly minParallelElements?: number;
  /**
   * One shared wasm memory for every instance (see the top of this file): `module` must be a
   * shared-memory build (ce-*-shared.wasm) and the runtime must have SharedArrayBuffer.
   */
  readonly shared?: boolean;
  /**
   * The calling thread computes a share itself (counted in `size`) rather than idle while the
   * workers run: for programs that own their thread (the command line, benchmarks), not a UI thread.
   * Needs `module` and `shared`.
   */
  readonly callerComputes?: boolean;
  /**
   * With `callerComputes`: an ordinary build of the same kernels, for an input outside the shared
   * memory that the calling thread computes alone (below minParallelElements). Its staging copies
   * go to memory that is not shared, which V8 copies into about 1.2x faster than a shared one
   * (whose copies are word-by-word relaxed atomics).
   */
  readonly localModule?: WasmModule;
}

export interface RunOptions {
  /** Called as shards progress: items done of total. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Aborting rejects with CancelledError. Shared mode keeps the workers (each finishes the shard in
   * hand first, within CANCEL_GRACE_MS or it is terminated); transfer mode terminates them.
   */
  readonly signal?: AbortSignal;
}

/** A shard: the sub-problem for one thread, and where its outputs go in the full result. */
interface Shard {
  /** Its place in the full problem's shard order. */
  readonly index: number;
  readonly plan: LossPlan;
  readonly items: number;
  /** item offset of the shard's first item, or, for a pixel range, the image and pixel start */
  readonly itemOffset: number;
  /**
   * The shard's element range of the input and of the target (items for index targets) and their
   * shapes. A pixel range copied out gathers its input (and probability targets): their range is
   * then [0, C·len); read in place, it starts at its first pixel with the image's class stride.
   */
  readonly inputShape: readonly number[];
  readonly input: readonly [number, number];
  readonly targetShape: readonly number[];
  readonly target: readonly [number, number];
  /** Set when the shard is a pixel range of one image of S pixels. */
  readonly pixelRange?: { readonly image: number; readonly start: number; readonly len: number };
  /** The full problem's pixels per image (S). */
  readonly fullS: number;
  readonly blocks: number;
}

interface Job {
  readonly plan: LossPlan;
  readonly input: Tensor;
  readonly target: Tensor;
  readonly weight: Tensor | undefined;
  readonly wantValues: boolean;
  readonly run: RunOptions;
}

interface Slot {
  port: WorkerPort;
  ready: Promise<void>;
  /** Set once `ready` resolved: a request can be posted synchronously. */
  isReady?: boolean;
  onReply?: (reply: WorkerReply) => void;
  onError?: (err: Error) => void;
  kind?: string;
  /** Shared mode: the worker's workspace range in the shared memory. */
  workspace?: { ptr: number; bytes: number };
  /** The worker failed (crashed, exited) outside an evaluation: replaced on next use. */
  failed?: boolean;
  /** Shared mode: the evaluation whose request the worker holds, until its result or error comes. */
  inFlight?: number;
  /** Set by a cancellation while the worker still holds its request: resolved by its reply. */
  draining?: Promise<void>;
  drained?: () => void;
}

/**
 * Shards per thread. Transfer mode: four, handed out as workers get free. Shared mode: eight on the
 * claim board, so that a thread slowed by other load takes fewer (and cancellation, progress and
 * the calling thread's copy-ahead get a turn between shards).
 */
const PIECES = 4;
const SHARED_PIECES = 8;
const SHARD_MIN_ELEMENTS = 1 << 18;
/**
 * Shared mode's default minParallelElements with a computing caller. Measured on this 2-vCPU VM,
 * interleaved (median), the calling thread and one worker against the calling thread alone, input
 * in place (allocShared): back to back, [1024, 1000] (1.0M logits) ran 0.7x, [131072, 10] (1.3M)
 * 1.3x, [4096, 1000] 1.02-1.27x; but in isolated calls (100 ms idle before each sample of 8, as
 * the benchmark and the command line call it: the idle worker's core is slow to wake) [4096, 1000]
 * ran 0.78x, [2, 21, 256, 256] (2.8M) 0.8x, [4, 21, 256, 256] (5.5M) 1.09x, [8192, 1000] 0.97x,
 * and 16M+ 1.4-1.7x (bench). A plain input, which the calling thread copies first (about 10 GB/s
 * into a shared buffer while the worker reads), gains less: [512, 32000] 1.1-1.25x.
 */
const MIN_PARALLEL_SHARED = 1 << 22;
/** How long the calling thread computes between turns of the event loop. */
const YIELD_MS = 1;
/**
 * Shared mode, after a cancellation: how long the next evaluation waits for a worker to finish the
 * shard it was computing (it stops claiming at once) before terminating it instead.
 */
const CANCEL_GRACE_MS = 2000;

const hasSharedMemory = typeof SharedArrayBuffer === 'function';

/** The pool's shared memory on the calling thread: its views and the one allocator over it. */
interface Space {
  readonly views: MemoryViews;
  readonly heap: SharedHeap;
}

export class EnginePool {
  private slots: Slot[] = [];
  private readonly options: PoolOptions;
  private readonly shared: boolean;
  private readonly callerComputes: boolean;
  /** Shared mode: the memory every instance runs on, made on first use. */
  private space?: Space;
  /** The calling thread's engine (callerComputes), instantiated on first use. */
  private local?: SharedEngine;
  /** The calling thread's engine with its own memory (localModule), instantiated on first use. */
  private localPrivate?: Engine;
  /** Where plain inputs are copied for the workers, in the shared memory; reused (replaced when too small). */
  private staging?: { ptr: number; bytes: number };

  constructor(options: PoolOptions) {
    if (!(options.size >= 1)) throw new RangeError('a pool needs at least one worker');
    if (!options.module && !options.bytes) throw new RangeError('a pool needs the engine module or bytes');
    if (options.callerComputes && (!options.module || !options.shared)) {
      throw new RangeError('a pool whose calling thread computes needs the compiled module and shared memory');
    }
    if (options.shared) {
      if (!hasSharedMemory) throw new RangeError('this runtime has no SharedArrayBuffer');
      if (!options.module || !importsMemory(options.module)) {
        throw new RangeError('a shared-memory pool needs a compiled shared-memory build (ce-simd-shared.wasm or ce-relaxed-shared.wasm)');
      }
    } else if (options.module && importsMemory(options.module)) {
      throw new RangeError('a shared-memory build needs a shared-memory pool (shared: true)');
    }
    if (options.localModule && importsMemory(options.localModule)) throw new RangeError('localModule must be an ordinary build');
    this.options = options;
    this.shared = !!options.shared;
    this.callerComputes = !!options.callerComputes;
  }

  /** Threads computing, the calling thread included when it computes. */
  get size(): number {
    return this.options.size;
  }

  /**
   * A tensor every thread reads in place, all zeros: in shared mode its `data` is a view of the
   * pool's shared wasm memory (elsewhere, of an ordinary buffer). Fill `data` and pass the tensor:
   * the pool's zero-copy input, as `Engine.allocInput` is the single engine's. The view stays valid
   * when the memory grows. Its range is given back when `data` is garbage-collected (keep the tensor
   * or its `data`, not only a subarray of it, while using it) or, sooner, by `free`.
   */
  allocShared(shape: readonly number[], dtype: TensorDtype = 'float32'): Tensor {
    if (shape.some(d => !Number.isSafeInteger(d) || d < 0)) throw new EngineInputError(`invalid shape ${JSON.stringify(shape)}`);
    if (this.shared) return this.sharedSpace().heap.tensor(shape, dtype, allocSlack(shape), true);
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = n * DTYPE_SIZE[dtype];
    let buffer: ArrayBufferLike;
    try {
      buffer = new ArrayBuffer(bytes);
    } catch {
      throw new EngineInputError(`cannot allocate ${Math.ceil(bytes / 2 ** 20)} MiB for a ${JSON.stringify(shape)} ${dtype} tensor`);
    }
    return { dtype, shape: [...shape], data: viewElements(buffer, 0, dtype, n) };
  }

  /** Gives an `allocShared` tensor's memory back now (its `data` must not be used afterwards). */
  free(tensor: Tensor): void {
    this.space?.heap.releaseTensor(tensor);
  }

  crossEntropy(input: Tensor, target: Tensor, options: LossOptions = {}, run: RunOptions = {}): Promise<LossResult> {
    return this.runTorch(() => planTorch('cross_entropy', input, target, options), input, target, options.weight, run);
  }

  nllLoss(input: Tensor, target: Tensor, options: LossOptions = {}, run: RunOptions = {}): Promise<LossResult> {
    return this.runTorch(() => planTorch('nll_loss', input, target, options), input, target, options.weight, run);
  }

  async softmaxCrossEntropyTfjs(onehotLabels: Tensor, logits: Tensor, options: TfjsLossOptions = {}, run: RunOptions = {}): Promise<LossResult> {
    const plan = planTfjs(onehotLabels, logits, options);
    const t0 = now();
    const wantValues = plan.tfjsReduction === 'NONE' || !!options.weights;
    const r = await this.compute(plan, logits, onehotLabels, undefined, wantValues, run);
    const fin = finishTfjs(plan, r.partials, r.values as Float32Array | undefined, options.weights);
    return { loss: fin.loss, shape: fin.shape, values: fin.values, elapsedMs: now() - t0, engine: r.kind, dtype: 'float32' };
  }

  /**
   * Starts the workers now rather than at the first evaluation (they instantiate the engine while
   * the caller, say, reads its files).
   */
  start(): void {
    this.ensureSlots(this.callerComputes ? this.options.size - 1 : this.options.size);
  }

  /**
   * Terminates every worker and lets go of the pool's memory (the shared memory, the calling
   * thread's engine); the pool starts afresh if used again. Tensors from `allocShared` stay
   * readable, but are then an ordinary input to the pool (copied).
   */
  terminate(): void {
    this.stopWorkers();
    this.space = undefined;
    this.staging = undefined;
    this.local = undefined;
    this.localPrivate = undefined;
  }

  /** Ends the workers (a failed or cancelled evaluation: one may be mid-shard); new ones start on next use. */
  private stopWorkers(): void {
    for (const s of this.slots) this.retire(s);
    this.slots = [];
  }

  /**
   * Terminates a worker (the caller drops its slot). A terminated thread may run on for a moment,
   * writing its workspace: that range is reused only once the host says the thread has ended (a
   * browser cannot tell: the range is left).
   */
  private retire(s: Slot): void {
    const stopped = s.port.terminate();
    const ws = s.workspace, heap = this.space?.heap;
    if (ws && heap && stopped) void stopped.then(() => heap.release(ws.ptr), () => undefined);
  }

  /**
   * Shared mode: waits for the workers a cancellation left finishing a shard (each stops claiming at
   * once and replies after its current one); one that has not replied within CANCEL_GRACE_MS is
   * terminated and replaced. Until it replies a worker may write its workspace, so the range is
   * neither reallocated nor given back before that.
   */
  private async awaitDraining(): Promise<void> {
    const draining = this.slots.filter(s => s.draining);
    if (draining.length === 0) return;
    let timer: unknown;
    const late = new Promise<void>(resolve => { timer = setTimeout(resolve, CANCEL_GRACE_MS); });
    await Promise.race([Promise.all(draining.map(s => s.draining)), late]);
    clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
    for (const s of draining) {
      s.draining = undefined;
      s.drained = undefined;
      if (s.inFlight === undefined) continue;
      this.slots = this.slots.filter(x => x !== s);
      this.retire(s);
    }
  }

  /** The shared memory, its views on this thread and its allocator (made on first use). */
  private sharedSpace(): Space {
    if (!this.space) {
      const views = new MemoryViews(createSharedMemory());
      this.space = { views, heap: new SharedHeap(views) };
    }
    return this.space;
  }

  private async runTorch(makePlan: () => LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, run: RunOptions): Promise<LossResult> {
    const plan = makePlan();
    const t0 = now();
    const r = await this.compute(plan, input, target, weight, plan.reduction === 'none', run);
    return torchResult(plan, r, now() - t0, r.kind);
  }

  /** Shards the plan, runs the shards, and reassembles the results in order. */
  private compute(plan: LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, wantValues: boolean,
                  run: RunOptions): Promise<BlockResults & { kind: EngineKind }> {
    // one evaluation at a time: the workers' reply handlers (and the staging area) belong to the running one
    const job = { plan, input, target, weight, wantValues, run };
    const result = this.queue.then(() => this.shared ? this.computeShared(job) : this.computeTransfer(job));
    this.queue = result.then(() => undefined, () => undefined);
    return result;
  }

  private queue: Promise<void> = Promise.resolve();
  /** Numbers the shared-mode evaluations: a reply to an earlier one (see computeShared) is ignored. */
  private evaluations = 0;

  /** Transfer mode: shards copied out one at a time and transferred to whichever worker is free. */
  private async computeTransfer(job: Job): Promise<BlockResults & { kind: EngineKind }> {
    const { plan, input, target, weight, wantValues, run } = job;
    if (run.signal?.aborted) throw new CancelledError();
    const B = blockItems(plan);
    const small = plan.N * plan.C * plan.S < (this.options.minParallelElements ?? 1 << 18);
    const shards = this.shard(plan, B, small ? 1 : this.options.size * PIECES);
    const results: (BlockResults | undefined)[] = new Array(shards.length);
    let next = 0;
    let done = 0;
    let kind = 'wasm-simd';
    await this.settle(run, (finish, fail) => {
      if (shards.length === 0) { finish(); return; }
      const dispatch = (slot: Slot) => {
        if (next >= shards.length) {
          if (done === shards.length) finish();
          return;
        }
        const index = next++;
        const s = shards[index]!;
        slot.onReply = reply => {
          if (reply.type === 'error') { fail(new Error(`engine worker: ${reply.name}: ${reply.message}`)); return; }
          if (reply.type !== 'result') return;
          results[index] = reply.results[0];
          done++;
          run.onProgress?.(countItems(shards, results), plan.items);
          dispatch(slot);
        };
        slot.onError = fail;
        // shard tensors are fresh copies: hand them over without copying again
        const shard = copyShard(s, input, target);
        const transfer = [shard.input.data.buffer as ArrayBuffer, shard.target.data.buffer as ArrayBuffer];
        slot.port.post({ type: 'compute', id: index, shards: [shard], weight, blockItems: B, wantValues }, transfer);
      };
      for (const slot of this.ensureSlots(Math.min(this.options.size, shards.length))) {
        slot.ready.then(() => {
          kind = slot.kind ?? kind;
          dispatch(slot);
        }, fail);
      }
    });
    return { ...this.assemble(plan, shards, results as BlockResults[], wantValues, B, target), kind: kind as EngineKind };
  }

  /**
   * Shared mode: one request per worker naming every shard by its address in the shared memory, one
   * reply each. Threads take shards from a claim board (workerCore.ts BOARD) as they get free:
   * workers from the front, the calling thread from the back. An input that is not in the shared
   * memory yet is copied there by the calling thread, shard by shard from the front, so the workers
   * start after one shard's copy rather than after all of it.
   */
  private async computeShared(job: Job): Promise<BlockResults & { kind: EngineKind }> {
    const { plan, input, target, weight, wantValues, run } = job;
    if (run.signal?.aborted) throw new CancelledError();
    await this.awaitDraining();
    if (run.signal?.aborted) throw new CancelledError();
    const B = blockItems(plan);
    const threads = this.options.size;
    const space = this.sharedSpace();
    const isProb = plan.kind === 'prob';
    // Where the input already lies in the shared memory (probability targets are addressed like the
    // input, with one class stride for both: in place together or copied together).
    let inputAt = addressIn(space.views, input, plan.C);
    let targetAt = addressIn(space.views, target, isProb ? plan.C : 0);
    if (isProb && (inputAt === undefined) !== (targetAt === undefined)) inputAt = targetAt = undefined;
    // By default a computing caller keeps a plain input of rowsLong's rows (C > 184) to itself,
    // whatever its size. V8 copies into a shared buffer with relaxed atomics (19 GB/s from cache
    // against 42 into an ordinary one; 8–13 GB/s while a worker reads), about the speed at which
    // rowsLong computes a plain array staged in ordinary memory (8 GB/s): feeding a worker costs
    // the caller what computing the shard would, and the two threads' stalls on this VM come on
    // top. [512, 32000] from a plain array on two threads took 7.8–11.9 ms in seven benchmark runs
    // (median 9.8) against 7.9–8.8 (median 8.3) on one. Copy-ahead, a ring of cache-sized slots
    // and transferred buffers did no better (docs/performance.md, run 19). An input in the shared
    // memory (allocShared, `tensor-lens loss --threads` reading a .npy) still splits.
    const alone = this.callerComputes ? (inputAt === undefined && longRows(plan) ? Infinity : MIN_PARALLEL_SHARED) : 1 << 18;
    const small = plan.N * plan.C * plan.S < (this.options.minParallelElements ?? alone);
    const caller = this.callerComputes ? (this.local ??= createSharedEngine(this.options.module!, space.views, space.heap)) : undefined;
    const workers = caller ? threads - 1 : threads;
    // Shards of at least SHARD_MIN_ELEMENTS (each costs a claim, a kernel set-up, a turn for the
    // caller), at least two per thread (the board balances on them), at most SHARED_PIECES per thread.
    const elements = plan.N * plan.C * plan.S;
    const want = Math.min(threads * SHARED_PIECES, Math.max(threads * 2, Math.ceil(elements / SHARD_MIN_ELEMENTS)));
    // log_prob of the spatial layout comes out in the input's layout, which a pixel range read in
    // place (class planes an image apart) does not have: such an evaluation is split by whole images.
    const shards = this.shard(plan, B, small ? 1 : Math.min(MAX_BOARD_SHARDS, want), !plan.returnLogProb);
    const results: (BlockResults | undefined)[] = new Array(shards.length);
    // one shard (a small input) on a computing caller: no worker, no message
    const active = caller && shards.length <= 1 ? 0 : Math.min(workers, shards.length);
    const staged = active > 0 && (inputAt === undefined || targetAt === undefined)
      ? this.stage(space, shards, input, target, inputAt === undefined, targetAt === undefined) : undefined;
    // (no worker: an ordinary buffer, which Atomics accept too and is cheaper to make)
    const board = new Int32Array(active > 0 ? new SharedArrayBuffer(BOARD.WORDS * 4) : new ArrayBuffer(BOARD.WORDS * 4));
    board[BOARD.FRONT_BACK] = shards.length << 16;
    board[BOARD.COPIED] = staged ? 0 : shards.length;
    const requests = active > 0 ? shards.map(sh => sharedShard(sh, input, target, inputAt, targetAt, staged?.refs[sh.index])) : [];
    // Each worker's workspace, sized for the largest shard. Workers never allocate: an allocator
    // shared between threads would need a lock, which a worker terminated mid-run could keep.
    let need = 0;
    for (const r of requests) {
      need = Math.max(need, workspaceBytes({
        plan: r.plan, targetDtype: target.dtype, weight: !!weight, wantValues, blockItems: B, classStride: r.classStride,
        inputInPlace: input.dtype === plan.dtype, targetInPlace: isProb ? target.dtype === plan.dtype : r.plan.items > 0,
      }));
    }
    const slots = this.ensureSlots(active);
    for (const slot of slots) {
      if (slot.workspace && slot.workspace.bytes >= need) continue;
      if (slot.workspace) space.heap.release(slot.workspace.ptr);
      slot.workspace = undefined;
      slot.workspace = { ptr: space.heap.alloc(need), bytes: need };
    }
    const doneBy = new Array<number>(active + 1).fill(0);
    const progress = run.onProgress;
    const report = progress ? () => progress(Math.min(plan.items, doneBy.reduce((a, b) => a + b, 0)), plan.items) : undefined;
    let kind: string = caller?.kind ?? 'wasm-simd';
    // A worker's 'ready' may be waiting in the event loop (the caller was busy, say reading files):
    // let it in, so that the worker gets its request now rather than at the caller's first turn.
    if (slots.some(slot => !slot.isReady)) {
      await yieldToEvents();
      if (run.signal?.aborted) throw new CancelledError();
    }
    const stop = () => {
      Atomics.store(board, BOARD.STOP, 1);
      Atomics.notify(board, BOARD.COPIED);
    };
    const id = ++this.evaluations;
    await this.settle(run, (finish, fail, settled) => {
      let pending = active + 1;
      const oneDone = () => { if (--pending === 0) finish(); };
      slots.forEach((slot, w) => {
        slot.onReply = reply => {
          // a late reply of an evaluation that finished without it (it took no shard)
          if (settled() || 'id' in reply && reply.id !== undefined && reply.id !== id) return;
          if (reply.type === 'error') { fail(new Error(`engine worker: ${reply.name}: ${reply.message}`)); return; }
          if (reply.type === 'progress') { doneBy[w] = reply.done; report?.(); return; }
          if (reply.type !== 'result') return;
          (reply.indices ?? []).forEach((i, k) => { results[i] = reply.results[k]; });
          doneBy[w] = (reply.indices ?? []).reduce((a, i) => a + shards[i]!.items, 0);
          report?.();
          oneDone();
        };
        slot.onError = fail;
        const post = () => {
          if (settled()) return;
          kind = slot.kind ?? kind;
          slot.inFlight = id;
          slot.port.post({
            type: 'compute', id, shards: requests, weight, blockItems: B, wantValues, progress: !!progress,
            board: board.buffer as SharedArrayBuffer, workspace: slot.workspace,
          }, []);
        };
        // a warm worker gets its request before the calling thread starts computing
        if (slot.isReady) post();
        else slot.ready.then(post, fail);
      });
      // The calling thread copies every shard of a plain input into the shared memory, front first
      // and notifying as it goes (a copy outruns the workers' kernels, so they hardly wait), then
      // takes shards from the back and computes them in place too: staging a shard costs the same
      // copy, and copying ahead of the workers a few shards at a time made them wait for it.
      const requestFor = (i: number): ShardRequest =>
        active > 0 && (!staged || i < Atomics.load(board, BOARD.COPIED)) ? requests[i]! : viewShard(shards[i]!, input, target);
      // alone on an input outside the shared memory: the engine with its own memory, when there is one
      const own = active === 0 && inputAt === undefined && this.options.localModule
        ? (this.localPrivate ??= createEngineSync(this.options.localModule)) : caller;
      void (async () => {
        let lastYield = now();
        for (;;) {
          if (settled()) return;
          const s = Atomics.load(board, BOARD.FRONT_BACK);
          const front = s & 0xffff, back = s >>> 16;
          const copied = Atomics.load(board, BOARD.COPIED);
          // every shard taken (or, dispatching only, all copied)
          if (copied >= back && (!caller || front >= back)) break;
          // Every millisecond or so, between copies and between shards that are left: let replies,
          // progress and an abort through (and a starting worker's ready message), then look at the
          // board again. Not after every shard (a turn of the event loop costs more than a small
          // shard), nor after the last (it cost a caller computing alone ~0.05 ms per evaluation).
          if (now() - lastYield >= YIELD_MS) {
            await yieldToEvents();
            lastYield = now();
            continue;
          }
          if (copied < back) {
            staged!.copy(copied);
            Atomics.store(board, BOARD.COPIED, copied + 1);
            Atomics.notify(board, BOARD.COPIED);
            continue;
          }
          if (Atomics.compareExchange(board, BOARD.FRONT_BACK, s, s - 0x10000) !== s) continue;
          const i = back - 1;
          const before = doneBy[active]!;
          results[i] = computeShards(own!, {
            shards: [requestFor(i)], weight, blockItems: B, wantValues,
          }, report ? d => { doneBy[active] = before + d; report(); } : undefined)[0];
        }
        // No worker took a shard (none got a core in time: starting up, or the machine's other
        // cores were busy), and none can now: every result is here. Finish without waiting for
        // their empty replies, which the next evaluation ignores (the worker then reads its
        // request after finishing this one, having touched neither its workspace nor the inputs).
        if (caller && (Atomics.load(board, BOARD.FRONT_BACK) & 0xffff) === 0) {
          finish();
          return;
        }
        oneDone();
      })().catch(err => fail(err instanceof Error ? err : new Error(String(err))));
    }, stop, () => {
      // Cancelled: the workers stop claiming (STOP) and reply after the shard in hand; they are kept
      // (no restart, and in a browser no workspace left behind by a thread it cannot see end).
      for (const slot of slots) {
        if (slot.inFlight !== id) continue;
        slot.draining = new Promise<void>(resolve => { slot.drained = resolve; });
      }
    });
    return { ...this.assemble(plan, shards, results as BlockResults[], wantValues, B, target), kind: kind as EngineKind };
  }

  /**
   * Runs `start` until it calls `finish` or `fail`; a failure terminates the workers (a worker may be
   * mid-shard) and rejects, and so does an abort unless `onCancel` takes care of the workers (shared
   * mode lets them finish their shard). `settled()` tells late callbacks to stop.
   */
  private settle(run: RunOptions, start: (finish: () => void, fail: (err: Error) => void, settled: () => boolean) => void,
                 onStop?: () => void, onCancel?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const abort = () => fail(new CancelledError());
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        run.signal?.removeEventListener('abort', abort);
        onStop?.();
        if (onCancel && err instanceof CancelledError) onCancel();
        else this.stopWorkers();
        reject(err);
      };
      const finish = () => {
        if (settled) return;
        settled = true;
        run.signal?.removeEventListener('abort', abort);
        resolve();
      };
      run.signal?.addEventListener('abort', abort, { once: true });
      try {
        start(finish, fail, () => settled);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Lays out the workers' copies of a plain input (and target) in the reused staging area of the
   * shared memory and returns each shard's addresses there and the copy that fills one shard's: the
   * calling thread copies only the shards the workers take, just before they need them. A pixel
   * range is copied gathered, as a [1, C, len] tensor.
   */
  private stage(space: Space, shards: readonly Shard[], input: Tensor, target: Tensor, copyInput: boolean, copyTarget: boolean):
    { refs: { input?: TensorRef; target?: TensorRef }[]; copy(index: number): void } {
    const ie = input.data.BYTES_PER_ELEMENT, te = target.data.BYTES_PER_ELEMENT;
    const C = shards[0]?.plan.C ?? 0;
    const isProb = shards[0]?.plan.kind === 'prob';
    // each copy is followed by the over-read slack the kernels may read past it
    const inputSlack = 3 * 4 * C + 64, targetSlack = isProb ? inputSlack : 64;
    let total = 0;
    for (const s of shards) {
      if (copyInput) total += align64((s.input[1] - s.input[0]) * ie + inputSlack);
      if (copyTarget) total += align64((s.target[1] - s.target[0]) * te + targetSlack);
    }
    if (!this.staging || this.staging.bytes < total) {
      if (this.staging) space.heap.release(this.staging.ptr);
      this.staging = undefined;
      this.staging = { ptr: space.heap.alloc(total), bytes: total };
    }
    let at = this.staging.ptr;
    const copies: (() => void)[] = [];
    /** Room for elements [from, to) of `t` (for a pixel range, its gathered [1, C, len] pixels) and their copy. */
    const place = (t: Tensor, s: Shard, shape: readonly number[], from: number, to: number, gathered: boolean, slack: number) => {
      const n = to - from, es = t.data.BYTES_PER_ELEMENT, where = at;
      at += align64(n * es + slack);
      const copy = gathered
        ? () => {
          const { image, start, len } = s.pixelRange!;
          const buffer = space.views.buffer;
          for (let c = 0; c < C; c++) copyBytes(t.data, (image * C + c) * s.fullS + start, len, buffer, where + c * len * es);
        }
        : () => copyBytes(t.data, from, n, space.views.buffer, where);
      return { ref: { dtype: t.dtype, shape, ptr: where, length: n } as TensorRef, copy };
    };
    const refs = shards.map(s => {
      const entry: { input?: TensorRef; target?: TensorRef } = {};
      const parts: (() => void)[] = [];
      if (copyInput) {
        const p = place(input, s, s.inputShape, s.input[0], s.input[1], !!s.pixelRange, inputSlack);
        entry.input = p.ref;
        parts.push(p.copy);
      }
      if (copyTarget) {
        const p = place(target, s, s.targetShape, s.target[0], s.target[1], !!s.pixelRange && isProb, targetSlack);
        entry.target = p.ref;
        parts.push(p.copy);
      }
      copies[s.index] = () => parts.forEach(f => f());
      return entry;
    });
    return { refs, copy: index => copies[index]!() };
  }

  private ensureSlots(n: number): Slot[] {
    // A worker that died between evaluations (one that took no shard is not waited for, so its end
    // may come after its evaluation): replaced, its workspace reused once its thread has ended.
    if (this.slots.some(s => s.failed)) {
      const failed = this.slots.filter(s => s.failed);
      this.slots = this.slots.filter(s => !s.failed);
      for (const s of failed) this.retire(s);
    }
    while (this.slots.length < n) {
      const port = this.options.factory();
      const slot: Slot = { port, ready: Promise.resolve() };
      slot.ready = new Promise<void>((resolve, reject) => {
        port.listen(reply => {
          if (reply.type === 'ready') { slot.kind = reply.kind; slot.isReady = true; resolve(); return; }
          if (reply.type === 'error' && reply.id === undefined) { reject(new Error(`engine worker failed to start: ${reply.message}`)); return; }
          if (reply.type !== 'progress' && reply.id === slot.inFlight) {
            slot.inFlight = undefined;
            slot.drained?.();
          }
          slot.onReply?.(reply);
        }, err => {
          slot.failed = true;
          slot.drained?.();
          reject(err);
          slot.onError?.(err);
        });
      });
      // a start-up failure is reported by the evaluation that waits for it
      slot.ready.catch(() => undefined);
      port.post({
        type: 'init', module: this.options.module, bytes: this.options.module ? undefined : this.options.bytes,
        memory: this.shared ? this.sharedSpace().views.memory : undefined,
      }, []);
      this.slots.push(slot);
    }
    return this.slots.slice(0, n);
  }

  /**
   * Cuts the problem into about `want` shards on block boundaries: runs of rows; runs of whole
   * images; or, when there are fewer images than shards wanted (and `pixelRanges`), runs of pixel
   * blocks inside one image.
   */
  private shard(plan: LossPlan, B: number, want: number, pixelRanges = true): Shard[] {
    const nBlocks = blockCount(plan, B);
    const { C, S } = plan;
    const perShard = Math.max(1, Math.ceil(nBlocks / want), pixelRanges || plan.layout === 'rows' ? 1 : Math.ceil(S / B));
    const shards: Shard[] = [];
    const isProb = plan.kind === 'prob';
    if (plan.layout === 'rows') {
      for (let b = 0; b < nBlocks; b += perShard) {
        const r0 = b * B, r1 = Math.min(plan.N, (b + perShard) * B);
        const n = r1 - r0;
        shards.push({
          fullS: S, index: shards.length, plan: { ...plan, N: n, items: n, itemShape: [n] },
          inputShape: [n, C], input: [r0 * C, r1 * C],
          targetShape: isProb ? [n, C] : [n], target: isProb ? [r0 * C, r1 * C] : [r0, r1],
          items: n, itemOffset: r0, blocks: Math.ceil(n / B),
        });
      }
      return shards;
    }
    const perImage = Math.ceil(S / B);
    if (perShard >= perImage) {
      const images = Math.max(1, Math.floor(perShard / perImage));
      for (let n0 = 0; n0 < plan.N; n0 += images) {
        const n1 = Math.min(plan.N, n0 + images);
        const n = n1 - n0;
        shards.push({
          fullS: S, index: shards.length, plan: { ...plan, N: n, items: n * S, itemShape: [n, S] },
          inputShape: [n, C, S], input: [n0 * C * S, n1 * C * S],
          targetShape: isProb ? [n, C, S] : [n, S], target: isProb ? [n0 * C * S, n1 * C * S] : [n0 * S, n1 * S],
          items: n * S, itemOffset: n0 * S, blocks: n * perImage,
        });
      }
      return shards;
    }
    for (let image = 0; image < plan.N; image++) {
      for (let b = 0; b < perImage; b += perShard) {
        const p0 = b * B, p1 = Math.min(S, (b + perShard) * B);
        const len = p1 - p0;
        shards.push({
          fullS: S, index: shards.length, plan: { ...plan, N: 1, S: len, items: len, itemShape: [1, len] },
          inputShape: [1, C, len], input: [0, C * len],
          targetShape: isProb ? [1, C, len] : [1, len], target: isProb ? [0, C * len] : [image * S + p0, image * S + p1],
          items: len, itemOffset: image * S + p0, pixelRange: { image, start: p0, len }, blocks: Math.ceil(len / B),
        });
      }
    }
    return shards;
  }

  /** Puts the shards' partials, values, log_prob and first bad target back in the full problem's order. */
  private assemble(plan: LossPlan, shards: Shard[], results: BlockResults[], wantValues: boolean, B: number, target: Tensor): BlockResults {
    const partials = new Float64Array(blockCount(plan, B) * 3);
    const f64 = plan.dtype === 'float64';
    const Arr = f64 ? Float64Array : Float32Array;
    const values = wantValues ? new Arr(plan.items) : undefined;
    const logProb = plan.returnLogProb ? new Arr(plan.N * plan.C * plan.S) : undefined;
    let offset = 0;
    let bad: number | undefined;
    shards.forEach((s, i) => {
      const r = results[i]!;
      if (r.badTarget) {
        const g = s.itemOffset + r.badTarget.index;
        if (bad === undefined || g < bad) bad = g;
        return;
      }
      partials.set(r.partials, offset);
      offset += r.partials.length;
      if (values && r.values) values.set(r.values, s.itemOffset);
      if (logProb && r.logProb) {
        if (!s.pixelRange) logProb.set(r.logProb, plan.layout === 'rows' ? s.itemOffset * plan.C : (s.itemOffset / plan.S) * plan.C * plan.S);
        else {
          const { image, start, len } = s.pixelRange;
          for (let c = 0; c < plan.C; c++) {
            logProb.set(r.logProb.subarray(c * len, (c + 1) * len), (image * plan.C + c) * plan.S + start);
          }
        }
      }
    });
    if (bad !== undefined) return { partials, badTarget: { index: bad, value: String(target.data[bad]) } };
    return { partials, values, logProb };
  }
}

function countItems(shards: Shard[], results: (BlockResults | undefined)[]): number {
  let n = 0;
  shards.forEach((s, i) => { if (results[i]) n += s.items; });
  return n;
}

/** Transfer mode: the shard's tensors as fresh copies (their buffers can be transferred). */
function copyShard(s: Shard, input: Tensor, target: Tensor): ShardRequest & { input: Tensor; target: Tensor } {
  const isProb = s.plan.kind === 'prob';
  if (s.pixelRange) {
    return {
      plan: s.plan,
      input: gatherPixels(input, s),
      target: isProb ? gatherPixels(target, s) : sliceTensor(target, s.targetShape, s.target[0], s.target[1]),
    };
  }
  return {
    plan: s.plan,
    input: sliceTensor(input, s.inputShape, s.input[0], s.input[1]),
    target: sliceTensor(target, s.targetShape, s.target[0], s.target[1]),
  };
}

/**
 * Shared mode, a worker's shard: addresses in the shared memory, of the copies the calling thread
 * makes (`staged`) or of the caller's tensors where they already lie there (`inputAt`, `targetAt`).
 * A pixel range in place starts at its first pixel with the image's class stride.
 */
function sharedShard(s: Shard, input: Tensor, target: Tensor, inputAt: number | undefined, targetAt: number | undefined,
                     staged?: { input?: TensorRef; target?: TensorRef }): ShardRequest {
  const ie = input.data.BYTES_PER_ELEMENT, te = target.data.BYTES_PER_ELEMENT;
  const isProb = s.plan.kind === 'prob';
  const ref = (t: Tensor, at: number, es: number, shape: readonly number[], from: number, length: number): TensorRef =>
    ({ dtype: t.dtype, shape, ptr: at + from * es, length });
  const indexTarget = () => staged?.target ?? ref(target, targetAt!, te, s.targetShape, s.target[0], s.target[1] - s.target[0]);
  if (s.pixelRange && !staged?.input) {
    const { image, start, len } = s.pixelRange;
    const C = s.plan.C, S = s.fullS;
    const first = image * C * S + start, length = (C - 1) * S + len;
    return {
      plan: s.plan, classStride: S,
      input: ref(input, inputAt!, ie, s.inputShape, first, length),
      target: isProb ? ref(target, targetAt!, te, s.targetShape, first, length) : indexTarget(),
    };
  }
  return {
    plan: s.plan,
    input: staged?.input ?? ref(input, inputAt!, ie, s.inputShape, s.input[0], s.input[1] - s.input[0]),
    target: indexTarget(),
  };
}

/** The calling thread's shard: views of the caller's tensors (a pixel range with its image's class stride). */
function viewShard(s: Shard, input: Tensor, target: Tensor): ShardRequest {
  if (s.pixelRange) {
    const { image, start, len } = s.pixelRange;
    const C = s.plan.C, S = s.fullS;
    const first = image * C * S + start, end = first + (C - 1) * S + len;
    const isProb = s.plan.kind === 'prob';
    return {
      plan: s.plan, classStride: S,
      input: viewTensor(input, s.inputShape, first, end),
      target: isProb ? viewTensor(target, s.targetShape, first, end) : viewTensor(target, s.targetShape, s.target[0], s.target[1]),
    };
  }
  return {
    plan: s.plan,
    input: viewTensor(input, s.inputShape, s.input[0], s.input[1]),
    target: viewTensor(target, s.targetShape, s.target[0], s.target[1]),
  };
}

/**
 * Where a tensor lies in the shared memory, when it does, with the kernels' over-read slack after
 * it (for logits and probability targets: 3 rows of C and a vector) inside the memory.
 */
function addressIn(views: MemoryViews, t: Tensor, C: number): number | undefined {
  return views.addressOf(t.data, t.data.byteLength, C > 0 ? 3 * 4 * C + 64 : 64);
}

/** allocShared's over-read slack: 3 rows and a vector past logits (at most 1 MiB: a 1-D target needs 16 bytes). */
function allocSlack(shape: readonly number[]): number {
  return Math.min(3 * 4 * (shape.length >= 2 ? shape[1]! : shape[0] ?? 0) + 64, 1 << 20);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Lets queued events run (setImmediate where there is one: no 1 ms clamp). */
const yieldToEvents = (): Promise<void> => new Promise(resolve => {
  const g = globalThis as { setImmediate?: (f: () => void) => void; setTimeout(f: () => void, ms: number): unknown };
  if (g.setImmediate) g.setImmediate(resolve);
  else g.setTimeout(resolve, 0);
});


/**
 * Copies elements [from, from + n) of `src` to byte `at` of `dst` as bytes: a byte view's set() is a
 * memcpy, where Node 20 copied some float views element by element (see compute/engine.ts).
 */
function copyBytes(src: TypedArray, from: number, n: number, dst: ArrayBufferLike, at: number): void {
  const es = src.BYTES_PER_ELEMENT;
  new Uint8Array(dst, at, n * es).set(new Uint8Array(src.buffer, src.byteOffset + from * es, n * es));
}

/** Elements [from, to) of `t` as a tensor of `shape`, sharing its memory. */
function viewTensor(t: Tensor, shape: readonly number[], from: number, to: number): Tensor {
  return { dtype: t.dtype, shape, data: t.data.subarray(from, to) as TypedArray };
}

/** A copy of elements [from, to) as a tensor of `shape` (a copy, so its buffer can be transferred). */
function sliceTensor(t: Tensor, shape: readonly number[], from: number, to: number): Tensor {
  return { dtype: t.dtype, shape, data: t.data.slice(from, to) as TypedArray };
}

/** A pixel-range shard's pixels of an [N, C, S] tensor, as a fresh [1, C, len] tensor. */
function gatherPixels(t: Tensor, s: Shard): Tensor {
  const { image, start, len } = s.pixelRange!;
  const C = s.plan.C, S = s.fullS;
  const src = t.data;
  const out = new (src.constructor as { new(n: number): TypedArray })(C * len);
  for (let c = 0; c < C; c++) {
    const from = (image * C + c) * S + start;
    (out as { set(a: ArrayLike<unknown>, o: number): void }).set(src.subarray(from, from + len) as ArrayLike<unknown>, c * len);
  }
  return { dtype: t.dtype, shape: [1, C, len], data: out };
}
