// Unit tests of the torch cross_entropy / nll_loss rules: every message, PyTorch's check order,
// the recognised causes with their reasons and fixes, and what stays quiet.

import { describe, expect, it } from 'vitest';
import { formatShape } from '../../server/analysis/dims';
import { call, messages, reasonOf, t } from './helpers';

const ce = (i: Parameters<typeof call>[1], tg: Parameters<typeof call>[2], o?: Parameters<typeof call>[3]) => call('cross_entropy', i, tg, o);
const nll = (i: Parameters<typeof call>[1], tg: Parameters<typeof call>[2], o?: Parameters<typeof call>[3]) => call('nll_loss', i, tg, o);

describe('cross_entropy: index-target messages', () => {
  it('4-D input, 4-D mask: the seed error, with squeeze(1)', () => {
    const r = ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'int64'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
    expect(r.findings[0].subject).toBe('target');
    expect(r.findings[0].fixes).toEqual([expect.objectContaining({ kind: 'append', subject: 'target', text: '.squeeze(1)', preferred: true })]);
    expect(reasonOf(r.findings[0])).toContain('keeps its channel dim');
    expect(r.findings[0].dims).toEqual(expect.arrayContaining(['N', 'H', 'W']));
  });

  it('symbolic class count against a [N, 1, H, W] mask is still the spatial error (C >= 2 assumed)', () => {
    const r = ce(t(['N', 'C', 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'int64'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
  });

  it('float [N, 1, H, W] mask: squeeze(1).long()', () => {
    const r = ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'float32'));
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.squeeze(1).long()' });
  });

  it('NHWC one-hot against NCHW logits: layout mismatch even with symbolic sizes, permute(0, 3, 1, 2)', () => {
    const r = ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 'H', 'W', 21], 'float32'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'append', subject: 'target', text: '.permute(0, 3, 1, 2)' });
    expect(reasonOf(r.findings[0])).toContain('.permute(0, 3, 1, 2)');
  });

  it('NHWC one-hot with an int64 dtype: permute then float()', () => {
    const r = ce(t(['N', 'C', 'H', 'W'], 'float32'), t(['N', 'H', 'W', 'C'], 'int64', { producer: { op: 'one_hot' } }));
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.permute(0, 3, 1, 2).float()' });
  });

  it('batch size first, concrete numbers', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([4], 'int64')))).toEqual(['TL2002: Expected input batch_size (3) to match target batch_size (4).']);
  });

  it('batch size before the spatial rank check', () => {
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([3, 1, 4, 4], 'int64')))).toEqual(['TL2002: Expected input batch_size (2) to match target batch_size (3).']);
  });

  it('a wrong flatten doubling the batch (A11)', () => {
    expect(messages(ce(t([128, 10], 'float32'), t([64], 'int64')))).toEqual(['TL2002: Expected input batch_size (128) to match target batch_size (64).']);
  });

  it('0-d target against a batch counts as batch size 0', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([], 'int64')))).toEqual(['TL2002: Expected input batch_size (3) to match target batch_size (0).']);
  });

  it('batch sizes N and B are undecided: quiet', () => {
    expect(messages(ce(t(['N', 'C'], 'float32'), t(['B'], 'int64')))).toEqual([]);
  });

  it('batch sizes N and N + 1 differ provably, printed in the user\'s names', () => {
    expect(messages(ce(t(['N', 10], 'float32'), t(['N+1'], 'int64')))).toEqual(['TL2002: Expected input batch_size (N) to match target batch_size (N + 1).']);
  });

  it('[N, 1] class column: multi-target, squeeze(1) / view(-1)', () => {
    const r = ce(t(['N', 10], 'float32'), t(['N', 1], 'int64'));
    expect(messages(r)).toEqual(['TL2003: 0D or 1D target tensor expected, multi-target not supported']);
    expect(r.findings[0].fixes?.map(f => f.kind === 'append' && f.text)).toEqual(['.squeeze(1)', '.view(-1)']);
  });

  it('2-D input with a float 2-D target of another width: multi-target (no probability-shape message exists)', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3, 4], 'float32')))).toEqual(['TL2003: 0D or 1D target tensor expected, multi-target not supported']);
  });

  it('1-D input, 1-D target of size 5', () => {
    expect(messages(ce(t([7], 'float32'), t([5], 'int64')))).toEqual(['TL2004: For 1D input, 1D target must have size 1, but got target size: 5']);
  });

  it('1-D input, 1-D target of size 1 is accepted, output 0-d for none', () => {
    const r = ce(t([7], 'float32'), t([1], 'int64'), { reduction: 'none' });
    expect(messages(r)).toEqual([]);
    expect(formatShape(r.output?.shape)).toBe('[]');
  });

  it('1-D input with a 2-D target: multi-target', () => {
    expect(messages(ce(t([7], 'float32'), t([1, 1], 'int64')))).toEqual(['TL2003: 0D or 1D target tensor expected, multi-target not supported']);
  });

  it('4-D spatial size mismatch (sic: no closing parenthesis)', () => {
    expect(messages(ce(t([2, 3, 64, 64], 'float32'), t([2, 32, 32], 'int64')))).toEqual(['TL2005: size mismatch (got input: [2, 3, 64, 64] , target: [2, 32, 32]']);
  });

  it('4-D spatial size mismatch with symbolic dims: H vs H/2 is undecided, quiet', () => {
    expect(messages(ce(t(['N', 3, 'H', 'W'], 'float32'), t(['N', 'H/2', 'W/2'], 'int64')))).toEqual([]);
  });

  it('3-D input: Expected target size', () => {
    expect(messages(ce(t([2, 5, 4], 'float32'), t([2, 5], 'int64')))).toEqual(['TL2006: Expected target size [2, 4], got [2, 5]']);
  });

  it('5-D input: Expected target size', () => {
    expect(messages(ce(t([2, 5, 2, 3, 4], 'float32'), t([2, 2, 3], 'int64')))).toEqual(['TL2006: Expected target size [2, 2, 3, 4], got [2, 2, 3]']);
  });

  it('sequence logits [B, T, V] with [B, T] targets, symbolic: view(-1, V) + view(-1), or permute', () => {
    const r = ce(t(['B', 'T', 'V'], 'float32'), t(['B', 'T'], 'int64'));
    expect(messages(r)).toEqual(['TL2006: Expected target size [B, V], got [B, T]']);
    const [flatten, permute] = r.findings[0].fixes!;
    expect(flatten).toMatchObject({ kind: 'compound', preferred: true, parts: [{ kind: 'wrap', subject: 'input', template: '$0.view(-1, V)' }, { kind: 'append', subject: 'target', text: '.view(-1)' }] });
    expect(permute).toMatchObject({ kind: 'append', subject: 'input', text: '.permute(0, 2, 1)' });
  });

  it('sequence logits with numbers (A12)', () => {
    const r = ce(t([4, 8, 65], 'float32'), t([4, 8], 'int64'));
    expect(messages(r)).toEqual(['TL2006: Expected target size [4, 65], got [4, 8]']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ parts: [{ template: '$0.view(-1, 65)' }, { text: '.view(-1)' }] });
  });

  it('spurious singleton [N, 1, C] with an [N] target (A14): squeeze(1) on the input', () => {
    const r = ce(t([8, 1, 4], 'float32'), t([8], 'int64'));
    expect(messages(r)).toEqual(['TL2006: Expected target size [8, 4], got [8]']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ subject: 'input', text: '.squeeze(1)' });
  });

  it('float index target: dtype message and .long()', () => {
    const r = ce(t([3, 5], 'float32'), t([3], 'float32'));
    expect(messages(r)).toEqual(['TL2007: expected target dtype to be Long or Byte, but got Float']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.long()', preferred: true });
  });

  it.each([['int32', 'Int'], ['bool', 'Bool'], ['float64', 'Double'], ['int8', 'Char']])('%s index target', (dtype, name) => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], dtype)))).toEqual([`TL2007: expected target dtype to be Long or Byte, but got ${name}`]);
  });

  it('uint8 index target is accepted for 2-D input', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'uint8')))).toEqual([]);
  });

  it('uint8 index target on the K-dim path', () => {
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 4, 4], 'uint8')))).toEqual(['TL2008: expected scalar type Long but found Byte']);
  });

  it('float target on the 4-D path', () => {
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 4, 4], 'float32')))).toEqual(['TL2007: expected target dtype to be Long or Byte, but got Float']);
  });

  it('weight length, 2-D input', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { weight: t([4], 'float32') }))).toEqual(['TL2011: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]']);
  });

  it('weight of shape [5, 1] or [] is refused', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { weight: t([5, 1], 'float32') }))).toEqual(['TL2011: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [5, 1]']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { weight: t([], 'float32') }))).toEqual(['TL2011: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: []']);
  });

  it('weight length, K-dim input', () => {
    expect(messages(ce(t([2, 5, 3, 3], 'float32'), t([2, 3, 3], 'int64'), { weight: t([6], 'float32') }))).toEqual(['TL2012: weight tensor should be defined either for all or no classes']);
    expect(messages(ce(t([2, 5, 3], 'float32'), t([2, 3], 'int64'), { weight: t([6], 'float32') }))).toEqual(['TL2012: weight tensor should be defined either for all or no classes']);
  });

  it('weight dtype differing from the input', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { weight: t([5], 'float64') }))).toEqual(['TL2008: expected scalar type Float but found Double']);
  });

  it('weight of unknown shape: quiet', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { weight: t(undefined) }))).toEqual([]);
  });

  it('known target values out of bounds, first in memory order', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [0, 7, 5] })))).toEqual(['TL2014: Target 7 is out of bounds.']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [-1, 0, 1] })))).toEqual(['TL2014: Target -1 is out of bounds.']);
  });

  it('values equal to ignore_index are not out of bounds', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [0, -100, 4] })))).toEqual([]);
    expect(messages(ce(t([2, 5, 2, 2], 'float32'), t([2, 2, 2], 'int64', { values: [0, 255, 4, 1, 1, 1, 1, 1] }), { ignoreIndex: 255 }))).toEqual([]);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [0, 255, 4] })))).toEqual(['TL2014: Target 255 is out of bounds.']);
  });

  it('unknown ignore_index: values are not judged', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [0, 9, 4] }), { ignoreIndex: null }))).toEqual([]);
  });

  it('randint bounds past the class count', () => {
    const r = ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64', { valueRange: { min: 0, max: 21 } }));
    expect(messages(r)).toEqual(['TL2014: Target 21 is out of bounds.']);
    expect(messages(ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64', { valueRange: { min: 0, max: 20 } })))).toEqual([]);
  });

  it('single-logit segmentation head with a 0/1 mask (A3): Target 1 is out of bounds', () => {
    const r = ce(t(['N', 1, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64', { valueRange: { min: 0, max: 1 } }));
    expect(messages(r)).toEqual(['TL2014: Target 1 is out of bounds.']);
    expect(reasonOf(r.findings[0])).toContain('single class');
  });

  it('symbolic class count: values are not judged', () => {
    expect(messages(ce(t([3, 'C'], 'float32'), t([3], 'int64', { values: [0, 99, 4] })))).toEqual([]);
  });

  it('label_smoothing above 1, printed as C++ prints doubles', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 1.5 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 1.5']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 1.1234567 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 1.12346']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 2 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 2']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 1.0000001 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 1']);
  });

  it('label_smoothing 1.0 and negative values are accepted', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 1 }))).toEqual([]);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: -0.5 }))).toEqual([]);
  });

  it('invalid reduction', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { reduction: 'avg' }))).toEqual(['TL2016: avg is not a valid value for reduction']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { reduction: 'None' }))).toEqual(['TL2016: None is not a valid value for reduction']);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64'), { reduction: 'elementwise_mean' }))).toEqual([]);
  });

  it('integer input: log_softmax kernel names differ with the class dim\'s position', () => {
    expect(messages(ce(t([3, 5], 'int64'), t([3], 'int64')))).toEqual(['TL2017: "log_softmax_lastdim_kernel_impl" not implemented for \'Long\'']);
    expect(messages(ce(t([2, 5, 4, 4], 'int32'), t([2, 4, 4], 'int64')))).toEqual(['TL2017: "log_softmax_kernel_impl" not implemented for \'Int\'']);
  });

  it('argmax output as logits with a float target of the same shape: integer input, fix removes argmax', () => {
    const r = ce(t(['N'], 'int64', { producer: { op: 'argmax', dim: 1 } }), t(['N'], 'float32'));
    expect(messages(r)).toEqual(['TL2017: "log_softmax_lastdim_kernel_impl" not implemented for \'Long\'']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'unwrap-producer', subject: 'input', op: 'argmax' });
  });
});

