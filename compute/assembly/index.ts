// Cross-entropy kernels (AssemblyScript → wasm): SIMD kernels by shape, scalar generic kernels, target conversion.
//
// Layout and conventions (the TypeScript host in compute/engine.ts owns all memory):
// - All pointers are byte offsets into the exported linear memory.
// - "Items" are the positions a loss is computed for: rows of an [N, C] input, or the pixels of one
//   image of an [N, C, S] input (S = d1·…·dK). An element is addressed as
//   base + item·itemStride + class·classStride (in elements): rows have (C, 1), pixels (1, S).
// - Targets reach the kernels as i32 class indices already validated by convertTargets*: every
//   value is in [0, C) or −1, which means "ignored" (PyTorch's ignore_index, of any int64 value).
// - Every kernel returns the f64 sum of its per-item losses and leaves the f64 sum of weights
//   (PyTorch's total_weight) and the count of non-ignored items in globals. The host calls a kernel
//   once per fixed block of items and adds the block sums in block order, so the reduced result does
//   not depend on how the items are split across workers.
// - SIMD kernels over-read: up to 3 rows + 16 bytes past the logits and 16 bytes past the targets.
//   The host leaves that much readable slack after each buffer; over-read lanes are masked out.
//
// Numerics (error bounds against exact arithmetic on the f32 inputs):
// - exp on x − max ≤ 0 (vexp: the relaxed build's few-class and spatial kernels): reduction
//   x = n·ln2 + r (Cody–Waite with a two-part ln2; one fused step in the relaxed build), e^r = 1 + r +
//   r²·q(r) with a cubic q fitted minimax (see E0–E3), 2^n built in the exponent bits. Measured on
//   dense grids (test/compute/exp.test.ts, via expLanes): with the two-part ln2 (the SIMD build's
//   expLanes) ≤ 2.2 ulp over [−80, 0]; the relaxed build ≤ 2.4 ulp for x ≥ −8 (the terms that carry a
//   row's sum) and up to 4.8 ulp towards −80, the one-word ln2's error growing with |n| (terms
//   below e^−8 of the row's largest, where 5 ulp is < 1e−10 of the sum). Inputs are clamped at −80
//   so no intermediate is subnormal (subnormals are ~3× slower on x86 and e^−80 ≈ 1.8e−35 is
//   invisible next to a row sum ≥ 1).
// - rowsLong's exp (vexpRow; in the SIMD build also rowsT4's and spatial's, through vexpItem) works
//   in base 2: t = x·log2e − M, M = fl(max·log2e), in one fused step
//   (relaxed build, |max| ≤ 2^20; else t = (x − max)·log2e), 2^f by a degree-5 fit (≤ 2.1 ulp).
//   t's one rounding errs by ≤ |t|·2^−24, so a term is within 2.4·2^−24·(1 + |x − max|) of
//   e^(x − max + c) (test/compute/exp.test.ts, via rowExpLanes): at most 2^−24/e of the row's
//   largest term, absolute. Every fused term carries e^c, c = (max·log2e − M)·ln2, exactly known;
//   the row's log subtracts it in f64.
// - log of the row sum (≥ 1): degree-7 polynomial after splitting off the exponent (v_logf); ≤ 3.5 ulp.
// - The per-item loss is ls + (max − x[t]) in f32, which is bit-for-bit PyTorch's −((x[t] − max) − ls).
//   Its absolute error is a few ulp of max(ls, |max − x[t]|); sums of exp add in f32 lanes (rowsT4
//   and spatial: 2–4 accumulators over the item's classes; rowsLong: one vector per 512-float chunk,
//   each chunk then added in f64), relative error ≤ C·2^−24 in the worst case, ~√C·2^−24 typically,
//   the same order as PyTorch's own f32 sums. All reductions over items are accumulated in f64.

// ---------------------------------------------------------------------------------------------
// Result globals (read by the host through the exported getters).

let gWeightSum: f64 = 0;
let gCount: i32 = 0;

export function weightSum(): f64 { return gWeightSum; }
export function count(): i32 { return gCount; }
export function heapBase(): usize { return __heap_base; }
/** 1 when this module was built with SIMD, 2 with relaxed SIMD, 0 scalar. */
export function simdLevel(): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 2;
  if (ASC_FEATURE_SIMD) return 1;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Target conversion: int64 / int32 / uint8 class indices → i32 with −1 for ignored items.
// Returns the index of the first target (in memory order) that is neither ignore_index nor in
// [0, C), or −1 when all are valid: PyTorch raises "Target k is out of bounds." for that one.

export function convertTargetsI64(src: usize, dst: usize, n: i32, C: i32, ignoreIndex: i64): i32 {
  let i = 0;
  if (ASC_FEATURE_SIMD) i = convertI64Simd(src, dst, n, C, ignoreIndex);
  for (; i < n; i++) {
    const t = load<i64>(src + (<usize>i << 3));
    let v: i32 = -1;
    if (t != ignoreIndex) {
      if (<u64>t >= <u64>C) return i;
      v = <i32>t;
    }
    store<i32>(dst + (<usize>i << 2), v);
  }
  return -1;
}

/**
 * Four targets per step: −1 where equal to ignore_index, else the value when 0 ≤ t < C. Stops at the
 * first group holding an invalid target and returns its start, so the scalar loop finds the exact
 * index (and the targets before it are converted either way). Writes 16 bytes per step (dst slack).
 */
function convertI64Simd(src: usize, dst: usize, n: i32, C: i32, ignoreIndex: i64): i32 {
  if (ASC_FEATURE_SIMD) {
    const ign = i64x2.splat(ignoreIndex);
    const cv = i64x2.splat(<i64>C);
    const zero = i64x2.splat(0);
    const minus1 = i64x2.splat(-1);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a = v128.load(src + (<usize>i << 3));
      const b = v128.load(src + (<usize>i << 3), 16);
      const ia = i64x2.eq(a, ign), ib = i64x2.eq(b, ign);
      // valid: ignored, or 0 ≤ t < C (t < 0 fails the first test, t ≥ C the second)
      const okA = v128.or(ia, v128.andnot(i64x2.lt_s(a, cv), i64x2.lt_s(a, zero)));
      const okB = v128.or(ib, v128.andnot(i64x2.lt_s(b, cv), i64x2.lt_s(b, zero)));
      if (!i64x2.all_true(v128.and(okA, okB))) return i;
      const ra = v128.bitselect(minus1, a, ia), rb = v128.bitselect(minus1, b, ib);
      v128.store(dst + (<usize>i << 2), i32x4.shuffle(ra, rb, 0, 2, 4, 6));
    }
    return i;
  }
  return 0;
}

export function convertTargetsI32(src: usize, dst: usize, n: i32, C: i32, ignoreIndex: i64): i32 {
  let i = 0;
  // an ignore_index outside int32 can never equal an int32 target
  if (ASC_FEATURE_SIMD && ignoreIndex >= <i64>i32.MIN_VALUE && ignoreIndex <= <i64>i32.MAX_VALUE) {
    i = convertI32Simd(src, dst, n, C, <i32>ignoreIndex);
  }
  for (; i < n; i++) {
    const t = <i64>load<i32>(src + (<usize>i << 2));
    let v: i32 = -1;
    if (t != ignoreIndex) {
      if (<u64>t >= <u64>C) return i;
      v = <i32>t;
    }
    store<i32>(dst + (<usize>i << 2), v);
  }
  return -1;
}

/** As convertI64Simd for int32 targets (4 per step). */
function convertI32Simd(src: usize, dst: usize, n: i32, C: i32, ignoreIndex: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    const ign = i32x4.splat(ignoreIndex);
    const cv = i32x4.splat(C);
    const minus1 = i32x4.splat(-1);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const a = v128.load(src + (<usize>i << 2));
      const ia = i32x4.eq(a, ign);
      // unsigned a < C is 0 ≤ a < C for signed a
      const ok = v128.or(ia, i32x4.lt_u(a, cv));
      if (!i32x4.all_true(ok)) return i;
      v128.store(dst + (<usize>i << 2), v128.bitselect(minus1, a, ia));
    }
    return i;
  }
  return 0;
}

