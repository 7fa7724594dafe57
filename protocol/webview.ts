// Messages of the loss panel: extension host ⇄ webview and webview ⇄ worker, as tagged unions, with
// the runtime validators each receiver runs before trusting a message (postMessage is untyped).
//
// Bulk data never travels as JSON arrays: file bytes go host → webview as `Uint8Array` chunks (VS Code
// transfers typed arrays as binary; a Node `Buffer` would arrive as JSON, so the host copies into a
// fresh `Uint8Array`), webview → worker as transferred `ArrayBuffer`s, and per-element results come
// back as `Float32Array`s.

import type { LossCall } from '../server/analysis/api';
import type { TensorDtype } from '../compute/types';

// ---------------------------------------------------------------------------------------------
// Shared vocabulary

/** Loss functions the panel evaluates (the engine's `LossFunctionName`). */
export type PanelFunction = 'cross_entropy' | 'nll_loss';
export const PANEL_FUNCTIONS: readonly PanelFunction[] = ['cross_entropy', 'nll_loss'];

export type PanelReduction = 'mean' | 'sum' | 'none';
export const PANEL_REDUCTIONS: readonly PanelReduction[] = ['mean', 'sum', 'none'];

/** Where the class dim of the logits is: PyTorch's dim 1, or TF.js's last dim. */
export type ClassAxis = 'first' | 'last';
/** Class indices (`[N, d…]` int64) or class probabilities (the input's shape, float). */
export type TargetKind = 'index' | 'probability';

/** The tensor roles the panel fills. */
export type TensorRole = 'input' | 'target' | 'weight';
export const TENSOR_ROLES: readonly TensorRole[] = ['input', 'target', 'weight'];

/** Where one tensor of an evaluation comes from. */
export type TensorSource =
  /** An array in a workspace file the webview has (or will have) the bytes of; `array` names the
   * `.npz`/`.safetensors` member, empty for single-array formats. */
  | { readonly kind: 'file'; readonly fileId: string; readonly array: string }
  /** Known values from the code (`LossCall.input.values`): small by construction. */
  | { readonly kind: 'literal'; readonly shape: readonly number[]; readonly dtype: TensorDtype; readonly values: readonly number[] }
  /** Generated in the worker (see `RandomDistribution`). */
  | { readonly kind: 'random'; readonly shape: readonly number[]; readonly seed: number;
      readonly distribution: RandomDistribution; readonly scale?: number; readonly classes?: number;
      /** Element type of the generated tensor: float32 unless said (class indices default to int64). */
      readonly dtype?: TensorDtype };

/**
 * Random tensors: `logits` ~ N(0, scale²) (an untrained classifier's outputs); `logProbabilities` =
 * log_softmax of such logits (what `nll_loss` expects); `classIndex` uniform in [0, classes);
 * `probability` a random distribution over dim 1 (the input's shape); `weight` uniform in [0.5, 1.5).
 */
export type RandomDistribution = 'logits' | 'logProbabilities' | 'classIndex' | 'probability' | 'weight';
export const RANDOM_DISTRIBUTIONS: readonly RandomDistribution[] = ['logits', 'logProbabilities', 'classIndex', 'probability', 'weight'];

/** One evaluation, fully described: what the worker needs and nothing more. */
export interface EvaluationSpec {
  readonly function: PanelFunction;
  readonly reduction: PanelReduction;
  /** Default -100, PyTorch's. */
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly classAxis: ClassAxis;
  /** The target kind the loss sees; the worker converts (one-hot or argmax) when the source differs. */
  readonly targetKind: TargetKind;
  readonly input: TensorSource;
  readonly target: TensorSource;
  readonly weight?: TensorSource;
  /** Also compute accuracy, the confusion summary, the heatmap values and the step-by-step view. */
  readonly details: boolean;
}

/** A PyTorch error (`IndexError: Target 21 is out of bounds.`) or a file/usage problem, never a stack. */
export interface PanelError {
  /** `IndexError`, `RuntimeError`, `ValueError`, … or `TensorFileError` / `Error`. */
  readonly type: string;
  readonly message: string;
  /** The shapes the engine was given, when the error came from it (for a hint such as `.squeeze(1)`). */
  readonly inputShape?: readonly number[];
  readonly targetShape?: readonly number[];
}