describe('cross_entropy: probability targets', () => {
  it('Long target of the input\'s shape', () => {
    const r = ce(t([3, 5], 'float32'), t([3, 5], 'int64'));
    expect(messages(r)).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
  });

  it('one-hot (Long) target (A6): reason names the indices', () => {
    const r = ce(t(['N', 10], 'float32'), t(['N', 10], 'int64', { producer: { op: 'one_hot' } }));
    expect(messages(r)).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
    expect(reasonOf(r.findings[0])).toContain('[N]');
  });

  it('argmax before the loss (A8): argmax [N] against indices [N]', () => {
    const r = ce(t(['N'], 'int64', { producer: { op: 'argmax', dim: 1 } }), t(['N'], 'int64'));
    expect(messages(r)).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'unwrap-producer', op: 'argmax' });
  });

  it('[N, 1] logits with a [N, 1] Long column (A5 variant)', () => {
    expect(messages(ce(t(['N', 1], 'float32'), t(['N', 1], 'int64')))).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
  });

  it('ignore_index >= 0 with probabilities', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), { ignoreIndex: 1 }))).toEqual(['TL2010: ignore_index is not supported for floating point target']);
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), { ignoreIndex: -1 }))).toEqual([]);
  });

  it('bad weight with probabilities', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), { weight: t([4], 'float32') }))).toEqual(['TL2013: cross_entropy: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]']);
  });

  it('order on the probability path: dtype, then ignore_index, then weight, then smoothing', () => {
    const all = { ignoreIndex: 1, weight: t([4], 'float32'), labelSmoothing: 1.5 };
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'int64'), all))[0]).toMatch(/^TL2009/);
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), all))[0]).toMatch(/^TL2010/);
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), { ...all, ignoreIndex: -100 }))[0]).toMatch(/^TL2013/);
    expect(messages(ce(t([3, 5], 'float32'), t([3, 5], 'float32'), { labelSmoothing: 1.5 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 1.5']);
  });

  it('0-d input with a 0-d int target is the probability path', () => {
    expect(messages(ce(t([], 'float32'), t([], 'int64')))).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
  });

  it('output for none drops the class dim', () => {
    expect(formatShape(ce(t(['N', 'C', 'H', 'W'], 'float32'), t(['N', 'C', 'H', 'W'], 'float32'), { reduction: 'none' }).output?.shape)).toBe('[N, H, W]');
  });
});