export function convertTargetsU8(src: usize, dst: usize, n: i32, C: i32, ignoreIndex: i64): i32 {
  for (let i = 0; i < n; i++) {
    const t = <i64>load<u8>(src + <usize>i);
    let v: i32 = -1;
    if (t != ignoreIndex) {
      if (<u64>t >= <u64>C) return i;
      v = <i32>t;
    }
    store<i32>(dst + (<usize>i << 2), v);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Scalar generic kernels, instantiated for f32 and f64 inputs. They are the whole engine in the
// scalar build, the float64 engine in every build, and the second phase (after row statistics)
// for label smoothing, probability targets and log_prob output in the SIMD builds.
// exp/log run in f64 (correctly rounded to well under 1 ulp of f32); sums are f64.

@inline function elemSize<T>(): usize { return sizeof<T>(); }

/** Row statistics: m[i] = max over classes, ls[i] = log Σ exp(x − m), for items [0, n). */
function statsScalar<T>(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize): void {
  const es = elemSize<T>();
  const cs = <usize>classStride * es;
  for (let i = 0; i < n; i++) {
    const base = xp + <usize>i * <usize>itemStride * es;
    // NaN never wins the max (like PyTorch's vectorised max); it reaches the sum below instead.
    let m: T = <T>-Infinity;
    for (let c = 0; c < C; c++) {
      const v = load<T>(base + <usize>c * cs);
      if (v > m) m = v;
    }
    let s: f64 = 0;
    for (let c = 0; c < C; c++) s += Math.exp(<f64>(load<T>(base + <usize>c * cs) - m));
    store<T>(mp + (<usize>i) * es, m);
    store<T>(lsp + (<usize>i) * es, <T>Math.log(s));
  }
}

/**
 * Index-target loss from row statistics, with optional per-class weights and label smoothing:
 *   l = (1−ε)·w[t]·(ls + (m − x[t])) + (ε/C)·Σ_c w[c]·(ls − (x[c] − m)),  0 where ignored.
 * With mp == 0 the input already holds log-probabilities (nll_loss): l = −x[t]·w[t].
 */
function indexLossScalar<T>(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32,
                            tp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, outp: usize): f64 {
  const es = elemSize<T>();
  const cs = <usize>classStride * es;
  const epsC: T = <T>(eps / <f64>C);
  const keep: T = <T>(1.0 - eps);
  let total: f64 = 0;
  let wsum: f64 = 0;
  let cnt: i32 = 0;
  for (let i = 0; i < n; i++) {
    const t = load<i32>(tp + (<usize>i << 2));
    let loss: T = 0;
    if (t >= 0) {
      const base = xp + <usize>i * <usize>itemStride * es;
      const w: T = wp ? load<T>(wp + <usize>t * es) : <T>1;
      const xt = load<T>(base + <usize>t * cs);
      if (mp == 0) {
        loss = -xt * w;
      } else {
        const m = load<T>(mp + <usize>i * es);
        const ls = load<T>(lsp + <usize>i * es);
        loss = ls + (m - xt);
        if (wp) loss = loss * w;
        if (eps > 0) {
          // −Σ_c w[c]·p[c] with p = (x − m) − ls computed in T as PyTorch's log_softmax does.
          let smooth: f64 = 0;
          for (let c = 0; c < C; c++) {
            const p: T = (load<T>(base + <usize>c * cs) - m) - ls;
            smooth -= wp ? <f64>(p * load<T>(wp + <usize>c * es)) : <f64>p;
          }
          loss = keep * loss + epsC * <T>smooth;
        }
      }
      wsum += <f64>w;
      cnt++;
    }
    if (outp) store<T>(outp + <usize>i * es, loss);
    total += <f64>loss;
  }
  gWeightSum = wsum;
  gCount = cnt;
  return total;
}

/**
 * Probability-target loss from row statistics: l = −Σ_c w[c]·t'[c]·p[c], t' = t·(1−ε) + ε/C
 * (ε = 0: t' = t), p = (x − m) − ls. `numClasses` is the ε divisor (TF.js uses labels.shape[1]).
 */
function probLossScalar<T>(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32,
                           yp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, numClasses: f64, outp: usize): f64 {
  const es = elemSize<T>();
  const cs = <usize>classStride * es;
  const keep: T = <T>(1.0 - eps);
  const epsC: T = <T>(eps / numClasses);
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i * <usize>itemStride * es;
    const m = load<T>(mp + <usize>i * es);
    const ls = load<T>(lsp + <usize>i * es);
    let acc: f64 = 0;
    for (let c = 0; c < C; c++) {
      const o = off + <usize>c * cs;
      const p: T = (load<T>(xp + o) - m) - ls;
      let y = load<T>(yp + o);
      if (eps > 0) y = y * keep + epsC;
      let term: T = p * y;
      if (wp) term = term * load<T>(wp + <usize>c * es);
      acc += <f64>term;
    }
    const loss: T = <T>(-acc);
    if (outp) store<T>(outp + <usize>i * es, loss);
    total += <f64>loss;
  }
  gWeightSum = <f64>n;
  gCount = n;
  return total;
}

/** log_softmax output, the input's layout: out = (x − m) − ls. */
function logProbScalar<T>(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize, outp: usize): void {
  const es = elemSize<T>();
  const cs = <usize>classStride * es;
  for (let i = 0; i < n; i++) {
    const off = <usize>i * <usize>itemStride * es;
    const m = load<T>(mp + <usize>i * es);
    const ls = load<T>(lsp + <usize>i * es);
    for (let c = 0; c < C; c++) {
      const o = off + <usize>c * cs;
      store<T>(outp + o, (load<T>(xp + o) - m) - ls);
    }
  }
}

export function statsF32(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize): void {
  statsScalar<f32>(xp, itemStride, classStride, C, n, mp, lsp);
}
export function statsF64(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize): void {
  statsScalar<f64>(xp, itemStride, classStride, C, n, mp, lsp);
}
export function indexLossF32(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, tp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, outp: usize): f64 {
  if (ASC_FEATURE_SIMD && eps > 0 && mp != 0) return smoothLossSimd(xp, itemStride, classStride, C, n, tp, wp, mp, lsp, eps, outp);
  return indexLossScalar<f32>(xp, itemStride, classStride, C, n, tp, wp, mp, lsp, eps, outp);
}
export function indexLossF64(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, tp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, outp: usize): f64 {
  return indexLossScalar<f64>(xp, itemStride, classStride, C, n, tp, wp, mp, lsp, eps, outp);
}
export function probLossF32(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, yp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, numClasses: f64, outp: usize): f64 {
  if (ASC_FEATURE_SIMD) return probLossSimd(xp, itemStride, classStride, C, n, yp, wp, mp, lsp, eps, numClasses, outp);
  return probLossScalar<f32>(xp, itemStride, classStride, C, n, yp, wp, mp, lsp, eps, numClasses, outp);
}
export function probLossF64(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, yp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, numClasses: f64, outp: usize): f64 {
  return probLossScalar<f64>(xp, itemStride, classStride, C, n, yp, wp, mp, lsp, eps, numClasses, outp);
}
export function logProbF32(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize, outp: usize): void {
  if (ASC_FEATURE_SIMD) logProbSimd(xp, itemStride, classStride, C, n, mp, lsp, outp);
  else logProbScalar<f32>(xp, itemStride, classStride, C, n, mp, lsp, outp);
}
export function logProbF64(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize, outp: usize): void {
  logProbScalar<f64>(xp, itemStride, classStride, C, n, mp, lsp, outp);
}

// ---------------------------------------------------------------------------------------------
// SIMD kernels (compiled only into the SIMD and relaxed-SIMD builds).

// exp/log constants, as in ARM optimized-routines v_expf / v_logf.
const LOG2E: f32 = 1.4426950216293335;       // log2(e)
// 1.5·2^23 + 127: adding it rounds to an integer n in the low mantissa bits, already biased by 127,
// so shifting the sum's bits left by 23 leaves exactly the bits of 2^n (the high bits shift out).
const SHIFT: f32 = 12583039.0;
const NEG_LN2_HI: f32 = -0.693145751953125;  // −ln2, high part (exact in 16 bits)
const NEG_LN2_LO: f32 = -0.000001428606765330187; // −ln2, low part
const NEG_LN2: f32 = -0.6931471824645996;    // −ln2 rounded to f32 (one fused step, relaxed build)
// e^r ≈ 1 + r + r²·(E3 + r·(E2 + r·(E1 + r·E0))) on [−ln2/2, ln2/2]: the Taylor terms 1 + r kept, the
// rest fitted minimax for relative error (1.05e−7, vs 1.16e−7 for v_expf's free degree-5 fit).
const E0: f32 = 0.008312526158988476;
const E1: f32 = 0.041890114545822144;
const E2: f32 = 0.16667114198207855;
const E3: f32 = 0.499992311000824;
const EXP_CLAMP: f32 = -80.0;                // keeps 2^n and poly·2^n normal (see the header)
// rowsLong's exp in base 2 (vexpRow): 2^f ≈ 1 + f·(P1 + f·(P2 + f·(P3 + f·(P4 + f·P5)))) on
// [−1/2, 1/2], fitted minimax for relative error (9.2e−8; ≤ 2.1 ulp evaluated in f32 with fused steps).
const P1: f32 = 0.6931470036506653;
const P2: f32 = 0.24022242426872253;
const P3: f32 = 0.05550733581185341;
const P4: f32 = 0.009671512991189957;
const P5: f32 = 0.0013264728477224708;
const T_CLAMP: f32 = -115.0;                 // 2^−115 ≈ e^−79.7: vexpRow's clamp, as EXP_CLAMP
// |max| up to which a row's exps subtract fl(max·log2e) inside one fused step (vexpRow): its
// rounding error (≤ 2^−4 here) is then a small exponent that the row's log corrects exactly.
const FUSED_ROW_MAX: f32 = 1048576.0;
const L1: f32 = -0.49999916553497314;
const L2: f32 = 0.33336442708969116;
const L3: f32 = -0.25009340047836304;
const L4: f32 = 0.19827896356582642;
const L5: f32 = -0.16386643052101135;
const L6: f32 = 0.16924025118350983;
const L7: f32 = -0.15549370646476746;
const LN2: f32 = 0.6931471824645996;
const LOG_OFF: i32 = 0x3f2aaaab;             // bits of 2/3: the mantissa is split into [2/3, 4/3)

// V8 (x64) materialises each v128.const with three instructions inside loops and never hoists it, so
// the constants live in this table and every kernel loads them once into locals.
const KT: usize = memory.data<f32>([
  EXP_CLAMP, EXP_CLAMP, EXP_CLAMP, EXP_CLAMP,
  LOG2E, LOG2E, LOG2E, LOG2E,
  SHIFT, SHIFT, SHIFT, SHIFT,
  NEG_LN2_HI, NEG_LN2_HI, NEG_LN2_HI, NEG_LN2_HI,
  NEG_LN2_LO, NEG_LN2_LO, NEG_LN2_LO, NEG_LN2_LO,
  E0, E0, E0, E0,
  E1, E1, E1, E1,
  E2, E2, E2, E2,
  E3, E3, E3, E3,
  NEG_LN2, NEG_LN2, NEG_LN2, NEG_LN2,
], 16);

/** a·b + c: fused in the relaxed-SIMD build (one rounding), mul + add otherwise. */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** e^x for x ≤ 0 (x − max), 4 lanes. NaN stays NaN; −inf gives e^−80. */
@inline function vexp(x0: v128, kClamp: v128, kLog2e: v128, kShift: v128, kLn2Hi: v128, kLn2Lo: v128,
                      kE0: v128, kE1: v128, kE2: v128, kE3: v128): v128 {
  // pmax(a, b) = a < b ? b : a: one maxps, and a NaN in `a` survives. Below −87.3 the exponent bits
  // of 2^n would wrap.
  const x = f32x4.pmax(x0, kClamp);
  const z = madd(x, kLog2e, kShift);
  const n = f32x4.sub(z, kShift);
  // r = x − n·ln2. Fused, n·ln2 is not rounded and −ln2 in one f32 is off by 1.9e−9: |r| errs by
  // ≤ 2.2e−7 only at n = −116 (terms below 2^−115 of the row's largest), ≤ 2e−8 for the n ≤ 10
  // that carry the sum. Unfused, the product must be split (Cody–Waite) to stay exact.
  let r: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    r = madd(n, v128.load(KT, 144), x);
  } else {
    r = madd(n, kLn2Hi, x);
    r = madd(n, kLn2Lo, r);
  }
  const scale = i32x4.shl(z, 23); // 2^n (see SHIFT)
  // e^r − 1 = r + r²·q, q by Horner. As many operations as a free degree-5 Horner (r² replaces the
  // product p·r) and one coefficient fewer: kernels keep ~11 vectors live and x64 has 15 to give,
  // so the register saved is a value not spilled (4–6% faster), and the fit is no less accurate.
  // Evaluated in f32 with fused steps it is within 2.1 ulp of e^r (the free fit: 1.8).
  const r2 = f32x4.mul(r, r);
  let q = madd(kE0, r, kE1);
  q = madd(q, r, kE2);
  q = madd(q, r, kE3);
  return madd(madd(q, r2, r), scale, scale);
}

