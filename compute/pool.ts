// A pool of engine workers, runtime-neutral: splits a loss evaluation into shards cut on the fixed
// block boundaries (compute/finish.ts), runs them on the workers (each with its own wasm instance)
// and, optionally, on the calling thread, and adds the block partials in block order, so the result
// is bit-identical to one engine's.
//
// Two ways to hand out the work:
// - shared (Node worker_threads; a cross-origin-isolated page): the input lives in a
//   SharedArrayBuffer (the caller's, or copied into a pool-owned buffer that is reused, only the
//   shards the workers take, just ahead of them), and each worker gets one request naming every
//   shard as a view of it, and sends one reply. Threads claim shards on an atomic board as they get
//   free, the calling thread too (reading its own memory in place), so the split balances itself;
//   the caller yields between shards so that cancellation and progress still get through.
// - transfer (browser webviews, which are not cross-origin isolated): each shard is copied out and
//   transferred to the next free worker, four shards per worker, as they finish.
// An AbortSignal terminates the workers (new ones start on next use); so does a crashed worker.
// Hosts: compute/node/pool.ts (worker_threads), compute/browser/pool.ts (Web Workers).

import { DTYPE_SIZE, viewElements } from './dtypes';
import { createEngineSync, type BlockResults, type Engine, type WasmBytes, type WasmModule } from './engine';
import { blockItems, blockCount, finishTfjs, torchResult } from './finish';
import { planTfjs, planTorch, type LossPlan } from './semantics';
import {
  CancelledError, EngineInputError,
  type EngineKind, type LossOptions, type LossResult, type Tensor, type TensorDtype, type TfjsLossOptions, type TypedArray,
} from './types';
import { BOARD, MAX_BOARD_SHARDS, computeShards, type ShardRequest, type WorkerReply, type WorkerRequest } from './workerCore';

/** One worker, as the pool sees it (a Node Worker or a browser Worker behind an adapter). */
export interface WorkerPort {
  post(request: WorkerRequest, transfer: ArrayBuffer[]): void;
  /** Called once; `onError` covers crashes and failed loads. */
  listen(onMessage: (reply: WorkerReply) => void, onError: (err: Error) => void): void;
  terminate(): void;
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
   * Inputs with fewer logits than this go to one thread in one shard. Default: 2^22 with a
   * computing caller (that input then never leaves the calling thread), else 2^18. Measured on 2
   * cores, interleaved: split in two, [65536, 10] (0.6 ms on one thread) and [4096, 1000] (2.8 ms)
   * ran 15-25% slower than on the calling thread alone, shared input or not; [512, 32000] (16M
   * logits) and [8, 21, 512, 512] ran 1.2-1.5x faster.
   */
  readonly minParallelElements?: number;
  /**
   * The workers can read SharedArrayBuffer views: shards are posted as views of shared memory, one
   * request per worker, instead of copies. Needs SharedArrayBuffer in this runtime.
   */
  readonly shared?: boolean;
  /**
   * The calling thread computes a share itself (counted in `size`) rather than idle while the
   * workers run: for programs that own their thread (the command line, benchmarks), not a UI thread.
   * Needs `module` and `shared`.
   */
  readonly callerComputes?: boolean;
}

export interface RunOptions {
  /** Called as shards progress: items done of total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborting rejects with CancelledError and terminates the workers. */
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
   * shapes. A pixel range gathers its input (and probability targets): their range is then [0, C·len).
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
}

/**
 * Shards per thread. Transfer mode: four, handed out as workers get free. Shared mode: eight on the
 * claim board, so that a thread slowed by other load takes fewer (and cancellation, progress and
 * the calling thread's copy-ahead get a turn between shards).
 */
const PIECES = 4;
const SHARED_PIECES = 8;
const SHARD_MIN_ELEMENTS = 1 << 18;
/** How long the calling thread computes between turns of the event loop. */
const YIELD_MS = 1;

const hasSharedMemory = typeof SharedArrayBuffer === 'function';

