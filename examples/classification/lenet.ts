// A LeNet-style digit classifier and its training loop (torch profile). 28×28 grayscale images,
// two conv + pool stages, three linear layers, cross-entropy on class indices. Checks clean.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const nn = torch.nn;

const BATCH_SIZE = 64;
const NUM_CLASSES = 10;

export class LeNet extends nn.Module {
  readonly conv1 = new nn.Conv2d(1, 6, 5, 1, 2); // 28×28 kept by padding 2
  readonly conv2 = new nn.Conv2d(6, 16, 5);      // 14×14 → 10×10
  readonly pool = new nn.MaxPool2d(2);
  readonly fc1 = new nn.Linear(16 * 5 * 5, 120);
  readonly fc2 = new nn.Linear(120, 84);
  readonly fc3 = new nn.Linear(84, NUM_CLASSES);

  /**
   * @shape x [N, 1, 28, 28] float32
   * @shape returns [N, 10] float32
   */
  forward(x: Tensor): Tensor {
    const h1 = this.pool.forward(F.relu(this.conv1.forward(x)));  // @shape [N, 6, 14, 14]
    const h2 = this.pool.forward(F.relu(this.conv2.forward(h1))); // @shape [N, 16, 5, 5]
    const flat = h2.flatten(1);
    const z1 = F.relu(this.fc1.forward(flat));
    const z2 = F.relu(this.fc2.forward(z1));
    return this.fc3.forward(z2);
  }
}

export interface Optimizer {
  zero_grad(): void;
  step(): void;
}

/** One epoch over pre-batched data; returns the mean loss and the accuracy. */
export function trainEpoch(model: LeNet, optimizer: Optimizer, batches: Iterable<{ images: Tensor; labels: Tensor }>): { loss: number; accuracy: number } {
  const criterion = new nn.CrossEntropyLoss({ labelSmoothing: 0.05 });
  let total = 0;
  let correct = 0;
  let seen = 0;
  for (const batch of batches) {
    const images = batch.images; // @shape [BATCH_SIZE, 1, 28, 28] float32
    const labels = batch.labels; // @shape [BATCH_SIZE] int64

    const logits = model.forward(images);
    const loss = criterion.forward(logits, labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();

    // argmax only for accuracy: the loss gets the raw logits.
    const predicted = logits.argmax(1);
    correct += predicted.eq(labels).sum().item();
    total += loss.item() * BATCH_SIZE;
    seen += BATCH_SIZE;
  }
  return { loss: total / seen, accuracy: correct / seen };
}

/** A quick sanity check: an untrained model's loss on random data is close to ln(10) ≈ 2.30. */
export function sanityCheck(model: LeNet): number {
  const x = torch.randn([BATCH_SIZE, 1, 28, 28]);
  const y = torch.randint(0, NUM_CLASSES, [BATCH_SIZE]);
  return F.cross_entropy(model.forward(x), y).item();
}