/**
 * e^(x − m) for rowsLong, as 2^t: t = x·log2e − M with M = fl(m·log2e) in one fused step (`fused`:
 * the relaxed build, |m| ≤ FUSED_ROW_MAX), else t = (x − m)·log2e. Against vexp, the subtraction
 * goes into the fused step and n, f = t − n are taken by adds: one operation fewer on the two FMA
 * pipes per 4 logits, +4% on long rows (the other kernels, with more live constants, ran slower).
 * t is rounded once, by ≤ |t|·2^−24: a term's relative error grows with |x − m|, but its absolute
 * error stays ≤ 2^−24/e of the row's largest term (x·e^−x ≤ 1/e). Fused, every term carries the
 * factor e^c, c = (m·log2e − M)·ln2 (|c| < 0.05), which the row's log takes off exactly.
 * `clamp`: t ≥ −115 (as vexp's −80) for rows whose range may exceed 80. NaN stays NaN.
 */
@inline function vexpRow(x: v128, mv: v128, negM: v128, clamp: bool, fused: bool, kL: v128, kShift: v128, kT: v128,
                         kP1: v128, kP2: v128, kP3: v128, kP4: v128, kP5: v128): v128 {
  let t: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    t = fused ? f32x4.relaxed_madd(x, kL, negM) : f32x4.mul(f32x4.sub(x, mv), kL);
  } else {
    t = f32x4.mul(f32x4.sub(x, mv), kL);
  }
  if (clamp) t = f32x4.pmax(t, kT);
  const z = f32x4.add(t, kShift);
  const f = f32x4.sub(t, f32x4.sub(z, kShift));
  let h = madd(kP5, f, kP4);
  h = madd(h, f, kP3);
  h = madd(h, f, kP2);
  h = madd(h, f, kP1);
  const scale = i32x4.shl(z, 23); // 2^n (see SHIFT)
  return madd(f32x4.mul(h, f), scale, scale);
}

/**
 * e^(x − m) for the few-class and spatial kernels: vexp in the relaxed build; in the SIMD build (no
 * FMA) vexpRow's unfused base-2 form, 19 operations against vexp's 22 there.
 */
@inline function vexpItem(x: v128, mv: v128, kClamp: v128, kLog2e: v128, kShift: v128, kLn2Hi: v128, kLn2Lo: v128,
                          kE0: v128, kE1: v128, kE2: v128, kE3: v128, kL: v128, kT: v128,
                          kP1: v128, kP2: v128, kP3: v128, kP4: v128, kP5: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return vexp(f32x4.sub(x, mv), kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3);
  return vexpRow(x, mv, mv, true, false, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5);
}

/** Whether rowsLong's exps of a row with max m take vexpRow's fused step. */
@inline function rowFuses(m: f32): bool {
  return ASC_FEATURE_RELAXED_SIMD && Mathf.abs(m) <= FUSED_ROW_MAX;
}

/** vexpRow's c for a row with max m, fused: ln of the factor every term carries, (m·log2e − fl(m·log2e))·ln2. */
@inline function fusedRowShift(m: f32): f64 {
  return (<f64>m * <f64>LOG2E - <f64>(m * LOG2E)) * Math.LN2;
}

/** log(x) for normal x > 0 (row sums, ≥ 1) and NaN, 4 lanes; once per 4 items, so constants are inline. */
@inline function vlog(x: v128): v128 {
  const uoff = i32x4.sub(x, i32x4.splat(LOG_OFF));
  const n = f32x4.convert_i32x4_s(i32x4.shr_s(uoff, 23));
  const r = f32x4.sub(
    i32x4.add(v128.and(uoff, i32x4.splat(0x007fffff)), i32x4.splat(LOG_OFF)),
    f32x4.splat(1.0));
  const r2 = f32x4.mul(r, r);
  let p = madd(f32x4.splat(L6), r, f32x4.splat(L5));
  let q = madd(f32x4.splat(L4), r, f32x4.splat(L3));
  let y = madd(f32x4.splat(L2), r, f32x4.splat(L1));
  p = madd(f32x4.splat(L7), r2, p);
  q = madd(p, r2, q);
  y = madd(q, r2, y);
  p = madd(f32x4.splat(LN2), n, r);
  // The reduction above is integer arithmetic, which would turn a NaN sum into a finite number.
  return v128.bitselect(x, madd(y, r2, p), f32x4.ne(x, x));
}

