// The engine against the float64 reference on seeded random, boundary-size and hostile cases, for
// every build: SIMD and scalar in this process, relaxed SIMD in a child Node with the V8 flag.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../compute/node/loadEngine';
import { repoRoot } from './conformanceHelpers';
import { runSuite, suiteSpecs } from './randomCases';

describe('engine against the float64 reference', () => {
  it('covers every option combination and boundary size', () => {
    const specs = suiteSpecs();
    expect(specs.length).toBeGreaterThan(250);
    for (const key of ['prob', 'weighted', 'logProb'] as const) expect(specs.some(s => s[key])).toBe(true);
    expect(new Set(specs.map(s => s.reduction)).size).toBe(3);
    expect(specs.some(s => s.fn === 'nll_loss') && specs.some(s => s.dtype === 'float64') && specs.some(s => s.eps === 1)).toBe(true);
  });

  it.each(['ce-simd.wasm', 'ce-scalar.wasm'] as const)('%s: all cases within 2e-6 elementwise, 1e-6 reduced', async file => {
    const engine = await loadEngine({ file });
    const report = runSuite(engine);
    expect(report.failures.slice(0, 10)).toEqual([]);
    expect(report.cases).toBeGreaterThan(250);
    console.log(`${file}: ${report.cases} cases, max elementwise error ${report.maxElemErr.toExponential(2)}, max reduced error ${report.maxReducedErr.toExponential(2)}`);
  });

  it('ce-relaxed.wasm (child process with --experimental-wasm-relaxed-simd)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relaxed-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, `
        import { loadEngine } from ${JSON.stringify(join(repoRoot, 'compute/node/loadEngine'))};
        import { runSuite } from ${JSON.stringify(join(repoRoot, 'test/compute/randomCases'))};
        const engine = await loadEngine({ wasmDir: ${JSON.stringify(join(repoRoot, 'dist', 'compute'))} });
        process.stdout.write(JSON.stringify({ kind: engine.kind, ...runSuite(engine, true) }));
      `);
      await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: join(dir, 'run.mjs'), logLevel: 'error' });
      const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', join(dir, 'run.mjs')], { encoding: 'utf8', timeout: 120_000 });
      const report = JSON.parse(out);
      expect(report.kind).toBe('wasm-relaxed-simd');
      expect(report.failures.slice(0, 10)).toEqual([]);
      expect(report.cases).toBeGreaterThan(150);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
