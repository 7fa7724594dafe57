// Tensor creation: literals (`torch.tensor`, `tf.tensor2d`), sized constructors (`zeros`, `randn`,
// `full`, `randint`, `randomNormal`, …), `*_like`, `arange`, `eye`. Shapes come from literal or
// constant sizes; literal contents are kept (small) for value checks such as `Target 5 is out of bounds.`

import { constDim, UNKNOWN_DIM, type Dim, type Dtype } from '../dims';
import type { TensorValue, Value } from '../values';
import {
  arg, asDimList, asDtype, asInt, asNumber, asTensor, sizesFrom, tensorOf,
  type OpCall, type OpEntry, type OpArg,
} from './types';

/** Literal values kept for value checks; larger literals keep only their shape. */
const MAX_KEPT_VALUES = 4096;

interface Literal {
  dims: Dim[];
  values: number[] | undefined;
  anyFloat: boolean;
  anyBool: boolean;
  ragged: boolean;
}

/** Shape and contents of a nested array literal (`[[1, 2], [3, 4]]` → [2, 2]). */
export function literalOf(v: Value): Literal | undefined {
  if (v.kind === 'number') {
    const known = v.dim.kind === 'const' ? v.dim.value : undefined;
    return { dims: [], values: known === undefined ? undefined : [known], anyFloat: !!v.float || (known !== undefined && !Number.isInteger(known)), anyBool: false, ragged: false };
  }
  if (v.kind === 'bool') return { dims: [], values: v.value === undefined ? undefined : [v.value ? 1 : 0], anyFloat: false, anyBool: true, ragged: false };
  if (v.kind !== 'array') return undefined;
  if (v.elements.length === 0) return { dims: [constDim(0)], values: [], anyFloat: false, anyBool: false, ragged: false };
  const parts = v.elements.map(literalOf);
  if (parts.some(p => !p)) return undefined;
  const first = parts[0]!;
  let values: number[] | undefined = [];
  let ragged = false;
  for (const p of parts as Literal[]) {
    if (p.ragged || p.dims.length !== first.dims.length || p.dims.some((d, i) => d.kind !== 'const' || first.dims[i].kind !== 'const' || d.value !== (first.dims[i] as { value: number }).value)) ragged = true;
    if (values && p.values && values.length + p.values.length <= MAX_KEPT_VALUES) values.push(...p.values);
    else values = undefined;
  }
  return {
    dims: [constDim(parts.length), ...first.dims],
    values,
    anyFloat: parts.some(p => p!.anyFloat),
    anyBool: parts.every(p => p!.anyBool),
    ragged,
  };
}

function valueRangeOf(values: readonly number[] | undefined): TensorValue['valueRange'] {
  if (!values || values.length === 0) return undefined;
  let min = Infinity, max = -Infinity;
  for (const x of values) { if (x < min) min = x; if (x > max) max = x; }
  return { min, max };
}

/** The `dtype` option: torch `{ dtype: torch.int64 }` / `'int64'`, TF.js positional `'int32'`. */
function dtypeOption(call: OpCall, positional?: OpArg): Dtype | undefined {
  return asDtype(call.options.get('dtype')?.value) ?? asDtype(positional?.value);
}

/** `torch.tensor(data)`: int64 from integers, float32 from floats, bool from booleans (PyTorch's inference). */
function torchTensor(_ctx: unknown, call: OpCall): Value {
  const data = call.args[0];
  if (!data) return tensorOf(undefined, undefined);
  const asT = asTensor(data.value);
  if (asT) return tensorOf(asT.shape, dtypeOption(call) ?? asT.dtype, { values: asT.values, valueRange: asT.valueRange });
  const lit = literalOf(data.value);
  const explicit = dtypeOption(call, call.args[1]);
  if (!lit || lit.ragged) return tensorOf(undefined, explicit);
  const dtype = explicit ?? (lit.anyBool ? 'bool' : lit.anyFloat ? 'float32' : lit.values ? 'int64' : undefined);
  return tensorOf({ dims: lit.dims }, dtype, { values: lit.values, valueRange: valueRangeOf(lit.values) });
}