export class EnginePool {
  private slots: Slot[] = [];
  private readonly options: PoolOptions;
  private readonly shared: boolean;
  private readonly callerComputes: boolean;
  /** The calling thread's engine (callerComputes), instantiated on first use. */
  private local?: Engine;
  /** Where non-shared inputs are copied for the workers; reused (and replaced when too small). */
  private scratch?: SharedArrayBuffer;

  constructor(options: PoolOptions) {
    if (!(options.size >= 1)) throw new RangeError('a pool needs at least one worker');
    if (!options.module && !options.bytes) throw new RangeError('a pool needs the engine module or bytes');
    if (options.callerComputes && (!options.module || !options.shared)) {
      throw new RangeError('a pool whose calling thread computes needs the compiled module and shared memory');
    }
    if (options.shared && !hasSharedMemory) throw new RangeError('this runtime has no SharedArrayBuffer');
    this.options = options;
    this.shared = !!options.shared;
    this.callerComputes = !!options.callerComputes;
  }

  /** Threads computing, the calling thread included when it computes. */
  get size(): number {
    return this.options.size;
  }

  /**
   * A tensor the workers read without a copy: its `data` is a view of a SharedArrayBuffer (or, in a
   * pool without shared memory, of an ordinary buffer). Fill `data` and pass the tensor: the pool's
   * zero-copy input, as `Engine.allocInput` is the single engine's.
   */
  allocShared(shape: readonly number[], dtype: TensorDtype = 'float32'): Tensor {
    if (shape.some(d => !Number.isSafeInteger(d) || d < 0)) throw new EngineInputError(`invalid shape ${JSON.stringify(shape)}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = n * DTYPE_SIZE[dtype];
    let buffer: ArrayBufferLike;
    try {
      buffer = this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    } catch {
      throw new EngineInputError(`cannot allocate ${Math.ceil(bytes / 2 ** 20)} MiB for a ${JSON.stringify(shape)} ${dtype} tensor`);
    }
    return { dtype, shape: [...shape], data: viewElements(buffer, 0, dtype, n) };
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
   * Terminates every worker and lets go of the pool's memory (the scratch buffer, the calling
   * thread's engine); the pool starts afresh if used again.
   */
  terminate(): void {
    this.stopWorkers();
    this.scratch = undefined;
    this.local = undefined;
  }

  /** Ends the workers (a failed or cancelled evaluation: one may be mid-shard); new ones start on next use. */
  private stopWorkers(): void {
    for (const s of this.slots) s.port.terminate();
    this.slots = [];
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
    // one evaluation at a time: the workers' reply handlers (and the scratch buffer) belong to the running one
    const job = { plan, input, target, weight, wantValues, run };
    const result = this.queue.then(() => this.shared ? this.computeShared(job) : this.computeTransfer(job));
    this.queue = result.then(() => undefined, () => undefined);
    return result;
  }

  private queue: Promise<void> = Promise.resolve();

  /** Transfer mode: shards copied out one at a time and transferred to whichever worker is free. */
  private async computeTransfer(job: Job): Promise<BlockResults & { kind: EngineKind }> {
    const { plan, input, target, weight, wantValues, run } = job;
    if (run.signal?.aborted) throw new CancelledError();
    const B = blockItems(plan.C);
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
   * Shared mode: one request per worker with every shard as views of shared memory, one reply each.
   * Threads take shards from a claim board (workerCore.ts BOARD) as they get free: workers from the
   * front, the calling thread from the back, reading its own memory in place. An input that is not
   * shared yet is copied into the pool's scratch buffer by the calling thread a few shards ahead of
   * the workers, so they start after one shard's copy rather than after all of it.
   */
  private async computeShared(job: Job): Promise<BlockResults & { kind: EngineKind }> {
    const { plan, input, target, weight, wantValues, run } = job;
    if (run.signal?.aborted) throw new CancelledError();
    const B = blockItems(plan.C);
    const threads = this.options.size;
    const small = plan.N * plan.C * plan.S < (this.options.minParallelElements ?? (this.callerComputes ? 1 << 22 : 1 << 18));
    const caller = this.callerComputes ? (this.local ??= createEngineSync(this.options.module!)) : undefined;
    const workers = caller ? threads - 1 : threads;
    // Shards of at least SHARD_MIN_ELEMENTS (each costs a claim, a kernel set-up, a turn for the
    // caller), at least two per thread (the board balances on them), at most SHARED_PIECES per thread.
    const elements = plan.N * plan.C * plan.S;
    const want = Math.min(threads * SHARED_PIECES, Math.max(threads * 2, Math.ceil(elements / SHARD_MIN_ELEMENTS)));
    const shards = this.shard(plan, B, small ? 1 : Math.min(MAX_BOARD_SHARDS, want));
    const results: (BlockResults | undefined)[] = new Array(shards.length);
    // one shard (a small input) on a computing caller: no worker, no message
    const active = caller && shards.length <= 1 ? 0 : Math.min(workers, shards.length);
    const inputShared = isShared(input.data);
    const targetShared = isShared(target.data);
    const staged = active > 0 && !(inputShared && targetShared) ? this.stage(shards, input, target, inputShared, targetShared) : undefined;
    const board = new Int32Array(new SharedArrayBuffer(BOARD.WORDS * 4));
    board[BOARD.FRONT_BACK] = shards.length << 16;
    board[BOARD.COPIED] = staged ? 0 : shards.length;
    const requests = active > 0 ? shards.map(sh => sharedShard(sh, input, target, staged?.tensors[sh.index])) : [];
    const doneBy = new Array<number>(active + 1).fill(0);
    const progress = run.onProgress;
    const report = progress ? () => progress(Math.min(plan.items, doneBy.reduce((a, b) => a + b, 0)), plan.items) : undefined;
    let kind: string = caller?.kind ?? 'wasm-simd';
    // A worker's 'ready' may be waiting in the event loop (the caller was busy, say reading files):
    // let it in, so that the worker gets its request now rather than at the caller's first turn.
    const slots = this.ensureSlots(active);
    if (slots.some(slot => !slot.isReady)) {
      await yieldToEvents();
      if (run.signal?.aborted) throw new CancelledError();
    }
    const stop = () => {
      Atomics.store(board, BOARD.STOP, 1);
      Atomics.notify(board, BOARD.COPIED);
    };
    await this.settle(run, (finish, fail, settled) => {
      let pending = active + 1;
      const oneDone = () => { if (--pending === 0) finish(); };
      slots.forEach((slot, w) => {
        slot.onReply = reply => {
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
          slot.port.post({
            type: 'compute', id: w, shards: requests, weight, blockItems: B, wantValues, progress: !!progress,
            board: board.buffer as SharedArrayBuffer,
          }, []);
        };
        // a warm worker gets its request before the calling thread starts computing
        if (slot.isReady) post();
        else slot.ready.then(post, fail);
      });
      // The calling thread: copy ahead for the workers, else take a shard from the back.
      const lookahead = caller ? 2 * active : shards.length;
      void (async () => {
        let lastYield = now();
        for (;;) {
          if (settled()) return;
          const s = Atomics.load(board, BOARD.FRONT_BACK);
          const front = s & 0xffff, back = s >>> 16;
          const copied = Atomics.load(board, BOARD.COPIED);
          if (copied < back && copied < front + lookahead) {
            staged!.copy(copied);
            Atomics.store(board, BOARD.COPIED, copied + 1);
            Atomics.notify(board, BOARD.COPIED);
            continue;
          }
          // all shards taken and every worker's copied (or, dispatching only, all copied)
          if (!caller || front >= back) break;
          if (Atomics.compareExchange(board, BOARD.FRONT_BACK, s, s - 0x10000) !== s) continue;
          const i = back - 1;
          // Between shards, every millisecond or so: let replies, progress and an abort through (and
          // a starting worker's ready message). Not after every shard: a turn of the event loop
          // costs more than a small shard.
          if (now() - lastYield >= YIELD_MS) {
            await yieldToEvents();
            lastYield = now();
            if (settled()) return;
          }
          const before = doneBy[active]!;
          results[i] = computeShards(caller, {
            shards: [viewShard(shards[i]!, input, target)], weight, blockItems: B, wantValues,
          }, report ? d => { doneBy[active] = before + d; report(); } : undefined)[0];
        }
        oneDone();
      })().catch(err => fail(err instanceof Error ? err : new Error(String(err))));
    }, stop);
    return { ...this.assemble(plan, shards, results as BlockResults[], wantValues, B, target), kind: kind as EngineKind };
  }

  /**
   * Runs `start` until it calls `finish` or `fail`; an abort or a failure terminates the workers (a
   * worker may be mid-shard) and rejects. `settled()` tells late callbacks to stop.
   */
  private settle(run: RunOptions, start: (finish: () => void, fail: (err: Error) => void, settled: () => boolean) => void,
                 onStop?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const abort = () => fail(new CancelledError());
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        run.signal?.removeEventListener('abort', abort);
        onStop?.();
        this.stopWorkers();
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
   * Lays out every shard of a non-shared input (and target) in the reused shared scratch buffer and
   * returns the shards' tensors there and the copy that fills one shard's: the calling thread copies
   * only the shards the workers take, just before they need them.
   */
  private stage(shards: readonly Shard[], input: Tensor, target: Tensor, inputShared: boolean, targetShared: boolean):
    { tensors: { input?: Tensor; target?: Tensor }[]; copy(index: number): void } {
    const ie = input.data.BYTES_PER_ELEMENT, te = target.data.BYTES_PER_ELEMENT;
    let total = 0;
    for (const s of shards) {
      if (!inputShared) total += align8((s.input[1] - s.input[0]) * ie);
      if (!targetShared) total += align8((s.target[1] - s.target[0]) * te);
    }
    if (!this.scratch || this.scratch.byteLength < total) {
      this.scratch = undefined;
      try {
        this.scratch = new SharedArrayBuffer(Math.max(total, 1 << 16));
      } catch {
        throw new EngineInputError(`cannot allocate ${Math.ceil(total / 2 ** 20)} MiB of shared memory for the workers' shards`);
      }
    }
    const sab = this.scratch;
    let at = 0;
    const copies: (() => void)[] = [];
    /** Room for elements [from, to) of `t` (for a pixel range, its gathered [1, C, len] pixels) and their copy. */
    const place = (t: Tensor, s: Shard, shape: readonly number[], from: number, to: number, gathered: boolean) => {
      const n = to - from, es = t.data.BYTES_PER_ELEMENT, where = at;
      at += align8(n * es);
      const copy = gathered
        ? () => {
          const { image, start, len } = s.pixelRange!;
          const { C } = s.plan;
          for (let c = 0; c < C; c++) copyBytes(t.data, (image * C + c) * s.fullS + start, len, sab, where + c * len * es);
        }
        : () => copyBytes(t.data, from, n, sab, where);
      return { tensor: { dtype: t.dtype, shape, data: viewElements(sab, where, t.dtype, n) } as Tensor, copy };
    };
    const tensors = shards.map(s => {
      const entry: { input?: Tensor; target?: Tensor } = {};
      const parts: (() => void)[] = [];
      if (!inputShared) {
        const p = place(input, s, s.inputShape, s.input[0], s.input[1], !!s.pixelRange);
        entry.input = p.tensor;
        parts.push(p.copy);
      }
      if (!targetShared) {
        const p = place(target, s, s.targetShape, s.target[0], s.target[1], !!s.pixelRange && s.plan.kind === 'prob');
        entry.target = p.tensor;
        parts.push(p.copy);
      }
      copies[s.index] = () => parts.forEach(f => f());
      return entry;
    });
    return { tensors, copy: index => copies[index]!() };
  }

  private ensureSlots(n: number): Slot[] {
    while (this.slots.length < n) {
      const port = this.options.factory();
      const slot: Slot = { port, ready: Promise.resolve() };
      slot.ready = new Promise<void>((resolve, reject) => {
        port.listen(reply => {
          if (reply.type === 'ready') { slot.kind = reply.kind; slot.isReady = true; resolve(); return; }
          if (reply.type === 'error' && reply.id === undefined) { reject(new Error(`engine worker failed to start: ${reply.message}`)); return; }
          slot.onReply?.(reply);
        }, err => {
          reject(err);
          slot.onError?.(err);
        });
      });
      // a start-up failure is reported by the evaluation that waits for it
      slot.ready.catch(() => undefined);
      port.post({ type: 'init', module: this.options.module, bytes: this.options.module ? undefined : this.options.bytes }, []);
      this.slots.push(slot);
    }
    return this.slots.slice(0, n);
  }

  /**
   * Cuts the problem into about `want` shards on block boundaries: runs of rows; runs of whole
   * images; or, when there are fewer images than shards wanted, runs of pixel blocks inside one image.
   */
  private shard(plan: LossPlan, B: number, want: number): Shard[] {
    const nBlocks = blockCount(plan, B);
    const perShard = Math.max(1, Math.ceil(nBlocks / want));
    const { C, S } = plan;
    const shards: Shard[] = [];
    const isProb = plan.kind === 'prob';
    const base = { fullS: S };
    if (plan.layout === 'rows') {
      for (let b = 0; b < nBlocks; b += perShard) {
        const r0 = b * B, r1 = Math.min(plan.N, (b + perShard) * B);
        const n = r1 - r0;
        shards.push({
          ...base, index: shards.length, plan: { ...plan, N: n, items: n, itemShape: [n] },
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
          ...base, index: shards.length, plan: { ...plan, N: n, items: n * S, itemShape: [n, S] },
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
          ...base, index: shards.length, plan: { ...plan, N: 1, S: len, items: len, itemShape: [1, len] },
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
function copyShard(s: Shard, input: Tensor, target: Tensor): ShardRequest {
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
 * Shared mode, a worker's shard: views of shared memory (structured cloning a view of a
 * SharedArrayBuffer shares it). A pixel range of a shared input is gathered by the worker.
 */
function sharedShard(s: Shard, input: Tensor, target: Tensor, copied?: { input?: Tensor; target?: Tensor }): ShardRequest {
  const isProb = s.plan.kind === 'prob';
  const tgt = copied?.target ?? (s.pixelRange && isProb ? target : viewTensor(target, s.targetShape, s.target[0], s.target[1]));
  if (copied?.input) return { plan: s.plan, input: copied.input, target: tgt };
  if (s.pixelRange) {
    const { image, start, len } = s.pixelRange;
    return {
      plan: s.plan, input, target: tgt,
      gather: { image, start, len, C: s.plan.C, S: s.fullS, target: isProb && !copied?.target },
    };
  }
  return { plan: s.plan, input: viewTensor(input, s.inputShape, s.input[0], s.input[1]), target: tgt };
}

/** The calling thread's shard: views of the caller's tensors (pixel ranges are gathered by computeShards). */
function viewShard(s: Shard, input: Tensor, target: Tensor): ShardRequest {
  if (s.pixelRange) {
    const { image, start, len } = s.pixelRange;
    const isProb = s.plan.kind === 'prob';
    return {
      plan: s.plan, input, target: isProb ? target : viewTensor(target, s.targetShape, s.target[0], s.target[1]),
      gather: { image, start, len, C: s.plan.C, S: s.fullS, target: isProb },
    };
  }
  return {
    plan: s.plan,
    input: viewTensor(input, s.inputShape, s.input[0], s.input[1]),
    target: viewTensor(target, s.targetShape, s.target[0], s.target[1]),
  };
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Lets queued events run (setImmediate where there is one: no 1 ms clamp). */
const yieldToEvents = (): Promise<void> => new Promise(resolve => {
  const g = globalThis as { setImmediate?: (f: () => void) => void; setTimeout(f: () => void, ms: number): unknown };
  if (g.setImmediate) g.setImmediate(resolve);
  else g.setTimeout(resolve, 0);
});

const isShared = (a: TypedArray) => hasSharedMemory && a.buffer instanceof SharedArrayBuffer;

const align8 = (n: number) => Math.ceil(n / 8) * 8;

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
