// Helpers for the pool tests: Node worker ports that record what the pool sends them, and bitwise
// comparison of result arrays.
import { nodeWorkerPort } from '../../compute/node/pool';
import type { WorkerPort } from '../../compute/pool';
import type { WorkerRequest } from '../../compute/workerCore';

/** Equal bytes (so NaN payloads and −0 count), or both missing. */
export function sameBits(a: Float32Array | Float64Array | undefined, b: Float32Array | Float64Array | undefined): boolean {
  if (!a || !b) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Node worker ports that record the compute requests they are sent, count the shards they computed
 * and the workers that reported ready (a test that counts requests first waits for those: a worker
 * still starting is not sent the requests of evaluations the calling thread finishes alone).
 */
export function recordingFactory(script: string) {
  const state = { requests: [] as Extract<WorkerRequest, { type: 'compute' }>[], shardsByWorkers: 0, ready: 0 };
  const factory = (): WorkerPort => {
    const inner = nodeWorkerPort(script);
    return {
      post(request: WorkerRequest, transfer: ArrayBuffer[]) {
        if (request.type === 'compute') state.requests.push(request);
        inner.post(request, transfer);
      },
      listen: (onMessage, onError) => inner.listen(reply => {
        if (reply.type === 'result') state.shardsByWorkers += reply.results.length;
        if (reply.type === 'ready') state.ready++;
        onMessage(reply);
      }, onError),
      terminate: () => inner.terminate(),
    };
  };
  return { state, factory };
}

/** Wraps a worker port factory to count the workers that reported ready (see recordingFactory). */
export function readyCounting(make: () => WorkerPort) {
  const state = { ready: 0 };
  const factory = (): WorkerPort => {
    const inner = make();
    return {
      post: (request, transfer) => inner.post(request, transfer),
      listen: (onMessage, onError) => inner.listen(reply => {
        if (reply.type === 'ready') state.ready++;
        onMessage(reply);
      }, onError),
      terminate: () => inner.terminate(),
    };
  };
  return { state, factory };
}

/** Resolves once `condition()` holds (polled every 10 ms); rejects after `ms`. */
export async function waitFor(condition: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
