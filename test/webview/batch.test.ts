// The batch the worker hands the engine: sources (literal, seeded random) and the conversions
// (class axis last → dim 1, index ⇄ probability targets, random log-probabilities).
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../compute/types';
import type { EvaluationSpec, TensorSource } from '../../protocol/webview';
import { prepareBatch } from '../../webview/model/prepare';
import { literalTensor, randomTensor } from '../../webview/model/sources';
import { fillNormal } from '../../webview/model/random';

type Random = Extract<TensorSource, { kind: 'random' }>;
const spec = (over: Partial<EvaluationSpec>): EvaluationSpec => ({
  function: 'cross_entropy', reduction: 'mean', ignoreIndex: -100, labelSmoothing: 0, classAxis: 'first', targetKind: 'index',
  input: { kind: 'random', shape: [2, 3], seed: 1, distribution: 'logits' },
  target: { kind: 'random', shape: [2], seed: 2, distribution: 'classIndex', classes: 3 },
  details: false, ...over,
});
const f32 = (shape: number[], v: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(v) });
const i64 = (shape: number[], v: number[]): Tensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(v.map(BigInt)) });

describe('sources', () => {
  it('makes literals of their dtype', () => {
    const t = literalTensor({ kind: 'literal', shape: [2], dtype: 'int64', values: [3, 0] });
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect([...t.data]).toEqual([3n, 0n]);
    expect(literalTensor({ kind: 'literal', shape: [1], dtype: 'float16', values: [0.5] }).dtype).toBe('float32');
  });

  it('is deterministic per seed and scaled', () => {
    const src: Random = { kind: 'random', shape: [1000], seed: 7, distribution: 'logits', scale: 0.05 };
    const a = randomTensor(src, 'first').data as Float32Array;
    const b = randomTensor(src, 'first').data as Float32Array;
    expect(a).toEqual(b);
    expect(randomTensor({ ...src, seed: 8 }, 'first').data).not.toEqual(a);
    let sum = 0, sq = 0;
    for (const v of a) { sum += v; sq += v * v; }
    const sd = Math.sqrt(sq / a.length - (sum / a.length) ** 2);
    expect(sd).toBeGreaterThan(0.045);
    expect(sd).toBeLessThan(0.055);
  });

  it('reports generation progress', () => {
    const seen: number[] = [];
    fillNormal(new Float32Array(3 << 20), 1, 1, f => seen.push(f));
    expect(seen.length).toBe(2);
    expect(seen[0]).toBeCloseTo(1 / 3, 6);
  });

  it('draws class indices in range, in the dtype asked for', () => {
    const t = randomTensor({ kind: 'random', shape: [500], seed: 3, distribution: 'classIndex', classes: 7, dtype: 'int32' }, 'first');
    expect(t.data).toBeInstanceOf(Int32Array);
    const seen = new Set(t.data as Int32Array);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(randomTensor({ kind: 'random', shape: [3], seed: 3, distribution: 'classIndex', classes: 7 }, 'first').dtype).toBe('int64');
  });

  it('normalises random probabilities over the class axis of either layout', () => {
    const first = randomTensor({ kind: 'random', shape: [2, 4, 3], seed: 5, distribution: 'probability' }, 'first').data as Float32Array;
    for (let b = 0; b < 2; b++) for (let p = 0; p < 3; p++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += first[(b * 4 + k) * 3 + p];
      expect(s).toBeCloseTo(1, 6);
    }
    const last = randomTensor({ kind: 'random', shape: [2, 3, 4], seed: 5, distribution: 'probability' }, 'last').data as Float32Array;
    for (let r = 0; r < 6; r++) expect(last.slice(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('draws class weights in [0.5, 1.5)', () => {
    const w = randomTensor({ kind: 'random', shape: [100], seed: 9, distribution: 'weight' }, 'first').data as Float32Array;
    expect(Math.min(...w)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...w)).toBeLessThan(1.5);
  });
});

describe('prepareBatch', () => {
  it('moves the class axis of TF.js-layout logits (and a same-shape target) to dim 1', () => {
    const input = f32([1, 2, 3], [1, 2, 3, 4, 5, 6]); // [N, H, C]
    const { input: x, target: t } = prepareBatch(spec({ classAxis: 'last', targetKind: 'probability' }), input, f32([1, 2, 3], [0, 0, 1, 1, 0, 0]));
    expect(x.shape).toEqual([1, 3, 2]);
    expect([...x.data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(t.shape).toEqual([1, 3, 2]);
    expect([...t.data]).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('one-hots index targets when probabilities are asked for', () => {
    const { target } = prepareBatch(spec({ targetKind: 'probability' }), f32([2, 3], [0, 0, 0, 0, 0, 0]), i64([2], [2, 0]));
    expect(target.shape).toEqual([2, 3]);
    expect([...target.data]).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it('takes the argmax of float probability targets when indices are asked for', () => {
    const { target } = prepareBatch(spec({}), f32([2, 3], [0, 0, 0, 0, 0, 0]), f32([2, 3], [0.1, 0.7, 0.2, 0.5, 0.25, 0.25]));
    expect(target.dtype).toBe('int64');
    expect([...target.data]).toEqual([1n, 0n]);
  });

  it('leaves an integer target of the input shape alone, so PyTorch reports it', () => {
    const t = i64([2, 3], [0, 1, 0, 1, 0, 0]);
    expect(prepareBatch(spec({}), f32([2, 3], [0, 0, 0, 0, 0, 0]), t).target).toBe(t);
  });

  it('makes random nll_loss inputs log-probabilities', () => {
    const s = spec({ function: 'nll_loss', input: { kind: 'random', shape: [1, 2], seed: 1, distribution: 'logProbabilities' } });
    const { input } = prepareBatch(s, f32([1, 2], [0, 0]), i64([1], [0]));
    expect(input.data[0]).toBeCloseTo(Math.log(0.5), 6);
    expect(input.data[1]).toBeCloseTo(Math.log(0.5), 6);
  });
});
