// The engine worker's side of the pool protocol, runtime-neutral: Node's worker_threads host
// (compute/node/worker.ts) and the browser Worker host (compute/browser/workerHost.ts) wire it up.

import { compileEngine, createEngineSync, type BlockResults, type Engine, type WasmBytes, type WasmModule } from './engine';
import type { LossPlan } from './semantics';
import type { Tensor } from './types';

/** Pool → worker. */
export type WorkerRequest =
  /** Instantiate the engine from a compiled module (preferred) or the wasm bytes. */
  | { readonly type: 'init'; readonly module?: WasmModule; readonly bytes?: WasmBytes }
  /** Compute the blocks of one shard (a self-contained sub-problem cut on block boundaries). */
  | {
    readonly type: 'compute'; readonly id: number; readonly plan: LossPlan; readonly input: Tensor; readonly target: Tensor;
    readonly weight?: Tensor; readonly blockItems: number; readonly wantValues: boolean;
  };

/** Worker → pool. */
export type WorkerReply =
  | { readonly type: 'ready'; readonly kind: string }
  | { readonly type: 'result'; readonly id: number; readonly result: BlockResults }
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
        engine = createEngineSync(module);
        post({ type: 'ready', kind: engine.kind }, []);
        return;
      }
      if (!engine) throw new Error('the engine worker got work before init');
      const result = engine.computeBlocks({
        plan: request.plan, input: request.input, target: request.target, weight: request.weight,
        blockItems: request.blockItems, wantValues: request.wantValues,
      });
      const transfer: ArrayBuffer[] = [result.partials.buffer as ArrayBuffer];
      if (result.values) transfer.push(result.values.buffer as ArrayBuffer);
      if (result.logProb) transfer.push(result.logProb.buffer as ArrayBuffer);
      post({ type: 'result', id: request.id, result }, transfer);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', id: request.type === 'compute' ? request.id : undefined, name: e.name, message: e.message }, []);
    }
  };
}
