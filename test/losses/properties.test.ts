// Properties of the loss rules over random abstract calls: they never throw, report at most one
// error, fill every template placeholder, and never report an error on a call PyTorch accepts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LossFunction } from '../../server/analysis/api';
import { diagnosticDefinition, formatTemplate } from '../../server/analysis/diagnosticTable';
import { constDim, shapeOf, symDim, UNKNOWN_DIM, variadicDim, type Dim, type Dtype } from '../../server/analysis/dims';
import { checkLoss, known, type LossCallInput } from '../../server/analysis/losses';
import { tensorValue, type TensorValue } from '../../server/analysis/values';

const FUNCTIONS: LossFunction[] = [
  'cross_entropy', 'nll_loss', 'binary_cross_entropy', 'binary_cross_entropy_with_logits', 'mse_loss', 'l1_loss',
  'tfjs.softmaxCrossEntropy', 'tfjs.sigmoidCrossEntropy', 'tfjs.meanSquaredError',
  'tfjs.categoricalCrossentropy', 'tfjs.binaryCrossentropy', 'tfjs.sparseCategoricalCrossentropy',
];
const DTYPES: Dtype[] = ['float32', 'float64', 'float16', 'int64', 'int32', 'uint8', 'bool', 'int8'];
const SUBJECTS = new Set(['call', 'input', 'target', 'weight', 'ignoreIndex', 'labelSmoothing', 'reduction', 'arg0', 'arg1', 'arg2']);

const dim: fc.Arbitrary<Dim> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 6 }).map(constDim) },
  { weight: 3, arbitrary: fc.constantFrom('N', 'C', 'H', 'W').map(symDim) },
  { weight: 1, arbitrary: fc.constant(UNKNOWN_DIM) },
  { weight: 1, arbitrary: fc.constant(variadicDim('batch')) },
);

const tensor: fc.Arbitrary<TensorValue | undefined> = fc.option(
  fc.record({
    dims: fc.option(fc.array(dim, { maxLength: 5 }), { nil: undefined }),
    dtype: fc.option(fc.constantFrom(...DTYPES), { nil: undefined }),
    values: fc.option(fc.array(fc.integer({ min: -3, max: 8 }), { maxLength: 12 }), { nil: undefined }),
    range: fc.option(fc.tuple(fc.integer({ min: -2, max: 3 }), fc.integer({ min: 0, max: 30 })), { nil: undefined }),
    producer: fc.option(fc.constantFrom('argmax', 'softmax', 'one_hot', 'log_softmax', 'sigmoid'), { nil: undefined }),
  }).map(r => tensorValue(r.dims ? shapeOf(r.dims) : undefined, r.dtype, {
    ...(r.values ? { values: r.values } : {}),
    ...(r.range ? { valueRange: { min: Math.min(...r.range), max: Math.max(...r.range) } } : {}),
    ...(r.producer ? { producer: { op: r.producer } } : {}),
  })),
  { nil: undefined, freq: 6 },
);

const knownOr = <T>(a: fc.Arbitrary<T>) => fc.option(fc.oneof(a.map(v => known(v)), fc.constant({ known: false as const })), { nil: undefined });

const call: fc.Arbitrary<LossCallInput> = fc.record({
  fn: fc.constantFrom(...FUNCTIONS),
  input: tensor,
  target: tensor,
  weight: tensor,
  weights: tensor,
  reduction: knownOr<string | number>(fc.constantFrom('mean', 'sum', 'none', 'avg', 'NONE', 'MEAN', 7, 0, 3)),
  ignoreIndex: knownOr(fc.constantFrom(-100, -1, 0, 1, 255)),
  labelSmoothing: knownOr(fc.constantFrom(0, 0.1, 1, 1.5, -0.5)),
}).map(c => ({ ...c, profile: c.fn.startsWith('tfjs.') ? 'tfjs' as const : 'torch' as const }));

describe('loss rules on random calls', () => {
  it('never throw, report at most one error, fill every placeholder', () => {
    fc.assert(fc.property(call, c => {
      const r = checkLoss(c);
      const errors = r.findings.filter(f => diagnosticDefinition(f.code).severity === 'error');
      expect(errors.length).toBeLessThanOrEqual(1);
      // A warning only when no error fires on the same call.
      if (errors.length) expect(r.findings.length).toBe(1);
      for (const f of r.findings) {
        const def = diagnosticDefinition(f.code);
        expect(formatTemplate(def.message, f.args)).not.toMatch(/\{\d+\}/);
        if (def.reason) expect(formatTemplate(def.reason, f.args, f.reasonArgs ?? [])).not.toMatch(/\{r?\d+\}/);
        expect(SUBJECTS.has(f.subject)).toBe(true);
      }
    }), { numRuns: 3000, seed: 20261128 });
  });
});

/** A cross_entropy call PyTorch accepts: index targets in [0, C) or float probabilities of the input's shape. */
const validCrossEntropy = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  c: fc.integer({ min: 2, max: 6 }),
  spatial: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
  symbolic: fc.boolean(),
  probabilities: fc.boolean(),
  weight: fc.boolean(),
  smoothing: fc.constantFrom(0, 0.1, 1),
  reduction: fc.constantFrom('mean', 'sum', 'none'),
  seed: fc.integer({ min: 0, max: 1000 }),
}).map(p => {
  const batch: Dim = p.symbolic ? symDim('N') : constDim(p.n);
  const space: Dim[] = p.spatial.map((s, i) => (p.symbolic && i === 0 ? symDim('H') : constDim(s)));
  const input = tensorValue({ dims: [batch, constDim(p.c), ...space] }, 'float32');
  const count = p.symbolic ? 0 : p.n * p.spatial.reduce((a, b) => a * b, 1);
  const target = p.probabilities
    ? tensorValue(input.shape, 'float32')
    : tensorValue({ dims: [batch, ...space] }, 'int64', count ? { values: Array.from({ length: count }, (_, i) => (i * 7 + p.seed) % p.c) } : { valueRange: { min: 0, max: p.c - 1 } });
  return {
    fn: 'cross_entropy' as const, profile: 'torch' as const, input, target,
    weight: p.weight ? tensorValue(shapeOf([p.c]), 'float32') : undefined,
    labelSmoothing: known(p.smoothing), reduction: known(p.reduction),
  };
});

describe('cross_entropy on calls PyTorch accepts', () => {
  it('reports nothing', () => {
    fc.assert(fc.property(validCrossEntropy, c => {
      expect(checkLoss(c).findings).toEqual([]);
    }), { numRuns: 1000, seed: 7 });
  });
});
