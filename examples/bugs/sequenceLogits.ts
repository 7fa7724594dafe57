// A character-level language model whose logits keep the sequence dim: `[B, T, V]`. PyTorch reads
// dim 1 of a 3-D input as the classes, so it expects targets `[B, V]` and stops with
//   RuntimeError: Expected target size [B, 65], got [B, 8]
// Fix: flatten positions into the batch (`logits.view(-1, 65)`, `targets.view(-1)`), or move the
// classes to dim 1 with `logits.permute(0, 2, 1)`.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const nn = torch.nn;

const VOCAB_SIZE = 65;
const BLOCK_SIZE = 8;
const EMBED_DIM = 32;

export class BigramLanguageModel extends nn.Module {
  readonly tokenEmbedding = new nn.Embedding(VOCAB_SIZE, EMBED_DIM);
  readonly head = new nn.Linear(EMBED_DIM, VOCAB_SIZE);

  /**
   * @shape idx [B, BLOCK_SIZE] int64
   * @shape returns [B, BLOCK_SIZE, VOCAB_SIZE] float32
   */
  forward(idx: Tensor): Tensor {
    const embedded = this.tokenEmbedding.forward(idx);
    return this.head.forward(embedded);
  }
}

export const model = new BigramLanguageModel();

/**
 * @shape xb [B, BLOCK_SIZE] int64
 * @shape yb [B, BLOCK_SIZE] int64
 */
export function trainingLoss(xb: Tensor, yb: Tensor): Tensor {
  const logits = model.forward(xb);
  return F.cross_entropy(logits, yb);
}
