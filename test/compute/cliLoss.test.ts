// `tensor-lens loss` in a subprocess on every conformance case (torch-ce and onnx-loss), plus usage,
// file and JSON-format behaviour. Runs `node bin/tensor-lens.js loss` once cli/main.ts dispatches it;
// until then (and always, so the command itself is covered) a bundle of cli/loss.ts with a two-line
// entry stands in for the dispatcher.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../compute/readers/npy';
import { closeTo, conformanceDir, firstMismatch, npy, onnxCases, repoRoot, toNumbers, torchCases } from './conformanceHelpers';

const tmp = mkdtempSync(join(tmpdir(), 'cli-loss-'));
const shim = join(tmp, 'loss.js');
const bin = join(repoRoot, 'bin', 'tensor-lens.js');

beforeAll(async () => {
  const entry = join(tmp, 'entry.ts');
  writeFileSync(entry, `import { lossCommand } from ${JSON.stringify(join(repoRoot, 'cli', 'loss'))};\n` +
    `lossCommand(process.argv.slice(2)).then(code => { process.exitCode = code; });\n`);
  // placed in dist/cli so loadEngine finds dist/compute beside it, as the real bundle does
  await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: shim, logLevel: 'error' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string }
type Runner = (args: string[]) => Promise<Run>;
/** Runs node asynchronously, so the conformance cases can overlap (process start-up dominates). */
const runNode = (argv: string[]): Promise<Run> => new Promise(resolve => {
  const child = spawn(process.execPath, argv, { cwd: repoRoot });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', d => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', d => { stderr += d; });
  child.on('close', status => resolve({ status, stdout, stderr }));
});
const viaShim: Runner = args => runNode([shim, ...args]);
const viaBin: Runner = args => runNode([bin, 'loss', ...args]);
const binWired = existsSync(join(repoRoot, 'dist', 'cli', 'main.js')) &&
  spawnSync(process.execPath, [bin, 'loss', '--help'], { encoding: 'utf8' }).stdout.includes('tensor-lens loss');

function runners(): [string, Runner][] {
  return binWired ? [['bin/tensor-lens.js loss', viaBin]] : [['cli/loss.ts bundle (cli/main.ts does not dispatch loss yet)', viaShim]];
}

describe.concurrent.each(runners())('%s', (_label, run) => {
  it.each(torchCases().map(c => [c.name, c] as const))('torch-ce %s', async (_name, c) => {
    const dir = join(conformanceDir, 'torch-ce');
    const args = ['--input', join(dir, c.inputs.input), '--target', join(dir, c.inputs.target), '--format', 'json'];
    if (c.inputs.weight) args.push('--weight', join(dir, c.inputs.weight));
    if (c.options.reduction) args.push('--reduction', c.options.reduction);
    if (c.options.ignore_index !== undefined) args.push('--ignore-index', String(c.options.ignore_index));
    if (c.options.label_smoothing !== undefined) args.push('--label-smoothing', String(c.options.label_smoothing));
    if (c.function === 'nll_loss') args.push('--function', 'nll_loss');
    const r = await run(args);
    if (c.error) {
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`${c.error.type}: ${c.error.message}\n`);
      expect(r.stdout).toBe('');
      return;
    }
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.engine).toBe('wasm-relaxed-simd');
    expect(typeof json.elapsedMs).toBe('number');
    expect(json.shape).toEqual(c.expected_shape);
    const expected = toNumbers(npy('torch-ce', c.expected!));
    const num = (v: number | string) => typeof v === 'string' ? Number(v) : v;
    if ((c.options.reduction ?? 'mean') === 'none') {
      expect(json.loss).toBeNull();
      expect(firstMismatch(json.values.map(num), expected.slice(0, 1000))).toBeUndefined();
    } else {
      expect(json.values).toBeUndefined();
      expect(closeTo(num(json.loss), expected[0]!), `${json.loss} vs ${expected[0]}`).toBe(true);
    }
  });

  it.each(onnxCases().map(c => [c.name, c] as const))('onnx %s', async (_name, c) => {
    const dir = join(conformanceDir, 'onnx-loss');
    const file = (role: string) => c.inputs.find(i => i.role === role);
    const args = ['--input', join(dir, c.inputs[0]!.file), '--target', join(dir, file('labels')!.file), '--format', 'json',
      '--reduction', c.attributes.reduction ?? 'mean'];
    if (file('weights')) args.push('--weight', join(dir, file('weights')!.file));
    if (c.attributes.ignore_index !== undefined) args.push('--ignore-index', String(c.attributes.ignore_index));
    if (c.op === 'NegativeLogLikelihoodLoss') args.push('--function', 'nll_loss');
    const out = join(tmp, `${c.name}.npy`);
    args.push('--out', out);
    const r = await run(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expected = toNumbers(npy('onnx-loss', c.outputs[0]!.file));
    const written = readNpy(out, new Uint8Array(readFileSync(out)));
    expect(written.shape).toEqual(c.outputs[0]!.shape);
    expect(written.dtype).toBe('float32');
    expect(firstMismatch(Array.from(written.data as Float32Array), expected)).toBeUndefined();
  });
});

