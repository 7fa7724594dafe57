// PyTorch's and TF.js's argument checks for cross_entropy / nll_loss / softmaxCrossEntropy, in the
// order they raise them, with their exact messages; the result is a plan the kernels execute.
//
// Sources: ../shared/research/ce-semantics.md §1–§2 and §4 (every message there was run-verified
// against torch 2.13 and tfjs 4.22). Each check below names its row (E1…E20) in that table.

import {
  EngineInputError, TfjsError, TorchError,
  type LossOptions, type Reduction, type Tensor, type TensorDtype, type TfjsLossOptions, type TfjsReduction,
} from './types';

export type PlanKind =
  /** class-index targets, log_softmax + nll (cross_entropy) */
  | 'index'
  /** class-index targets on log-probabilities (nll_loss) */
  | 'nll'
  /** class-probability targets of the input's shape */
  | 'prob';

/** Where the kernels find an item's classes: rows of [N, C], or pixels of [N, C, S]. */
export type PlanLayout = 'rows' | 'spatial';

export interface LossPlan {
  readonly kind: PlanKind;
  readonly mode: 'torch' | 'tfjs';
  readonly dtype: 'float32' | 'float64';
  readonly layout: PlanLayout;
  /** outer size (batch), classes, inner size (d1·…·dK, 1 for rows) */
  readonly N: number;
  readonly C: number;
  readonly S: number;
  /** N·S: the number of per-item losses */
  readonly items: number;
  /** The shape of the per-item losses ('none'). */
  readonly itemShape: readonly number[];
  readonly reduction: Reduction;
  /** TF.js mode only. */
  readonly tfjsReduction?: TfjsReduction;
  /** label smoothing, ≥ 0 (PyTorch treats a negative value as 0) */
  readonly eps: number;
  /** what ε is divided by: C, or TF.js's labels.shape[1] */
  readonly epsDivisor: number;
  readonly ignoreIndex: bigint;
  /** Index-target storage: converted to i32 class indices by the kernels. */
  readonly targetDtype?: 'int64' | 'int32' | 'uint8';
  readonly returnLogProb: boolean;
}

const REDUCTIONS: Readonly<Record<string, Reduction>> = { none: 'none', mean: 'mean', sum: 'sum', elementwise_mean: 'mean' };
const TFJS_REDUCTIONS: readonly TfjsReduction[] = ['NONE', 'MEAN', 'SUM', 'SUM_BY_NONZERO_WEIGHTS'];

/** PyTorch's C++ scalar type names (`c10::toString(ScalarType)`). */
export function torchTypeName(dtype: TensorDtype): string {
  switch (dtype) {
    case 'float16': return 'Half';
    case 'float32': return 'Float';
    case 'float64': return 'Double';
    case 'int8': return 'Char';
    case 'int16': return 'Short';
    case 'int32': return 'Int';
    case 'int64': return 'Long';
    case 'uint8': return 'Byte';
    case 'uint16': return 'UInt16';
    case 'uint32': return 'UInt32';
    case 'uint64': return 'UInt64';
    case 'bool': return 'Bool';
  }
}

const isFloating = (d: TensorDtype) => d === 'float16' || d === 'float32' || d === 'float64';
/** C++ `IntArrayRef` printing: `[2, 3, 4]`, `[]`. */
const sizes = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * C++ `std::ostream << double` with the default precision: 6 significant digits, `%g` style
 * (`1.5`, `1.12346`, `1e+06`, `inf`, `nan`).
 */
