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

/** Node worker ports that record the compute requests they are sent and count the shards they computed. */
export function recordingFactory(script: string) {
  const state = { requests: [] as Extract<WorkerRequest, { type: 'compute' }>[], shardsByWorkers: 0 };
  const factory = (): WorkerPort => {
    const inner = nodeWorkerPort(script);
    return {
      post(request: WorkerRequest, transfer: ArrayBuffer[]) {
        if (request.type === 'compute') state.requests.push(request);
        inner.post(request, transfer);
      },
      listen: (onMessage, onError) => inner.listen(reply => {
        if (reply.type === 'result') state.shardsByWorkers += reply.results.length;
        onMessage(reply);
      }, onError),
      terminate: () => inner.terminate(),
    };
  };
  return { state, factory };
}
