// Convolution and pooling arithmetic: torch `conv2d` (NCHW) and `max_pool2d` / `avg_pool2d`,
// TF.js `conv2d` (NHWC) and `maxPool` / `avgPool`.

import { addDims, ceilDivKnown, compareDims, constDim, floorDivDims, formatDim, subDims, UNKNOWN_DIM, type Dim } from '../dims';
import type { TensorValue, Value } from '../values';
import { symNames } from './linalg';
import {
  asDim, asInt, asIntList, asString, asTensor, CONV_CHANNELS, CONV_CHANNELS_TFJS, CONV_INPUT_RANK, CONV_KERNEL_TOO_BIG,
  listText, POOL_TOO_SMALL, rankOf, tensorOf, type OpArg, type OpCall, type OpContext, type OpEntry,
} from './types';

/** An int or a pair (`3` or `[3, 3]`) as two values. */
export function pair(v: Value | undefined, fallback?: number): [number, number] | undefined {
  if (!v) return fallback === undefined ? undefined : [fallback, fallback];
  const i = asInt(v);
  if (i !== undefined) return [i, i];
  const l = asIntList(v);
  if (l && l.length === 2 && l[0] !== undefined && l[1] !== undefined) return [l[0], l[1]];
  if (l && l.length === 1 && l[0] !== undefined) return [l[0], l[0]];
  return undefined;
}

/** PyTorch's output size: floor((H + 2p - d(k-1) - 1) / s) + 1. Symbolic H stays symbolic. */
export function convOut(h: Dim, k: number, s: number, p: number, d: number): Dim {
  // The common pooling case (window = stride, no padding): floor((H - k) / k) + 1 = H // k, printed as such.
  if (p === 0 && d === 1 && k === s && h.kind !== 'const') return floorDivDims(h, constDim(k));
  const span = subDims(addDims(h, constDim(2 * p)), constDim(d * (k - 1) + 1));
  return addDims(s === 1 ? span : floorDivDims(span, constDim(s)), constDim(1));
}

export interface Conv2dParams {
  readonly outChannels: Dim;
  readonly inChannels: Dim;
  readonly kernel: [number, number] | undefined;
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid' | undefined;
  readonly dilation: [number, number];
  readonly groups: number;
}

/** The torch conv2d rule on NCHW (or unbatched CHW) input, with PyTorch's messages. */
export function conv2dTorch(ctx: OpContext, call: OpCall, x: TensorValue | undefined, p: Conv2dParams, subject: 'self' | 'arg0'): TensorValue {
  const r = rankOf(x);
  const dtype = x?.dtype;
  if (!x || r === undefined) return tensorOf(undefined, dtype);
  const dims = x.shape!.dims;
  if (r !== 3 && r !== 4) {
    ctx.report({ code: CONV_INPUT_RANK, args: [listText(dims)], subject }, call);
    return tensorOf(undefined, dtype);
  }
  const batched = r === 4;
  const c = dims[batched ? 1 : 0];
  const perGroup = p.inChannels.kind === 'const' ? constDim(p.inChannels.value / p.groups) : p.inChannels;
  const weightText = listText([p.outChannels, perGroup, ...(p.kernel ? p.kernel.map(constDim) : [UNKNOWN_DIM, UNKNOWN_DIM])]);
  if (compareDims(c, p.inChannels) === 'different') {
    const inputText = listText(batched ? dims : [constDim(1), ...dims]);
    ctx.report({
      code: CONV_CHANNELS,
      args: [p.groups, weightText, inputText, formatDim(p.inChannels), formatDim(c)],
      subject,
      dims: symNames([c, p.inChannels]),
    }, call);
    return tensorOf(undefined, dtype);
  }
  const [h, w] = [dims[r - 2], dims[r - 1]];
  if (!p.kernel || p.padding === undefined) return tensorOf({ dims: [...dims.slice(0, r - 3), p.outChannels, UNKNOWN_DIM, UNKNOWN_DIM] }, dtype);
  let oh: Dim, ow: Dim;
  if (p.padding === 'same') { oh = h; ow = w; } else {
    const pad = p.padding === 'valid' ? [0, 0] : p.padding;
    const ph = addDims(h, constDim(2 * pad[0])), pw = addDims(w, constDim(2 * pad[1]));
    const kh = p.dilation[0] * (p.kernel[0] - 1) + 1, kw = p.dilation[1] * (p.kernel[1] - 1) + 1;
    if (ph.kind === 'const' && pw.kind === 'const' && (ph.value < kh || pw.value < kw)) {
      ctx.report({ code: CONV_KERNEL_TOO_BIG, args: [`${ph.value} x ${pw.value}`, `${kh} x ${kw}`], subject }, call);
      return tensorOf(undefined, dtype);
    }
    oh = convOut(h, p.kernel[0], p.stride[0], pad[0], p.dilation[0]);
    ow = convOut(w, p.kernel[1], p.stride[1], pad[1], p.dilation[1]);
  }
  return tensorOf({ dims: [...dims.slice(0, r - 3), p.outChannels, oh, ow] }, dtype);
}

