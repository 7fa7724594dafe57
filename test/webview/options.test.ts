// Option handling of the loss panel: defaults, pre-filling from a loss call, and the evaluation spec.
import { describe, expect, it } from 'vitest';
import type { LossCall } from '../../server/analysis/api';
import {
  buildSpec, classesOf, defaultState, editableSymbols, indexTargetShape, noteText, OptionError, parseDimValue,
  parseIgnoreIndex, parseLabelSmoothing, reductionOf, stateForCall,
} from '../../webview/model/options';
import { validateSpec } from '../../protocol/webview';

function call(over: Partial<LossCall> = {}): LossCall {
  return {
    fileName: '/w/train.ts',
    range: { start: 100, end: 140 },
    function: 'cross_entropy',
    profile: 'torch',
    input: { shape: ['N', 'C', 'H', 'W'], shapeText: '[N, C, H, W]', dtype: 'float32', text: 'logits' },
    target: { shape: ['N', 1, 'H', 'W'], shapeText: '[N, 1, H, W]', dtype: 'int64', text: 'masks' },
    knownDims: { C: 21 },
    ...over,
  };
}

describe('defaults', () => {
  it('evaluates random [4, 10] logits against int64 targets with PyTorch defaults', () => {
    const spec = buildSpec(defaultState());
    expect(spec).toMatchObject({ function: 'cross_entropy', reduction: 'mean', ignoreIndex: -100, labelSmoothing: 0, classAxis: 'first' });
    expect(spec.input).toMatchObject({ kind: 'random', shape: [4, 10], distribution: 'logits' });
    expect(spec.target).toMatchObject({ kind: 'random', shape: [4], distribution: 'classIndex', classes: 10, dtype: 'int64' });
    expect(spec.weight).toBeUndefined();
    expect(validateSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
});

describe('stateForCall', () => {
  it('takes the call shapes, keeps the bad [N, 1, H, W] target so the panel reproduces PyTorch, and fills dims', () => {
    const s = stateForCall({ uri: 'file:///w/train.ts', call: call() });
    expect(s.inputShapeText).toBe('[N, C, H, W]');
    expect(s.targetShapeText).toBe('[N, 1, H, W]');
    expect(s.dims).toEqual({ N: 4, C: 21, H: 16, W: 16 });
    expect(s.targetKind).toBe('index');
    const spec = buildSpec(s);
    expect(spec.input).toMatchObject({ shape: [4, 21, 16, 16] });
    expect(spec.target).toMatchObject({ shape: [4, 1, 16, 16], classes: 21, distribution: 'classIndex' });
  });

  it('prefers the call known sizes over earlier edits, and earlier edits over defaults', () => {
    const prev = { ...defaultState(), dims: { N: 2, C: 3, H: 5 } };
    const s = stateForCall({ uri: 'u', call: call() }, prev);
    expect(s.dims).toEqual({ N: 2, C: 21, H: 5, W: 16 });
  });

  it('maps options: reduction, ignore index, label smoothing', () => {
    const s = stateForCall({ uri: 'u', call: call({ reduction: 'none', ignoreIndex: 255, labelSmoothing: 0.1 }) });
    expect([s.reduction, s.ignoreIndex, s.labelSmoothing]).toEqual(['none', 255, 0.1]);
  });

  it('treats a target of the input shape as class probabilities', () => {
    const s = stateForCall({ uri: 'u', call: call({ target: { shape: ['N', 'C', 'H', 'W'], shapeText: '', dtype: 'float32', text: 't' } }) });
    expect(s.targetKind).toBe('probability');
    expect(buildSpec(s).target).toMatchObject({ distribution: 'probability', shape: [4, 21, 16, 16] });
  });

  it('uses literal values from the code when they fill their shape', () => {
    const c = call({
      input: { shape: [2, 3], shapeText: '[2, 3]', dtype: 'float32', text: 'tensor(...)', values: [1, 2, 3, 4, 5, 6] },
      target: { shape: [2], shapeText: '[2]', dtype: 'int64', text: 'tensor([0, 2])', values: [0, 2] },
      knownDims: {},
    });
    const spec = buildSpec(stateForCall({ uri: 'u', call: c }));
    expect(spec.input).toEqual({ kind: 'literal', shape: [2, 3], dtype: 'float32', values: [1, 2, 3, 4, 5, 6] });
    expect(spec.target).toEqual({ kind: 'literal', shape: [2], dtype: 'int64', values: [0, 2] });
  });

  it('falls back to random when a literal does not fill its shape', () => {
    const c = call({ input: { shape: [2, 3], shapeText: '[2, 3]', dtype: 'float32', text: 'x', values: [1, 2] } });
    expect(stateForCall({ uri: 'u', call: c }).sources.input.kind).toBe('random');
  });

  it('maps TF.js calls to the last class axis and keeps an int32 target dtype for PyTorch to reject', () => {
    const c = call({
      function: 'tfjs.softmaxCrossEntropy', profile: 'tfjs',
      input: { shape: ['N', 10], shapeText: '', dtype: 'float32', text: 'logits' },
      target: { shape: ['N', 10], shapeText: '', dtype: 'float32', text: 'labels' },
      knownDims: {},
    });
    const s = stateForCall({ uri: 'u', call: c });
    expect([s.function, s.classAxis, s.targetKind]).toEqual(['cross_entropy', 'last', 'probability']);
    const i32 = stateForCall({ uri: 'u', call: call({ target: { shape: ['N', 'H', 'W'], shapeText: '', dtype: 'int32', text: 'm' } }) });
    expect(buildSpec(i32).target).toMatchObject({ dtype: 'int32' });
  });

  it('nll_loss gets log-probabilities as random input', () => {
    const s = stateForCall({ uri: 'u', call: call({ function: 'nll_loss' }) });
    expect(buildSpec(s).input).toMatchObject({ distribution: 'logProbabilities' });
  });
});

describe('reductionOf', () => {
  it.each([
    ['mean', 'mean'], ['sum', 'sum'], ['none', 'none'], ["'none'", 'none'],
    ['tf.Reduction.MEAN', 'mean'], ['Reduction.SUM_BY_NONZERO_WEIGHTS', 'mean'], ['NONE', 'none'],
    ['avg', undefined], [undefined, undefined],
  ])('%s → %s', (text, expected) => {
    expect(reductionOf(text)).toBe(expected);
  });
});

describe('parsing typed options', () => {
  it('ignore index is an integer', () => {
    expect(parseIgnoreIndex(' -100 ')).toBe(-100);
    expect(parseIgnoreIndex('255')).toBe(255);
    expect(() => parseIgnoreIndex('1.5')).toThrow(OptionError);
    expect(() => parseIgnoreIndex('')).toThrow('ignore index must be an integer');
  });
  it('label smoothing is any finite number (the range is PyTorch\'s check, shown as its error)', () => {
    expect(parseLabelSmoothing('0.1')).toBe(0.1);
    expect(parseLabelSmoothing('1.5')).toBe(1.5);
    expect(() => parseLabelSmoothing('abc')).toThrow(OptionError);
    expect(() => parseLabelSmoothing('')).toThrow(OptionError);
  });
  it('dims are sizes', () => {
    expect(parseDimValue('N', '8')).toBe(8);
    expect(parseDimValue('N', '0')).toBe(0);
    expect(() => parseDimValue('N', '-1')).toThrow('N must be a size');
  });
});

describe('buildSpec errors', () => {
  it('asks for a file when the file source has none', () => {
    const s = { ...defaultState(), sources: { ...defaultState().sources, input: { kind: 'file' as const } } };
    expect(() => buildSpec(s)).toThrow('choose a file for the input');
  });
  it('reports a bad shape text', () => {
    expect(() => buildSpec({ ...defaultState(), inputShapeText: '[N, C' })).toThrow(/input shape/);
    expect(() => buildSpec({ ...defaultState(), inputShapeText: '[N, Q]' })).toThrow('input shape: no size for Q');
  });
  it('refuses absurd random sizes', () => {
    expect(() => buildSpec({ ...defaultState(), dims: { N: 100000, C: 100000 } })).toThrow(/limited to/);
  });
  it('carries a random weight of length C', () => {
    const s = { ...defaultState(), sources: { ...defaultState().sources, weight: { kind: 'random' as const } } };
    expect(buildSpec(s).weight).toMatchObject({ shape: [10], distribution: 'weight' });
  });
  it('derives index and probability targets for the last class axis', () => {
    const s = { ...defaultState(), classAxis: 'last' as const, inputShapeText: '[N, H, C]', dims: { N: 2, H: 3, C: 5 } };
    expect(buildSpec(s).target).toMatchObject({ shape: [2, 3], classes: 5 });
    expect(buildSpec({ ...s, targetKind: 'probability' }).target).toMatchObject({ shape: [2, 3, 5], distribution: 'probability' });
  });
});

describe('helpers', () => {
  it('class count and index target shape per axis', () => {
    expect(classesOf([8, 21, 4, 4], 'first')).toBe(21);
    expect(classesOf([8, 4, 4, 21], 'last')).toBe(21);
    expect(classesOf([7], 'first')).toBe(7);
    expect(indexTargetShape([8, 21, 4, 4], 'first')).toEqual([8, 4, 4]);
    expect(indexTargetShape([8, 4, 4, 21], 'last')).toEqual([8, 4, 4]);
    expect(indexTargetShape([21], 'first')).toEqual([]);
  });
  it('editable symbols follow the random shapes', () => {
    expect(editableSymbols({ ...defaultState(), inputShapeText: '[N, C, H*W]' })).toEqual(['N', 'C', 'H', 'W']);
    const literal = { ...defaultState(), sources: { input: { kind: 'literal' as const }, target: { kind: 'literal' as const }, weight: { kind: 'none' as const } } };
    expect(editableSymbols(literal)).toEqual([]);
  });
  it('the end-of-line note', () => {
    expect(noteText('3.0451', true, 21, '3.0445')).toBe('≈ 3.0451 · random init, ln 21 = 3.0445');
    expect(noteText('0.5', false, 21, undefined)).toBe('≈ 0.5');
  });
});
