// The loss panel's Web Worker: parses tensor files, builds the batch (random, literal or from files),
// applies the panel's conversions, runs the wasm engine, and posts the loss, then the extras
// (per-element losses, confusion summary, step-by-step view). It loads nothing itself: the engine
// arrives compiled (or as bytes) and files arrive as bytes.
import { createBrowserPool } from '../compute/browser/pool';
import { createEngine, type Engine } from '../compute/engine';
import type { EnginePool } from '../compute/pool';
import { createWorkerHandler, type WorkerRequest } from '../compute/workerCore';
import { readTensorFile, type TensorFileContents } from '../compute/readers/index';
import { TensorFileError, TorchError, type LossResult, type Tensor } from '../compute/types';
import {
  validateWebviewToWorker, type ArrayInfo, type EvaluationDetails, type EvaluationResult, type EvaluationSpec,
  type PanelError, type StepsSummary, type TensorSource, type WorkerToWebview,
} from '../protocol/webview';
import { classSummary, logOfSoftmax, perSample, predictions, softmaxAt, targetIndices } from './model/batchStats';
import { finiteRange } from './model/colorScale';
import { literalTensor, randomTensor } from './model/sources';
import { PROGRESS_EVERY } from './model/random';
import { formatShape as formatShapeText, product } from './model/shapeText';
import { prepareBatch, sameShape } from './model/prepare';
import { classCount, indicesOf } from './model/tensorOps';

interface WorkerScope {
  readonly name: string;
  readonly navigator: { readonly hardwareConcurrency?: number };
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}
const scope = self as unknown as WorkerScope;

/** The name of the engine shard workers this script also runs as (one bundle, fetched once). */
const SHARD_WORKER_NAME = 'tensor-lens-engine-shard';
/** Below this many logits one engine is faster than sharding (copies and messages dominate). */
const POOL_MIN_ELEMENTS = 1 << 20;

let engine: Engine | undefined;
/** Engine workers for large batches: real progress per shard, all cores; absent on one core. */
let pool: EnginePool | undefined;
/** Files by id: the bytes until first parsed, then the parsed arrays. */
const files = new Map<string, { name: string; bytes?: Uint8Array; contents?: Promise<TensorFileContents> }>();

