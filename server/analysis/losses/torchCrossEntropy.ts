// PyTorch's `cross_entropy` and `nll_loss` target validation, in the order PyTorch checks
// (aten/src/ATen/native/LossNLL.cpp `cross_entropy_loss_symint`, `nll_loss_nd_symint`, the
// `nll_loss_forward` meta function, LossNLL2d.cpp `check_inputs_nll_loss2d`; verified against
// torch 2.13): only the first error PyTorch raises is reported, then silent-misuse warnings when
// nothing fails.

import {
  constDim, formatDim, isFloatingDtype, numel, torchScalarTypeName,
  type Dim, type Dtype, type Shape,
} from '../dims';
import type { Finding, FixSpec, TensorValue } from '../values';
import { tensorValue } from '../values';
import { finding } from './findings';
import { cppDouble, torchShape } from './format';
import type { ReasonKey } from './reasons';
import {
  compareDimLists, compareSizes, dropDim, extraSingleton, extraSingletonLoose, fixedRank, isConst,
  provablyDifferent, provablyEqual, reorderedLayout,
} from './shapes';
import type { Known, LossCallInput, LossCheckResult } from './types';

type Reduction = 'none' | 'mean' | 'sum';

/** `_Reduction.get_enum` (torch/nn/_reduction.py): the reduction, `unknown`, or the invalid value. */
export function torchReduction(r: Known<string | number> | undefined): { kind: 'ok'; value: Reduction | undefined } | { kind: 'invalid'; text: string } {
  if (r === undefined) return { kind: 'ok', value: 'mean' };
  if (!r.known) return { kind: 'ok', value: undefined };
  const v = r.value;
  if (v === 'none' || v === 'mean' || v === 'sum') return { kind: 'ok', value: v };
  // Deprecated alias, accepted with a warning.
  if (v === 'elementwise_mean') return { kind: 'ok', value: 'mean' };
  return { kind: 'invalid', text: String(v) };
}


const isIndexDtype = (d: Dtype) => d === 'int64' || d === 'uint8';

/** The kernel name PyTorch's CPU log_softmax dispatch prints for a non-floating input. */
function logSoftmaxKernel(rank: number): string {
  // class_dim is 1 (0 for 1-D); it is the last dim only for 1-D and 2-D inputs.
  return rank <= 2 ? 'log_softmax_lastdim_kernel_impl' : 'log_softmax_kernel_impl';
}

function classDimIndex(rank: number): number {
  return rank === 1 ? 0 : 1;
}

/** What the call expects of its target, for hover. */
function expectation(fnName: string, input: Shape, isNll: boolean): string | undefined {
  const rank = input.dims.length;
  if (rank === 0) return undefined;
  const cd = classDimIndex(rank);
  const C = formatDim(input.dims[cd]);
  const indices = rank === 1 ? '[]' : torchShape(dropDim(input, cd));
  const idx = `class indices ${indices} int64 with values in [0, ${C})`;
  return isNll ? `${fnName} expects log-probabilities and ${idx}` : `${fnName} expects ${idx}, or class probabilities ${torchShape(input)} float`;
}

/** Shape equality as `cross_entropy` decides its path, assuming a classifier has at least 2 classes. */
function probabilityPath(input: Shape, target: Shape): 'equal' | 'different' | 'unknown' {
  const rank = input.dims.length;
  if (rank !== target.dims.length) return 'different';
  const cd = rank === 0 ? -1 : classDimIndex(rank);
  let result: 'equal' | 'different' | 'unknown' = 'equal';
  for (let i = 0; i < rank; i++) {
    let c = compareSizes(input.dims[i], target.dims[i]);
    // A `[N, 1, H, W]` mask against `[N, C, H, W]` logits: the shapes are equal only if C == 1, which
    // is itself a misuse (TL4001). Treat the symbolic class count as at least 2 here.
    if (c === 'unknown' && i === cd && isConst(target.dims[i], 1) && input.dims[i].kind === 'sym') c = 'different';
    if (c === 'different') return 'different';
    if (c === 'unknown') result = 'unknown';
  }
  return result;
}

