// Unit tests of the torch BCE / BCE-with-logits / MSE / L1 rules.

import { describe, expect, it } from 'vitest';
import { formatShape } from '../../server/analysis/dims';
import { call, messages, severityOf, t } from './helpers';

describe('binary_cross_entropy_with_logits', () => {
  it('[N, 1] logits with [N] labels (B1): torch.Size message, unsqueeze(1) fix', () => {
    const r = call('binary_cross_entropy_with_logits', t([450, 1], 'float32'), t([450], 'float32'));
    expect(messages(r)).toEqual(['TL2019: Target size (torch.Size([450])) must be the same as input size (torch.Size([450, 1]))']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ subject: 'target', text: '.unsqueeze(1)', preferred: true });
    expect(r.findings[0].fixes?.[1]).toMatchObject({ subject: 'input', text: '.squeeze(1)' });
  });
  it('reverse case: [N] logits with [N, 1] labels', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N'], 'float32'), t(['N', 1], 'float32'));
    expect(messages(r)).toEqual(['TL2019: Target size (torch.Size([N, 1])) must be the same as input size (torch.Size([N]))']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ subject: 'target', text: '.squeeze(1)' });
  });
  it('binary segmentation [N, 1, H, W] against an int64 [N, H, W] mask (B2): unsqueeze(1).float()', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N', 1, 'H', 'W'], 'float32'), t(['N', 'H', 'W'], 'int64'));
    expect(messages(r)).toEqual(['TL2019: Target size (torch.Size([N, H, W])) must be the same as input size (torch.Size([N, 1, H, W]))']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.unsqueeze(1).float()' });
  });
  it('index labels to a multi-label loss (B6)', () => {
    const r = call('binary_cross_entropy_with_logits', t([1, 3], 'float32'), t([1], 'int64'));
    expect(messages(r)).toEqual(['TL2019: Target size (torch.Size([1])) must be the same as input size (torch.Size([1, 3]))']);
  });
  it('Long target of the same shape (B3)', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N', 5], 'float32'), t(['N', 5], 'int64'));
    expect(messages(r)).toEqual(['TL2021: result type Float can\'t be cast to the desired output type Long']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.float()' });
  });
  it('reduction is checked first', () => {
    expect(messages(call('binary_cross_entropy_with_logits', t([3, 1], 'float32'), t([3], 'float32'), { reduction: 'avg' }))).toEqual(['TL2016: avg is not a valid value for reduction']);
  });
  it('0-d input (A15): [1, 1].squeeze() against [1]', () => {
    expect(messages(call('binary_cross_entropy_with_logits', t([], 'float32'), t([1], 'float32')))).toEqual(['TL2019: Target size (torch.Size([1])) must be the same as input size (torch.Size([]))']);
  });
  it('same shape, float: clean; output for none is the input shape', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N', 1, 'H', 'W'], 'float32'), t(['N', 1, 'H', 'W'], 'float32'), { reduction: 'none' });
    expect(messages(r)).toEqual([]);
    expect(formatShape(r.output?.shape)).toBe('[N, 1, H, W]');
  });
  it('undecided shapes are quiet', () => {
    expect(messages(call('binary_cross_entropy_with_logits', t(['N', 'C'], 'float32'), t(['N', 'K'], 'float32')))).toEqual([]);
  });
});

describe('binary_cross_entropy', () => {
  it('differing sizes (B4): the deprecation ValueError', () => {
    const r = call('binary_cross_entropy', t([16, 1], 'float32'), t([16], 'float32'));
    expect(messages(r)).toEqual(['TL2020: Using a target size (torch.Size([16])) that is different to the input size (torch.Size([16, 1])) is deprecated. Please ensure they have the same size.']);
    expect(severityOf(r.findings[0])).toBe('error');
  });
  it('same shape: clean', () => {
    expect(messages(call('binary_cross_entropy', t([16, 1], 'float32', { producer: { op: 'sigmoid' } }), t([16, 1], 'float32')))).toEqual([]);
  });
});

