// A binary classifier with one logit per sample, `[N, 1]`, against labels `[N]`. BCE-with-logits
// compares element by element and stops with
//   ValueError: Target size (torch.Size([N])) must be the same as input size (torch.Size([N, 1]))
// Fix: `labels.unsqueeze(1)` (or `logits.squeeze(1)`).

import { torch, type Tensor } from 'js-pytorch';

const nn = torch.nn;

export class SpamClassifier extends nn.Module {
  readonly hidden = new nn.Linear(300, 64);
  readonly out = new nn.Linear(64, 1);

  /** @shape x [N, 300] float32 */
  forward(x: Tensor): Tensor {
    return this.out.forward(this.hidden.forward(x).relu());
  }
}

export const model = new SpamClassifier();

/**
 * @shape embeddings [N, 300] float32
 * @shape labels [N] float32
 */
export function spamLoss(embeddings: Tensor, labels: Tensor): Tensor {
  const criterion = new nn.BCEWithLogitsLoss();
  const logits = model.forward(embeddings);
  return criterion.forward(logits, labels);
}
