// A pool of engine workers, runtime-neutral: splits a loss evaluation into shards cut on the fixed
// block boundaries (compute/finish.ts), runs them on the workers (each with its own wasm instance),
// and adds the block partials in block order, so the result is bit-identical to one engine's.
// Progress is reported per shard; an AbortSignal terminates the workers (they restart on next use).
// Hosts: compute/node/pool.ts (worker_threads), compute/browser/pool.ts (Web Workers).

import type { BlockResults, WasmBytes, WasmModule } from './engine';
import { blockItems, blockCount, finishTfjs, torchResult } from './finish';
import { planTfjs, planTorch, type LossPlan } from './semantics';
import {
  CancelledError,
  type EngineKind, type LossOptions, type LossResult, type Tensor, type TfjsLossOptions, type TypedArray,
} from './types';
import type { WorkerReply, WorkerRequest } from './workerCore';

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
  /** Number of workers (≥ 1). */
  readonly size: number;
  /** The engine build for every worker: a compiled module (shared, no recompiling) or bytes. */
  readonly module?: WasmModule;
  readonly bytes?: WasmBytes;
  /** Inputs with fewer logits than this go to one worker in one shard (default 2^18). */
  readonly minParallelElements?: number;
}

export interface RunOptions {
  /** Called after each shard: items done of total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborting rejects with CancelledError and terminates the workers. */
  readonly signal?: AbortSignal;
}

/** A shard: the sub-problem for one worker, and where its outputs go in the full result. */
interface Shard {
  readonly plan: LossPlan;
  /** The shard's input and target, copied out when the shard is dispatched (not all up front). */
  readonly tensors: () => { input: Tensor; target: Tensor };
  readonly items: number;
  /** item offset of the shard's first item, or, for a pixel range, the image and pixel start */
  readonly itemOffset: number;
  readonly pixelRange?: { readonly image: number; readonly start: number; readonly len: number };
  readonly blocks: number;
}

interface Slot {
  port: WorkerPort;
  ready: Promise<void>;
  busy: boolean;
  onReply?: (reply: WorkerReply) => void;
  onError?: (err: Error) => void;
  kind?: string;
}

export class EnginePool {
  private slots: Slot[] = [];
  private readonly options: PoolOptions;

  constructor(options: PoolOptions) {
    if (!(options.size >= 1)) throw new RangeError('a pool needs at least one worker');
    if (!options.module && !options.bytes) throw new RangeError('a pool needs the engine module or bytes');
    this.options = options;
  }