/** Per-class counts for the confusion summary (index targets; argmax of probability targets). */
export interface ClassSummary {
  readonly classes: number;
  /** Elements counted (not ignored). */
  readonly counted: number;
  readonly correct: number;
  /** Per class: how often it is the target, how often predicted, how often both. */
  readonly targetCounts: readonly number[];
  readonly predictedCounts: readonly number[];
  readonly truePositives: readonly number[];
  /** The most frequent wrong (target → predicted) pairs, most frequent first, at most 5. */
  readonly topConfusions: readonly { readonly target: number; readonly predicted: number; readonly count: number }[];
}

/** `softmax → log → nll_loss`, computed step by step, next to the fused value. */
export interface StepsSummary {
  /** Element shown in the steps (flat index over the target's shape). */
  readonly element: number;
  readonly targetClass: number;
  /** softmax(x)[target] at that element. */
  readonly softmax: number;
  /** log(softmax(x)[target]). */
  readonly logSoftmax: number;
  /** nll_loss(log(softmax(x)), target, same reduction/weight/ignore_index). */
  readonly decomposed: number | null;
  /** The fused cross_entropy value the decomposed one is compared with. */
  readonly fused: number | null;
  /** For a large batch both values cover this one sample only (the decomposition is not free). */
  readonly sampleOnly?: number;
  /** Why the steps are not comparable, when they are not (label smoothing, probability targets). */
  readonly note?: string;
}

/** What an evaluation produced. */
export interface EvaluationResult {
  readonly loss: number | null;
  /** Output shape: [] when reduced, else the per-element shape. */
  readonly shape: readonly number[];
  /** For reduction 'none': the mean of the per-element losses (accumulated in float64), the headline
   * number; the values themselves come once, in `EvaluationDetails.perElement`. */
  readonly noneMean?: number;
  /** Shapes as evaluated (after class-axis and target-kind conversion). */
  readonly inputShape: readonly number[];
  readonly targetShape: readonly number[];
  readonly classes: number;
  /** Number of loss elements (batch × spatial). */
  readonly elements: number;
  /** Kernel time, and the whole evaluation in the worker (parse, convert, compute), ms. */
  readonly elapsedMs: number;
  readonly totalMs: number;
  readonly engine: string;
  /** Engine workers that computed it (1 = the panel's worker alone). */
  readonly workers: number;
  /** ln(C): a fresh classifier's expected cross-entropy (random logits only). */
  readonly lnClasses?: number;
}

/** Slower extras, posted after the result so the loss shows first. */
export interface EvaluationDetails {
  /** Per-element losses (reduction 'none' recomputed when the user asked for a reduced loss). */
  readonly perElement?: Float32Array;
  /** The per-element shape of `perElement` ([N] or [N, H, W] …). */
  readonly perElementShape?: readonly number[];
  /** 1 where the target was ignore_index (heatmap shows it apart). */
  readonly ignoredMask?: Uint8Array;
  /** Reduction 'none': one loss per sample (the mean over its non-ignored elements), for the list. */
  readonly perSample?: Float64Array;
  /** The finite min and max of `perElement` outside ignored elements: the heatmap's fixed scale. */
  readonly perElementRange?: readonly [number, number];
  readonly classSummary?: ClassSummary;
  readonly steps?: StepsSummary;
}

/** An array inside a tensor file. */
export interface ArrayInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TensorDtype;
}

/** A tensor file in the workspace the host can read. */
export interface WorkspaceFile {
  /** The file's URI as a string: also its id in `TensorSource.fileId`. */
  readonly fileId: string;
  /** Workspace-relative path for display. */
  readonly label: string;
  readonly byteLength?: number;
}

/** The call a panel was opened for, as the panel needs it. */
export interface PanelCall {
  /** The document's URI. */
  readonly uri: string;
  readonly call: LossCall;
}

