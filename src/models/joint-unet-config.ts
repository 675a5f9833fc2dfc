/**
 * The `JointUNet` config (joint-unet.ts): the U-Net's own UNet2DModel config under `unet`, and the
 * label branch's sizes. config.json of a joint model folder:
 *
 *   { "_class_name": "JointUNet", "label_dim": 10, "label_hidden": 128, "label_head": "pyramid",
 *     "unet": { ...UNet2DModel... } }
 *
 * `label_head` says what the eps_y head reads (joint-unet.ts): "mid", the mid block's pooled features
 * (the first layout; the default of a config without the field, so older folders load unchanged) or
 * "pyramid", the pooled outputs of every down block and of the mid block, beside the label's
 * embedding and y_t itself.
 *
 * `label_prediction` says what that head predicts: "epsilon" (eps_y, the first layout; the default of
 * a config without the field) or "sample" (y0_hat, the clean label). eps-prediction hides the label at
 * high t_y in a residual of size alpha/sigma (0.16 at t_y = 900, 5e-5 at T-1 of squaredcos_cap_v2:
 * eps_y ~ y_t / sigma), so the image's evidence barely enters its loss; y0-prediction makes p(y | x)
 * at t_x = 0 a regression of the one-hot from the image. The sampler converts y0_hat to eps (pipelines/joint-sample.ts).
 *
 * Browser-safe.
 */
import {
  type Check,
  ConfigError,
  expectField,
  int,
  oneOf,
  type ParseOptions,
  parseConfig,
  REQUIRED,
  type Schema,
} from "./config-fields.js";
import { parseUNet2DConfig, type UNet2DConfig, unet2dConfigToJson } from "./unet2d-config.js";

export const JOINT_UNET_CLASS = "JointUNet";

/** What the eps_y head reads: the mid block only, or every down block and the mid block. */
export const LABEL_HEADS = ["mid", "pyramid"] as const;
export type LabelHead = (typeof LABEL_HEADS)[number];

/** What the label head predicts: the label's noise eps_y, or the clean label y0. */
export const LABEL_PREDICTIONS = ["epsilon", "sample"] as const;
export type LabelPrediction = (typeof LABEL_PREDICTIONS)[number];

export interface JointUNetConfig {
  /** Length of the label vector y (the number of classes: a one-hot in +-1). */
  label_dim: number;
  /** Width of the label head's hidden layer. */
  label_hidden: number;
  /** What the eps_y head reads (LABEL_HEADS; absent: "mid", the first layout). */
  label_head: LabelHead;
  /** What the label head predicts (LABEL_PREDICTIONS; absent: "epsilon", the first layout). */
  label_prediction: LabelPrediction;
  /** The image U-Net (unconditional: no class embedding; the label enters through the branch). */
  unet: UNet2DConfig;
}

const unetConfig: Check<UNet2DConfig> = {
  expected: "a UNet2DModel config object",
  test: (v, field) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new ConfigError(
        `${JOINT_UNET_CLASS} config: field "${field}" is ${JSON.stringify(v)}; expected a UNet2DModel config object`,
      );
    }
    return parseUNet2DConfig(v);
  },
};

const schema: Schema<JointUNetConfig> = {
  label_dim: { check: int(1), default: 10 },
  label_hidden: { check: int(1), default: 128 },
  label_head: { check: oneOf(LABEL_HEADS), default: "mid" },
  label_prediction: { check: oneOf(LABEL_PREDICTIONS), default: "epsilon" },
  unet: { check: unetConfig, default: REQUIRED },
};

/** Validates a JointUNet config object (`_private` keys are ignored; unknown keys warn by default). */
export function parseJointUNetConfig(raw: unknown, options: ParseOptions = {}): JointUNetConfig {
  const c = parseConfig(JOINT_UNET_CLASS, raw, schema, options);
  const u = c.unet;
  expectField(JOINT_UNET_CLASS, u.sample_size !== null, "unet.sample_size", u.sample_size, "the image size");
  expectField(
    JOINT_UNET_CLASS,
    u.num_class_embeds === null && u.class_embed_type === null,
    "unet.num_class_embeds",
    u.num_class_embeds,
    "null (the label enters through the label branch, not a class embedding)",
  );
  return c;
}

/** The config.json object (with `_class_name`). */
export function jointUNetConfigToJson(c: JointUNetConfig): Record<string, unknown> {
  return {
    _class_name: JOINT_UNET_CLASS,
    label_dim: c.label_dim,
    label_hidden: c.label_hidden,
    label_head: c.label_head,
    label_prediction: c.label_prediction,
    unet: unet2dConfigToJson(c.unet),
  };
}
