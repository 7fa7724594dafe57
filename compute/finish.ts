// Turning per-block partial sums into PyTorch's (or TF.js's) reduced loss, and the fixed block
// partition that makes the result independent of how many workers computed it.
//
// Every kernel call covers one block of items and yields three f64 numbers: the sum of its per-item
// losses, the sum of the weights PyTorch divides a mean by, and the count of non-ignored items. The
// blocks depend only on the plan's shape; the engine and the pools add block results in block order,
// so one thread and eight give bit-identical losses.

import type { BlockResults } from './engine';
import type { LossPlan } from './semantics';
import { TfjsError, TorchError, type EngineKind, type LossResult, type Tensor } from './types';

/**
 * rowsT4 up to this many classes, rowsLong above. Interleaved A/B (relaxed SIMD, median of 21, data
 * in cache, quiet): t4 wins clearly at C ≤ 128 (2.19 vs 2.01 G el/s at 128, 1.95 vs 1.15 at 32), the
 * two tie at 176–192, rowsLong (its next row's max taken in the exp loop) wins from 208 on (5% at 256).
 */
export const T4_MAX_C = 184;

/** What of a plan its block partition depends on. */
export type BlockPlan = Pick<LossPlan, 'layout' | 'C' | 'S' | 'kind' | 'eps' | 'returnLogProb' | 'dtype'>;

/**
 * Whether a plan takes the fused SIMD kernels (rowsT4, rowsLong, spatial) where there is SIMD:
 * float32 logits, index targets, no label smoothing, no log_prob output. The others take row
 * statistics, then a consumer per item.
 */
export function fusedKernels(plan: Pick<LossPlan, 'kind' | 'eps' | 'returnLogProb' | 'dtype'>): boolean {
  return plan.kind === 'index' && plan.eps === 0 && !plan.returnLogProb && plan.dtype === 'float32';
}

/** Whether a plan's rows go through rowsLong where there is SIMD: fused, more than T4_MAX_C classes. */
export function longRows(plan: BlockPlan): boolean {
  return plan.layout === 'rows' && plan.C > T4_MAX_C && fusedKernels(plan);
}

/**
 * Items per block. Rows: a multiple of 4 (rowsT4's group), ≈ 128k logits (512 KB of float32,
 * half of a 1 MB L2): a staged block is copied in and then computed while it is in cache; against
 * 64k, in one process from a plain Float32Array, [4096, 1000] took 6% less time and 256k was 7%
 * slower again (measured before rowsLong carried the next row's max). rowsLong's rows (C > T4_MAX_C):
 * ≈ 32k logits (128 KB), at least one row. Its staging ring holds a block and the row after it, and
 * the copy streams the source through the same L2: with 4-row blocks at C = 32000 (a 640 KB ring)
 * the copy evicted part of the staged rows. Interleaved in one process, from a plain array, against
 * 128k: [512, 32000] −4 to −9%, [160, 100000] −8%, [4096, 4000] −6%, [65536, 256] −3%, [4096, 1000]
 * 0 to −4%; in place +2% (more kernel calls); 16k: no better, 48k: about the same. The other row
 * kernels keep 128k (label smoothing at [512, 32000] ran 4–5% slower in 128 KB blocks). Pixels: up
 * to ≈ 1M logits (4 MB), as the spatial kernel's max pass rides along the sums and hides the
 * misses, and each class plane's run is longer: from a plain array, against 128k, [8, 21, 512, 512]
 * −9%, [4, 150, 128, 128] −30% (872-pixel runs before), [16, 7, 256, 256] −4%, [16, 3, 512, 512]
 * ±1% (2M: no better). An image of S pixels is cut into
 * equal blocks (the last shorter by under 4 per block), not full ones and a remnant, so a pool's
 * shards and their workspaces come out alike.
 */
export function blockItems(plan: BlockPlan): number {
  const { C, S } = plan;
  if (plan.layout === 'rows') return longRows(plan) ? Math.max(1, Math.floor((1 << 15) / C)) : Math.max(4, Math.floor((1 << 17) / Math.max(1, C)) & ~3);
  const most = Math.max(4, Math.floor((1 << 20) / Math.max(1, C)) & ~3);
  if (S <= most) return most;
  return Math.ceil(S / Math.ceil(S / most) / 4) * 4;
}

/** A block: image `image` (0 for rows), items [start, end) of that image (rows: of the batch). */
export interface Block {
  readonly image: number;
  readonly start: number;
  readonly end: number;
}

/** The plan's blocks in order. Rows: runs of rows. Spatial: runs of pixels that never cross an image. */
export function* blocksOf(plan: Pick<LossPlan, 'layout' | 'N' | 'S'>, B: number): Generator<Block> {
  if (plan.layout === 'rows') {
    for (let s = 0; s < plan.N; s += B) yield { image: 0, start: s, end: Math.min(plan.N, s + B) };
    return;
  }
  for (let n = 0; n < plan.N; n++) {
    for (let s = 0; s < plan.S; s += B) yield { image: n, start: s, end: Math.min(plan.S, s + B) };
  }
}

export function blockCount(plan: Pick<LossPlan, 'layout' | 'N' | 'S'>, B: number): number {
  if (plan.layout === 'rows') return Math.ceil(plan.N / B);
  return plan.N * Math.ceil(plan.S / B);
}

