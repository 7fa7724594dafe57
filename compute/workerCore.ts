// The engine worker's side of the pool protocol, runtime-neutral: Node's worker_threads host
// (compute/node/worker.ts) and the browser Worker host (compute/browser/worker.ts) wire it up. In
// shared mode the worker's instance runs on the pool's shared memory, its shards are addresses
// there and it computes in the workspace range each request names; it never allocates.

import {
  compileEngine, createEngineSync, createSharedEngine,
  type BlockResults, type Engine, type SharedEngine, type WasmBytes, type WasmModule,
} from './engine';
import type { LossPlan } from './semantics';
import { MemoryViews, type WasmMemory } from './sharedMemory';
import type { Tensor, TensorDtype } from './types';

/**
 * A tensor in the pool's shared wasm memory, by address: every thread views it through its own
 * instance (a view posted to another thread would be a different buffer object there).
 */
export interface TensorRef {
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
  /** byte address in the shared memory */
  readonly ptr: number;
  /** elements from `ptr` the shard reads (a pixel range spans its image's class planes) */
  readonly length: number;
}

/** One shard: a self-contained sub-problem cut on block boundaries. */
export interface ShardRequest {
  readonly plan: LossPlan;
  /**
   * A copy (transfer mode: transferred), a view of the caller's arrays (the calling thread's own
   * shards) or an address in the shared memory (the workers' shards in shared mode).
   */
  readonly input: Tensor | TensorRef;
  readonly target: Tensor | TensorRef;
  /** A pixel range read in place: its image's class planes are this many elements apart (ComputeRequest.classStride). */
  readonly classStride?: number;
}

/** Pool → worker. */
export type WorkerRequest =
  /**
   * Instantiate the engine from a compiled module (preferred) or the wasm bytes; with `memory` (a
   * shared-memory build), against the pool's shared memory.
   */
  | { readonly type: 'init'; readonly module?: WasmModule; readonly bytes?: WasmBytes; readonly memory?: WasmMemory }
  /**
   * Compute shards; one reply for all of them. Without `board`, every shard, in order. With it
   * (shared memory), the shards this worker claims on the board, until none is left.
   */
  | {
    readonly type: 'compute'; readonly id: number; readonly shards: readonly ShardRequest[];
    readonly weight?: Tensor; readonly blockItems: number; readonly wantValues: boolean;
    /** Post `progress` replies while computing (only when the caller watches progress). */
    readonly progress?: boolean;
    readonly board?: SharedArrayBuffer;
    /** Shared mode: this worker's range of the shared memory for its block workspace. */
    readonly workspace?: { readonly ptr: number; readonly bytes: number };
  };

/** Worker → pool. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly kind: string }
  /** `done` items of this request's shards so far. */
  | { readonly type: 'progress'; readonly id: number; readonly done: number }
  /** One result per shard computed: every shard in order, or (with a board) those in `indices`. */
  | { readonly type: 'result'; readonly id: number; readonly results: readonly BlockResults[]; readonly indices?: readonly number[] }
  | { readonly type: 'error'; readonly id?: number; readonly name: string; readonly message: string };

/** Posts a reply, transferring the listed buffers. */
export type ReplyPort = (reply: WorkerReply, transfer: ArrayBuffer[]) => void;

/** Returns the message handler of one engine worker. */
export function createWorkerHandler(post: ReplyPort): (request: WorkerRequest) => Promise<void> {
  let engine: Engine | undefined;
  return async request => {
    try {
      if (request.type === 'init') {
        const module = request.module ?? (request.bytes ? await compileEngine(request.bytes) : undefined);
        if (!module) throw new Error('init needs a module or the wasm bytes');
        engine = request.memory ? createSharedEngine(module, new MemoryViews(request.memory)) : createEngineSync(module);
        post({ type: 'ready', kind: engine.kind }, []);
        return;
      }
      if (!engine) throw new Error('the engine worker got work before init');
      const onProgress = request.progress ? (done: number) => post({ type: 'progress', id: request.id, done }, []) : undefined;
      let results: BlockResults[];
      let indices: number[] | undefined;
      if (request.board) {
        indices = [];
        results = computeClaimed(engine, request, new Int32Array(request.board), indices, onProgress);
      } else {
        results = computeShards(engine, request, onProgress);
      }
      const transfer: ArrayBuffer[] = [];
      for (const r of results) {
        transfer.push(r.partials.buffer as ArrayBuffer);
        if (r.values) transfer.push(r.values.buffer as ArrayBuffer);
        if (r.logProb) transfer.push(r.logProb.buffer as ArrayBuffer);
      }
      post(indices ? { type: 'result', id: request.id, results, indices } : { type: 'result', id: request.id, results }, transfer);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', id: request.type === 'compute' ? request.id : undefined, name: e.name, message: e.message }, []);
    }
  };
}

