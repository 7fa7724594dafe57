// The same training step as unetTrainStep.ts, fixed: the mask's channel dim is squeezed away so
// `cross_entropy` gets one class index per pixel, `[N, H, W]`. Checks clean.

import type { Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';
import { UNet, type Optimizer } from './unet';

const N_CLASSES = 21;

export interface SegmentationBatch {
  images: Tensor;
  masks: Tensor;
}

export function trainStep(model: UNet, optimizer: Optimizer, batch: SegmentationBatch): number {
  /** @shape [N, 3, H, W] float32 */
  const images = batch.images;
  const trueMasks = batch.masks; // @shape [N, 1, H, W] int64

  const masksPred = model.forward(images); // @shape [N, N_CLASSES, H, W] float32
  const loss = F.cross_entropy(masksPred, trueMasks.squeeze(1));

  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item();
}
