// The loss/target rules for both profiles: one pure entry point the shape interpreter calls with a
// loss call's evaluated arguments. Unknown stays quiet; at most one error (the one the runtime
// raises first) per call, silent-misuse warnings only when nothing fails.

import { checkTfjsLoss } from './tfjs';
import { checkTorchCrossEntropy } from './torchCrossEntropy';
import { checkTorchElementwise } from './torchElementwise';
import type { LossCallInput, LossCheckResult } from './types';

export type { Known, LossCallInput, LossCheckResult } from './types';
export { known, UNKNOWN } from './types';
export { checkTfjsOneHotDepth } from './tfjs';

export function checkLoss(call: LossCallInput): LossCheckResult {
  switch (call.fn) {
    case 'cross_entropy':
    case 'nll_loss':
      return checkTorchCrossEntropy(call);
    case 'binary_cross_entropy':
    case 'binary_cross_entropy_with_logits':
    case 'mse_loss':
    case 'l1_loss':
      return checkTorchElementwise(call);
    default:
      return checkTfjsLoss(call);
  }
}