@inline function hmax(v: v128): f32 {
  v = f32x4.pmax(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  v = f32x4.pmax(v, f32x4.shuffle(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}

@inline function hmin(v: v128): f32 {
  v = f32x4.pmin(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  v = f32x4.pmin(v, f32x4.shuffle(v, v, 1, 0, 3, 2));
  return f32x4.extract_lane(v, 0);
}

@inline function hsumF64(v: v128): f64 {
  // lanes 0+2 and 1+3 in f64, then the two halves: a fixed order, so results are reproducible.
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1));
  const s = f64x2.add(lo, hi);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** Lane mask: lane k is all ones when k < n. */
@inline function laneMask(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

/**
 * Finishes 4 items: loss = vlog(s) + (m − x[t]) (times w[t]), masked by `valid` and by ignored
 * targets; accumulates loss, weight and count; stores loss / m / ls when asked.
 * `xt` is gathered by the caller (its addressing differs by layout). Returns the loss vector.
 */
@inline function finish4(s: v128, m: v128, xt: v128, tv: v128, valid: v128, wp: usize, live: v128): v128 {
  const ls = vlog(s);
  let loss = f32x4.add(ls, f32x4.sub(m, xt));
  if (wp) {
    const t0 = i32x4.extract_lane(tv, 0), t1 = i32x4.extract_lane(tv, 1);
    const t2 = i32x4.extract_lane(tv, 2), t3 = i32x4.extract_lane(tv, 3);
    let w = f32x4.splat(load<f32>(wp + (<usize>max(t0, 0) << 2)));
    w = f32x4.replace_lane(w, 1, load<f32>(wp + (<usize>max(t1, 0) << 2)));
    w = f32x4.replace_lane(w, 2, load<f32>(wp + (<usize>max(t2, 0) << 2)));
    w = f32x4.replace_lane(w, 3, load<f32>(wp + (<usize>max(t3, 0) << 2)));
    loss = f32x4.mul(loss, w);
    gWeightSum += hsumF64(v128.and(w, live));
  }
  return v128.and(loss, live);
}

/** Stores the first n lanes of v at p (n ≤ 4). */
@inline function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * [rows, C] for small C (the host uses it up to 184), index targets: four rows at a time, lanes = rows. Each 4×4 block of the
 * four rows is transposed in registers into per-class column vectors kept in `scratch` (C·16 bytes,
 * stays in L1), so max and Σexp are vertical (no horizontal reductions) and one vlog serves 4 rows.
 * The last group may be partial: its missing rows are read from the slack and masked out, so every
 * row goes through the same arithmetic wherever a block starts. The groups run in chunks of 32: the
 * chunk's max and Σexp first, then its logs and losses, so that each loop's steps are independent
 * (one loop doing both was bound by the chain load → exp → sum → log → loss: C = 10 +8%, C = 2 +23%).
 * tp == 0: statistics only (m, ls).
 */
function rowsT4Simd(xp: usize, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize, scratch: usize): f64 {
  const kClamp = v128.load(KT, 0), kLog2e = v128.load(KT, 16), kShift = v128.load(KT, 32);
  const kLn2Hi = v128.load(KT, 48), kLn2Lo = v128.load(KT, 64), kE0 = v128.load(KT, 80);
  const kE1 = v128.load(KT, 96), kE2 = v128.load(KT, 112), kE3 = v128.load(KT, 128);
  const kL = f32x4.splat(LOG2E), kT = f32x4.splat(T_CLAMP), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5);
  const NEG_INF = f32x4.splat(-Infinity);
  const ZERO = f32x4.splat(0);
  const ZERO_I = i32x4.splat(0);
  const C4 = C & ~3;
  const rem = C & 3;
  const rowBytes = <usize>C << 2;
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let cntV = i32x4.splat(0);
  gWeightSum = 0;
  // each chunk of T4_CHUNK groups of 4 rows: their max and Σexp into sBuf / mBuf, then their finish
  // (after the columns, whose last block of 4 is stored whole)
  const sBuf = scratch + (<usize>((C + 3) & ~3) << 4), mBuf = sBuf + (<usize>T4_CHUNK << 4);
  for (let g0 = 0; g0 < n; g0 += T4_CHUNK * 4) {
    const gEnd = min(n, g0 + T4_CHUNK * 4);
    let k: usize = 0;
    if (C == 2) rowsTwoSums(xp + <usize>g0 * rowBytes, gEnd - g0, sBuf, mBuf);
    else for (let i0 = g0; i0 < gEnd; i0 += 4) {
      const r0 = xp + <usize>i0 * rowBytes;
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      let mx0 = NEG_INF, mx1 = NEG_INF;
      let o: usize = 0;
      const oEnd = <usize>C4 << 2;
      let cb = scratch;
      if (o < oEnd) do {
        const a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), d = v128.load(r3 + o);
        const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5), t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(c, d, 0, 4, 1, 5), t3 = f32x4.shuffle(c, d, 2, 6, 3, 7);
        const q0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5), q1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
        const q2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5), q3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
        v128.store(cb, q0, 0); v128.store(cb, q1, 16); v128.store(cb, q2, 32); v128.store(cb, q3, 48);
        mx0 = f32x4.pmax(mx0, f32x4.pmax(q0, q1));
        mx1 = f32x4.pmax(mx1, f32x4.pmax(q2, q3));
        o += 16; cb += 64;
      } while (o < oEnd);
      if (rem) {
        // the 16-byte loads run into the next row (or the slack); only `rem` columns are kept
        const a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), d = v128.load(r3 + o);
        const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5), t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(c, d, 0, 4, 1, 5), t3 = f32x4.shuffle(c, d, 2, 6, 3, 7);
        const q0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5), q1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
        const q2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5);
        v128.store(cb, q0, 0); v128.store(cb, q1, 16); v128.store(cb, q2, 32);
        mx0 = f32x4.pmax(mx0, q0);
        if (rem > 1) mx1 = f32x4.pmax(mx1, q1);
        if (rem > 2) mx0 = f32x4.pmax(mx0, q2);
      }
      const mx = f32x4.pmax(mx0, mx1);
      // Σ exp(x − m) over the transposed columns, two accumulators (even / odd classes)
      let s0 = ZERO, s1 = ZERO;
      const cEnd = scratch + (<usize>C << 4);
      let p = scratch;
      if (p + 16 < cEnd) do {
        s0 = f32x4.add(s0, vexpItem(v128.load(p), mx, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5));
        s1 = f32x4.add(s1, vexpItem(v128.load(p, 16), mx, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5));
        p += 32;
      } while (p + 16 < cEnd);
      if (p < cEnd) s0 = f32x4.add(s0, vexpItem(v128.load(p), mx, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5));
      v128.store(sBuf + k, f32x4.add(s0, s1));
      v128.store(mBuf + k, mx);
      k += 16;
    }
    k = 0;
    for (let i0 = g0; i0 < gEnd; i0 += 4, k += 16) {
      const nv = min(4, n - i0);
      const valid = laneMask(nv);
      const r0 = xp + <usize>i0 * rowBytes;
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      const s = v128.load(sBuf + k), mx = v128.load(mBuf + k);
      if (tp == 0) {
        storeLanes(mp + (<usize>i0 << 2), mx, nv);
        storeLanes(lsp + (<usize>i0 << 2), vlog(s), nv);
        continue;
      }
      const tv = v128.load(tp + (<usize>i0 << 2));
      const live = v128.and(valid, i32x4.ge_s(tv, ZERO_I));
      const tc = v128.and(tv, live); // ignored / missing lanes read class 0
      let xt = f32x4.splat(load<f32>(r0 + (<usize>i32x4.extract_lane(tc, 0) << 2)));
      xt = f32x4.replace_lane(xt, 1, load<f32>(r1 + (<usize>i32x4.extract_lane(tc, 1) << 2)));
      xt = f32x4.replace_lane(xt, 2, load<f32>(r2 + (<usize>i32x4.extract_lane(tc, 2) << 2)));
      xt = f32x4.replace_lane(xt, 3, load<f32>(r3 + (<usize>i32x4.extract_lane(tc, 3) << 2)));
      const loss = finish4(s, mx, xt, tc, valid, wp, live);
      cntV = i32x4.sub(cntV, live); // live lanes are −1
      if (outp) storeLanes(outp + (<usize>i0 << 2), loss, nv);
      acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(loss));
      acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(f32x4.shuffle(loss, loss, 2, 3, 0, 1)));
    }
  }
  return finishSums(acc0, acc1, cntV, wp);
}

/** rowsT4's max and Σexp for C = 2: the `n` rows of 2 floats at x (a chunk's groups of 4) into mBuf / sBuf (twoClassSums). */
function rowsTwoSums(x: usize, n: i32, sBuf: usize, mBuf: usize): void {
  twoClassSums(x, 0, <usize>((n + 3) & ~3) << 2, mBuf, sBuf, true);
}

/** rowsT4's groups of 4 rows per chunk (its scratch: ⌈C/4⌉·64 + T4_CHUNK·32 bytes). */
const T4_CHUNK: i32 = 32;

/** Totals of the lane accumulators, in a fixed order; sets the count (and the weight sum if unweighted). */
@inline function finishSums(acc0: v128, acc1: v128, cntV: v128, wp: usize): f64 {
  const cnt = i32x4.extract_lane(cntV, 0) + i32x4.extract_lane(cntV, 1) + i32x4.extract_lane(cntV, 2) + i32x4.extract_lane(cntV, 3);
  gCount = cnt;
  if (!wp) gWeightSum = <f64>cnt;
  const acc = f64x2.add(acc0, acc1);
  return f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
}

/**
 * [rows, C] for large C, index targets, one row at a time. The row max (4 accumulators) is needed
 * before Σ exp(x − max), so each row's max is taken while the previous row's exponentials are
 * computed: the loads of row i + 1 then overlap row i's arithmetic instead of stalling a pass of
 * their own (an input streamed from DRAM or L3 ran 14–22% faster so; one in L2 ~8%, as one sum
 * accumulator and one max accumulator leave fewer values spilled). The row's min rides along: a row
 * whose max − min ≤ 80 takes a loop without the exp's clamp (+3–4%). Only a row after an ignored one,
 * and the first row of a call that does not continue the previous one's rows (LONG_CONTINUE), get a
 * pass of their own: with LONG_NEXT the last row takes the max and min of the row after it, for the
 * next call (blocks of 4 rows at C = 32000: 3–4% faster). Rows lie C apart from xp, or, with ring > 0,
 * row i of the call in slot (slot + i) mod ring of C floats each (the host's staging ring, which
 * holds a block's rows and the next block's first). Σ exp runs over 512-float chunks, each
 * chunk's lane sums added into an f64 row sum: with one f32 accumulator a lane adds 128 terms per
 * chunk (2048-float chunks, 512 terms, had measurably larger per-row errors: 1.04e−7 against
 * 9.1e−8 at [512, 32000]; same speed), and the sum's relative error stays near 1e−9 at C = 128k.
 * The masked tail loads read at most 12 bytes past a row. tp == 0: statistics only.
 */
