// Abstract values the shape interpreter computes and the registry's shape functions consume.
// A tensor value carries what is known of its shape, dtype, literal contents and producer;
// everything may be unknown, and unknown is never an error.

import type { Dim, Dtype, Shape } from './dims';

/** What produced a tensor, when it matters for explanations and silent-misuse warnings. */
export interface Producer {
  /** Registry op name in torch spelling: 'argmax', 'one_hot', 'softmax', 'log_softmax', 'sigmoid', 'unsqueeze', … */
  readonly op: string;
  /** `one_hot` depth / `argmax` dim and similar, when known. */
  readonly depth?: Dim;
  readonly dim?: number;
}

export interface TensorValue {
  readonly kind: 'tensor';
  readonly shape: Shape | undefined;
  readonly dtype: Dtype | undefined;
  /** Known element values in C order, for small literals and constants. */
  readonly values?: readonly number[];
  /** Bounds on the element values when the values themselves are unknown (`randint(0, 21, …)`, `oneHot` → [0, 1]). */
  readonly valueRange?: { readonly min: number; readonly max: number };
  readonly producer?: Producer;
  /**
   * Element strides when the tensor is a non-contiguous view with fully known sizes (after
   * `permute`/`transpose`); absent means contiguous or not tracked. Lets `view` apply PyTorch's
   * stride-compatibility rule.
   */
  readonly strides?: readonly number[];
}

export function tensorValue(shape: Shape | undefined, dtype: Dtype | undefined, extra: Partial<TensorValue> = {}): TensorValue {
  return { kind: 'tensor', shape, dtype, ...extra };
}

/** A template argument of a finding: text, or a dim / shape to be printed in the user's own names. */
export type FindingArg = string | number;

/** A fix described relative to the call's arguments; the interpreter turns it into text edits. */
export type FixSpec =
  /** Append text to an argument's expression: `masks` → `masks.squeeze(1)`. */
  | { readonly kind: 'append'; readonly subject: FindingSubject; readonly text: string; readonly title: string; readonly preferred?: boolean }
  /** Replace an argument's expression with a template where `$0` is the original text: `$0.view(-1, C)`. */
  | { readonly kind: 'wrap'; readonly subject: FindingSubject; readonly template: string; readonly title: string; readonly preferred?: boolean }
  /** Remove the trailing call that produced the argument (`logits.argmax(1)` → `logits`). */
  | { readonly kind: 'unwrap-producer'; readonly subject: FindingSubject; readonly op: string; readonly title: string; readonly preferred?: boolean }
  /** Several edits applied together as one fix (sequence logits: `$0.view(-1, V)` on the input and `.view(-1)` on the target); the parts' own titles are ignored. */
  | { readonly kind: 'compound'; readonly parts: readonly FixSpec[]; readonly title: string; readonly preferred?: boolean };

/** Which part of a call a finding points at: its primary range. */
export type FindingSubject = 'call' | 'input' | 'target' | 'weight' | 'ignoreIndex' | 'labelSmoothing' | 'reduction' | 'arg0' | 'arg1' | 'arg2';

/** One problem found by a shape function, before it has ranges: a code from the table plus its arguments. */
export interface Finding {
  readonly code: string;
  readonly args: readonly FindingArg[];
  /** Extra plain-words reason arguments (`{r0}` placeholders in the table's reason). */
  readonly reasonArgs?: readonly FindingArg[];
  readonly subject: FindingSubject;
  /** Symbolic dim names the finding talks about, for "`C` was bound here" related locations. */
  readonly dims?: readonly string[];
  readonly fixes?: readonly FixSpec[];
}

// ---------------------------------------------------------------------------------------------
// Everything else the interpreter tracks besides tensors. Unknown is a value: `UNKNOWN_VALUE`.

/** A number; `dim` is its value as a dim: known (`21`), symbolic (`x.shape[0]` → `N`) or unknown. */
export interface NumberValue {
  readonly kind: 'number';
  readonly dim: Dim;
  /** A literal written as a float (`1.0`): PyTorch infers a floating dtype from it. */
  readonly float?: boolean;
}
export interface StringValue {
  readonly kind: 'string';
  readonly value?: string;
}
export interface BoolValue {
  readonly kind: 'bool';
  readonly value?: boolean;
}
export interface NullValue {
  readonly kind: 'null';
}
/** An array or tuple literal, a `shape`, the result of `torch.max(x, 1)`. */
export interface ArrayValue {
  readonly kind: 'array';
  readonly elements: readonly Value[];
}
export interface ObjectValue {
  readonly kind: 'object';
  readonly props: ReadonlyMap<string, Value>;
}
/** Something reached from a tensor library's import: `torch`, `torch.nn`, `tf.layers.dense`. */
export interface LibValue {
  readonly kind: 'lib';
  readonly profile: 'torch' | 'tfjs';
  readonly path: readonly string[];
}
/**
 * A callable built by the registry: a module instance (`new nn.Linear(4, 2)`), a TF.js layer or
 * model, a loss module. `name` is for hover; the interpreter calls `apply` with the evaluated call.
 */
export interface LayerValue {
  readonly kind: 'layer';
  readonly name: string;
  /** `forward`, `call`, `predict`, `apply` and a direct call all run this. */
  readonly apply: (ctx: unknown, call: unknown) => Value;
  /** Named sub-values (`linear.weight`, `model.layers`). */
  readonly props?: ReadonlyMap<string, Value>;
}
/** A user function or method; `closure` and `self` are the interpreter's. */
export interface FunctionValue {
  readonly kind: 'function';
  readonly fn: unknown;
  readonly closure: unknown;
  readonly self?: Value;
}
export interface ClassValue {
  readonly kind: 'class';
  readonly cls: unknown;
  readonly closure: unknown;
  readonly base?: Value;
}
export interface InstanceValue {
  readonly kind: 'instance';
  readonly cls: ClassValue;
  readonly fields: Map<string, Value>;
}
export interface UnknownValue {
  readonly kind: 'unknown';
}

export type Value =
  | TensorValue | NumberValue | StringValue | BoolValue | NullValue | ArrayValue | ObjectValue
  | LibValue | LayerValue | FunctionValue | ClassValue | InstanceValue | UnknownValue;

export const UNKNOWN_VALUE: UnknownValue = Object.freeze({ kind: 'unknown' });

export function numberValue(dim: Dim): NumberValue {
  return { kind: 'number', dim };
}
