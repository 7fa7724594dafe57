// Seeded random and hostile cases for the engine against the float64 reference: every size at the
// SIMD width boundaries (C, spatial sizes and batch 1…2·lanes+1 = 9), the kernel switch points
// (C = 184/185 where rowsT4 hands over to rowsLong, its 512-float chunks, the spatial kernel's
// 512-pixel tiles), every option combination. Runtime-neutral so a child process with
// --experimental-wasm-relaxed-simd can run it against the relaxed build (relaxedChild.mjs).
import type { Engine } from '../../compute/engine';
import type { LossOptions, Tensor } from '../../compute/types';
import { referenceLoss, type RefCall } from './reference';
import { mulberry32 } from '../../compute/random';

export interface CaseFailure { name: string; detail: string }
export interface SuiteReport { cases: number; failures: CaseFailure[]; maxElemErr: number; maxReducedErr: number }

/** Seeded uniform [0, 1) numbers (mulberry32). */
export const rng = mulberry32;

/** Relative error scaled so that values below 1 are compared absolutely. */
const err = (a: number, e: number) => Math.abs(a - e) / Math.max(1, Math.abs(e));
const sameSpecial = (a: number, e: number) => Number.isNaN(e) ? Number.isNaN(a) : a === e;

export interface CaseSpec {
  name: string;
  fn: 'cross_entropy' | 'nll_loss';
  shape: number[];
  prob: boolean;
  weighted: boolean;
  ignoreIndex: number;
  reduction: 'mean' | 'sum' | 'none';
  eps: number;
  logProb: boolean;
  /**
   * logits generator: 'normal' (scale 3), 'hostile' (±1e30, ±inf, NaN sprinkled), 'large' (1000 + 30·noise),
   * 'huge' (each row offset by one of HUGE_OFFSETS + 30·noise: rowsLong's fused exp up to |max| 2^20, unfused beyond)
   */
  values: 'normal' | 'hostile' | 'large' | 'huge';
  dtype: 'float32' | 'float64';
}

/** Row offsets of the 'huge' cases: either side of 2^20 (where rowsLong's exp stops fusing the max in), up to ±3e38. */
const HUGE_OFFSETS = [0, 1048500, -1048500, 1048600, 2.5e6, -3e7, 3e38, -3e38];

export function makeCase(spec: CaseSpec, seed: number): { call: RefCall; input: Tensor; target: Tensor; options: LossOptions } {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const shape = spec.shape;
  const N = shape.length === 1 ? 1 : shape[0]!;
  const C = shape.length === 1 ? shape[0]! : shape[1]!;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const numel = N * C * S;
  const F = spec.dtype === 'float64' ? Float64Array : Float32Array;
  const x = new F(numel);
  for (let i = 0; i < numel; i++) {
    let v = spec.values === 'large' ? 1000 + 30 * normal()
      : spec.values === 'huge' ? HUGE_OFFSETS[Math.floor(i / (C * S)) % HUGE_OFFSETS.length]! + 30 * normal() : 3 * normal();
    if (spec.fn === 'nll_loss') v = -Math.abs(v);
    if (spec.values === 'hostile') {
      const u = r();
      if (u < 0.04) v = 1e30; else if (u < 0.08) v = -1e30; else if (u < 0.11) v = -Infinity;
      else if (u < 0.12) v = Infinity; else if (u < 0.13) v = NaN;
    }
    x[i] = v;
  }
  let target: Tensor;
  let tvals: Float64Array | number[];
  const itemShape = shape.length === 1 ? [] : [shape[0]!, ...shape.slice(2)];
  if (spec.prob) {
    const y = new F(numel);
    for (let i = 0; i < numel; i++) y[i] = r() < 0.3 ? 0 : r();
    target = { dtype: spec.dtype, shape, data: y };
    tvals = Array.from(y);
  } else {
    const t = new BigInt64Array(N * S);
    tvals = [];
    for (let i = 0; i < N * S; i++) {
      const v = r() < 0.15 ? spec.ignoreIndex : Math.floor(r() * C);
      t[i] = BigInt(v);
      tvals.push(v);
    }
    target = { dtype: 'int64', shape: itemShape, data: t };
  }
  let weight: Float32Array | Float64Array | undefined;
  if (spec.weighted) {
    weight = new F(C);
    for (let c = 0; c < C; c++) weight[c] = r() < 0.1 ? 0 : r() * 2;
  }
  const call: RefCall = {
    fn: spec.fn, x: Array.from(x), shape, target: tvals, prob: spec.prob,
    weight: weight ? Array.from(weight) : undefined, ignoreIndex: spec.ignoreIndex, reduction: spec.reduction, eps: spec.eps,
  };
  const options: LossOptions = {
    weight: weight ? { dtype: spec.dtype, shape: [C], data: weight } : undefined,
    ignoreIndex: spec.prob ? -100 : spec.ignoreIndex, reduction: spec.reduction, labelSmoothing: spec.eps, returnLogProb: spec.logProb,
  };
  return { call, input: { dtype: spec.dtype, shape, data: x }, target, options };
}