describe('mse_loss / l1_loss', () => {
  it('[N, 1] against [N] broadcasts to [N, N] (B5): PyTorch\'s UserWarning as a warning', () => {
    const r = call('mse_loss', t(['N', 1], 'float32'), t(['N'], 'float32'), { reduction: 'none' });
    expect(messages(r)).toEqual(['TL4003: Using a target size (torch.Size([N])) that is different to the input size (torch.Size([N, 1])). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.']);
    expect(severityOf(r.findings[0])).toBe('warning');
    expect(formatShape(r.output?.shape)).toBe('[N, N]');
    expect(r.findings[0].fixes?.[0]).toMatchObject({ subject: 'target', text: '.unsqueeze(1)' });
  });
  it('l1_loss likewise, concrete sizes', () => {
    expect(messages(call('l1_loss', t([16, 1], 'float32'), t([16], 'float32')))).toEqual(['TL4003: Using a target size (torch.Size([16])) that is different to the input size (torch.Size([16, 1])). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.']);
  });
  it('shapes that cannot broadcast: the broadcast error, rightmost mismatch first', () => {
    expect(messages(call('mse_loss', t([3, 4], 'float32'), t([3, 5], 'float32')))).toEqual(['TL2024: The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 1']);
    expect(messages(call('mse_loss', t([2, 3, 4], 'float32'), t([5, 4], 'float32')))).toEqual(['TL2024: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1']);
  });
  it('reduction error beats the size warning', () => {
    expect(messages(call('mse_loss', t([3, 1], 'float32'), t([3], 'float32'), { reduction: 'avg' }))).toEqual(['TL2016: avg is not a valid value for reduction']);
  });
  it('same shape or undecided: quiet', () => {
    expect(messages(call('mse_loss', t(['N', 4], 'float32'), t(['N', 4], 'float32')))).toEqual([]);
    expect(messages(call('mse_loss', t(['N', 'D'], 'float32'), t(['N', 'E'], 'float32')))).toEqual([]);
  });
  it('output: scalar for mean', () => {
    expect(formatShape(call('mse_loss', t(['N', 4], 'float32'), t(['N', 4], 'float32')).output?.shape)).toBe('[]');
  });
});

describe('BCE with a reordered target (C4)', () => {
  it('NHWC one-hot against NCHW logits, symbolic sizes: layout mismatch, permute fix', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N', 'C', 'H', 'W'], 'float32'), t(['N', 'H', 'W', 'C'], 'float32', { producer: { op: 'one_hot' } }));
    expect(messages(r)).toEqual(['TL2019: Target size (torch.Size([N, H, W, C])) must be the same as input size (torch.Size([N, C, H, W]))']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ subject: 'target', text: '.permute(0, 3, 1, 2)' });
  });
  it('concrete sizes likewise', () => {
    const r = call('binary_cross_entropy', t([2, 5, 4, 4], 'float32'), t([2, 4, 4, 5], 'float32'));
    expect(messages(r)[0]).toMatch(/^TL2020: Using a target size \(torch.Size\(\[2, 4, 4, 5\]\)\)/);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ text: '.permute(0, 3, 1, 2)' });
  });
});

describe('sigmoid before a logits loss', () => {
  it('binary_cross_entropy_with_logits on sigmoid output: TL4008 with the unwrap fix', () => {
    const r = call('binary_cross_entropy_with_logits', t(['N', 1], 'float32', { producer: { op: 'sigmoid' } }), t(['N', 1], 'float32'));
    expect(messages(r)).toEqual(['TL4008: the input of binary_cross_entropy_with_logits is already the output of sigmoid: binary_cross_entropy_with_logits applies sigmoid itself']);
    expect(r.findings[0].fixes?.[0]).toMatchObject({ kind: 'unwrap-producer', op: 'sigmoid' });
  });
  it('errors win: a Long target, a size mismatch', () => {
    expect(messages(call('binary_cross_entropy_with_logits', t(['N', 1], 'float32', { producer: { op: 'sigmoid' } }), t(['N', 1], 'int64')))[0]).toMatch(/^TL2021/);
    expect(messages(call('binary_cross_entropy_with_logits', t(['N', 1], 'float32', { producer: { op: 'sigmoid' } }), t(['N'], 'float32')))[0]).toMatch(/^TL2019/);
  });
  it('binary_cross_entropy on sigmoid output is right', () => {
    expect(messages(call('binary_cross_entropy', t(['N', 1], 'float32', { producer: { op: 'sigmoid' } }), t(['N', 1], 'float32')))).toEqual([]);
  });
});
