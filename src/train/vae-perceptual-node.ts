/**
 * The perceptual term's network for a `train-vae` run (Node only): the project's shipped feature
 * net of the dataset (assets/feature-nets/<dataset>/, src/eval/feature-net.ts), frozen, as the
 * stages phi_s of perceptual-loss.ts.
 *
 * Stages used: the activations after EVERY conv stage (for the shipped nets 32x28x28, 64x14x14,
 * 64x7x7, 64x4x4). They keep the spatial layout, so they compare local structure (edges, texture,
 * the print on a shirt) that a per-pixel L1 averages into blur, from fine (stage 1) to coarse
 * (stage 4). Not used: the pooled penultimate features and the logits, which are position-free
 * summaries of the class, and the penultimate features are exactly what the project's FID/KID/
 * precision/recall measure, so training on them would optimise the evaluation metric directly.
 */
import path from "node:path";
import { FEATURE_NET_CONFIG_FILE, FEATURE_NET_DATASETS, loadFeatureNet } from "../eval/feature-net-node.js";
import { ConfigFieldError } from "./config.js";
import type { FeatureStages } from "./perceptual-loss.js";

export interface PerceptualNetwork {
  phi: FeatureStages;
  /** The feature net's folder. */
  dir: string;
  /** The shapes of its stages for one image, e.g. ["32x28x28", ...]. */
  stageShapes: string[];
}

/** The frozen feature net of `dataset` for images of `shape` [C, H, W]; errors name both. */
export async function perceptualNetworkFor(
  dataset: string,
  shape: readonly number[],
  weight: number,
): Promise<PerceptualNetwork> {
  if (!(FEATURE_NET_DATASETS as readonly string[]).includes(dataset)) {
    throw new ConfigFieldError(
      `train-vae: field "perceptualWeight" is ${weight} but dataset "${dataset}" has no feature net (the perceptual term uses assets/feature-nets/<dataset>/; they exist for ${FEATURE_NET_DATASETS.join(", ")}); set --perceptual-weight 0`,
    );
  }
  const { net, params, dir } = await loadFeatureNet(dataset);
  const { in_channels: c, image_size: s } = net.config;
  if (shape[0] !== c || shape[1] !== s || shape[2] !== s) {
    throw new ConfigFieldError(
      `train-vae: field "perceptualWeight" is ${weight} but the feature net ${path.join(dir, FEATURE_NET_CONFIG_FILE)} takes images [${c}, ${s}, ${s}] and ${dataset} images are [${shape.join(", ")}]; set --perceptual-weight 0`,
    );
  }
  let side = s;
  const stageShapes = net.config.channels.map((ch, i) => {
    side = Math.floor((side - 1) / net.config.strides[i]!) + 1;
    return `${ch}x${side}x${side}`;
  });
  return { phi: (x) => net.stages(params, x), dir, stageShapes };
}
