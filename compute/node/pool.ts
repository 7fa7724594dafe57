// Engine worker pool on Node worker_threads: one wasm instance per worker, the module compiled once.
// Inputs reach the workers through shared memory (SharedArrayBuffer views, never a copy per shard),
// and the calling thread computes a share itself unless told not to.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { compileEngine, type EngineFileName } from '../engine';
import { EnginePool, type WorkerPort } from '../pool';
import type { WorkerReply } from '../workerCore';
import { engineBytes, findWasmDir } from './loadEngine';

export interface NodePoolOptions {
  /** Threads computing, the calling thread included (see callerComputes); default: available parallelism. */
  readonly size?: number;
  /** Folder with the .wasm builds and nodeWorker.js (default: found like loadEngine). */
  readonly wasmDir?: string;
  /** Force a build. */
  readonly file?: EngineFileName;
  /** Passed through to the pool (tests lower it to exercise sharding on small inputs). */
  readonly minParallelElements?: number;
  /** Extra V8 flags for the workers (e.g. relaxed SIMD in Node 20). */
  readonly execArgv?: string[];
  /**
   * The calling thread computes one of the `size` shares (default true): a program waiting for the
   * result has nothing better to do, and on 2 cores one worker plus the caller beats two workers and
   * an idle caller. Pass false from a thread that must stay responsive (it then only dispatches).
   */
  readonly callerComputes?: boolean;
}

/** A worker_threads Worker running `script` (dist/compute/nodeWorker.js) as a pool's WorkerPort. */
export function nodeWorkerPort(script: string, execArgv?: string[]): WorkerPort {
  // Workers keep the process alive until terminate(): call pool.terminate() when done.
  const worker = new Worker(script, { execArgv });
  let terminating = false;
  return {
    post: (request, transfer) => worker.postMessage(request, transfer),
    listen(onMessage, onError) {
      worker.on('message', (reply: WorkerReply) => onMessage(reply));
      worker.on('error', onError);
      worker.on('exit', code => {
        if (!terminating) onError(new Error(`engine worker exited with code ${code}`));
      });
    },
    terminate: () => {
      terminating = true;
      void worker.terminate();
    },
  };
}

export async function createNodePool(options: NodePoolOptions = {}): Promise<EnginePool> {
  const dir = options.wasmDir ?? findWasmDir();
  const { bytes } = engineBytes({ wasmDir: dir, file: options.file });
  const module = await compileEngine(bytes);
  const script = join(dir, 'nodeWorker.js');
  return new EnginePool({
    factory: () => nodeWorkerPort(script, options.execArgv),
    size: options.size ?? availableParallelism(), module, minParallelElements: options.minParallelElements,
    shared: true, callerComputes: options.callerComputes ?? true,
  });
}