export function formatCppDouble(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split('e');
    const mant = m!.includes('.') ? m!.replace(/0+$/, '').replace(/\.$/, '') : m!;
    const en = Number(e);
    return `${mant}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, 5 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function checkReduction(reduction: unknown): Reduction {
  if (reduction === undefined) return 'mean';
  if (typeof reduction === 'string' && Object.hasOwn(REDUCTIONS, reduction)) return REDUCTIONS[reduction]!;
  // E5: torch/nn/_reduction.py get_enum (Python prints None for a missing value)
  throw new TorchError('ValueError', `${reduction === null ? 'None' : String(reduction)} is not a valid value for reduction`);
}

function checkIgnoreIndex(ii: unknown): bigint {
  if (ii === undefined) return -100n;
  if (typeof ii === 'bigint') return ii;
  if (typeof ii === 'number' && Number.isSafeInteger(ii)) return BigInt(ii);
  throw new EngineInputError(`ignoreIndex must be an integer, got ${String(ii)}`);
}

function checkTensor(t: Tensor | undefined, what: string): void {
  if (!t) return;
  if (!Array.isArray(t.shape) || t.shape.some(d => !Number.isSafeInteger(d) || d < 0)) {
    throw new EngineInputError(`${what}: invalid shape ${JSON.stringify(t.shape)}`);
  }
  const n = numel(t.shape);
  if (!t.data || t.data.length !== n) {
    throw new EngineInputError(`${what}: data holds ${t.data?.length ?? 0} elements but shape ${sizes(t.shape)} needs ${n}`);
  }
}

/** The engine computes float32 and float64 logits; anything else floating is an honest refusal. */
function checkComputable(input: Tensor): 'float32' | 'float64' {
  if (input.dtype === 'float32' || input.dtype === 'float64') return input.dtype;
  throw new EngineInputError(`${input.dtype} input is not supported by the engine: convert the logits to float32`);
}

function layoutOf(shape: readonly number[]): { N: number; C: number; S: number; layout: PlanLayout } {
  if (shape.length === 1) return { N: 1, C: shape[0]!, S: 1, layout: 'rows' };
  const S = numel(shape.slice(2));
  return { N: shape[0]!, C: shape[1]!, S, layout: shape.length === 2 ? 'rows' : 'spatial' };
}

/**
 * `F.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)` or
 * `F.nll_loss(...)`: checks in PyTorch's order (ce-semantics "Order of checks") and returns the plan.
 * Target *values* (E16, out of bounds) are checked by the kernels' conversion, after all of these.
 */
export function planTorch(fn: 'cross_entropy' | 'nll_loss', input: Tensor, target: Tensor, options: LossOptions = {}): LossPlan {
  checkTensor(input, 'input');
  checkTensor(target, 'target');
  checkTensor(options.weight, 'weight');
  // 1. Python: the reduction string.
  const reduction = checkReduction(options.reduction);
  const ignoreIndex = checkIgnoreIndex(options.ignoreIndex);
  const rawEps = options.labelSmoothing ?? 0;
  if (typeof rawEps !== 'number') throw new EngineInputError(`labelSmoothing must be a number, got ${String(rawEps)}`);
  const eps = fn === 'cross_entropy' && rawEps > 0 ? rawEps : 0;
  const weight = options.weight;
  const returnLogProb = !!options.returnLogProb;
  const ishape = input.shape;
  const tshape = target.shape;
  const dim = ishape.length;

  if (fn === 'cross_entropy') {
    const classDim = dim === 1 ? 0 : 1;
    // 2. Same shapes → class-probability targets (E1 → E2 → E3 → log_softmax → E4).
    if (sameShape(ishape, tshape)) {
      if (!isFloating(target.dtype)) {
        throw new TorchError('RuntimeError', `Expected floating point type for target with class probabilities, got ${torchTypeName(target.dtype)}`);
      }
      if (ignoreIndex >= 0n) throw new TorchError('RuntimeError', 'ignore_index is not supported for floating point target');
      if (dim === 0) throw dimOutOfRange(0, classDim);
      const C = ishape[classDim]!;
      if (weight && (weight.shape.length !== 1 || weight.shape[0] !== C)) {
        throw new TorchError('RuntimeError', `cross_entropy: weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of shape: ${sizes(weight.shape)}`);
      }
      checkLogSoftmaxInput(input);
      if (eps > 1) throw smoothingRange(rawEps);
      // float32 logits with float64 probabilities: PyTorch's `input * target` promotes, and the loss
      // is float64 (ce-semantics §1.3). Computed in float64 here throughout (PyTorch's log_softmax
      // stays float32: within ~1e-7 relative of it, where float32 throughout was both further off
      // and of the wrong dtype).
      const dtype = checkComputable(input) === 'float32' && target.dtype === 'float64' ? 'float64' : checkComputable(input);
      const { N, S, layout } = layoutOf(ishape);
      return {
        kind: 'prob', mode: 'torch', dtype, layout, N, C, S, items: N * S,
        itemShape: ishape.filter((_, i) => i !== classDim), reduction, eps, epsDivisor: C, ignoreIndex,
        returnLogProb,
      };
    }
    // 3. Index targets: the smoothing range first, then log_softmax.
    if (eps > 1) throw smoothingRange(rawEps);
    if (dim === 0) throw dimOutOfRange(0, classDim);
    checkLogSoftmaxInput(input);
  }
  return planNll(fn === 'cross_entropy' ? 'index' : 'nll', input, target, weight, reduction, ignoreIndex, eps, returnLogProb, options);
}

/** `nll_loss_nd` and the meta / 2-D checks behind it (E6 → E7 → E8 → per-path checks). */
function planNll(kind: 'index' | 'nll', input: Tensor, target: Tensor, weight: Tensor | undefined, reduction: Reduction,
                 ignoreIndex: bigint, eps: number, returnLogProb: boolean, options: LossOptions): LossPlan {
  const ishape = input.shape;
  const tshape = target.shape;
  const dim = ishape.length;
  // E6
  if (dim < 1) throw new TorchError('ValueError', `Expected 1 or more dimensions (got ${dim})`);
  // E7: a 0-d target's batch size counts as 0
  if (dim !== 1 && ishape[0] !== (tshape.length === 0 ? 0 : tshape[0])) {
    throw new TorchError('ValueError', `Expected input batch_size (${ishape[0]}) to match target batch_size (${tshape.length === 0 ? 0 : tshape[0]}).`);
  }
  const C = dim === 1 ? ishape[0]! : ishape[1]!;
  const targetTypeOk = target.dtype === 'int64' || target.dtype === 'uint8' || (target.dtype === 'int32' && !!options.int32Targets);
  const targetTypeError = () => new TorchError('RuntimeError', `expected target dtype to be Long or Byte, but got ${torchTypeName(target.dtype)}`);
  let itemShape: readonly number[];
  if (dim <= 2) {
    // nll_loss_forward meta: E9 → E10 → E11 → E12 → (kernel) E18 → E16
    if (tshape.length > 1) throw new TorchError('RuntimeError', '0D or 1D target tensor expected, multi-target not supported');
    if (!targetTypeOk) throw targetTypeError();
    if (dim === 1 && tshape.length === 1 && tshape[0] !== 1) {
      throw new TorchError('ValueError', `For 1D input, 1D target must have size 1, but got target size: ${tshape[0]}`);
    }
    if (weight && (weight.shape.length !== 1 || numel(weight.shape) !== C)) {
      throw new TorchError('RuntimeError', `weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of shape: ${sizes(weight.shape)}`);
    }
    if (weight && weight.dtype !== input.dtype) {
      throw new TorchError('RuntimeError', `expected scalar type ${torchTypeName(input.dtype)} but found ${torchTypeName(weight.dtype)}`);
    }
    itemShape = dim === 1 ? [] : [ishape[0]!];
  } else {
    // K-dim: E8 when d1…dK differ, then the 2-D path on the reshaped tensors
    if (dim !== 4) {
      if (!sameShape(tshape.slice(1), ishape.slice(2))) {
        throw new TorchError('RuntimeError', `Expected target size ${sizes([ishape[0]!, ...ishape.slice(2)])}, got ${sizes(tshape)}`);
      }
    } else if (tshape.length !== 3) {
      // E14
      throw new TorchError('RuntimeError', `only batches of spatial targets supported (3D tensors) but got targets of dimension: ${tshape.length}`);
    }
    if (!targetTypeOk) throw targetTypeError(); // E10
    if (weight && numel(weight.shape) !== C) {
      throw new TorchError('RuntimeError', 'weight tensor should be defined either for all or no classes'); // E13
    }
    if (dim === 4 && (ishape[0] !== tshape[0] || ishape[2] !== tshape[1] || ishape[3] !== tshape[2])) {
      // E15, verbatim (the space before the comma and the missing parenthesis are PyTorch's)
      throw new TorchError('RuntimeError', `size mismatch (got input: ${sizes(ishape)} , target: ${sizes(tshape)}`);
    }
    if (target.dtype === 'uint8') throw new TorchError('RuntimeError', 'expected scalar type Long but found Byte'); // E17
    if (weight && weight.dtype !== input.dtype) {
      throw new TorchError('RuntimeError', `expected scalar type ${torchTypeName(input.dtype)} but found ${torchTypeName(weight.dtype)}`);
    }
    itemShape = [ishape[0]!, ...ishape.slice(2)];
  }
  const dtype = checkComputable(input);
  const { N, S, layout } = layoutOf(ishape);
  return {
    kind, mode: 'torch', dtype, layout, N, C, S, items: N * S, itemShape, reduction,
    eps, epsDivisor: C, ignoreIndex, targetDtype: target.dtype as 'int64' | 'int32' | 'uint8', returnLogProb,
  };
}

/**
 * E19: log_softmax on an integer tensor. The message names the CPU kernel's dispatch: over the last
 * dim (1-D and 2-D inputs, class dim last) `log_softmax_lastdim_kernel_impl`, over any other dim
 * (the class dim 1 of an (N, C, d1, …) input) `log_softmax_kernel_impl` (measured upstream:
 * `_log_softmax(int64 (2,3), dim 0)`), as the analysis reports it (TL2017).
 */
function checkLogSoftmaxInput(input: Tensor): void {
  if (isFloating(input.dtype)) return;
  const kernel = input.shape.length <= 2 ? 'log_softmax_lastdim_kernel_impl' : 'log_softmax_kernel_impl';
  throw new TorchError('NotImplementedError', `"${kernel}" not implemented for '${torchTypeName(input.dtype)}'`);
}

/** E20 (`c10::maybe_wrap_dim`), for a 0-d tensor asked for its class dim. */
function dimOutOfRange(dim: number, wanted: number): TorchError {
  const n = Math.max(dim, 1);
  return new TorchError('IndexError', `Dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${wanted})`);
}

function smoothingRange(eps: number): TorchError {
  return new TorchError('RuntimeError', `label_smoothing must be between 0.0 and 1.0. Got: ${formatCppDouble(eps)}`);
}

/**
 * TF.js `tf.losses.softmaxCrossEntropy(onehotLabels, logits, weights, labelSmoothing, reduction)`:
 * shapes must match exactly; the class axis is the last; smoothing divides by labels.shape[1].
 */
export function planTfjs(labels: Tensor, logits: Tensor, options: TfjsLossOptions = {}): LossPlan {
  checkTensor(labels, 'onehotLabels');
  checkTensor(logits, 'logits');
  checkTensor(options.weights, 'weights');
  if (!sameShape(labels.shape, logits.shape)) {
    // two spaces: the prefix ends with ': ' and assertShapesMatch adds ' Shapes …'
    throw new TfjsError(`Error in softmaxCrossEntropy:  Shapes ${labels.shape.join(',')} and ${logits.shape.join(',')} must match`);
  }
  const reduction = options.reduction ?? 'SUM_BY_NONZERO_WEIGHTS';
  if (!TFJS_REDUCTIONS.includes(reduction)) throw new TfjsError(`Unknown reduction: ${String(reduction)}`);
  const rank = logits.shape.length;
  if (rank === 0) throw new EngineInputError('softmaxCrossEntropy needs logits of rank 1 or more (the class axis is the last)');
  const ls = options.labelSmoothing ?? 0;
  if (ls > 0 && rank < 2) {
    throw new EngineInputError('TF.js divides labelSmoothing by labels.shape[1], which rank-1 labels do not have');
  }
  // TF.js holds numbers as float32 (an integer array becomes a float32 tensor); only float16 bits
  // would need decoding, and TF.js has no float16 tensors.
  if (logits.dtype === 'float16' || labels.dtype === 'float16') {
    throw new EngineInputError('float16 tensors are not supported in TF.js mode: convert them to float32');
  }
  const C = logits.shape[rank - 1]!;
  const lossShape = logits.shape.slice(0, -1);
  const N = numel(lossShape);
  return {
    kind: 'prob', mode: 'tfjs', dtype: 'float32', layout: 'rows', N, C, S: 1, items: N, itemShape: lossShape,
    reduction: reduction === 'NONE' ? 'none' : 'sum', tfjsReduction: reduction,
    eps: ls > 0 ? ls : 0, epsDivisor: rank >= 2 ? labels.shape[1]! : C, ignoreIndex: -100n, returnLogProb: false,
  };
}
