// Staged copy-in: inputs that are not in engine memory are copied one block at a time into a staging
// area (spatial blocks as [C, stride] tiles). The results must be bit-identical to the same inputs
// computed in place (zero-copy), for every kernel path, block size and layout; a bad target in a
// later block is still the first in memory order; and engine memory stays bounded by the block.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BlockResults, Engine } from '../../compute/engine';
import { blockItems, blocksOf } from '../../compute/finish';
import { loadEngine } from '../../compute/node/loadEngine';
import { planTorch } from '../../compute/semantics';
import type { LossOptions, Tensor } from '../../compute/types';
import { makeCase, type CaseSpec } from './randomCases';
import { BASE_CASE, PATH_VARIANTS, nanCanonicalBits, resident } from './pathCases';

/** The bytes of a result array as hex: equal strings are equal bits (−0 included; every NaN as the canonical one, see nanCanonicalBits). */
const bits = nanCanonicalBits;
const sameBits = (a: BlockResults, b: BlockResults) => {
  expect(bits(a.partials)).toBe(bits(b.partials));
  expect(bits(a.values)).toBe(bits(b.values));
  expect(bits(a.logProb)).toBe(bits(b.logProb));
  expect(a.badTarget).toEqual(b.badTarget);
};

const base = BASE_CASE;
const variants = PATH_VARIANTS;
/** Shapes and block sizes that give several blocks, partial last blocks and partial SIMD groups. */
const layouts: { shape: number[]; blocks: (number | undefined)[] }[] = [
  { shape: [37, 5], blocks: [4, 8, 36, undefined] },     // rowsT4
  { shape: [9, 300], blocks: [4, 8] },                  // rowsLong
  { shape: [3, 5, 37], blocks: [4, 12, 36, undefined] }, // spatial, blocks inside an image
  { shape: [2, 21, 13, 11], blocks: [16, 100] },
  { shape: [3, 2, 5], blocks: [4] },                    // a block is longer than an image
  { shape: [2, 3, 1024], blocks: [1024, 1010] },        // a tile stride of 4 KB, padded by a line
];

