// Selection, tiling and resizing: `gather`, `index_select`, `narrow` / `slice`, `split` / `chunk`,
// `repeat` / `tile`, `where`, `pad`, `interpolate` / `tf.image.resize*`.

import { addDims, constDim, floorDivDims, mulDims, UNKNOWN_DIM, type Dim } from '../dims';
import type { TensorValue, Value } from '../values';
import { broadcastDims, promote } from './elementwise';
import {
  asDim, asInt, asIntList, asNumber, asTensor, checkDim, rankOf, sizesFrom, tensorOf,
  type OpCall, type OpContext, type OpEntry,
} from './types';

function dimsOf(t: TensorValue | undefined): Dim[] | undefined {
  return rankOf(t) === undefined ? undefined : [...t!.shape!.dims];
}

/** torch `x.gather(dim, index)`: the index's shape, x's dtype. TF.js `tf.gather(x, indices, axis = 0)`: x's dims around the indices' dims. */
function gather(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  if (ctx.profile === 'torch') {
    const index = asTensor(call.args[1]?.value);
    return tensorOf(index?.shape, x?.dtype);
  }
  const indices = asTensor(call.args[0]?.value);
  const dx = dimsOf(x), di = dimsOf(indices);
  const axisArg = call.args[1];
  const axis = axisArg ? asInt(axisArg.value) : 0;
  if (!dx || !di || axis === undefined) return tensorOf(undefined, x?.dtype);
  const w = checkDim(ctx, call, axis, dx.length, axisArg ? 'arg1' : 'call');
  if (w === undefined) return tensorOf(undefined, x?.dtype);
  return tensorOf({ dims: [...dx.slice(0, w), ...di, ...dx.slice(w + 1)] }, x?.dtype);
}

/** torch `x.index_select(dim, index)`: dim `dim` becomes the (1-D) index's length. */
function indexSelect(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  const dim = asInt(call.args[0]?.value);
  const index = dimsOf(asTensor(call.args[1]?.value));
  if (!dx || dim === undefined) return tensorOf(undefined, x?.dtype);
  const w = checkDim(ctx, call, dim, dx.length, 'arg0');
  if (w === undefined) return tensorOf(undefined, x?.dtype);
  dx[w] = index && index.length === 1 ? index[0] : UNKNOWN_DIM;
  return tensorOf({ dims: dx }, x?.dtype);
}

/** torch `x.narrow(dim, start, length)`: that dim becomes `length`. */
function narrow(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  const dim = asInt(call.args[0]?.value);
  if (!dx || dim === undefined) return tensorOf(undefined, x?.dtype);
  const w = checkDim(ctx, call, dim, dx.length, 'arg0');
  if (w === undefined) return tensorOf(undefined, x?.dtype);
  dx[w] = asDim(call.args[2]?.value);
  return tensorOf({ dims: dx }, x?.dtype);
}

/** TF.js `tf.slice(x, begin, size)`: `size[i] = -1` runs to the end of that axis. */
function slice(_ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  if (!dx) return tensorOf(undefined, x?.dtype);
  const beginV = call.args[0]?.value, sizeV = call.args[1]?.value;
  const begin = beginV?.kind === 'number' ? [asInt(beginV)] : asIntList(beginV);
  const size = sizeV === undefined ? undefined : sizeV.kind === 'number' ? [asDim(sizeV)] : sizeV.kind === 'array' ? sizeV.elements.map(asDim) : undefined;
  if (!begin) return tensorOf(undefined, x?.dtype);
  const out = dx.map((d, i) => {
    const b = begin[i] ?? 0;
    const s = size?.[i];
    if (s && !(s.kind === 'const' && s.value === -1)) return s;
    return b === undefined ? UNKNOWN_DIM : addDims(d, constDim(-b));
  });
  return tensorOf({ dims: out }, x?.dtype);
}

/**
 * torch `x.split(size | sizes, dim = 0)` and `x.chunk(n, dim = 0)`; TF.js `tf.split(x, n | sizes, axis = 0)`.
 * An array of tensors when the pieces are known; unknown otherwise.
 */
