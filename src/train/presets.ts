/**
 * Built-in model presets: a denoiser config (diffusers `UNet2DModel` fields, or `MLPDenoiser`) sized
 * for a data shape, with the training defaults that go with it. Sizes are chosen for CPU training on a
 * few cores: `unet28-cond` (1.1M parameters, ~0.66 s per batch of 32 on 2 cores of an AMD EPYC) draws
 * clean digits of the requested classes after 1200 steps; its default 2500 steps take about 28 minutes.
 *
 * Class-conditional variants (`*-cond`) add `num_class_embeds = numClasses + 1`: one embedding row per
 * class plus the NULL class (index `numClasses`) that label dropout substitutes, so that one network
 * gives both the conditional and the unconditional prediction of classifier-free guidance
 * (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance", Algorithm 1). Browser-safe.
 */

import { reportUnknownKeys } from "../models/config-fields.js";
import { type Denoiser, denoiserFromConfig } from "../models/denoiser.js";
import {
  MLP_DENOISER_CLASS,
  MLP_DENOISER_CONFIG_KEYS,
  type MLPDenoiserConfig,
} from "../models/mlp-denoiser.js";
import {
  TUTORIAL_UNET_CLASS,
  TUTORIAL_UNET_CONFIG_KEYS,
  type TutorialUNetConfig,
} from "../models/tutorial-unet-config.js";
import { UNET2D_CONFIG_KEYS, type UNet2DConfig } from "../models/unet2d-config.js";
import type { Key } from "../random/index.js";

/** A UNet2DModel config as written to config.json (diffusers names; unlisted fields take defaults). */
export type UNetConfigJson = Partial<UNet2DConfig> &
  Pick<UNet2DConfig, "block_out_channels" | "down_block_types" | "up_block_types">;

export type ModelSpec =
  | { kind: "unet"; config: UNetConfigJson }
  | { kind: "mlp"; config: Partial<MLPDenoiserConfig> & { in_features: number } }
  | { kind: "tutorial"; config: Partial<TutorialUNetConfig> };

/** Training defaults a preset brings (any of them can be overridden by flags or a config file). */
export interface PresetTraining {
  lr: number;
  batchSize: number;
  steps: number;
  warmupSteps: number;
  lrSchedule: "cosine" | "constant";
  /** diffusers `beta_schedule` name. */
  betaSchedule: "linear" | "scaled_linear" | "squaredcos_cap_v2";
  numTrainTimesteps: number;
  emaDecay: number;
  sampler: string;
  samplerSteps: number;
  /** Samples in the grid / scatter plot. */
  numSamples: number;
}

export interface Preset {
  readonly name: string;
  readonly description: string;
  /** The data one example must have: [C, H, W] for images, [D] (any D: `in_features` follows) for vectors. */
  readonly data: { kind: "image"; shape: [number, number, number] } | { kind: "vector" };
  readonly classConditional: boolean;
  readonly model: ModelSpec;
  readonly training: PresetTraining;
}

/** Default steps of the `tutorial` preset: 14 minutes on 2 cores with 1 thread, another run beside it (docs/tutorial.md). */
const TUTORIAL_STEPS = 1200;

const IMAGE_TRAINING: PresetTraining = {
  lr: 1e-3,
  batchSize: 32,
  steps: 4000,
  warmupSteps: 100,
  lrSchedule: "cosine",
  betaSchedule: "squaredcos_cap_v2",
  numTrainTimesteps: 1000,
  emaDecay: 0.999,
  sampler: "dpmsolver++",
  samplerSteps: 20,
  numSamples: 64,
};

/**
 * Default steps of the 28x28 presets: what fits 30 minutes on 2 cores of an AMD EPYC at batch 32
 * (0.66 s per step; the default `diffuse train` run, issue 14).
 */
const UNET28_STEPS = 2500;

/** 28x28 grey (MNIST, Fashion-MNIST): 28 -> 14 -> 7, attention at 7x7 and in the mid block. */
const UNET28: UNetConfigJson = {
  sample_size: 28,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [32, 64, 64],
  down_block_types: ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  attention_head_dim: 32,
};

/** 32x32 colour (CIFAR-like, twemoji at 32): 32 -> 16 -> 8, attention at 8x8. */
const UNET32: UNetConfigJson = {
  sample_size: 32,
  in_channels: 3,
  out_channels: 3,
  block_out_channels: [32, 64, 128],
  down_block_types: ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
  layers_per_block: 2,
  norm_num_groups: 8,
  attention_head_dim: 32,
};

/** 64x64 colour (twemoji, image folders): 64 -> 32 -> 16 -> 8, attention at 8x8. */
const UNET64: UNetConfigJson = {
  sample_size: 64,
  in_channels: 3,
  out_channels: 3,
  block_out_channels: [32, 64, 128, 128],
  down_block_types: ["DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"],
  layers_per_block: 2,
  norm_num_groups: 8,
  attention_head_dim: 32,
};