  get size(): number {
    return this.options.size;
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

  /** Terminates every worker; the pool starts new ones if used again. */
  terminate(): void {
    for (const s of this.slots) s.port.terminate();
    this.slots = [];
  }

  private async runTorch(makePlan: () => LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, run: RunOptions): Promise<LossResult> {
    const plan = makePlan();
    const t0 = now();
    const r = await this.compute(plan, input, target, weight, plan.reduction === 'none', run);
    return torchResult(plan, r, now() - t0, r.kind);
  }

  /** Shards the plan, runs the shards on free workers, and reassembles the results in order. */
  private compute(plan: LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, wantValues: boolean,
                  run: RunOptions): Promise<BlockResults & { kind: EngineKind }> {
    // one evaluation at a time: the workers' reply handlers belong to the running one
    const result = this.queue.then(() => this.computeNow(plan, input, target, weight, wantValues, run));
    this.queue = result.then(() => undefined, () => undefined);
    return result;
  }

  private queue: Promise<void> = Promise.resolve();

  private async computeNow(plan: LossPlan, input: Tensor, target: Tensor, weight: Tensor | undefined, wantValues: boolean,
                           run: RunOptions): Promise<BlockResults & { kind: EngineKind }> {
    if (run.signal?.aborted) throw new CancelledError();
    const B = blockItems(plan.C);
    const shards = this.shard(plan, input, target, B);
    const results: (BlockResults | undefined)[] = new Array(shards.length);
    let done = 0;
    let next = 0;
    let kind = 'wasm-simd';
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        this.terminate();
        reject(err);
      };
      const abort = () => fail(new CancelledError());
      run.signal?.addEventListener('abort', abort, { once: true });
      const finish = () => {
        run.signal?.removeEventListener('abort', abort);
        if (!settled) { settled = true; resolve(); }
      };
      if (shards.length === 0) { finish(); return; }
      const dispatch = (slot: Slot) => {
        if (settled) return;
        if (next >= shards.length) {
          if (done === shards.length) finish();
          return;
        }
        const index = next++;
        const s = shards[index]!;
        slot.busy = true;
        slot.onReply = reply => {
          if (reply.type === 'error') { fail(new Error(`engine worker: ${reply.name}: ${reply.message}`)); return; }
          if (reply.type !== 'result') return;
          slot.busy = false;
          results[index] = reply.result;
          done++;
          run.onProgress?.(countItems(shards, results), plan.items);
          dispatch(slot);
        };
        slot.onError = fail;
        // shard tensors are fresh copies (sliceTensor / gatherPixels): hand them over without copying
        const { input: shardInput, target: shardTarget } = s.tensors();
        const transfer = [shardInput.data.buffer as ArrayBuffer, shardTarget.data.buffer as ArrayBuffer];
        slot.port.post({
          type: 'compute', id: index, plan: s.plan, input: shardInput, target: shardTarget, weight,
          blockItems: B, wantValues,
        }, transfer);
      };
      const slots = this.ensureSlots(Math.min(this.options.size, shards.length));
      for (const slot of slots) {
        slot.ready.then(() => {
          kind = slot.kind ?? kind;
          dispatch(slot);
        }, fail);
      }
    });
    return { ...this.assemble(plan, shards, results as BlockResults[], wantValues, B, target), kind: kind as EngineKind };
  }

  private ensureSlots(n: number): Slot[] {
    while (this.slots.length < n) {
      const port = this.options.factory();
      const slot: Slot = { port, busy: false, ready: Promise.resolve() };
      slot.ready = new Promise<void>((resolve, reject) => {
        port.listen(reply => {
          if (reply.type === 'ready') { slot.kind = reply.kind; resolve(); return; }
          if (reply.type === 'error' && reply.id === undefined) { reject(new Error(`engine worker failed to start: ${reply.message}`)); return; }
          slot.onReply?.(reply);
        }, err => {
          reject(err);
          slot.onError?.(err);
        });
      });
      const transfer: ArrayBuffer[] = [];
      port.post({ type: 'init', module: this.options.module, bytes: this.options.module ? undefined : this.options.bytes }, transfer);
      this.slots.push(slot);
    }
    return this.slots.slice(0, n);
  }

  /**
   * Cuts the problem into shards on block boundaries: runs of rows; runs of whole images; or, when
   * there are fewer images than workers want, runs of pixel blocks inside one image (gathered into a
   * [1, C, len] tensor).
   */
  private shard(plan: LossPlan, input: Tensor, target: Tensor, B: number): Shard[] {
    const nBlocks = blockCount(plan, B);
    const elements = plan.N * plan.C * plan.S;
    const want = elements < (this.options.minParallelElements ?? 1 << 18) ? 1 : this.options.size * 4;
    const perShard = Math.max(1, Math.ceil(nBlocks / want));
    const { C, S } = plan;
    const shards: Shard[] = [];
    const isProb = plan.kind === 'prob';
    if (plan.layout === 'rows') {
      for (let b = 0; b < nBlocks; b += perShard) {
        const r0 = b * B, r1 = Math.min(plan.N, (b + perShard) * B);
        const n = r1 - r0;
        shards.push({
          plan: { ...plan, N: n, items: n, itemShape: [n] },
          tensors: () => ({
            input: sliceTensor(input, [n, C], r0 * C, r1 * C),
            target: isProb ? sliceTensor(target, [n, C], r0 * C, r1 * C) : sliceTensor(target, [n], r0, r1),
          }),
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
          plan: { ...plan, N: n, items: n * S, itemShape: [n, S] },
          tensors: () => ({
            input: sliceTensor(input, [n, C, S], n0 * C * S, n1 * C * S),
            target: isProb ? sliceTensor(target, [n, C, S], n0 * C * S, n1 * C * S) : sliceTensor(target, [n, S], n0 * S, n1 * S),
          }),
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
          plan: { ...plan, N: 1, S: len, items: len, itemShape: [1, len] },
          tensors: () => ({
            input: gatherPixels(input, image, C, S, p0, len),
            target: isProb ? gatherPixels(target, image, C, S, p0, len) : sliceTensor(target, [1, len], image * S + p0, image * S + p1),
          }),
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

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A copy of elements [from, to) as a tensor of `shape` (a copy, so its buffer can be transferred). */
function sliceTensor(t: Tensor, shape: number[], from: number, to: number): Tensor {
  return { dtype: t.dtype, shape, data: t.data.slice(from, to) as TypedArray };
}

/** Pixels [p0, p0 + len) of one image of an [N, C, S] tensor, as a [1, C, len] tensor. */
function gatherPixels(t: Tensor, image: number, C: number, S: number, p0: number, len: number): Tensor {
  const src = t.data;
  const out = new (src.constructor as { new(n: number): TypedArray })(C * len);
  for (let c = 0; c < C; c++) {
    const from = (image * C + c) * S + p0;
    (out as { set(a: ArrayLike<unknown>, o: number): void }).set(src.subarray(from, from + len) as ArrayLike<unknown>, c * len);
  }
  return { dtype: t.dtype, shape: [1, C, len], data: out };
}
