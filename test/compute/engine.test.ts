// Engine API behaviour beyond the conformance files: ce-semantics §7 vectors, TF.js mode (§4.3),
// target dtypes and edge values, the order of errors, zero-copy inputs, float64, build selection.
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { FMA_PROBE, relaxedMaddFuses, selectEngineFile, type Engine } from '../../compute/engine';
import { loadEngine } from '../../compute/node/loadEngine';
import { formatCppDouble, planTorch } from '../../compute/semantics';
import { EngineInputError, TfjsError, TorchError, type Tensor } from '../../compute/types';
import { resident } from './pathCases';
import { referenceLoss } from './reference';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const i64 = (shape: number[], values: (number | bigint)[]): Tensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(values, v => BigInt(v)) });
const message = (fn: () => unknown) => {
  try { fn(); } catch (e) { return e instanceof TorchError ? `${e.type}: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`; }
  return 'no error';
};
const close = (a: number | null, e: number, tol = 1e-6) => expect(Math.abs(a! - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));

// ce-semantics §7
const X = f32([3, 4], [2.0, 1.0, 0.1, -1.0, 0.5, 2.5, 0.3, 0.0, 1.2, 0.2, 3.1, -0.5]);
const T = i64([3], [0, 1, 2]);
const TI = i64([3], [0, -100, 2]);
const W = f32([4], [1.0, 2.0, 0.5, 1.5]);
const P = f32([3, 4], [0.7, 0.1, 0.1, 0.1, 0.0, 1.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25]);
const X3 = f32([2, 3, 2], Array.from({ length: 12 }, (_, i) => i / 4));
const T3 = i64([2, 2], [0, 2, 1, -100]);

