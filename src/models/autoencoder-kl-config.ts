/**
 * The `AutoencoderKL` config: diffusers 0.30.3's field names, types and defaults
 * (diffusers/models/autoencoders/autoencoder_kl.py, `AutoencoderKL.__init__`).
 * As for the U-Net, `block_out_channels`, `down_block_types` and `up_block_types` are required.
 */
import { ACTIVATIONS } from "../nn/activation.js";
import {
  arrayOf,
  bool,
  either,
  expectField,
  int,
  nullable,
  num,
  oneOf,
  parseConfig,
  REQUIRED,
  type Schema,
} from "./config-fields.js";
import { DIFFUSERS_VERSION } from "./unet2d-config.js";

export const VAE_DOWN_BLOCK_TYPES = ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"] as const;
export const VAE_UP_BLOCK_TYPES = ["UpDecoderBlock2D", "AttnUpDecoderBlock2D"] as const;

export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: (typeof VAE_DOWN_BLOCK_TYPES)[number][];
  up_block_types: (typeof VAE_UP_BLOCK_TYPES)[number][];
  block_out_channels: number[];
  layers_per_block: number;
  act_fn: (typeof ACTIVATIONS)[number];
  latent_channels: number;
  norm_num_groups: number;
  sample_size: number | number[];
  scaling_factor: number;
  shift_factor: number | null;
  latents_mean: number[] | null;
  latents_std: number[] | null;
  force_upcast: boolean;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

const schema: Schema<AutoencoderKLConfig> = {
  in_channels: { check: int(1), default: 3 },
  out_channels: { check: int(1), default: 3 },
  down_block_types: { check: arrayOf(oneOf(VAE_DOWN_BLOCK_TYPES)), default: REQUIRED },
  up_block_types: { check: arrayOf(oneOf(VAE_UP_BLOCK_TYPES)), default: REQUIRED },
  block_out_channels: { check: arrayOf(int(1)), default: REQUIRED },
  layers_per_block: { check: int(1), default: 1 },
  act_fn: { check: oneOf(ACTIVATIONS), default: "silu" },
  latent_channels: { check: int(1), default: 4 },
  norm_num_groups: { check: int(1), default: 32 },
  sample_size: { check: either(int(1), arrayOf(int(1))), default: 32 },
  scaling_factor: { check: num(true), default: 0.18215 },
  shift_factor: { check: nullable(num()), default: null },
  latents_mean: { check: nullable(arrayOf(num())), default: null },
  latents_std: { check: nullable(arrayOf(num())), default: null },
  force_upcast: { check: bool, default: true },
  use_quant_conv: { check: bool, default: true },
  use_post_quant_conv: { check: bool, default: true },
  mid_block_add_attention: { check: bool, default: true },
};

const MODEL = "AutoencoderKL";

/** Validates a diffusers AutoencoderKL config object (extra keys such as `_class_name` are ignored). */
export function parseAutoencoderKLConfig(raw: unknown): AutoencoderKLConfig {
  // diffusers' VAE configs carry fields without effect here (scaling_factor, force_upcast, ...).
  const c = parseConfig(MODEL, raw, schema, { unknown: "ignore" });
  const n = c.block_out_channels.length;
  for (const f of ["down_block_types", "up_block_types"] as const) {
    expectField(MODEL, c[f].length === n, f, c[f], `one entry per block_out_channels (${n})`);
  }
  c.block_out_channels.forEach((ch, i) => {
    expectField(
      MODEL,
      ch % c.norm_num_groups === 0,
      `block_out_channels[${i}]`,
      ch,
      `a multiple of norm_num_groups (${c.norm_num_groups})`,
    );
  });
  return c;
}

/** The config as diffusers writes it: every field, plus `_class_name` and `_diffusers_version`. */
export function autoencoderKLConfigToJson(c: AutoencoderKLConfig): Record<string, unknown> {
  return { _class_name: MODEL, _diffusers_version: DIFFUSERS_VERSION, ...structuredClone(c) };
}