describe('cross_entropy: order of checks across paths', () => {
  it('reduction before everything', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([4], 'float32'), { reduction: 'avg', labelSmoothing: 2 }))).toEqual(['TL2016: avg is not a valid value for reduction']);
  });
  it('smoothing before batch size on the index path', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([4], 'int64'), { labelSmoothing: 1.5 }))).toEqual(['TL2015: label_smoothing must be between 0.0 and 1.0. Got: 1.5']);
  });
  it('integer input before batch size', () => {
    expect(messages(ce(t([3, 5], 'int64'), t([4], 'int64')))[0]).toMatch(/^TL2017/);
  });
  it('batch size before the target dtype', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([4], 'float32')))[0]).toMatch(/^TL2002/);
  });
  it('2-D: multi-target before dtype, dtype before weight, weight before values', () => {
    expect(messages(ce(t([3, 5], 'float32'), t([3, 2], 'float32')))[0]).toMatch(/^TL2003/);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'float32'), { weight: t([4], 'float32') }))[0]).toMatch(/^TL2007/);
    expect(messages(ce(t([3, 5], 'float32'), t([3], 'int64', { values: [9, 9, 9] }), { weight: t([4], 'float32') }))[0]).toMatch(/^TL2011/);
  });
  it('1-D: dtype before the target-size check', () => {
    expect(messages(ce(t([7], 'float32'), t([5], 'float32')))[0]).toMatch(/^TL2007/);
  });
  it('4-D: spatial rank, then dtype, then weight, then N/H/W, then Byte, then values', () => {
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 1, 4, 4], 'float32'), { weight: t([6], 'float32') }))[0]).toMatch(/^TL2001/);
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 4, 5], 'float32'), { weight: t([6], 'float32') }))[0]).toMatch(/^TL2007/);
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 4, 5], 'int64'), { weight: t([6], 'float32') }))[0]).toMatch(/^TL2012/);
    expect(messages(ce(t([2, 5, 4, 4], 'float32'), t([2, 4, 5], 'uint8')))[0]).toMatch(/^TL2005/);
    expect(messages(ce(t([2, 5, 1, 1], 'float32'), t([2, 1, 1], 'uint8', { values: [9, 9] })))[0]).toMatch(/^TL2008/);
  });
  it('3-D: target size before dtype', () => {
    expect(messages(ce(t([2, 5, 4], 'float32'), t([2, 5], 'float32')))[0]).toMatch(/^TL2006/);
  });
});

