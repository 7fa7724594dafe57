// A regression head that outputs `[N, 1]` trained against targets `[N]`. mse_loss broadcasts the
// pair to `[N, N]` — every prediction against every target — and only warns:
//   UserWarning: Using a target size (torch.Size([N])) that is different to the input size
//   (torch.Size([N, 1])). This will likely lead to incorrect results due to broadcasting. …
// The model trains towards the mean price. Fix: `prices.unsqueeze(1)`.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const nn = torch.nn;

export const housePriceModel = new nn.Sequential(
  new nn.Linear(8, 32),
  new nn.ReLU(),
  new nn.Linear(32, 1),
);

/**
 * @shape features [N, 8] float32
 * @shape prices [N] float32
 */
export function priceLoss(features: Tensor, prices: Tensor): Tensor {
  const predicted = housePriceModel.forward(features);
  return F.mse_loss(predicted, prices);
}