export function checkTorchCrossEntropy(call: LossCallInput): LossCheckResult {
  const isNll = call.fn === 'nll_loss';
  const fnName = isNll ? 'nll_loss' : 'cross_entropy';
  const findings: Finding[] = [];
  const red = torchReduction(call.reduction);
  // 1. Python: the reduction string.
  if (red.kind === 'invalid') {
    findings.push(finding('TL2016', 'reduction', [red.text], 'invalidReduction', []));
    return { findings };
  }
  const input = call.input, target = call.target;
  if (!input || !target || !fixedRank(input.shape) || !fixedRank(target.shape)) {
    return { findings, output: outputFor(red.value, undefined, input) };
  }
  const inShape = input.shape, tgShape = target.shape;
  const rank = inShape.dims.length;
  const result = (output: TensorValue | undefined): LossCheckResult => ({ findings, output, expectation: expectation(fnName, inShape, isNll) });
  const ignoreIndex = call.ignoreIndex === undefined ? -100 : call.ignoreIndex.known ? call.ignoreIndex.value : undefined;
  const smoothing = call.labelSmoothing === undefined ? 0 : call.labelSmoothing.known ? call.labelSmoothing.value : undefined;

  let path = isNll ? 'different' : probabilityPath(inShape, tgShape);
  // DESIGN §2's exception: a target holding the input's dims in another order is a layout mistake,
  // not a coincidence of sizes, even when the sizes are symbolic.
  const layout = reorderedLayout(inShape, tgShape);
  // Likewise a mask that kept a channel dim anywhere (`[N, H, W, 1]` against `[N, C, H, W]`): the
  // class indices' shape with a size-1 dim inserted.
  const maskWithChannel = rank >= 2 && extraSingleton(tgShape, dropDim(inShape, classDimIndex(rank))) !== undefined;
  if (path === 'unknown' && (layout || maskWithChannel)) path = 'different';
  if (path === 'unknown') return result(outputFor(red.value, undefined, input));

  if (path === 'equal') {
    checkProbabilityPath(call, inShape, tgShape, ignoreIndex, smoothing, findings);
    if (findings.length === 0) probabilityWarnings(call, inShape, target, findings);
    return result(outputFor(red.value, rank === 0 ? inShape : dropDim(inShape, classDimIndex(rank)), input));
  }

  // Index path. cross_entropy: the smoothing range (when smoothing is on), then log_softmax.
  if (!isNll) {
    if (smoothing !== undefined && smoothing > 1) {
      findings.push(finding('TL2015', 'labelSmoothing', [cppDouble(smoothing)], 'labelSmoothing', []));
      return result(outputFor(red.value, undefined, input));
    }
    if (integerInput(call, input, rank, findings, fnName)) return result(outputFor(red.value, undefined, input));
  }
  checkNllNd(call, inShape, tgShape, ignoreIndex, findings, layout, fnName);
  if (findings.length === 0) indexWarnings(call, inShape, findings, fnName);
  // 'none': the target's shape (a 1-D input gives a 0-d loss, also for a `(1,)` target).
  const noneShape = rank === 1 ? { dims: [] } : tgShape;
  return result(outputFor(red.value, noneShape, input));
}

function outputFor(reduction: Reduction | undefined, noneShape: Shape | undefined, input: TensorValue | undefined): TensorValue {
  const dtype = input?.dtype && isFloatingDtype(input.dtype) ? input.dtype : undefined;
  if (reduction === undefined) return tensorValue(undefined, dtype);
  return tensorValue(reduction === 'none' ? noneShape : { dims: [] }, dtype);
}