function rowsLongSimd(xp: usize, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize, ring: i32, slot: i32, flags: i32): f64 {
  const NEG_INF = f32x4.splat(-Infinity);
  const POS_INF = f32x4.splat(Infinity);
  const C16 = C & ~15;
  const C4 = C & ~3;
  const rem = C & 3;
  const tailMask = laneMask(rem);
  const rowBytes = <usize>C << 2;
  let total: f64 = 0;
  let wsum: f64 = 0;
  let cnt: i32 = 0;
  // a continued call starts with the max and min its previous call took of this call's first row
  let mNext: f32 = gNextMax, loNext: f32 = gNextMin;
  let haveNext = (flags & LONG_CONTINUE) != 0 && gCarried;
  for (let i = 0; i < n; i++) {
    const row = ring ? xp + <usize>((slot + i) % ring) * rowBytes : xp + <usize>i * rowBytes;
    let t: i32 = 0;
    if (tp) {
      t = load<i32>(tp + (<usize>i << 2));
      if (t < 0) {
        if (outp) store<f32>(outp + (<usize>i << 2), 0);
        haveNext = false;
        continue;
      }
    }
    let m = mNext, lo = loNext;
    if (!haveNext) {
      let m0 = NEG_INF, m1 = NEG_INF, m2 = NEG_INF, m3 = NEG_INF;
      let l0 = POS_INF, l1 = POS_INF;
      let j = 0;
      if (j < C16) do {
        const a = row + (<usize>j << 2);
        const v0 = v128.load(a, 0), v1 = v128.load(a, 16), v2 = v128.load(a, 32), v3 = v128.load(a, 48);
        m0 = f32x4.pmax(m0, v0);
        m1 = f32x4.pmax(m1, v1);
        m2 = f32x4.pmax(m2, v2);
        m3 = f32x4.pmax(m3, v3);
        l0 = f32x4.pmin(l0, f32x4.pmin(v0, v1));
        l1 = f32x4.pmin(l1, f32x4.pmin(v2, v3));
        j += 16;
      } while (j < C16);
      for (; j < C4; j += 4) {
        const v = v128.load(row + (<usize>j << 2));
        m0 = f32x4.pmax(m0, v);
        l0 = f32x4.pmin(l0, v);
      }
      if (rem) {
        const v = v128.load(row + (<usize>j << 2));
        m1 = f32x4.pmax(m1, v128.bitselect(v, NEG_INF, tailMask));
        l1 = f32x4.pmin(l1, v128.bitselect(v, POS_INF, tailMask));
      }
      m = hmax(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
      lo = hmin(f32x4.pmin(l0, l1));
    }
    // the next row's max and min ride along (their loads overlap this row's arithmetic)
    const fuse = i + 1 < n || (flags & LONG_NEXT) != 0;
    const nrow = !fuse ? row : ring ? xp + <usize>((slot + i + 1) % ring) * rowBytes : row + rowBytes;
    // When max − min ≤ 80 every x − m ≥ −80 and the exp needs no clamp (one operation fewer per 4
    // logits: ~4%). A row holding −inf, a masked logit (−1e9) or any wider range takes the clamped
    // loop; NaN is skipped by pmin/pmax and still comes out NaN from either.
    // Σ exp(x − m) by vexpRow, fused where |m| allows; the wide range of a huge max goes unfused.
    const fused = rowFuses(m);
    const S = ASC_FEATURE_RELAXED_SIMD && !fused ? longRowSumUnfused(row, nrow, C, m, tailMask)
      : m - lo <= 80 ? longRowSumInRange(row, nrow, C, m, tailMask) : longRowSumClamped(row, nrow, C, m, tailMask);
    mNext = gNextMax;
    loNext = gNextMin;
    haveNext = fuse;
    // log of the f64 sum less the fused steps' c (vexpRow), rounded once: within 0.5 ulp of f32.
    const ls = <f32>(Math.log(S) - (fused ? fusedRowShift(m) : 0));
    if (!tp) {
      store<f32>(mp + (<usize>i << 2), m);
      store<f32>(lsp + (<usize>i << 2), ls);
      continue;
    }
    let loss: f32 = ls + (m - load<f32>(row + (<usize>t << 2)));
    if (wp) {
      const w = load<f32>(wp + (<usize>t << 2));
      loss *= w;
      wsum += <f64>w;
    }
    if (outp) store<f32>(outp + (<usize>i << 2), loss);
    total += <f64>loss;
    cnt++;
  }
  gCarried = haveNext;
  gCount = cnt;
  gWeightSum = wp ? wsum : <f64>cnt;
  return total;
}

/** rowsLong flags: this call continues the previous one's rows (its first row follows their last). */
const LONG_CONTINUE = 1;
/** rowsLong flags: the row after the call's last is readable (next in memory, or the ring's next slot). */
const LONG_NEXT = 2;
let gNextMax: f32 = 0;
let gNextMin: f32 = 0;
/** Whether gNextMax and gNextMin hold the max and min of the row after the last call's last row. */
let gCarried = false;

// One function per loop, so that each gets its own with `clamp` and `fused` folded (called from one
// ternary, the inlined bodies were merged into one loop testing the flag per step).
function longRowSumInRange(row: usize, nrow: usize, C: i32, m: f32, tailMask: v128): f64 {
  return longRowSum(row, nrow, C, m, false, true, tailMask);
}
function longRowSumClamped(row: usize, nrow: usize, C: i32, m: f32, tailMask: v128): f64 {
  return longRowSum(row, nrow, C, m, true, true, tailMask);
}
function longRowSumUnfused(row: usize, nrow: usize, C: i32, m: f32, tailMask: v128): f64 {
  return longRowSum(row, nrow, C, m, true, false, tailMask);
}

/**
 * Σ exp(x − m) over one row of rowsLong, in f64 from 512-float chunks, `clamp` and `fused` constants
 * (vexpRow); the max and min of the row at nrow go to gNextMax and gNextMin.
 */
@inline function longRowSum(row: usize, nrow: usize, C: i32, m: f32, clamp: bool, fused: bool, tailMask: v128): f64 {
  // splats here, not loads from KT: V8 then keeps more of them in registers (+1–2%, measured)
  const kL = f32x4.splat(LOG2E), kShift = f32x4.splat(SHIFT), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5), kT = f32x4.splat(T_CLAMP);
  const mv = f32x4.splat(m);
  const negM = f32x4.splat(-(m * LOG2E));
  const ZERO = f32x4.splat(0);
  let mx = f32x4.splat(-Infinity);
  let mn = f32x4.splat(Infinity);
  let S: f64 = 0;
  for (let j0 = 0; j0 < C; j0 += 512) {
    const end = min(j0 + 512, C);
    const e8 = j0 + ((end - j0) & ~7);
    const e4 = j0 + ((end - j0) & ~3);
    let s0 = ZERO, s1 = ZERO;
    let j = j0;
    if (j < e8) do {
      const o = <usize>j << 2;
      s0 = f32x4.add(s0, vexpRow(v128.load(row + o, 0), mv, negM, clamp, fused, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5));
      s0 = f32x4.add(s0, vexpRow(v128.load(row + o, 16), mv, negM, clamp, fused, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5));
      const a = v128.load(nrow + o, 0), b = v128.load(nrow + o, 16);
      mx = f32x4.pmax(mx, f32x4.pmax(a, b));
      mn = f32x4.pmin(mn, f32x4.pmin(a, b));
      j += 8;
    } while (j < e8);
    for (; j < e4; j += 4) {
      s0 = f32x4.add(s0, vexpRow(v128.load(row + (<usize>j << 2)), mv, negM, clamp, fused, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5));
      const a = v128.load(nrow + (<usize>j << 2));
      mx = f32x4.pmax(mx, a);
      mn = f32x4.pmin(mn, a);
    }
    if (j < end) {
      // the lanes past the row are zeroed by the mask whatever they hold
      s1 = f32x4.add(s1, v128.and(vexpRow(v128.load(row + (<usize>j << 2)), mv, negM, true, fused, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5), tailMask));
      const a = v128.load(nrow + (<usize>j << 2));
      mx = f32x4.pmax(mx, v128.bitselect(a, f32x4.splat(-Infinity), tailMask));
      mn = f32x4.pmin(mn, v128.bitselect(a, f32x4.splat(Infinity), tailMask));
    }
    S += hsumF64(f32x4.add(s0, s1));
  }
  gNextMax = hmax(mx);
  gNextMin = hmin(mn);
  return S;
}

/**
 * One image of an [N, C, S] input, pixels [0, n) at xp (class stride S floats), index targets.
 * Pixels are processed in tiles of up to 512: pass 1 puts the max over classes into m[tile], pass 2
 * adds exp(x − m) into s[tile]; both stream each class row of the tile contiguously (4 classes per
 * step). Then 4 pixels per vector: loss = vlog(s) + (m − x[t]). The last vector of a tile may be
 * partial: its extra lanes read the following floats (or the slack) and are masked out, so each
 * pixel's arithmetic is the same wherever the tile starts. Pass 1 of a whole tile after the first
 * rides along the pass 2 of the tile before (spatialSums `ahead`), so its loads from memory overlap
 * that tile's arithmetic, as in rowsLong; the first tile and a partial last one get a pass of their
 * own, with the same operations in the same order. Both passes take the C mod 4 classes left after
 * the groups of 4 in one more pass (not one pass each: C = 2, 3, 7 +10–20%), and for C ≤ 4 the
 * target's logit comes from lane selects, not a gather (+3–9%). C = 2 takes spatialTwo, one pass for
 * both. scratch: 3·512·4 bytes. tp == 0: stats.
 * (An alternative holding 16 pixels' max and sum in registers measured 5–15% slower at [8, 21, 512, 512].)
 */
