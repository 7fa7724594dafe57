// What a shape function sees: the evaluated call (receiver, arguments, trailing options object) and
// a context to report findings through. Plus the small argument readers every op shares.

import type { Profile, TextRange } from '../api';
import { constDim, formatDim, UNKNOWN_DIM, type Dim, type Dtype, type Shape, parseDtype } from '../dims';
import type { Finding, FindingArg, TensorValue, Value } from '../values';

export interface OpArg {
  readonly value: Value;
  readonly range: TextRange;
  /** The argument's source text. */
  readonly text: string;
}

export interface OpCall {
  readonly profile: Profile;
  /** The canonical op name (torch: snake_case; TF.js: as written). */
  readonly name: string;
  /** `x` in `x.view(…)`, or the first argument of `torch.reshape(x, …)`. */
  readonly self?: OpArg;
  /** Positional arguments (without the receiver and without a trailing options object). */
  readonly args: readonly OpArg[];
  /** A trailing object literal's entries, keys in camelCase (`keep_dim` → `keepDim`). */
  readonly options: ReadonlyMap<string, OpArg>;
  /** The whole call expression. */
  readonly range: TextRange;
  /** `x.op(…)` rather than `lib.op(x, …)` (only `where` reads its arguments differently). */
  readonly methodForm?: boolean;
  /** The op's name as written at the call (`view` in `x.view(…)`), for fixes that rename it. */
  readonly nameRange?: TextRange;
}

/** A fix a shape function can offer directly: one replacement in the file. */
export interface OpFix {
  readonly title: string;
  readonly range: TextRange;
  readonly newText: string;
}

export interface OpContext {
  readonly profile: Profile;
  /** Reports a finding; `subject` picks the range (`'call'`, `'arg0'`, … or `'self'`). */
  report(finding: Finding | (Omit<Finding, 'subject'> & { subject: Finding['subject'] | 'self' }), call: OpCall, fixes?: readonly OpFix[]): void;
  /** Calls a callable value (a layer inside `nn.Sequential`) with one tensor argument. */
  callValue(callee: Value, arg: OpArg, call: OpCall): Value;
}

/** A shape function: one op or one family. Never throws on user input; unknown in, unknown out. */
export type OpFn = (ctx: OpContext, call: OpCall) => Value;

export interface OpEntry {
  readonly fn: OpFn;
  /** `x.op(…)`: the receiver is `self`. */
  readonly method?: boolean;
  /** `lib.op(x, …)`: the first argument becomes `self` when `selfFirst`. */
  readonly func?: boolean;
  readonly selfFirst?: boolean;
  /** `new nn.Linear(…)` or `tf.layers.dense(…)`: builds a layer value. */
  readonly ctor?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Argument readers

export function asTensor(v: Value | undefined): TensorValue | undefined {
  return v && v.kind === 'tensor' ? v : undefined;
}

/** A known integer, or undefined. */
export function asInt(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'number' && v.dim.kind === 'const' && Number.isInteger(v.dim.value)) return v.dim.value;
  if (v.kind === 'tensor' && v.values?.length === 1 && v.shape?.dims.length === 0) return v.values[0];
  return undefined;
}

export function asNumber(v: Value | undefined): number | undefined {
  return v && v.kind === 'number' && v.dim.kind === 'const' ? v.dim.value : undefined;
}

export function asBool(v: Value | undefined): boolean | undefined {
  return v && v.kind === 'bool' ? v.value : undefined;
}

export function asString(v: Value | undefined): string | undefined {
  return v && v.kind === 'string' ? v.value : undefined;
}

/** A number value as a dim (known, symbolic or unknown). */
export function asDim(v: Value | undefined): Dim {
  if (v && v.kind === 'number') return v.dim;
  const i = asInt(v);
  return i === undefined ? UNKNOWN_DIM : constDim(i);
}

/** A list of ints given as an array literal: `[0, 3, 1, 2]`. */
export function asIntList(v: Value | undefined): (number | undefined)[] | undefined {
  if (!v) return undefined;
  if (v.kind === 'array') return v.elements.map(asInt);
  return undefined;
}

/** A list of dims: `[8, C, 64, 64]`, `x.shape`. Undefined when not an array. */
export function asDimList(v: Value | undefined): Dim[] | undefined {
  if (!v || v.kind !== 'array') return undefined;
  return v.elements.map(asDim);
}

/**
 * Sizes given either as one array (`zeros([2, 3])`) or as varargs (`zeros(2, 3)`), as torch accepts both.
 * Returns undefined when they cannot be read.
 */
