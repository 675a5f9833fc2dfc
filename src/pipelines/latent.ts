/**
 * The decoder side of latent diffusion (Rombach et al. 2022, Sec. 3): a diffusion model's samples
 * are scaled latents s * z; images are D(z_hat / s), with s the autoencoder's `scaling_factor`.
 * Browser-safe: the autoencoder and its weights come in as objects.
 */
import type { AutoencoderKL } from "../models/autoencoder-kl.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";

/** Latents decoded per compiled call. */
export const DECODE_CHUNK = 64;

/** An autoencoder bound to its weights, that decodes scaled latents. */
export class LatentDecoder {
  private compiled: ((p: Params, z: T.Tensor) => Promise<T.Tensor>) | null = null;
  private compiledThreads = -1;

  constructor(
    readonly vae: AutoencoderKL,
    readonly params: Params,
  ) {}

  /** 2^(blocks - 1): image side = latent side * factor. */
  get factor(): number {
    return 2 ** (this.vae.config.block_out_channels.length - 1);
  }

  /** The image shape [C, H, W] one latent of shape [c, h, w] decodes to. */
  imageShape(latent: readonly number[]): number[] {
    const [, h, w] = latent as [number, number, number];
    return [this.vae.config.out_channels, h * this.factor, w * this.factor];
  }

  /** Images [N, C, H, W] for scaled latents `z` [N, c, h, w] (flat), DECODE_CHUNK per call. */
  async decode(
    z: Float32Array,
    shape: readonly number[],
    threads = 0,
  ): Promise<{ samples: Float32Array; shape: number[] }> {
    if (!this.compiled || this.compiledThreads !== threads) {
      const s = this.vae.scalingFactor;
      this.compiled = T.compile(
        (p: Params, x: T.Tensor) => this.vae.decode(p, T.div(x, s)),
        threads > 0 ? { threads } : {},
      );
      this.compiledThreads = threads;
    }
    const [n, c, h, w] = shape as [number, number, number, number];
    const out: Float32Array[] = [];
    const per = c * h * w;
    for (let i = 0; i < n; i += DECODE_CHUNK) {
      const b = Math.min(DECODE_CHUNK, n - i);
      const y = await this.compiled(this.params, T.tensor(z.subarray(i * per, (i + b) * per), [b, c, h, w]));
      out.push(Float32Array.from(y.values() as Float32Array));
    }
    const [C, H, W] = this.imageShape([c, h, w]) as [number, number, number];
    const samples = new Float32Array(n * C * H * W);
    let o = 0;
    for (const p of out) {
      samples.set(p, o);
      o += p.length;
    }
    return { samples, shape: [n, C, H, W] };
  }

  /**
   * Why a denoiser of `unetConfig` cannot run in this autoencoder's latent space, or null when it
   * can: its in/out channels must equal latent_channels, and when the latents' shape [c, h, w] is
   * known (training), its sample_size (when set) must be their size [h, w].
   */
  mismatch(unetConfig: Record<string, unknown>, latent?: readonly number[]): string | null {
    const l = this.vae.config.latent_channels;
    const inC = unetConfig.in_channels;
    const outC = unetConfig.out_channels;
    if (inC !== l || outC !== l) {
      return `the U-Net takes in_channels ${String(inC)} / out_channels ${String(outC)} but the autoencoder's latents have latent_channels ${l}`;
    }
    const size = unetConfig.sample_size;
    if (latent && size !== undefined && size !== null) {
      const [h, w] = Array.isArray(size) ? size : [size, size];
      if (h !== latent[1] || w !== latent[2]) {
        return `the U-Net has sample_size ${JSON.stringify(size)} but the autoencoder's latents of this data are [${latent.join(", ")}] (images downsampled by ${this.factor}); expected sample_size ${latent[1] === latent[2] ? latent[1] : JSON.stringify([latent[1], latent[2]])}`;
      }
    }
    return null;
  }
}
