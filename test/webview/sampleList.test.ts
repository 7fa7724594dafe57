// Sorting of the per-sample list (the DOM part is exercised in the browser tests).
import { describe, expect, it } from 'vitest';
import { sortOrder } from '../../webview/ui/sampleList';

describe('sortOrder', () => {
  const v = Float64Array.of(0.5, NaN, 2, 0.5, -1);
  it('keeps index order', () => {
    expect([...sortOrder(v, 'index')]).toEqual([0, 1, 2, 3, 4]);
  });
  it('sorts by loss, ties by index, NaN last in both directions', () => {
    expect([...sortOrder(v, 'loss-desc')]).toEqual([2, 0, 3, 4, 1]);
    expect([...sortOrder(v, 'loss-asc')]).toEqual([4, 0, 3, 2, 1]);
  });
  it('sorts a million samples', () => {
    const big = new Float64Array(1_000_000).map((_, i) => (i * 7919) % 1000);
    const order = sortOrder(big, 'loss-desc');
    expect(big[order[0]]).toBe(999);
    expect(big[order[order.length - 1]]).toBe(0);
  });
});