describe('cross_entropy: silent misuse warnings', () => {
  it('one class: the loss is always 0', () => {
    const r = ce(t(['N', 1, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'float32'));
    expect(messages(r)).toEqual(['TL4001: cross_entropy over a single class is always 0: the input has 1 class along dim 1']);
    expect(messages(ce(t([4, 1], 'float32'), t([4], 'int64', { values: [0, 0, 0, 0] })))).toEqual(['TL4001: cross_entropy over a single class is always 0: the input has 1 class along dim 1']);
  });

  it('integer-valued float target of the input\'s shape', () => {
    const r = ce(t([2, 3], 'float32'), t([2, 3], 'float32', { values: [0, 2, 1, 1, 0, 2] }));
    expect(messages(r)).toEqual(['TL4002: the target has the same shape as the input, so cross_entropy reads it as class probabilities, but its values look like class indices']);
  });

  it('multi-hot float target (A7)', () => {
    const r = ce(t([2, 3], 'float32'), t([2, 3], 'float32', { values: [1, 1, 0, 0, 1, 0] }));
    expect(messages(r)).toEqual(['TL4002: the target has the same shape as the input, so cross_entropy reads it as class probabilities, but its values are multi-hot, not a distribution']);
  });

  it('one-hot float target and soft labels are fine', () => {
    expect(messages(ce(t([2, 3], 'float32'), t([2, 3], 'float32', { values: [1, 0, 0, 0, 0, 1] })))).toEqual([]);
    expect(messages(ce(t([2, 3], 'float32'), t([2, 3], 'float32', { values: [0.7, 0.2, 0.1, 0.3, 0.3, 0.4] })))).toEqual([]);
  });

  it('multi-hot along dim 1 of a 4-D input', () => {
    // [1, 2, 1, 2]: pixel 0 has classes (1, 1), a multi-hot pixel.
    expect(messages(ce(t([1, 2, 1, 2], 'float32'), t([1, 2, 1, 2], 'float32', { values: [1, 0, 1, 1] })))[0]).toMatch(/^TL4002.*multi-hot/);
  });

  it('argmax output cast to float as logits: warning with the fix', () => {
    const r = ce(t(['N', 1], 'float32', { producer: { op: 'argmax' } }), t(['N'], 'int64'));
    // C == 1 wins: the loss is 0 whatever the logits.
    expect(messages(r)[0]).toMatch(/^TL4001/);
    const r2 = ce(t(['N', 'K'], 'float32', { producer: { op: 'argmax' } }), t(['N'], 'int64'));
    expect(messages(r2)).toEqual(['TL4004: the input of cross_entropy is the output of argmax: the loss needs the raw logits']);
    expect(r2.findings[0].fixes?.[0]).toMatchObject({ kind: 'unwrap-producer', op: 'argmax' });
  });

  it('softmax before cross_entropy', () => {
    const r = ce(t(['N', 10], 'float32', { producer: { op: 'softmax' } }), t(['N'], 'int64'));
    expect(messages(r)).toEqual(['TL4005: the input of cross_entropy is already the output of softmax: cross_entropy applies softmax itself']);
  });

  it('no warning when an error fires', () => {
    expect(messages(ce(t(['N', 1, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'int64')))).toEqual(['TL2009: Expected floating point type for target with class probabilities, got Long']);
  });
});

describe('cross_entropy: unknown stays quiet, outputs', () => {
  it('untracked input or target', () => {
    expect(ce(undefined, t([3], 'int64')).findings).toEqual([]);
    expect(ce(t([3, 5], 'float32'), undefined).findings).toEqual([]);
    expect(ce(t(undefined), t([3], 'int64')).findings).toEqual([]);
  });
  it('undecided shapes', () => {
    expect(ce(t(['N', 'C'], 'float32'), t(['N', 'K'], 'int64')).findings).toEqual([]);
    expect(ce(t(['N', 'C', 'H', 'W'], 'float32'), t(['*batch'], 'int64')).findings).toEqual([]);
  });
  it('unknown dtypes skip dtype checks only', () => {
    expect(ce(t([3, 5]), t([3])).findings).toEqual([]);
    expect(messages(ce(t([3, 5]), t([4])))).toEqual(['TL2002: Expected input batch_size (3) to match target batch_size (4).']);
  });
  it('output: scalar for mean/sum, target shape for none, unknown for an unknown reduction', () => {
    const i = t(['N', 'C', 'H', 'W'], 'float32'), tg = t(['N', 'H', 'W'], 'int64');
    expect(formatShape(ce(i, tg).output?.shape)).toBe('[]');
    expect(ce(i, tg).output?.dtype).toBe('float32');
    expect(formatShape(ce(i, tg, { reduction: 'sum' }).output?.shape)).toBe('[]');
    expect(formatShape(ce(i, tg, { reduction: 'none' }).output?.shape)).toBe('[N, H, W]');
    expect(ce(i, tg, { reduction: null }).output?.shape).toBeUndefined();
  });
  it('expectation for hover', () => {
    expect(ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64')).expectation).toBe('cross_entropy expects class indices [N, H, W] int64 with values in [0, 21), or class probabilities [N, 21, H, W] float');
  });
});

describe('nll_loss', () => {
  it('0-d input', () => {
    expect(messages(nll(t([], 'float32'), t([], 'int64')))).toEqual(['TL2018: Expected 1 or more dimensions (got 0)']);
  });
  it('no probability path: same shape is multi-target', () => {
    expect(messages(nll(t([3, 5], 'float32'), t([3, 5], 'float32')))).toEqual(['TL2003: 0D or 1D target tensor expected, multi-target not supported']);
  });
  it('the 4-D mask', () => {
    const r = nll(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'int64'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
    expect(reasonOf(r.findings[0])).toContain('nll_loss');
  });
  it('label smoothing does not apply', () => {
    expect(messages(nll(t([3, 5], 'float32'), t([3], 'int64'), { labelSmoothing: 2 }))).toEqual([]);
  });
  it('softmax output is not log-probabilities', () => {
    expect(messages(nll(t(['N', 5], 'float32', { producer: { op: 'softmax' } }), t(['N'], 'int64')))).toEqual(['TL4005: the input of nll_loss is already the output of softmax: nll_loss expects log-probabilities']);
  });
  it('weight, batch, out of bounds', () => {
    expect(messages(nll(t([3, 5], 'float32'), t([3], 'int64'), { weight: t([4], 'float32') }))[0]).toMatch(/^TL2011/);
    expect(messages(nll(t([3, 5], 'float32'), t([2], 'int64')))[0]).toMatch(/^TL2002/);
    expect(messages(nll(t([3, 5], 'float32'), t([3], 'int64', { values: [5, 0, 0] })))).toEqual(['TL2014: Target 5 is out of bounds.']);
  });
});

describe('argmax on the probability path', () => {
  it('float argmax output against a float target of the same shape', () => {
    const r = ce(t(['N'], 'float32', { producer: { op: 'argmax', dim: 1 } }), t(['N'], 'float32'));
    expect(messages(r)).toEqual(['TL4004: the input of cross_entropy is the output of argmax: the loss needs the raw logits']);
  });
});

describe('reordered targets: the reason names the layout', () => {
  it('classes last (NHWC): TensorFlow\'s layout', () => {
    const r = ce(t(['N', 5, 'H', 'W'], 'float32'), t(['N', 'H', 'W', 5], 'float32'));
    expect(reasonOf(r.findings[0])).toContain('classes last');
  });
  it('another order: a neutral reason with the permutation', () => {
    const r = ce(t(['N', 5, 'H', 'W'], 'float32'), t(['N', 5, 'W', 'H'], 'float32'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
    expect(reasonOf(r.findings[0])).not.toContain('classes last');
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.permute(0, 1, 3, 2)' });
  });
});

describe('sizes are at least 1', () => {
  it('a flatten that doubles a symbolic batch: 2*N against N', () => {
    const r = ce(t([{ kind: 'sym', poly: new Map([['N', 2]]) }, 10], 'float32'), t(['N'], 'int64'));
    expect(messages(r)).toEqual(['TL2002: Expected input batch_size (2*N) to match target batch_size (N).']);
  });
  it('N*H against N stays undecided (H may be 1), and so do opaque atoms', () => {
    expect(messages(ce(t([{ kind: 'sym', poly: new Map([['H*N', 1]]) }, 10], 'float32'), t(['N'], 'int64')))).toEqual([]);
    expect(messages(ce(t(['H//2', 10], 'float32'), t(['H'], 'int64')))).toEqual([]);
  });
});

describe('more catalogue patterns', () => {
  it('sequence-first logits [T, B, V] with [T, B] captions (A13)', () => {
    const r = ce(t(['T', 'B', 'V'], 'float32'), t(['T', 'B'], 'int64'));
    expect(messages(r)).toEqual(['TL2006: Expected target size [T, V], got [T, B]']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'compound', parts: [{ template: '$0.view(-1, V)' }, { text: '.view(-1)' }] });
  });
  it('3-D logits with a float [N, d1] target: the size check comes before the dtype', () => {
    expect(messages(ce(t([2, 3, 4], 'float32'), t([2, 3], 'float32')))).toEqual(['TL2006: Expected target size [2, 4], got [2, 3]']);
  });
  it('segmentation with 255 void pixels and the right ignore_index (A10)', () => {
    expect(messages(ce(t([1, 3, 1, 2], 'float32'), t([1, 1, 2], 'int64', { values: [2, 255] }), { ignoreIndex: 255 }))).toEqual([]);
    expect(messages(ce(t([1, 3, 1, 2], 'float32'), t([1, 1, 2], 'int64', { values: [2, 255] })))).toEqual(['TL2014: Target 255 is out of bounds.']);
  });
  it('single-logit head, 3-D mask without known values: loss always 0 or out of bounds (A3)', () => {
    expect(messages(ce(t(['N', 1, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64')))).toEqual(['TL4001: cross_entropy over a single class is always 0: the input has 1 class along dim 1']);
  });
});

describe('a channel-last mask [N, H, W, 1]', () => {
  it('is the spatial error with squeeze(3)', () => {
    const r = ce(t(['N', 21, 'H', 'W'], 'float32'), t(['N', 'H', 'W', 1], 'int64'));
    expect(messages(r)).toEqual(['TL2001: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.squeeze(3)' });
  });
});