/** Runs one case; returns a failure description or undefined, and the errors seen. */
export function checkCase(engine: Engine, spec: CaseSpec, seed: number, tol: { elem: number; reduced: number }):
  { failure?: string; elemErr: number; reducedErr: number } {
  const { call, input, target, options } = makeCase(spec, seed);
  const ref = referenceLoss(call);
  const res = spec.fn === 'nll_loss' ? engine.nllLoss(input, target, options) : engine.crossEntropy(input, target, options);
  let elemErr = 0, reducedErr = 0;
  if (spec.reduction === 'none') {
    const v = res.values!;
    if (v.length !== ref.values.length) return { failure: `values length ${v.length} ≠ ${ref.values.length}`, elemErr, reducedErr };
    for (let i = 0; i < v.length; i++) {
      const e = inDtype(ref.values[i]!, spec.dtype);
      if (!Number.isFinite(e)) {
        if (!sameSpecial(v[i]!, e)) return { failure: `value[${i}] = ${v[i]} ≠ ${e}`, elemErr, reducedErr };
        continue;
      }
      const d = err(v[i]!, e);
      elemErr = Math.max(elemErr, d);
      if (!(d <= tol.elem)) return { failure: `value[${i}] = ${v[i]} vs ${e} (err ${d.toExponential(2)})`, elemErr, reducedErr };
    }
  } else {
    const e = inDtype(ref.loss!, spec.dtype);
    if (!Number.isFinite(e)) {
      if (!sameSpecial(res.loss!, e)) return { failure: `loss ${res.loss} ≠ ${e}`, elemErr, reducedErr };
    } else {
      reducedErr = err(res.loss!, e);
      // the result is rounded to the input's dtype: allow half an ulp of float32 on top
      const allowed = tol.reduced + (spec.dtype === 'float32' ? 2 ** -24 : 0);
      if (!(reducedErr <= allowed)) return { failure: `loss ${res.loss} vs ${e} (err ${reducedErr.toExponential(2)})`, elemErr, reducedErr };
    }
  }
  if (spec.logProb) {
    const lp = res.logProb!;
    for (let i = 0; i < lp.length; i++) {
      const e = ref.logProb[i]!;
      if (!Number.isFinite(e)) {
        if (!sameSpecial(lp[i]!, e)) return { failure: `logProb[${i}] = ${lp[i]} ≠ ${e}`, elemErr, reducedErr };
        continue;
      }
      const d = err(lp[i]!, e);
      if (!(d <= tol.elem)) return { failure: `logProb[${i}] = ${lp[i]} vs ${e} (err ${d.toExponential(2)})`, elemErr, reducedErr };
    }
  }
  return { elemErr, reducedErr };
}

/** A reference value as a result of the input's dtype holds it: beyond float32's range, ±inf. */
const inDtype = (e: number, dtype: CaseSpec['dtype']) => dtype === 'float32' && !Number.isFinite(Math.fround(e)) ? Math.fround(e) : e;

