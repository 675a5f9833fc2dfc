/**
 * The `TutorialUNet` config: the constructor arguments of the seed tutorial's `ImprovedUNet`
 * (shared/seed, section 6) under the same names and defaults, so `ImprovedUNet(**config)` and
 * `new TutorialUNet(config)` build the same network. Fields the tutorial hard-codes and we expose:
 * `norm_num_groups` (its GroupNorm(32, ...)), `num_heads` (AttentionBlock's 8) and `sample_size` (the
 * image side, which the tutorial passes to its samplers instead; needed here to know an example's
 * shape). Their defaults are the tutorial's values.
 */
import {
  arrayOf,
  bool,
  either,
  expectField,
  int,
  nullable,
  num,
  type ParseOptions,
  parseConfig,
  type Schema,
} from "./config-fields.js";

export const TUTORIAL_UNET_CLASS = "TutorialUNet";

export interface TutorialUNetConfig {
  image_channels: number;
  base_channels: number;
  channel_multipliers: number[];
  num_res_blocks: number;
  dropout: number;
  use_attention: boolean[];
  norm_num_groups: number;
  num_heads: number;
  sample_size: number | number[] | null;
}

const schema: Schema<TutorialUNetConfig> = {
  image_channels: { check: int(1), default: 3 },
  base_channels: { check: int(1), default: 128 },
  channel_multipliers: { check: arrayOf(int(1)), default: [1, 2, 4, 8] },
  num_res_blocks: { check: int(1), default: 2 },
  dropout: { check: num(), default: 0.1 },
  use_attention: { check: arrayOf(bool), default: [false, false, true, true] },
  norm_num_groups: { check: int(1), default: 32 },
  num_heads: { check: int(1), default: 8 },
  sample_size: { check: nullable(either(int(1), arrayOf(int(1)))), default: null },
};

/** The fields a TutorialUNet config may have (the ones a user types are checked against them). */
export const TUTORIAL_UNET_CONFIG_KEYS: readonly string[] = Object.keys(schema);

/** Validates a TutorialUNet config object (`_private` keys are ignored; unknown keys warn by default). */
export function parseTutorialUNetConfig(raw: unknown, options: ParseOptions = {}): TutorialUNetConfig {
  const m = TUTORIAL_UNET_CLASS;
  const c = parseConfig(m, raw, schema, options);
  const levels = c.channel_multipliers.length;
  expectField(m, levels >= 1, "channel_multipliers", c.channel_multipliers, "at least one level");
  expectField(
    m,
    c.use_attention.length === levels,
    "use_attention",
    c.use_attention,
    `one entry per channel_multipliers entry (${levels})`,
  );
  expectField(m, c.dropout >= 0 && c.dropout < 1, "dropout", c.dropout, "a probability in [0, 1)");
  const channels = [c.base_channels, ...c.channel_multipliers.map((k) => k * c.base_channels)];
  channels.forEach((ch, i) => {
    const field = i === 0 ? "base_channels" : `channel_multipliers[${i - 1}]`;
    expectField(
      m,
      ch % c.norm_num_groups === 0,
      field,
      i === 0 ? ch : c.channel_multipliers[i - 1],
      `channels (${ch}) divisible by norm_num_groups (${c.norm_num_groups})`,
    );
    expectField(
      m,
      ch % c.num_heads === 0,
      field,
      i === 0 ? ch : c.channel_multipliers[i - 1],
      `channels (${ch}) divisible by num_heads (${c.num_heads})`,
    );
  });
  expectField(
    m,
    c.base_channels % 2 === 0 && c.base_channels >= 4,
    "base_channels",
    c.base_channels,
    "an even number >= 4 (the sinusoidal embedding divides by half - 1)",
  );
  return c;
}

/** The config.json object: every field plus `_class_name`. */
export function tutorialUNetConfigToJson(c: TutorialUNetConfig): Record<string, unknown> {
  return { _class_name: TUTORIAL_UNET_CLASS, ...structuredClone(c) };
}
