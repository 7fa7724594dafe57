// Matrix products: torch `matmul` / `mm` / `bmm` / `linear`, TF.js `matMul` / `dot`.

import { compareDims, constDim, formatDim, mulDims, UNKNOWN_DIM, type Dim } from '../dims';
import type { TensorValue, Value } from '../values';
import { broadcastDims, promote } from './elementwise';
import {
  asBool, asTensor, BMM_MISMATCH, BMM_NOT_3D, BROADCAST_TORCH, MATMUL_TFJS, MATMUL_TORCH, MM_NOT_MATRIX, rankOf, tensorOf, tfjsShapeText,
  type OpArg, type OpCall, type OpContext, type OpEntry, type OpFix,
} from './types';

function dimsOf(t: TensorValue | undefined): Dim[] | undefined {
  return rankOf(t) === undefined ? undefined : [...t!.shape!.dims];
}

/** `NxK` as PyTorch prints a matrix's sizes; symbolic sizes in the user's names. */
function mat(rows: Dim, cols: Dim): string {
  const w = (d: Dim) => { const s = formatDim(d); return /[ +\-]/.test(s) ? `(${s})` : s; };
  return `${w(rows)}x${w(cols)}`;
}

const product = (ds: readonly Dim[]) => ds.reduce<Dim>((a, d) => mulDims(a, d), constDim(1));

/**
 * torch.matmul's cases, as `_matmul_impl` takes them: 1-D·1-D dot → []; 1-D·2-D and 2-D·2-D mm;
 * N-D·2-D folds the batch into rows (so the message shows `(B*T)x512`); whenever the right operand is
 * N-D (≥ 3), the batch dims are broadcast (`infer_size`, TL3001 on a conflict) and bmm runs on
 * [B, n, k]·[B, k, p] with B their product, so an inner mismatch is bmm's `Expected size for first
 * two dimensions of batch2 tensor to be: [B, k] but got: [B, k']` — the classic attention bug,
 * `q.matmul(k)` without `k.transpose(-2, -1)`. N-D·1-D and 2-D·1-D (mv) and 1-D·1-D (dot) mismatches
 * stay quiet (their messages are not verified here); the result is unknown.
 */
export function matmulTorch(ctx: OpContext, call: OpCall, a: TensorValue | undefined, b: TensorValue | undefined, subject: 'arg0' | 'self' = 'arg0'): TensorValue {
  const dtype = promote(a?.dtype, b?.dtype);
  const da = dimsOf(a), db = dimsOf(b);
  if (!da || !db || da.length === 0 || db.length === 0) return tensorOf(undefined, dtype);
  const k1 = da[da.length - 1];
  const k2 = db.length === 1 ? db[0] : db[db.length - 2];
  const inner = compareDims(k1, k2);
  // When the right operand's last dim is the one the left needs, it was meant transposed (attention's
  // `q.matmul(k)`, a weight stored [out, in]): offer `.transpose(-2, -1)`.
  const fixes = () => {
    const right = subject === 'self' ? call.self : call.args[0];
    return right && db.length >= 2 && compareDims(k1, db[db.length - 1]) === 'equal' ? [transposeFix(right)] : undefined;
  };
  if (db.length >= 3) {
    const batch = broadcastDims(da.slice(0, -2), db.slice(0, -2));
    if ('conflict' in batch) {
      ctx.report({ code: BROADCAST_TORCH, args: [formatDim(batch.da), formatDim(batch.db), batch.conflict], subject, dims: symNames([...da, ...db]) }, call);
      return tensorOf(undefined, dtype);
    }
    if (inner === 'different') {
      const B = product(batch.dims);
      if (B.kind !== 'unknown') ctx.report({ code: BMM_MISMATCH, args: [formatDim(B), formatDim(k1), formatDim(B), formatDim(k2)], subject, dims: symNames([...da, ...db]) }, call, fixes());
      return tensorOf(undefined, dtype);
    }
    return tensorOf({ dims: [...batch.dims, ...(da.length > 1 ? [da[da.length - 2]] : []), db[db.length - 1]] }, dtype);
  }
  if (inner === 'different') {
    if (db.length === 2) {
      const rows = da.length === 1 ? constDim(1) : product(da.slice(0, -1));
      ctx.report({ code: MATMUL_TORCH, args: [mat(rows, k1), mat(db[0], db[1])], subject, dims: symNames([...da, ...db]) }, call, fixes());
    }
    return tensorOf(undefined, dtype);
  }
  if (da.length === 1 && db.length === 1) return tensorOf({ dims: [] }, dtype);
  if (da.length === 1) return tensorOf({ dims: [db[db.length - 1]] }, dtype);
  if (db.length === 1) return tensorOf({ dims: da.slice(0, -1) }, dtype);
  return tensorOf({ dims: [...da.slice(0, -1), db[1]] }, dtype);
}

