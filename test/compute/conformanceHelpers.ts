// Test helpers for the engine: the conformance manifests, their .npy files, tolerance checks and
// the float64 reference implementation of PyTorch's formulas (ce-semantics §1.3).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../compute/readers/npy';
import type { Tensor } from '../../compute/types';

export const repoRoot = join(__dirname, '..', '..');
export const conformanceDir = join(repoRoot, '..', 'shared', 'conformance');

export interface TorchCase {
  name: string;
  function: 'cross_entropy' | 'nll_loss';
  options: { reduction?: 'mean' | 'sum' | 'none'; ignore_index?: number; label_smoothing?: number };
  inputs: { input: string; target: string; weight?: string };
  expected?: string;
  expected_shape?: number[];
  expected_value?: number | null;
  error?: { type: string; message: string };
}

export interface OnnxCase {
  name: string;
  op: 'SoftmaxCrossEntropyLoss' | 'NegativeLogLikelihoodLoss';
  attributes: { reduction?: 'mean' | 'sum' | 'none'; ignore_index?: number };
  inputs: { role: string; file: string; shape: number[]; dtype: string }[];
  outputs: { role: string; file: string; shape: number[]; dtype: string }[];
}

export function torchCases(): TorchCase[] {
  // Python's json writes NaN / Infinity bare; JSON.parse does not accept them.
  const text = readFileSync(join(conformanceDir, 'torch-ce', 'manifest.json'), 'utf8')
    .replace(/:\s*NaN/g, ': "NaN"').replace(/:\s*-Infinity/g, ': "-Infinity"').replace(/:\s*Infinity/g, ': "Infinity"');
  return JSON.parse(text, (_k, v) => v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
}

export function onnxCases(): OnnxCase[] {
  return JSON.parse(readFileSync(join(conformanceDir, 'onnx-loss', 'manifest.json'), 'utf8'));
}

export function npy(suite: 'torch-ce' | 'onnx-loss', rel: string): Tensor {
  const path = join(conformanceDir, suite, rel);
  return readNpy(rel, new Uint8Array(readFileSync(path)));
}

/** torch.testing float32 defaults (ce-semantics §3.2): |a − e| ≤ atol + rtol·|e|; NaN and ±inf exactly. */
export function closeTo(actual: number, expected: number, atol = 1e-5, rtol = 1.3e-6): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

/** The first index where two arrays differ beyond tolerance, with both values; undefined when close. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1.3e-6): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!closeTo(actual[i]!, expected[i]!, atol, rtol)) return `[${i}] ${actual[i]} ≠ ${expected[i]}`;
  }
  return undefined;
}

export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}
