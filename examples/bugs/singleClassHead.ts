// A segmentation head with one output channel trained with cross-entropy against a float mask of
// the same shape. The shapes match, so PyTorch reads the mask as class probabilities over a single
// class: log_softmax over one class is 0, the loss is always 0, nothing learns, and nothing fails.
// Fix: binary_cross_entropy_with_logits (see ../segmentation/binaryHead.ts), or 2 output classes.

import type { Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

/**
 * @shape logits [N, 1, H, W] float32
 * @shape mask [N, 1, H, W] float32
 */
export function foregroundLoss(logits: Tensor, mask: Tensor): Tensor {
  return F.cross_entropy(logits, mask);
}
