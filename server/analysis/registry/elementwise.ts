// Elementwise ops: broadcasting binary arithmetic, comparisons, shape-preserving unary ops,
// softmax-style ops along a dim, and dtype promotion.

import { compareDims, constDim, formatDim, UNKNOWN_DIM, type Dim, type Dtype, isFloatingDtype } from '../dims';
import type { TensorValue, Value } from '../values';
import {
  asInt, asTensor, BROADCAST_TFJS, BROADCAST_TORCH, checkDim, rankOf, tensorOf, tfjsShapeText,
  type OpCall, type OpContext, type OpEntry, type OpArg,
} from './types';

/**
 * Broadcast two shapes as torch's `infer_size` and TF.js's `assertAndGetBroadcastShape` do: align
 * on the right; sizes must be equal or one of them 1. Returns the result dims, or the index (in the
 * result) of the first provable conflict, scanning from the right as both libraries do.
 */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[]): { dims: Dim[] } | { conflict: number; da: Dim; db: Dim } {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const da = a[i - (n - a.length)] ?? constDim(1);
    const db = b[i - (n - b.length)] ?? constDim(1);
    const c = compareDims(da, db);
    if (c === 'equal') { out[i] = da; continue; }
    if (da.kind === 'const' && da.value === 1) { out[i] = db; continue; }
    if (db.kind === 'const' && db.value === 1) { out[i] = da; continue; }
    if (c === 'different') return { conflict: i, da, db };
    // Undecided (N against 5): if the program runs, the size is the known one; else unknown.
    out[i] = da.kind === 'const' ? da : db.kind === 'const' ? db : UNKNOWN_DIM;
  }
  return { dims: out };
}

/** Result dtype of a binary op, after PyTorch's promotion (float beats int, wider beats narrower). */
export function promote(a: Dtype | undefined, b: Dtype | undefined, scalarB = false): Dtype | undefined {
  if (scalarB) {
    // A Python/JS number does not widen a tensor's dtype unless it makes an int tensor float.
    return a;
  }
  if (!a || !b) return undefined;
  if (a === b) return a;
  const order: Dtype[] = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];
  const fa = isFloatingDtype(a), fb = isFloatingDtype(b);
  if (fa && !fb) return a;
  if (fb && !fa) return b;
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}

/** Binary arithmetic with broadcasting: `x.add(y)`, `torch.mul(x, y)`, `tf.sub(a, b)`. */
function binary(kind: 'arith' | 'div' | 'compare'): OpEntry['fn'] {
  return (ctx, call) => {
    const a = call.self, b = call.args[0];
    if (!a || !b) return tensorOf(undefined, undefined);
    return broadcastValues(ctx, call, a, b, kind);
  };
}

/** Shared by the registry and by `x + y`-style operators on tensors. */
export function broadcastValues(ctx: OpContext, call: OpCall, a: OpArg, b: OpArg, kind: 'arith' | 'div' | 'compare'): Value {
  const ta = asTensor(a.value), tb = asTensor(b.value);
  const scalarB = b.value.kind === 'number' || b.value.kind === 'bool';
  const scalarA = a.value.kind === 'number';
  if (!ta && !tb) return scalarA && scalarB ? { kind: 'number', dim: UNKNOWN_DIM } : tensorOf(undefined, undefined);
  let dtype: Dtype | undefined;
  if (ta && tb) dtype = promote(ta.dtype, tb.dtype);
  else if (ta) dtype = scalarB ? (ta.dtype && !isFloatingDtype(ta.dtype) && isFractional(b.value) ? 'float32' : ta.dtype) : undefined;
  else dtype = scalarA ? tb!.dtype : undefined;
  if (kind === 'compare') dtype = 'bool';
  else if (kind === 'div' && ctx.profile === 'torch' && dtype && !isFloatingDtype(dtype)) dtype = 'float32';
  const sa = ta?.shape ?? (scalarA ? { dims: [] } : undefined);
  const sb = tb?.shape ?? (scalarB ? { dims: [] } : undefined);
  if (!sa || !sb || sa.dims.some(d => d.kind === 'variadic') || sb.dims.some(d => d.kind === 'variadic')) {
    return tensorOf(undefined, dtype);
  }
  const r = broadcastDims(sa.dims, sb.dims);
  if ('conflict' in r) {
    if (ctx.profile === 'torch') {
      ctx.report({ code: BROADCAST_TORCH, args: [formatDim(r.da), formatDim(r.db), r.conflict], subject: 'arg0' }, call);
    } else {
      ctx.report({ code: BROADCAST_TFJS, args: [tfjsShapeText(sa.dims), tfjsShapeText(sb.dims)], subject: 'arg0' }, call);
    }
    return tensorOf(undefined, dtype);
  }
  return tensorOf({ dims: r.dims }, dtype);
}

