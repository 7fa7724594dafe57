// TF.js losses and metrics: `tf.losses.softmaxCrossEntropy` / `sigmoidCrossEntropy` /
// `meanSquaredError` (tfjs-core/src/ops/losses/*.ts: `assertShapesMatch`, then
// `computeWeightedLoss`), `tf.metrics.categoricalCrossentropy` / `binaryCrossentropy` and the
// layers' `sparseCategoricalCrossentropy` (tfjs-layers/src/losses.ts); messages verified with
// tfjs 4.22.0. Labels come first in TF.js; here `target` is the labels and `input` the logits.

import { constDim, formatDim, isFloatingDtype, mulDims, numel, type Dim, type Shape } from '../dims';
import type { Finding, FixSpec, TensorValue } from '../values';
import { tensorValue } from '../values';
import { tfjsJsonShape, tfjsShape, torchShape } from './format';
import { broadcast, compareDimLists, compareSizes, dropDim, fixedRank, isConst, reorderedLayout } from './shapes';
import { finding } from './findings';
import type { Known, LossCallInput, LossCheckResult } from './types';

type TfReduction = 'NONE' | 'MEAN' | 'SUM' | 'SUM_BY_NONZERO_WEIGHTS';
const REDUCTIONS: readonly TfReduction[] = ['NONE', 'MEAN', 'SUM', 'SUM_BY_NONZERO_WEIGHTS'];

/** `tf.Reduction` by member name or number; `invalid` carries what `Unknown reduction: ${reduction}` prints. */
function tfReduction(r: Known<string | number> | undefined): { kind: 'ok'; value: TfReduction | undefined } | { kind: 'invalid'; text: string } {
  if (r === undefined) return { kind: 'ok', value: 'SUM_BY_NONZERO_WEIGHTS' };
  if (!r.known) return { kind: 'ok', value: undefined };
  const v = r.value;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v < 4 ? { kind: 'ok', value: REDUCTIONS[v] } : { kind: 'invalid', text: String(v) };
  const name = v.replace(/^(tf\.)?(losses\.)?Reduction\./, '');
  return (REDUCTIONS as readonly string[]).includes(name) ? { kind: 'ok', value: name as TfReduction } : { kind: 'invalid', text: v };
}

const NAMES: Record<string, string> = {
  'tfjs.softmaxCrossEntropy': 'softmaxCrossEntropy',
  'tfjs.sigmoidCrossEntropy': 'sigmoidCrossEntropy',
  'tfjs.meanSquaredError': 'meanSquaredError',
  'tfjs.categoricalCrossentropy': 'categoricalCrossentropy',
  'tfjs.binaryCrossentropy': 'binaryCrossentropy',
  'tfjs.sparseCategoricalCrossentropy': 'sparseCategoricalCrossentropy',
};

function outputValue(shape: Shape | undefined, input: TensorValue | undefined): TensorValue {
  // TF.js losses compute in float32 whatever the labels' dtype.
  return tensorValue(shape, input?.dtype && isFloatingDtype(input.dtype) ? input.dtype : 'float32');
}

export function checkTfjsLoss(call: LossCallInput): LossCheckResult {
  switch (call.fn) {
    case 'tfjs.softmaxCrossEntropy':
    case 'tfjs.sigmoidCrossEntropy':
    case 'tfjs.meanSquaredError':
      return checkCoreLoss(call);
    case 'tfjs.categoricalCrossentropy':
      return checkCategoricalMetric(call);
    case 'tfjs.binaryCrossentropy':
      return checkBinaryMetric(call);
    case 'tfjs.sparseCategoricalCrossentropy':
      return checkSparseMetric(call);
    default:
      return { findings: [] };
  }
}

