// The Node worker_threads host of one engine worker (bundled to dist/compute/nodeWorker.js).
import { parentPort } from 'node:worker_threads';
import { createWorkerHandler, type WorkerRequest } from '../workerCore';

if (!parentPort) throw new Error('nodeWorker.js runs as a worker_threads Worker');
const port = parentPort;
const handle = createWorkerHandler((reply, transfer) => port.postMessage(reply, transfer));
port.on('message', (request: WorkerRequest) => void handle(request));
