// TF.js softmax cross-entropy given class indices where it wants one-hot labels (PyTorch habits in
// TF.js). The shapes must be identical, so TF.js throws
//   Error in softmaxCrossEntropy:  Shapes 32 and 32,10 must match
// Fix: `tf.oneHot(labels, 10)`.

import * as tf from '@tensorflow/tfjs';

const BATCH_SIZE = 32;
const NUM_CLASSES = 10;

export function lossOnBatch(model: tf.LayersModel, images: tf.Tensor4D, labels: tf.Tensor): tf.Scalar {
  const x = images; // @shape [BATCH_SIZE, 28, 28, 1] float32
  const y = labels; // @shape [BATCH_SIZE] int32
  const logits = model.predict(x) as tf.Tensor2D; // @shape [BATCH_SIZE, NUM_CLASSES] float32
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}
