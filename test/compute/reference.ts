// A float64 reference of PyTorch's cross_entropy / nll_loss (ce-semantics §1.3), written for clarity:
// one item at a time, exp/log in double, no shortcuts. The engine is tested against it.

export interface RefCall {
  fn: 'cross_entropy' | 'nll_loss';
  /** input values in C order, and its shape ((C), (N, C) or (N, C, d…)) */
  x: ArrayLike<number>;
  shape: readonly number[];
  /** index targets (N·S values) or, when `prob`, probability targets of the input's shape */
  target: ArrayLike<number>;
  prob: boolean;
  weight?: ArrayLike<number>;
  ignoreIndex: number;
  reduction: 'mean' | 'sum' | 'none';
  eps: number;
}

export interface RefResult {
  /** per-item losses ('none'), always computed */
  values: Float64Array;
  /** reduced value for mean / sum */
  loss: number | null;
  /** log_softmax of the input, same layout */
  logProb: Float64Array;
}

export function referenceLoss(c: RefCall): RefResult {
  const shape = c.shape;
  const N = shape.length === 1 ? 1 : shape[0]!;
  const C = shape.length === 1 ? shape[0]! : shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const at = (n: number, cls: number, p: number) => (n * C + cls) * S + p;
  const w = (cls: number) => c.weight ? c.weight[cls]! : 1;
  const values = new Float64Array(N * S);
  const logProb = new Float64Array(N * C * S);
  const eps = Math.max(0, c.eps);
  let sum = 0;
  let denom = 0;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < S; p++) {
      const i = n * S + p;
      // log_softmax in double (NaN never wins the max but poisons the sum, as in PyTorch)
      let m = -Infinity;
      for (let k = 0; k < C; k++) { const v = c.x[at(n, k, p)]!; if (v > m) m = v; }
      let s = 0;
      for (let k = 0; k < C; k++) s += Math.exp(c.x[at(n, k, p)]! - m);
      const ls = Math.log(s);
      const lp = (k: number) => c.fn === 'nll_loss' ? c.x[at(n, k, p)]! : (c.x[at(n, k, p)]! - m) - ls;
      for (let k = 0; k < C; k++) logProb[at(n, k, p)] = (c.x[at(n, k, p)]! - m) - ls;
      if (c.prob) {
        let l = 0;
        for (let k = 0; k < C; k++) {
          const t = eps > 0 ? c.target[at(n, k, p)]! * (1 - eps) + eps / C : c.target[at(n, k, p)]!;
          l -= lp(k) * t * w(k);
        }
        values[i] = l;
        sum += l;
        denom += 1;
        continue;
      }
      const t = c.target[i]!;
      if (t === c.ignoreIndex) { values[i] = 0; continue; }
      let l = -w(t) * lp(t);
      if (eps > 0) {
        let smooth = 0;
        for (let k = 0; k < C; k++) smooth -= lp(k) * w(k);
        l = (1 - eps) * l + (eps / C) * smooth;
      }
      values[i] = l;
      sum += l;
      denom += w(t);
    }
  }
  let loss: number | null = null;
  if (c.reduction === 'sum') loss = sum;
  else if (c.reduction === 'mean') loss = N * S === 0 ? NaN : sum / denom;
  return { values, loss, logProb };
}
