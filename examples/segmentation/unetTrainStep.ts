// One training step of the UNet segmentation model — with the bug Tensor Lens was built for.
//
// The masks come out of the data loader as `[N, 1, H, W]` (a grayscale image per sample), but
// `cross_entropy` wants class indices `[N, H, W]`. PyTorch stops minutes into training with
//   RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 4
// Tensor Lens reports it on the loss line and offers `.squeeze(1)` (see unetTrainStepFixed.ts).

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
  const loss = F.cross_entropy(masksPred, trueMasks);

  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item();
}

export function makeModel(): UNet {
  return new UNet(N_CLASSES);
}
