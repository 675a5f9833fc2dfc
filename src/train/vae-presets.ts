/**
 * Autoencoder presets (diffusers `AutoencoderKL` configs) by data shape. Browser-safe.
 * The downsampling factor is f = 2^(len(block_out_channels) - 1):
 *
 *   vae28     [1, 28, 28] grey (MNIST, Fashion-MNIST)  f = 4 -> latents [4, 7, 7]   (16 -> 4 x fewer numbers)
 *   vae64     [C, 64, 64] colour (Twemoji)            f = 4 -> latents [4, 16, 16] (3 x 16 / 4 = 12 x fewer)
 *   vae64-f8  [C, 64, 64] colour                      f = 8 -> latents [4, 8, 8]   (48 x fewer)
 *
 * Widths are small (16..128; group norm over the first width's count of groups) so a step fits a
 * shared 2-core CPU; one ResNet per block and the mid block's
 * attention as in diffusers' defaults.
 */
import { ConfigFieldError } from "./config.js";

export const VAE_PRESET_NAMES = ["vae28", "vae64", "vae64-f8"] as const;
export type VaePresetName = (typeof VAE_PRESET_NAMES)[number];

function config(channels: number, size: number, widths: number[], groups: number): Record<string, unknown> {
  return {
    in_channels: channels,
    out_channels: channels,
    down_block_types: widths.map(() => "DownEncoderBlock2D"),
    up_block_types: widths.map(() => "UpDecoderBlock2D"),
    block_out_channels: widths,
    layers_per_block: 1,
    latent_channels: 4,
    norm_num_groups: groups,
    sample_size: size,
    scaling_factor: 1,
  };
}

const WIDTHS: Record<VaePresetName, number[]> = {
  vae28: [16, 32, 64],
  vae64: [32, 64, 128],
  "vae64-f8": [32, 64, 128, 128],
};

/** The preset's AutoencoderKL config for images of `shape` [C, H, W]; "" picks by shape. */
export function vaePresetConfig(
  name: string,
  shape: readonly number[],
): { name: string; config: Record<string, unknown> } {
  const [c, h, w] = shape as [number, number, number];
  const pick = name || (h === 64 && w === 64 ? "vae64" : "vae28");
  if (!(VAE_PRESET_NAMES as readonly string[]).includes(pick)) {
    throw new ConfigFieldError(
      `config: field "preset" is ${JSON.stringify(name)}; expected one of ${VAE_PRESET_NAMES.join(", ")}`,
    );
  }
  const widths = WIDTHS[pick as VaePresetName];
  const f = 2 ** (widths.length - 1);
  if (h % f !== 0 || w % f !== 0) {
    throw new ConfigFieldError(
      `preset ${pick}: downsamples by ${f}, but the images are [${c}, ${h}, ${w}]; height and width must be multiples of ${f} (choose another --preset or --model with fewer blocks)`,
    );
  }
  return { name: pick, config: config(c, h, widths, widths[0]!) };
}
