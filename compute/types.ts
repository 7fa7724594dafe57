// The engine's public types: tensors as typed arrays, loss options, results and PyTorch's errors.
// Shared by the wasm engine, the worker hosts, the readers, the webview and the command line.

/** Element types the readers produce and the engine accepts. */
export type TensorDtype =
  | 'float16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/**
 * A dense tensor in C (row-major) order. `data.length` equals the product of `shape`.
 * float16 data is held as raw `Uint16Array` bits; bool as `Uint8Array` of 0/1.
 */
export interface Tensor {
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

export type Reduction = 'mean' | 'sum' | 'none';

/** TF.js `Reduction` names for `softmaxCrossEntropy` mode. */
export type TfjsReduction = 'NONE' | 'MEAN' | 'SUM' | 'SUM_BY_NONZERO_WEIGHTS';

export interface LossOptions {
  /** Per-class weights, length C (torch mode). In tfjs mode: per-example weights broadcast to the loss. */
  readonly weight?: Tensor;
  /** Default -100, PyTorch's. Any integer (int64 range) is allowed. */
  readonly ignoreIndex?: number | bigint;
  /** Default 'mean'. */
  readonly reduction?: Reduction | TfjsReduction;
  /** Default 0. Negative is treated as 0 (PyTorch); > 1 is PyTorch's error. */
  readonly labelSmoothing?: number;
  /** Also return `log_softmax(input)` (ONNX's `log_prob` output). */
  readonly returnLogProb?: boolean;
  /**
   * Accept an `int32` index target (API only, for speed: no int64 conversion by the caller).
   * Without it an int32 target is PyTorch's error `expected target dtype to be Long or Byte, but got Int`,
   * which is what a file holding int32 targets gets.
   */
  readonly int32Targets?: boolean;
}

/** Options of TF.js `tf.losses.softmaxCrossEntropy(onehotLabels, logits, weights, labelSmoothing, reduction)`. */
export interface TfjsLossOptions {
  /** Broadcast against the per-example losses (logits' shape without the last dim), TF.js rules. */
  readonly weights?: Tensor;
  /** Default 0; TF.js divides it by `labels.shape[1]`, not by the class count. */
  readonly labelSmoothing?: number;
  /** Default SUM_BY_NONZERO_WEIGHTS, as in TF.js. */
  readonly reduction?: TfjsReduction;
}

export type LossFunctionName = 'cross_entropy' | 'nll_loss';
export type LossMode = 'torch' | 'tfjs';

export type EngineKind = 'wasm-relaxed-simd' | 'wasm-simd' | 'wasm-scalar';

export interface LossResult {
  /** The reduced loss for 'mean'/'sum' (may be NaN or ±Infinity); null for 'none'. */
  readonly loss: number | null;
  /** Output shape: [] for reduced losses, the target's shape (without the class dim) for 'none'. */
  readonly shape: readonly number[];
  /** Per-element losses for 'none' (float64 for a float64 input, as PyTorch returns). */
  readonly values?: Float32Array | Float64Array;
  /** `log_softmax(input)` when asked for, input's shape. */
  readonly logProb?: Float32Array | Float64Array;
  /** The result's dtype: the input's (float32 or float64). */
  readonly dtype?: 'float32' | 'float64';
  /** Time spent in the kernels only, milliseconds. */
  readonly elapsedMs: number;
  readonly engine: EngineKind;
}

/** A Python exception type PyTorch raises. */
export type TorchErrorType = 'RuntimeError' | 'ValueError' | 'IndexError' | 'NotImplementedError' | 'TypeError';

/** PyTorch's error, with its exact message: `IndexError: Target 5 is out of bounds.` */
export class TorchError extends Error {
  constructor(readonly type: TorchErrorType, message: string) {
    super(message);
    this.name = type;
  }
  override toString(): string {
    return `${this.type}: ${this.message}`;
  }
}

/** TF.js's error for `softmaxCrossEntropy` mode, with TF.js's exact message. */
export class TfjsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Error';
  }
}

/**
 * An input the engine does not compute although PyTorch might (float16 logits, for example), or a
 * misuse of the API; the message says what to do instead.
 */
export class EngineInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineInputError';
  }
}

/** The evaluation was cancelled (pool `AbortSignal`). */
export class CancelledError extends Error {
  constructor() {
    super('the loss evaluation was cancelled');
    this.name = 'CancelledError';
  }
}

/** A tensor file that cannot be read: names the file and the problem. */
export class TensorFileError extends Error {
  constructor(readonly fileName: string, readonly problem: string) {
    super(`${fileName}: ${problem}`);
    this.name = 'TensorFileError';
  }
}