/** tf.losses.*: shapes must be identical, then the weights broadcast, then the reduction. */
function checkCoreLoss(call: LossCallInput): LossCheckResult {
  const name = NAMES[call.fn];
  const softmax = call.fn === 'tfjs.softmaxCrossEntropy';
  const findings: Finding[] = [];
  const red = tfReduction(call.reduction);
  const logits = call.input?.shape, labels = call.target?.shape;
  const known = fixedRank(logits) && fixedRank(labels);
  const expectation = fixedRank(logits)
    ? softmax ? `${name} expects one-hot labels ${torchShape(logits)} (classes last)` : `${name} expects labels of the logits' shape ${torchShape(logits)}`
    : undefined;
  const lossShape = fixedRank(logits) ? (softmax && logits.dims.length > 0 ? dropDim(logits, logits.dims.length - 1) : logits) : undefined;
  const result = (): LossCheckResult => ({
    findings, expectation,
    output: red.kind === 'ok' && red.value !== undefined ? outputValue(red.value === 'NONE' ? lossShape : { dims: [] }, call.input) : outputValue(undefined, call.input),
  });

  if (known) {
    const relation = compareDimLists(labels.dims, logits.dims);
    const layout = relation === 'unknown' ? reorderedLayout(logits, labels) : relation === 'different' ? reorderedLayout(logits, labels) : undefined;
    if (relation === 'different' || layout) {
      findings.push(shapesMustMatch(call, name, logits, labels, layout, softmax));
      return result();
    }
  }
  // computeWeightedLoss: losses * weights.
  const weights = call.weights?.shape;
  if (lossShape && fixedRank(weights) && broadcast(lossShape, weights).error) {
    findings.push(finding('TL2025', 'arg2', [tfjsShape(lossShape), tfjsShape(weights)], 'tfjsWeights', [torchShape(lossShape), torchShape(weights)], { dims: [lossShape, weights] }));
    return result();
  }
  if (red.kind === 'invalid') {
    findings.push(finding('TL2028', 'reduction', [red.text], 'tfjsUnknownReduction', []));
    return result();
  }
  if (call.fn === 'tfjs.sigmoidCrossEntropy' && call.input?.producer?.op === 'sigmoid') {
    findings.push(finding('TL4008', 'input', [name], 'sigmoidBeforeLogitsLoss', [], { fixes: [unwrap('sigmoid', 'Pass the logits, not their sigmoid')] }));
    return result();
  }
  if (softmax && known) {
    const last = logits.dims.length - 1;
    if (last >= 0 && isConst(logits.dims[last], 1)) {
      findings.push(finding('TL4001', 'input', [name, last], 'singleClass', [], { dims: [logits] }));
    } else if (call.input?.producer?.op === 'argmax') {
      findings.push(finding('TL4004', 'input', [name], 'argmaxLogits', [], { fixes: [unwrap('argmax', 'Pass the logits, not their argMax')] }));
    } else if (call.input?.producer?.op === 'softmax') {
      findings.push(finding('TL4005', 'input', [name, `${name} applies softmax itself`], 'softmaxBeforeCrossEntropy', [name], {
        fixes: [unwrap('softmax', 'Pass the logits, not their softmax')],
      }));
    }
  }
  return result();
}

function unwrap(op: string, title: string): FixSpec {
  return { kind: 'unwrap-producer', subject: 'input', op, title, preferred: true };
}

