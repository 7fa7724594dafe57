// Engine worker pool for the browser (the loss panel's webview): Web Workers made by a caller-supplied
// factory (a webview builds them from a Blob URL), each instantiating the engine module it is sent.
// A VS Code webview is not cross-origin isolated, so there is no SharedArrayBuffer: it passes an
// ordinary build, and shards are copied and transferred. A cross-origin-isolated page that passes a
// shared-memory build (selectSharedEngineFile) gets the shared-memory pool (compute/pool.ts): every
// worker instantiates it on one shared memory and reads the input in place.
import { importsMemory, type WasmBytes, type WasmModule } from '../engine';
import { EnginePool, type WorkerPort } from '../pool';
import type { WorkerReply } from '../workerCore';

/** The parts of a browser `Worker` the pool uses. */
export interface BrowserWorker {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}

export interface BrowserPoolOptions {
  /** Makes a worker running compute/browser/worker.ts (serveEngineWorker). */
  readonly factory: () => BrowserWorker;
  /** Workers; default navigator.hardwareConcurrency (at most 8). */
  readonly size?: number;
  /**
   * The engine: a compiled module (posted to each worker, compiled once) or its bytes (copied to
   * each). A compiled shared-memory build (ce-*-shared.wasm) makes a shared-memory pool, which needs
   * a cross-origin-isolated page (the only way a page gets SharedArrayBuffer).
   */
  readonly module?: WasmModule;
  readonly bytes?: WasmBytes;
  readonly minParallelElements?: number;
}

export function createBrowserPool(options: BrowserPoolOptions): EnginePool {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  const factory = (): WorkerPort => {
    const worker = options.factory();
    return {
      post: (request, transfer) => worker.postMessage(request, transfer),
      listen(onMessage, onError) {
        worker.addEventListener('message', event => onMessage(event.data as WorkerReply));
        worker.addEventListener('error', event => onError(new Error(`engine worker failed: ${event.message ?? 'error event'}`)));
        worker.addEventListener('messageerror', () => onError(new Error('engine worker: a message could not be deserialised')));
      },
      terminate: () => worker.terminate(),
    };
  };
  return new EnginePool({
    factory, size: options.size ?? Math.min(8, Math.max(1, cores)), module: options.module, bytes: options.bytes,
    minParallelElements: options.minParallelElements,
    // the page's own thread stays free for its UI: it dispatches, the workers compute
    shared: options.module !== undefined && importsMemory(options.module),
  });
}