/** `tf.tensor(values, shape?, dtype?)` and `tf.tensorNd(values, shape?, dtype?)`: float32 unless told. */
function tfjsTensor(rank: number | undefined): OpEntry['fn'] {
  return (_ctx, call) => {
    const data = call.args[0];
    const shapeArg = rank === 1 ? undefined : call.args[1];
    const dtype = asDtype((rank === 1 ? call.args[1] : call.args[2])?.value) ?? (shapeArg && shapeArg.value.kind === 'string' ? asDtype(shapeArg.value) : undefined);
    const lit = data ? literalOf(data.value) : undefined;
    const explicitShape = shapeArg && shapeArg.value.kind === 'array' ? asDimList(shapeArg.value) : undefined;
    const inferredDtype: Dtype | undefined = dtype ?? (lit?.anyBool ? 'bool' : 'float32');
    if (explicitShape) {
      return tensorOf({ dims: explicitShape }, inferredDtype, { values: lit?.values, valueRange: valueRangeOf(lit?.values) });
    }
    if (!lit || lit.ragged) return tensorOf(rank !== undefined ? { dims: new Array(rank).fill(UNKNOWN_DIM) } : undefined, inferredDtype);
    return tensorOf({ dims: lit.dims }, inferredDtype, { values: lit.values, valueRange: valueRangeOf(lit.values) });
  };
}

/** `zeros(2, 3)`, `zeros([2, 3])`, `randn(…)`, `empty(…)`: float32 (or the dtype option). */
function sized(defaultDtype: Dtype, profile: 'torch' | 'tfjs', range?: { min: number; max: number }): OpEntry['fn'] {
  return (_ctx, call) => {
    if (profile === 'tfjs') {
      // TF.js: (shape, dtype?) for zeros/ones; (shape, mean, std, dtype) for random*.
      const dims = asDimList(call.args[0]?.value);
      const dtype = call.args.map(a => asDtype(a.value)).find(d => d) ?? dtypeOption(call) ?? defaultDtype;
      return tensorOf(dims ? { dims } : undefined, dtype, range ? { valueRange: range } : {});
    }
    const dims = sizesFrom(call.args);
    return tensorOf(dims ? { dims } : undefined, dtypeOption(call) ?? defaultDtype, range ? { valueRange: range } : {});
  };
}

/** `torch.full(size, value)` / `tf.fill(shape, value, dtype?)`: the value is known everywhere. */
function full(profile: 'torch' | 'tfjs'): OpEntry['fn'] {
  return (_ctx, call) => {
    const dims = asDimList(call.args[0]?.value);
    const v = asNumber(call.args[1]?.value);
    const fl = call.args[1]?.value.kind === 'number' && (call.args[1].value.float || (v !== undefined && !Number.isInteger(v)));
    const dtype = dtypeOption(call, profile === 'tfjs' ? call.args[2] : undefined) ?? (profile === 'torch' ? (fl ? 'float32' : v !== undefined ? 'int64' : undefined) : 'float32');
    return tensorOf(dims ? { dims } : undefined, dtype, v !== undefined ? { valueRange: { min: v, max: v } } : {});
  };
}

/** `torch.randint(low, high, size)` or `randint(high, size)`: int64 in [low, high). */
function randint(_ctx: unknown, call: OpCall): Value {
  const a = call.args;
  const sizeIdx = a.findIndex(x => x.value.kind === 'array');
  const dims = sizeIdx >= 0 ? asDimList(a[sizeIdx].value) : undefined;
  const nums = a.slice(0, sizeIdx < 0 ? a.length : sizeIdx).map(x => asInt(x.value));
  const [low, high] = nums.length >= 2 ? [nums[0], nums[1]] : [0, nums[0]];
  const valueRange = low !== undefined && high !== undefined ? { min: low, max: high - 1 } : undefined;
  return tensorOf(dims ? { dims } : undefined, dtypeOption(call) ?? 'int64', valueRange ? { valueRange } : {});
}

/** `zeros_like(x)`, `onesLike(x)`, `rand_like`: the argument's shape. */
function like(dtype?: Dtype): OpEntry['fn'] {
  return (_ctx, call) => {
    const t = asTensor(call.self?.value);
    return tensorOf(t?.shape, dtypeOption(call) ?? dtype ?? t?.dtype);
  };
}

