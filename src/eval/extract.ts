/**
 * Running the feature net over many images: compiled once per net (one ONNX Runtime session, fixed
 * batch; the last batch is padded), returning float64 features and logits. Browser-safe (needs a
 * default runtime set with `T.setDefaultRuntime`).
 */

import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import { cachedForward, type ForwardCache } from "../util/cache.js";
import type { FeatureNet, FeatureNetOutput } from "./feature-net.js";
import { type Matrix, matrix } from "./matrix.js";

export interface ExtractOptions {
  /** Images per network call (default 256). */
  batchSize?: number;
  /** ONNX Runtime threads (0/absent: ORT's default). */
  threads?: number;
}

export interface Extracted {
  /** Penultimate features [N, feature_dim]. */
  features: Matrix;
  /** Class logits [N, num_classes]. */
  logits: Matrix;
}

type CompiledForward = (x: T.Tensor) => Promise<FeatureNetOutput>;
const compiled: ForwardCache<FeatureNet, Params, CompiledForward> = new WeakMap();

/**
 * The net's forward with `params` compiled in as constants (cached per net, params and threads):
 * ONNX Runtime then pre-packs the convolution filters into its blocked kernels (see the pipelines'
 * `compiledForward`), which it cannot do for filters given as graph inputs.
 */
function compiledForward(net: FeatureNet, params: Params, threads: number): CompiledForward {
  return cachedForward(compiled, net, params, threads, () =>
    T.compile((x: T.Tensor) => net.forward(params, x), threads > 0 ? { threads } : {}),
  );
}

/** Checks that `images` holds whole [C, H, W] images of the net's size; returns their count. */
export function imageCount(net: FeatureNet, images: Float32Array, what = "images"): number {
  const { in_channels: c, image_size: s } = net.config;
  const per = c * s * s;
  if (images.length === 0 || images.length % per !== 0) {
    throw new Error(`${what}: ${images.length} values is not a whole number of [${c}, ${s}, ${s}] images`);
  }
  return images.length / per;
}

/** Features and logits of `images` ([N, C, H, W] row-major, in [-1, 1]). */
export async function extractFeatures(
  net: FeatureNet,
  params: Params,
  images: Float32Array,
  options: ExtractOptions = {},
): Promise<Extracted> {
  const n = imageCount(net, images);
  const { in_channels: c, image_size: s, feature_dim: d, num_classes: k } = net.config;
  const per = c * s * s;
  const batch = Math.min(options.batchSize ?? 256, n);
  const forward = compiledForward(net, params, options.threads ?? 0);
  const features = new Float64Array(n * d);
  const logits = new Float64Array(n * k);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const x = new Float32Array(batch * per);
    x.set(images.subarray(start * per, (start + b) * per));
    const out = await forward(T.tensor(x, [batch, c, s, s]));
    features.set(out.features.values().subarray(0, b * d), start * d);
    logits.set(out.logits.values().subarray(0, b * k), start * k);
  }
  return { features: matrix(features, n, d, "features"), logits: matrix(logits, n, k, "logits") };
}
