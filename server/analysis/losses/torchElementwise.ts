// PyTorch's element-wise losses: `binary_cross_entropy`, `binary_cross_entropy_with_logits`,
// `mse_loss`, `l1_loss` (torch/nn/functional.py size checks, then the ATen kernels' dtype rules).

import { formatDim, isFloatingDtype, torchScalarTypeName, type Shape } from '../dims';
import type { Finding, FixSpec, TensorValue } from '../values';
import { tensorValue } from '../values';
import { torchShape, torchSize } from './format';
import { broadcast, compareDimLists, extraSingleton, fixedRank, reorderedLayout } from './shapes';
import { finding } from './findings';
import { torchReduction } from './torchCrossEntropy';
import type { LossCallInput, LossCheckResult } from './types';

/** Fixes that make `target` the input's shape when the two differ by one size-1 dim. */
function singletonFixes(input: Shape, target: Shape, floatTarget: boolean): FixSpec[] {
  const cast = floatTarget ? '' : '.float()';
  const k = extraSingleton(input, target);
  if (k !== undefined) {
    return [
      { kind: 'append', subject: 'target', text: `.unsqueeze(${k})${cast}`, title: `Add the size-1 dim to the target: \`.unsqueeze(${k})${cast}\``, preferred: true },
      { kind: 'append', subject: 'input', text: `.squeeze(${k})`, title: `Remove the size-1 dim from the input: \`.squeeze(${k})\`` },
    ];
  }
  const j = extraSingleton(target, input);
  if (j !== undefined) {
    return [{ kind: 'append', subject: 'target', text: `.squeeze(${j})${cast}`, title: `Remove the size-1 dim from the target: \`.squeeze(${j})${cast}\``, preferred: true }];
  }
  return [];
}

function hint(input: Shape, target: Shape): string {
  const k = extraSingleton(input, target);
  if (k !== undefined) return `Add the missing size-1 dim to the target with \`.unsqueeze(${k})\`, or drop it from the input with \`.squeeze(${k})\`.`;
  const j = extraSingleton(target, input);
  if (j !== undefined) return `Drop the target's extra size-1 dim with \`.squeeze(${j})\`.`;
  return '';
}