function integerInput(call: LossCallInput, input: TensorValue, rank: number, findings: Finding[], fnName: string): boolean {
  if (!input.dtype || isFloatingDtype(input.dtype) || rank === 0) return false;
  const fromArgmax = input.producer?.op === 'argmax';
  findings.push(finding('TL2017', 'input', [logSoftmaxKernel(rank), torchScalarTypeName(input.dtype)],
    fromArgmax ? 'integerLogitsArgmax' : 'integerLogits', [input.dtype, fnName],
    { fixes: fromArgmax ? [argmaxFix()] : [] }));
  return true;
}

function argmaxFix(): FixSpec {
  return { kind: 'unwrap-producer', subject: 'input', op: 'argmax', title: 'Pass the logits, not their argmax', preferred: true };
}

/** Class-probability targets: E1 → E2 → E3 → (log_softmax) → E4. */
function checkProbabilityPath(call: LossCallInput, input: Shape, target: Shape, ignoreIndex: number | undefined, smoothing: number | undefined, findings: Finding[]): void {
  const rank = input.dims.length;
  const tgt = call.target!;
  const cd = rank === 0 ? -1 : classDimIndex(rank);
  const indicesShape = rank <= 1 ? '[]' : torchShape(dropDim(input, cd));
  if (tgt.dtype && !isFloatingDtype(tgt.dtype)) {
    const fromArgmax = call.input?.producer?.op === 'argmax';
    const oneHot = tgt.producer?.op === 'one_hot';
    const column = rank === 2 && isConst(input.dims[1], 1);
    const key: ReasonKey = fromArgmax ? 'probabilityTargetArgmax' : oneHot ? 'probabilityTargetOneHot' : column ? 'probabilityTargetColumn' : 'probabilityTargetDtype';
    const fixes: FixSpec[] = fromArgmax ? [argmaxFix()]
      : column ? []
      : [{ kind: 'append', subject: 'target', text: '.float()', title: 'Convert the target to float (soft labels)' }];
    findings.push(finding('TL2009', 'target', [torchScalarTypeName(tgt.dtype)], key, [torchShape(input), 'cross_entropy', indicesShape], { dims: [input], fixes }));
    return;
  }
  if (ignoreIndex !== undefined && ignoreIndex >= 0) {
    findings.push(finding('TL2010', 'ignoreIndex', [], 'probabilityIgnoreIndex', [torchShape(input)]));
    return;
  }
  if (rank > 0 && badWeight(call.weight, input.dims[cd])) {
    const w = call.weight!.shape!;
    findings.push(finding('TL2013', 'weight', [formatDim(input.dims[cd]), torchShape(w)], 'probabilityWeight', [classCount(input.dims[cd]), torchShape(w)], { dims: [input.dims[cd], w] }));
    return;
  }
  if (integerInput(call, call.input!, rank, findings, 'cross_entropy')) return;
  if (smoothing !== undefined && smoothing > 1) {
    findings.push(finding('TL2015', 'labelSmoothing', [cppDouble(smoothing)], 'labelSmoothing', []));
  }
}

function classCount(C: Dim): string {
  return C.kind === 'const' ? `${C.value} class${C.value === 1 ? '' : 'es'}` : `${formatDim(C)} classes`;
}

/** A weight that is provably not a 1-D tensor of C elements. */
function badWeight(weight: TensorValue | undefined, C: Dim): boolean {
  if (!weight || !fixedRank(weight.shape)) return false;
  const w = weight.shape;
  if (w.dims.length !== 1) return true;
  return provablyDifferent(w.dims[0], C);
}

