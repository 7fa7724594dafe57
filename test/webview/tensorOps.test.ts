// One-hot and argmax conversion, class-axis moves, and the batch statistics of the loss panel.
import { describe, expect, it } from 'vitest';
import { TorchError, type Tensor } from '../../compute/types';
import { argmaxClasses, classLastToFirst, oneHot } from '../../webview/model/tensorOps';
import { classSummary, logOfSoftmax, perSample, predictions, softmaxAt, targetIndices } from '../../webview/model/batchStats';
import { shiftLine } from '../../client/lossPanel/lineTracking';

const i64 = (shape: number[], v: number[]): Tensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(v.map(BigInt)) });
const f32 = (shape: number[], v: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(v) });

describe('oneHot', () => {
  it('puts classes on dim 1 for [N] and [N, H, W] targets', () => {
    const t = oneHot(i64([3], [2, 0, 1]), 3);
    expect(t.shape).toEqual([3, 3]);
    expect([...t.data]).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const s = oneHot(i64([1, 2, 2], [0, 1, 2, 1]), 3);
    expect(s.shape).toEqual([1, 3, 2, 2]);
    // class 0 plane, class 1 plane, class 2 plane
    expect([...s.data]).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    expect(s.dtype).toBe('float32');
  });
  it('makes a 0-d target a [C] vector', () => {
    const t = oneHot(i64([], [1]), 4);
    expect(t.shape).toEqual([4]);
    expect([...t.data]).toEqual([0, 1, 0, 0]);
  });
  it("fails as F.one_hot does", () => {
    expect(() => oneHot(i64([2], [0, -100]), 3)).toThrow(new TorchError('RuntimeError', 'Class values must be non-negative.'));
    expect(() => oneHot(i64([2], [0, 3]), 3)).toThrow('Class values must be smaller than num_classes.');
    expect(() => oneHot({ dtype: 'int32', shape: [1], data: Int32Array.of(0) }, 3)).toThrow('one_hot is only applicable to index tensor.');
  });
  it('round-trips with argmax', () => {
    const idx = i64([2, 3, 2], [0, 1, 2, 3, 4, 0, 4, 3, 2, 1, 0, 4]);
    const back = argmaxClasses(oneHot(idx, 5));
    expect(back.shape).toEqual([2, 3, 2]);
    expect([...back.data]).toEqual([...idx.data]);
  });
});

describe('argmaxClasses', () => {
  it('takes the first maximum, and NaN as the maximum, like torch.argmax', () => {
    const t = argmaxClasses(f32([3, 3], [1, 5, 5, 0, NaN, 9, 2, 2, 2]));
    expect([...t.data]).toEqual([1n, 1n, 0n]);
    expect(t.dtype).toBe('int64');
  });
  it('reduces dim 0 of a 1-D target', () => {
    expect([...argmaxClasses(f32([4], [0.1, 0.2, 0.6, 0.1])).data]).toEqual([2n]);
  });
});

describe('classLastToFirst', () => {
  it('moves the last dim to dim 1', () => {
    // [1, 2, 3]: two pixels, three classes → [1, 3, 2]
    const t = classLastToFirst(f32([1, 2, 3], [1, 2, 3, 4, 5, 6]));
    expect(t.shape).toEqual([1, 3, 2]);
    expect([...t.data]).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it('leaves [N, C] and [C] alone', () => {
    const t = f32([2, 2], [1, 2, 3, 4]);
    expect(classLastToFirst(t)).toBe(t);
  });
  it('keeps the dtype, including int64', () => {
    const t = classLastToFirst(i64([1, 1, 2, 2], [1, 2, 3, 4]));
    expect(t.dtype).toBe('int64');
    expect(t.shape).toEqual([1, 2, 1, 2]);
    expect([...t.data]).toEqual([1n, 3n, 2n, 4n]);
  });
});

describe('batch statistics', () => {
  it('predicts by argmax over dim 1 and counts per class', () => {
    const input = f32([4, 3], [9, 0, 0, 0, 9, 0, 0, 9, 0, 0, 0, 9]);
    const pred = predictions(input);
    expect([...pred]).toEqual([0, 1, 1, 2]);
    const s = classSummary(pred, [0, 1, 2, -100], 3, -100);
    expect(s).toMatchObject({ counted: 3, correct: 2, targetCounts: [1, 1, 1], predictedCounts: [1, 2, 0], truePositives: [1, 1, 0] });
    expect(s.topConfusions).toEqual([{ target: 2, predicted: 1, count: 1 }]);
  });
  it('predicts per pixel for [N, C, H, W]', () => {
    // N=1, C=2, H=1, W=2: pixel 0 prefers class 1, pixel 1 class 0
    expect([...predictions(f32([1, 2, 1, 2], [0, 5, 1, 0]))]).toEqual([1, 0]);
  });
  it('reads targets of the input shape as probabilities', () => {
    expect([...targetIndices(f32([2, 2], [0.2, 0.8, 0.9, 0.1]), [2, 2])]).toEqual([1, 0]);
    expect([...targetIndices(i64([2], [1, 0]), [2, 2])]).toEqual([1, 0]);
  });
  it('per-sample losses average the non-ignored pixels', () => {
    const v = Float32Array.of(1, 2, 3, 4, 5, 6);
    expect([...perSample(v, [2, 3])]).toEqual([2, 5]);
    expect([...perSample(v, [2, 3], Uint8Array.of(0, 0, 1, 1, 1, 1))]).toEqual([1.5, NaN]);
    expect([...perSample(v, [6])]).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('log of softmax matches log-sum-exp and softmaxAt', () => {
    const input = f32([2, 3], [1, 2, 3, -1, 0, 1000]);
    const lp = logOfSoftmax(input);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(lp.data[0]).toBeCloseTo(1 - lse, 6);
    expect(lp.data[5]).toBeCloseTo(0, 6);
    expect(softmaxAt(input, 0, 2)).toBeCloseTo(Math.exp(3 - lse), 12);
    expect(softmaxAt(input, 1, 2)).toBe(1);
  });
});

describe('shiftLine', () => {
  it('moves with edits above, stays with edits below, and is lost when its line is edited', () => {
    expect(shiftLine(10, { startLine: 2, endLine: 2, insertedLines: 3 })).toBe(13);
    expect(shiftLine(10, { startLine: 2, endLine: 5, insertedLines: 0 })).toBe(7);
    expect(shiftLine(10, { startLine: 11, endLine: 12, insertedLines: 5 })).toBe(10);
    expect(shiftLine(10, { startLine: 10, endLine: 10, insertedLines: 0 })).toBeUndefined();
    expect(shiftLine(10, { startLine: 8, endLine: 10, insertedLines: 0 })).toBeUndefined();
  });
});