function post(message: WorkerToWebview, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** PyTorch's errors keep their type; anything else becomes one line, never a stack trace. */
function toPanelError(err: unknown): PanelError {
  if (err instanceof TorchError) return { type: err.type, message: err.message, ...(shapes ?? {}) };
  if (err instanceof TensorFileError) return { type: 'TensorFileError', message: err.message };
  if (err instanceof Error) return { type: err.name && err.name !== 'Error' ? err.name : 'Error', message: err.message };
  return { type: 'Error', message: String(err) };
}

function contentsOf(fileId: string): Promise<TensorFileContents> {
  const f = files.get(fileId);
  if (!f) return Promise.reject(new Error(`the panel has not loaded ${fileId}`));
  if (!f.contents) {
    const bytes = f.bytes!;
    f.bytes = undefined; // the parsed arrays replace the bytes
    f.contents = readTensorFile(f.name, bytes);
  }
  return f.contents;
}

async function tensorFrom(source: TensorSource, spec: EvaluationSpec, role: string, id: number): Promise<Tensor> {
  switch (source.kind) {
    case 'literal':
      return literalTensor(source);
    case 'random': {
      const what = source.distribution === 'classIndex' ? 'targets' : source.distribution === 'weight' ? 'weights' : role === 'input' ? 'logits' : 'targets';
      const stage = `Generating random ${what} ${formatShapeText(source.shape)}`;
      if (product(source.shape) >= PROGRESS_EVERY) post({ type: 'progress', id, stage, fraction: 0 });
      // Worker messages go out while this loop runs, so the page shows the fraction live.
      let last = 0;
      return randomTensor(source, spec.classAxis, f => {
        if (f - last >= 0.05) {
          last = f;
          post({ type: 'progress', id, stage, fraction: f });
        }
      });
    }
    case 'file': {
      const contents = await contentsOf(source.fileId);
      if (contents.arrays.length === 0) throw new TensorFileError(contents.fileName, 'holds no arrays');
      const named = source.array === '' ? contents.arrays[0] : contents.arrays.find(a => a.name === source.array);
      if (!named) {
        throw new TensorFileError(contents.fileName, `has no array "${source.array}" for the ${role} (it has ${contents.arrays.map(a => a.name).join(', ')})`);
      }
      return named.tensor;
    }
  }
}

/**
 * One engine evaluation: on the pool (with progress) for large batches, else on this worker's engine.
 * A pool that fails for a reason of its own (not PyTorch's error) is dropped and the engine used.
 */
async function run(
  spec: EvaluationSpec, input: Tensor, target: Tensor, weight: Tensor | undefined, reduction: EvaluationSpec['reduction'],
  fn = spec.function, onProgress?: (fraction: number) => void,
): Promise<LossResult & { workers: number }> {
  const options = { weight, ignoreIndex: spec.ignoreIndex, reduction, labelSmoothing: spec.labelSmoothing };
  if (pool && input.data.length >= POOL_MIN_ELEMENTS) {
    try {
      const runOptions = { onProgress: (done: number, total: number) => onProgress?.(total ? done / total : 1) };
      const r = fn === 'nll_loss' ? await pool.nllLoss(input, target, options, runOptions) : await pool.crossEntropy(input, target, options, runOptions);
      return { ...r, workers: pool.size };
    } catch (err) {
      if (err instanceof TorchError) throw err;
      pool.terminate();
      pool = undefined;
    }
  }
  const r = fn === 'nll_loss' ? engine!.nllLoss(input, target, options) : engine!.crossEntropy(input, target, options);
  return { ...r, workers: 1 };
}

/** The shapes of the evaluation in progress, attached to PyTorch's errors for the page's hints. */
let shapes: { inputShape: readonly number[]; targetShape: readonly number[] } | undefined;

async function evaluate(id: number, spec: EvaluationSpec): Promise<void> {
  const started = performance.now();
  shapes = undefined;
  post({ type: 'progress', id, stage: 'Reading the batch' });
  const rawInput = await tensorFrom(spec.input, spec, 'input', id);
  const rawTarget = await tensorFrom(spec.target, spec, 'target', id);
  const weight = spec.weight ? await tensorFrom(spec.weight, spec, 'weight', id) : undefined;
  const { input, target } = prepareBatch(spec, rawInput, rawTarget);
  shapes = { inputShape: input.shape, targetShape: target.shape };
  const elements = input.data.length;
  const stage = `Computing ${spec.function} on ${elements.toLocaleString('en-US')} logits`;
  post({ type: 'progress', id, stage });
  const r = await run(spec, input, target, weight, spec.reduction, spec.function, f => post({ type: 'progress', id, stage, fraction: f }));
  const classes = classCount(input.shape);
  let noneMean: number | undefined;
  if (r.values) {
    let sum = 0;
    for (let i = 0; i < r.values.length; i++) sum += r.values[i];
    noneMean = r.values.length ? sum / r.values.length : NaN;
  }
  const result: EvaluationResult = {
    loss: r.loss,
    shape: r.shape,
    ...(noneMean !== undefined ? { noneMean } : {}),
    inputShape: input.shape,
    targetShape: target.shape,
    classes,
    elements,
    elapsedMs: r.elapsedMs,
    totalMs: performance.now() - started,
    engine: r.engine,
    workers: r.workers,
    ...(spec.input.kind === 'random' && spec.function === 'cross_entropy' && classes > 0 ? { lnClasses: Math.log(classes) } : {}),
  };
  post({ type: 'result', id, result });
  if (!spec.details) {
    post({ type: 'details', id, details: {} });
    return;
  }
  post({ type: 'progress', id, stage: 'Accuracy, per-element losses and steps' });
  const { message, transfer } = await detailsOf(id, spec, input, target, weight, r);
  post(message, transfer);
}

async function detailsOf(id: number, spec: EvaluationSpec, input: Tensor, target: Tensor, weight: Tensor | undefined, fused: LossResult): Promise<{ message: WorkerToWebview; transfer: Transferable[] }> {
  const details: { -readonly [K in keyof EvaluationDetails]: EvaluationDetails[K] } = {};
  const transfer: Transferable[] = [];
  const classes = classCount(input.shape);
  const indexTarget = !sameShape(target.shape, input.shape);
  // Per-element losses: the 'none' result, recomputed for a reduced loss only where the heatmap needs
  // it (spatial [N, H, W] items); the per-sample list shows only for 'none'.
  try {
    const spatial = input.shape.length === 4;
    const none = spec.reduction === 'none' ? fused : spatial ? await run(spec, input, target, weight, 'none') : undefined;
    if (none?.values) {
      // A copy: the engine's values may be a view of its memory, and this buffer is transferred.
      details.perElement = Float32Array.from(none.values);
      details.perElementShape = none.shape;
      transfer.push(details.perElement.buffer);
    }
  } catch {
    // The reduced loss succeeded, so 'none' cannot fail on the data; if it does, the view just has no heatmap.
  }
  const targetIdx = indexTarget ? indicesOf(target) : targetIndices(target, input.shape);
  if (indexTarget && targetIdx) {
    const mask = new Uint8Array(targetIdx.length);
    for (let i = 0; i < mask.length; i++) mask[i] = targetIdx[i] === spec.ignoreIndex ? 1 : 0;
    details.ignoredMask = mask;
    transfer.push(mask.buffer);
  }
  // The page's per-sample list and heatmap scale, computed here so the page does no O(elements) work.
  if (details.perElement && details.perElementShape) {
    details.perElementRange = finiteRange(details.perElement, details.ignoredMask);
    if (spec.reduction === 'none' && details.perElementShape.length >= 1) {
      details.perSample = perSample(details.perElement, details.perElementShape, details.ignoredMask);
      transfer.push(details.perSample.buffer as ArrayBuffer);
    }
  }
  if (targetIdx && classes > 0 && input.dtype.startsWith('float')) {
    details.classSummary = classSummary(predictions(input), targetIdx, classes, indexTarget ? spec.ignoreIndex : -Infinity);
  }
  if (targetIdx && classes > 0) details.steps = await stepsOf(spec, input, target, weight, fused, targetIdx, indexTarget);
  return { message: { type: 'details', id, details }, transfer };
}

/** `softmax → log → nll_loss`, literally, against the fused `cross_entropy`. */
async function stepsOf(
  spec: EvaluationSpec, input: Tensor, target: Tensor, weight: Tensor | undefined, fused: LossResult,
  targetIdx: Float64Array, indexTarget: boolean,
): Promise<StepsSummary | undefined> {
  // The element shown: the first one that is not ignored.
  let element = 0;
  while (element < targetIdx.length && (targetIdx[element] === spec.ignoreIndex || targetIdx[element] < 0)) element++;
  if (element >= targetIdx.length || product(input.shape) === 0) return undefined;
  const targetClass = targetIdx[element];
  if (!(targetClass < classCount(input.shape))) return undefined;
  const p = spec.function === 'nll_loss' ? Math.exp(Number(input.data[elementOffset(input, element, targetClass)])) : softmaxAt(input, element, targetClass);
  const base = { element, targetClass, softmax: p, logSoftmax: Math.log(p) };
  if (spec.function !== 'cross_entropy') {
    return { ...base, decomposed: null, fused: null, note: 'nll_loss takes log-probabilities already: the steps decompose cross_entropy' };
  }
  if (!indexTarget) {
    return { ...base, decomposed: null, fused: null, note: 'with class-probability targets the loss is −Σ p·log softmax(x), not nll_loss' };
  }
  if (spec.labelSmoothing > 0) {
    return { ...base, decomposed: null, fused: null, note: 'with label smoothing, cross_entropy = (1−ε)·nll_loss + ε·(smoothing term): nll_loss alone differs' };
  }
  if (input.data.length > STEPS_FULL_LIMIT && input.shape.length >= 2 && input.shape[0] > 1) {
    // A large batch: decompose the sample holding the element shown, and compare with the fused
    // loss of that same sample (zero-copy views: samples are contiguous in C order).
    const inner = input.shape.length <= 2 ? 1 : product(input.shape.slice(2));
    const sample = Math.floor(element / inner);
    const per = input.data.length / input.shape[0];
    const x: Tensor = { dtype: input.dtype, shape: [1, ...input.shape.slice(1)], data: input.data.subarray(sample * per, (sample + 1) * per) as Tensor['data'] };
    const t: Tensor = { dtype: target.dtype, shape: [1, ...target.shape.slice(1)], data: target.data.subarray(sample * inner, (sample + 1) * inner) as Tensor['data'] };
    const one = await run(spec, x, t, weight, spec.reduction);
    const nll = await run(spec, logOfSoftmax(x), t, weight, spec.reduction, 'nll_loss');
    const at = element - sample * inner;
    const pick = (r: LossResult) => (r.loss !== null ? r.loss : r.values ? r.values[at] : null);
    return { ...base, decomposed: pick(nll), fused: pick(one), sampleOnly: sample };
  }
  const logp = logOfSoftmax(input);
  const nll = await run(spec, logp, target, weight, spec.reduction, 'nll_loss');
  const pick = (r: LossResult) => (r.loss !== null ? r.loss : r.values ? r.values[element] : null);
  return { ...base, decomposed: pick(nll), fused: pick(fused) };
}

/** Inputs larger than this are decomposed one sample at a time (see stepsOf). */
const STEPS_FULL_LIMIT = 8 * 1024 * 1024;

function elementOffset(input: Tensor, element: number, k: number): number {
  const classes = classCount(input.shape);
  const inner = input.shape.length <= 2 ? 1 : product(input.shape.slice(2));
  return Math.floor(element / inner) * classes * inner + k * inner + (element % inner);
}

async function list(id: number, fileId: string): Promise<void> {
  const contents = await contentsOf(fileId);
  const arrays: ArrayInfo[] = contents.arrays.map(a => ({ name: a.name, shape: a.tensor.shape, dtype: a.tensor.dtype }));
  post({ type: 'arrays', id, fileId, arrays });
}

/**
 * Runs each kernel family a few times on small random batches right after start-up. V8 first runs
 * wasm with its baseline compiler and optimises hot functions later: measured in Chromium, a cold
 * [100000, 10] evaluation took 118 ms, the same one warm 2.6 ms. This spends ~50 ms in the
 * background instead, before the user's first large batch.
 */
function warmUp(): void {
  if (!engine) return;
  const batches: [number[], number][] = [[[2048, 16], 16], [[64, 1000], 1000], [[2, 8, 32, 32], 8]];
  try {
    for (let round = 0; round < 4; round++) {
      for (const [shape, classes] of batches) {
        const input = randomTensor({ kind: 'random', shape, seed: round + 1, distribution: 'logits' }, 'first');
        const targetShape = shape.filter((_, i) => i !== 1);
        const target = randomTensor({ kind: 'random', shape: targetShape, seed: round + 2, distribution: 'classIndex', classes }, 'first');
        engine.crossEntropy(input, target, { reduction: round % 2 ? 'none' : 'mean', labelSmoothing: round > 1 ? 0.1 : 0 });
      }
    }
  } catch {
    // Warming up is an optimisation only.
  }
}

function startPool(module: WebAssembly.Module | undefined, bytes: ArrayBuffer | undefined, url: string | undefined): void {
  const cores = scope.navigator.hardwareConcurrency ?? 1;
  if (!url || cores < 2 || typeof Worker === 'undefined') return;
  let candidate: EnginePool;
  try {
    candidate = createBrowserPool({
      factory: () => new Worker(url, { name: SHARD_WORKER_NAME }),
      size: Math.min(8, cores),
      ...(module ? { module } : { bytes }),
      minParallelElements: POOL_MIN_ELEMENTS,
    });
  } catch {
    return; // no nested workers here: this worker's engine does everything
  }
  // Used only once a tiny evaluation went through it: a runtime where nested workers fail or never
  // start must not leave a real evaluation waiting on them.
  const probe = candidate.crossEntropy(
    { dtype: 'float32', shape: [1, 2], data: Float32Array.of(0, 0) },
    { dtype: 'int64', shape: [1], data: BigInt64Array.of(0n) },
  );
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('engine workers did not start')), 10_000));
  Promise.race([probe, timeout]).then(
    r => {
      if (Math.abs((r.loss ?? NaN) - Math.LN2) < 1e-6) pool = candidate;
      else candidate.terminate();
    },
    () => candidate.terminate(),
  );
}