describe.each(['ce-simd.wasm', 'ce-scalar.wasm'] as const)('engine API (%s)', file => {
  let engine: Engine;
  beforeAll(async () => { engine = await loadEngine({ file }); });

  it('reports its build', () => {
    // asc rejects any v128 use without --enable simd, so the scalar build has no SIMD at all
    expect(engine.kind).toBe(file === 'ce-scalar.wasm' ? 'wasm-scalar' : 'wasm-simd');
  });

  it('reproduces the PyTorch vectors V1–V31', () => {
    close(engine.crossEntropy(X, T).loss, 0.313908517);
    close(engine.crossEntropy(X, T, { reduction: 'sum' }).loss, 0.941725552);
    expect(Array.from(engine.crossEntropy(X, T, { reduction: 'none' }).values!).map(v => +v.toFixed(6))).toEqual([0.449313, 0.283842, 0.20857]);
    close(engine.crossEntropy(X, T, { weight: W }).loss, 0.320366472);
    close(engine.crossEntropy(X, TI).loss, 0.328941643);
    close(engine.crossEntropy(X, TI, { weight: W }).loss, 0.369065404);
    close(engine.crossEntropy(X, T, { labelSmoothing: 0.1 }).loss, 0.488908529);
    close(engine.crossEntropy(X, T, { weight: W, labelSmoothing: 0.1 }).loss, 0.517677188);
    close(engine.crossEntropy(X, TI, { weight: W, labelSmoothing: 0.2 }).loss, 1.08989954);
    close(engine.crossEntropy(X, TI, { weight: W, labelSmoothing: 0.2, reduction: 'sum' }).loss, 1.63484931);
    const v13 = engine.crossEntropy(X, TI, { weight: W, labelSmoothing: 0.2, reduction: 'none' }).values!;
    close(v13[0]!, 0.844278574); expect(v13[1]).toBe(0); close(v13[2]!, 0.790570676);
    close(engine.crossEntropy(X, P).loss, 1.21057522);
    close(engine.crossEntropy(X, P, { weight: W }).loss, 1.78088045);
    close(engine.crossEntropy(X, P, { labelSmoothing: 0.1 }).loss, 1.29590845);
    close(engine.crossEntropy(X, P, { weight: W, labelSmoothing: 0.1, reduction: 'sum' }).loss, 5.61109304);
    close(engine.crossEntropy(f32([4], [2.0, 1.0, 0.1, -1.0]), i64([], [0])).loss, 0.449312925);
    close(engine.crossEntropy(f32([4], [2.0, 1.0, 0.1, -1.0]), f32([4], [0.7, 0.1, 0.1, 0.1])).loss, 1.03931296);
    close(engine.crossEntropy(X3, T3).loss, 1.18026972);
    close(engine.crossEntropy(X3, T3, { weight: f32([3], [0.2, 1.0, 3.0]), labelSmoothing: 0.3 }).loss, 0.846936345);
    const lp = f32([2, 3], [-1.2, -0.5, -2.0, -0.1, -3.0, -2.5]);
    close(engine.nllLoss(lp, i64([2], [1, 0])).loss, 0.300000012);
    close(engine.nllLoss(lp, i64([2], [1, 0]), { weight: f32([3], [2, 1, 1]) }).loss, 0.233333334);
    const v26 = engine.crossEntropy(X, T, { returnLogProb: true }).logProb!;
    expect(Array.from(v26.subarray(0, 4)).map(v => +v.toFixed(6))).toEqual([-0.449313, -1.449313, -2.349313, -3.449313]);
    close(engine.crossEntropy(f32([2, 7], new Array(14).fill(0)), i64([2], [3, 6]), { labelSmoothing: 0.5 }).loss, Math.log(7));
    // V29–V31: all ignored, empty
    const allIgnored = i64([3], [-100, -100, -100]);
    for (const o of [{}, { weight: W }, { labelSmoothing: 0.1 }, { weight: W, labelSmoothing: 0.1 }]) {
      expect(engine.crossEntropy(X, allIgnored, o).loss).toBeNaN();
    }
    expect(engine.crossEntropy(X, allIgnored, { reduction: 'sum' }).loss).toBe(0);
    const empty = f32([0, 5], []);
    expect(engine.crossEntropy(empty, i64([0], [])).loss).toBeNaN();
    expect(engine.crossEntropy(empty, i64([0], []), { reduction: 'sum' }).loss).toBe(0);
    expect(engine.crossEntropy(empty, f32([0, 5], [])).loss).toBeNaN();
    expect(engine.crossEntropy(empty, i64([0], []), { reduction: 'none' }).shape).toEqual([0]);
  });

  it('checks every target in memory order, in int64, whatever the group it sits in', () => {
    const x = f32([1000, 3], new Array(3000).fill(0.5));
    const t = Array.from({ length: 1000 }, (_, i) => i % 3);
    const bad = (patch: [number, bigint][]) => {
      const data = BigInt64Array.from(t, BigInt);
      for (const [i, v] of patch) data[i] = v;
      return message(() => engine.crossEntropy(x, { dtype: 'int64', shape: [1000], data }));
    };
    expect(bad([[900, 3n], [517, 5n]])).toBe('IndexError: Target 5 is out of bounds.');
    expect(bad([[998, -1n]])).toBe('IndexError: Target -1 is out of bounds.');
    // 2^32 + 1 would read as class 1 if truncated to 32 bits
    expect(bad([[4, 4294967297n]])).toBe('IndexError: Target 4294967297 is out of bounds.');
    expect(bad([[7, -(2n ** 40n)]])).toBe('IndexError: Target -1099511627776 is out of bounds.');
    // an ignore_index anywhere in int64, equal targets are skipped before the bounds check
    const data = BigInt64Array.from(t, BigInt);
    data[10] = 2n ** 40n;
    expect(engine.crossEntropy(x, { dtype: 'int64', shape: [1000], data }, { ignoreIndex: 2n ** 40n, reduction: 'sum' }).loss)
      .toBe(engine.crossEntropy(x, { dtype: 'int64', shape: [1000], data: BigInt64Array.from(t, (v, i) => i === 10 ? -100n : BigInt(v)) }, { reduction: 'sum' }).loss);
  });

  it('target dtypes: int64, uint8 (1-D/2-D only), int32 only when declared', () => {
    const u8: Tensor = { dtype: 'uint8', shape: [3], data: Uint8Array.of(0, 1, 2) };
    expect(engine.crossEntropy(X, u8).loss).toBe(engine.crossEntropy(X, T).loss);
    const i32: Tensor = { dtype: 'int32', shape: [3], data: Int32Array.of(0, 1, 2) };
    expect(message(() => engine.crossEntropy(X, i32))).toBe('RuntimeError: expected target dtype to be Long or Byte, but got Int');
    expect(engine.crossEntropy(X, i32, { int32Targets: true }).loss).toBe(engine.crossEntropy(X, T).loss);
    // int32 targets through the vector conversion: the first bad one, ignore_index in and out of int32
    const x = f32([1000, 3], new Array(3000).fill(0.25));
    const t32 = Int32Array.from({ length: 1000 }, (_, i) => i % 3);
    t32[700] = 3; t32[517] = -7; t32[12] = -100;
    expect(message(() => engine.crossEntropy(x, { dtype: 'int32', shape: [1000], data: t32 }, { int32Targets: true })))
      .toBe('IndexError: Target -7 is out of bounds.');
    t32[700] = 1; t32[517] = 2;
    const sum32 = engine.crossEntropy(x, { dtype: 'int32', shape: [1000], data: t32 }, { int32Targets: true, reduction: 'sum' }).loss;
    const sum64 = engine.crossEntropy(x, { dtype: 'int64', shape: [1000], data: BigInt64Array.from(t32, BigInt) }, { reduction: 'sum' }).loss;
    expect(sum32).toBe(sum64);
    expect(message(() => engine.crossEntropy(x, { dtype: 'int32', shape: [1000], data: t32 }, { int32Targets: true, ignoreIndex: 2n ** 40n })))
      .toBe('IndexError: Target -100 is out of bounds.');
    const u8k: Tensor = { dtype: 'uint8', shape: [2, 2], data: Uint8Array.of(0, 2, 1, 0) };
    expect(message(() => engine.crossEntropy(X3, u8k))).toBe('RuntimeError: expected scalar type Long but found Byte');
    const b: Tensor = { dtype: 'bool', shape: [3], data: Uint8Array.of(0, 1, 1) };
    expect(message(() => engine.crossEntropy(X, b))).toBe('RuntimeError: expected target dtype to be Long or Byte, but got Bool');
  });

  it('raises in PyTorch\'s order', () => {
    const x4 = f32([2, 3, 4, 5], new Array(120).fill(0));
    // a float target beats a bad weight; a bad weight beats an (N, H, W) mismatch
    expect(message(() => engine.crossEntropy(x4, f32([2, 4, 6], new Array(48).fill(0)), { weight: f32([2], [1, 1]) })))
      .toBe('RuntimeError: expected target dtype to be Long or Byte, but got Float');
    expect(message(() => engine.crossEntropy(x4, i64([2, 4, 6], new Array(48).fill(0)), { weight: f32([2], [1, 1]) })))
      .toBe('RuntimeError: weight tensor should be defined either for all or no classes');
    // the reduction string comes first of all
    expect(message(() => engine.crossEntropy(x4, i64([2, 1, 4, 5], new Array(40).fill(0)), { reduction: 'avg' as never })))
      .toBe('ValueError: avg is not a valid value for reduction');
    // smoothing range before the target checks on the index path
    expect(message(() => engine.crossEntropy(x4, i64([2, 1, 4, 5], new Array(40).fill(0)), { labelSmoothing: 1.0000001 })))
      .toBe('RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1');
    // probability path: E1 → E2 → E3
    expect(message(() => engine.crossEntropy(X, i64([3, 4], new Array(12).fill(0)), { ignoreIndex: 1 })))
      .toBe('RuntimeError: Expected floating point type for target with class probabilities, got Long');
    expect(message(() => engine.crossEntropy(X, P, { ignoreIndex: 1, weight: f32([3], [1, 1, 1]) })))
      .toBe('RuntimeError: ignore_index is not supported for floating point target');
    expect(message(() => engine.crossEntropy(X, P, { weight: f32([3], [1, 1, 1]) })))
      .toBe('RuntimeError: cross_entropy: weight tensor should be defined either for all 4 classes or no classes but got weight tensor of shape: [3]');
    // 1-D/2-D weights: shape and dtype (before any bounds check)
    expect(message(() => engine.crossEntropy(X, i64([3], [0, 9, 2]), { weight: f32([4, 1], [1, 1, 1, 1]) })))
      .toBe('RuntimeError: weight tensor should be defined either for all 4 classes or no classes but got weight tensor of shape: [4, 1]');
    expect(message(() => engine.crossEntropy(X, i64([3], [0, 9, 2]), { weight: { dtype: 'float64', shape: [4], data: Float64Array.of(1, 1, 1, 1) } })))
      .toBe('RuntimeError: expected scalar type Float but found Double');
    expect(message(() => engine.crossEntropy({ dtype: 'int64', shape: [3, 4], data: new BigInt64Array(12) }, T)))
      .toBe('NotImplementedError: "log_softmax_lastdim_kernel_impl" not implemented for \'Long\'');
    // (N, C, d1): the class dim is not the last, so the other kernel's name (as TL2017 says it)
    expect(message(() => engine.crossEntropy({ dtype: 'int32', shape: [2, 4, 3], data: new Int32Array(24) }, i64([2, 3], [0, 1, 2, 3, 0, 1]))))
      .toBe('NotImplementedError: "log_softmax_kernel_impl" not implemented for \'Int\'');
    expect(message(() => engine.crossEntropy(X, i64([], [1]))))
      .toBe('ValueError: Expected input batch_size (3) to match target batch_size (0).');
    expect(message(() => engine.nllLoss(f32([], [1]), i64([], [0])))).toBe('ValueError: Expected 1 or more dimensions (got 0)');
    expect(message(() => engine.crossEntropy(f32([], [1]), i64([1], [0]))))
      .toBe('IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)');
    expect(message(() => engine.crossEntropy(f32([2, 3, 4], new Array(24).fill(0)), i64([2, 4, 1], new Array(8).fill(0)))))
      .toBe('RuntimeError: Expected target size [2, 4], got [2, 4, 1]');
    expect(message(() => engine.crossEntropy({ dtype: 'float16', shape: [3, 4], data: new Uint16Array(12) }, T)))
      .toMatch(/^EngineInputError: float16 input is not supported/);
  });

  it('formats doubles as C++ streams do', () => {
    expect([1.5, 1.123456789, 1.0000001, 1e6, 1234567, 0.0001, 0.00001234, 2, Infinity, NaN].map(formatCppDouble))
      .toEqual(['1.5', '1.12346', '1', '1e+06', '1.23457e+06', '0.0001', '1.234e-05', '2', 'inf', 'nan']);
  });

  it('computes float64 inputs in float64 and returns float64', () => {
    const x = { dtype: 'float64' as const, shape: [3, 4], data: Float64Array.from(X.data as Float32Array) };
    const r = engine.crossEntropy(x, T, { reduction: 'none' });
    expect(r.dtype).toBe('float64');
    expect(r.values).toBeInstanceOf(Float64Array);
    const exact = [0, 1, 2].map(i => {
      const row = Array.from(x.data.subarray(i * 4, i * 4 + 4));
      const m = Math.max(...row);
      return Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[i]!;
    });
    r.values!.forEach((v, i) => expect(Math.abs(v - exact[i]!)).toBeLessThan(1e-14));
    expect(engine.crossEntropy(x, T).loss).not.toBe(Math.fround(engine.crossEntropy(x, T).loss!));
  });

  it('takes every long row\'s max from that row (rowsLong carries it over from the previous row\'s pass)', () => {
    // Row offsets jump by 1e4 either way, so a max taken from a neighbouring row would overflow or
    // underflow every exponential; ignored rows force a row's own max pass; a row holding +inf is
    // NaN, one holding -inf entries is finite. C = 1030: 8-float steps, a 4-float step and a 2-lane tail.
    const N = 11, C = 1030;
    const base = [0, 1e4, -1e4, 50, 9e3, -3, 2e4, -2e4, 7, 0, 1e4];
    const x = new Float32Array(N * C);
    for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) x[i * C + c] = base[i]! + 4 * Math.sin(i * 7.1 + c * 0.37);
    x[5 * C + 1029] = Infinity;
    x[8 * C + 3] = -Infinity; x[8 * C + 1028] = -Infinity;
    const ignored = new Set([0, 3, 4, 9]);
    const t = i64([N], Array.from({ length: N }, (_, i) => ignored.has(i) ? -100 : (i * 131) % (C - 1)));
    const X: Tensor = { dtype: 'float32', shape: [N, C], data: x };
    const check = (values: ArrayLike<number>, what: string) => {
      for (let i = 0; i < N; i++) {
        if (ignored.has(i)) { expect(values[i], what).toBe(0); continue; }
        if (i === 5) { expect(values[i], what).toBeNaN(); continue; }
        const row = Array.from(x.subarray(i * C, (i + 1) * C));
        const m = Math.max(...row);
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
        close(values[i]!, lse - row[(i * 131) % (C - 1)]!, 2e-6);
      }
    };
    check(engine.crossEntropy(X, t, { reduction: 'none' }).values!, 'one block');
    // Several blocks: each block's last row takes the next block's first row's max (read in place,
    // or staged with the block into the ring), unless that last row is ignored (rows 3, 4 and 9 end
    // or start blocks of 1–4 rows).
    const plan = planTorch('cross_entropy', X, t, { reduction: 'none' });
    const xr = resident(engine, X);
    for (const blockItems of [1, 2, 3, 4]) {
      check(engine.computeBlocks({ plan, input: X, target: t, blockItems, wantValues: true }).values!, `staged, blocks of ${blockItems}`);
      check(engine.computeBlocks({ plan, input: xr, target: t, blockItems, wantValues: true }).values!, `in place, blocks of ${blockItems}`);
    }
    engine.free(xr);
  });

  it('clamps the exponentials of exactly the long rows whose range exceeds 80 (rowsLong takes each row\'s min with its max)', () => {
    // Narrow rows (range ~8) run without the clamp. Each wide row holds one deep logit 100–150 below
    // its max, where an unclamped exp wraps to a huge negative term (or 1e9 below, or -inf). The deep
    // logit sits in each part of the loops in turn (8-float steps, the 4-float step, the masked tail,
    // which is always clamped) of a row whose min comes from the previous row's pass, and of a row
    // after an ignored one (its own pass: 16-float and 4-float steps). Range 79.5 stays unclamped.
    const C = 1030;
    const deep: Array<[number, number] | null> = [
      [100, 5], null, [120, 300], null, [150, 1025], null, [1e9, 1029], [100, 1028], null, [79.5, 17],
      null, [110, 1026], null, [130, 700], [Infinity, 3],
    ];
    const ignored = new Set([10, 12]); // rows 11 and 13 take their own max/min pass
    const N = deep.length;
    const x = new Float32Array(N * C);
    for (let i = 0; i < N; i++) {
      for (let c = 0; c < C; c++) x[i * C + c] = 3 * (i % 4) + 4 * Math.sin(i * 3.3 + c * 0.21);
      const d = deep[i];
      if (d) x[i * C + d[1]] = Math.fround(Math.max(...x.subarray(i * C, (i + 1) * C)) - d[0]);
    }
    const target = (i: number) => (i * 37) % C;
    const t = i64([N], Array.from({ length: N }, (_, i) => ignored.has(i) ? -100 : target(i)));
    const values = engine.crossEntropy({ dtype: 'float32', shape: [N, C], data: x }, t, { reduction: 'none' }).values!;
    for (let i = 0; i < N; i++) {
      if (ignored.has(i)) { expect(values[i]).toBe(0); continue; }
      const row = Array.from(x.subarray(i * C, (i + 1) * C));
      const m = Math.max(...row);
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
      close(values[i]!, lse - row[target(i)]!, 2e-6);
    }
  });

  it('takes every pixel\'s max from that pixel (a spatial tile\'s max pass rides along the tile before\'s sums)', () => {
    // 3·512 + 37 pixels per image: tiles 0 and 1 take the next tile's max along, tile 2 is followed
    // by a partial tile with a pass of its own. Pixel offsets jump by up to 2e4 from one pixel to the
    // next, so a max from another pixel, class or tile overflows or underflows every exponential.
    // +inf and NaN make a pixel NaN; -inf entries leave it finite. C = 3 (only the pass over the
    // C mod 4 classes, target by selects), 21 (groups of 4, then one more class, target by gather),
    // 2 (its own one-pass path). Blocks of 1024 / 1030 / 600 pixels, staged and in place, and
    // label smoothing (the kernel's statistics, then the smoothing pass) give the same pixels.
    const base = [0, 1e4, -1e4, 50, 9e3, -3, 2e4, -2e4, 7];
    const S = 3 * 512 + 37, N = 2;
    for (const C of [2, 3, 21]) {
      const x = new Float32Array(N * C * S);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < S; p++) {
        x[(n * C + c) * S + p] = base[(p * 7 + n * 3) % base.length]! + 4 * Math.sin(p * 0.37 + c * 1.3 + n);
      }
      const at = (n: number, c: number, p: number) => (n * C + c) * S + p;
      x[at(0, C - 1, 700)] = Infinity; x[at(1, 1, 1030)] = NaN; x[at(0, 0, 1300)] = -Infinity; x[at(1, C - 1, 600)] = -Infinity;
      // pixels whose max stands 200 above the rest, in every class in turn, in every tile
      for (let k = 0; k < 4 * C; k++) x[at(k % N, k % C, (k * 389 + 11) % S)] += 200;
      const targets = Array.from({ length: N * S }, (_, i) => i % 97 === 5 ? -100 : (i * 31) % C);
      const X: Tensor = { dtype: 'float32', shape: [N, C, S], data: x };
      const t = i64([N, S], targets);
      const xr = resident(engine, X);
      for (const eps of [0, 0.1]) {
        const ref = referenceLoss({ fn: 'cross_entropy', x, shape: [N, C, S], target: targets, prob: false, ignoreIndex: -100, reduction: 'none', eps }).values;
        const check = (values: ArrayLike<number>, what: string) => {
          for (let i = 0; i < N * S; i++) {
            if (!Number.isFinite(ref[i]!)) expect(values[i], `${what}, pixel ${i}`).toBe(ref[i]);
            else expect(Math.abs(values[i]! - ref[i]!), `${what}, pixel ${i}`).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(ref[i]!)));
          }
        };
        const what = `C = ${C}, labelSmoothing ${eps}`;
        check(engine.crossEntropy(X, t, { reduction: 'none', labelSmoothing: eps }).values!, what);
        const plan = planTorch('cross_entropy', X, t, { reduction: 'none', labelSmoothing: eps });
        for (const blockItems of [1024, 1030, 600]) {
          check(engine.computeBlocks({ plan, input: X, target: t, blockItems, wantValues: true }).values!, `${what}, staged, blocks of ${blockItems}`);
          check(engine.computeBlocks({ plan, input: xr, target: t, blockItems, wantValues: true }).values!, `${what}, in place, blocks of ${blockItems}`);
        }
      }
      engine.free(xr);
    }
  });

  it.each(['pixels', 'rows'] as const)('two classes (%s): every pairing of finite, equal, ±inf and NaN logits, in every lane', layout => {
    // The C = 2 paths compute one exponential per item, exp(−|a − b|), and take the max class's
    // term as (m − m) + 1: NaN where the max is ±inf (PyTorch: x − max = NaN), 1 elsewhere.
    const specials = [0.5, -2, 3e4, Infinity, -Infinity, NaN];
    const pairs: [number, number][] = [];
    for (const a of specials) for (const b of specials) pairs.push([a, b]);
    pairs.push([1.25, 1.25], [-0, 0], [88, -88]);
    // each pairing at each lane of a vector (and in the partial last one), each class the target
    const S = 4 * pairs.length * 2 + 3;
    const x = new Float32Array(2 * S);
    const targets: number[] = [];
    for (let p = 0; p < S; p++) {
      const [a, b] = pairs[Math.floor(p / 8) % pairs.length]!;
      x[p] = a; x[S + p] = b;
      targets.push(p % 13 === 6 ? -100 : Math.floor(p / 4) % 2);
    }
    // rows: the same pairs, row p = (x[p], x[S + p])
    const data = layout === 'pixels' ? x : Float32Array.from({ length: 2 * S }, (_, i) => x[(i % 2) * S + (i >> 1)]!);
    const shape = layout === 'pixels' ? [1, 2, S] : [S, 2];
    const X: Tensor = { dtype: 'float32', shape, data };
    const t = i64(layout === 'pixels' ? [1, S] : [S], targets);
    const W2 = f32([2], [0.25, 3]);
    for (const weight of [undefined, W2]) {
      for (const eps of [0, 0.2]) {
        const ref = referenceLoss({
          fn: 'cross_entropy', x: data, shape, target: targets, prob: false, ignoreIndex: -100, reduction: 'none', eps,
          weight: weight && Array.from(weight.data as Float32Array),
        }).values;
        const values = engine.crossEntropy(X, t, { reduction: 'none', labelSmoothing: eps, weight }).values!;
        for (let i = 0; i < S; i++) {
          const what = `pixel ${i}: (${x[i]}, ${x[S + i]}), target ${targets[i]}, weight ${!!weight}, labelSmoothing ${eps}`;
          if (!Number.isFinite(ref[i]!)) expect(values[i], what).toBe(ref[i]);
          else expect(Math.abs(values[i]! - ref[i]!), what).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(ref[i]!)));
        }
      }
    }
  });

  it('zero-copy inputs stay valid after the memory grows', () => {
    const x = engine.allocInput([3, 4]);
    (x.data as Float32Array).set(X.data as Float32Array);
    const t = engine.allocTensor([3], 'int64');
    (t.data as BigInt64Array).set(T.data as BigInt64Array);
    const before = engine.crossEntropy(x, t).loss;
    expect(before).toBe(engine.crossEntropy(X, T).loss);
    const big = engine.allocInput([1 << 20, 4]); // grows the memory, detaching old views
    expect(engine.crossEntropy(x, t).loss).toBe(before);
    expect((x.data as Float32Array)[0]).toBe(2); // a fresh view
    engine.free(big);
    engine.free(t);
    engine.free(x);
  });

  it('hands out zero-copy tensors as zeros, over an earlier tensor or an evaluation\'s workspace', () => {
    const x = engine.allocInput([64, 1000]);
    (x.data as Float32Array).fill(3);
    const t = engine.allocTensor([64], 'int32');
    engine.crossEntropy(x, t, { int32Targets: true });
    engine.crossEntropy({ dtype: 'float32', shape: [64, 1000], data: new Float32Array(64_000).fill(5) }, t, { int32Targets: true }); // staged above
    engine.free(t);
    engine.free(x);
    for (const [shape, dtype] of [[[64, 1000], 'float32'], [[20_000], 'int64'], [[200, 1000], 'float32']] as const) {
      const y = engine.allocTensor(shape, dtype);
      expect(new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength).every(v => v === 0), `${shape} ${dtype}`).toBe(true);
      engine.free(y);
    }
  });

  it('TF.js softmaxCrossEntropy (tfjs-core test vectors)', () => {
    const wrong = f32([3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const right = f32([3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const logits = f32([3, 3], [10, -10, -10, -10, 10, -10, -10, -10, 10]);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits).loss, 20);
    close(engine.softmaxCrossEntropyTfjs(right, logits).loss, 0);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([3, 3], [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3]) }).loss, 4);
    const t4 = engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([3], [0.1, 0.2, 0.3]), reduction: 'NONE' });
    expect(t4.shape).toEqual([3]);
    Array.from(t4.values!).forEach((v, i) => close(v, [2, 4, 6][i]!, 1e-5));
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { reduction: 'MEAN' }).loss, 20);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([3], [0.1, 0.2, 0.3]), reduction: 'MEAN' }).loss, 20);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([1, 3], [0.1, 0.2, 0.3]), labelSmoothing: 0.3, reduction: 'MEAN' }).loss, 18);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { reduction: 'SUM' }).loss, 60);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([3], [0, 0.2, 0.3]) }).loss, 5);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([], [2]) }).loss, 40);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { labelSmoothing: 1 }).loss, 13.333333);
    close(engine.softmaxCrossEntropyTfjs(wrong, logits, { labelSmoothing: -0.5 }).loss, 20);
    close(engine.softmaxCrossEntropyTfjs(f32([3], [0, 1, 0]), f32([3], [1, 2, 3])).loss, 1.40760589);
    const l3 = f32([2, 2, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const x3 = f32([2, 2, 3], [1, 2, 3, 0, 0, 0, 3, 1, 2, 0, 5, 1]);
    const none = engine.softmaxCrossEntropyTfjs(l3, x3, { reduction: 'NONE' });
    expect(none.shape).toEqual([2, 2]);
    Array.from(none.values!).forEach((v, i) => close(v, [0.407605886, 1.09861231, 2.40760589, 4.02474499][i]!));
    // the shape[1] quirk: smoothing divides by 2 here, not by 3 classes
    const q = engine.softmaxCrossEntropyTfjs(l3, x3, { reduction: 'NONE', labelSmoothing: 0.3 });
    Array.from(q.values!).forEach((v, i) => close(v, [0.918746829, 1.26340413, 2.31874704, 4.17845678][i]!));
    const e = (fn: () => unknown) => { try { fn(); } catch (err) { expect(err).toBeInstanceOf(TfjsError); return (err as Error).message; } return 'no error'; };
    expect(e(() => engine.softmaxCrossEntropyTfjs(f32([3, 3], new Array(9).fill(10)), f32([2, 3], new Array(6).fill(10)))))
      .toBe('Error in softmaxCrossEntropy:  Shapes 3,3 and 2,3 must match');
    expect(e(() => engine.softmaxCrossEntropyTfjs(wrong, logits, { reduction: 'AVG' as never }))).toBe('Unknown reduction: AVG');
    expect(e(() => engine.softmaxCrossEntropyTfjs(wrong, logits, { weights: f32([2], [1, 1]) })))
      .toBe('Operands could not be broadcast together with shapes 3 and 2.');
  });

  it('reports progress between blocks on large inputs', () => {
    // rows in blocks of ≈ 128k logits (12 here), pixels in blocks of ≈ 1M that never cross an image (16)
    for (const shape of [[3000, 500], [16, 5, 300, 300]]) {
      const items = shape[0]! * shape.slice(2).reduce((a, b) => a * b, 1);
      const x: Tensor = { dtype: 'float32', shape, data: new Float32Array(items * shape[1]!) };
      const t: Tensor = { dtype: 'int64', shape: [shape[0]!, ...shape.slice(2)], data: new BigInt64Array(items) };
      const seen: [number, number][] = [];
      const r = engine.crossEntropy(x, t, {}, { onProgress: (d, total) => seen.push([d, total]) });
      close(r.loss, Math.log(shape[1]!));
      expect(seen.length).toBeGreaterThan(10);
      expect(seen.length).toBeLessThanOrEqual(101);
      expect(seen[seen.length - 1]).toEqual([items, items]);
      expect(seen.every(([d], i) => i === 0 || d > seen[i - 1]![0])).toBe(true);
    }
    // small inputs stay quiet
    engine.crossEntropy(X, T, {}, { onProgress: () => { throw new Error('unexpected progress'); } });
  });

  it('rejects malformed tensors clearly', () => {
    expect(() => engine.crossEntropy(f32([3, 4], [1, 2]), T)).toThrow(EngineInputError);
    expect(() => engine.crossEntropy({ dtype: 'float32', shape: [-1, 4], data: new Float32Array(0) }, T)).toThrow(/invalid shape/);
  });
});

