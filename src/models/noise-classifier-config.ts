/**
 * The config of `NoiseConditionedClassifier` (noise-classifier.ts). diffusers has no such model; the
 * field names and defaults are those of `UNet2DModel` wherever the field means the same thing
 * (unet2d-config.ts), plus `num_classes`. `_class_name` is "NoiseConditionedClassifier", so a folder
 * holding a U-Net or a VAE is refused by name.
 */
import { ACTIVATIONS } from "../nn/activation.js";
import {
  arrayOf,
  bool,
  expectField,
  int,
  num,
  oneOf,
  type ParseOptions,
  parseConfig,
  REQUIRED,
  type Schema,
} from "./config-fields.js";
import { DIFFUSERS_VERSION, UNET_DOWN_BLOCK_TYPES, type UNetDownBlockType } from "./unet2d-config.js";

export const NOISE_CLASSIFIER_CLASS = "NoiseConditionedClassifier";

export interface NoiseClassifierConfig {
  sample_size: number;
  in_channels: number;
  num_classes: number;
  down_block_types: UNetDownBlockType[];
  block_out_channels: number[];
  layers_per_block: number;
  downsample_padding: number;
  act_fn: (typeof ACTIVATIONS)[number];
  attention_head_dim: number;
  norm_num_groups: number;
  norm_eps: number;
  add_attention: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
}

const schema: Schema<NoiseClassifierConfig> = {
  sample_size: { check: int(1), default: REQUIRED },
  in_channels: { check: int(1), default: REQUIRED },
  num_classes: { check: int(2), default: REQUIRED },
  down_block_types: { check: arrayOf(oneOf(UNET_DOWN_BLOCK_TYPES)), default: REQUIRED },
  block_out_channels: { check: arrayOf(int(1)), default: REQUIRED },
  layers_per_block: { check: int(1), default: 2 },
  downsample_padding: { check: int(0), default: 1 },
  act_fn: { check: oneOf(ACTIVATIONS), default: "silu" },
  attention_head_dim: { check: int(1), default: 8 },
  norm_num_groups: { check: int(1), default: 32 },
  norm_eps: { check: num(true), default: 1e-5 },
  add_attention: { check: bool, default: true },
  flip_sin_to_cos: { check: bool, default: true },
  freq_shift: { check: num(), default: 0 },
};

/** Validates a classifier config.json object (errors name the field, the value and what was expected). */
export function parseNoiseClassifierConfig(raw: unknown, options: ParseOptions = {}): NoiseClassifierConfig {
  const c = parseConfig(NOISE_CLASSIFIER_CLASS, raw, schema, options);
  const n = c.block_out_channels.length;
  const M = NOISE_CLASSIFIER_CLASS;
  expectField(M, c.down_block_types.length === n, "down_block_types", c.down_block_types, `${n} entries`);
  c.block_out_channels.forEach((ch, i) => {
    expectField(
      M,
      ch % c.norm_num_groups === 0,
      `block_out_channels[${i}]`,
      ch,
      `a multiple of norm_num_groups (${c.norm_num_groups})`,
    );
  });
  const factor = 2 ** (n - 1);
  expectField(M, c.sample_size % factor === 0, "sample_size", c.sample_size, `a multiple of ${factor}`);
  return c;
}

/** The config.json object: every field plus `_class_name` and `_diffusers_version`. */
export function noiseClassifierConfigToJson(c: NoiseClassifierConfig): Record<string, unknown> {
  return {
    _class_name: NOISE_CLASSIFIER_CLASS,
    _diffusers_version: DIFFUSERS_VERSION,
    ...structuredClone(c),
  };
}
