// Ops that rearrange dims: squeeze / unsqueeze / expandDims, permute / transpose, view / reshape
// (with -1), flatten, cat / concat, stack.

import { addDims, compareDims, constDim, divDims, formatDim, mulDims, numel, UNKNOWN_DIM, type Dim } from '../dims';
import type { TensorValue, Value } from '../values';
import {
  asInt, asIntList, asTensor, CAT_RANK, CAT_SIZES, CAT_ZERO_DIM, checkDim, DIM_OUT_OF_RANGE, listText, PERMUTE_DUPLICATE,
  PERMUTE_LENGTH, rankOf, RESHAPE_TFJS, RESHAPE_TFJS_FRACTION, RESHAPE_TORCH, RESHAPE_TWO_INFERRED, sizesFrom,
  SQUEEZE_TFJS, STACK_SIZES, STACK_TFJS, tensorOf, tfjsShapeText, TRANSPOSE_TFJS, VIEW_STRIDES,
  type OpCall, type OpContext, type OpEntry,
} from './types';

function keep(t: TensorValue | undefined, dims: Dim[] | undefined, extra: Partial<TensorValue> = {}): TensorValue {
  return tensorOf(dims ? { dims } : undefined, t?.dtype, { values: dims && t?.values, valueRange: t?.valueRange, ...extra });
}

function fixedDims(t: TensorValue | undefined): Dim[] | undefined {
  const r = rankOf(t);
  return r === undefined ? undefined : [...t!.shape!.dims];
}

/** torch `squeeze(dim?)`: removes size-1 dims (only the given one, and only if it is 1). TF.js `squeeze(axis?)` throws instead. */
function squeeze(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const dims = fixedDims(t);
  if (!t || !dims) return keep(t, undefined);
  const a = call.args[0] ?? call.options.get('dim') ?? call.options.get('axis');
  const listed = a ? (a.value.kind === 'array' ? asIntList(a.value) : [asInt(a.value)]) : undefined;
  if (!listed) {
    // Without a dim every size-1 dim goes; a symbolic dim might be 1, so the rank is then unknown.
    if (dims.some(d => d.kind !== 'const')) return keep(t, undefined);
    return keep(t, dims.filter(d => !(d.kind === 'const' && d.value === 1)));
  }
  if (listed.some(d => d === undefined)) return keep(t, undefined);
  const wrapped: number[] = [];
  for (const d of listed as number[]) {
    const w = checkDim(ctx, call, d, dims.length, 'arg0');
    if (w === undefined) return keep(t, undefined);
    wrapped.push(w);
  }
  const out: Dim[] = [];
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (!wrapped.includes(i)) { out.push(d); continue; }
    if (d.kind !== 'const') return keep(t, undefined);
    if (d.value === 1) continue;
    if (ctx.profile === 'tfjs') {
      ctx.report({ code: SQUEEZE_TFJS, args: [i, d.value], subject: 'arg0' }, call);
      return keep(t, undefined);
    }
    out.push(d); // torch: squeezing a dim that is not 1 leaves it alone
  }
  return keep(t, out);
}

/** `unsqueeze(dim)` / `expandDims(axis = 0)`: a new size-1 dim; valid dims are [-(r+1), r]. */
function unsqueeze(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const dims = fixedDims(t);
  const a = call.args[0] ?? call.options.get('dim') ?? call.options.get('axis');
  const d = a ? asInt(a.value) : ctx.profile === 'tfjs' ? 0 : undefined;
  if (!t || !dims || d === undefined) return keep(t, undefined, { producer: { op: 'unsqueeze' } });
  const r = dims.length + 1;
  if (d < -r || d >= r) {
    ctx.report({ code: DIM_OUT_OF_RANGE, args: [-r, r - 1, d], subject: a ? 'arg0' : 'call' }, call);
    return keep(t, undefined);
  }
  const w = d < 0 ? d + r : d;
  const out = [...dims];
  out.splice(w, 0, constDim(1));
  return keep(t, out, { producer: { op: 'unsqueeze', dim: w } });
}

