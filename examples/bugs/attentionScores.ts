// One head of self-attention whose scores multiply the queries by the keys as they are: `[B, 8, 16]`
// by `[B, 8, 16]`. torch.matmul runs a batched product as bmm on [batch, n, k] · [batch, k, p], so it
// stops with
//   RuntimeError: Expected size for first two dimensions of batch2 tensor to be: [B, 16] but got: [B, 8].
// Fix: multiply by the keys transposed, `k.transpose(-2, -1)`, which makes the scores [B, 8, 8].

import { torch, type Tensor } from 'js-pytorch';

const nn = torch.nn;

const BLOCK_SIZE = 8;
const EMBED_DIM = 32;
const HEAD_SIZE = 16;

export class Head extends nn.Module {
  readonly key = new nn.Linear(EMBED_DIM, HEAD_SIZE);
  readonly query = new nn.Linear(EMBED_DIM, HEAD_SIZE);
  readonly value = new nn.Linear(EMBED_DIM, HEAD_SIZE);

  /**
   * @shape x [B, BLOCK_SIZE, EMBED_DIM] float32
   * @shape returns [B, BLOCK_SIZE, HEAD_SIZE] float32
   */
  forward(x: Tensor): Tensor {
    const k = this.key.forward(x);
    const q = this.query.forward(x);
    const scores = q.matmul(k).div(Math.sqrt(HEAD_SIZE));
    const weights = scores.softmax(-1);
    return weights.matmul(this.value.forward(x));
  }
}
