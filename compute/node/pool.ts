// Engine worker pool on Node worker_threads: one wasm instance per thread, the module compiled once,
// every instance on one shared WebAssembly.Memory (the shared-memory build of the chosen engine):
// inputs are read in place by every thread, and the calling thread computes a share itself unless
// told not to. Where no shared build can run, workers with their own memories get copies.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { compileEngine, selectEngineFile, sharedVariant, type EngineFileName, type SharedEngineFileName } from '../engine';
import { EnginePool, type WorkerPort } from '../pool';
import type { WorkerReply } from '../workerCore';
import { engineBytes, findWasmDir } from './loadEngine';

export interface NodePoolOptions {
  /** Threads computing, the calling thread included (see callerComputes); default: available parallelism. */
  readonly size?: number;
  /** Folder with the .wasm builds and nodeWorker.js (default: found like loadEngine). */
  readonly wasmDir?: string;
  /** Force a build (its shared-memory variant is used when there is one). */
  readonly file?: EngineFileName | SharedEngineFileName;
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
      // settles once the thread has stopped (the pool then reuses its workspace)
      return worker.terminate();
    },
  };
}

export async function createNodePool(options: NodePoolOptions = {}): Promise<EnginePool> {
  const dir = options.wasmDir ?? findWasmDir();
  const file = options.file ?? selectEngineFile();
  const script = join(dir, 'nodeWorker.js');
  const common = {
    factory: () => nodeWorkerPort(script, options.execArgv),
    size: options.size ?? availableParallelism(), minParallelElements: options.minParallelElements,
  };
  // The shared-memory build of the same kernels, where it exists and this Node validates it.
  const sharedFile = typeof SharedArrayBuffer === 'function' ? sharedVariant(file) : undefined;
  const sharedPath = sharedFile && join(dir, sharedFile);
  const sharedBytes = sharedPath && existsSync(sharedPath) ? readFileSync(sharedPath) : undefined;
  const sharedModule = sharedBytes && await compileEngine(sharedBytes).catch(() => undefined);
  if (sharedModule) {
    // the ordinary build too, for what the calling thread computes alone from the caller's arrays
    const localModule = file.endsWith('-shared.wasm') ? undefined : await compileEngine(engineBytes({ wasmDir: dir, file }).bytes);
    return new EnginePool({ ...common, module: sharedModule, localModule, shared: true, callerComputes: options.callerComputes ?? true });
  }
  if (file.endsWith('-shared.wasm')) throw new Error(`${file} is not built or does not validate in this Node`);
  // No shared build here (the scalar engine): workers with their own memories, sent copies.
  const module = await compileEngine(engineBytes({ wasmDir: dir, file: file as EngineFileName }).bytes);
  return new EnginePool({ ...common, module, shared: false, callerComputes: false });
}
