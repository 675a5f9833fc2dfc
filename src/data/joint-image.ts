/**
 * (image, label) pairs as ONE image for joint diffusion (tutorial 8.3): the label is a continuous
 * one-hot vector, +1 at the class and -1 elsewhere (the images' [-1, 1] range), broadcast over the
 * image as K extra channels:
 *
 *   joint[n] = [ image[n] (C channels) ; onehot(y_n)[k] * ones(H, W) for k < K ]   -> [C + K, H, W]
 *
 * A UNet2D with in/out_channels C + K then models p(x, y) with no change to the network, the
 * objective or the trainer (the alternative, a side branch for the K-vector, would need a second
 * input and output path through the model). Conditioning on either part by replacement gives
 * p(x | y) (class-conditional generation) and p(y | x) (classification); the label of a sample is
 * the argmax of its label channels' spatial means.
 *
 * Label scale. Broadcast at +-1, the label is far less noisy than the image at the same t: the
 * channel mean of H W pixels of alpha c y + sigma eps has noise sigma / sqrt(H W), so its margin at
 * the first sampling steps is already several standard deviations (28 x 28: 2 alpha / (sigma / 28)
 * = 4.3 sd at t = 950 of the cosine schedule, where a pixel's SNR is 0.08) and replacement decides
 * the label while the digit is still noise. `labelScale` c multiplies the one-hot; c = 1 / sqrt(H W)
 * (`mnist-joint-scaled`) makes the channel mean carry exactly the noise of ONE VP-noised scalar
 * (sqrt(H W) c y alpha + sigma N(0, 1)), so the label is decided no earlier than a scalar would be.
 * Browser-safe.
 */
import type { ImageDataset } from "./types.js";

/** The label scale of a joint dataset by name: 1 / sqrt(H W) for `*-scaled` (see the file comment), else 1. */
export function jointLabelScale(dataset: string | undefined, h: number, w: number): number {
  return dataset?.endsWith("-scaled") ? 1 / Math.sqrt(h * w) : 1;
}

/** The joint dataset of a labelled image dataset: [N, C + K, H, W] with K = numClasses. */
export function jointImageLabelDataset(ds: ImageDataset, labelScale = 1): ImageDataset {
  if (!ds.labels || !ds.numClasses) {
    throw new Error(`${ds.name}: joint (image, label) data need labels; the dataset has none`);
  }
  const [c, h, w] = ds.shape;
  const k = ds.numClasses;
  const images = jointImages(ds.images, ds.labels, [c, h, w], k, labelScale);
  const name = `${ds.name}-joint${labelScale === 1 ? "" : "-scaled"}`;
  return { ...ds, name, images, shape: [c + k, h, w] };
}

/** Images [N, C, H, W] and labels [N] -> joint images [N, C + K, H, W], one-hot +-labelScale (see the file comment). */
export function jointImages(
  images: Float32Array,
  labels: Int32Array,
  shape: readonly [number, number, number],
  numClasses: number,
  labelScale = 1,
): Float32Array {
  if (!(labelScale > 0 && Number.isFinite(labelScale)))
    throw new Error(`jointImages: labelScale ${labelScale}, expected a finite number > 0`);
  const [c, h, w] = shape;
  const hw = h * w;
  const n = labels.length;
  if (images.length !== n * c * hw) {
    throw new Error(`jointImages: ${images.length} image values, expected ${n} x ${c} x ${h} x ${w}`);
  }
  const per = (c + numClasses) * hw;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y < numClasses))
      throw new Error(`jointImages: label ${y} of example ${i} is outside [0, ${numClasses})`);
    out.set(images.subarray(i * c * hw, (i + 1) * c * hw), i * per);
    for (let k = 0; k < numClasses; k++)
      out.fill(k === y ? labelScale : -labelScale, i * per + (c + k) * hw, i * per + (c + k + 1) * hw);
  }
  return out;
}

/** Joint samples [N, C + K, H, W] -> images [N, C, H, W] and labels (argmax of each label channel's mean). */
export function splitJointImages(
  joint: Float32Array,
  shape: readonly [number, number, number],
  imageChannels: number,
): { images: Float32Array; labels: Int32Array; labelMeans: Float32Array } {
  const [ck, h, w] = shape;
  const hw = h * w;
  const k = ck - imageChannels;
  if (k < 1)
    throw new Error(`splitJointImages: ${ck} channels leave no label channel after ${imageChannels}`);
  const per = ck * hw;
  const n = joint.length / per;
  const images = new Float32Array(n * imageChannels * hw);
  const labels = new Int32Array(n);
  const labelMeans = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    images.set(joint.subarray(i * per, i * per + imageChannels * hw), i * imageChannels * hw);
    for (let q = 0; q < k; q++) {
      let s = 0;
      const at = i * per + (imageChannels + q) * hw;
      for (let p = 0; p < hw; p++) s += joint[at + p]!;
      labelMeans[i * k + q] = s / hw;
    }
    let best = 0;
    for (let q = 1; q < k; q++) if (labelMeans[i * k + q]! > labelMeans[i * k + best]!) best = q;
    labels[i] = best;
  }
  return { images, labels, labelMeans };
}
