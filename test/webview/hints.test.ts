// Hints under PyTorch's errors, from the shapes the engine was given.
import { describe, expect, it } from 'vitest';
import { hintFor } from '../../webview/model/hints';

const spatial = 'only batches of spatial targets supported (3D tensors) but got targets of dimension: 4';

describe('hintFor', () => {
  it('names .squeeze(1) for a mask with a channel dim', () => {
    expect(hintFor({ type: 'RuntimeError', message: spatial, inputShape: [8, 21, 64, 64], targetShape: [8, 1, 64, 64] }))
      .toBe('The target [8, 1, 64, 64] has a channel dim of size 1: target.squeeze(1) gives [8, 64, 64].');
  });
  it('recognises a TF.js-layout one-hot target', () => {
    expect(hintFor({ type: 'RuntimeError', message: spatial, inputShape: [2, 5, 4, 6], targetShape: [2, 4, 6, 5] }))
      .toMatch(/^The target \[2, 4, 6, 5\] is one-hot in TF\.js layout .*target\.argmax\(-1\) gives class indices \[2, 4, 6\].*permute\(0, 3, 1, 2\) gives \[2, 5, 4, 6\]\.$/);
  });
  it('covers [N, 1] targets, int/float targets and out-of-range labels', () => {
    expect(hintFor({ type: 'RuntimeError', message: '0D or 1D target tensor expected, multi-target not supported', inputShape: [3, 5], targetShape: [3, 1] }))
      .toBe('The target [3, 1] has an extra dim of size 1: target.squeeze(1) gives [3].');
    expect(hintFor({ type: 'RuntimeError', message: 'expected target dtype to be Long or Byte, but got Int', inputShape: [3, 5], targetShape: [3] }))
      .toBe('Class indices must be int64: target.long() converts them.');
    expect(hintFor({ type: 'IndexError', message: 'Target 21 is out of bounds.', inputShape: [2, 21, 4, 4], targetShape: [2, 4, 4] }))
      .toContain('The input has 21 classes (0…20); a label of 21 needs more classes, or ignore_index=21');
    expect(hintFor({ type: 'IndexError', message: 'Target -1 is out of bounds.', inputShape: [3, 5], targetShape: [3] }))
      .toContain('set ignore_index to -1');
  });
  it('stays quiet without shapes or for other errors', () => {
    expect(hintFor({ type: 'RuntimeError', message: spatial })).toBeUndefined();
    expect(hintFor({ type: 'RuntimeError', message: spatial, inputShape: [2, 5, 4, 4], targetShape: [2, 3, 4, 4] })).toBeUndefined();
    expect(hintFor({ type: 'ValueError', message: 'Expected input batch_size (3) to match target batch_size (4).', inputShape: [3, 5], targetShape: [4] })).toBeUndefined();
  });
});
