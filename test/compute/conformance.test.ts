// Every case of ../shared/conformance/torch-ce (PyTorch 2.13) and onnx-loss (ONNX backend tests)
// through the engine API, with each wasm build the runtime accepts without flags.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, EngineFileName } from '../../compute/engine';
import { loadEngine } from '../../compute/node/loadEngine';
import { TorchError } from '../../compute/types';
import { closeTo, firstMismatch, npy, onnxCases, toNumbers, torchCases } from './conformanceHelpers';

const builds: EngineFileName[] = ['ce-simd.wasm', 'ce-scalar.wasm'];

describe.each(builds)('conformance through the API (%s)', file => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadEngine({ file });
  });

  const cases = torchCases();
  it('has all 86 torch-ce cases, 17 of them errors', () => {
    expect(cases.length).toBe(86);
    expect(cases.filter(c => c.error).length).toBe(17);
  });

  it.each(cases.map(c => [c.name, c] as const))('torch-ce %s', (_name, c) => {
    const input = npy('torch-ce', c.inputs.input);
    const target = npy('torch-ce', c.inputs.target);
    const weight = c.inputs.weight ? npy('torch-ce', c.inputs.weight) : undefined;
    const options = {
      weight,
      reduction: c.options.reduction,
      ignoreIndex: c.options.ignore_index,
      labelSmoothing: c.options.label_smoothing,
    };
    const run = () => c.function === 'nll_loss' ? engine.nllLoss(input, target, options) : engine.crossEntropy(input, target, options);
    if (c.error) {
      let thrown: unknown;
      try { run(); } catch (e) { thrown = e; }
      expect(thrown).toBeInstanceOf(TorchError);
      expect(`${(thrown as TorchError).type}: ${(thrown as TorchError).message}`).toBe(`${c.error.type}: ${c.error.message}`);
      return;
    }
    const r = run();
    const expected = npy('torch-ce', c.expected!);
    expect(r.shape).toEqual(c.expected_shape);
    if ((c.options.reduction ?? 'mean') === 'none') {
      expect(r.loss).toBeNull();
      expect(firstMismatch(Array.from(r.values!), toNumbers(expected))).toBeUndefined();
    } else {
      const e = toNumbers(expected)[0]!;
      expect(closeTo(r.loss!, e), `${r.loss} vs ${e}`).toBe(true);
    }
  });

  it.each(onnxCases().map(c => [c.name, c] as const))('onnx %s', (_name, c) => {
    const role = (r: string) => c.inputs.find(i => i.role === r);
    const scores = npy('onnx-loss', c.inputs[0]!.file);
    const labels = npy('onnx-loss', role('labels')!.file);
    const w = role('weights');
    const options = {
      weight: w ? npy('onnx-loss', w.file) : undefined,
      reduction: c.attributes.reduction ?? 'mean',
      ignoreIndex: c.attributes.ignore_index,
      returnLogProb: c.outputs.some(o => o.role === 'log_prob'),
    };
    const r = c.op === 'NegativeLogLikelihoodLoss' ? engine.nllLoss(scores, labels, options) : engine.crossEntropy(scores, labels, options);
    const loss = npy('onnx-loss', c.outputs[0]!.file);
    expect(r.shape).toEqual(c.outputs[0]!.shape);
    if (options.reduction === 'none') expect(firstMismatch(Array.from(r.values!), toNumbers(loss))).toBeUndefined();
    else expect(closeTo(r.loss!, toNumbers(loss)[0]!), `${r.loss} vs ${toNumbers(loss)[0]}`).toBe(true);
    const lp = c.outputs.find(o => o.role === 'log_prob');
    if (lp) expect(firstMismatch(Array.from(r.logProb!), toNumbers(npy('onnx-loss', lp.file)))).toBeUndefined();
  });
});