/** The panel's persisted state (`setState` / the serializer): settings only, never tensor bytes. */
export interface PanelState {
  readonly version: 1;
  readonly call?: PanelCall;
  readonly function: PanelFunction;
  readonly reduction: PanelReduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  readonly classAxis: ClassAxis;
  readonly targetKind: TargetKind;
  /** Per role: 'random' | 'literal' | 'file' | 'none' (weight only), and the file/array chosen. */
  readonly sources: Readonly<Record<TensorRole, RoleChoice>>;
  /** The symbolic dims' values for random inputs (`N` → 2). */
  readonly dims: Readonly<Record<string, number>>;
  /** Shapes of random tensors as dims text (`[N, C, H, W]`); the target's empty = derived from the
   * input's (the input without its class dim). A call pre-fills both with its inferred shapes. */
  readonly inputShapeText: string;
  readonly targetShapeText: string;
  /** The element type of random index targets (int64 unless the call says otherwise: an int32 or
   * float target is PyTorch's error, and the panel shows it). */
  readonly targetDtype: TensorDtype;
  readonly seed: number;
  readonly logitScale: number;
  /** Last result line, shown again after a reload until the user re-runs. */
  readonly lastSummary?: string;
}

export interface RoleChoice {
  readonly kind: 'random' | 'literal' | 'file' | 'none';
  readonly fileId?: string;
  readonly array?: string;
}

// ---------------------------------------------------------------------------------------------
// Extension host → webview

export type HostToWebview =
  /** Host → webview: the panel's start-up data, answering `ready` (also after a reload). */
  | { readonly type: 'init'; readonly call?: PanelCall; readonly files: readonly WorkspaceFile[]; readonly preselect?: PreselectFile }
  /** Host → webview: a new call to evaluate (CodeLens clicked while the panel is open). */
  | { readonly type: 'setCall'; readonly call: PanelCall }
  /** Host → webview: a file to use for a role, picked in the explorer or a quick pick. */
  | { readonly type: 'useFile'; readonly file: PreselectFile }
  /** Host → webview: the workspace's tensor files changed (created or deleted). */
  | { readonly type: 'files'; readonly files: readonly WorkspaceFile[] }
  /** Host → webview: a file's contents changed on disk; bytes the panel holds for it are stale. */
  | { readonly type: 'fileChanged'; readonly fileId: string }
  /** Host → webview: a file transfer starts (`requestId` from `readFile`). */
  | { readonly type: 'fileBegin'; readonly requestId: number; readonly fileId: string; readonly name: string; readonly byteLength: number }
  /** Host → webview: the next piece of a file, in order. */
  | { readonly type: 'fileChunk'; readonly requestId: number; readonly offset: number; readonly bytes: Uint8Array }
  /** Host → webview: the file could not be read (its name and the reason). */
  | { readonly type: 'fileError'; readonly requestId: number; readonly fileId: string; readonly message: string };

export interface PreselectFile {
  readonly file: WorkspaceFile;
  /** The role to fill; the panel guesses from the file's arrays when absent. */
  readonly role?: TensorRole;
}

// ---------------------------------------------------------------------------------------------
// Webview → extension host

export type WebviewToHost =
  /** Webview → host: the page is up and wants `init`. */
  | { readonly type: 'ready' }
  /** Webview → host: send this file's bytes (answered by fileBegin/fileChunk… or fileError). */
  | { readonly type: 'readFile'; readonly requestId: number; readonly fileId: string }
  /** Webview → host: show a quick pick of the workspace's tensor files for a role. */
  | { readonly type: 'pickFile'; readonly role: TensorRole }
  /** Webview → host: the latest result, for the end-of-line note at the call it came from. */
  | { readonly type: 'result'; readonly uri: string; readonly callStart: number; readonly callEnd: number; readonly text: string }
  /** Webview → host: forget the end-of-line note (an error or a different batch). */
  | { readonly type: 'clearResult' };

// ---------------------------------------------------------------------------------------------
// Webview → worker

/** A compiled `WebAssembly.Module` (structured-cloneable). Typed loosely because `protocol/` is
 * compiled without DOM or Node libs, where the `WebAssembly` namespace is not declared. */
export type WasmModule = object;

export type WebviewToWorker =
  /** Webview → worker: the engine, compiled or as bytes (the worker loads nothing itself), and the
   * Blob URL of this same worker script, from which it starts engine shard workers for large batches. */
  | { readonly type: 'init'; readonly module?: WasmModule; readonly bytes?: ArrayBuffer; readonly shardWorkerUrl?: string }
  /** Webview → worker: a file's bytes (transferred), kept by id for later evaluations. */
  | { readonly type: 'file'; readonly fileId: string; readonly name: string; readonly bytes: ArrayBuffer }
  /** Webview → worker: list the arrays of a file it has. */
  | { readonly type: 'list'; readonly id: number; readonly fileId: string }
  /** Webview → worker: evaluate; answered by progress…, then result (+ details) or error. */
  | { readonly type: 'evaluate'; readonly id: number; readonly spec: EvaluationSpec };

