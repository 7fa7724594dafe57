// The plain-words reasons the loss rules attach to their findings, one template per recognised
// cause. The diagnostic table holds each code's runtime message; the reason differs with the cause
// (`[N, 1, H, W]` mask, NHWC one-hot, sequence logits…), so it is chosen here and passed as {r0}.

import { formatTemplate } from '../diagnosticTable';

export const reasonTemplates = {
  // cross_entropy / nll_loss, index targets
  spatialTargetRank: '{0} wants class indices {1} for {2} logits; this target has {3} dims.',
  maskChannelDim: 'The mask {0} keeps its channel dim: {1} wants class indices {2}, one class number per pixel. Drop the channel with `.squeeze({3})`.',
  reorderedTarget: 'The target {0} holds the input\'s dims in another order; {1} reads a target of that rank as class probabilities in the input\'s layout {2}. Reorder it with `.permute({3})`, or pass the class indices {4} instead.',
  reorderedTargetClassesLast: 'The target {0} has the classes last (a one-hot encoding in TensorFlow\'s layout); {1} reads class probabilities in the input\'s layout {2}, classes at dim 1. Reorder it with `.permute({3})`, or pass the class indices {4} instead.',
  batchMismatch: 'The input has {0} samples but the target has {1}: the first dim of both must be the batch.',
  batchMismatchZeroD: 'A 0-d target is one class index, but the input is a batch of {0}: the target needs shape {1}.',
  multiTarget: '{0} wants one class index per sample, a {1} tensor; this target is {2}.',
  classColumn: 'The class indices are stored as a column {0}: {1} wants them as a vector {2}. Use `.squeeze(1)` or `.view(-1)`.',
  oneDInputTarget: 'For a single sample of logits {0} the target is one class index: a 0-d tensor (or a 1-element vector).',
  spatialSizeMismatch: 'The target {1} must match the input {0} in batch and spatial size, as {2}.',
  kdimTargetSize: 'For {0} logits (classes along dim 1) the target must be {1}.',
  sequenceLogits: 'Sequence logits {0} carry the classes last, but {1} reads dim 1 as the classes. Flatten both (`view(-1, {2})` on the input, `view(-1)` on the target) or move the classes to dim 1 with `.permute(0, 2, 1)`.',
  extraSingletonInput: 'The input {0} has a size-1 dim at {1} that {2} reads as classes-then-positions; remove it with `.squeeze({1})`.',
  targetDtype: 'Class indices must be int64 (or uint8 for 1-D/2-D input); this target is {0}. Convert it with `.long()`.',
  byteTargetKdim: 'uint8 class indices are only accepted for 1-D/2-D input; for {0} logits convert the target with `.long()`.',
  weightLength: 'The class weights {1} must have exactly one entry per class: {0}.',
  weightLengthSpatial: 'The class weights {1} must have exactly one entry per class ({0} classes along dim 1).',
  weightDtype: 'The class weights are {0} but the input is {1}; they must have the same dtype.',
  outOfBounds: 'There are {0} classes, numbered 0 to {1}, and {2} is neither one of them nor ignore_index ({3}).',
  outOfBoundsRange: 'The target values come from a range up to {2}, but there are {0} classes, numbered 0 to {1}; ignore_index is {3}.',
  outOfBoundsSingleClass: 'The input has a single class, so the only valid index is 0. A binary problem wants BCE-with-logits on one channel, or 2 output classes.',
  labelSmoothing: 'label_smoothing mixes the target with a uniform distribution and must lie in [0, 1].',
  invalidReduction: 'reduction must be \'none\', \'mean\' or \'sum\'.',
  integerLogits: 'The input is {0}: {1} applies log_softmax to it, which needs floating-point logits.',
  integerLogitsArgmax: 'The input is the output of argmax (class numbers, not scores); pass the raw logits and use argmax only for accuracy.',
  zeroDimInput: 'nll_loss needs log-probabilities with at least a class dim.',
  // probability targets
  probabilityTargetDtype: 'The target has the input\'s shape {0}, so {1} reads it as class probabilities, which must be floating point. For class indices pass a {2} tensor; for soft labels convert with `.float()`.',
  probabilityTargetOneHot: 'The target is a one-hot encoding with the input\'s shape {0}, read as class probabilities, which must be floating point. Pass the class indices {2} instead, or `.float()` the one-hot target.',
  probabilityTargetColumn: 'The target has the input\'s shape {0} and is read as class probabilities; with one column of class indices the model needs one logit per class.',
  probabilityTargetArgmax: 'The input is the output of argmax; it has the target\'s shape, so the target is read as class probabilities. Pass the raw logits.',
  probabilityIgnoreIndex: 'A target with the input\'s shape {0} is read as class probabilities, and ignore_index only applies to class indices.',
  probabilityWeight: 'The class weights {1} must have exactly one entry per class: {0}.',
  // silent misuse
  singleClass: 'log_softmax over one class is 0 everywhere, so the loss and its gradient are 0. A binary problem wants BCE-with-logits on one channel, or 2 output classes with class-index targets.',
  integerValuedProbabilities: 'Probability targets must be distributions over the classes. Class indices want a {0} tensor without the class dim.',
  multiHotProbabilities: 'Probability targets must sum to 1 over the classes. A multi-label problem wants binary_cross_entropy_with_logits.',
  lossBroadcasts: 'The input {0} and target {1} broadcast to {2}: every prediction is compared with every target.',
  argmaxLogits: 'argmax returns class numbers; the loss needs the scores for every class. Use argmax only for accuracy.',
  softmaxBeforeCrossEntropy: '{0} applies (log-)softmax itself; softmax twice flattens the scores and slows learning. Pass the raw logits.',
  softmaxBeforeNll: 'nll_loss expects log-probabilities; use log_softmax instead of softmax.',
  sigmoidBeforeLogitsLoss: 'Squashing the logits twice keeps every prediction in (0.5, 0.73) and the gradients small. Pass the raw logits, or use binary_cross_entropy on probabilities.',
  // BCE and regression
  bceShape: 'BCE compares input and target element by element; they must have the same shape. {0}',
  bceReordered: 'The target {0} holds the input\'s dims in another order; BCE compares element by element in the input\'s layout {1}. Reorder it with `.permute({2})`.',
  bceIndexTarget: 'BCE wants a {0} target of 0/1 per element; class indices {1} belong to cross_entropy, or one-hot encode them.',
  bceTargetDtype: 'binary_cross_entropy_with_logits writes its result in the target\'s dtype; convert the target with `.float()`.',
  broadcastError: 'The input {0} and target {1} cannot be broadcast together.',
  // TF.js
  tfjsShapes: '{0} compares labels and logits element by element; both must have the same shape.',
  tfjsIndexLabels: 'softmaxCrossEntropy wants one-hot labels {0}; these look like class indices. Encode them with `tf.oneHot(labels, {1})`.',
  tfjsIndexColumn: 'softmaxCrossEntropy wants one-hot labels {0}; these look like a column of class indices. Encode them with `tf.oneHot(labels.reshape([-1]), {1})`.',
  tfjsReordered: 'The labels {0} hold the logits\' dims in another order; TF.js keeps the classes last, as {1}. Reorder them with `.transpose([{2}])`.',
  tfjsWeights: 'The weights {1} must broadcast against the per-example losses {0}.',
  tfjsOneHotDepth: 'A one-hot encoding needs at least 2 classes.',
  tfjsSparseDepth: 'sparseCategoricalCrossentropy one-hot encodes the labels with depth = the predictions\' last dim, {0}.',
  tfjsSparseSize: 'sparseCategoricalCrossentropy wants integer labels {0}, one per prediction row; {1} are {2} values.',
  tfjsSparseOneHotLabels: 'sparseCategoricalCrossentropy wants class indices, not one-hot labels; use categoricalCrossentropy for one-hot labels, or `labels.argMax(-1)`.',
  tfjsUnknownReduction: 'tf.losses takes a tf.Reduction: NONE, MEAN, SUM or SUM_BY_NONZERO_WEIGHTS.',
  tfjsSparseOutOfRange: 'Labels must lie in [0, {0}); out-of-range labels are silently ignored.',
  tfjsCategoricalBroadcast: 'categoricalCrossentropy multiplies the labels into the predictions\' log-probabilities; it wants one-hot labels of the predictions\' shape {0}.',
  tfjsLabelsBroadcast: 'Labels and predictions should have the same shape {0}; broadcasting makes every prediction meet every label.',
  tfjsBceShape: 'binaryCrossentropy compares labels and predictions element by element; they must have the same shape.',
} as const;

export type ReasonKey = keyof typeof reasonTemplates;

export function reason(key: ReasonKey, ...args: readonly (string | number)[]): string {
  return formatTemplate(reasonTemplates[key], args);
}
