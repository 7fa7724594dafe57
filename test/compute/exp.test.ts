// The kernels' exp on its own (the expLanes export), against Math.exp in ulps of the float32 result:
// the SIMD build reduces with a two-part ln2 (Cody–Waite), the relaxed build in one fused step with a
// one-word ln2, whose error grows with |n| (compute/assembly/index.ts, vexp). Below −80 the input is
// clamped; NaN stays NaN. And rowsLong's base-2 exp (the rowExpLanes export, vexpRow), against
// e^(x − max + c) in f64. Relaxed SIMD runs in a child Node with the V8 flag (Node 20).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './conformanceHelpers';
// @ts-expect-error a plain ESM helper (no declarations), shared with the child process
import { expAccuracy, rowExpAccuracy } from './expAccuracy.mjs';

interface Report { ranges: Record<string, number>; specials: [string, number | null][] }
interface RowReport { m: number; c: number; worst: number; specials: (number | null)[] }
const wasm = (file: string) => join(repoRoot, 'dist', 'compute', file);

function checkSpecials(r: Report): void {
  const at = new Map(r.specials);
  expect(at.get('0')).toBe(1);
  const clamped = at.get('-80')!;
  expect(Math.abs(clamped - Math.exp(-80)) / Math.exp(-80)).toBeLessThan(1e-6);
  for (const x of ['-80.5', '-100', '-1e+30', '-Infinity']) expect(at.get(x), x).toBe(clamped);
  expect(at.get('NaN') ?? NaN).toBeNaN(); // (JSON from the child writes NaN as null)
}

/** Both reports of the relaxed build, from a child Node with the V8 flag (Node 20). */
let relaxedReport: Report & { rows: RowReport[] };
function relaxed(): Report & { rows: RowReport[] } {
  relaxedReport ??= JSON.parse(execFileSync(process.execPath,
    ['--experimental-wasm-relaxed-simd', join(__dirname, 'expAccuracy.mjs'), wasm('ce-relaxed.wasm')], { encoding: 'utf8' }));
  return relaxedReport;
}

/**
 * rowsLong's exp: within 2.4·2^−24·(1 + |x − m|) relative of e^(x − m + c), c the fused rows' shift
 * (0 from 2^20 on, and in the SIMD build); the clamp gives 2^−115 below it and for −inf.
 */
function checkRows(rows: RowReport[], fusedUpTo: number): void {
  expect(rows.length).toBe(5);
  for (const r of rows) {
    expect(r.worst, `m = ${r.m}`).toBeLessThanOrEqual(2.4);
    expect(r.c !== 0, `m = ${r.m}: fused`).toBe(r.m !== 0 && Math.abs(r.m) <= fusedUpTo);
    const [deep, negInf, nan, top] = r.specials;
    expect(Math.abs(deep! / 2 ** -115 - 1), `m = ${r.m}`).toBeLessThan(2e-7); // the clamp: t = −115
    expect(negInf).toBe(deep);
    expect(nan).toBeNull(); // NaN
    expect(Math.abs(top! / Math.exp(r.c) - 1)).toBeLessThan(2e-7);
  }
}

describe('the kernels\' exp', () => {
  it('ce-simd.wasm: within 2.3 ulp over [−80, 0]', () => {
    const r: Report = expAccuracy(wasm('ce-simd.wasm'));
    for (const [range, ulps] of Object.entries(r.ranges)) expect(ulps, range).toBeLessThanOrEqual(2.3);
    checkSpecials(r);
  });

  it('ce-relaxed.wasm: within 2.4 ulp for x ≥ −8, the one-word ln2 costing up to 5 ulp below', () => {
    const r: Report = relaxed();
    expect(r.ranges['[-0.35, 0]']).toBeLessThanOrEqual(2.4);
    expect(r.ranges['[-8, 0]']).toBeLessThanOrEqual(2.4);
    expect(r.ranges['[-20, -8]']).toBeLessThanOrEqual(3);
    expect(r.ranges['[-80, -20]']).toBeLessThanOrEqual(5);
    checkSpecials(r);
  });

  it('rowsLong\'s exp, ce-simd.wasm: never fused', () => {
    checkRows(rowExpAccuracy(wasm('ce-simd.wasm')), 0);
  });

  it('rowsLong\'s exp, ce-relaxed.wasm: fused up to |max| 2^20', () => {
    checkRows(relaxed().rows, 2 ** 20);
  });
});
