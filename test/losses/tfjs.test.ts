// Unit tests of the TF.js loss and metric rules (labels first in TF.js; `target` = labels here).

import { describe, expect, it } from 'vitest';
import { formatShape } from '../../server/analysis/dims';
import { checkTfjsOneHotDepth, known } from '../../server/analysis/losses';
import { call, message, messages, t } from './helpers';

describe('tf.losses.softmaxCrossEntropy', () => {
  it('shapes must match (two spaces, as TF.js prints it)', () => {
    expect(messages(call('tfjs.softmaxCrossEntropy', t([2, 3], 'float32'), t([3, 3], 'float32')))).toEqual(['TL2022: Error in softmaxCrossEntropy:  Shapes 3,3 and 2,3 must match']);
  });
  it('class indices instead of one-hot labels: tf.oneHot fix', () => {
    const r = call('tfjs.softmaxCrossEntropy', t([32, 10], 'float32'), t([32], 'int32'));
    expect(messages(r)).toEqual(['TL2022: Error in softmaxCrossEntropy:  Shapes 32 and 32,10 must match']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'wrap', subject: 'target', template: 'tf.oneHot($0, 10)' });
  });
  it('float class indices get toInt() in the fix', () => {
    const r = call('tfjs.softmaxCrossEntropy', t(['N', 'C'], 'float32'), t(['N'], 'float32'));
    expect(messages(r)).toEqual(['TL2022: Error in softmaxCrossEntropy:  Shapes N and N,C must match']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ template: 'tf.oneHot($0.toInt(), C)' });
  });
  it('NCHW labels against NHWC logits: layout mismatch with symbolic sizes, transpose fix', () => {
    const r = call('tfjs.softmaxCrossEntropy', t(['N', 'H', 'W', 'C'], 'float32'), t(['N', 'C', 'H', 'W'], 'float32'));
    expect(messages(r)).toEqual(['TL2022: Error in softmaxCrossEntropy:  Shapes N,C,H,W and N,H,W,C must match']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.transpose([0, 2, 3, 1])' });
  });
  it('weights that do not broadcast against the per-example losses', () => {
    const r = call('tfjs.softmaxCrossEntropy', t([3, 3], 'float32'), t([3, 3], 'float32'), { weights: t([2], 'float32') });
    expect(messages(r)).toEqual(['TL2025: Operands could not be broadcast together with shapes 3 and 2.']);
    expect(r.findings[0].subject).toBe('arg2');
    expect(messages(call('tfjs.softmaxCrossEntropy', t([3, 3], 'float32'), t([3, 3], 'float32'), { weights: t([3, 1], 'float32') }))).toEqual([]);
  });
  it('unknown reduction', () => {
    expect(messages(call('tfjs.softmaxCrossEntropy', t([2, 3], 'float32'), t([2, 3], 'float32'), { reduction: 7 }))).toEqual(['TL2028: Unknown reduction: 7']);
    expect(messages(call('tfjs.softmaxCrossEntropy', t([2, 3], 'float32'), t([2, 3], 'float32'), { reduction: 'MEAN' }))).toEqual([]);
  });
  it('outputs: scalar by default, logits without the class axis for NONE', () => {
    expect(formatShape(call('tfjs.softmaxCrossEntropy', t(['N', 'C'], 'float32'), t(['N', 'C'], 'float32')).output?.shape)).toBe('[]');
    expect(formatShape(call('tfjs.softmaxCrossEntropy', t([2, 4, 3], 'float32'), t([2, 4, 3], 'float32'), { reduction: 'NONE' }).output?.shape)).toBe('[2, 4]');
    expect(formatShape(call('tfjs.softmaxCrossEntropy', t([2, 4, 3], 'float32'), t([2, 4, 3], 'float32'), { reduction: 0 }).output?.shape)).toBe('[2, 4]');
  });
  it('one class, softmax input, argMax input: warnings', () => {
    expect(messages(call('tfjs.softmaxCrossEntropy', t(['N', 1], 'float32'), t(['N', 1], 'float32')))).toEqual(['TL4001: softmaxCrossEntropy over a single class is always 0: the input has 1 class along dim 1']);
    expect(messages(call('tfjs.softmaxCrossEntropy', t(['N', 10], 'float32', { producer: { op: 'softmax' } }), t(['N', 10], 'float32')))).toEqual(['TL4005: the input of softmaxCrossEntropy is already the output of softmax: softmaxCrossEntropy applies softmax itself']);
  });
  it('int32 labels are accepted', () => {
    expect(messages(call('tfjs.softmaxCrossEntropy', t([3, 3], 'float32'), t([3, 3], 'int32')))).toEqual([]);
  });
});

describe('tf.losses.sigmoidCrossEntropy / meanSquaredError', () => {
  it('shapes must match', () => {
    expect(messages(call('tfjs.sigmoidCrossEntropy', t([3, 1], 'float32'), t([3], 'float32')))).toEqual(['TL2022: Error in sigmoidCrossEntropy:  Shapes 3 and 3,1 must match']);
    expect(messages(call('tfjs.meanSquaredError', t([3, 1], 'float32'), t([3], 'float32')))).toEqual(['TL2022: Error in meanSquaredError:  Shapes 3 and 3,1 must match']);
  });
  it('weights against the element losses', () => {
    expect(messages(call('tfjs.meanSquaredError', t([3, 3], 'float32'), t([3, 3], 'float32'), { weights: t([2], 'float32') }))).toEqual(['TL2025: Operands could not be broadcast together with shapes 3,3 and 2.']);
  });
  it('NONE keeps the shape', () => {
    expect(formatShape(call('tfjs.sigmoidCrossEntropy', t([2, 4], 'float32'), t([2, 4], 'float32'), { reduction: 'NONE' }).output?.shape)).toBe('[2, 4]');
  });
});