export function checkTorchElementwise(call: LossCallInput): LossCheckResult {
  const findings: Finding[] = [];
  const fn = call.fn;
  const red = torchReduction(call.reduction);
  const regression = fn === 'mse_loss' || fn === 'l1_loss';
  const input = call.input, target = call.target;
  const known = input && target && fixedRank(input.shape) && fixedRank(target.shape);
  const relation = known ? compareDimLists(input.shape!.dims, target.shape!.dims) : 'unknown';
  const expectation = known ? `${fn} expects a target of the input's shape ${torchShape(input.shape!)}${regression ? '' : ' with values in [0, 1]'}` : undefined;

  // mse_loss / l1_loss warn about differing sizes before parsing the reduction; the warning is
  // only reported when nothing fails afterwards.
  if (red.kind === 'invalid') {
    findings.push(finding('TL2016', 'reduction', [red.text], 'invalidReduction', []));
    return { findings, expectation };
  }
  const out = (noneShape: Shape | undefined): TensorValue => {
    const dtype = input?.dtype && isFloatingDtype(input.dtype) ? input.dtype : undefined;
    if (red.value === undefined) return tensorValue(undefined, dtype);
    return tensorValue(red.value === 'none' ? noneShape : { dims: [] }, dtype);
  };
  if (!known) return { findings, output: out(undefined), expectation };
  const inShape = input!.shape!, tgShape = target!.shape!;
  // Append `.float()` to a fix only when the target is known not to be floating point.
  const needsCast = target!.dtype !== undefined && !isFloatingDtype(target!.dtype);

  if (!regression) {
    // DESIGN §2's exception: a target holding the input's dims in another order (a one-hot
    // `[N, H, W, C]` against `[N, C, H, W]` logits) is a layout mistake even with symbolic sizes.
    const layout = relation === 'equal' ? undefined : reorderedLayout(inShape, tgShape);
    if (layout) {
      const code = fn === 'binary_cross_entropy_with_logits' ? 'TL2019' : 'TL2020';
      const perm = layout.join(', ');
      findings.push(finding(code, 'target', [torchSize(tgShape), torchSize(inShape)], 'bceReordered', [torchShape(tgShape), torchShape(inShape), perm], {
        dims: [inShape, tgShape],
        fixes: [{ kind: 'append', subject: 'target', text: `.permute(${perm})`, title: `Reorder the target to the input's layout: \`.permute(${perm})\``, preferred: true }],
      }));
      return { findings, output: out(undefined), expectation };
    }
    if (relation === 'different') {
      const code = fn === 'binary_cross_entropy_with_logits' ? 'TL2019' : 'TL2020';
      // Class indices `[N]` to a multi-label `[N, C]` input (B6); a missing size-1 dim is the other cause.
      const indexTarget = tgShape.dims.length === inShape.dims.length - 1 && target!.dtype === 'int64'
        && extraSingleton(inShape, tgShape) === undefined && extraSingleton(tgShape, inShape) === undefined;
      findings.push(indexTarget
        ? finding(code, 'target', [torchSize(tgShape), torchSize(inShape)], 'bceIndexTarget', [torchShape(inShape), torchShape(tgShape)], { dims: [inShape, tgShape] })
        : finding(code, 'target', [torchSize(tgShape), torchSize(inShape)], 'bceShape', [hint(inShape, tgShape)], { dims: [inShape, tgShape], fixes: singletonFixes(inShape, tgShape, !needsCast) }));
      return { findings, output: out(undefined), expectation };
    }
    if (fn === 'binary_cross_entropy_with_logits' && input!.producer?.op === 'sigmoid' && !(relation === 'equal' && needsCast)) {
      findings.push(finding('TL4008', 'input', [fn], 'sigmoidBeforeLogitsLoss', [], {
        fixes: [{ kind: 'unwrap-producer', subject: 'input', op: 'sigmoid', title: 'Pass the logits, not their sigmoid', preferred: true }],
      }));
      return { findings, output: out(inShape), expectation };
    }
    if (fn === 'binary_cross_entropy_with_logits' && relation === 'equal' && target!.dtype && !isFloatingDtype(target!.dtype)) {
      // The result is written in the target's dtype: `result type Float can't be cast to the desired output type Long`.
      const inDtype = input!.dtype && isFloatingDtype(input!.dtype) ? input!.dtype : 'float32';
      findings.push(finding('TL2021', 'target', [torchScalarTypeName(inDtype), torchScalarTypeName(target!.dtype)], 'bceTargetDtype', [], {
        fixes: [{ kind: 'append', subject: 'target', text: '.float()', title: 'Convert the target to float: `.float()`', preferred: true }],
      }));
    }
    return { findings, output: out(inShape), expectation };
  }

  // mse_loss / l1_loss: broadcast_tensors(input, target), with a UserWarning when the sizes differ.
  const b = broadcast(inShape, tgShape);
  if (b.error) {
    findings.push(finding('TL2024', 'target', [formatDim(b.error.a), formatDim(b.error.b), b.error.dim], 'broadcastError', [torchShape(inShape), torchShape(tgShape)], { dims: [inShape, tgShape] }));
    return { findings, output: out(undefined), expectation };
  }
  if (relation === 'different') {
    findings.push(finding('TL4003', 'target', [torchSize(tgShape), torchSize(inShape)], 'lossBroadcasts', [torchShape(inShape), torchShape(tgShape), torchShape(b.shape)], {
      dims: [inShape, tgShape], fixes: singletonFixes(inShape, tgShape, true),
    }));
  }
  return { findings, output: out(b.shape), expectation };
}