function split(kind: 'split' | 'chunk'): OpEntry['fn'] {
  return (ctx, call) => {
    const x = asTensor(call.self?.value);
    const dx = dimsOf(x);
    const how = call.args[0]?.value;
    const dimArg = call.args[1] ?? call.options.get('dim') ?? call.options.get('axis');
    const dim = dimArg ? asInt(dimArg.value) : 0;
    if (!dx || dim === undefined || !how) return { kind: 'unknown' };
    const w = checkDim(ctx, call, dim, dx.length, dimArg ? 'arg1' : 'call');
    if (w === undefined) return { kind: 'unknown' };
    const total = dx[w];
    let sizes: Dim[] | undefined;
    if (how.kind === 'array') sizes = how.elements.map(asDim);
    else {
      const n = asInt(how);
      if (n === undefined || n <= 0) return { kind: 'unknown' };
      const equalParts = kind === 'chunk' || ctx.profile === 'tfjs';
      if (total.kind === 'const') {
        const piece = equalParts ? Math.ceil(total.value / n) : n;
        sizes = [];
        for (let left = total.value; left > 0; left -= piece) sizes.push(constDim(Math.min(piece, left)));
      } else if (equalParts && ctx.profile === 'tfjs') {
        // TF.js requires an even split: N / n each.
        sizes = new Array(n).fill(floorDivDims(total, constDim(n)));
      }
    }
    if (!sizes) return { kind: 'unknown' };
    return { kind: 'array', elements: sizes.map(s => tensorOf({ dims: dx.map((d, i) => (i === w ? s : d)) }, x?.dtype)) };
  };
}

/** torch `x.repeat(...sizes)`: leading new dims, each dim multiplied. TF.js `tf.tile(x, reps)`. */
function repeat(_ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  const reps = sizesFrom(call.args);
  if (!dx || !reps || reps.length < dx.length) return tensorOf(undefined, x?.dtype);
  const padded = [...new Array<Dim>(reps.length - dx.length).fill(constDim(1)), ...dx];
  return tensorOf({ dims: padded.map((d, i) => mulDims(d, reps[i])) }, x?.dtype);
}

/** `where(cond, a, b)` (torch and TF.js; torch's method form is `a.where(cond, b)`): all three broadcast. */
function where(ctx: OpContext, call: OpCall): Value {
  const [c, a, b] = call.methodForm && ctx.profile === 'torch'
    ? [call.args[0], call.self, call.args[1]]
    : [call.self, call.args[0], call.args[1]];
  const tc = asTensor(c?.value), ta = asTensor(a?.value), tb = asTensor(b?.value);
  const dtype = promote(ta?.dtype ?? (a?.value.kind === 'number' ? tb?.dtype : undefined), tb?.dtype ?? (b?.value.kind === 'number' ? ta?.dtype : undefined));
  const shapes = [tc, ta, tb].map(t => (t ? dimsOf(t) : []));
  if (shapes.some(s => !s)) return tensorOf(undefined, dtype);
  let out: Dim[] = [];
  for (const s of shapes as Dim[][]) {
    const r = broadcastDims(out, s);
    if ('conflict' in r) return tensorOf(undefined, dtype);
    out = r.dims;
  }
  return tensorOf({ dims: out }, dtype);
}

/** torch `F.pad(x, [l, r, t, b, …])` pads the last dims, last first; TF.js `tf.pad(x, [[before, after], …])` every axis. */
function pad(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  const p = call.args[0]?.value;
  if (!dx || !p || p.kind !== 'array') return tensorOf(undefined, x?.dtype);
  if (ctx.profile === 'tfjs') {
    const pairs = p.elements.map(e => asIntList(e));
    if (pairs.length !== dx.length || pairs.some(q => !q || q.length !== 2 || q.some(v => v === undefined))) return tensorOf(undefined, x?.dtype);
    return tensorOf({ dims: dx.map((d, i) => addDims(d, constDim((pairs[i]![0] as number) + (pairs[i]![1] as number)))) }, x?.dtype);
  }
  const amounts = asIntList(p);
  if (!amounts || amounts.length % 2 || amounts.some(v => v === undefined) || amounts.length / 2 > dx.length) return tensorOf(undefined, x?.dtype);
  const out = [...dx];
  for (let k = 0; k < amounts.length / 2; k++) {
    const i = dx.length - 1 - k;
    out[i] = addDims(out[i], constDim((amounts[2 * k] as number) + (amounts[2 * k + 1] as number)));
  }
  return tensorOf({ dims: out }, x?.dtype);
}

