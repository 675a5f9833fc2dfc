/**
 * The denoising network as the trainer and the sampler see it: a Module with a uniform functional
 * forward `(params, x_t, t, labels?) -> output`, whatever the architecture (`UNet2DModel` for images,
 * `MLPDenoiser` for vectors), chosen by the config's `_class_name`. Browser-safe.
 */

import type { ForwardOptions } from "../nn/dropout.js";
import type { Module, Params } from "../nn/module.js";
import type { Key } from "../random/index.js";
import type * as T from "../tensor/index.js";
import { ConfigError } from "./config-fields.js";
import { MLP_DENOISER_CLASS, MLPDenoiser } from "./mlp-denoiser.js";
import { TutorialUNet } from "./tutorial-unet.js";
import { TUTORIAL_UNET_CLASS } from "./tutorial-unet-config.js";
import { UNet2DModel } from "./unet2d.js";

/**
 * A denoiser seen as a function: output for x_t [B, ...] at int32 timesteps [B], labels int32 [B].
 * `options` puts dropout in training mode (absent: evaluation mode, dropout is the identity).
 */
export type DenoiserFn<P> = (
  params: P,
  x: T.Tensor,
  t: T.Tensor,
  labels?: T.Tensor,
  options?: ForwardOptions,
) => T.Tensor;

export const DENOISER_CLASSES = ["UNet2DModel", MLP_DENOISER_CLASS, TUTORIAL_UNET_CLASS] as const;

export interface Denoiser {
  readonly module: UNet2DModel | MLPDenoiser | TutorialUNet;
  readonly className: (typeof DENOISER_CLASSES)[number];
  /** The shape of one example: [C, H, W] or [D]. */
  readonly exampleShape: number[];
  /** Rows of the class embedding table (classes + the null class), or null when unconditional. */
  readonly numClassEmbeds: number | null;
  readonly forward: DenoiserFn<Params>;
  /** The config.json object (with `_class_name`). */
  toConfig(): Record<string, unknown>;
}

function sampleSize(size: number | number[] | null, model = "UNet2DModel"): [number, number] {
  if (size === null)
    throw new ConfigError(`${model} config: field "sample_size" is null; expected the image size`);
  return typeof size === "number" ? [size, size] : [size[0]!, size[1] ?? size[0]!];
}

/** Wraps a constructed model. */
export function wrapDenoiser(module: Module): Denoiser {
  if (module instanceof UNet2DModel) {
    const c = module.config;
    return {
      module,
      className: "UNet2DModel",
      exampleShape: [c.in_channels, ...sampleSize(c.sample_size)],
      numClassEmbeds: c.class_embed_type === null ? c.num_class_embeds : null,
      forward: (params, x, t, labels, options) => module.forward(params, x, t, labels ?? null, options),
      toConfig: () => module.toConfig(),
    };
  }
  if (module instanceof TutorialUNet) {
    const c = module.config;
    return {
      module,
      className: TUTORIAL_UNET_CLASS,
      exampleShape: [c.image_channels, ...sampleSize(c.sample_size, TUTORIAL_UNET_CLASS)],
      numClassEmbeds: null,
      forward: (params, x, t, labels, options) => {
        if (labels)
          throw new Error(`${TUTORIAL_UNET_CLASS}: the model is unconditional, but class labels were given`);
        return module.forward(params, x, t, options);
      },
      toConfig: () => module.toConfig(),
    };
  }
  if (module instanceof MLPDenoiser) {
    const c = module.config;
    return {
      module,
      className: MLP_DENOISER_CLASS,
      exampleShape: [c.in_features],
      numClassEmbeds: c.num_class_embeds,
      forward: (params, x, t, labels) => module.forward(params, x, t, labels),
      toConfig: () => module.toConfig(),
    };
  }
  throw new Error(
    `denoiser: ${module.constructor.name} is not a denoiser; expected ${DENOISER_CLASSES.join(" or ")}`,
  );
}

/** A model from a config.json object, by `_class_name` (absent: UNet2DModel). */
export function denoiserFromConfig(config: Record<string, unknown>, key?: Key): Denoiser {
  const name = config._class_name ?? "UNet2DModel";
  if (name === "UNet2DModel") return wrapDenoiser(new UNet2DModel(config, key ? { key } : {}));
  if (name === TUTORIAL_UNET_CLASS) return wrapDenoiser(new TutorialUNet(config, key ? { key } : {}));
  if (name === MLP_DENOISER_CLASS) {
    const m = new MLPDenoiser(config);
    if (key) m.init(key);
    return wrapDenoiser(m);
  }
  throw new ConfigError(
    `model config: field "_class_name" is ${JSON.stringify(name)}; expected one of ${DENOISER_CLASSES.join(", ")}`,
  );
}

/** Total number of scalar parameters. */
export function parameterCount(params: Params): number {
  return Object.values(params).reduce((n, t) => n + t.size, 0);
}
