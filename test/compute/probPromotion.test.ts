// Probability targets of another dtype than the logits: PyTorch's type promotion decides the loss's
// dtype (ce-semantics §1.3: float32 logits with float64 probabilities give a float64 loss).

import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../compute/node/loadEngine';
import { createNodePool } from '../../compute/node/pool';
import type { Tensor } from '../../compute/types';

/** −Σ_c y·log_softmax(x) per row, in doubles: the float64 reference. */
function reference(x: Float32Array, y: Float64Array, N: number, C: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[i * C + c]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[i * C + c]! - m);
    const lse = m + Math.log(s);
    let l = 0;
    for (let c = 0; c < C; c++) l -= y[i * C + c]! * (x[i * C + c]! - lse);
    out.push(l);
  }
  return out;
}

describe.each(['ce-simd.wasm', 'ce-scalar.wasm'] as const)('probability targets and type promotion (%s)', file => {
  const N = 5, C = 7;
  const x = Float32Array.from({ length: N * C }, (_, i) => Math.sin(i * 1.7) * 4);
  const y = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += (y[i * C + c] = 1 + ((i * 31 + c * 17) % 11) / 3);
    for (let c = 0; c < C; c++) y[i * C + c]! /= s;
  }
  const input: Tensor = { dtype: 'float32', shape: [N, C], data: x };
  const ref = reference(x, y, N, C);

  it('float32 logits with float64 probabilities: a float64 loss, as PyTorch promotes', async () => {
    const engine = await loadEngine({ file });
    const target: Tensor = { dtype: 'float64', shape: [N, C], data: y };
    const mean = engine.crossEntropy(input, target);
    expect(mean.dtype).toBe('float64');
    const want = ref.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(mean.loss! - want)).toBeLessThan(1e-12 * want);
    const none = engine.crossEntropy(input, target, { reduction: 'none' });
    expect(none.values).toBeInstanceOf(Float64Array);
    none.values!.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-12 * ref[i]!));
  });

  it('float32 logits with float32 probabilities stay float32', async () => {
    const engine = await loadEngine({ file });
    const target: Tensor = { dtype: 'float32', shape: [N, C], data: Float32Array.from(y) };
    const mean = engine.crossEntropy(input, target);
    expect(mean.dtype).toBe('float32');
    expect(Math.fround(mean.loss!)).toBe(mean.loss);
    expect(Math.abs(mean.loss! - ref.reduce((a, b) => a + b, 0) / N)).toBeLessThan(1e-6);
  });
});

describe('probability targets and type promotion in the worker pool', () => {
  it('gives the single engine\'s float64 loss, bit for bit', async () => {
    const N = 4096, C = 10;
    const x = Float32Array.from({ length: N * C }, (_, i) => Math.cos(i * 0.37) * 3);
    const y = Float64Array.from({ length: N * C }, (_, i) => ((i * 7) % 13 + 1) / 70);
    const input: Tensor = { dtype: 'float32', shape: [N, C], data: x };
    const target: Tensor = { dtype: 'float64', shape: [N, C], data: y };
    const engine = await loadEngine({ file: 'ce-simd.wasm' });
    const one = engine.crossEntropy(input, target, { labelSmoothing: 0.1 });
    const pool = await createNodePool({ size: 2, file: 'ce-simd.wasm', minParallelElements: 0 });
    try {
      const many = await pool.crossEntropy(input, target, { labelSmoothing: 0.1 });
      expect(many.dtype).toBe('float64');
      expect(many.loss).toBe(one.loss);
    } finally {
      await pool.terminate();
    }
  });
});
