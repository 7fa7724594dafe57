// Cross-checks the cross-entropy rules against torch 2.13's own outcomes on the shared conformance
// cases: every error case must produce exactly PyTorch's message, every passing case no error and
// the output shape PyTorch returned.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatShape } from '../../server/analysis/dims';
import { call, messages, severityOf, t } from './helpers';

const root = path.resolve(__dirname, '..', '..');
const dir = path.join(root, '..', 'shared', 'conformance', 'torch-ce');

interface Case {
  name: string;
  function: 'cross_entropy' | 'nll_loss';
  options: { reduction?: string; ignore_index?: number; label_smoothing?: number };
  inputs: { input: string; target: string; weight?: string };
  shapes: { input: number[]; target: number[]; weight: number[] | null };
  dtypes: { input: string; target: string; weight: string | null };
  error?: { type: string; message: string };
  expected_shape?: number[];
}

/** A minimal .npy reader for the little-endian int64 / float32 / float64 targets of these cases. */
function readNpy(file: string): number[] {
  const buf = readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1];
  const data = buf.subarray(10 + headerLen);
  const out: number[] = [];
  if (descr === '<i8') for (let i = 0; i < data.length; i += 8) out.push(Number(data.readBigInt64LE(i)));
  else if (descr === '<i4') for (let i = 0; i < data.length; i += 4) out.push(data.readInt32LE(i));
  else if (descr === '<f4') for (let i = 0; i < data.length; i += 4) out.push(data.readFloatLE(i));
  else if (descr === '<f8') for (let i = 0; i < data.length; i += 8) out.push(data.readDoubleLE(i));
  else if (descr === '|u1') for (let i = 0; i < data.length; i++) out.push(data[i]);
  else throw new Error(`unsupported dtype ${descr} in ${file}`);
  return out;
}

// Python's json writes NaN / Infinity as bare tokens; they only occur in expected values.
const cases: Case[] = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8').replace(/(?<=[:\[,]\s*)-?(NaN|Infinity)\b/g, 'null'));

function run(c: Case) {
  const values = readNpyIfPresent(c.inputs.target);
  return call(c.function,
    t(c.shapes.input, c.dtypes.input),
    t(c.shapes.target, c.dtypes.target, values && values.length <= 4096 ? { values } : {}),
    {
      weight: c.shapes.weight ? t(c.shapes.weight, c.dtypes.weight!) : undefined,
      reduction: c.options.reduction,
      ignoreIndex: c.options.ignore_index,
      labelSmoothing: c.options.label_smoothing,
    });
}

function readNpyIfPresent(rel: string): number[] | undefined {
  try {
    return readNpy(path.join(dir, rel));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

describe('torch-ce conformance: error cases give PyTorch\'s exact message', () => {
  const errors = cases.filter(c => c.error);
  it('has the 17 error cases', () => expect(errors.length).toBe(17));
  for (const c of errors) {
    it(c.name, () => {
      const r = run(c);
      const errs = r.findings.filter(f => severityOf(f) === 'error');
      expect(errs.length, messages(r).join('\n')).toBe(1);
      expect(messages({ findings: errs }).map(m => m.replace(/^TL\d+: /, ''))).toEqual([c.error!.message]);
    });
  }
});

describe('torch-ce conformance: passing cases give no error and PyTorch\'s output shape', () => {
  for (const c of cases.filter(c => !c.error)) {
    it(c.name, () => {
      const r = run(c);
      expect(r.findings.filter(f => severityOf(f) === 'error').map(f => f.code)).toEqual([]);
      // A single class is legal but always gives 0: the only warning these cases may get.
      const singleClass = (c.shapes.input.length === 1 ? c.shapes.input[0] : c.shapes.input[1]) === 1;
      expect(r.findings.map(f => f.code)).toEqual(singleClass ? ['TL4001'] : []);
      expect(formatShape(r.output?.shape)).toBe(formatShape({ dims: (c.expected_shape ?? []).map(v => ({ kind: 'const', value: v })) }));
    });
  }
});
