// The one table of diagnostics: stable code, severity, message template and plain-words reason.
// Message text lives here and nowhere else. A retired code is never reused; a test fails on
// duplicates. `{0}`, `{1}` … are filled from a finding's args; `{r0}` … from its reasonArgs.
//
// Groups: TL1xxx annotation syntax and contradictions, TL2xxx loss/target checks, TL3xxx general
// shape ops, TL4xxx warnings about silent misuse, TL9xxx tracking lost / internal.

import type { Severity } from './api';

export interface DiagnosticDefinition {
  readonly code: string;
  readonly severity: Severity;
  /** Short kebab-case name used in docs/diagnostics.md headings. */
  readonly name: string;
  /** The runtime's exact message when there is one, else ours. */
  readonly message: string;
  /** A short reason in plain words. */
  readonly reason?: string;
}

export const diagnosticTable: readonly DiagnosticDefinition[] = [
  // ---- TL1xxx: annotations (analysis core) ----

  // ---- TL2xxx: loss and target checks (losses) ----
  // PyTorch's and TF.js's exact runtime text. Reasons vary with the recognised cause (a mask with a
  // channel dim, an NHWC one-hot, sequence logits…), so they come from losses/reasons.ts as {r0}.
  { code: 'TL2001', severity: 'error', name: 'spatial-target-rank', message: 'only batches of spatial targets supported (3D tensors) but got targets of dimension: {0}', reason: '{r0}' },
  { code: 'TL2002', severity: 'error', name: 'batch-size-mismatch', message: 'Expected input batch_size ({0}) to match target batch_size ({1}).', reason: '{r0}' },
  { code: 'TL2003', severity: 'error', name: 'multi-target', message: '0D or 1D target tensor expected, multi-target not supported', reason: '{r0}' },
  { code: 'TL2004', severity: 'error', name: 'one-d-input-target-size', message: 'For 1D input, 1D target must have size 1, but got target size: {0}', reason: '{r0}' },
  { code: 'TL2005', severity: 'error', name: 'spatial-size-mismatch', message: 'size mismatch (got input: {0} , target: {1}', reason: '{r0}' },
  { code: 'TL2006', severity: 'error', name: 'target-size', message: 'Expected target size {0}, got {1}', reason: '{r0}' },
  { code: 'TL2007', severity: 'error', name: 'target-dtype', message: 'expected target dtype to be Long or Byte, but got {0}', reason: '{r0}' },
  { code: 'TL2008', severity: 'error', name: 'scalar-type', message: 'expected scalar type {0} but found {1}', reason: '{r0}' },
  { code: 'TL2009', severity: 'error', name: 'probability-target-dtype', message: 'Expected floating point type for target with class probabilities, got {0}', reason: '{r0}' },
  { code: 'TL2010', severity: 'error', name: 'probability-target-ignore-index', message: 'ignore_index is not supported for floating point target', reason: '{r0}' },
  { code: 'TL2011', severity: 'error', name: 'weight-length', message: 'weight tensor should be defined either for all {0} classes or no classes but got weight tensor of shape: {1}', reason: '{r0}' },
  { code: 'TL2012', severity: 'error', name: 'weight-length-spatial', message: 'weight tensor should be defined either for all or no classes', reason: '{r0}' },
  { code: 'TL2013', severity: 'error', name: 'probability-weight-length', message: 'cross_entropy: weight tensor should be defined either for all {0} classes or no classes but got weight tensor of shape: {1}', reason: '{r0}' },
  { code: 'TL2014', severity: 'error', name: 'target-out-of-bounds', message: 'Target {0} is out of bounds.', reason: '{r0}' },
  { code: 'TL2015', severity: 'error', name: 'label-smoothing-range', message: 'label_smoothing must be between 0.0 and 1.0. Got: {0}', reason: '{r0}' },
  { code: 'TL2016', severity: 'error', name: 'invalid-reduction', message: '{0} is not a valid value for reduction', reason: '{r0}' },
  { code: 'TL2017', severity: 'error', name: 'integer-logits', message: '"{0}" not implemented for \'{1}\'', reason: '{r0}' },
  { code: 'TL2018', severity: 'error', name: 'zero-dim-input', message: 'Expected 1 or more dimensions (got 0)', reason: '{r0}' },
  { code: 'TL2019', severity: 'error', name: 'bce-logits-target-size', message: 'Target size (torch.Size({0})) must be the same as input size (torch.Size({1}))', reason: '{r0}' },
  { code: 'TL2020', severity: 'error', name: 'bce-target-size', message: 'Using a target size (torch.Size({0})) that is different to the input size (torch.Size({1})) is deprecated. Please ensure they have the same size.', reason: '{r0}' },
  { code: 'TL2021', severity: 'error', name: 'bce-logits-target-dtype', message: 'result type {0} can\'t be cast to the desired output type {1}', reason: '{r0}' },
  { code: 'TL2022', severity: 'error', name: 'tfjs-shapes-must-match', message: 'Error in {0}:  Shapes {1} and {2} must match', reason: '{r0}' },
  { code: 'TL2023', severity: 'error', name: 'tfjs-one-hot-depth', message: 'Error in oneHot: depth must be >=2, but it is {0}', reason: '{r0}' },
  { code: 'TL2024', severity: 'error', name: 'loss-broadcast', message: 'The size of tensor a ({0}) must match the size of tensor b ({1}) at non-singleton dimension {2}', reason: '{r0}' },
  { code: 'TL2025', severity: 'error', name: 'tfjs-broadcast', message: 'Operands could not be broadcast together with shapes {0} and {1}.', reason: '{r0}' },
  { code: 'TL2026', severity: 'error', name: 'tfjs-logits-labels-shape', message: 'logits and labels must have the same shape, but got shapes {0} and {1}', reason: '{r0}' },
  { code: 'TL2027', severity: 'error', name: 'tfjs-sparse-labels-size', message: 'Size({0}) must match the product of shape {1}', reason: '{r0}' },
  { code: 'TL2028', severity: 'error', name: 'tfjs-unknown-reduction', message: 'Unknown reduction: {0}', reason: '{r0}' },

  // ---- TL3xxx: general shape ops (analysis core) ----

  // ---- TL4xxx: silent misuse warnings (losses) ----
  // Code that runs but almost certainly computes the wrong thing. TL4003 is PyTorch's own UserWarning.
  { code: 'TL4001', severity: 'warning', name: 'single-class-cross-entropy', message: '{0} over a single class is always 0: the input has 1 class along dim {1}', reason: '{r0}' },
  { code: 'TL4002', severity: 'warning', name: 'target-read-as-probabilities', message: 'the target has the same shape as the input, so cross_entropy reads it as class probabilities, but its values {0}', reason: '{r0}' },
  { code: 'TL4003', severity: 'warning', name: 'loss-broadcasts', message: 'Using a target size (torch.Size({0})) that is different to the input size (torch.Size({1})). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.', reason: '{r0}' },
  { code: 'TL4004', severity: 'warning', name: 'argmax-as-logits', message: 'the input of {0} is the output of argmax: the loss needs the raw logits', reason: '{r0}' },
  { code: 'TL4005', severity: 'warning', name: 'softmax-before-loss', message: 'the input of {0} is already the output of softmax: {1}', reason: '{r0}' },
  { code: 'TL4006', severity: 'warning', name: 'tfjs-sparse-label-out-of-range', message: 'label {0} is outside [0, {1}): sparseCategoricalCrossentropy turns it into an all-zero one-hot row, which adds nothing to the loss', reason: '{r0}' },
  { code: 'TL4007', severity: 'warning', name: 'tfjs-labels-broadcast', message: 'labels of shape {0} broadcast against predictions of shape {1}: {2} computes a loss over the broadcast shape', reason: '{r0}' },

  // ---- TL9xxx: tracking lost, internal (analysis core) ----
];

const byCode = new Map(diagnosticTable.map(d => [d.code, d]));

export function diagnosticDefinition(code: string): DiagnosticDefinition {
  const d = byCode.get(code);
  if (!d) throw new Error(`unknown diagnostic code ${code}`);
  return d;
}

/** Fills `{0}` with args[0] and `{r0}` with reasonArgs[0]. */
export function formatTemplate(template: string, args: readonly (string | number)[], reasonArgs: readonly (string | number)[] = []): string {
  return template.replace(/\{(r?)(\d+)\}/g, (m, r: string, i: string) => {
    const v = (r ? reasonArgs : args)[Number(i)];
    return v === undefined ? m : String(v);
  });
}