/** `nll_loss_nd`: E6 → E7 → (K-dim: E8) → the per-path checks. */
function checkNllNd(call: LossCallInput, input: Shape, target: Shape, ignoreIndex: number | undefined, findings: Finding[], layout: number[] | undefined, fnName: string): void {
  const rank = input.dims.length;
  const tRank = target.dims.length;
  const tgt = call.target!;
  if (rank === 0) {
    // cross_entropy with a 0-d input and a non-0-d target fails inside log_softmax; only nll_loss is modelled.
    if (fnName === 'nll_loss') findings.push(finding('TL2018', 'input', [], 'zeroDimInput', []));
    return;
  }
  // The layout exception: sizes that are only symbolically different count as different.
  const differ = (a: Dim, b: Dim) => provablyDifferent(a, b) || (layout !== undefined && !provablyEqual(a, b));

  if (rank >= 2) {
    const tBatch = tRank === 0 ? constDim(0) : target.dims[0];
    if (differ(input.dims[0], tBatch)) {
      const key: ReasonKey = tRank === 0 ? 'batchMismatchZeroD' : 'batchMismatch';
      const reasonArgs = tRank === 0 ? [formatDim(input.dims[0]), torchShape(dropDim(input, 1))] : [formatDim(input.dims[0]), formatDim(tBatch)];
      findings.push(finding('TL2002', 'target', [formatDim(input.dims[0]), formatDim(tBatch)], key, reasonArgs, { dims: [input.dims[0], tBatch] }));
      return;
    }
  }
  if (rank === 3 || rank >= 5) {
    const expected: Shape = { dims: [input.dims[0], ...input.dims.slice(2)] };
    const rel = compareDimLists(expected.dims, target.dims);
    // Sequence logits `[B, T, V]` with `[B, T]` targets: classes last where PyTorch wants them at dim 1.
    // Like a reordered target, a layout mistake even when T and V are symbolic.
    const sequence = rank === 3 && target.dims.length === 2 && compareDimLists(input.dims.slice(0, 2), target.dims) === 'equal';
    if (rel === 'different' || (rel === 'unknown' && (layout || sequence))) {
      findings.push(kdimTargetSize(call, input, target, expected, fnName));
      return;
    }
    if (rel !== 'equal') return;
    // Then reshaped to the 4-D path with a 3-D target.
    checkSpatial(call, input, target, ignoreIndex, findings, false);
    return;
  }
  if (rank === 4) {
    if (tRank !== 3) {
      findings.push(spatialTargetRank(call, input, target, layout, fnName));
      return;
    }
    checkSpatial(call, input, target, ignoreIndex, findings, true);
    return;
  }
  // 1-D / 2-D input: the `nll_loss_forward` meta function.
  if (tRank >= 2) {
    const column = rank === 2 && tRank === 2 && isConst(target.dims[1], 1) && !provablyDifferent(target.dims[0], input.dims[0]);
    const fixes: FixSpec[] = column ? [
      { kind: 'append', subject: 'target', text: '.squeeze(1)', title: 'Squeeze the class column: `.squeeze(1)`', preferred: true },
      { kind: 'append', subject: 'target', text: '.view(-1)', title: 'Flatten the class column: `.view(-1)`' },
    ] : [];
    const expected = rank === 1 ? '0-d' : torchShape({ dims: [input.dims[0]] });
    findings.push(column
      ? finding('TL2003', 'target', [], 'classColumn', [torchShape(target), fnName, torchShape({ dims: [target.dims[0]] })], { dims: [target], fixes })
      : finding('TL2003', 'target', [], 'multiTarget', [fnName, expected, torchShape(target)], { dims: [target] }));
    return;
  }
  if (targetDtype(tgt, findings, input)) return;
  if (rank === 1 && tRank === 1 && provablyDifferent(target.dims[0], constDim(1))) {
    findings.push(finding('TL2004', 'target', [formatDim(target.dims[0])], 'oneDInputTarget', [torchShape(input)], { dims: [target] }));
    return;
  }
  const C = input.dims[rank - 1];
  if (badWeight(call.weight, C)) {
    const w = call.weight!.shape!;
    findings.push(finding('TL2011', 'weight', [formatDim(C), torchShape(w)], 'weightLength', [classCount(C), torchShape(w)], { dims: [C, w] }));
    return;
  }
  if (weightDtype(call, findings)) return;
  outOfBounds(tgt, C, ignoreIndex, findings);
}

