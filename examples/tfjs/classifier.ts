// A TF.js image classifier (TF.js profile): a small convnet built with tf.sequential, one-hot
// labels and softmax cross-entropy with the classes on the last axis (NHWC images). Checks clean.

import * as tf from '@tensorflow/tfjs';

const NUM_CLASSES = 10;
const BATCH_SIZE = 32;

export function buildModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: NUM_CLASSES }),
    ],
  });
}

/**
 * One optimisation step on a batch of images and integer labels.
 * @shape images [B, 28, 28, 1] float32
 * @shape labels [B] int32
 */
export function trainStep(model: tf.Sequential, optimizer: tf.Optimizer, images: tf.Tensor4D, labels: tf.Tensor1D): number {
  const oneHotLabels = tf.oneHot(labels, NUM_CLASSES);
  const loss = optimizer.minimize(() => {
    const logits = model.apply(images) as tf.Tensor2D; // @shape [B, NUM_CLASSES] float32
    return tf.losses.softmaxCrossEntropy(oneHotLabels, logits);
  }, true);
  const value = loss ? loss.dataSync()[0] : NaN;
  oneHotLabels.dispose();
  loss?.dispose();
  return value;
}

/** Categorical cross-entropy of predicted probabilities, as a metric. */
export function evaluate(model: tf.Sequential): number {
  const images = tf.randomNormal([BATCH_SIZE, 28, 28, 1]);
  const labels = tf.oneHot(tf.tensor1d([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5], 'int32'), NUM_CLASSES);
  const probs = tf.softmax(model.predict(images) as tf.Tensor2D); // @shape [BATCH_SIZE, NUM_CLASSES] float32
  const perExample = tf.metrics.categoricalCrossentropy(labels, probs);
  return perExample.mean().dataSync()[0];
}
