// The interface between the shape interpreter and the pure loss/target rules: what a loss call
// looks like once its arguments have been evaluated to abstract values, and what the rules return.

import type { LossFunction, Profile } from '../api';
import type { Finding, TensorValue } from '../values';

/** A scalar argument whose value may or may not be known statically. */
export type Known<T> = { readonly known: true; readonly value: T } | { readonly known: false };

export function known<T>(value: T): Known<T> {
  return { known: true, value };
}

export const UNKNOWN: Known<never> = Object.freeze({ known: false });

/**
 * One supported loss call, its arguments evaluated.
 *
 * `input` and `target` are named by role, not position: for TF.js, whose losses take the labels
 * first (`tf.losses.softmaxCrossEntropy(onehotLabels, logits)`,
 * `tf.metrics.categoricalCrossentropy(yTrue, yPred)`), `input` is the logits / predictions and
 * `target` the labels. A finding's `subject` uses the same role names; the interpreter maps them
 * back to argument ranges.
 *
 * An argument that is present but not a tracked tensor is passed as a `TensorValue` with an
 * unknown shape and dtype (so "a weight was given" stays distinguishable from "no weight").
 */
export interface LossCallInput {
  readonly fn: LossFunction;
  readonly profile: Profile;
  /** Logits / predictions. Undefined: not a tracked tensor; the rules stay quiet. */
  readonly input?: TensorValue;
  /** Class indices, class probabilities, labels. Undefined: not a tracked tensor. */
  readonly target?: TensorValue;
  /** torch `weight` (a per-class rescaling vector). Absent: no weight. */
  readonly weight?: TensorValue;
  /**
   * Absent: the default (`'mean'` for torch, `SUM_BY_NONZERO_WEIGHTS` for TF.js losses).
   * torch: the string. TF.js: the `tf.Reduction` member name (`'MEAN'`) or its number (1).
   * JavaScript `undefined` (and `null`) mean "not given" and should be passed as absent, not as
   * Python's `None`: `new nn.NLLLoss(weight, undefined, 3)` skips an argument.
   */
  readonly reduction?: Known<string | number>;
  /** torch `ignore_index`; absent: -100. */
  readonly ignoreIndex?: Known<number>;
  /** torch `label_smoothing` / TF.js `labelSmoothing`; absent: 0. */
  readonly labelSmoothing?: Known<number>;
  /** TF.js per-example `weights` (broadcast against the per-element losses). Absent: none. */
  readonly weights?: TensorValue;
}

export interface LossCheckResult {
  /** At most one error (the one the runtime raises first), plus silent-misuse warnings when no error fires. */
  readonly findings: readonly Finding[];
  /** The call's result: `[]` for reductions, the per-element shape for `'none'`; unknown when the reduction is. */
  readonly output?: TensorValue;
  /** For hover: what this call expects of its target, in words (`class indices [N, H, W] int64 in [0, 21)`). */
  readonly expectation?: string;
}
