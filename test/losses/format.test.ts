// The runtimes' number and shape notations the loss messages print.

import { describe, expect, it } from 'vitest';
import { shapeOf } from '../../server/analysis/dims';
import { cppDouble, tfjsJsonShape, tfjsShape, torchShape } from '../../server/analysis/losses/format';

describe('cppDouble: std::ostream << double (6 significant digits, %g)', () => {
  it.each([
    [1.5, '1.5'], [2, '2'], [1.1234567, '1.12346'], [1.0000001, '1'], [100, '100'], [123456, '123456'],
    [1234567, '1.23457e+06'], [1e20, '1e+20'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1e-7, '1e-07'],
    [-2.5, '-2.5'], [999999.5, '1e+06'], [0.1 + 0.2, '0.3'],
  ])('%s → %s', (v, text) => expect(cppDouble(v)).toBe(text));
});

describe('shapes', () => {
  it('PyTorch lists, TF.js toString and JSON', () => {
    const s = shapeOf(['N', 3, 'H', 'W']);
    expect(torchShape(s)).toBe('[N, 3, H, W]');
    expect(tfjsShape(s)).toBe('N,3,H,W');
    expect(tfjsJsonShape(s)).toBe('[N,3,H,W]');
    expect(torchShape(shapeOf([]))).toBe('[]');
  });
});