/**
 * torch `F.interpolate(x, { size | scaleFactor })` (or positional size, scale_factor): the spatial
 * dims (after N, C) become `size`, or floor(d * scale). TF.js `tf.image.resizeBilinear(x, [h, w])`
 * and `resizeNearestNeighbor` on NHWC.
 */
function interpolate(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const dx = dimsOf(x);
  if (!dx) return tensorOf(undefined, x?.dtype);
  if (ctx.profile === 'tfjs') {
    const size = call.args[0]?.value.kind === 'array' ? call.args[0].value.elements.map(asDim) : undefined;
    if (!size || size.length !== 2 || (dx.length !== 3 && dx.length !== 4)) return tensorOf(undefined, x?.dtype);
    const r = dx.length;
    return tensorOf({ dims: [...dx.slice(0, r - 3), size[0], size[1], dx[r - 1]] }, x?.dtype);
  }
  const spatial = dx.length - 2;
  if (spatial < 1) return tensorOf(undefined, x?.dtype);
  const sizeV = call.options.get('size')?.value ?? (call.args[0]?.value.kind !== 'null' ? call.args[0]?.value : undefined);
  const scaleV = call.options.get('scaleFactor')?.value ?? call.args[1]?.value;
  let sizes: Dim[] | undefined;
  if (sizeV && sizeV.kind === 'array') sizes = sizeV.elements.map(asDim);
  else if (sizeV && sizeV.kind === 'number') sizes = new Array(spatial).fill(asDim(sizeV));
  else if (scaleV) {
    const scales = scaleV.kind === 'array' ? scaleV.elements.map(asNumber) : new Array(spatial).fill(asNumber(scaleV));
    sizes = dx.slice(2).map((d, i) => {
      const s = scales[i];
      if (s === undefined) return UNKNOWN_DIM;
      if (d.kind === 'const') return constDim(Math.floor(d.value * s));
      return Number.isInteger(s) ? mulDims(d, constDim(s)) : UNKNOWN_DIM;
    });
  }
  if (!sizes || sizes.length !== spatial) return tensorOf({ dims: [dx[0], dx[1], ...new Array(spatial).fill(UNKNOWN_DIM)] }, x?.dtype);
  return tensorOf({ dims: [dx[0], dx[1], ...sizes] }, x?.dtype);
}

/** torch `x.expand_as(y)`, `x.view_as(y)`, `x.reshape_as(y)`: y's shape. */
function asOther(_ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const y = asTensor(call.args[0]?.value);
  return tensorOf(y?.shape, x?.dtype);
}

export function indexingOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const both = { method: true, func: true, selfFirst: true };
  if (profile === 'torch') {
    return {
      gather: { fn: gather, ...both },
      index_select: { fn: indexSelect, ...both },
      narrow: { fn: narrow, ...both },
      split: { fn: split('split'), ...both },
      chunk: { fn: split('chunk'), ...both },
      repeat: { fn: repeat, method: true },
      where: { fn: where, ...both },
      pad: { fn: pad, func: true, selfFirst: true },
      interpolate: { fn: interpolate, func: true, selfFirst: true },
      upsample: { fn: interpolate, func: true, selfFirst: true },
      expand_as: { fn: asOther, method: true },
      view_as: { fn: asOther, method: true },
      reshape_as: { fn: asOther, method: true },
    };
  }
  return {
    gather: { fn: gather, ...both },
    slice: { fn: slice, ...both },
    split: { fn: split('split'), ...both },
    tile: { fn: repeat, ...both },
    where: { fn: where, func: true, selfFirst: true },
    pad: { fn: pad, ...both },
    resizeBilinear: { fn: interpolate, func: true, selfFirst: true },
    resizeNearestNeighbor: { fn: interpolate, func: true, selfFirst: true },
  };
}