/** `F.conv2d(input, weight, bias?, stride = 1, padding = 0, dilation = 1, groups = 1)`. */
function conv2dFunctional(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  if (ctx.profile === 'tfjs') return conv2dTfjs(ctx, call);
  const w = asTensor(call.args[0]?.value);
  const wd = rankOf(w) === 4 ? w!.shape!.dims : undefined;
  if (!wd) return tensorOf(undefined, x?.dtype);
  const o = (i: number, ...names: string[]) => names.map(n => call.options.get(n)).find(Boolean) ?? call.args[i];
  const groups = asInt(o(5, 'groups')?.value) ?? 1;
  const kernel = wd[2].kind === 'const' && wd[3].kind === 'const' ? [wd[2].value, wd[3].value] as [number, number] : undefined;
  const padArg = o(3, 'padding');
  const padding = padArg && asString(padArg.value) ? (asString(padArg.value) as 'same' | 'valid') : pair(padArg?.value, 0);
  return conv2dTorch(ctx, call, x, {
    outChannels: wd[0],
    inChannels: wd[1].kind === 'const' ? constDim(wd[1].value * groups) : wd[1],
    kernel,
    stride: pair(o(2, 'stride')?.value, 1) ?? [1, 1],
    padding,
    dilation: pair(o(4, 'dilation')?.value, 1) ?? [1, 1],
    groups,
  }, 'self');
}

/** TF.js output size: `valid` → ceil((H - k + 1) / s), `same` → ceil(H / s). */
export function tfjsOut(h: Dim, k: number, s: number, pad: 'same' | 'valid' | number): Dim {
  if (pad === 'same') return ceilDivKnown(h, s);
  if (pad === 'valid') return ceilDivKnown(subDims(h, constDim(k - 1)), s);
  return convOut(h, k, s, pad, 1);
}

/** TF.js `tf.conv2d(x, filter[fh, fw, inC, outC], strides, pad)` on NHWC (or HWC). */
function conv2dTfjs(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const f = asTensor(call.args[0]?.value);
  const r = rankOf(x);
  const fd = rankOf(f) === 4 ? f!.shape!.dims : undefined;
  if (!x || r === undefined || !fd || (r !== 3 && r !== 4)) return tensorOf(undefined, x?.dtype);
  const dims = x.shape!.dims;
  const c = dims[r - 1];
  if (compareDims(c, fd[2]) === 'different') {
    ctx.report({ code: CONV_CHANNELS_TFJS, args: [formatDim(c), formatDim(fd[2])], subject: 'self', dims: symNames([c, fd[2]]) }, call);
    return tensorOf(undefined, x.dtype);
  }
  const strides = pair(call.args[1]?.value, 1) ?? [1, 1];
  const padV = call.args[2]?.value;
  const pad = asString(padV) === 'same' ? 'same' : asString(padV) === 'valid' ? 'valid' : asInt(padV);
  if (pad === undefined || fd[0].kind !== 'const' || fd[1].kind !== 'const') {
    return tensorOf({ dims: [...dims.slice(0, r - 3), UNKNOWN_DIM, UNKNOWN_DIM, fd[3]] }, x.dtype);
  }
  const oh = tfjsOut(dims[r - 3], fd[0].value, strides[0], pad);
  const ow = tfjsOut(dims[r - 2], fd[1].value, strides[1], pad);
  return tensorOf({ dims: [...dims.slice(0, r - 3), oh, ow, fd[3]] }, x.dtype);
}