/** E10: the target dtype must be int64 or uint8 (uint8 is refused later on the K-dim path). */
function targetDtype(tgt: TensorValue, findings: Finding[], input: Shape): boolean {
  if (!tgt.dtype || isIndexDtype(tgt.dtype)) return false;
  findings.push(finding('TL2007', 'target', [torchScalarTypeName(tgt.dtype)], 'targetDtype', [tgt.dtype], {
    dims: [input],
    fixes: [{ kind: 'append', subject: 'target', text: '.long()', title: 'Convert the target to int64: `.long()`', preferred: true }],
  }));
  return true;
}

/** E18: a weight whose dtype differs from the input's. */
function weightDtype(call: LossCallInput, findings: Finding[]): boolean {
  const w = call.weight?.dtype, x = call.input?.dtype;
  if (!w || !x || w === x || !isFloatingDtype(x)) return false;
  findings.push(finding('TL2008', 'weight', [torchScalarTypeName(x), torchScalarTypeName(w)], 'weightDtype', [w, x]));
  return true;
}

/** The 4-D path (`nll_loss2d`), also reached by 3-D and ≥5-D inputs after reshaping: E10 → E13 → E15 → E17 → E16. */
function checkSpatial(call: LossCallInput, input: Shape, target: Shape, ignoreIndex: number | undefined, findings: Finding[], fourD: boolean): void {
  const tgt = call.target!;
  if (tgt.dtype && !isIndexDtype(tgt.dtype)) {
    targetDtype(tgt, findings, input);
    return;
  }
  const C = input.dims[1];
  if (badWeight(call.weight, C)) {
    const w = call.weight!.shape!;
    findings.push(finding('TL2012', 'weight', [], 'weightLengthSpatial', [formatDim(C), torchShape(w)], { dims: [C, w] }));
    return;
  }
  if (fourD) {
    const inNHW = [input.dims[0], input.dims[2], input.dims[3]];
    if (compareDimLists(inNHW, target.dims) === 'different') {
      findings.push(finding('TL2005', 'target', [torchShape(input), torchShape(target)], 'spatialSizeMismatch',
        [torchShape(input), torchShape(target), torchShape({ dims: inNHW })], { dims: [input, target] }));
      return;
    }
  }
  if (tgt.dtype === 'uint8') {
    findings.push(finding('TL2008', 'target', ['Long', 'Byte'], 'byteTargetKdim', [torchShape(input)], {
      fixes: [{ kind: 'append', subject: 'target', text: '.long()', title: 'Convert the target to int64: `.long()`', preferred: true }],
    }));
    return;
  }
  outOfBounds(tgt, C, ignoreIndex, findings);
}

/** E14 with the recognised cause: a `[N, 1, H, W]` mask, a reordered (NHWC) target, or neither. */
function spatialTargetRank(call: LossCallInput, input: Shape, target: Shape, layout: number[] | undefined, fnName: string): Finding {
  const tgt = call.target!;
  const indices: Shape = dropDim(input, 1);
  const args = [target.dims.length];
  const k = extraSingletonLoose(target, indices);
  if (k !== undefined) {
    const long = tgt.dtype && !isIndexDtype(tgt.dtype) ? '.long()' : '';
    return finding('TL2001', 'target', args, 'maskChannelDim', [torchShape(target), fnName, torchShape(indices), k], {
      dims: [input, target],
      fixes: [{ kind: 'append', subject: 'target', text: `.squeeze(${k})${long}`, title: `Drop the mask's channel dim: \`.squeeze(${k})${long}\``, preferred: true }],
    });
  }
  if (layout) {
    const float = tgt.dtype && !isFloatingDtype(tgt.dtype) ? '.float()' : '';
    const perm = layout.join(', ');
    // `[0, 3, 1, 2]`-style: the class dim moved from last to 1, everything else in order.
    const classesLast = layout[1] === layout.length - 1 && layout.every((v, i) => i === 1 || v === (i === 0 ? 0 : i - 1));
    return finding('TL2001', 'target', args, classesLast ? 'reorderedTargetClassesLast' : 'reorderedTarget', [torchShape(target), fnName, torchShape(input), perm, torchShape(indices)], {
      dims: [input, target],
      fixes: [{ kind: 'append', subject: 'target', text: `.permute(${perm})${float}`, title: `Reorder the target to the input's layout: \`.permute(${perm})${float}\``, preferred: true }],
    });
  }
  return finding('TL2001', 'target', args, 'spatialTargetRank', [fnName, torchShape(indices), torchShape(input), target.dims.length], { dims: [input, target] });
}

