// The torch-ce conformance cases once more, through the whole analysis: each case becomes a small
// TypeScript file (annotated shapes, literal targets, options in a trailing object), and
// `analyzeText` must report exactly PyTorch's message for the error cases and no error otherwise.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeText } from '../../server/analysis';

const root = path.resolve(__dirname, '..', '..');
const dir = path.join(root, '..', 'shared', 'conformance', 'torch-ce');

interface Case {
  name: string;
  function: 'cross_entropy' | 'nll_loss';
  options: { reduction?: string; ignore_index?: number; label_smoothing?: number };
  inputs: { target: string };
  shapes: { input: number[]; target: number[]; weight: number[] | null };
  dtypes: { input: string; target: string; weight: string | null };
  error?: { type: string; message: string };
}

const cases: Case[] = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8').replace(/(?<=[:[,]\s*)-?(NaN|Infinity)\b/g, 'null'));

/** Integer targets of a few elements, read from the case's .npy (little-endian int64 / int32). */
function smallIntTarget(c: Case): number[] | undefined {
  if (c.dtypes.target !== 'int64' && c.dtypes.target !== 'int32') return undefined;
  const buf = readFileSync(path.join(dir, c.inputs.target));
  const headerLen = buf.readUInt16LE(8);
  const data = buf.subarray(10 + headerLen);
  const width = c.dtypes.target === 'int64' ? 8 : 4;
  if (data.length / width > 16) return undefined;
  const out: number[] = [];
  for (let i = 0; i < data.length; i += width) out.push(width === 8 ? Number(data.readBigInt64LE(i)) : data.readInt32LE(i));
  return out;
}

function nest(values: number[], dims: number[]): string {
  if (dims.length === 0) return String(values[0]);
  const [d, ...rest] = dims;
  const size = rest.reduce((a, b) => a * b, 1);
  return `[${Array.from({ length: d }, (_, i) => nest(values.slice(i * size, (i + 1) * size), rest)).join(', ')}]`;
}

function source(c: Case): string {
  const values = smallIntTarget(c);
  const opts: string[] = [];
  if (c.shapes.weight) opts.push(`weight: torch.ones([${c.shapes.weight.join(', ')}])`);
  if (c.options.ignore_index !== undefined) opts.push(`ignoreIndex: ${c.options.ignore_index}`);
  if (c.options.label_smoothing !== undefined) opts.push(`labelSmoothing: ${c.options.label_smoothing}`);
  if (c.options.reduction !== undefined) opts.push(`reduction: '${c.options.reduction}'`);
  const fn = c.function === 'nll_loss' ? 'F.nll_loss' : 'F.cross_entropy';
  const targetDecl = values
    ? `  const target = torch.tensor(${nest(values, c.shapes.target)}, { dtype: '${c.dtypes.target}' });`
    : '';
  return [
    "import { torch } from 'js-pytorch';",
    "import * as F from 'js-pytorch/functional';",
    '/**',
    ` * @shape input [${c.shapes.input.join(', ')}] ${c.dtypes.input}`,
    values ? '' : ` * @shape targetArg [${c.shapes.target.join(', ')}] ${c.dtypes.target}`,
    ' */',
    'export function lossOf(input: any, targetArg: any) {',
    targetDecl || '  const target = targetArg;',
    `  return ${fn}(input, target${opts.length ? `, { ${opts.join(', ')} }` : ''});`,
    '}',
    '',
  ].join('\n');
}

describe('torch-ce conformance through analyzeText', () => {
  for (const c of cases) {
    it(c.name, () => {
      const text = source(c);
      const r = analyzeText(`/conformance/${c.name}.ts`, text);
      const errors = r.diagnostics.filter(d => d.severity === 'error').map(d => d.message);
      expect(errors, text).toEqual(c.error ? [c.error.message] : []);
      // The loss call was recognised and its shapes tracked.
      expect(r.lossCalls.length, text).toBe(1);
    });
  }
});