// ---------------------------------------------------------------------------------------------
// Worker → webview

export type WorkerToWebview =
  /** Worker → webview: the engine is instantiated. */
  | { readonly type: 'ready'; readonly engine: string }
  /** Worker → webview: the engine could not start. */
  | { readonly type: 'initError'; readonly error: PanelError }
  /** Worker → webview: the arrays of a file (answering `list`). */
  | { readonly type: 'arrays'; readonly id: number; readonly fileId: string; readonly arrays: readonly ArrayInfo[] }
  /** Worker → webview: a stage of evaluation `id` began; `fraction` in [0, 1] when measurable. */
  | { readonly type: 'progress'; readonly id: number; readonly stage: string; readonly fraction?: number }
  /** Worker → webview: the loss of evaluation `id`. */
  | { readonly type: 'result'; readonly id: number; readonly result: EvaluationResult }
  /** Worker → webview: the extras of evaluation `id` (after its result). */
  | { readonly type: 'details'; readonly id: number; readonly details: EvaluationDetails }
  /** Worker → webview: evaluation or listing `id` failed. */
  | { readonly type: 'error'; readonly id: number; readonly error: PanelError };

// ---------------------------------------------------------------------------------------------
// Validators: each returns the message typed, or throws `ProtocolError` saying what is wrong.

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`${what}: expected an object`);
  return v as Obj;
}
function str(o: Obj, k: string, what: string): string {
  if (typeof o[k] !== 'string') throw new ProtocolError(`${what}.${k}: expected a string`);
  return o[k] as string;
}
function num(o: Obj, k: string, what: string): number {
  if (typeof o[k] !== 'number') throw new ProtocolError(`${what}.${k}: expected a number`);
  return o[k] as number;
}
function int(o: Obj, k: string, what: string): number {
  const n = num(o, k, what);
  if (!Number.isSafeInteger(n)) throw new ProtocolError(`${what}.${k}: expected an integer`);
  return n;
}
function optional<T>(o: Obj, k: string, check: (o: Obj, k: string, what: string) => T, what: string): T | undefined {
  return o[k] === undefined ? undefined : check(o, k, what);
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[], what: string): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ProtocolError(`${what}.${k}: expected one of ${allowed.join(', ')}`);
  }
  return v as T;
}
function dims(o: Obj, k: string, what: string): number[] {
  const v = o[k];
  if (!Array.isArray(v) || !v.every(d => Number.isSafeInteger(d) && d >= 0)) {
    throw new ProtocolError(`${what}.${k}: expected a shape (non-negative integers)`);
  }
  return v as number[];
}
function instance<T>(o: Obj, k: string, ctor: abstract new (...a: never[]) => T, what: string): T {
  if (!(o[k] instanceof ctor)) throw new ProtocolError(`${what}.${k}: expected a ${ctor.name}`);
  return o[k] as T;
}

const DTYPES: readonly TensorDtype[] = [
  'float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool',
];

function workspaceFile(v: unknown, what: string): WorkspaceFile {
  const o = obj(v, what);
  str(o, 'fileId', what);
  str(o, 'label', what);
  optional(o, 'byteLength', num, what);
  return o as unknown as WorkspaceFile;
}

function preselect(v: unknown, what: string): PreselectFile {
  const o = obj(v, what);
  workspaceFile(o.file, `${what}.file`);
  optional(o, 'role', (x, k, w) => oneOf(x, k, TENSOR_ROLES, w), what);
  return o as unknown as PreselectFile;
}

function panelCall(v: unknown, what: string): PanelCall {
  const o = obj(v, what);
  str(o, 'uri', what);
  const c = obj(o.call, `${what}.call`);
  str(c, 'fileName', `${what}.call`);
  str(c, 'function', `${what}.call`);
  obj(c.range, `${what}.call.range`);
  obj(c.input, `${what}.call.input`);
  obj(c.target, `${what}.call.target`);
  obj(c.knownDims, `${what}.call.knownDims`);
  return o as unknown as PanelCall;
}

