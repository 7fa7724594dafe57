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
  { code: 'TL1001', severity: 'error', name: 'annotation-syntax', message: 'Malformed shape annotation: {0}', reason: 'The annotation grammar is `@shape [name|returns] [dim, ...] [dtype]`; a dim is a number, a name, `_`, `*name`, `...` or arithmetic such as `H*W`.' },
  { code: 'TL1002', severity: 'error', name: 'annotation-unknown-dtype', message: "Unknown dtype '{0}' in shape annotation", reason: 'Dtypes are float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool (aliases: float, double, long, int). Free text after the shape goes after a dash: `@shape x [N] - the input`.' },
  { code: 'TL1003', severity: 'error', name: 'annotation-contradicts-inferred', message: 'The annotation says {0} but the inferred shape is {1}', reason: '{r0}' },
  { code: 'TL1004', severity: 'error', name: 'argument-contradicts-annotation', message: "Argument for '{0}' has shape {1}, but the parameter is annotated {2}", reason: '{r0}' },
  { code: 'TL1005', severity: 'warning', name: 'annotation-stray', message: 'This shape annotation {0}', reason: 'Put `@shape` in the JSDoc of a declaration or function, or in a `// @shape` comment after a declaration.' },
  { code: 'TL1006', severity: 'error', name: 'annotation-two-variadics', message: 'A shape can have at most one variadic group (`*name` or `...`)', reason: 'With two groups the split of dims between them is ambiguous.' },
  { code: 'TL1007', severity: 'warning', name: 'annotation-dtype-contradicts', message: 'The annotation says dtype {0} but the inferred dtype is {1}', reason: '{r0}' },
  { code: 'TL1008', severity: 'error', name: 'return-contradicts-annotation', message: 'The returned value has shape {1}, but the function is annotated to return {0}', reason: '{r0}' },
  { code: 'TL1009', severity: 'error', name: 'config-function-signature', message: "Malformed function description for '{0}' in tensorlens.json: {1}", reason: 'Write `"name": "(a: [N, C], b: [N] int64) -> []"`.' },

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
  { code: 'TL3001', severity: 'error', name: 'broadcast-mismatch', message: 'The size of tensor a ({0}) must match the size of tensor b ({1}) at non-singleton dimension {2}', reason: 'Elementwise ops align shapes on the right; each pair of sizes must be equal or one of them 1.' },
  { code: 'TL3002', severity: 'error', name: 'tfjs-broadcast-mismatch', message: 'Operands could not be broadcast together with shapes {0} and {1}.', reason: 'Elementwise ops align shapes on the right; each pair of sizes must be equal or one of them 1.' },
  { code: 'TL3003', severity: 'error', name: 'matmul-mismatch', message: 'mat1 and mat2 shapes cannot be multiplied ({0} and {1})', reason: 'The last dim of the left operand must equal the first dim of the right one (for a Linear layer: its in_features).' },
  { code: 'TL3004', severity: 'error', name: 'tfjs-matmul-mismatch', message: 'Error in matMul: inner shapes ({0}) and ({1}) of Tensors with shapes {2} and {3} and transposeA={4} and transposeB={5} must match.', reason: 'The inner sizes of the two matrices must be equal.' },
  { code: 'TL3005', severity: 'error', name: 'dim-out-of-range', message: 'Dimension out of range (expected to be in range of [{0}, {1}], but got {2})', reason: 'A dim index must address one of the tensor\'s dims; negative indices count from the end.' },
  { code: 'TL3006', severity: 'error', name: 'reshape-invalid', message: "shape '{0}' is invalid for input of size {1}", reason: 'A view/reshape keeps the number of elements; the sizes given (with -1 inferred) must multiply to it.' },
  { code: 'TL3007', severity: 'error', name: 'permute-length', message: 'permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {0} is not equal to len(dims) = {1}', reason: 'permute needs exactly one entry per dim of the input.' },
  { code: 'TL3008', severity: 'error', name: 'conv-channels', message: 'Given groups={0}, weight of size {1}, expected input{2} to have {3} channels, but got {4} channels instead', reason: 'conv2d reads channels from dim 1 (NCHW); the layer\'s in_channels must equal it.' },
  { code: 'TL3010', severity: 'error', name: 'cat-sizes', message: 'Sizes of tensors must match except in dimension {0}. Expected size {1} but got size {2} for tensor number {3} in the list.', reason: 'cat joins along one dim; all other sizes must agree.' },
  { code: 'TL3011', severity: 'error', name: 'cat-rank', message: 'Tensors must have same number of dimensions: got {0} and {1}', reason: 'cat joins tensors of the same rank.' },
  { code: 'TL3012', severity: 'error', name: 'stack-sizes', message: 'stack expects each tensor to be equal size, but got {0} at entry 0 and {1} at entry {2}', reason: 'stack adds a new dim; every tensor must have the same shape.' },
  { code: 'TL3013', severity: 'error', name: 'permute-duplicate', message: 'permute(): duplicate dims are not allowed.', reason: 'Each dim must appear exactly once in the ordering.' },
  { code: 'TL3014', severity: 'error', name: 'reshape-two-inferred', message: 'only one dimension can be inferred', reason: 'At most one size in a view/reshape can be -1.' },
  { code: 'TL3015', severity: 'error', name: 'pool-output-too-small', message: 'Given input size: ({0}). Calculated output size: ({1}). Output size is too small', reason: 'The pooling window does not fit in the input; pool less or earlier.' },
  { code: 'TL3016', severity: 'error', name: 'conv-kernel-too-big', message: "Calculated padded input size per channel: ({0}). Kernel size: ({1}). Kernel size can't be greater than actual input size", reason: 'The kernel is larger than the (padded) input.' },
  { code: 'TL3017', severity: 'error', name: 'conv-input-rank', message: 'Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {0}', reason: 'conv2d takes [N, C, H, W] or [C, H, W].' },
  { code: 'TL3018', severity: 'error', name: 'tfjs-conv-channels', message: 'Error in conv2d: depth of input ({0}) must match input depth for filter {1}.', reason: 'TF.js conv2d reads channels from the last dim (NHWC); the filter\'s third dim must equal it.' },
  { code: 'TL3019', severity: 'error', name: 'tfjs-reshape-size', message: 'Size({0}) must match the product of shape {1}', reason: 'A reshape keeps the number of elements.' },
  { code: 'TL3020', severity: 'error', name: 'tfjs-reshape-fraction', message: "The implicit shape can't be a fractional number. Got {0} / {1}", reason: 'The -1 size must come out whole.' },
  { code: 'TL3021', severity: 'error', name: 'tfjs-stack-shapes', message: 'All tensors passed to stack must have matching shapes', reason: 'stack adds a new axis; every tensor must have the same shape.' },
  { code: 'TL3022', severity: 'error', name: 'tfjs-squeeze', message: "Can't squeeze axis {0} since its dim '{1}' is not 1", reason: 'TF.js squeeze only removes axes of size 1.' },
  { code: 'TL3023', severity: 'error', name: 'tfjs-transpose-perm', message: 'Error in transpose: rank of input {0} must match length of perm {1}.', reason: 'transpose needs one entry per axis.' },
  { code: 'TL3024', severity: 'error', name: 'view-stride-incompatible', message: "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.", reason: 'After permute/transpose the dims are no longer laid out in order in memory, and this view would merge dims that are not adjacent. `.reshape(…)` (or `.contiguous().view(…)`) copies when it must.' },
  { code: 'TL3025', severity: 'error', name: 'cat-zero-dim', message: 'zero-dimensional tensor (at position {0}) cannot be concatenated', reason: 'cat joins tensors along an existing dim, and a 0-d tensor has none. Give it one with `.unsqueeze(0)` (or use `stack`).' },
  { code: 'TL3026', severity: 'error', name: 'bmm-mismatch', message: 'Expected size for first two dimensions of batch2 tensor to be: [{0}, {1}] but got: [{2}, {3}].', reason: 'A batched product runs as bmm on [batch, n, k] @ [batch, k, p]: the left operand\'s last dim must equal the right one\'s second-to-last (in attention, `k` usually needs `.transpose(-2, -1)`), and bmm itself takes equal batch sizes, without broadcasting.' },
  { code: 'TL3027', severity: 'error', name: 'mm-not-matrix', message: '{0} must be a matrix', reason: '`mm` multiplies 2-D matrices only; `matmul` (or `@`) also takes vectors and batches.' },
  { code: 'TL3028', severity: 'error', name: 'bmm-not-3d', message: '{0} must be a 3D tensor', reason: '`bmm` multiplies [batch, n, k] by [batch, k, p] only; `matmul` also takes other ranks and broadcasts the batch dims.' },

  // ---- TL4xxx: silent misuse warnings (losses) ----
  // Code that runs but almost certainly computes the wrong thing. TL4003 is PyTorch's own UserWarning.
  { code: 'TL4001', severity: 'warning', name: 'single-class-cross-entropy', message: '{0} over a single class is always 0: the input has 1 class along dim {1}', reason: '{r0}' },
  { code: 'TL4002', severity: 'warning', name: 'target-read-as-probabilities', message: 'the target has the same shape as the input, so cross_entropy reads it as class probabilities, but its values {0}', reason: '{r0}' },
  { code: 'TL4003', severity: 'warning', name: 'loss-broadcasts', message: 'Using a target size (torch.Size({0})) that is different to the input size (torch.Size({1})). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.', reason: '{r0}' },
  { code: 'TL4004', severity: 'warning', name: 'argmax-as-logits', message: 'the input of {0} is the output of argmax: the loss needs the raw logits', reason: '{r0}' },
  { code: 'TL4005', severity: 'warning', name: 'softmax-before-loss', message: 'the input of {0} is already the output of softmax: {1}', reason: '{r0}' },
  { code: 'TL4006', severity: 'warning', name: 'tfjs-sparse-label-out-of-range', message: 'label {0} is outside [0, {1}): sparseCategoricalCrossentropy turns it into an all-zero one-hot row, which adds nothing to the loss', reason: '{r0}' },
  { code: 'TL4007', severity: 'warning', name: 'tfjs-labels-broadcast', message: 'labels of shape {0} broadcast against predictions of shape {1}: {2} computes a loss over the broadcast shape', reason: '{r0}' },
  { code: 'TL4008', severity: 'warning', name: 'sigmoid-before-loss', message: 'the input of {0} is already the output of sigmoid: {0} applies sigmoid itself', reason: '{r0}' },

  // ---- TL9xxx: tracking lost, internal (analysis core) ----
  { code: 'TL9001', severity: 'warning', name: 'internal-error', message: 'Internal error in the shape analysis of this {0}: {1}', reason: 'This is a bug in Tensor Lens, not in your code; the rest of the file was still checked. Please report it with this code.' },
  { code: 'TL9002', severity: 'information', name: 'shape-unknown-from-here', message: "Shape unknown from here: '{0}' is not a tensor operation Tensor Lens knows", reason: 'Add a `// @shape [...]` annotation to the result, or describe the function in tensorlens.json.' },
  { code: 'TL9003', severity: 'information', name: 'syntax-error', message: 'The file does not parse cleanly ({0}); shapes are checked on what could be read', reason: 'Fix the syntax error to get complete results.' },
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