function shapesMustMatch(call: LossCallInput, name: string, logits: Shape, labels: Shape, layout: number[] | undefined, softmax: boolean): Finding {
  const args = [name, tfjsShape(labels), tfjsShape(logits)];
  if (layout) {
    const perm = layout.join(', ');
    return finding('TL2022', 'target', args, 'tfjsReordered', [torchShape(labels), torchShape(logits), perm], {
      dims: [logits, labels],
      fixes: [{ kind: 'append', subject: 'target', text: `.transpose([${perm}])`, title: `Reorder the labels to the logits' layout: \`.transpose([${perm}])\``, preferred: true }],
    });
  }
  const r = logits.dims.length;
  // Class indices where one-hot labels are expected: labels are the logits without the class dim.
  if (softmax && r >= 1 && labels.dims.length === r - 1 && compareDimLists(labels.dims, logits.dims.slice(0, r - 1)) !== 'different') {
    const C = logits.dims[r - 1];
    const toInt = call.target?.dtype && call.target.dtype !== 'int32' ? '.toInt()' : '';
    const depth = C.kind === 'unknown' ? undefined : formatDim(C);
    return finding('TL2022', 'target', args, 'tfjsIndexLabels', [torchShape(logits), depth ?? 'numClasses'], {
      dims: [logits, labels],
      fixes: depth ? [{ kind: 'wrap', subject: 'target', template: `tf.oneHot($0${toInt}, ${depth})`, title: `One-hot encode the labels: \`tf.oneHot(labels, ${depth})\``, preferred: true }] : [],
    });
  }
  // A column of class indices `[N, 1]` against `[N, C]` logits.
  if (softmax && r >= 2 && labels.dims.length === r && isConst(labels.dims[r - 1], 1) && !isConst(logits.dims[r - 1], 1)
    && compareDimLists(labels.dims.slice(0, r - 1), logits.dims.slice(0, r - 1)) !== 'different' && call.target?.dtype && !isFloatingDtype(call.target.dtype)) {
    const C = logits.dims[r - 1];
    const depth = C.kind === 'unknown' ? undefined : formatDim(C);
    return finding('TL2022', 'target', args, 'tfjsIndexColumn', [torchShape(logits), depth ?? 'numClasses'], {
      dims: [logits, labels],
      fixes: depth && r === 2 ? [{ kind: 'wrap', subject: 'target', template: `tf.oneHot($0.reshape([-1]), ${depth})`, title: `One-hot encode the labels: \`tf.oneHot(labels.reshape([-1]), ${depth})\``, preferred: true }] : [],
    });
  }
  return finding('TL2022', 'target', args, 'tfjsShapes', [name], { dims: [logits, labels] });
}

/** `categoricalCrossentropy(target, output)`: `-sum(target * log(output), lastAxisOfOutput)`, broadcasting. */
function checkCategoricalMetric(call: LossCallInput): LossCheckResult {
  const name = NAMES[call.fn];
  const findings: Finding[] = [];
  const yPred = call.input?.shape, yTrue = call.target?.shape;
  if (!fixedRank(yPred) || !fixedRank(yTrue)) return { findings, output: outputValue(undefined, call.input) };
  const expectation = `${name} expects one-hot labels ${torchShape(yPred)} (classes last) and probabilities`;
  const b = broadcast(yTrue, yPred);
  if (b.error) {
    findings.push(finding('TL2025', 'target', [tfjsShape(yTrue), tfjsShape(yPred)], 'tfjsCategoricalBroadcast', [torchShape(yPred)], { dims: [yTrue, yPred] }));
    return { findings, expectation, output: outputValue(undefined, call.input) };
  }
  const axis = yPred.dims.length - 1;
  const out = axis >= 0 && axis < b.shape.dims.length ? dropDim(b.shape, axis) : undefined;
  if (compareDimLists(yTrue.dims, yPred.dims) === 'different') {
    findings.push(finding('TL4007', 'target', [torchShape(yTrue), torchShape(yPred), name], 'tfjsLabelsBroadcast', [torchShape(yPred)], { dims: [yTrue, yPred] }));
  }
  return { findings, expectation, output: outputValue(out, call.input) };
}