export function validateTensorSource(v: unknown, what = 'source'): TensorSource {
  const o = obj(v, what);
  switch (o.kind) {
    case 'file':
      str(o, 'fileId', what);
      str(o, 'array', what);
      break;
    case 'literal': {
      dims(o, 'shape', what);
      oneOf(o, 'dtype', DTYPES, what);
      const values = o.values;
      if (!Array.isArray(values) || !values.every(x => typeof x === 'number')) {
        throw new ProtocolError(`${what}.values: expected an array of numbers`);
      }
      break;
    }
    case 'random':
      dims(o, 'shape', what);
      int(o, 'seed', what);
      oneOf(o, 'distribution', RANDOM_DISTRIBUTIONS, what);
      optional(o, 'scale', num, what);
      optional(o, 'classes', int, what);
      optional(o, 'dtype', (x, k, w) => oneOf(x, k, DTYPES, w), what);
      break;
    default:
      throw new ProtocolError(`${what}.kind: expected file, literal or random`);
  }
  return o as unknown as TensorSource;
}

export function validateSpec(v: unknown, what = 'spec'): EvaluationSpec {
  const o = obj(v, what);
  oneOf(o, 'function', PANEL_FUNCTIONS, what);
  oneOf(o, 'reduction', PANEL_REDUCTIONS, what);
  int(o, 'ignoreIndex', what);
  num(o, 'labelSmoothing', what);
  oneOf(o, 'classAxis', ['first', 'last'] as const, what);
  oneOf(o, 'targetKind', ['index', 'probability'] as const, what);
  validateTensorSource(o.input, `${what}.input`);
  validateTensorSource(o.target, `${what}.target`);
  if (o.weight !== undefined) validateTensorSource(o.weight, `${what}.weight`);
  if (typeof o.details !== 'boolean') throw new ProtocolError(`${what}.details: expected a boolean`);
  return o as unknown as EvaluationSpec;
}

export function validateHostToWebview(v: unknown): HostToWebview {
  const o = obj(v, 'message');
  const w = `message(${String(o.type)})`;
  switch (o.type) {
    case 'init':
      if (o.call !== undefined) panelCall(o.call, `${w}.call`);
      if (!Array.isArray(o.files)) throw new ProtocolError(`${w}.files: expected an array`);
      o.files.forEach((f, i) => workspaceFile(f, `${w}.files[${i}]`));
      if (o.preselect !== undefined) preselect(o.preselect, `${w}.preselect`);
      break;
    case 'setCall':
      panelCall(o.call, `${w}.call`);
      break;
    case 'useFile':
      preselect(o.file, `${w}.file`);
      break;
    case 'files':
      if (!Array.isArray(o.files)) throw new ProtocolError(`${w}.files: expected an array`);
      o.files.forEach((f, i) => workspaceFile(f, `${w}.files[${i}]`));
      break;
    case 'fileChanged':
      str(o, 'fileId', w);
      break;
    case 'fileBegin':
      int(o, 'requestId', w);
      str(o, 'fileId', w);
      str(o, 'name', w);
      int(o, 'byteLength', w);
      break;
    case 'fileChunk':
      int(o, 'requestId', w);
      int(o, 'offset', w);
      instance(o, 'bytes', Uint8Array, w);
      break;
    case 'fileError':
      int(o, 'requestId', w);
      str(o, 'fileId', w);
      str(o, 'message', w);
      break;
    default:
      throw new ProtocolError(`message.type: unknown host message ${JSON.stringify(o.type)}`);
  }
  return o as unknown as HostToWebview;
}

export function validateWebviewToHost(v: unknown): WebviewToHost {
  const o = obj(v, 'message');
  const w = `message(${String(o.type)})`;
  switch (o.type) {
    case 'ready':
    case 'clearResult':
      break;
    case 'readFile':
      int(o, 'requestId', w);
      str(o, 'fileId', w);
      break;
    case 'pickFile':
      oneOf(o, 'role', TENSOR_ROLES, w);
      break;
    case 'result':
      str(o, 'uri', w);
      int(o, 'callStart', w);
      int(o, 'callEnd', w);
      str(o, 'text', w);
      break;
    default:
      throw new ProtocolError(`message.type: unknown webview message ${JSON.stringify(o.type)}`);
  }
  return o as unknown as WebviewToHost;
}