const specName = (s: CaseSpec) =>
  `${s.fn} ${s.dtype} [${s.shape.join(',')}] ${s.prob ? 'prob' : 'index'} ${s.weighted ? 'w ' : ''}ii=${s.ignoreIndex} ${s.reduction} eps=${s.eps}${s.logProb ? ' logProb' : ''} ${s.values}`;

/** The full grid; `quick` trims it (child processes). */
export function suiteSpecs(quick = false): CaseSpec[] {
  const specs: CaseSpec[] = [];
  const reductions = ['mean', 'sum', 'none'] as const;
  const r = rng(12345);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const add = (shape: number[], values: CaseSpec['values'] = 'normal') => {
    for (const reduction of reductions) {
      const prob = r() < 0.25;
      const fn = !prob && r() < 0.2 ? 'nll_loss' : 'cross_entropy';
      specs.push({
        name: '', fn, shape, prob, weighted: r() < 0.5,
        ignoreIndex: prob ? -100 : pick([-100, -1, 0, 2, 255]),
        reduction, eps: fn === 'nll_loss' ? 0 : pick([0, 0, 0.1, 0.3, 1]), logProb: fn === 'cross_entropy' && r() < 0.25,
        values, dtype: r() < 0.1 ? 'float64' : 'float32',
      });
    }
  };
  const small = quick ? [1, 3, 4, 5, 8, 9] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
  for (const C of small) {
    add([C]);
    for (const N of small) add([N, C]);
    for (const S of small) add([2, C, S]);
  }
  for (const C of [183, 184, 185, 255, 256, 257, 511, 512, 513, 2047, 2048, 2049, 4100]) add([quick ? 3 : 6, C]);
  // rowsT4's chunks of 32 groups of 4 rows: two whole chunks and a partial one ending in a partial group, one row past a chunk, exactly one
  for (const shape of [[301, 10], [129, 3], [128, 184]]) add(shape);
  // spatial sizes at and around multiples of 16 pixels (whole and partial vectors)
  for (const S of quick ? [16, 17] : [15, 16, 17, 31, 32, 33]) add([2, 5, S]);
  for (const shape of [[3, 5, 2, 7], [2, 21, 13, 11], [1, 3, 600], [2, 4, 3, 2, 5], [5, 1, 4], [4, 1]]) add(shape);
  // the spatial kernel's 512-pixel tiles, whose max pass rides along the tile before's: two whole
  // tiles and a partial one, three whole, and a partial one after a single whole one
  for (const shape of [[2, 5, 1100], [1, 3, 1536], [1, 21, 1030], [2, 6, 530]]) add(shape);
  // (two classes: the spatial kernel's own path, whose max class's term is (m − m) + 1, NaN at ±inf)
  for (const shape of [[7, 5], [3, 9, 5], [6, 600], [1, 7, 1100], [301, 10], [3, 2, 37], [2, 2, 1100], [40, 2]]) {
    add(shape, 'hostile');
    add(shape, 'large');
  }
  for (const shape of [[8, 600], [8, 2049]]) add(shape, 'huge');
  for (const s of specs) s.name = specName(s);
  return specs;
}

export function runSuite(engine: Engine, quick = false, tol = { elem: 2e-6, reduced: 1e-6 }): SuiteReport {
  const specs = suiteSpecs(quick);
  const failures: CaseFailure[] = [];
  let maxElemErr = 0, maxReducedErr = 0;
  specs.forEach((spec, i) => {
    try {
      const r = checkCase(engine, spec, 1000 + i, tol);
      maxElemErr = Math.max(maxElemErr, r.elemErr);
      maxReducedErr = Math.max(maxReducedErr, r.reducedErr);
      if (r.failure) failures.push({ name: spec.name, detail: r.failure });
    } catch (e) {
      failures.push({ name: spec.name, detail: `threw ${String(e)}` });
    }
  });
  return { cases: specs.length, failures, maxElemErr, maxReducedErr };
}
