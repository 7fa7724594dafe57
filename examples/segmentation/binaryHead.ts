// The `nClasses === 1` branch of the UNet training step: one logit per pixel, so the loss is
// binary cross-entropy with logits against a float mask of the same shape, `[N, 1, H, W]`.
// (cross_entropy over a single class would always be 0.) Checks clean.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';
import { UNet, type Optimizer } from './unet';

export function binaryTrainStep(model: UNet, optimizer: Optimizer, images: Tensor, masks: Tensor): number {
  /** @shape [N, 3, H, W] float32 */
  const x = images;
  /** @shape [N, H, W] int64 */
  const trueMasks = masks;

  const criterion = new torch.nn.BCEWithLogitsLoss();
  const masksPred = model.forward(x); // @shape [N, 1, H, W] float32
  const target = trueMasks.unsqueeze(1).float();
  const loss = criterion.forward(masksPred, target);

  // Dice on probabilities, per pixel: sigmoid, not softmax, for a single channel.
  const probs = F.sigmoid(masksPred);
  const intersection = probs.mul(target).sum();
  const dice = intersection.mul(2).div(probs.sum().add(target.sum()).add(1e-6));
  const total = loss.add(dice.neg().add(1));

  optimizer.zero_grad();
  total.backward();
  optimizer.step();
  return total.item();
}