describe('build selection', () => {
  it('prefers relaxed SIMD (where its multiply-add fuses), then SIMD, then scalar, by what validates', () => {
    expect(selectEngineFile(() => true, () => true)).toBe('ce-relaxed.wasm');
    // relaxed SIMD that rounds twice (an x64 without FMA): the SIMD build
    expect(selectEngineFile(() => true, () => false)).toBe('ce-simd.wasm');
    let calls = 0;
    expect(selectEngineFile(() => ++calls === 2, () => true)).toBe('ce-simd.wasm');
    expect(selectEngineFile(() => false)).toBe('ce-scalar.wasm');
    // this Node (20) has SIMD; relaxed SIMD only behind a flag
    expect(selectEngineFile()).toBe(process.execArgv.includes('--experimental-wasm-relaxed-simd') ? 'ce-relaxed.wasm' : 'ce-simd.wasm');
  });

  it('tells a fused relaxed multiply-add from a rounded one (the FMA probe)', () => {
    // the probe's operands: a·a + c is 2^−24 exactly, and 0 once a·a is rounded to f32
    const a = 1 + 2 ** -12, c = -(1 + 2 ** -11);
    expect(a * a + c).toBe(2 ** -24);
    expect(Math.fround(a * a) + c).toBe(0);
    // this CPU has FMA: under the flag the probe module runs and fuses (without it, it cannot run)
    const run = `const m = new WebAssembly.Module(Uint8Array.from(${JSON.stringify([...FMA_PROBE])}));
      process.stdout.write(String(new WebAssembly.Instance(m, {}).exports.f()));`;
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', run], { encoding: 'utf8' });
    expect(Number(out)).toBe(2 ** -24);
    expect(relaxedMaddFuses()).toBe(process.execArgv.includes('--experimental-wasm-relaxed-simd'));
  });
});