/**
 * Computes a request's shards on one engine, in order (the pool's calling thread runs the same code
 * on its own engine). `onProgress` gets the items done so far over all the shards.
 */
export function computeShards(
  engine: Engine,
  request: {
    readonly shards: readonly ShardRequest[]; readonly weight?: Tensor; readonly blockItems: number; readonly wantValues: boolean;
    readonly workspace?: { readonly ptr: number; readonly bytes: number };
  },
  onProgress?: (done: number) => void,
): BlockResults[] {
  const results: BlockResults[] = [];
  let before = 0;
  for (const shard of request.shards) {
    const base = before;
    results.push(engine.computeBlocks({
      plan: shard.plan, input: resolve(engine, shard.input), target: resolve(engine, shard.target),
      weight: request.weight, blockItems: request.blockItems, wantValues: request.wantValues,
      classStride: shard.classStride, workspace: request.workspace,
      onProgress: onProgress ? done => onProgress(base + done) : undefined,
    }));
    before += shard.plan.items;
    onProgress?.(before);
  }
  return results;
}

/** A shard's tensor as this thread sees it: an address in the shared memory becomes a view of it. */
function resolve(engine: Engine, t: Tensor | TensorRef): Tensor {
  if (!('ptr' in t)) return t;
  const shared = engine as Partial<SharedEngine>;
  if (!shared.tensorAt) throw new Error('internal: a shared-memory shard sent to an engine with its own memory');
  return shared.tensorAt(t.ptr, t.shape, t.dtype, t.length);
}

/**
 * The claim board of a shared-memory evaluation: three int32 words in a SharedArrayBuffer that the
 * calling thread and the workers update atomically, so threads take shards as they get free (the
 * work balances itself across threads slowed by other load) with no message per shard.
 * - FRONT_BACK: the next shard from the front (low 16 bits; workers take these) and one past the
 *   next from the back (high 16 bits; the calling thread takes these).
 * - COPIED: shards from the front whose inputs are in the shared memory (the caller copies an input
 *   that was not there ahead of the workers, and notifies); all of them when it was.
 * - STOP: set on cancellation or failure.
 */
export const BOARD = { FRONT_BACK: 0, COPIED: 1, STOP: 2, WORDS: 3 } as const;
/** Shards per evaluation are limited by the board's 16-bit fields (kept clear of the sign bit). */
export const MAX_BOARD_SHARDS = 0x7fff;

/** Takes the next shard from the front; undefined when none is left (or the evaluation stopped). */
export function claimFront(board: Int32Array): number | undefined {
  for (;;) {
    if (Atomics.load(board, BOARD.STOP)) return undefined;
    const s = Atomics.load(board, BOARD.FRONT_BACK);
    const front = s & 0xffff, back = s >>> 16;
    if (front >= back) return undefined;
    if (Atomics.compareExchange(board, BOARD.FRONT_BACK, s, s + 1) === s) return front;
  }
}

/** A worker's loop: claim, wait until the shard's input is in shared memory, compute; repeat. */
function computeClaimed(
  engine: Engine, request: Extract<WorkerRequest, { type: 'compute' }>, board: Int32Array, indices: number[],
  onProgress?: (done: number) => void,
): BlockResults[] {
  const results: BlockResults[] = [];
  let before = 0;
  for (let i = claimFront(board); i !== undefined; i = claimFront(board)) {
    for (;;) {
      const copied = Atomics.load(board, BOARD.COPIED);
      if (copied > i || Atomics.load(board, BOARD.STOP)) break;
      // woken by the caller's notify; the timeout only bounds a lost wake-up
      Atomics.wait(board, BOARD.COPIED, copied, 100);
    }
    if (Atomics.load(board, BOARD.STOP)) break;
    const base = before;
    // (fields named, not `...request`: V8 11 builds an object literal that starts with a spread slowly)
    const [r] = computeShards(engine, {
      shards: [request.shards[i]!], weight: request.weight, blockItems: request.blockItems, wantValues: request.wantValues,
      workspace: request.workspace,
    }, onProgress ? d => onProgress(base + d) : undefined);
    results.push(r!);
    indices.push(i);
    before += request.shards[i]!.plan.items;
  }
  return results;
}