function spatialSimd(xp: usize, S: i32, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize, scratch: usize): f64 {
  const ZERO_I = i32x4.splat(0);
  const TILE = 512;
  const tileB = <usize>TILE << 2;
  let tm = scratch, tmNext = scratch + tileB;
  const ts = scratch + 2 * tileB;
  const cs = <usize>S << 2;
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let cntV = i32x4.splat(0);
  gWeightSum = 0;
  if (n > 0 && C != 2) spatialMax(xp, cs, C, tileBytes(min(TILE, n)), tm);
  for (let p0 = 0; p0 < n; p0 += TILE) {
    const len = min(TILE, n - p0);
    const lenB = tileBytes(len);
    const x0 = xp + (<usize>p0 << 2);
    // pass 2, with the next tile's pass 1 when that tile is whole (then this one is too)
    if (C == 2) spatialTwo(x0, cs, lenB, tm, ts);
    else if (p0 + 2 * TILE <= n) spatialSumsAhead(x0, cs, C, lenB, tm, ts, tmNext);
    else {
      spatialSumsAlone(x0, cs, C, lenB, tm, ts, tmNext);
      if (p0 + TILE < n) spatialMax(x0 + tileB, cs, C, tileBytes(n - p0 - TILE), tmNext);
    }
    // finish 4 pixels at a time
    for (let q = 0; q < len; q += 4) {
      const nv = min(4, len - q);
      const qb = <usize>q << 2;
      const mv = v128.load(tm + qb);
      const sv = v128.load(ts + qb);
      const pix = p0 + q;
      if (tp == 0) {
        storeLanes(mp + (<usize>pix << 2), mv, nv);
        storeLanes(lsp + (<usize>pix << 2), vlog(sv), nv);
        continue;
      }
      const valid = laneMask(nv);
      const tv = v128.load(tp + (<usize>pix << 2));
      const live = v128.and(valid, i32x4.ge_s(tv, ZERO_I));
      const tc = v128.and(tv, live);
      const a = x0 + qb;
      let xt: v128;
      if (C <= 4) {
        // a few classes: the target's logit by lane selects (ignored lanes read class 0)
        xt = v128.load(a);
        if (C > 1) xt = v128.bitselect(v128.load(a + cs), xt, i32x4.eq(tc, i32x4.splat(1)));
        if (C > 2) xt = v128.bitselect(v128.load(a + 2 * cs), xt, i32x4.eq(tc, i32x4.splat(2)));
        if (C > 3) xt = v128.bitselect(v128.load(a + 3 * cs), xt, i32x4.eq(tc, i32x4.splat(3)));
      } else {
        xt = f32x4.splat(load<f32>(a + <usize>i32x4.extract_lane(tc, 0) * cs));
        xt = f32x4.replace_lane(xt, 1, load<f32>(a + <usize>i32x4.extract_lane(tc, 1) * cs + 4));
        xt = f32x4.replace_lane(xt, 2, load<f32>(a + <usize>i32x4.extract_lane(tc, 2) * cs + 8));
        xt = f32x4.replace_lane(xt, 3, load<f32>(a + <usize>i32x4.extract_lane(tc, 3) * cs + 12));
      }
      const loss = finish4(sv, mv, xt, tc, valid, wp, live);
      cntV = i32x4.sub(cntV, live);
      if (outp) storeLanes(outp + (<usize>pix << 2), loss, nv);
      acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(loss));
      acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(f32x4.shuffle(loss, loss, 2, 3, 0, 1)));
    }
    const t = tm; tm = tmNext; tmNext = t;
  }
  return finishSums(acc0, acc1, cntV, wp);
}

/** spatialSimd's passes 1 and 2 in one for C = 2 (twoClassSums): the tile's class rows at x0, cs bytes apart. */
function spatialTwo(x0: usize, cs: usize, lenB: usize, tm: usize, ts: usize): void {
  twoClassSums(x0, cs, lenB, tm, ts, false);
}

/**
 * The max and Σexp of two classes, 4 items per step, into m[b] and s[b] for b < lenB bytes: pixels
 * (class rows at x0, cs bytes apart) or, `rows`, 4 rows of 2 interleaved floats per step (a partial
 * group reads on into the slack). Of the two terms exp(x − m), the max class's is exp(0) = 1, so only
 * the other one is computed, as exp(−|a − b|) (the same bits as exp(min − max): a − b and b − a
 * round alike), and the 1 comes as (m − m) + 1, which is NaN where m is ±inf or NaN, as exp(m − m)
 * is. The max and the sum are then the general kernels' on the same values (the two terms' sum
 * commutes), so results are bit for bit theirs at one exp per item instead of two: checked on 280k
 * pixels and 70k rows with ±inf, NaN, ±0 and equal pairs, both builds (rowsT4 took the max as
 * max(max(−inf, a), max(−inf, b)), −inf where a is NaN and here NaN, which only ever meets that
 * item's NaN sum). Kernel: pixels +11–17%, rows +38–42% (no transposition through scratch either).
 * The same pass with the finish folded in ran 20% slower: its chain load → exp → log → loss is long.
 */
@inline function twoClassSums(x0: usize, cs: usize, lenB: usize, tm: usize, ts: usize, rows: bool): void {
  const kClamp = v128.load(KT, 0), kLog2e = v128.load(KT, 16), kShift = v128.load(KT, 32);
  const kLn2Hi = v128.load(KT, 48), kLn2Lo = v128.load(KT, 64), kE0 = v128.load(KT, 80);
  const kE1 = v128.load(KT, 96), kE2 = v128.load(KT, 112), kE3 = v128.load(KT, 128);
  const kL = f32x4.splat(LOG2E), kT = f32x4.splat(T_CLAMP), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5);
  const ZERO = f32x4.splat(0), ONE = f32x4.splat(1), NEG_ZERO = f32x4.splat(-0.0);
  let b: usize = 0;
  do {
    let x: v128, y: v128;
    if (rows) {
      // [a0 b0 a1 b1] [a2 b2 a3 b3]
      const lo = v128.load(x0 + (b << 1)), hi = v128.load(x0 + (b << 1), 16);
      x = f32x4.shuffle(lo, hi, 0, 2, 4, 6);
      y = f32x4.shuffle(lo, hi, 1, 3, 5, 7);
    } else {
      x = v128.load(x0 + b);
      y = v128.load(x0 + b + cs);
    }
    const mv = f32x4.pmax(x, y);
    const e = vexpItem(v128.or(f32x4.sub(x, y), NEG_ZERO), ZERO, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
    v128.store(tm + b, mv);
    v128.store(ts + b, f32x4.add(f32x4.add(f32x4.sub(mv, mv), ONE), e));
    b += 16;
  } while (b < lenB);
}

/** Bytes of a spatial tile of `len` pixels, rounded up to whole vectors. */
@inline function tileBytes(len: i32): usize {
  return <usize>((len + 3) & ~3) << 2;
}

/** The max of the 4 class rows (cs bytes apart) at a, pairwise: spatialMax's and the ahead pass's step. */
@inline function max4(a: usize, cs: usize): v128 {
  return f32x4.pmax(f32x4.pmax(v128.load(a), v128.load(a + cs)), f32x4.pmax(v128.load(a + 2 * cs), v128.load(a + 3 * cs)));
}

/** The max of the r < 4 class rows left after the groups of 4, at a. */
@inline function maxRem(a: usize, cs: usize, r: i32): v128 {
  let m = v128.load(a);
  if (r > 1) m = f32x4.pmax(m, v128.load(a + cs));
  if (r > 2) m = f32x4.pmax(m, v128.load(a + 2 * cs));
  return m;
}

/** m[p] = mq for the first classes of a pixel vector, else max(m[p], mq): every max pass's step. */
@inline function maxInto(p: usize, mq: v128, first: bool): void {
  v128.store(p, first ? mq : f32x4.pmax(v128.load(p), mq));
}

/**
 * spatialSimd's pass 1: m[b] = max over the C class rows (cs bytes apart) at x0, lenB bytes each:
 * classes in groups of 4, then the C mod 4 left in one pass.
 */
@inline function spatialMax(x0: usize, cs: usize, C: i32, lenB: usize, tm: usize): void {
  const G = C & ~3, r = C & 3;
  let b: usize = 0;
  for (let c = 0; c < G; c += 4) {
    const cb = x0 + <usize>c * cs;
    b = 0;
    do {
      const mq = max4(cb + b, cs);
      maxInto(tm + b, mq, c == 0);
      b += 16;
    } while (b < lenB);
  }
  if (r) {
    const cb = x0 + <usize>G * cs;
    b = 0;
    do {
      const mq = maxRem(cb + b, cs, r);
      maxInto(tm + b, mq, G == 0);
      b += 16;
    } while (b < lenB);
  }
}

