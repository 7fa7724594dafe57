// Matrix products: torch `matmul` / `mm` / `bmm` / `linear`, TF.js `matMul` / `dot`.

import { compareDims, constDim, formatDim, mulDims, UNKNOWN_DIM, type Dim } from '../dims';
import type { TensorValue, Value } from '../values';
import { broadcastDims, promote } from './elementwise';
import { asBool, asTensor, MATMUL_TFJS, MATMUL_TORCH, rankOf, tensorOf, tfjsShapeText, type OpCall, type OpContext, type OpEntry } from './types';

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
 * torch.matmul's cases: 1-D·1-D dot → []; 2-D·2-D mm; N-D·2-D folds the batch into rows (so the
 * message shows `(B*T)x512`); 1-D operands get a dim prepended/appended and removed; batched
 * N-D·N-D broadcasts the batch dims. The mismatch message is PyTorch's `mat1 and mat2 shapes cannot
 * be multiplied (8x512 and 256x10)` for the mm-shaped cases; batched mismatches stay quiet
 * (their messages vary by path) but the result is unknown.
 */
export function matmulTorch(ctx: OpContext, call: OpCall, a: TensorValue | undefined, b: TensorValue | undefined, subject: 'arg0' | 'self' = 'arg0'): TensorValue {
  const dtype = promote(a?.dtype, b?.dtype);
  const da = dimsOf(a), db = dimsOf(b);
  if (!da || !db || da.length === 0 || db.length === 0) return tensorOf(undefined, dtype);
  const k1 = da[da.length - 1];
  const k2 = db.length === 1 ? db[0] : db[db.length - 2];
  const c = compareDims(k1, k2);
  if (c === 'different') {
    if (da.length >= 2 && db.length === 2) {
      ctx.report({ code: MATMUL_TORCH, args: [mat(product(da.slice(0, -1)), k1), mat(db[0], db[1])], subject, dims: symNames([...da, ...db]) }, call);
    }
    return tensorOf(undefined, dtype);
  }
  if (da.length === 1 && db.length === 1) return tensorOf({ dims: [] }, dtype);
  if (da.length === 1) return tensorOf({ dims: [...db.slice(0, -2), db[db.length - 1]] }, dtype);
  if (db.length === 1) return tensorOf({ dims: da.slice(0, -1) }, dtype);
  const batch = broadcastDims(da.slice(0, -2), db.slice(0, -2));
  if ('conflict' in batch) return tensorOf(undefined, dtype);
  return tensorOf({ dims: [...batch.dims, da[da.length - 2], db[db.length - 1]] }, dtype);
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
    mm: { fn: matmul, ...both },
    bmm: { fn: matmul, ...both },
    dot: { fn: matmul, ...both },
    linear: { fn: linear, func: true, selfFirst: true },
  };
}
