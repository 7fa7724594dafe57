// A segmentation loss that one-hot encodes the mask the TensorFlow way: `one_hot` puts the classes
// last, `[N, H, W, C]`, while the logits are `[N, C, H, W]`. cross_entropy sees a 4-D target and
// stops with
//   RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4
// Tensor Lens recognises the reordered layout (even with symbolic H and W) and offers
// `.permute(0, 3, 1, 2)`; passing the class indices `mask` directly is simpler still.

import type { Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const NUM_CLASSES = 5;

/**
 * @shape logits [N, NUM_CLASSES, H, W] float32
 * @shape mask [N, H, W] int64
 */
export function segmentationLoss(logits: Tensor, mask: Tensor): Tensor {
  const target = F.one_hot(mask, NUM_CLASSES).float();
  return F.cross_entropy(logits, target);
}
