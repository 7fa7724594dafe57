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