/** Adds the partials ([loss, weight, count] per block) in block order. */
export function sumPartials(partials: Float64Array): { loss: number; weight: number; count: number } {
  let loss = 0, weight = 0, count = 0;
  for (let i = 0; i + 2 < partials.length; i += 3) {
    loss += partials[i]!;
    weight += partials[i + 1]!;
    count += partials[i + 2]!;
  }
  return { loss, weight, count };
}

/** Rounds to the plan's dtype (PyTorch returns the input's dtype). */
const toDtype = (plan: LossPlan, v: number) => plan.dtype === 'float32' ? Math.fround(v) : v;

/** The reduced torch loss for 'mean' / 'sum' (ce-semantics §1.3), or null for 'none'. */
export function finishTorch(plan: LossPlan, partials: Float64Array): number | null {
  if (plan.reduction === 'none') return null;
  const { loss, weight } = sumPartials(partials);
  if (plan.reduction === 'sum') return toDtype(plan, loss);
  // mean. An empty target is NaN (PyTorch fills it explicitly). Index targets divide by the
  // total weight of the non-ignored items (0/0 = NaN when all are ignored); probability targets
  // by N·d1·…·dK, whatever the weights.
  if (plan.items === 0 || plan.C === 0 && plan.kind === 'prob') return NaN;
  return toDtype(plan, loss / (plan.kind === 'prob' ? plan.items : weight));
}

/**
 * A PyTorch-mode result from block results, wherever they were computed (one engine or a pool):
 * the first bad target is PyTorch's IndexError, else the reduced loss and the per-item values.
 */
export function torchResult(plan: LossPlan, r: BlockResults, elapsedMs: number, engine: EngineKind): LossResult {
  if (r.badTarget) throw new TorchError('IndexError', `Target ${r.badTarget.value} is out of bounds.`);
  return {
    loss: finishTorch(plan, r.partials),
    shape: plan.reduction === 'none' ? plan.itemShape : [],
    values: r.values,
    logProb: r.logProb,
    elapsedMs,
    engine,
    dtype: plan.dtype,
  };
}

/** TF.js reductions over the per-example losses (ce-semantics §4.1 `computeWeightedLoss`). */
export function finishTfjs(plan: LossPlan, partials: Float64Array, values: Float32Array | undefined,
                           weights: Tensor | undefined): { loss: number | null; shape: readonly number[]; values?: Float32Array } {
  const lossShape = plan.itemShape;
  const size = plan.items;
  const red = plan.tfjsReduction ?? 'SUM_BY_NONZERO_WEIGHTS';
  if (!weights) {
    if (red === 'NONE') return { loss: null, shape: lossShape, values };
    const { loss } = sumPartials(partials);
    const r = red === 'SUM' ? loss : loss / size;
    return { loss: Math.fround(r), shape: [] };
  }
  if (!values) throw new Error('internal: TF.js weights need the per-example losses');
  const w = weightsAsNumbers(weights);
  const { shape, data } = broadcastMultiply(lossShape, values, weights.shape, w);
  if (red === 'NONE') return { loss: null, shape, values: data };
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  if (red === 'SUM') return { loss: Math.fround(sum), shape: [] };
  if (red === 'MEAN') {
    let wsum = 0;
    for (let i = 0; i < w.length; i++) wsum += w[i]!;
    const broadcastFactor = size / w.length;
    let r = Math.fround(Math.fround(sum) / Math.fround(wsum));
    if (broadcastFactor > 1) r = Math.fround(r / broadcastFactor);
    return { loss: r, shape: [] };
  }
  // SUM_BY_NONZERO_WEIGHTS: count the weights broadcast against ones(losses.shape)
  const ones = new Float32Array(size).fill(1);
  const b = broadcastMultiply(lossShape, ones, weights.shape, w);
  let nonzero = 0;
  for (let i = 0; i < b.data.length; i++) if (b.data[i] !== 0) nonzero++;
  return { loss: Math.fround(Math.fround(sum) / nonzero), shape: [] };
}

function weightsAsNumbers(t: Tensor): Float64Array {
  if (t.dtype === 'float16' || t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
    throw new TfjsError(`Argument 'weights' passed to 'softmaxCrossEntropy' must be float32 or int32, got ${t.dtype}`);
  }
  return Float64Array.from(t.data as ArrayLike<number>, v => Math.fround(v));
}

/** TF.js broadcasting (numpy rules), f32 products: `mul(losses, weights)`. */
function broadcastMultiply(aShape: readonly number[], a: ArrayLike<number>, bShape: readonly number[], b: ArrayLike<number>): { shape: number[]; data: Float32Array } {
  const rank = Math.max(aShape.length, bShape.length);
  const pa = [...Array(rank - aShape.length).fill(1), ...aShape] as number[];
  const pb = [...Array(rank - bShape.length).fill(1), ...bShape] as number[];
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) {
      throw new TfjsError(`Operands could not be broadcast together with shapes ${aShape.join(',')} and ${bShape.join(',')}.`);
    }
    shape.push(pa[i] === 1 ? pb[i]! : pa[i]!);
  }
  const total = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(total);
  const stridesOf = (p: number[]) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) { s[i] = p[i] === 1 ? 0 : acc; acc *= p[i]!; }
    return s;
  };
  const sa = stridesOf(pa), sb = stridesOf(pb);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < total; k++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < rank; d++) { ia += idx[d]! * sa[d]!; ib += idx[d]! * sb[d]!; }
    data[k] = a[ia]! * b[ib]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape, data };
}