function isFractional(v: Value): boolean {
  return v.kind === 'number' && v.dim.kind === 'const' && !Number.isInteger(v.dim.value);
}

/** Shape-preserving unary ops (`relu`, `exp`, `dropout`, `abs`, …): same shape, same dtype. */
function unary(op?: string, dtype?: Dtype): OpEntry['fn'] {
  return (_ctx, call) => {
    const t = asTensor(call.self?.value);
    if (!t) return tensorOf(undefined, undefined);
    return tensorOf(t.shape, dtype ?? t.dtype, op ? { producer: { op } } : {});
  };
}

/**
 * `softmax(x, dim)` / `log_softmax` (torch: dim required in practice; TF.js: last axis by default).
 * The shape is unchanged; the dim is range-checked. The result is floating.
 */
function alongDim(op: string): OpEntry['fn'] {
  return (ctx, call) => {
    const t = asTensor(call.self?.value);
    if (!t) return tensorOf(undefined, undefined, { producer: { op } });
    const rank = rankOf(t);
    const dimArg = call.args[0] ?? call.options.get('dim') ?? call.options.get('axis');
    const dim = asInt(dimArg?.value);
    if (rank !== undefined && dim !== undefined) {
      if (checkDim(ctx, call, dim, rank, call.args[0] ? 'arg0' : 'call') === undefined) return tensorOf(undefined, t.dtype);
    }
    return tensorOf(t.shape, t.dtype && !isFloatingDtype(t.dtype) ? 'float32' : t.dtype, { producer: { op, dim } });
  };
}

/** Shape-preserving unary ops per profile (extra arguments such as `clamp`'s bounds do not change the shape). */
const UNARY: Record<'torch' | 'tfjs', readonly string[]> = {
  torch: [
    'relu', 'relu6', 'elu', 'selu', 'gelu', 'silu', 'leaky_relu', 'tanh', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt',
    'abs', 'neg', 'negative', 'square', 'sin', 'cos', 'dropout', 'clone', 'detach', 'contiguous', 'clamp', 'clip',
    'floor', 'ceil', 'round', 'sign', 'reciprocal', 'softplus', 'logsigmoid', 'layer_norm', 'batch_norm', 'normalize',
    'requires_grad_', 'cpu', 'cuda', 'relu_', 'zero_', 'fill_', 'prelu', 'masked_fill', 'masked_fill_', 'tril', 'triu',
  ],
  tfjs: [
    'relu', 'relu6', 'elu', 'selu', 'leakyRelu', 'prelu', 'tanh', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'abs', 'neg',
    'square', 'sin', 'cos', 'dropout', 'clone', 'clipByValue', 'floor', 'ceil', 'round', 'sign', 'reciprocal',
    'softplus', 'logSigmoid', 'step', 'erf',
  ],
};

const BINARY: Record<'torch' | 'tfjs', { arith: readonly string[]; div: readonly string[]; compare: readonly string[] }> = {
  torch: {
    arith: ['add', 'sub', 'mul', 'subtract', 'multiply', 'maximum', 'minimum', 'pow', 'remainder', 'fmod'],
    div: ['div', 'divide', 'true_divide'],
    compare: ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logical_and', 'logical_or'],
  },
  tfjs: {
    arith: ['add', 'sub', 'mul', 'maximum', 'minimum', 'squaredDifference', 'mod', 'floorDiv', 'pow'],
    div: ['div', 'realDiv', 'divNoNan'],
    compare: ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'],
  },
};

export function elementwiseOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const both = { method: true, func: true, selfFirst: true };
  const ops: Record<string, OpEntry> = {};
  for (const n of UNARY[profile]) ops[n] = { fn: unary(), ...both };
  ops.sigmoid = { fn: unary('sigmoid'), ...both };
  ops.softmax = { fn: alongDim('softmax'), ...both };
  if (profile === 'torch') ops.log_softmax = { fn: alongDim('log_softmax'), ...both };
  else ops.logSoftmax = { fn: alongDim('log_softmax'), ...both };
  const b = BINARY[profile];
  for (const n of b.arith) ops[n] = { fn: binary('arith'), ...both };
  for (const n of b.div) ops[n] = { fn: binary('div'), ...both };
  for (const n of b.compare) ops[n] = { fn: binary('compare'), ...both };
  return ops;
}
