// The kernel paths a bitwise comparison of two ways of computing must cover (staged against in
// place, shared memory against private), as random cases, and a helper to put a tensor in engine memory.
import type { Engine } from '../../compute/engine';
import type { Tensor } from '../../compute/types';
import type { CaseSpec } from './randomCases';

export const BASE_CASE: Omit<CaseSpec, 'shape'> = {
  name: '', fn: 'cross_entropy', prob: false, weighted: false, ignoreIndex: -100, reduction: 'mean', eps: 0,
  logProb: false, values: 'normal', dtype: 'float32',
};

/** Every kernel path: fused index (unweighted, weighted with ignored items), smoothing, probability
 * targets, nll_loss, log_prob, float64, hostile values. */
export const PATH_VARIANTS: readonly Partial<CaseSpec>[] = [
  {},
  { weighted: true, ignoreIndex: 2 },
  { eps: 0.1, weighted: true },
  { prob: true },
  { prob: true, eps: 0.3, weighted: true },
  { fn: 'nll_loss', weighted: true },
  { logProb: true },
  { logProb: true, prob: true },
  { dtype: 'float64', weighted: true },
  { dtype: 'float64', logProb: true, prob: true },
  { values: 'hostile' },
  { values: 'hostile', eps: 0.1 },
];

/** A copy of `t` allocated by `engine` (in its memory: the zero-copy path, read in place). */
export function resident(engine: Engine, t: Tensor): Tensor {
  const r = engine.allocTensor(t.shape, t.dtype);
  (r.data as unknown as { set(a: ArrayLike<unknown>): void }).set(t.data as ArrayLike<unknown>);
  return r;
}

/**
 * The bytes of a result array as hex, every NaN written as the canonical one. Which NaN an
 * operation on NaNs returns is not fixed by WebAssembly: x86 returns the first NaN operand of an
 * add, and V8's baseline and optimizing tiers may order the operands of the same add differently,
 * so a row holding a NaN logit and an inf − inf gives +NaN or −NaN depending on which tier ran
 * (seen: the same kernel, staged and in place, one call apart). No caller can tell NaNs apart.
 */
export function nanCanonicalBits(a: Float32Array | Float64Array | undefined): string {
  if (a === undefined) return 'none';
  const c = a.slice();
  c.forEach((v, i) => { if (Number.isNaN(v)) c[i] = NaN; });
  return Buffer.from(c.buffer).toString('hex');
}

