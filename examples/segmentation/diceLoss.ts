// The multi-class branch of the UNet training step: cross-entropy on class indices plus a dice
// loss on softmax probabilities against one-hot masks. `one_hot` puts the classes last
// (`[N, H, W, C]`, TensorFlow's layout), so it is permuted to `[N, C, H, W]` first. Checks clean.

import type { Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';
import { UNet, type Optimizer } from './unet';

const N_CLASSES = 21;

/**
 * Soft dice over classes and pixels, averaged over classes.
 * @shape probs [N, C, H, W] float32
 * @shape target [N, C, H, W] float32
 * @shape returns []
 */
export function diceLoss(probs: Tensor, target: Tensor): Tensor {
  const intersection = probs.mul(target).sum([0, 2, 3]);
  const cardinality = probs.add(target).sum([0, 2, 3]);
  const dice = intersection.mul(2).div(cardinality.add(1e-6));
  return dice.neg().add(1).mean();
}

export function multiClassTrainStep(model: UNet, optimizer: Optimizer, images: Tensor, masks: Tensor): number {
  /** @shape [N, 3, H, W] float32 */
  const x = images;
  /** @shape [N, H, W] int64 */
  const trueMasks = masks;

  const masksPred = model.forward(x); // @shape [N, N_CLASSES, H, W] float32
  let loss = F.cross_entropy(masksPred, trueMasks);
  const oneHot = F.one_hot(trueMasks, N_CLASSES).permute(0, 3, 1, 2).float();
  loss = loss.add(diceLoss(F.softmax(masksPred, 1), oneHot));

  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item();
}