describe('tf.metrics', () => {
  it('categoricalCrossentropy: broadcast error', () => {
    expect(messages(call('tfjs.categoricalCrossentropy', t([32, 10], 'float32'), t([32], 'float32')))).toEqual(['TL2025: Operands could not be broadcast together with shapes 32 and 32,10.']);
    expect(messages(call('tfjs.categoricalCrossentropy', t([4, 5], 'float32'), t([4, 3], 'float32')))).toEqual(['TL2025: Operands could not be broadcast together with shapes 4,3 and 4,5.']);
  });
  it('categoricalCrossentropy: labels that broadcast silently', () => {
    const r = call('tfjs.categoricalCrossentropy', t(['N', 10], 'float32'), t(['N', 1], 'float32'));
    expect(messages(r)).toEqual(['TL4007: labels of shape [N, 1] broadcast against predictions of shape [N, 10]: categoricalCrossentropy computes a loss over the broadcast shape']);
  });
  it('categoricalCrossentropy: per-example output', () => {
    expect(formatShape(call('tfjs.categoricalCrossentropy', t([2, 4, 3], 'float32'), t([2, 4, 3], 'float32')).output?.shape)).toBe('[2, 4]');
  });
  it('binaryCrossentropy: JSON shapes', () => {
    expect(messages(call('tfjs.binaryCrossentropy', t([32, 1], 'float32'), t([32], 'float32')))).toEqual(['TL2026: logits and labels must have the same shape, but got shapes [32] and [32,1]']);
    expect(formatShape(call('tfjs.binaryCrossentropy', t([2, 4], 'float32'), t([2, 4], 'float32')).output?.shape)).toBe('[2]');
  });
  it('sparseCategoricalCrossentropy: one-hot labels', () => {
    expect(messages(call('tfjs.sparseCategoricalCrossentropy', t([32, 10], 'float32'), t([32, 10], 'float32')))).toEqual(['TL2027: Size(3200) must match the product of shape 32,10']);
    expect(messages(call('tfjs.sparseCategoricalCrossentropy', t(['N', 10], 'float32'), t(['N', 10], 'float32')))).toEqual(['TL2027: Size(100*N) must match the product of shape N,10']);
  });
  it('sparseCategoricalCrossentropy: batch mismatch', () => {
    expect(messages(call('tfjs.sparseCategoricalCrossentropy', t([3, 4], 'float32'), t([2], 'float32')))).toEqual(['TL2027: Size(8) must match the product of shape 3,4']);
  });
  it('sparseCategoricalCrossentropy: one class', () => {
    expect(messages(call('tfjs.sparseCategoricalCrossentropy', t([3, 1], 'float32'), t([3], 'float32')))).toEqual(['TL2023: Error in oneHot: depth must be >=2, but it is 1']);
  });
  it('sparseCategoricalCrossentropy: out-of-range labels are silent', () => {
    const r = call('tfjs.sparseCategoricalCrossentropy', t([3, 4], 'float32'), t([3], 'float32', { values: [1, 2, 9] }));
    expect(messages(r)).toEqual(['TL4006: label 9 is outside [0, 4): sparseCategoricalCrossentropy turns it into an all-zero one-hot row, which adds nothing to the loss']);
    expect(formatShape(r.output?.shape)).toBe('[3]');
  });
  it('sparseCategoricalCrossentropy: segmentation labels [N, H, W] against [N, H, W, C]', () => {
    expect(messages(call('tfjs.sparseCategoricalCrossentropy', t(['N', 'H', 'W', 3], 'float32'), t(['N', 'H', 'W'], 'int32')))).toEqual([]);
  });
});

describe('tf.oneHot depth', () => {
  it('depth 1 is refused, depth unknown or >= 2 is fine', () => {
    const f = checkTfjsOneHotDepth(known(1));
    expect(f && message(f)).toBe('Error in oneHot: depth must be >=2, but it is 1');
    expect(checkTfjsOneHotDepth(known(2))).toBeUndefined();
    expect(checkTfjsOneHotDepth({ known: false })).toBeUndefined();
  });
});

describe('TF.js: more causes', () => {
  it('a column of int32 class indices [N, 1] against [N, C] logits', () => {
    const r = call('tfjs.softmaxCrossEntropy', t([32, 10], 'float32'), t([32, 1], 'int32'));
    expect(messages(r)).toEqual(['TL2022: Error in softmaxCrossEntropy:  Shapes 32,1 and 32,10 must match']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'wrap', template: 'tf.oneHot($0.reshape([-1]), 10)' });
  });
  it('sigmoidCrossEntropy on sigmoid output', () => {
    expect(messages(call('tfjs.sigmoidCrossEntropy', t(['N', 3], 'float32', { producer: { op: 'sigmoid' } }), t(['N', 3], 'float32')))).toEqual(['TL4008: the input of sigmoidCrossEntropy is already the output of sigmoid: sigmoidCrossEntropy applies sigmoid itself']);
  });
});
