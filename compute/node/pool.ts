// Engine worker pool on Node worker_threads: one wasm instance per worker, the module compiled once.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { compileEngine, type EngineFileName } from '../engine';
import { EnginePool, type WorkerPort } from '../pool';
import type { WorkerReply } from '../workerCore';
import { engineBytes, findWasmDir } from './loadEngine';

export interface NodePoolOptions {
  /** Workers; default: the machine's available parallelism. */
  readonly size?: number;
  /** Folder with the .wasm builds and nodeWorker.js (default: found like loadEngine). */
  readonly wasmDir?: string;
  /** Force a build. */
  readonly file?: EngineFileName;
  /** Passed through to the pool (tests lower it to exercise sharding on small inputs). */
  readonly minParallelElements?: number;
  /** Extra V8 flags for the workers (e.g. relaxed SIMD in Node 20). */
  readonly execArgv?: string[];
}

export async function createNodePool(options: NodePoolOptions = {}): Promise<EnginePool> {
  const dir = options.wasmDir ?? findWasmDir();
  const { bytes } = engineBytes({ wasmDir: dir, file: options.file });
  const module = await compileEngine(bytes);
  const script = join(dir, 'nodeWorker.js');
  const factory = (): WorkerPort => {
    // Workers keep the process alive until terminate(): call pool.terminate() when done.
    const worker = new Worker(script, { execArgv: options.execArgv });
    return {
      post: (request, transfer) => worker.postMessage(request, transfer),
      listen(onMessage, onError) {
        worker.on('message', (reply: WorkerReply) => onMessage(reply));
        worker.on('error', onError);
        worker.on('exit', code => { if (code !== 0) onError(new Error(`engine worker exited with code ${code}`)); });
      },
      terminate: () => void worker.terminate(),
    };
  };
  return new EnginePool({
    factory, size: options.size ?? availableParallelism(), module, minParallelElements: options.minParallelElements,
  });
}
