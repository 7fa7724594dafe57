// A plain-words hint under PyTorch's error when the cause is recognisable from the shapes, the same
// causes the analysis explains in the editor (a channel dim on the mask, a TF.js-layout target).
import type { PanelError } from '../../protocol/webview';

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export function hintFor(e: PanelError): string | undefined {
  const x = e.inputShape, t = e.targetShape;
  if (!x || !t) return undefined;
  if (e.message.startsWith('only batches of spatial targets supported (3D tensors)') && t.length === 4) {
    if (t[1] === 1) return `The target ${fmt(t)} has a channel dim of size 1: target.squeeze(1) gives ${fmt([t[0], t[2], t[3]])}.`;
    if (x.length === 4 && t[3] === x[1] && t[1] === x[2] && t[2] === x[3]) {
      return `The target ${fmt(t)} is one-hot in TF.js layout (classes last): target.argmax(-1) gives class indices ${fmt([t[0], t[1], t[2]])}; ` +
        `or, as float probabilities, target.permute(0, 3, 1, 2) gives ${fmt([t[0], t[3], t[1], t[2]])}.`;
    }
  }
  if (/^0D or 1D target tensor expected, multi-target not supported$/.test(e.message) && t.length === 2 && t[1] === 1) {
    return `The target ${fmt(t)} has an extra dim of size 1: target.squeeze(1) gives ${fmt([t[0]])}.`;
  }
  if (/^expected target dtype to be Long or Byte, but got (Int|Float)/.test(e.message)) {
    return 'Class indices must be int64: target.long() converts them.';
  }
  const m = /^Target (-?\d+) is out of bounds\.$/.exec(e.message);
  if (m && x.length >= 1) {
    const c = x.length === 1 ? x[0] : x[1];
    return Number(m[1]) >= c
      ? `The input has ${c} classes (0…${c - 1}); a label of ${m[1]} needs more classes, or ignore_index=${m[1]} if it marks "no label".`
      : `Labels must be in 0…${c - 1}; ${m[1]} is negative. If it marks "no label", set ignore_index to ${m[1]}.`;
  }
  return undefined;
}
