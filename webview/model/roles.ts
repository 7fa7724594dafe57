// Which tensor of a file is the input, the target or the weight: a guess from names and dtypes, so a
// file picked in the explorer lands in the right place without the user assigning every array.
import type { ArrayInfo, TensorRole } from '../../protocol/webview';

const NAME_HINTS: Readonly<Record<TensorRole, RegExp>> = {
  input: /logit|input|pred|score|output|^x$|^out/i,
  target: /target|label|mask|gt|truth|^y$|class_?idx|segmap/i,
  weight: /weight|class_?w/i,
};

/** The role a single array most likely plays: its name first, then its dtype (integers are targets). */
export function guessRole(name: string, info?: Pick<ArrayInfo, 'dtype' | 'shape'>): TensorRole {
  // Weight first: `classWeight` should not be read as a target because it contains `class`.
  if (NAME_HINTS.weight.test(name)) return 'weight';
  if (NAME_HINTS.target.test(name)) return 'target';
  if (NAME_HINTS.input.test(name)) return 'input';
  if (info && !info.dtype.startsWith('float')) return 'target';
  if (info && info.shape.length === 1) return 'input';
  return 'input';
}

/** The array of `arrays` to use for `role` (by name, then by dtype); undefined when none fits. */
export function pickArray(arrays: readonly ArrayInfo[], role: TensorRole): ArrayInfo | undefined {
  const byName = arrays.find(a => guessRole(a.name, a) === role && NAME_HINTS[role].test(a.name));
  if (byName) return byName;
  const byGuess = arrays.find(a => guessRole(a.name, a) === role);
  if (byGuess) return byGuess;
  if (role === 'weight') return undefined;
  return arrays.length === 1 ? arrays[0] : undefined;
}
