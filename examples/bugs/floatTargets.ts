// Class labels parsed from a CSV into a Float32Array, then straight into cross-entropy. Index
// targets must be int64, so PyTorch (2.13+) stops with
//   RuntimeError: expected target dtype to be Long or Byte, but got Float
// Fix: `labels.long()`.

import { torch, type Tensor } from 'js-pytorch';

const NUM_FEATURES = 13;
const NUM_CLASSES = 3;

export function parseRows(csv: string): { features: Float32Array; labels: Float32Array; count: number } {
  const rows = csv.trim().split('\n').map(line => line.split(',').map(Number));
  const features = new Float32Array(rows.length * NUM_FEATURES);
  const labels = new Float32Array(rows.length);
  rows.forEach((row, i) => {
    labels[i] = row[0];
    features.set(row.slice(1), i * NUM_FEATURES);
  });
  return { features, labels, count: rows.length };
}

export function wineLoss(classifier: { forward(x: Tensor): Tensor }, x: Tensor, y: Tensor): number {
  const features = x; // @shape [N, NUM_FEATURES] float32
  const labels = y;   // @shape [N] float32

  const criterion = new torch.nn.CrossEntropyLoss();
  const logits = classifier.forward(features); // @shape [N, NUM_CLASSES] float32
  const loss = criterion.forward(logits, labels);
  return loss.item();
}