/** `arange(end)`, `arange(start, end, step)`: length ceil((end - start) / step). */
function arange(profile: 'torch' | 'tfjs'): OpEntry['fn'] {
  return (_ctx, call) => {
    const n = call.args.map(a => asNumber(a.value));
    const [start, end, step] = n.length === 1 ? [0, n[0], 1] : [n[0], n[1], n[2] ?? 1];
    const len = start !== undefined && end !== undefined && step ? Math.max(0, Math.ceil((end - start) / step)) : undefined;
    const fl = call.args.some(a => a.value.kind === 'number' && a.value.float);
    const dtype = dtypeOption(call) ?? (profile === 'tfjs' ? 'float32' : fl ? 'float32' : 'int64');
    return tensorOf({ dims: [len === undefined ? UNKNOWN_DIM : constDim(len)] }, dtype);
  };
}

function eye(_ctx: unknown, call: OpCall): Value {
  const n = call.args[0] ? asInt(call.args[0].value) : undefined;
  const m = call.args[1] && call.args[1].value.kind === 'number' ? asInt(call.args[1].value) : n;
  const d = (x: number | undefined) => (x === undefined ? UNKNOWN_DIM : constDim(x));
  return tensorOf({ dims: [d(n), d(m)] }, dtypeOption(call) ?? 'float32');
}

/** `tf.scalar(3)`: rank 0. */
function scalar(_ctx: unknown, call: OpCall): Value {
  const v = asNumber(call.args[0]?.value);
  return tensorOf({ dims: [] }, asDtype(call.args[1]?.value) ?? 'float32', v !== undefined ? { values: [v], valueRange: { min: v, max: v } } : {});
}

export function creationOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const f = { func: true };
  const likeEntry = { func: true, selfFirst: true };
  if (profile === 'torch') {
    return {
      tensor: { fn: torchTensor, ...f },
      as_tensor: { fn: torchTensor, ...f },
      zeros: { fn: sized('float32', 'torch'), ...f },
      ones: { fn: sized('float32', 'torch'), ...f },
      empty: { fn: sized('float32', 'torch'), ...f },
      rand: { fn: sized('float32', 'torch', { min: 0, max: 1 }), ...f },
      randn: { fn: sized('float32', 'torch'), ...f },
      full: { fn: full('torch'), ...f },
      randint: { fn: randint, ...f },
      arange: { fn: arange('torch'), ...f },
      eye: { fn: eye, ...f },
      zeros_like: { fn: like(), ...likeEntry },
      ones_like: { fn: like(), ...likeEntry },
      rand_like: { fn: like(), ...likeEntry },
      randn_like: { fn: like(), ...likeEntry },
      empty_like: { fn: like(), ...likeEntry },
      full_like: { fn: like(), ...likeEntry },
    };
  }
  return {
    tensor: { fn: tfjsTensor(undefined), ...f },
    tensor1d: { fn: tfjsTensor(1), ...f },
    tensor2d: { fn: tfjsTensor(2), ...f },
    tensor3d: { fn: tfjsTensor(3), ...f },
    tensor4d: { fn: tfjsTensor(4), ...f },
    tensor5d: { fn: tfjsTensor(5), ...f },
    tensor6d: { fn: tfjsTensor(6), ...f },
    scalar: { fn: scalar, ...f },
    zeros: { fn: sized('float32', 'tfjs'), ...f },
    ones: { fn: sized('float32', 'tfjs'), ...f },
    randomNormal: { fn: sized('float32', 'tfjs'), ...f },
    truncatedNormal: { fn: sized('float32', 'tfjs'), ...f },
    randomStandardNormal: { fn: sized('float32', 'tfjs'), ...f },
    randomUniform: { fn: sized('float32', 'tfjs'), ...f },
    randomUniformInt: { fn: sized('int32', 'tfjs'), ...f },
    fill: { fn: full('tfjs'), ...f },
    range: { fn: arange('tfjs'), ...f },
    eye: { fn: eye, ...f },
    zerosLike: { fn: like(), ...likeEntry, method: true },
    onesLike: { fn: like(), ...likeEntry, method: true },
  };
}

export { arg };