/** `permute(0, 3, 1, 2)` / `permute([…])`, TF.js `transpose(x, perm?)`. */
function permute(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const dims = fixedDims(t);
  let perm: (number | undefined)[] | undefined;
  const first = call.args[0] ?? call.options.get('dims') ?? call.options.get('perm');
  if (first && first.value.kind === 'array') perm = asIntList(first.value);
  else if (call.args.length || ctx.profile === 'torch') perm = call.args.map(a => asInt(a.value));
  if (!t || !dims) return keep(t, undefined, { producer: { op: 'permute' } });
  if (!perm) {
    if (ctx.profile === 'tfjs' && !first) return keep(t, [...dims].reverse(), { producer: { op: 'permute' } });
    return keep(t, undefined);
  }
  if (perm.length !== dims.length) {
    if (ctx.profile === 'torch') ctx.report({ code: PERMUTE_LENGTH, args: [dims.length, perm.length], subject: 'call' }, call);
    else ctx.report({ code: TRANSPOSE_TFJS, args: [dims.length, perm.map(p => p ?? '?').join(',')], subject: 'arg0' }, call);
    return keep(t, undefined);
  }
  if (perm.some(p => p === undefined)) return keep(t, undefined);
  const wrapped: number[] = [];
  for (const p of perm as number[]) {
    const w = checkDim(ctx, call, p, dims.length, 'call');
    if (w === undefined) return keep(t, undefined);
    wrapped.push(w);
  }
  if (new Set(wrapped).size !== wrapped.length) {
    ctx.report({ code: PERMUTE_DUPLICATE, args: [], subject: 'call' }, call);
    return keep(t, undefined);
  }
  return keep(t, wrapped.map(i => dims[i]), { values: undefined, producer: { op: 'permute' }, strides: permutedStrides(t, dims, wrapped) });
}

/** Strides of `permute(order)` on a tensor with known sizes (and known strides, or contiguous). */
function permutedStrides(t: TensorValue, dims: readonly Dim[], order: readonly number[]): number[] | undefined {
  if (!dims.every(d => d.kind === 'const')) return undefined;
  const sizes = dims.map(d => (d as { value: number }).value);
  const base = t.strides ?? contiguousStrides(sizes);
  const out = order.map(i => base[i]);
  return out.every((s, i) => s === contiguousStrides(order.map(j => sizes[j]))[i]) ? undefined : out;
}

function contiguousStrides(sizes: readonly number[]): number[] {
  const out = new Array<number>(sizes.length);
  let acc = 1;
  for (let i = sizes.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= Math.max(sizes[i], 1);
  }
  return out;
}

/**
 * PyTorch's `computeStride` (aten/src/ATen/TensorUtils.cpp): whether a view of `oldShape` with
 * `oldStride` can take `newShape` without copying. False means `view` raises.
 */