export function sizesFrom(args: readonly OpArg[]): Dim[] | undefined {
  if (args.length === 1 && args[0].value.kind === 'array') return asDimList(args[0].value);
  if (args.length >= 1 && args.every(a => a.value.kind === 'number')) return args.map(a => asDim(a.value));
  if (args.length === 0) return [];
  return undefined;
}

/** A dtype from `'int64'`, `torch.int64`, `torch.long`, `tf.int32`-style values. */
export function asDtype(v: Value | undefined): Dtype | undefined {
  if (!v) return undefined;
  if (v.kind === 'string' && v.value) return parseDtype(v.value);
  if (v.kind === 'lib') return parseDtype(v.path[v.path.length - 1]);
  return undefined;
}

/** Positional argument `i`, or the option named `name` (either spelling). */
export function arg(call: OpCall, i: number, ...names: string[]): OpArg | undefined {
  for (const n of names) {
    const o = call.options.get(n);
    if (o) return o;
  }
  return call.args[i];
}

/** PyTorch's dim wrapping: `-1` → last. Undefined when out of range (the caller reports it). */
export function wrapDim(dim: number, rank: number): number | undefined {
  const r = Math.max(rank, 1); // a 0-d tensor accepts dims -1 and 0
  if (dim < -r || dim >= r) return undefined;
  return dim < 0 ? dim + r : dim;
}

/** Reports PyTorch's `Dimension out of range` and returns undefined, or returns the wrapped dim. */
export function checkDim(ctx: OpContext, call: OpCall, dim: number, rank: number, subject: Finding['subject'] | 'self', extra = 0): number | undefined {
  const r = Math.max(rank + extra, 1);
  const w = dim < -r || dim >= r ? undefined : dim < 0 ? dim + r : dim;
  if (w === undefined) ctx.report({ code: DIM_OUT_OF_RANGE, args: [-r, r - 1, dim], subject }, call);
  return w;
}

export const BROADCAST_TORCH = 'TL3001';
export const BROADCAST_TFJS = 'TL3002';
export const MATMUL_TORCH = 'TL3003';
export const MATMUL_TFJS = 'TL3004';
export const DIM_OUT_OF_RANGE = 'TL3005';
export const RESHAPE_TORCH = 'TL3006';
export const PERMUTE_LENGTH = 'TL3007';
export const CONV_CHANNELS = 'TL3008';
export const CAT_SIZES = 'TL3010';
export const CAT_RANK = 'TL3011';
export const STACK_SIZES = 'TL3012';
export const PERMUTE_DUPLICATE = 'TL3013';
export const RESHAPE_TWO_INFERRED = 'TL3014';
export const POOL_TOO_SMALL = 'TL3015';
export const CONV_KERNEL_TOO_BIG = 'TL3016';
export const CONV_INPUT_RANK = 'TL3017';
export const CONV_CHANNELS_TFJS = 'TL3018';
export const RESHAPE_TFJS = 'TL3019';
export const RESHAPE_TFJS_FRACTION = 'TL3020';
export const STACK_TFJS = 'TL3021';
export const SQUEEZE_TFJS = 'TL3022';
export const TRANSPOSE_TFJS = 'TL3023';
export const VIEW_STRIDES = 'TL3024';
export const CAT_ZERO_DIM = 'TL3025';
export const BMM_MISMATCH = 'TL3026';
export const MM_NOT_MATRIX = 'TL3027';
export const BMM_NOT_3D = 'TL3028';

/** `[2, 3]` with dims printed in the user's own names. */
export function listText(dims: readonly Dim[]): string {
  return `[${dims.map(formatDim).join(', ')}]`;
}

/** TF.js prints shapes as `32,10` (no brackets, no spaces). */
export function tfjsShapeText(dims: readonly Dim[]): string {
  return dims.map(d => formatDim(d).replace(/ /g, '')).join(',');
}

export function tensorOf(shape: Shape | undefined, dtype: Dtype | undefined, extra: Partial<TensorValue> = {}): TensorValue {
  return { kind: 'tensor', shape, dtype, ...extra };
}

/** True when every dim is a plain known integer. */
export function allKnown(dims: readonly Dim[]): dims is { kind: 'const'; value: number }[] {
  return dims.every(d => d.kind === 'const');
}

export function rankOf(t: TensorValue | undefined): number | undefined {
  const s = t?.shape;
  if (!s || s.dims.some(d => d.kind === 'variadic')) return undefined;
  return s.dims.length;
}

export type { FindingArg };