// One function per form, so that each gets its own loops with `ahead` folded (see longRowSumInRange).
function spatialSumsAhead(x0: usize, cs: usize, C: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize): void {
  spatialSums(x0, cs, C, lenB, tm, ts, tmNext, true);
}
function spatialSumsAlone(x0: usize, cs: usize, C: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize): void {
  spatialSums(x0, cs, C, lenB, tm, ts, tmNext, false);
}

/**
 * spatialSimd's pass 2: s[b] = Σ_c exp(x[c][b] − m[b]), classes in groups of 4 and then the C mod 4
 * left in one pass (the same grouping for every pixel). `ahead`: the tile after this one (lenB bytes
 * on) takes spatialMax's operations in spatialMax's order into tmNext, from the same steps.
 */
@inline function spatialSums(x0: usize, cs: usize, C: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize, ahead: bool): void {
  const kClamp = v128.load(KT, 0), kLog2e = v128.load(KT, 16), kShift = v128.load(KT, 32);
  const kLn2Hi = v128.load(KT, 48), kLn2Lo = v128.load(KT, 64), kE0 = v128.load(KT, 80);
  const kE1 = v128.load(KT, 96), kE2 = v128.load(KT, 112), kE3 = v128.load(KT, 128);
  const kL = f32x4.splat(LOG2E), kT = f32x4.splat(T_CLAMP), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5);
  const G = C & ~3, r = C & 3;
  let b: usize = 0;
  for (let c = 0; c < G; c += 4) {
    const cb = x0 + <usize>c * cs;
    b = 0;
    do {
      const a = cb + b;
      const mv = v128.load(tm + b);
      const e0 = vexpItem(v128.load(a), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
      const e1 = vexpItem(v128.load(a + cs), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
      const e2 = vexpItem(v128.load(a + 2 * cs), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
      const e3 = vexpItem(v128.load(a + 3 * cs), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
      const e = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
      v128.store(ts + b, c == 0 ? e : f32x4.add(v128.load(ts + b), e));
      if (ahead) {
        const mq = max4(a + lenB, cs); // the next tile, a whole one as this is
        maxInto(tmNext + b, mq, c == 0);
      }
      b += 16;
    } while (b < lenB);
  }
  if (r == 1) spatialRemSums1(x0 + <usize>G * cs, cs, G, lenB, tm, ts, tmNext, ahead);
  else if (r == 2) spatialRemSums2(x0 + <usize>G * cs, cs, G, lenB, tm, ts, tmNext, ahead);
  else if (r == 3) spatialRemSums3(x0 + <usize>G * cs, cs, G, lenB, tm, ts, tmNext, ahead);
}

// One function per count, so that each gets its own loop with r folded (see longRowSumInRange).
function spatialRemSums1(x0: usize, cs: usize, G: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize, ahead: bool): void {
  if (ahead) spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 1, true);
  else spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 1, false);
}
function spatialRemSums2(x0: usize, cs: usize, G: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize, ahead: bool): void {
  if (ahead) spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 2, true);
  else spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 2, false);
}
function spatialRemSums3(x0: usize, cs: usize, G: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize, ahead: bool): void {
  if (ahead) spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 3, true);
  else spatialRemSums(x0, cs, G, lenB, tm, ts, tmNext, 3, false);
}

/** spatialSums over the r = C mod 4 class rows after the G in groups, at x0: one pass, r constant. */
@inline function spatialRemSums(x0: usize, cs: usize, G: i32, lenB: usize, tm: usize, ts: usize, tmNext: usize, r: i32, ahead: bool): void {
  const kClamp = v128.load(KT, 0), kLog2e = v128.load(KT, 16), kShift = v128.load(KT, 32);
  const kLn2Hi = v128.load(KT, 48), kLn2Lo = v128.load(KT, 64), kE0 = v128.load(KT, 80);
  const kE1 = v128.load(KT, 96), kE2 = v128.load(KT, 112), kE3 = v128.load(KT, 128);
  const kL = f32x4.splat(LOG2E), kT = f32x4.splat(T_CLAMP), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5);
  let b: usize = 0;
  do {
    const a = x0 + b;
    const mv = v128.load(tm + b);
    let e = vexpItem(v128.load(a), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5);
    if (r > 1) e = f32x4.add(e, vexpItem(v128.load(a + cs), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5));
    if (r > 2) e = f32x4.add(e, vexpItem(v128.load(a + 2 * cs), mv, kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3, kL, kT, kP1, kP2, kP3, kP4, kP5));
    v128.store(ts + b, G == 0 ? e : f32x4.add(v128.load(ts + b), e));
    if (ahead) {
      const mq = maxRem(a + lenB, cs, r);
      maxInto(tmNext + b, mq, G == 0);
    }
    b += 16;
  } while (b < lenB);
}

// ---------------------------------------------------------------------------------------------
// SIMD second phase (after row statistics) for float32: label smoothing, probability targets and
// log_prob. The same f32 arithmetic per element as the scalar kernels above, four elements at a
// time. Sums over classes are f64: pixels (item stride 1) put four consecutive items in the lanes,
// each adding its classes in order, so they equal the scalar kernels bit for bit; rows (class
// stride 1) put four classes in the lanes, two f64 pairs added at the end (another order, same
// f64 accuracy). Any other stride, and the items or classes left over, take the scalar path.

/** Σ_c term over a row's C contiguous classes as f64 lanes; `term` is 4 lanes of f32 (masked tail 0). */
@inline function addF64(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}
@inline function addF64Hi(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)));
}

/** −Σ_c w[c]·((x[c] − m) − ls) for one row (classes contiguous at x). */
@inline function smoothRow(x: usize, C: i32, wp: usize, m: f32, ls: f32): f64 {
  const mv = f32x4.splat(m), lv = f32x4.splat(ls);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    let pv = f32x4.sub(f32x4.sub(v128.load(x + (<usize>c << 2)), mv), lv);
    if (wp) pv = f32x4.mul(pv, v128.load(wp + (<usize>c << 2)));
    a0 = addF64(a0, pv);
    a1 = addF64Hi(a1, pv);
  }
  const a = f64x2.add(a0, a1);
  let acc = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; c < C; c++) {
    const pc: f32 = (load<f32>(x + (<usize>c << 2)) - m) - ls;
    acc += wp ? <f64>(pc * load<f32>(wp + (<usize>c << 2))) : <f64>pc;
  }
  return -acc;
}

/**
 * indexLossScalar<f32> with ε > 0 (label smoothing): the smoothing sum over classes in SIMD, the
 * rest per item as there. Pixels: the sums of four items at a time (lanes), stored in `sm`.
 */
function smoothLossSimd(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32,
                        tp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, outp: usize): f64 {
  const epsC: f32 = <f32>(eps / <f64>C);
  const keep: f32 = <f32>(1.0 - eps);
  const cs = <usize>classStride << 2;
  const isB = <usize>itemStride << 2;
  let total: f64 = 0;
  let wsum: f64 = 0;
  let cnt: i32 = 0;
  let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0;
  const pixels = itemStride == 1 && classStride != 1;
  for (let i = 0; i < n; i++) {
    if (pixels && (i & 3) == 0 && i + 4 <= n) {
      // the smoothing sums of items i…i+3, each lane adding its classes in order (as the scalar loop)
      const mv = v128.load(mp + (<usize>i << 2)), lv = v128.load(lsp + (<usize>i << 2));
      let a01 = f64x2.splat(0), a23 = f64x2.splat(0);
      let x = xp + (<usize>i << 2);
      for (let c = 0; c < C; c++) {
        let pv = f32x4.sub(f32x4.sub(v128.load(x), mv), lv);
        if (wp) pv = f32x4.mul(pv, v128.load32_splat(wp + (<usize>c << 2)));
        a01 = f64x2.sub(a01, f64x2.promote_low_f32x4(pv));
        a23 = f64x2.sub(a23, f64x2.promote_low_f32x4(f32x4.shuffle(pv, pv, 2, 3, 0, 1)));
        x += cs;
      }
      s0 = f64x2.extract_lane(a01, 0); s1 = f64x2.extract_lane(a01, 1);
      s2 = f64x2.extract_lane(a23, 0); s3 = f64x2.extract_lane(a23, 1);
    }
    const t = load<i32>(tp + (<usize>i << 2));
    let loss: f32 = 0;
    if (t >= 0) {
      const base = xp + <usize>i * isB;
      const w: f32 = wp ? load<f32>(wp + (<usize>t << 2)) : 1;
      const xt = load<f32>(base + <usize>t * cs);
      const m = load<f32>(mp + (<usize>i << 2));
      const ls = load<f32>(lsp + (<usize>i << 2));
      loss = ls + (m - xt);
      if (wp) loss = loss * w;
      let smooth: f64;
      if (pixels && (i & ~3) + 4 <= n) {
        const k = i & 3;
        smooth = k == 0 ? s0 : k == 1 ? s1 : k == 2 ? s2 : s3;
      } else if (classStride == 1) {
        smooth = smoothRow(base, C, wp, m, ls);
      } else {
        smooth = 0;
        for (let c = 0; c < C; c++) {
          const p: f32 = (load<f32>(base + <usize>c * cs) - m) - ls;
          smooth -= wp ? <f64>(p * load<f32>(wp + (<usize>c << 2))) : <f64>p;
        }
      }
      loss = keep * loss + epsC * <f32>smooth;
      wsum += <f64>w;
      cnt++;
    }
    if (outp) store<f32>(outp + (<usize>i << 2), loss);
    total += <f64>loss;
  }
  gWeightSum = wsum;
  gCount = cnt;
  return total;
}