describe('usage, files and formats', () => {
  const dir = join(conformanceDir, 'torch-ce');
  const x = join(dir, 'nc_mean', 'input.npy');
  const y = join(dir, 'nc_mean', 'target.npy');

  it('text output names the loss and the engine', async () => {
    const r = await viaShim(['--input', x, '--target', y]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^loss: 3\.18636\d*\nengine: wasm-relaxed-simd, [\d.]+ ms\n$/);
  });

  it('usage errors exit 2 with the usage text', async () => {
    for (const args of [[], ['--input', x], ['--input', x, '--target', y, '--reduction'], ['--bogus'],
      ['--input', x, '--target', y, '--ignore-index', '1.5'], ['--input', x, '--target', y, '--format', 'xml'],
      ['--input', x, '--target', y, '--mode', 'tfjs', '--ignore-index', '3']]) {
      const r = await viaShim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage: tensor-lens loss');
    }
  });

  it('an invalid reduction is PyTorch\'s ValueError', async () => {
    const r = await viaShim(['--input', x, '--target', y, '--reduction', 'avg']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('ValueError: avg is not a valid value for reduction\n');
  });

  it('a missing or malformed file is a clear error naming it, exit 2', async () => {
    const missing = await viaShim(['--input', join(tmp, 'nope.npy'), '--target', y]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('nope.npy');
    const bad = join(tmp, 'bad.npy');
    writeFileSync(bad, readFileSync(x).subarray(0, 90));
    const truncated = await viaShim(['--input', bad, '--target', y]);
    expect(truncated.status).toBe(2);
    expect(truncated.stderr).toContain('bad.npy');
  });

  it('JSON writes non-finite values as strings', async () => {
    const r = await viaShim(['--input', join(dir, 'nan_logit', 'input.npy'), '--target', join(dir, 'nan_logit', 'target.npy'),
      '--reduction', 'none', '--format', 'json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.values[0]).toBe('NaN');
    expect(typeof json.values[1]).toBe('number');
    const inf = await viaShim(['--input', join(dir, 'neg_inf_logit_target', 'input.npy'), '--target', join(dir, 'neg_inf_logit_target', 'target.npy'), '--format', 'json']);
    expect(JSON.parse(inf.stdout).loss).toBe('Infinity');
  });

  it('--threads N runs a worker pool with the same result', async () => {
    const shape = [16, 10, 50, 50];
    const n = shape.reduce((a, b) => a * b, 1);
    const xs = join(tmp, 'big-x.npy');
    const ts = join(tmp, 'big-t.npy');
    writeFileSync(xs, writeNpy({ dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 5) }));
    writeFileSync(ts, writeNpy({ dtype: 'int64', shape: [16, 50, 50], data: BigInt64Array.from({ length: n / 10 }, (_, i) => BigInt((i * 7) % 10)) }));
    const one = await viaShim(['--input', xs, '--target', ts, '--format', 'json', '--threads', '1']);
    const two = await viaShim(['--input', xs, '--target', ts, '--format', 'json', '--threads', '2']);
    expect(one.stderr + two.stderr).toBe('');
    expect(JSON.parse(two.stdout).loss).toBe(JSON.parse(one.stdout).loss);
    expect((await viaShim(['--input', xs, '--target', ts, '--threads', '0'])).status).toBe(2);
  });

  it('tfjs mode: TF.js values and TF.js errors', async () => {
    const labels = join(tmp, 'labels.json');
    const logits = join(tmp, 'logits.json');
    writeFileSync(labels, JSON.stringify([[0, 0, 1], [1, 0, 0], [0, 1, 0]]));
    writeFileSync(logits, JSON.stringify([[10, -10, -10], [-10, 10, -10], [-10, -10, 10]]));
    const r = await viaShim(['--mode', 'tfjs', '--input', logits, '--target', labels, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).loss).toBeCloseTo(20, 4);
    const wrong = join(tmp, 'wrong.json');
    writeFileSync(wrong, JSON.stringify([[10, 10, 10], [10, 10, 10]]));
    const e = await viaShim(['--mode', 'tfjs', '--input', wrong, '--target', labels]);
    expect(e.status).toBe(1);
    expect(e.stderr).toBe('Error: Error in softmaxCrossEntropy:  Shapes 3,3 and 2,3 must match\n');
  });
});
