// Reductions (`sum`, `mean`, `max`, `min`, `prod`, `argmax`, `argmin`) with `dim`/`axis` and
// `keepdim`/`keepDims`, plus dtype casts and `one_hot` / `oneHot`.

import { constDim, isFloatingDtype, UNKNOWN_DIM, type Dim, type Dtype } from '../dims';
import { checkTfjsOneHotDepth, known } from '../losses';
import type { TensorValue, Value } from '../values';
import {
  asBool, asDim, asDtype, asInt, asIntList, asString, asTensor, checkDim, rankOf, tensorOf,
  type OpCall, type OpContext, type OpEntry,
} from './types';

/** Removes (or keeps as 1) the reduced dims. `dims` undefined reduces everything. */
function reduceDims(shape: readonly Dim[], dims: number[] | undefined, keep: boolean): Dim[] {
  if (!dims) return keep ? shape.map(() => constDim(1)) : [];
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!dims.includes(i)) out.push(d);
    else if (keep) out.push(constDim(1));
  });
  return out;
}

interface ReduceSpec {
  /** Result dtype: 'same', 'index' (int64 torch / int32 TF.js), or 'float' (mean of ints is an error in torch; we keep float). */
  readonly dtype: 'same' | 'index' | 'float' | 'sum';
  /** torch `max(x, dim)` / `min(x, dim)` return (values, indices). */
  readonly pairWithDim?: boolean;
  readonly op: string;
}

/**
 * torch: `x.sum()`, `x.sum(1)`, `x.sum([1, 2], true)`, `x.sum({ dim: 1, keepdim: true })`;
 * TF.js: `tf.sum(x, axis?, keepDims?)`, `x.argMax(axis = 0)`.
 */
function reduction(spec: ReduceSpec): OpEntry['fn'] {
  return (ctx, call) => {
    const t = asTensor(call.self?.value);
    const rank = rankOf(t);
    const dimArg = call.args[0] ?? call.options.get('dim') ?? call.options.get('axis');
    const keepArg = call.args[1] ?? call.options.get('keepdim') ?? call.options.get('keepDim') ?? call.options.get('keepDims');
    const keep = asBool(keepArg?.value) ?? false;
    const indexDtype: Dtype = ctx.profile === 'torch' ? 'int64' : 'int32';
    let dtype: Dtype | undefined = t?.dtype;
    if (spec.dtype === 'index') dtype = indexDtype;
    else if (spec.dtype === 'float') dtype = t?.dtype && !isFloatingDtype(t.dtype) ? 'float32' : t?.dtype;
    else if (spec.dtype === 'sum' && ctx.profile === 'torch') dtype = t?.dtype && !isFloatingDtype(t.dtype) ? 'int64' : t?.dtype;
    const producer = { op: spec.op, dim: asInt(dimArg?.value) };
    // TF.js argMax/argMin reduce axis 0 when none is given.
    const defaultDims = ctx.profile === 'tfjs' && spec.dtype === 'index' && !dimArg ? [0] : undefined;
    if (!t || rank === undefined) return tensorOf(undefined, dtype, { producer });
    let dims: number[] | undefined = defaultDims;
    if (dimArg && dimArg.value.kind !== 'null') {
      const list = dimArg.value.kind === 'array' ? asIntList(dimArg.value) : [asInt(dimArg.value)];
      if (!list || list.some(d => d === undefined)) return tensorOf(undefined, dtype, { producer });
      dims = [];
      for (const d of list as number[]) {
        const w = checkDim(ctx, call, d, rank, call.args[0] ? 'arg0' : 'call');
        if (w === undefined) return tensorOf(undefined, dtype, { producer });
        dims.push(w);
      }
    }
    if (defaultDims && rank === 0) dims = undefined;
    const shape = { dims: reduceDims(t.shape!.dims, dims, keep) };
    const valueRange = spec.dtype === 'index' && dims && dims.length === 1 && t.shape!.dims[dims[0]].kind === 'const'
      ? { min: 0, max: (t.shape!.dims[dims[0]] as { value: number }).value - 1 } : undefined;
    const result = tensorOf(shape, dtype, { producer, valueRange });
    if (spec.pairWithDim && ctx.profile === 'torch' && dims) {
      return { kind: 'array', elements: [result, tensorOf(shape, indexDtype, { producer: { op: 'argmax', dim: dims[0] } })] };
    }
    return result;
  };
}

/** `x.long()`, `x.float()`, `x.to('int64')`, `x.type(torch.int64)`, TF.js `tf.cast(x, 'int32')`, `x.toFloat()`. */
function cast(to?: Dtype): OpEntry['fn'] {
  return (_ctx, call) => {
    const t = asTensor(call.self?.value);
    const target = to ?? asDtype(call.args[0]?.value) ?? asDtype(call.options.get('dtype')?.value);
    // `.to('cuda')` is a device move: the dtype stays.
    const dtype = target ?? (call.args[0] && asString(call.args[0].value) !== undefined && !asDtype(call.args[0].value) ? t?.dtype : undefined);
    if (!t) return tensorOf(undefined, dtype);
    const values = t.values && dtype && !isFloatingDtype(dtype) ? t.values.map(Math.trunc) : t.values;
    return tensorOf(t.shape, dtype, { values, valueRange: t.valueRange, producer: t.producer });
  };
}