/**
 * Latent diffusion (`diffuse train --vae DIR`, latent-data-node.ts): U-Nets for an autoencoder's
 * latents. 7x7 (28x28 images, factor 4) cannot be halved, so `latent7` is one level at 7x7 with
 * attention (global over the 49 positions) in its block and mid block; `latent16` (16x16: 64x64
 * images, factor 4; any side divisible by 4) halves twice, 16 -> 8 -> 4, attention at 8 and 4.
 */
const LATENT7: UNetConfigJson = {
  sample_size: 7,
  in_channels: 4,
  out_channels: 4,
  block_out_channels: [128],
  down_block_types: ["AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  attention_head_dim: 32,
};

const LATENT16: UNetConfigJson = {
  sample_size: 16,
  in_channels: 4,
  out_channels: 4,
  block_out_channels: [64, 128, 128],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 8,
  attention_head_dim: 32,
};

/**
 * The seed tutorial's ImprovedUNet (`TutorialUNet`) at a size that trains on 2 CPU cores: its example
 * config is base 128, multipliers [1, 2, 4, 8], 2 residual blocks per level (about 100M parameters at
 * 64x64); here base 32, [1, 2, 2] (28 -> 14 -> 7, attention at 7x7 as the tutorial puts it on its two
 * deepest levels), 1 residual block, 8 heads and dropout 0.1. GroupNorm takes 8 groups, not the
 * tutorial's 32: at base 32 that would be one channel per group (instance norm), which removes each
 * channel's mean and left the samples on grey, noisy backgrounds (FID 143.6 against 103.0 with 8 groups,
 * 1200 steps each: docs/tutorial.md). 8 groups keep the tutorial's own ratio at its default width
 * (128 channels / 32 groups = 4 channels per group).
 */
const TUTORIAL28: Partial<TutorialUNetConfig> = {
  base_channels: 32,
  channel_multipliers: [1, 2, 2],
  num_res_blocks: 1,
  dropout: 0.1,
  use_attention: [false, false, true],
  norm_num_groups: 8,
  num_heads: 8,
};

/** 2-D points and table rows; `in_features` is set from the data. */
const MLP: MLPDenoiserConfig = {
  in_features: 2,
  hidden_size: 128,
  num_layers: 4,
  act_fn: "silu",
  flip_sin_to_cos: true,
  freq_shift: 0,
  num_class_embeds: null,
};

const BASE: Preset[] = [
  {
    name: "unet28",
    description: "UNet2D for 28x28 grey images (MNIST, Fashion-MNIST)",
    data: { kind: "image", shape: [1, 28, 28] },
    classConditional: false,
    model: { kind: "unet", config: UNET28 },
    training: { ...IMAGE_TRAINING, steps: UNET28_STEPS },
  },
  {
    name: "unet32",
    description: "UNet2D for 32x32 colour images",
    data: { kind: "image", shape: [3, 32, 32] },
    classConditional: false,
    model: { kind: "unet", config: UNET32 },
    training: { ...IMAGE_TRAINING, steps: 10000 },
  },
  {
    name: "unet64",
    description: "UNet2D for 64x64 colour images (twemoji, image folders)",
    data: { kind: "image", shape: [3, 64, 64] },
    classConditional: false,
    model: { kind: "unet", config: UNET64 },
    training: { ...IMAGE_TRAINING, lr: 5e-4, batchSize: 16, steps: 20000 },
  },
  {
    name: "latent7",
    description: "UNet2D for 7x7 latents (diffuse train --vae, 28x28 images at factor 4)",
    data: { kind: "image", shape: [4, 7, 7] },
    classConditional: false,
    model: { kind: "unet", config: LATENT7 },
    training: IMAGE_TRAINING,
  },
  {
    name: "latent16",
    description: "UNet2D for 16x16 latents (diffuse train --vae, 64x64 images at factor 4)",
    data: { kind: "image", shape: [4, 16, 16] },
    classConditional: false,
    model: { kind: "unet", config: LATENT16 },
    training: IMAGE_TRAINING,
  },
  {
    name: "tutorial",
    description: "the seed tutorial's ImprovedUNet (TutorialUNet) for 28x28 grey images",
    data: { kind: "image", shape: [1, 28, 28] },
    classConditional: false,
    model: { kind: "tutorial", config: TUTORIAL28 },
    training: { ...IMAGE_TRAINING, steps: TUTORIAL_STEPS, sampler: "ddim", samplerSteps: 50 },
  },
  {
    name: "mlp",
    description: "MLP denoiser for 2-D points and table rows",
    data: { kind: "vector" },
    classConditional: false,
    model: { kind: "mlp", config: MLP },
    training: {
      ...IMAGE_TRAINING,
      lr: 2e-3,
      batchSize: 256,
      steps: 4000,
      emaDecay: 0.995,
      betaSchedule: "linear",
      sampler: "ddim",
      samplerSteps: 50,
      numSamples: 2000,
    },
  },
];

/** `<name>-cond`: the same model with class embeddings (the count is set from the data). */
function conditional(p: Preset): Preset {
  // Image grids of a conditional model show rows of the 10 classes: 80 = 8 rows of 10.
  const numSamples = p.data.kind === "image" ? 80 : p.training.numSamples;
  return {
    ...p,
    name: `${p.name}-cond`,
    description: `${p.description}, class-conditional`,
    classConditional: true,
    training: { ...p.training, numSamples },
  };
}

/** The tutorial's model is unconditional (it has no class input): no `-cond` variant. */
export const PRESETS: readonly Preset[] = BASE.flatMap((p) =>
  p.model.kind === "tutorial" ? [p] : [p, conditional(p)],
);

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

/** The preset called `name`; unknown names throw an error listing the valid ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS.find((q) => q.name === name);
  if (!p)
    throw new Error(
      `preset: unknown name ${JSON.stringify(name)}; expected one of ${PRESET_NAMES.join(", ")}`,
    );
  return p;
}

/** The preset that fits a data shape: an image [C, H, W] by size and channels, vectors -> "mlp". */
export function presetForData(
  data: { kind: "image"; shape: readonly number[] } | { kind: "vector" },
  classConditional: boolean,
): Preset {
  const suffix = classConditional ? "-cond" : "";
  if (data.kind === "vector") return getPreset(`mlp${suffix}`);
  const [c, h, w] = data.shape;
  const side = Math.max(h!, w!);
  const base = c === 1 && side <= 28 ? "unet28" : side <= 32 ? "unet32" : "unet64";
  return getPreset(`${base}${suffix}`);
}

/** The latent U-Net for latents [c, h, w]: `latent16` when the sides halve twice, else `latent7`. */
export function presetForLatent(shape: readonly number[], classConditional: boolean): Preset {
  const even = shape[1]! % 4 === 0 && shape[2]! % 4 === 0;
  return getPreset(`${even ? "latent16" : "latent7"}${classConditional ? "-cond" : ""}`);
}

/**
 * The model config for `preset` and the data: channels and size (images) or `in_features` (vectors)
 * from the data, `num_class_embeds = numClasses + 1` (the extra row is the null class) when
 * conditional, then `overrides` (diffusers field names) on top.
 */
export function modelSpecFor(
  preset: Preset,
  data: { kind: "image"; shape: readonly number[] } | { kind: "vector"; dim: number },
  numClasses: number | undefined,
  overrides: Record<string, unknown> = {},
): ModelSpec {
  const classes = preset.classConditional ? { num_class_embeds: nullClassIndex(numClasses) + 1 } : {};
  // The overrides were typed by the user (--model JSON, the config file's "model"): unknown keys fail.
  const [className, keys] = {
    mlp: [MLP_DENOISER_CLASS, MLP_DENOISER_CONFIG_KEYS] as const,
    tutorial: [TUTORIAL_UNET_CLASS, TUTORIAL_UNET_CONFIG_KEYS] as const,
    unet: ["UNet2DModel", UNET2D_CONFIG_KEYS] as const,
  }[preset.model.kind];
  reportUnknownKeys(className, overrides, keys, { unknown: "error" });
  if (preset.model.kind === "mlp") {
    if (data.kind !== "vector")
      throw new Error(`preset ${preset.name}: is for vectors, but the data are images`);
    return {
      kind: "mlp",
      config: { ...preset.model.config, in_features: data.dim, ...classes, ...overrides },
    };
  }
  if (data.kind !== "image")
    throw new Error(`preset ${preset.name}: is for images, but the data are vectors`);
  const [c, h, w] = data.shape;
  const size = h === w ? h : [h, w];
  if (preset.model.kind === "tutorial") {
    return {
      kind: "tutorial",
      config: { ...preset.model.config, image_channels: c, sample_size: size as number, ...overrides },
    };
  }
  return {
    kind: "unet",
    config: {
      ...preset.model.config,
      in_channels: c,
      out_channels: c,
      sample_size: size as number,
      ...classes,
      ...overrides,
    } as UNetConfigJson,
  };
}

/** The null class of a class-conditional model trained on `numClasses` classes: index numClasses. */
export function nullClassIndex(numClasses: number | undefined): number {
  if (numClasses === undefined || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(
      `classConditional: the dataset has no labels (numClasses ${numClasses}); expected a labelled dataset`,
    );
  }
  return numClasses;
}

/** A fresh model for a preset's model spec, its parameters initialised from `key`. */
export function denoiserFromSpec(spec: ModelSpec, key: Key): Denoiser {
  return denoiserFromConfig(specConfig(spec), key);
}

/** The config.json object a preset's model spec builds (with its `_class_name`). */
export function specConfig(spec: ModelSpec): Record<string, unknown> {
  const className = { unet: "UNet2DModel", tutorial: TUTORIAL_UNET_CLASS, mlp: MLP_DENOISER_CLASS }[
    spec.kind
  ];
  return { ...spec.config, _class_name: className };
}
