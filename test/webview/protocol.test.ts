// The panel's message validators: well-formed messages pass unchanged, malformed ones fail with a
// message naming the field.
import { describe, expect, it } from 'vitest';
import {
  ProtocolError, validateHostToWebview, validateSpec, validateWebviewToHost, validateWebviewToWorker, validateWorkerToWebview,
} from '../../protocol/webview';

const spec = {
  function: 'cross_entropy', reduction: 'mean', ignoreIndex: -100, labelSmoothing: 0, classAxis: 'first', targetKind: 'index',
  input: { kind: 'file', fileId: 'file:///a.npy', array: '' },
  target: { kind: 'random', shape: [4], seed: 1, distribution: 'classIndex', classes: 10, dtype: 'int64' },
  details: true,
};

describe('validators', () => {
  it('accept well-formed messages', () => {
    expect(validateSpec(spec)).toBe(spec);
    const chunk = { type: 'fileChunk', requestId: 1, offset: 0, bytes: new Uint8Array(4) };
    expect(validateHostToWebview(chunk)).toBe(chunk);
    expect(validateWebviewToHost({ type: 'result', uri: 'file:///t.ts', callStart: 1, callEnd: 9, text: '≈ 1' }).type).toBe('result');
    expect(validateWebviewToWorker({ type: 'init', bytes: new ArrayBuffer(8), shardWorkerUrl: 'blob:x' }).type).toBe('init');
    expect(validateWebviewToWorker({ type: 'evaluate', id: 3, spec }).type).toBe('evaluate');
    const result = {
      type: 'result', id: 1, result: { loss: null, noneMean: 2, shape: [4], inputShape: [4, 10], targetShape: [4], classes: 10, elements: 40,
        elapsedMs: 1, totalMs: 2, engine: 'wasm-simd', workers: 1 },
    };
    expect(validateWorkerToWebview(result)).toBe(result);
  });

  it.each([
    [() => validateHostToWebview(null), 'message: expected an object'],
    [() => validateHostToWebview({ type: 'nope' }), 'unknown host message "nope"'],
    [() => validateHostToWebview({ type: 'fileChunk', requestId: 1, offset: 0, bytes: [1, 2] }), 'message(fileChunk).bytes: expected a Uint8Array'],
    [() => validateHostToWebview({ type: 'init', files: [{ fileId: 1, label: 'x' }] }), 'message(init).files[0].fileId: expected a string'],
    [() => validateWebviewToHost({ type: 'readFile', requestId: 1.5, fileId: 'x' }), 'message(readFile).requestId: expected an integer'],
    [() => validateWebviewToHost({ type: 'pickFile', role: 'logits' }), 'message(pickFile).role: expected one of input, target, weight'],
    [() => validateWebviewToWorker({ type: 'init' }), 'expected a WebAssembly.Module or the wasm bytes'],
    [() => validateSpec({ ...spec, reduction: 'avg' }), 'spec.reduction: expected one of mean, sum, none'],
    [() => validateSpec({ ...spec, input: { kind: 'random', shape: [-1], seed: 1, distribution: 'logits' } }), 'spec.input.shape: expected a shape'],
    [() => validateSpec({ ...spec, target: { kind: 'literal', shape: [1], dtype: 'int64', values: ['1'] } }), 'spec.target.values: expected an array of numbers'],
    [() => validateWorkerToWebview({ type: 'error', id: 1, error: { type: 'IndexError' } }), 'message(error).error.message: expected a string'],
  ])('reject %#', (run, message) => {
    expect(run).toThrow(ProtocolError);
    expect(run).toThrow(message);
  });
});