function servePanel(event: MessageEvent): void {
  let message;
  try {
    message = validateWebviewToWorker(event.data);
  } catch (err) {
    const id = typeof event.data?.id === 'number' ? event.data.id : 0;
    post({ type: 'error', id, error: toPanelError(err) });
    return;
  }
  switch (message.type) {
    case 'init': {
      const module = message.module as WebAssembly.Module | undefined;
      // The pool gets its own copy of the bytes: createEngine may detach or keep the original.
      const poolBytes = !module && message.bytes ? message.bytes.slice(0) : undefined;
      createEngine(module ? { module } : { bytes: message.bytes! })
        .then(e => {
          engine = e;
          startPool(module, poolBytes, message.shardWorkerUrl);
          post({ type: 'ready', engine: e.kind });
          setTimeout(warmUp, 0);
        })
        .catch(err => post({ type: 'initError', error: toPanelError(err) }));
      break;
    }
    case 'file':
      files.set(message.fileId, { name: message.name, bytes: new Uint8Array(message.bytes) });
      break;
    case 'list':
      list(message.id, message.fileId).catch(err => post({ type: 'error', id: message.id, error: toPanelError(err) }));
      break;
    case 'evaluate':
      if (!engine) {
        post({ type: 'error', id: message.id, error: { type: 'Error', message: 'the engine is not ready' } });
        break;
      }
      evaluate(message.id, message.spec).catch(err => post({ type: 'error', id: message.id, error: toPanelError(err) }));
      break;
  }
}

if (scope.name === SHARD_WORKER_NAME) {
  // An engine shard worker of the pool: it answers the pool's protocol (compute/workerCore.ts).
  const handle = createWorkerHandler((reply, transfer) => scope.postMessage(reply, transfer));
  scope.onmessage = (event: MessageEvent) => void handle(event.data as WorkerRequest);
} else {
  scope.onmessage = servePanel;
}