describe.each(['ce-simd.wasm', 'ce-scalar.wasm'] as const)('staged copy-in (%s)', file => {
  let engine: Engine;
  beforeAll(async () => { engine = await loadEngine({ file }); });

  it('gives the same bits as computing in place, on every path, layout and block size', () => {
    let compared = 0;
    for (const { shape, blocks } of layouts) {
      for (const [vi, v] of variants.entries()) {
        const spec: CaseSpec = { ...base, ...v, shape };
        const { input, target, options } = makeCase(spec, 77 + vi);
        const plan = planTorch(spec.fn, input, target, options);
        for (const blockItems of blocks) {
          const run = (x: Tensor, t: Tensor) => engine.computeBlocks({ plan, input: x, target: t, weight: options.weight, blockItems, wantValues: true });
          const staged = run(input, target);
          const xr = resident(engine, input);
          const tr = resident(engine, target);
          // in place; and each tensor alone in place (staged logits with resident targets and back)
          sameBits(staged, run(xr, tr));
          sameBits(staged, run(input, tr));
          sameBits(staged, run(xr, target));
          engine.free(tr);
          engine.free(xr);
          compared++;
        }
        // and the public API end to end
        const call = (x: Tensor, t: Tensor, o: LossOptions) => spec.fn === 'nll_loss' ? engine.nllLoss(x, t, o) : engine.crossEntropy(x, t, o);
        for (const reduction of ['mean', 'none'] as const) {
          const o = { ...options, reduction };
          const a = call(input, target, o);
          const xr = resident(engine, input);
          const b = call(xr, target, o);
          engine.free(xr);
          expect(Object.is(a.loss, b.loss)).toBe(true);
          expect(bits(a.values)).toBe(bits(b.values));
          expect(bits(a.logProb)).toBe(bits(b.logProb));
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('reports the first bad target in memory order when it sits in a later block', () => {
    const rows = makeCase({ ...base, shape: [40, 5] }, 3);
    const t = rows.target.data as BigInt64Array;
    t[30] = 9n; t[20] = -7n;
    const plan = planTorch('cross_entropy', rows.input, rows.target, {});
    const r = engine.computeBlocks({ plan, input: rows.input, target: rows.target, blockItems: 8 });
    expect(r.badTarget).toEqual({ index: 20, value: '-7' });
    expect(() => engine.crossEntropy(rows.input, rows.target)).toThrow('Target -7 is out of bounds.');

    const px = makeCase({ ...base, shape: [2, 3, 10] }, 4);
    const tp = px.target.data as BigInt64Array;
    tp[17] = 3n; tp[13] = 5n;
    const planS = planTorch('cross_entropy', px.input, px.target, {});
    expect(engine.computeBlocks({ plan: planS, input: px.input, target: px.target, blockItems: 4 }).badTarget).toEqual({ index: 13, value: '5' });
  });
});

describe('staged copy-in memory', () => {
  it('grows engine memory by about a block, not by the input', async () => {
    const engine = await loadEngine({ file: 'ce-simd.wasm' });
    const memBytes = () => (engine as unknown as { k: { memory: { buffer: ArrayBuffer } } }).k.memory.buffer.byteLength;
    const before = memBytes();
    // rows: blocks of ≈ 128k logits (512 KB staged), here of a 5.2 MB input
    const rows = makeCase({ ...base, shape: [1300, 1000] }, 5);
    expect(Number.isFinite(engine.crossEntropy(rows.input, rows.target).loss)).toBe(true);
    expect(memBytes() - before).toBeLessThan(1 << 20);
    // pixels: blocks of ≈ 1M logits (4 MB staged), here of a 22 MB input
    const pixels = makeCase({ ...base, shape: [4, 21, 256, 256] }, 5);
    expect(Number.isFinite(engine.crossEntropy(pixels.input, pixels.target).loss)).toBe(true);
    expect(memBytes() - before).toBeLessThan(5 << 20);
  });
});

describe('the block partition', () => {
  it('rows in blocks of ≈ 128k logits (rowsLong: ≈ 32k); an image\'s pixels in equal blocks of up to ≈ 1M logits', () => {
    const index = { kind: 'index' as const, eps: 0, returnLogProb: false, dtype: 'float32' as const };
    const rows = (C: number) => ({ ...index, layout: 'rows' as const, C, S: 1 });
    const pixels = (C: number, S: number) => ({ ...index, layout: 'spatial' as const, C, S });
    expect(blockItems(rows(1000))).toBe(32);
    expect(blockItems(rows(185))).toBe(177);
    expect(blockItems(rows(184))).toBe(712);                            // rowsT4: groups of 4
    expect(blockItems(rows(10))).toBe(13104);
    expect(blockItems(rows(32000))).toBe(1);
    expect(blockItems(rows(100000))).toBe(1);
    // the row kernels other than rowsLong keep ≈ 128k logits
    expect(blockItems({ ...rows(1000), eps: 0.1 })).toBe(128);
    expect(blockItems({ ...rows(1000), kind: 'prob' })).toBe(128);
    expect(blockItems({ ...rows(1000), returnLogProb: true })).toBe(128);
    expect(blockItems({ ...rows(32000), dtype: 'float64' })).toBe(4);
    expect(blockItems(pixels(21, 4096))).toBe(49932);                   // the image fits one block
    for (const [C, S] of [[21, 262144], [21, 65536], [150, 16384], [3, 1 << 20], [7, 49999]]) {
      const plan = { ...pixels(C, S), N: 2 };
      const B = blockItems(plan);
      const sizes = [...blocksOf(plan, B)].map(b => b.end - b.start);
      expect(B % 4, `${C}, ${S}`).toBe(0);
      expect(B * C, `${C}, ${S}`).toBeLessThanOrEqual(1 << 20);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(2 * S);
      // every block of an image within 4 per block of the others (no remnant block)
      expect(Math.max(...sizes) - Math.min(...sizes), `${C}, ${S}`).toBeLessThan(4 * sizes.length / 2);
    }
  });
});

describe('staged copy-in conversions', () => {
  it('converts by the array\'s element type, whatever the declared dtype', async () => {
    const engine = await loadEngine({ file: 'ce-simd.wasm' });
    const spec: CaseSpec = { ...base, shape: [2, 5, 9] };
    const { input, target } = makeCase(spec, 8);
    const asF64: Tensor = { dtype: 'float32', shape: input.shape, data: Float64Array.from(input.data as Float32Array) };
    const a = engine.crossEntropy(input, target, { reduction: 'none' });
    const b = engine.crossEntropy(asF64, target, { reduction: 'none' });
    expect(bits(b.values)).toBe(bits(a.values));
  });
});
