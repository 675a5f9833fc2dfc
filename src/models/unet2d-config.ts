/**
 * The `UNet2DModel` config: diffusers 0.30.3's field names, types and defaults
 * (diffusers/models/unets/unet_2d.py, `UNet2DModel.__init__`). `parseUNet2DConfig` validates a
 * config.json object; `unet2dConfigToJson` writes one diffusers reads back.
 *
 * Divergences: `block_out_channels`, `down_block_types` and `up_block_types` are required (diffusers
 * defaults them to a 4-level 224..896-channel model, never what a caller means by omitting them); block
 * types are limited to those implemented here; `time_embedding_type` "fourier" is not supported.
 */
import { ACTIVATIONS } from "../nn/activation.js";
import {
  arrayOf,
  bool,
  ConfigError,
  either,
  expectField,
  int,
  nullable,
  num,
  oneOf,
  type ParseOptions,
  parseConfig,
  REQUIRED,
  type Schema,
} from "./config-fields.js";

export const UNET_DOWN_BLOCK_TYPES = ["DownBlock2D", "AttnDownBlock2D"] as const;
export const UNET_UP_BLOCK_TYPES = ["UpBlock2D", "AttnUpBlock2D"] as const;
export type UNetDownBlockType = (typeof UNET_DOWN_BLOCK_TYPES)[number];
export type UNetUpBlockType = (typeof UNET_UP_BLOCK_TYPES)[number];

/** The diffusers version whose semantics (and config layout) this implementation follows. */
export const DIFFUSERS_VERSION = "0.30.3";

export interface UNet2DConfig {
  sample_size: number | number[] | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  time_embedding_type: "positional" | "learned";
  freq_shift: number;
  flip_sin_to_cos: boolean;
  down_block_types: UNetDownBlockType[];
  up_block_types: UNetUpBlockType[];
  block_out_channels: number[];
  layers_per_block: number;
  mid_block_scale_factor: number;
  downsample_padding: number;
  downsample_type: "conv" | "resnet";
  upsample_type: "conv" | "resnet";
  dropout: number;
  act_fn: (typeof ACTIVATIONS)[number];
  attention_head_dim: number | null;
  norm_num_groups: number;
  attn_norm_num_groups: number | null;
  norm_eps: number;
  resnet_time_scale_shift: "default" | "scale_shift";
  add_attention: boolean;
  class_embed_type: "timestep" | "identity" | null;
  num_class_embeds: number | null;
  num_train_timesteps: number | null;
}

const schema: Schema<UNet2DConfig> = {
  sample_size: { check: nullable(either(int(1), arrayOf(int(1)))), default: null },
  in_channels: { check: int(1), default: 3 },
  out_channels: { check: int(1), default: 3 },
  center_input_sample: { check: bool, default: false },
  time_embedding_type: { check: oneOf(["positional", "learned"]), default: "positional" },
  freq_shift: { check: num(), default: 0 },
  flip_sin_to_cos: { check: bool, default: true },
  down_block_types: { check: arrayOf(oneOf(UNET_DOWN_BLOCK_TYPES)), default: REQUIRED },
  up_block_types: { check: arrayOf(oneOf(UNET_UP_BLOCK_TYPES)), default: REQUIRED },
  block_out_channels: { check: arrayOf(int(1)), default: REQUIRED },
  layers_per_block: { check: int(1), default: 2 },
  mid_block_scale_factor: { check: num(true), default: 1 },
  downsample_padding: { check: int(0), default: 1 },
  downsample_type: { check: oneOf(["conv", "resnet"]), default: "conv" },
  upsample_type: { check: oneOf(["conv", "resnet"]), default: "conv" },
  dropout: { check: num(), default: 0 },
  act_fn: { check: oneOf(ACTIVATIONS), default: "silu" },
  attention_head_dim: { check: nullable(int(1)), default: 8 },
  norm_num_groups: { check: int(1), default: 32 },
  attn_norm_num_groups: { check: nullable(int(1)), default: null },
  norm_eps: { check: num(true), default: 1e-5 },
  resnet_time_scale_shift: { check: oneOf(["default", "scale_shift"]), default: "default" },
  add_attention: { check: bool, default: true },
  class_embed_type: { check: nullable(oneOf(["timestep", "identity"])), default: null },
  num_class_embeds: { check: nullable(int(1)), default: null },
  num_train_timesteps: { check: nullable(int(1)), default: null },
};

const MODEL = "UNet2DModel";

/** The config fields of UNet2DModel (what `--model` JSON may set). */
export const UNET2D_CONFIG_KEYS: readonly string[] = Object.keys(schema);

/**
 * Validates a diffusers UNet2DModel config object. `_private` keys are ignored; unknown keys warn
 * (`unknown: "error"` for configs the user typed). diffusers' `time_embedding_dim` and
 * `mid_block_type` are accepted at their defaults (null, "UNetMidBlock2D"), the only values built here.
 */
export function parseUNet2DConfig(raw: unknown, options: ParseOptions = {}): UNet2DConfig {
  const c = parseConfig(MODEL, raw, schema, {
    ...options,
    accepted: ["time_embedding_dim", "mid_block_type"],
  });
  const r = raw as Record<string, unknown>;
  expectField(
    MODEL,
    r.time_embedding_dim === undefined || r.time_embedding_dim === null,
    "time_embedding_dim",
    r.time_embedding_dim,
    "null (the default; other sizes are not built here)",
  );
  expectField(
    MODEL,
    r.mid_block_type === undefined || r.mid_block_type === "UNetMidBlock2D",
    "mid_block_type",
    r.mid_block_type,
    '"UNetMidBlock2D" (the only mid block built here)',
  );
  const n = c.block_out_channels.length;
  expectField(
    MODEL,
    c.down_block_types.length === n,
    "down_block_types",
    c.down_block_types,
    `one entry per block_out_channels (${n})`,
  );
  expectField(
    MODEL,
    c.up_block_types.length === n,
    "up_block_types",
    c.up_block_types,
    `one entry per block_out_channels (${n})`,
  );
  expectField(MODEL, c.dropout >= 0 && c.dropout <= 1, "dropout", c.dropout, "a probability in [0, 1]");
  c.block_out_channels.forEach((ch, i) => {
    expectField(
      MODEL,
      ch % c.norm_num_groups === 0,
      `block_out_channels[${i}]`,
      ch,
      `a multiple of norm_num_groups (${c.norm_num_groups})`,
    );
  });
  if (c.time_embedding_type === "learned" && c.num_train_timesteps === null) {
    throw new ConfigError(`${MODEL} config: time_embedding_type "learned" needs field "num_train_timesteps"`);
  }
  return c;
}

/** The config as diffusers writes it: every field, plus `_class_name` and `_diffusers_version`. */
export function unet2dConfigToJson(c: UNet2DConfig): Record<string, unknown> {
  return { _class_name: MODEL, _diffusers_version: DIFFUSERS_VERSION, ...structuredClone(c) };
}