export interface PoolParams {
  readonly kernel: [number, number] | undefined;
  readonly stride: [number, number] | undefined;
  readonly padding: [number, number];
  readonly dilation: [number, number];
}

/** torch max/avg pooling on NCHW or CHW: `Given input size: (16x1x1). Calculated output size: (16x0x0). Output size is too small`. */
export function pool2dTorch(ctx: OpContext, call: OpCall, x: TensorValue | undefined, p: PoolParams, subject: 'self' | 'arg0'): TensorValue {
  const r = rankOf(x);
  if (!x || r === undefined || (r !== 3 && r !== 4) || !p.kernel) return tensorOf(undefined, x?.dtype);
  const dims = x.shape!.dims;
  const stride = p.stride ?? p.kernel;
  const oh = convOut(dims[r - 2], p.kernel[0], stride[0], p.padding[0], p.dilation[0]);
  const ow = convOut(dims[r - 1], p.kernel[1], stride[1], p.padding[1], p.dilation[1]);
  if ((oh.kind === 'const' && oh.value < 1) || (ow.kind === 'const' && ow.value < 1)) {
    const c = dims[r - 3];
    const txt = (ds: Dim[]) => ds.map(formatDim).join('x');
    ctx.report({ code: POOL_TOO_SMALL, args: [txt([c, dims[r - 2], dims[r - 1]]), txt([c, oh, ow])], subject }, call);
    return tensorOf(undefined, x.dtype);
  }
  return tensorOf({ dims: [...dims.slice(0, r - 2), oh, ow] }, x.dtype);
}

/** `F.max_pool2d(x, kernel_size, stride = kernel_size, padding = 0, dilation = 1)`, `tf.maxPool(x, filterSize, strides, pad)`. */
function poolFunctional(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const o = (i: number, ...names: string[]) => names.map(n => call.options.get(n)).find(Boolean) ?? call.args[i];
  if (ctx.profile === 'tfjs') {
    const r = rankOf(x);
    const k = pair(o(0, 'filterSize')?.value);
    const s = pair(o(1, 'strides')?.value, 1);
    const padV = o(2, 'pad')?.value;
    const pad = asString(padV) === 'same' ? 'same' : asString(padV) === 'valid' ? 'valid' : asInt(padV);
    if (!x || r === undefined || (r !== 3 && r !== 4) || !k || !s || pad === undefined) return tensorOf(undefined, x?.dtype);
    const dims = x.shape!.dims;
    return tensorOf({ dims: [...dims.slice(0, r - 3), tfjsOut(dims[r - 3], k[0], s[0], pad), tfjsOut(dims[r - 2], k[1], s[1], pad), dims[r - 1]] }, x.dtype);
  }
  return pool2dTorch(ctx, call, x, {
    kernel: pair(o(0, 'kernelSize')?.value),
    stride: pair(o(1, 'stride')?.value),
    padding: pair(o(2, 'padding')?.value, 0) ?? [0, 0],
    dilation: pair(o(3, 'dilation')?.value, 1) ?? [1, 1],
  }, 'self');
}

export function convOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const fs = { func: true, selfFirst: true };
  if (profile === 'tfjs') return { conv2d: { fn: conv2dFunctional, ...fs }, maxPool: { fn: poolFunctional, ...fs }, avgPool: { fn: poolFunctional, ...fs } };
  return {
    conv2d: { fn: conv2dFunctional, ...fs },
    max_pool2d: { fn: poolFunctional, ...fs },
    avg_pool2d: { fn: poolFunctional, ...fs },
  };
}
