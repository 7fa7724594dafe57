// The browser Web Worker host of one engine worker: the entry of a worker bundle, or call
// serveEngineWorker(self) from your own worker script. It loads nothing by itself; the pool sends the
// engine (a compiled WebAssembly.Module or the bytes) in its first message, as a VS Code webview
// requires (workers come from Blob URLs and must not fetch; see research/webview-worker-wasm.md).
import { createWorkerHandler, type WorkerRequest } from '../workerCore';

/** The parts of DedicatedWorkerGlobalScope used here. */
export interface EngineWorkerScope {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Answers the pool's messages in this worker. */
export function serveEngineWorker(scope: EngineWorkerScope): void {
  const handle = createWorkerHandler((reply, transfer) => scope.postMessage(reply, transfer));
  scope.addEventListener('message', event => void handle(event.data as WorkerRequest));
}

// As a bundle entry (dist/compute/browserWorker.js) it serves right away.
declare const self: unknown;
if (typeof self === 'object' && self !== null && typeof (self as { importScripts?: unknown }).importScripts === 'function') {
  serveEngineWorker(self as EngineWorkerScope);
}