/** E8 with the recognised cause: sequence logits `[B, T, V]`, a spurious singleton `[N, 1, C]`, or neither. */
function kdimTargetSize(call: LossCallInput, input: Shape, target: Shape, expected: Shape, fnName: string): Finding {
  const args = [torchShape(expected), torchShape(target)];
  const rank = input.dims.length;
  // [B, T, V] logits with [B, T] targets (also [T, B, V] with [T, B]).
  if (rank === 3 && target.dims.length === 2 && compareDimLists(input.dims.slice(0, 2), target.dims) === 'equal') {
    const V = formatDim(input.dims[2]);
    const viewV = input.dims[2].kind === 'unknown' ? '$0.size(-1)' : V;
    return finding('TL2006', 'input', args, 'sequenceLogits', [torchShape(input), fnName, V], {
      dims: [input, target],
      fixes: [
        {
          kind: 'compound', title: `Flatten positions into the batch: \`view(-1, ${V})\` and \`view(-1)\``, preferred: true,
          parts: [
            { kind: 'wrap', subject: 'input', template: `$0.view(-1, ${viewV})`, title: '' },
            { kind: 'append', subject: 'target', text: '.view(-1)', title: '' },
          ],
        },
        { kind: 'append', subject: 'input', text: '.permute(0, 2, 1)', title: 'Move the classes to dim 1: `.permute(0, 2, 1)`' },
      ],
    });
  }
  // [N, 1, C] logits with an [N] target.
  const k = extraSingleton(input, { dims: [...target.dims, input.dims[rank - 1]] });
  if (k !== undefined && k > 0) {
    return finding('TL2006', 'input', args, 'extraSingletonInput', [torchShape(input), k, fnName], {
      dims: [input, target],
      fixes: [{ kind: 'append', subject: 'input', text: `.squeeze(${k})`, title: `Remove the size-1 dim: \`.squeeze(${k})\``, preferred: true }],
    });
  }
  return finding('TL2006', 'target', args, 'kdimTargetSize', [torchShape(input), torchShape(expected)], { dims: [input, target] });
}

/** E16: the first known target value outside [0, C) that is not ignore_index. */
function outOfBounds(tgt: TensorValue, C: Dim, ignoreIndex: number | undefined, findings: Finding[]): void {
  if (C.kind !== 'const' || ignoreIndex === undefined) return;
  const n = C.value;
  const bad = (v: number) => (v < 0 || v >= n) && v !== ignoreIndex;
  const single = n === 1;
  if (tgt.values) {
    const v = tgt.values.find(bad);
    if (v === undefined) return;
    findings.push(finding('TL2014', 'target', [v], single ? 'outOfBoundsSingleClass' : 'outOfBounds', [n, n - 1, v, ignoreIndex]));
    return;
  }
  const r = tgt.valueRange;
  if (!r) return;
  // A range is a bound, not a value: report the bound that lies outside, skipping ignore_index.
  let v: number | undefined;
  if (r.max >= n) v = r.max !== ignoreIndex ? r.max : r.max - 1 >= n && r.max - 1 >= r.min ? r.max - 1 : undefined;
  if (v === undefined && r.min < 0) v = r.min !== ignoreIndex ? r.min : r.min + 1 < 0 && r.min + 1 <= r.max ? r.min + 1 : undefined;
  if (v === undefined) return;
  findings.push(finding('TL2014', 'target', [v], single ? 'outOfBoundsSingleClass' : 'outOfBoundsRange', [n, n - 1, v, ignoreIndex]));
}