/** `binaryCrossentropy(yTrue, yPred)`: `sigmoidCrossEntropyWithLogits` demands equal shapes, then a mean over the last axis. */
function checkBinaryMetric(call: LossCallInput): LossCheckResult {
  const name = NAMES[call.fn];
  const findings: Finding[] = [];
  const yPred = call.input?.shape, yTrue = call.target?.shape;
  if (!fixedRank(yPred) || !fixedRank(yTrue)) return { findings, output: outputValue(undefined, call.input) };
  const expectation = `${name} expects labels of the predictions' shape ${torchShape(yPred)} with values in [0, 1]`;
  if (compareDimLists(yTrue.dims, yPred.dims) === 'different') {
    findings.push(finding('TL2026', 'target', [tfjsJsonShape(yTrue), tfjsJsonShape(yPred)], 'tfjsBceShape', [], { dims: [yTrue, yPred] }));
    return { findings, expectation, output: outputValue(undefined, call.input) };
  }
  const out = yPred.dims.length > 0 ? dropDim(yPred, yPred.dims.length - 1) : yPred;
  return { findings, expectation, output: outputValue(out, call.input) };
}

/**
 * `sparseCategoricalCrossentropy(target, output)`: `oneHot(floor(flatten(target)), C).reshape(output.shape)`,
 * so `oneHot`'s depth check comes first, then the reshape's element count; labels outside [0, C)
 * become all-zero rows without any error.
 */
function checkSparseMetric(call: LossCallInput): LossCheckResult {
  const name = NAMES[call.fn];
  const findings: Finding[] = [];
  const yPred = call.input?.shape, yTrue = call.target?.shape;
  if (!fixedRank(yPred) || yPred.dims.length === 0) return { findings, output: outputValue(undefined, call.input) };
  const C = yPred.dims[yPred.dims.length - 1];
  const indices = dropDim(yPred, yPred.dims.length - 1);
  const expectation = `${name} expects integer labels ${torchShape(indices)} with values in [0, ${formatDim(C)})`;
  const output = outputValue(indices, call.input);
  if (C.kind === 'const' && C.value < 2) {
    findings.push(finding('TL2023', 'input', [C.value], 'tfjsSparseDepth', [C.value]));
    return { findings, expectation, output };
  }
  if (!fixedRank(yTrue)) return { findings, expectation, output };
  const labelCount = numel(yTrue) ?? constDim(0);
  const oneHotSize = mulDims(labelCount, C);
  const predSize = numel(yPred)!;
  const oneHotLabels = compareDimLists(yTrue.dims, yPred.dims) === 'equal' && !isConst(C, 1);
  if (compareSizes(oneHotSize, predSize) === 'different' || oneHotLabels) {
    findings.push(finding('TL2027', 'target', [formatDim(oneHotSize).replace(/ /g, ''), tfjsShape(yPred)],
      oneHotLabels ? 'tfjsSparseOneHotLabels' : 'tfjsSparseSize', [torchShape(indices), torchShape(yTrue), formatDim(labelCount)], { dims: [yTrue, yPred] }));
    return { findings, expectation, output };
  }
  const bad = sparseOutOfRange(call.target!, C);
  if (bad !== undefined) {
    findings.push(finding('TL4006', 'target', [bad, formatDim(C)], 'tfjsSparseOutOfRange', [formatDim(C)], { dims: [C] }));
  }
  return { findings, expectation, output };
}

function sparseOutOfRange(labels: TensorValue, C: Dim): number | undefined {
  if (C.kind !== 'const') return undefined;
  const outside = (v: number) => Math.floor(v) < 0 || Math.floor(v) >= C.value;
  if (labels.values) {
    const v = labels.values.find(outside);
    return v === undefined ? undefined : Math.floor(v);
  }
  const r = labels.valueRange;
  if (!r) return undefined;
  if (Math.floor(r.max) >= C.value) return Math.floor(r.max);
  if (Math.floor(r.min) < 0) return Math.floor(r.min);
  return undefined;
}

/** `tf.oneHot(indices, depth)` with `depth < 2`: for the registry's oneHot shape function (TF.js only). */
export function checkTfjsOneHotDepth(depth: Known<number>): Finding | undefined {
  if (!depth.known || depth.value >= 2) return undefined;
  return finding('TL2023', 'arg1', [depth.value], 'tfjsOneHotDepth', []);
}