/**
 * One probability-target term, four lanes (items or classes): ((x − m) − ls)·y with y smoothed to
 * y·(1 − ε) + ε/C when asked; the caller applies the weight, which it loads per its lane layout.
 */
@inline function probTerm(x: v128, mv: v128, lv: v128, y0: v128, smoothing: bool, keepV: v128, epsV: v128): v128 {
  const pv = f32x4.sub(f32x4.sub(x, mv), lv);
  const y = smoothing ? f32x4.add(f32x4.mul(y0, keepV), epsV) : y0;
  return f32x4.mul(pv, y);
}

/** probLossScalar<f32> in SIMD: −Σ_c w[c]·t'[c]·p[c] per item (see the section comment for the order). */
function probLossSimd(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32,
                      yp: usize, wp: usize, mp: usize, lsp: usize, eps: f64, numClasses: f64, outp: usize): f64 {
  const keep: f32 = <f32>(1.0 - eps);
  const epsC: f32 = <f32>(eps / numClasses);
  const keepV = f32x4.splat(keep), epsV = f32x4.splat(epsC);
  const smoothing = eps > 0;
  const cs = <usize>classStride << 2;
  const isB = <usize>itemStride << 2;
  let total: f64 = 0;
  let i = 0;
  if (itemStride == 1 && classStride != 1) {
    for (; i + 4 <= n; i += 4) {
      const mv = v128.load(mp + (<usize>i << 2)), lv = v128.load(lsp + (<usize>i << 2));
      let a01 = f64x2.splat(0), a23 = f64x2.splat(0);
      let o = <usize>i << 2;
      for (let c = 0; c < C; c++) {
        let term = probTerm(v128.load(xp + o), mv, lv, v128.load(yp + o), smoothing, keepV, epsV);
        if (wp) term = f32x4.mul(term, v128.load32_splat(wp + (<usize>c << 2)));
        a01 = addF64(a01, term);
        a23 = addF64Hi(a23, term);
        o += cs;
      }
      // loss = f32(−acc) per lane; stored and added in item order
      const l0 = <f32>(-f64x2.extract_lane(a01, 0)), l1 = <f32>(-f64x2.extract_lane(a01, 1));
      const l2 = <f32>(-f64x2.extract_lane(a23, 0)), l3 = <f32>(-f64x2.extract_lane(a23, 1));
      if (outp) {
        const q = outp + (<usize>i << 2);
        store<f32>(q, l0); store<f32>(q, l1, 4); store<f32>(q, l2, 8); store<f32>(q, l3, 12);
      }
      total += <f64>l0; total += <f64>l1; total += <f64>l2; total += <f64>l3;
    }
  }
  for (; i < n; i++) {
    const off = <usize>i * isB;
    const m = load<f32>(mp + (<usize>i << 2));
    const ls = load<f32>(lsp + (<usize>i << 2));
    let acc: f64 = 0;
    let c = 0;
    if (classStride == 1) {
      const mv = f32x4.splat(m), lv = f32x4.splat(ls);
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
      for (; c + 4 <= C; c += 4) {
        const o = off + (<usize>c << 2);
        let term = probTerm(v128.load(xp + o), mv, lv, v128.load(yp + o), smoothing, keepV, epsV);
        if (wp) term = f32x4.mul(term, v128.load(wp + (<usize>c << 2)));
        a0 = addF64(a0, term);
        a1 = addF64Hi(a1, term);
      }
      const a = f64x2.add(a0, a1);
      acc = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
    }
    for (; c < C; c++) {
      const o = off + <usize>c * cs;
      const p: f32 = (load<f32>(xp + o) - m) - ls;
      let y = load<f32>(yp + o);
      if (smoothing) y = y * keep + epsC;
      let term: f32 = p * y;
      if (wp) term = term * load<f32>(wp + (<usize>c << 2));
      acc += <f64>term;
    }
    const loss: f32 = <f32>(-acc);
    if (outp) store<f32>(outp + (<usize>i << 2), loss);
    total += <f64>loss;
  }
  gWeightSum = <f64>n;
  gCount = n;
  return total;
}

/** logProbScalar<f32> in SIMD: out = (x − m) − ls, elementwise (bit-identical to the scalar kernel). */
function logProbSimd(xp: usize, itemStride: i32, classStride: i32, C: i32, n: i32, mp: usize, lsp: usize, outp: usize): void {
  const cs = <usize>classStride << 2;
  const isB = <usize>itemStride << 2;
  let i = 0;
  if (itemStride == 1 && classStride != 1) {
    // one class plane at a time: contiguous streams (C planes at a power-of-two stride, visited
    // pixel by pixel, would all fall into one L1 set)
    const n4 = <usize>(n & ~3) << 2;
    for (let c = 0; c < C; c++) {
      const o = <usize>c * cs;
      for (let b: usize = 0; b < n4; b += 16) {
        v128.store(outp + o + b, f32x4.sub(f32x4.sub(v128.load(xp + o + b), v128.load(mp + b)), v128.load(lsp + b)));
      }
    }
    i = n & ~3;
  }
  for (; i < n; i++) {
    const off = <usize>i * isB;
    const m = load<f32>(mp + (<usize>i << 2));
    const ls = load<f32>(lsp + (<usize>i << 2));
    let c = 0;
    if (classStride == 1) {
      const mv = f32x4.splat(m), lv = f32x4.splat(ls);
      for (; c + 4 <= C; c += 4) {
        const o = off + (<usize>c << 2);
        v128.store(outp + o, f32x4.sub(f32x4.sub(v128.load(xp + o), mv), lv));
      }
    }
    for (; c < C; c++) {
      const o = off + <usize>c * cs;
      store<f32>(outp + o, (load<f32>(xp + o) - m) - ls);
    }
  }
}

// Exported entry points of the SIMD kernels. In the scalar build the SIMD bodies are not compiled
// (a constant condition compiles only its taken branch) and the host never calls these.
export function rowsT4(xp: usize, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize, scratch: usize): f64 {
  if (ASC_FEATURE_SIMD) return rowsT4Simd(xp, tp, wp, n, C, outp, mp, lsp, scratch);
  else return NaN;
}
export function rowsLong(xp: usize, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize,
                         ring: i32, slot: i32, flags: i32): f64 {
  if (ASC_FEATURE_SIMD) return rowsLongSimd(xp, tp, wp, n, C, outp, mp, lsp, ring, slot, flags);
  else return NaN;
}
export function spatial(xp: usize, S: i32, tp: usize, wp: usize, n: i32, C: i32, outp: usize, mp: usize, lsp: usize, scratch: usize): f64 {
  if (ASC_FEATURE_SIMD) return spatialSimd(xp, S, tp, wp, n, C, outp, mp, lsp, scratch);
  else return NaN;
}

/**
 * rowsLong's exp on its own, for the accuracy test (test/compute/exp.test.ts): the terms of a row
 * with max m, clamped, fused as the kernel fuses them, for the n floats at src into dst (n a
 * multiple of 4). Returns their c (vexpRow: each term is e^(x − m + c); 0 unfused).
 */
export function rowExpLanes(src: usize, dst: usize, n: i32, m: f32): f64 {
  if (ASC_FEATURE_SIMD) {
    const fused = rowFuses(m);
    if (fused) rowExpLanesOf(src, dst, n, m, true);
    else rowExpLanesOf(src, dst, n, m, false);
    return fused ? fusedRowShift(m) : 0;
  }
  return 0;
}

@inline function rowExpLanesOf(src: usize, dst: usize, n: i32, m: f32, fused: bool): void {
  const kL = f32x4.splat(LOG2E), kShift = f32x4.splat(SHIFT), kP1 = f32x4.splat(P1), kP2 = f32x4.splat(P2);
  const kP3 = f32x4.splat(P3), kP4 = f32x4.splat(P4), kP5 = f32x4.splat(P5), kT = f32x4.splat(T_CLAMP);
  const mv = f32x4.splat(m), negM = f32x4.splat(-(m * LOG2E));
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, vexpRow(v128.load(src + o), mv, negM, true, fused, kL, kShift, kT, kP1, kP2, kP3, kP4, kP5));
  }
}

/**
 * The kernels' exp on its own, for the accuracy test (test/compute/exp.test.ts): e^x for the n
 * floats at src (x ≤ 0, as x − max always is), four at a time, into dst; n a multiple of 4.
 */
export function expLanes(src: usize, dst: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    const kClamp = v128.load(KT, 0), kLog2e = v128.load(KT, 16), kShift = v128.load(KT, 32);
    const kLn2Hi = v128.load(KT, 48), kLn2Lo = v128.load(KT, 64), kE0 = v128.load(KT, 80);
    const kE1 = v128.load(KT, 96), kE2 = v128.load(KT, 112), kE3 = v128.load(KT, 128);
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, vexp(v128.load(src + o), kClamp, kLog2e, kShift, kLn2Hi, kLn2Lo, kE0, kE1, kE2, kE3));
    }
  }
}