/** Silent misuse on the probability path: one class, integer-valued or multi-hot "probabilities", softmax input. */
function probabilityWarnings(call: LossCallInput, input: Shape, target: TensorValue, findings: Finding[]): void {
  const rank = input.dims.length;
  if (rank === 0) return;
  const cd = classDimIndex(rank);
  if (isConst(input.dims[cd], 1)) {
    findings.push(finding('TL4001', 'input', ['cross_entropy', cd], 'singleClass', [], { dims: [input] }));
    return;
  }
  if (call.input?.producer?.op === 'argmax') {
    findings.push(finding('TL4004', 'input', ['cross_entropy'], 'argmaxLogits', [], { fixes: [argmaxFix()] }));
    return;
  }
  const kind = suspiciousProbabilities(target, input, cd);
  if (kind) {
    const indices = rank === 1 ? '0-d' : torchShape(dropDim(input, cd));
    findings.push(kind === 'integer'
      ? finding('TL4002', 'target', ['look like class indices'], 'integerValuedProbabilities', [indices], { dims: [input] })
      : finding('TL4002', 'target', ['are multi-hot, not a distribution'], 'multiHotProbabilities', [], { dims: [input] }));
    return;
  }
  softmaxWarning(call, findings, 'cross_entropy');
}

function indexWarnings(call: LossCallInput, input: Shape, findings: Finding[], fnName: string): void {
  const rank = input.dims.length;
  if (rank === 0) return;
  const cd = classDimIndex(rank);
  if (fnName === 'cross_entropy' && isConst(input.dims[cd], 1)) {
    findings.push(finding('TL4001', 'input', ['cross_entropy', cd], 'singleClass', [], { dims: [input] }));
    return;
  }
  if (call.input?.producer?.op === 'argmax') {
    findings.push(finding('TL4004', 'input', [fnName], 'argmaxLogits', [], { fixes: [argmaxFix()] }));
    return;
  }
  softmaxWarning(call, findings, fnName);
}

function softmaxWarning(call: LossCallInput, findings: Finding[], fnName: string): void {
  if (call.input?.producer?.op !== 'softmax') return;
  if (fnName === 'nll_loss') {
    findings.push(finding('TL4005', 'input', ['nll_loss', 'nll_loss expects log-probabilities'], 'softmaxBeforeNll', []));
  } else {
    findings.push(finding('TL4005', 'input', [fnName, `${fnName} applies softmax itself`], 'softmaxBeforeCrossEntropy', [fnName], {
      fixes: [{ kind: 'unwrap-producer', subject: 'input', op: 'softmax', title: 'Pass the logits, not their softmax', preferred: true }],
    }));
  }
}

/**
 * Known target values that cannot be meant as probabilities: integers outside [0, 1] (class
 * indices that happen to have the input's shape), or 0/1 rows with more than one 1 (multi-hot).
 */
export function suspiciousProbabilities(target: TensorValue, input: Shape, cd: number): 'integer' | 'multi-hot' | undefined {
  const r = target.valueRange;
  const values = target.values;
  if (!values) {
    if (r && Number.isInteger(r.min) && Number.isInteger(r.max) && (r.min < 0 || r.max > 1)) return 'integer';
    return undefined;
  }
  if (values.length === 0) return undefined;
  if (values.every(Number.isInteger) && values.some(v => v < 0 || v > 1)) return 'integer';
  if (!values.every(v => v === 0 || v === 1)) return undefined;
  // Row sums along the class dim; needs every size known and the values complete.
  const sizes = input.dims.map(d => (d.kind === 'const' ? d.value : NaN));
  const total = numel(input);
  if (sizes.some(Number.isNaN) || !total || total.kind !== 'const' || total.value !== values.length) return undefined;
  const C = sizes[cd];
  const inner = sizes.slice(cd + 1).reduce((a, b) => a * b, 1);
  const outer = values.length / (C * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += values[(o * C + c) * inner + i];
      if (sum > 1) return 'multi-hot';
    }
  }
  return undefined;
}
