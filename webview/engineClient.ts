// The page's side of the evaluation worker: starts it from a Blob of the fetched worker script (a
// Worker cannot be built from a webview resource URL), hands it the engine compiled on this thread
// (the worker loads nothing itself), gives it file bytes, and routes its replies. Cancelling
// terminates the worker — wasm cannot be interrupted mid-kernel — and a fresh one starts from the same
// Blob and compiled module in milliseconds.
import {
  validateWorkerToWebview, type ArrayInfo, type EvaluationDetails, type EvaluationResult, type EvaluationSpec,
  type PanelError, type WebviewToWorker, type WorkerToWebview,
} from '../protocol/webview';

export interface EvaluationCallbacks {
  progress(stage: string, fraction?: number): void;
  result(result: EvaluationResult): void;
  details(details: EvaluationDetails): void;
  error(error: PanelError): void;
}

interface Pending {
  readonly kind: 'evaluate' | 'list';
  readonly callbacks?: EvaluationCallbacks;
  readonly resolveList?: (arrays: readonly ArrayInfo[]) => void;
  readonly rejectList?: (error: PanelError) => void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private ready: Promise<string> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Files the current worker holds (a new worker starts empty). */
  private workerFiles = new Set<string>();
  /** The engine kind the worker reported (`wasm-simd`, …). */
  engine = '';

  constructor(
    private readonly workerUrl: string,
    private readonly wasm: { module?: WebAssembly.Module; bytes?: ArrayBuffer },
    private readonly onProblem: (message: string) => void,
  ) {}

  /** Fetches the worker script once and returns an object URL for it. */
  static async workerBlobUrl(workerScriptUrl: string): Promise<string> {
    const response = await fetch(workerScriptUrl);
    if (!response.ok) throw new Error(`could not load the worker script (HTTP ${response.status})`);
    const text = await response.text();
    return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  }

  /** Starts the worker if none is running; resolves with the engine kind once it is ready. */
  start(): Promise<string> {
    if (this.ready) return this.ready;
    const worker = new Worker(this.workerUrl, { name: 'tensor-lens-loss' });
    this.worker = worker;
    this.workerFiles = new Set();
    this.ready = new Promise<string>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent) => {
        let message: WorkerToWebview;
        try {
          message = validateWorkerToWebview(event.data);
        } catch (err) {
          this.onProblem(`dropped a malformed worker message: ${(err as Error).message}`);
          return;
        }
        if (message.type === 'ready') {
          this.engine = message.engine;
          resolve(message.engine);
        } else if (message.type === 'initError') {
          reject(new Error(`${message.error.type}: ${message.error.message}`));
        } else {
          this.route(message);
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const message = event.message || 'the worker failed to start';
        reject(new Error(message));
        this.failAll({ type: 'Error', message: `the evaluation worker stopped: ${message}` });
        this.reset();
      };
      // Bytes are copied, not transferred: the page keeps them for the next worker.
      const shardWorkerUrl = this.workerUrl;
      const init: WebviewToWorker = this.wasm.module
        ? { type: 'init', module: this.wasm.module, shardWorkerUrl }
        : { type: 'init', bytes: this.wasm.bytes!.slice(0), shardWorkerUrl };
      worker.postMessage(init, init.bytes ? [init.bytes] : []);
    });
    return this.ready;
  }

  private route(message: WorkerToWebview): void {
    if (!('id' in message)) return;
    const p = this.pending.get(message.id);
    if (!p) return; // a reply to something cancelled
    switch (message.type) {
      case 'progress':
        p.callbacks?.progress(message.stage, message.fraction);
        break;
      case 'result':
        p.callbacks?.result(message.result);
        break;
      case 'details':
        this.pending.delete(message.id);
        p.callbacks?.details(message.details);
        break;
      case 'arrays':
        this.pending.delete(message.id);
        p.resolveList?.(message.arrays);
        break;
      case 'error':
        this.pending.delete(message.id);
        if (p.kind === 'list') p.rejectList?.(message.error);
        else p.callbacks?.error(message.error);
        break;
    }
  }

  /** Gives the worker a file's bytes (a copy: the page keeps its own for a restarted worker). */
  async ensureFile(fileId: string, name: string, bytes: ArrayBuffer): Promise<void> {
    await this.start();
    if (this.workerFiles.has(fileId)) return;
    const copy = bytes.slice(0);
    const message: WebviewToWorker = { type: 'file', fileId, name, bytes: copy };
    this.worker!.postMessage(message, [copy]);
    this.workerFiles.add(fileId);
  }

  /** The worker's copy of a file is stale: the next `ensureFile` sends the new bytes. */
  forgetFile(fileId: string): void {
    this.workerFiles.delete(fileId);
  }

  /** The arrays in a file the worker holds. */
  async list(fileId: string): Promise<readonly ArrayInfo[]> {
    await this.start();
    const id = this.nextId++;
    return new Promise((resolveList, rejectList) => {
      this.pending.set(id, { kind: 'list', resolveList, rejectList });
      this.worker!.postMessage({ type: 'list', id, fileId } satisfies WebviewToWorker);
    });
  }

  /** Starts an evaluation; returns its id. Replies go to `callbacks` until it finishes or is cancelled. */
  async evaluate(spec: EvaluationSpec, callbacks: EvaluationCallbacks): Promise<number> {
    await this.start();
    const id = this.nextId++;
    this.pending.set(id, { kind: 'evaluate', callbacks });
    this.worker!.postMessage({ type: 'evaluate', id, spec } satisfies WebviewToWorker);
    return id;
  }

  /** True while an evaluation has not finished (its details not yet delivered). */
  get busy(): boolean {
    for (const p of this.pending.values()) if (p.kind === 'evaluate') return true;
    return false;
  }

  /**
   * Stops the evaluation running now: terminates the worker; the next request starts a fresh one.
   * An idle worker (or one still starting) is left alone: there is nothing to stop, and killing it
   * would only throw away its start-up.
   */
  cancel(): void {
    if (!this.worker || !this.busy) return;
    this.failAll(undefined);
    this.reset();
  }

  private failAll(error: PanelError | undefined): void {
    for (const p of this.pending.values()) {
      // A cancelled evaluation just stops (its caller asked for that); a listing still owes an answer.
      if (p.kind === 'list') p.rejectList?.(error ?? { type: 'Error', message: 'cancelled' });
      else if (error) p.callbacks?.error(error);
    }
    this.pending.clear();
  }

  private reset(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
    this.workerFiles = new Set();
  }

  dispose(): void {
    this.failAll(undefined);
    this.reset();
  }
}