export function validateWebviewToWorker(v: unknown): WebviewToWorker {
  const o = obj(v, 'message');
  const w = `message(${String(o.type)})`;
  switch (o.type) {
    case 'init':
      if (!isWasmModule(o.module) && !(o.bytes instanceof ArrayBuffer)) {
        throw new ProtocolError(`${w}: expected a WebAssembly.Module or the wasm bytes`);
      }
      optional(o, 'shardWorkerUrl', str, w);
      break;
    case 'file':
      str(o, 'fileId', w);
      str(o, 'name', w);
      instance(o, 'bytes', ArrayBuffer, w);
      break;
    case 'list':
      int(o, 'id', w);
      str(o, 'fileId', w);
      break;
    case 'evaluate':
      int(o, 'id', w);
      validateSpec(o.spec, `${w}.spec`);
      break;
    default:
      throw new ProtocolError(`message.type: unknown worker request ${JSON.stringify(o.type)}`);
  }
  return o as unknown as WebviewToWorker;
}

function isWasmModule(v: unknown): boolean {
  const wasm = (globalThis as { WebAssembly?: { Module: abstract new (...a: never[]) => object } }).WebAssembly;
  return wasm !== undefined && v instanceof wasm.Module;
}

function panelError(v: unknown, what: string): PanelError {
  const o = obj(v, what);
  str(o, 'type', what);
  str(o, 'message', what);
  optional(o, 'inputShape', dims, what);
  optional(o, 'targetShape', dims, what);
  return o as unknown as PanelError;
}

export function validateWorkerToWebview(v: unknown): WorkerToWebview {
  const o = obj(v, 'message');
  const w = `message(${String(o.type)})`;
  switch (o.type) {
    case 'ready':
      str(o, 'engine', w);
      break;
    case 'initError':
      panelError(o.error, `${w}.error`);
      break;
    case 'arrays': {
      int(o, 'id', w);
      str(o, 'fileId', w);
      if (!Array.isArray(o.arrays)) throw new ProtocolError(`${w}.arrays: expected an array`);
      for (const a of o.arrays) {
        const ao = obj(a, `${w}.arrays[]`);
        str(ao, 'name', `${w}.arrays[]`);
        dims(ao, 'shape', `${w}.arrays[]`);
        oneOf(ao, 'dtype', DTYPES, `${w}.arrays[]`);
      }
      break;
    }
    case 'progress':
      int(o, 'id', w);
      str(o, 'stage', w);
      optional(o, 'fraction', num, w);
      break;
    case 'result': {
      int(o, 'id', w);
      const r = obj(o.result, `${w}.result`);
      if (r.loss !== null) num(r, 'loss', `${w}.result`);
      dims(r, 'shape', `${w}.result`);
      dims(r, 'inputShape', `${w}.result`);
      dims(r, 'targetShape', `${w}.result`);
      int(r, 'classes', `${w}.result`);
      int(r, 'elements', `${w}.result`);
      num(r, 'elapsedMs', `${w}.result`);
      num(r, 'totalMs', `${w}.result`);
      str(r, 'engine', `${w}.result`);
      int(r, 'workers', `${w}.result`);
      optional(r, 'noneMean', num, `${w}.result`);
      optional(r, 'lnClasses', num, `${w}.result`);
      break;
    }
    case 'details': {
      int(o, 'id', w);
      const d = obj(o.details, `${w}.details`);
      optional(d, 'perElement', (x, k, ww) => instance(x, k, Float32Array, ww), `${w}.details`);
      optional(d, 'perElementShape', dims, `${w}.details`);
      optional(d, 'ignoredMask', (x, k, ww) => instance(x, k, Uint8Array, ww), `${w}.details`);
      optional(d, 'perSample', (x, k, ww) => instance(x, k, Float64Array, ww), `${w}.details`);
      if (d.perElementRange !== undefined && !(Array.isArray(d.perElementRange) && d.perElementRange.length === 2 && d.perElementRange.every(v => typeof v === 'number'))) {
        throw new ProtocolError(`${w}.details.perElementRange: expected [min, max]`);
      }
      if (d.classSummary !== undefined) obj(d.classSummary, `${w}.details.classSummary`);
      if (d.steps !== undefined) obj(d.steps, `${w}.details.steps`);
      break;
    }
    case 'error':
      int(o, 'id', w);
      panelError(o.error, `${w}.error`);
      break;
    default:
      throw new ProtocolError(`message.type: unknown worker message ${JSON.stringify(o.type)}`);
  }
  return o as unknown as WorkerToWebview;
}