/** `.transpose(-2, -1)` after an operand, in parentheses when its text is not a postfix chain (`a + b`). */
function transposeFix(arg: OpArg): OpFix {
  let depth = 0;
  let bare = true;
  for (const ch of arg.text) {
    if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (depth === 0 && /[\s+\-*/%?:<>=&|!,]/.test(ch)) { bare = false; break; }
  }
  const text = '.transpose(-2, -1)';
  return bare
    ? { title: `Transpose the right operand: ${text}`, range: { start: arg.range.end, end: arg.range.end }, newText: text }
    : { title: `Transpose the right operand: ${text}`, range: arg.range, newText: `(${arg.text})${text}` };
}

/** torch `mm(self, mat2)`: 2-D only (`self must be a matrix`), then as matmul's mm. */
function mmTorch(ctx: OpContext, call: OpCall, a: TensorValue | undefined, b: TensorValue | undefined): TensorValue {
  const ra = rankOf(a), rb = rankOf(b);
  if (ra !== undefined && ra !== 2) {
    ctx.report({ code: MM_NOT_MATRIX, args: ['self'], subject: 'self' }, call);
    return tensorOf(undefined, promote(a?.dtype, b?.dtype));
  }
  if (rb !== undefined && rb !== 2) {
    ctx.report({ code: MM_NOT_MATRIX, args: ['mat2'], subject: 'arg0' }, call);
    return tensorOf(undefined, promote(a?.dtype, b?.dtype));
  }
  return matmulTorch(ctx, call, a, b);
}

/**
 * torch `bmm(batch1, batch2)`: 3-D only, equal batch sizes (no broadcasting), then the inner sizes,
 * checked together as `common_checks_baddbmm_bmm` does: `Expected size for first two dimensions of
 * batch2 tensor to be: [4, 16] but got: [2, 16].`
 */
function bmmTorch(ctx: OpContext, call: OpCall, a: TensorValue | undefined, b: TensorValue | undefined): TensorValue {
  const dtype = promote(a?.dtype, b?.dtype);
  const ra = rankOf(a), rb = rankOf(b);
  if (ra !== undefined && ra !== 3) {
    ctx.report({ code: BMM_NOT_3D, args: ['batch1'], subject: 'self' }, call);
    return tensorOf(undefined, dtype);
  }
  if (rb !== undefined && rb !== 3) {
    ctx.report({ code: BMM_NOT_3D, args: ['batch2'], subject: 'arg0' }, call);
    return tensorOf(undefined, dtype);
  }
  const da = dimsOf(a), db = dimsOf(b);
  if (!da || !db) return tensorOf(undefined, dtype);
  const batch = compareDims(da[0], db[0]);
  if (batch === 'different' || compareDims(da[2], db[1]) === 'different') {
    ctx.report({ code: BMM_MISMATCH, args: [formatDim(da[0]), formatDim(da[2]), formatDim(db[0]), formatDim(db[1])], subject: 'arg0', dims: symNames([...da, ...db]) }, call);
    return tensorOf(undefined, dtype);
  }
  // equal, or undecided (then the known one, if either is: the only size that runs)
  const bs = batch === 'equal' || da[0].kind === 'const' ? da[0] : db[0].kind === 'const' ? db[0] : da[0];
  return tensorOf({ dims: [bs, da[1], db[2]] }, dtype);
}

/** Names of symbolic atoms in dims, for "`K` was bound here" related locations. */
export function symNames(dims: readonly Dim[]): string[] {
  const out = new Set<string>();
  for (const d of dims) if (d.kind === 'sym') for (const k of d.poly.keys()) for (const a of k.split('*')) if (a && /^[A-Za-z_$][\w$.]*$/.test(a)) out.add(a);
  return [...out];
}

