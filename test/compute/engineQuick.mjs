// Quick single-thread timing of the engine on the benchmark shapes (for tuning, not a test):
//   node test/compute/engineQuick.mjs [reps] [shape…]   e.g. node test/compute/engineQuick.mjs 5 4096x1000
// Bundles the TypeScript API with esbuild into a temp file, fills inputs in engine memory (zero copy)
// and prints M elements/s per build (best and median of the runs), plus the relative error of the
// mean against float64. Run with --experimental-wasm-relaxed-simd to include the relaxed build.
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'engine-quick-'));
const out = join(dir, 'engine.mjs');
await esbuild.build({
  stdin: { contents: `export * from './compute/node/loadEngine'; export * from './compute/engine';`, resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'error',
});
const api = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

const reps = Number(process.argv[2] ?? 5);
const shapes = (process.argv.length > 3 ? process.argv.slice(3) : ['4096x1000', '65536x10', '8x21x512x512', '512x32000'])
  .map(s => s.split('x').map(Number));
const files = ['ce-simd.wasm', ...(api.selectEngineFile() === 'ce-relaxed.wasm' ? ['ce-relaxed.wasm'] : [])];

let seed = 1;
const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
for (const shape of shapes) {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const numel = N * C * S;
  const logits = new Float32Array(numel);
  for (let i = 0; i < numel; i++) logits[i] = (rand() + rand() + rand() - 1.5) * 4;
  const targets = new BigInt64Array(N * S);
  for (let i = 0; i < N * S; i++) targets[i] = BigInt(Math.floor(rand() * C));
  // float64 reference mean
  let ref = 0;
  for (let n = 0; n < N; n++) for (let p = 0; p < S; p++) {
    let m = -Infinity, s = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[(n * C + c) * S + p]);
    for (let c = 0; c < C; c++) s += Math.exp(logits[(n * C + c) * S + p] - m);
    ref += Math.log(s) + m - logits[(n * C + Number(targets[n * S + p])) * S + p];
  }
  ref /= N * S;
  const line = [`[${shape.join(', ')}]`];
  for (const file of files) {
    const engine = await api.loadEngine({ file });
    const x = engine.allocInput(shape);
    x.data.set(logits);
    const t = engine.allocTensor([N, ...shape.slice(2)], 'int64');
    t.data.set(targets);
    for (let w = 0; w < 3; w++) engine.crossEntropy(x, t); // tier-up
    const times = [];
    let r;
    for (let i = 0; i < reps; i++) { r = engine.crossEntropy(x, t); times.push(r.elapsedMs); }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    // best of N is the least disturbed run on a shared machine; the median shows the noise
    line.push(`${file}: best ${(numel / times[0] / 1e3).toFixed(0)} / median ${(numel / med / 1e3).toFixed(0)} M el/s (rel err ${(Math.abs(r.loss - ref) / ref).toExponential(1)})`);
  }
  console.log(line.join('  '));
}