/**
 * torch `one_hot(t, num_classes = -1)` → `[...t.shape, C]` int64; TF.js `oneHot(indices, depth)` →
 * int32. Values are in [0, 1]; the producer remembers the depth for layout explanations.
 */
function oneHot(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const depthArg = call.args[0] ?? call.options.get('numClasses') ?? call.options.get('depth');
  let depth: Dim = depthArg ? asDim(depthArg.value) : UNKNOWN_DIM;
  if (depth.kind === 'const' && depth.value === -1) {
    depth = t?.valueRange ? constDim(t.valueRange.max + 1) : UNKNOWN_DIM;
  }
  const dtype: Dtype = ctx.profile === 'torch' ? 'int64' : 'int32';
  if (ctx.profile === 'tfjs' && depth.kind === 'const') {
    // TF.js rejects depth < 2 (the rule lives with the loss rules, which explain one-hot targets).
    const f = checkTfjsOneHotDepth(known(depth.value));
    if (f) {
      ctx.report({ ...f, subject: depthArg === call.args[0] ? 'arg0' : 'call' }, call);
      return tensorOf(undefined, dtype);
    }
  }
  const rank = rankOf(t);
  const shape = t && rank !== undefined ? { dims: [...t.shape!.dims, depth] } : undefined;
  return tensorOf(shape, dtype, { valueRange: { min: 0, max: 1 }, producer: { op: 'one_hot', depth } });
}

export function reductionOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const both = { method: true, func: true, selfFirst: true };
  const m = { method: true };
  const common: Record<string, OpEntry> = {
    sum: { fn: reduction({ dtype: 'sum', op: 'sum' }), ...both },
    mean: { fn: reduction({ dtype: 'float', op: 'mean' }), ...both },
    prod: { fn: reduction({ dtype: 'sum', op: 'prod' }), ...both },
    max: { fn: reduction({ dtype: 'same', op: 'max', pairWithDim: true }), ...both },
    min: { fn: reduction({ dtype: 'same', op: 'min', pairWithDim: true }), ...both },
    norm: { fn: reduction({ dtype: 'float', op: 'norm' }), ...both },
    any: { fn: reduction({ dtype: 'same', op: 'any' }), ...both },
    all: { fn: reduction({ dtype: 'same', op: 'all' }), ...both },
  };
  if (profile === 'torch') {
    return {
      ...common,
      amax: { fn: reduction({ dtype: 'same', op: 'max' }), ...both },
      amin: { fn: reduction({ dtype: 'same', op: 'min' }), ...both },
      logsumexp: { fn: reduction({ dtype: 'float', op: 'logsumexp' }), ...both },
      std: { fn: reduction({ dtype: 'float', op: 'std' }), ...both },
      var: { fn: reduction({ dtype: 'float', op: 'var' }), ...both },
      argmax: { fn: reduction({ dtype: 'index', op: 'argmax' }), ...both },
      argmin: { fn: reduction({ dtype: 'index', op: 'argmin' }), ...both },
      one_hot: { fn: oneHot, func: true, selfFirst: true },
      long: { fn: cast('int64'), ...m },
      int: { fn: cast('int32'), ...m },
      float: { fn: cast('float32'), ...m },
      double: { fn: cast('float64'), ...m },
      half: { fn: cast('float16'), ...m },
      bool: { fn: cast('bool'), ...m },
      byte: { fn: cast('uint8'), ...m },
      to: { fn: cast(), ...m },
      type: { fn: cast(), ...m },
      type_as: { fn: typeAs, ...m },
    };
  }
  return {
    ...common,
    logSumExp: { fn: reduction({ dtype: 'float', op: 'logsumexp' }), ...both },
    argMax: { fn: reduction({ dtype: 'index', op: 'argmax' }), ...both },
    argMin: { fn: reduction({ dtype: 'index', op: 'argmin' }), ...both },
    oneHot: { fn: oneHot, ...both },
    categoricalAccuracy: { fn: accuracy, func: true, selfFirst: true },
    binaryAccuracy: { fn: accuracy, func: true, selfFirst: true },
    cast: { fn: cast(), ...both },
    toFloat: { fn: cast('float32'), ...m },
    toInt: { fn: cast('int32'), ...m },
    toBool: { fn: cast('bool'), ...m },
  };
}

/** TF.js `tf.metrics.categoricalAccuracy(yTrue, yPred)` / `binaryAccuracy`: one float per row (the last axis reduced). */
function accuracy(_ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const r = rankOf(t);
  return tensorOf(r === undefined || r === 0 ? undefined : { dims: t!.shape!.dims.slice(0, -1) }, 'float32');
}

/** torch `x.type_as(other)`: other's dtype, x's shape. */
function typeAs(_ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const o = asTensor(call.args[0]?.value);
  return tensorOf(t?.shape, o?.dtype, { values: t?.values, valueRange: t?.valueRange });
}