function matmul(ctx: OpContext, call: OpCall): Value {
  const a = asTensor(call.self?.value), b = asTensor(call.args[0]?.value);
  if (ctx.profile === 'tfjs') return matMulTfjs(ctx, call, a, b);
  return matmulTorch(ctx, call, a, b);
}

function mm(ctx: OpContext, call: OpCall): Value {
  return mmTorch(ctx, call, asTensor(call.self?.value), asTensor(call.args[0]?.value));
}

function bmm(ctx: OpContext, call: OpCall): Value {
  return bmmTorch(ctx, call, asTensor(call.self?.value), asTensor(call.args[0]?.value));
}

/**
 * TF.js `matMul(a, b, transposeA = false, transposeB = false)`: rank ≥ 2, equal ranks, inner sizes
 * equal: `Error in matMul: inner shapes (784) and (748) of Tensors with shapes 8,784 and 748,10 and
 * transposeA=false and transposeB=false must match.`
 */
function matMulTfjs(ctx: OpContext, call: OpCall, a: TensorValue | undefined, b: TensorValue | undefined): TensorValue {
  const ta = asBool(call.args[1]?.value) ?? false;
  const tb = asBool(call.args[2]?.value) ?? false;
  const dtype = promote(a?.dtype, b?.dtype);
  const da = dimsOf(a), db = dimsOf(b);
  if (!da || !db || da.length < 2 || db.length < 2) return tensorOf(undefined, dtype);
  const inA = ta ? da[da.length - 2] : da[da.length - 1];
  const inB = tb ? db[db.length - 1] : db[db.length - 2];
  const outA = ta ? da[da.length - 1] : da[da.length - 2];
  const outB = tb ? db[db.length - 2] : db[db.length - 1];
  if (compareDims(inA, inB) === 'different') {
    ctx.report({
      code: MATMUL_TFJS,
      args: [formatDim(inA), formatDim(inB), tfjsShapeText(da), tfjsShapeText(db), String(ta), String(tb)],
      subject: 'arg0',
      dims: symNames([...da, ...db]),
    }, call);
    return tensorOf(undefined, dtype);
  }
  const batch = broadcastDims(da.slice(0, -2), db.slice(0, -2));
  if ('conflict' in batch) return tensorOf(undefined, dtype);
  return tensorOf({ dims: [...batch.dims, outA, outB] }, dtype);
}

/**
 * torch `F.linear(x, weight[out, in], bias?)`: `x @ weight.T`. A mismatch is reported as the
 * folded mm PyTorch runs: `mat1 and mat2 shapes cannot be multiplied ((B*T)x512 and 256x10)`.
 */
export function linearShape(ctx: OpContext, call: OpCall, x: TensorValue | undefined, inFeatures: Dim, outFeatures: Dim, subject: 'arg0' | 'self' = 'arg0'): TensorValue {
  const dx = dimsOf(x);
  const dtype = x?.dtype;
  if (!dx || dx.length === 0) return tensorOf(undefined, dtype);
  const k = dx[dx.length - 1];
  if (compareDims(k, inFeatures) === 'different') {
    const rows = dx.length === 1 ? constDim(1) : product(dx.slice(0, -1));
    ctx.report({ code: MATMUL_TORCH, args: [mat(rows, k), mat(inFeatures, outFeatures)], subject, dims: symNames([...dx, inFeatures, outFeatures]) }, call);
    return tensorOf(undefined, dtype);
  }
  return tensorOf({ dims: [...dx.slice(0, -1), outFeatures] }, dtype);
}

function linear(ctx: OpContext, call: OpCall): Value {
  const x = asTensor(call.self?.value);
  const w = asTensor(call.args[0]?.value);
  const dw = dimsOf(w);
  if (!dw || dw.length !== 2) return tensorOf(undefined, x?.dtype);
  return linearShape(ctx, call, x, dw[1], dw[0], 'self');
}

export function linalgOps(profile: 'torch' | 'tfjs'): Record<string, OpEntry> {
  const both = { method: true, func: true, selfFirst: true };
  if (profile === 'tfjs') return { matMul: { fn: matmul, ...both }, dot: { fn: matmul, ...both } };
  return {
    matmul: { fn: matmul, ...both },
    mm: { fn: mm, ...both },
    bmm: { fn: bmm, ...both },
    dot: { fn: matmul, ...both },
    linear: { fn: linear, func: true, selfFirst: true },
  };
}
