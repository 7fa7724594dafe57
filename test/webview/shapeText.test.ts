// Shape text of the loss panel: parsing, symbols, expressions and default sizes.
import { describe, expect, it } from 'vitest';
import {
  defaultDimValue, dimsFromJson, evalDim, parseShapeText, resolveShape, shapeToText, ShapeTextError, symbolsOf,
} from '../../webview/model/shapeText';

describe('shape text', () => {
  it('parses sizes, symbols, expressions and variadic groups', () => {
    const dims = parseShapeText('[N, 3, H*W, (C+1)//2, *batch]');
    expect(dims.map(d => d.kind)).toEqual(['expr', 'size', 'expr', 'expr', 'variadic']);
    expect(symbolsOf(dims)).toEqual(['N', 'H', 'W', 'C']);
    expect(resolveShape(dims, { N: 2, H: 4, W: 5, C: 20 })).toEqual([2, 3, 20, 10]);
    expect(shapeToText(dims)).toBe('[N, 3, H*W, (C+1)//2, *batch]');
  });
  it('accepts no brackets and the empty shape', () => {
    expect(resolveShape(parseShapeText('2, 3'), {})).toEqual([2, 3]);
    expect(parseShapeText('[]')).toEqual([]);
    expect(parseShapeText('')).toEqual([]);
  });
  it('turns unknown dims into symbols of their own', () => {
    const dims = dimsFromJson(['N', '?', 5, '?']);
    expect(symbolsOf(dims)).toEqual(['N', '?1', '?2']);
    expect(resolveShape(dims, { N: 1, '?1': 2, '?2': 3 })).toEqual([1, 2, 5, 3]);
  });
  it('reports bad text clearly', () => {
    expect(() => parseShapeText('[N, C')).toThrow(ShapeTextError);
    expect(() => parseShapeText('[N, C!]')).toThrow('"C!" is not a dim');
    expect(() => parseShapeText('[N, (C]')).toThrow(/missing "\)"/);
    expect(() => resolveShape(parseShapeText('[N]'), {})).toThrow('no size for N');
    expect(() => resolveShape(parseShapeText('[N-5]'), { N: 2 })).toThrow('N-5 = -3 is not a size');
    expect(() => evalDim('H//0', { H: 1 })).toThrow('divides by zero');
  });
  it('gives batch, class and spatial symbols small sizes unless known', () => {
    expect(defaultDimValue('N')).toBe(4);
    expect(defaultDimValue('numClasses')).toBe(10);
    expect(defaultDimValue('H')).toBe(16);
    expect(defaultDimValue('C', { C: 21 })).toBe(21);
    expect(defaultDimValue('foo')).toBe(8);
  });
});
