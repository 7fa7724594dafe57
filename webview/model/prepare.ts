// The batch as the engine sees it, from the tensors the panel's sources gave: PyTorch's layout (class
// dim 1), random log-probabilities made, and the target converted to the kind the user asked for.
import type { Tensor } from '../../compute/types';
import type { EvaluationSpec } from '../../protocol/webview';
import { logOfSoftmax } from './batchStats';
import { argmaxClasses, classCount, classLastToFirst, oneHot } from './tensorOps';

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The batch as the engine sees it: class dim moved to dim 1 for TF.js layout (the target too when it
 * has the input's shape), random log-probabilities made, and the target converted to the kind asked
 * for when it is the other kind (one-hot for indices → probabilities; argmax for float probabilities
 * → indices). An integer target of the input's shape is left alone so PyTorch's error shows.
 */
export function prepareBatch(spec: EvaluationSpec, rawInput: Tensor, rawTarget: Tensor): { input: Tensor; target: Tensor } {
  let input = rawInput;
  let target = rawTarget;
  if (spec.classAxis === 'last') {
    const targetLikeInput = sameShape(rawTarget.shape, rawInput.shape);
    input = classLastToFirst(rawInput);
    if (targetLikeInput) target = classLastToFirst(rawTarget);
  }
  if (spec.input.kind === 'random' && spec.input.distribution === 'logProbabilities') input = logOfSoftmax(input);
  const probabilityShaped = sameShape(target.shape, input.shape);
  if (spec.targetKind === 'probability' && !probabilityShaped) {
    target = oneHot(target, classCount(input.shape));
  } else if (spec.targetKind === 'index' && probabilityShaped && target.dtype.startsWith('float')) {
    target = argmaxClasses(target);
  }
  return { input, target };
}