export function viewCompatible(oldShape: readonly number[], oldStride: readonly number[], newShape: readonly number[]): boolean {
  if (oldShape.some(s => s === 0)) return true;
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStride[oldStride.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
    tensorNumel *= oldShape[tensorD];
    if (tensorD === 0 || (oldShape[tensorD - 1] !== 1 && oldStride[tensorD - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return false;
      if (tensorD > 0) {
        chunkBaseStride = oldStride[tensorD - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1;
}

/** torch `transpose(d0, d1)` swaps two dims; `.t()` on ≤2-D tensors. */
function transposeTorch(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const dims = fixedDims(t);
  if (!t || !dims) return keep(t, undefined);
  if (call.args.length === 0) {
    if (dims.length > 2) return keep(t, undefined);
    const order = dims.map((_, i) => dims.length - 1 - i);
    return keep(t, [...dims].reverse(), { values: undefined, strides: permutedStrides(t, dims, order) });
  }
  const a = asInt(call.args[0]?.value), b = asInt(call.args[1]?.value);
  if (a === undefined || b === undefined) return keep(t, undefined);
  const wa = checkDim(ctx, call, a, dims.length, 'arg0');
  const wb = wa === undefined ? undefined : checkDim(ctx, call, b, dims.length, 'arg1');
  if (wa === undefined || wb === undefined) return keep(t, undefined);
  const out = [...dims];
  [out[wa], out[wb]] = [out[wb], out[wa]];
  const order = dims.map((_, i) => (i === wa ? wb : i === wb ? wa : i));
  return keep(t, out, { values: undefined, strides: permutedStrides(t, dims, order) });
}

/**
 * `view` / `reshape` with at most one -1, as `infer_size` computes it: the -1 is numel / product of
 * the others (symbolically: `[N, 16, 5, 5].view(-1, 400)` is `[N, 400]`); a known numel that the
 * other sizes do not divide is `shape '[8, -1, 7]' is invalid for input of size 100`.
 */
function reshape(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const shapeOpt = call.options.get('shape');
  const target = call.args.length ? sizesFrom(call.args) : shapeOpt ? sizesFrom([shapeOpt]) : undefined;
  if (!target) return keep(t, undefined);
  const inferred = target.map((d, i) => (d.kind === 'const' && d.value === -1 ? i : -1)).filter(i => i >= 0);
  const shapeText = listText(target);
  if (inferred.length > 1) {
    ctx.report({ code: RESHAPE_TWO_INFERRED, args: [], subject: 'arg0' }, call);
    return keep(t, undefined);
  }
  const total = t && rankOf(t) !== undefined ? numel(t.shape!) : undefined;
  const others = target.filter((_, i) => i !== inferred[0]).reduce<Dim>((acc, d) => mulDims(acc, d), constDim(1));
  if (inferred.length === 0) {
    if (total && compareDims(total, others) === 'different') {
      if (ctx.profile === 'torch') ctx.report({ code: RESHAPE_TORCH, args: [shapeText, formatDim(total)], subject: 'arg0' }, call);
      else ctx.report({ code: RESHAPE_TFJS, args: [formatDim(total), tfjsShapeText(target)], subject: 'arg0' }, call);
      return keep(t, undefined);
    }
    if (!checkViewStrides(ctx, call, t, target)) return keep(t, undefined);
    return keep(t, target, { values: t?.values });
  }
  if (!total) return keep(t, target.map((d, i) => (i === inferred[0] ? UNKNOWN_DIM : d)));
  if (total.kind === 'const' && others.kind === 'const') {
    if (others.value === 0 || total.value % others.value !== 0) {
      if (ctx.profile === 'torch') ctx.report({ code: RESHAPE_TORCH, args: [shapeText, total.value], subject: 'arg0' }, call);
      else ctx.report({ code: RESHAPE_TFJS_FRACTION, args: [total.value, others.value], subject: 'arg0' }, call);
      return keep(t, undefined);
    }
  }
  const q = others.kind === 'unknown' ? UNKNOWN_DIM : divDims(total, others);
  // A quotient that is not a clean polynomial is an opaque atom; still better than unknown for display,
  // but it must never make a check fire, and opaque atoms compare equal only to themselves.
  const result = target.map((d, i) => (i === inferred[0] ? q : d));
  if (!checkViewStrides(ctx, call, t, result)) return keep(t, undefined);
  return keep(t, result, { values: t?.values });
}

/**
 * `view` (not `reshape`) on a permuted tensor: PyTorch raises when the new shape would merge dims
 * that are no longer adjacent in memory. Only with every size known.
 */
function checkViewStrides(ctx: OpContext, call: OpCall, t: TensorValue | undefined, result: readonly Dim[]): boolean {
  if (call.name !== 'view' || ctx.profile !== 'torch' || !t?.strides || !t.shape) return true;
  if (!t.shape.dims.every(d => d.kind === 'const') || !result.every(d => d.kind === 'const')) return true;
  const oldShape = t.shape.dims.map(d => (d as { value: number }).value);
  const newShape = result.map(d => (d as { value: number }).value);
  if (viewCompatible(oldShape, t.strides, newShape)) return true;
  const fixes = call.nameRange ? [{ title: 'Use `.reshape(…)`, which copies when it must', range: call.nameRange, newText: 'reshape' }] : [];
  ctx.report({ code: VIEW_STRIDES, args: [], subject: 'call' }, call, fixes);
  return false;
}

/** torch `flatten(start = 0, end = -1)`; `nn.Flatten` uses start = 1. TF.js `x.flatten()` is 1-D. */
export function flattenDims(dims: readonly Dim[], start: number, end: number): Dim[] {
  const merged = dims.slice(start, end + 1).reduce<Dim>((acc, d) => mulDims(acc, d), constDim(1));
  return [...dims.slice(0, start), merged, ...dims.slice(end + 1)];
}

function flatten(ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const dims = fixedDims(t);
  if (!t || !dims) return keep(t, undefined);
  if (ctx.profile === 'tfjs') return keep(t, flattenDims(dims, 0, dims.length - 1));
  const s = call.args[0] ?? call.options.get('startDim');
  const e = call.args[1] ?? call.options.get('endDim');
  const start = s ? asInt(s.value) : 0;
  const end = e ? asInt(e.value) : -1;
  if (start === undefined || end === undefined) return keep(t, undefined);
  if (dims.length === 0) return keep(t, [constDim(1)]);
  const ws = checkDim(ctx, call, start, dims.length, s ? 'arg0' : 'call');
  const we = ws === undefined ? undefined : checkDim(ctx, call, end, dims.length, e ? 'arg1' : 'call');
  if (ws === undefined || we === undefined || ws > we) return keep(t, undefined);
  return keep(t, flattenDims(dims, ws, we));
}

/** The tensors of a `cat`/`stack` list argument. */
function tensorList(v: Value | undefined): (TensorValue | undefined)[] | undefined {
  if (!v || v.kind !== 'array') return undefined;
  return v.elements.map(asTensor);
}

/**
 * The operands of `cat`/`stack` (torch `cat(tensors, dim)`, `tensors.cat(dim)`; TF.js `concat(tensors,
 * axis)`): the list's fixed shapes, the dim, and the common dtype. `ds` is absent when the list, a
 * shape or the dim is not known.
 */
function listOperands(call: OpCall): {
  ds?: Dim[][]; dim: number; dimArg: OpCall['args'][number] | undefined; dtype: TensorValue['dtype']; count: number;
} {
  const list = tensorList((call.self ?? call.args[0])?.value);
  const dimArg = call.self ? call.args[0] : call.args[1];
  const dimOpt = dimArg ?? call.options.get('dim') ?? call.options.get('axis');
  const dim = dimOpt ? asInt(dimOpt.value) : 0;
  if (!list || list.length === 0 || dim === undefined) return { dim: 0, dimArg, dtype: undefined, count: 0 };
  const dtype = list.every(t => t?.dtype && t.dtype === list[0]?.dtype) ? list[0]!.dtype : undefined;
  const shapes = list.map(t => fixedDims(t));
  if (shapes.some(s => !s)) return { dim, dimArg, dtype, count: list.length };
  return { ds: shapes as Dim[][], dim, dimArg, dtype, count: list.length };
}

/**
 * torch `cat(tensors, dim = 0)` / TF.js `concat(tensors, axis = 0)`: same rank, equal sizes except
 * along `dim`, which adds up. PyTorch: `Sizes of tensors must match except in dimension 1. Expected
 * size 4 but got size 5 for tensor number 1 in the list.`
 */
function cat(ctx: OpContext, call: OpCall): Value {
  const ops = listOperands(call);
  if (!ops.ds) return tensorOf(undefined, ops.dtype);
  const { ds, dim, dimArg, dtype } = ops;
  // PyTorch checks for 0-d tensors first (TF.js fails on them too, with its own words): no dim to join along.
  const scalar = ds.findIndex(s => s.length === 0);
  if (scalar >= 0) {
    if (ctx.profile === 'torch') ctx.report({ code: CAT_ZERO_DIM, args: [scalar], subject: call.self ? 'self' : 'arg0' }, call);
    return tensorOf(undefined, dtype);
  }
  const rank = ds[0].length;
  for (let k = 1; k < ds.length; k++) {
    if (ds[k].length !== rank) {
      if (ctx.profile === 'torch') ctx.report({ code: CAT_RANK, args: [rank, ds[k].length], subject: call.self ? 'self' : 'arg0' }, call);
      return tensorOf(undefined, dtype);
    }
  }
  const w = checkDim(ctx, call, dim, rank, dimArg ? (call.self ? 'arg0' : 'arg1') : 'call');
  if (w === undefined) return tensorOf(undefined, dtype);
  const out = [...ds[0]];
  for (let k = 1; k < ds.length; k++) {
    for (let i = 0; i < rank; i++) {
      if (i === w) continue;
      const c = compareDims(ds[0][i], ds[k][i]);
      if (c === 'different') {
        if (ctx.profile === 'torch') ctx.report({ code: CAT_SIZES, args: [w, formatDim(ds[0][i]), formatDim(ds[k][i]), k], subject: call.self ? 'self' : 'arg0' }, call);
        return tensorOf(undefined, dtype);
      }
      if (c === 'unknown' && out[i].kind !== 'const') out[i] = ds[k][i].kind === 'const' ? ds[k][i] : out[i];
    }
    out[w] = ds.slice(0, k + 1).reduce<Dim>((acc, s) => (acc.kind === 'unknown' ? acc : addDims(acc, s[w])), constDim(0));
  }
  return tensorOf({ dims: out }, dtype);
}

/** torch `stack(tensors, dim = 0)` / TF.js `stack(tensors, axis = 0)`: equal shapes, a new dim of size len(list). */
function stack(ctx: OpContext, call: OpCall): Value {
  const ops = listOperands(call);
  if (!ops.ds) return tensorOf(undefined, ops.dtype);
  const { ds, dim, dimArg, dtype, count } = ops;
  for (let k = 1; k < ds.length; k++) {
    const differs = ds[k].length !== ds[0].length || ds[k].some((d, i) => compareDims(d, ds[0][i]) === 'different');
    if (differs) {
      if (ctx.profile === 'torch') ctx.report({ code: STACK_SIZES, args: [listText(ds[0]), listText(ds[k]), k], subject: call.self ? 'self' : 'arg0' }, call);
      else ctx.report({ code: STACK_TFJS, args: [], subject: 'arg0' }, call);
      return tensorOf(undefined, dtype);
    }
  }
  const r = ds[0].length + 1;
  if (dim < -r || dim >= r) {
    ctx.report({ code: DIM_OUT_OF_RANGE, args: [-r, r - 1, dim], subject: dimArg ? (call.self ? 'arg0' : 'arg1') : 'call' }, call);
    return tensorOf(undefined, dtype);
  }
  const out = [...ds[0]];
  out.splice(dim < 0 ? dim + r : dim, 0, constDim(count));
  return tensorOf({ dims: out }, dtype);
}

/** torch `expand(…sizes)` / TF.js `broadcastTo(x, shape)`: -1 keeps a size. */
function expand(_ctx: OpContext, call: OpCall): Value {
  const t = asTensor(call.self?.value);
  const sizes = sizesFrom(call.args);
  const dims = fixedDims(t);
  if (!t || !sizes) return keep(t, undefined);
  const out = sizes.map((d, i) => {
    if (d.kind === 'const' && d.value === -1 && dims) return dims[i - (sizes.length - dims.length)] ?? UNKNOWN_DIM;
    return d;
  });
  return keep(t, out, { values: undefined });
}

export function shapeOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const both = { method: true, func: true, selfFirst: true };
  if (profile === 'torch') {
    return {
      squeeze: { fn: squeeze, ...both },
      unsqueeze: { fn: unsqueeze, ...both },
      permute: { fn: permute, ...both },
      reshape: { fn: reshape, ...both },
      view: { fn: reshape, method: true },
      flatten: { fn: flatten, ...both },
      cat: { fn: cat, func: true },
      concat: { fn: cat, func: true },
      concatenate: { fn: cat, func: true },
      stack: { fn: stack, func: true },
      expand: { fn: expand, method: true },
      transpose: { fn: transposeTorch, ...both },
      t: { fn: transposeTorch, ...both },
    };
  }
  return {
    squeeze: { fn: squeeze, ...both },
    expandDims: { fn: unsqueeze, ...both },
    reshape: { fn: reshape, ...both },
    flatten: { fn: flatten, method: true },
    concat: { fn: cat, func: true, method: true },
    stack: { fn: stack, func: true },
    broadcastTo: { fn: expand, ...both },
    transpose: { fn: permute, ...both },
  };
}
