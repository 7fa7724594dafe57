// `tensor-lens check` and `tensor-lens shapes` as real subprocesses: output formats, exit codes,
// directory walking, tensorlens.json discovery.

import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, tempProject, type CliResult } from '../helpers/cli';
import { diagnosticTable } from '../../server/analysis/diagnosticTable';

let run: (args: readonly string[], cwd: string) => CliResult;

beforeAll(async () => {
  run = await buildCli();
});

const BUGGY = `import { torch } from 'js-pytorch';
const x = torch.randn([8, 512]);
const fc = new torch.nn.Linear(256, 10);
const y = fc.forward(x);
`;
const CLEAN = `import * as tf from '@tensorflow/tfjs';
const x = tf.zeros([8, 784]);
const y = tf.matMul(x, tf.zeros([784, 10]));
`;

describe('tensor-lens check', () => {
  it('prints tsc-style lines and exits 1 on an error', () => {
    const dir = tempProject({ 'src/train.ts': BUGGY, 'src/clean.ts': CLEAN });
    const r = run(['check', 'src'], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('src/train.ts:4:22 - error TL3003: mat1 and mat2 shapes cannot be multiplied (8x512 and 256x10)\n');
    expect(r.stdout).toContain('Checked 2 files: 1 error, 0 warnings.');
  });

  it('exits 0 on clean code', () => {
    const dir = tempProject({ 'a.ts': CLEAN });
    const r = run(['check'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Checked 1 file: 0 errors, 0 warnings.');
  });

  it('prints the JSON form with 1-based positions', () => {
    const dir = tempProject({ 'train.ts': BUGGY });
    const r = run(['check', '.', '--format', 'json'], dir);
    expect(r.status).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json).toEqual({
      files: 1,
      diagnostics: [{ file: 'train.ts', line: 4, column: 22, endLine: 4, endColumn: 23, severity: 'error', code: 'TL3003', message: 'mat1 and mat2 shapes cannot be multiplied (8x512 and 256x10)' }],
    });
  });

  it('prints SARIF 2.1.0 with the table as rules', () => {
    const dir = tempProject({ 'train.ts': BUGGY });
    const r = run(['check', '--format=sarif', 'train.ts'], dir);
    expect(r.status).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const rules = sarif.runs[0].tool.driver.rules;
    expect(rules.map((x: { id: string }) => x.id)).toEqual(diagnosticTable.map(d => d.code));
    const result = sarif.runs[0].results[0];
    expect(result.ruleId).toBe('TL3003');
    expect(rules[result.ruleIndex].id).toBe('TL3003');
    expect(result.level).toBe('error');
    expect(result.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'train.ts' }, region: { startLine: 4, startColumn: 22, endLine: 4, endColumn: 23 } });
  });

  it('skips node_modules, dot-folders and .gitignore entries, and .d.ts files', () => {
    const dir = tempProject({
      '.gitignore': '# build output\ngenerated/\n*.gen.ts\n',
      'node_modules/pkg/index.ts': BUGGY,
      '.cache/x.ts': BUGGY,
      'generated/model.ts': BUGGY,
      'src/model.gen.ts': BUGGY,
      'src/types.d.ts': BUGGY,
      'src/ok.ts': CLEAN,
    });
    const r = run(['check', '--format', 'json'], dir);
    expect(JSON.parse(r.stdout)).toEqual({ files: 1, diagnostics: [] });
    expect(r.status).toBe(0);
  });

  it('finds tensorlens.json in the parents: torchModules and functions apply', () => {
    const dir = tempProject({
      'tensorlens.json': JSON.stringify({ torchModules: ['my-torch'], functions: { dice: '(p: [N, C], t: [N, C]) -> []' }, exclude: ['**/legacy/**'] }),
      'src/a.ts': `import * as torch from 'my-torch';\nconst l = dice(torch.zeros([4, 3]), torch.zeros([4, 2]));\n`,
      'src/legacy/old.ts': BUGGY,
    });
    const r = run(['check', 'src', '--format', 'json'], dir);
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout);
    expect(json.files).toBe(1);
    expect(json.diagnostics.map((d: { code: string; line: number }) => [d.code, d.line])).toEqual([['TL1004', 2]]);
    expect(r.status).toBe(1);
  });

  it('reports a malformed function description as TL1009 against tensorlens.json', () => {
    const dir = tempProject({ 'tensorlens.json': JSON.stringify({ functions: { dice: '(p: [N, C] -> []' } }), 'a.ts': CLEAN });
    const r = run(['check'], dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/tensorlens\.json:1:1 - error TL1009: Malformed function description for 'dice' in tensorlens\.json: /);
  });

  it('uses --config when given and exits 2 on a broken config', () => {
    const dir = tempProject({ 'conf/bad.json': '{ not json', 'a.ts': CLEAN });
    const r = run(['check', '--config', 'conf/bad.json'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('not valid JSON');
    expect(run(['check', '--config', 'missing.json'], dir).status).toBe(2);
  });

  it('exits 2 on usage errors and prints help with 0', () => {
    const dir = tempProject({ 'a.ts': CLEAN });
    expect(run(['check', '--format', 'xml'], dir).status).toBe(2);
    expect(run(['check', '--frobnicate'], dir).status).toBe(2);
    expect(run(['check', 'nope/'], dir).status).toBe(2);
    expect(run(['bogus'], dir).status).toBe(2);
    const help = run(['check', '--help'], dir);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: tensor-lens check');
    expect(run(['--help'], dir).stdout).toContain('commands:');
  });
});

describe('tensor-lens shapes', () => {
  const FILE = `import { torch } from 'js-pytorch';
/** @shape x [N, 3, H, W] */
function f(x: any) {
  const flat = x.flatten(2);
  return flat;
}
const a = torch.zeros([2, 3]); // @shape [B, 3]
const anyBatch = load(); // @shape [*batch, 10] int64
const unknown = load();
const lost = torch.zeros([2]).gather(0, idx);
`;

  it('lists declarations and parameters as JSON', () => {
    const dir = tempProject({ 'f.ts': FILE });
    const r = run(['shapes', 'f.ts', '--format', 'json'], dir);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      shapes: [
        { line: 3, column: 12, name: 'x', shape: ['N', 3, 'H', 'W'], dtype: null },
        { line: 4, column: 9, name: 'flat', shape: ['N', 3, 'H*W'], dtype: null },
        { line: 7, column: 7, name: 'a', shape: ['B', 3], dtype: 'float32' },
        { line: 8, column: 7, name: 'anyBatch', shape: ['*batch', 10], dtype: 'int64' },
        { line: 10, column: 7, name: 'lost', shape: null, dtype: 'float32' },
      ],
    });
  });

  it('prints text and rejects wrong usage', () => {
    const dir = tempProject({ 'f.ts': FILE });
    const r = run(['shapes', 'f.ts'], dir);
    expect(r.stdout.split('\n')[0]).toBe('f.ts:3:12 x: [N, 3, H, W]');
    expect(run(['shapes'], dir).status).toBe(2);
    expect(run(['shapes', 'f.ts', 'g.ts'], dir).status).toBe(2);
    expect(run(['shapes', 'missing.ts'], dir).status).toBe(2);
  });
});
