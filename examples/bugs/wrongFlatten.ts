// A convnet whose flatten hard-codes the wrong feature count. The conv stack leaves
// `[64, 32, 5, 5]` (800 features per sample), but `view(-1, 16 * 5 * 5)` asks for rows of 400,
// so the batch silently doubles to 128 and the loss stops with
//   ValueError: Expected input batch_size (128) to match target batch_size (64).
// Fix: `x.flatten(1)` and `nn.Linear(32 * 5 * 5, 10)`.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const nn = torch.nn;

const BATCH_SIZE = 64;

export class SmallConvNet extends nn.Module {
  readonly conv1 = new nn.Conv2d(3, 16, 5); // 32 → 28
  readonly conv2 = new nn.Conv2d(16, 32, 5); // 14 → 10
  readonly pool = new nn.MaxPool2d(2);
  readonly fc = new nn.Linear(16 * 5 * 5, 10);

  /** @shape x [N, 3, 32, 32] float32 */
  forward(x: Tensor): Tensor {
    const h1 = this.pool.forward(F.relu(this.conv1.forward(x)));
    const h2 = this.pool.forward(F.relu(this.conv2.forward(h1)));
    const flat = h2.view(-1, 16 * 5 * 5);
    return this.fc.forward(flat);
  }
}

export const model = new SmallConvNet();

export function step(images: Tensor, labels: Tensor): number {
  const x = images; // @shape [BATCH_SIZE, 3, 32, 32] float32
  const y = labels; // @shape [BATCH_SIZE] int64
  const logits = model.forward(x);
  const loss = F.cross_entropy(logits, y);
  loss.backward();
  return loss.item();
}
