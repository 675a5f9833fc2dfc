/**
 * diffusers `AutoencoderKL` (diffusers/models/autoencoders/autoencoder_kl.py; the KL-regularised
 * autoencoder of Rombach et al. 2022, section 3): encoder -> quant_conv -> posterior N(mean, exp(logvar));
 * latent -> post_quant_conv -> decoder. Parameters carry diffusers' names; forwards are functional.
 */

import { expectDim, expectRank, fail, fmtShape } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import { Module, type Params } from "../nn/module.js";
import { makeKey } from "../random/index.js";
import type * as T from "../tensor/index.js";
import {
  type AutoencoderKLConfig,
  autoencoderKLConfigToJson,
  parseAutoencoderKLConfig,
} from "./autoencoder-kl-config.js";
import { estimateAutoencoderKL } from "./estimate.js";
import type { ModelInitOptions } from "./unet2d.js";
import { Decoder, type DiagonalGaussian, diagonalGaussian, Encoder, samplePosterior } from "./vae.js";

export class AutoencoderKL extends Module {
  readonly config: AutoencoderKLConfig;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quantConv: Conv2d | null;
  readonly postQuantConv: Conv2d | null;

  /** `config`: a diffusers config.json object (validated; missing optional fields take diffusers' defaults). */
  constructor(config: unknown, options: ModelInitOptions = {}) {
    super("");
    const c = parseAutoencoderKLConfig(config);
    estimateAutoencoderKL(c); // refuses a structure beyond MAX_LAYERS before building it
    this.config = c;
    this.init(options.key ?? makeKey(options.seed ?? 0));
    const half = {
      latentChannels: c.latent_channels,
      blockOutChannels: c.block_out_channels,
      layersPerBlock: c.layers_per_block,
      normNumGroups: c.norm_num_groups,
      act: c.act_fn,
      midBlockAddAttention: c.mid_block_add_attention,
    };
    this.encoder = this.addChild(
      new Encoder("encoder", {
        ...half,
        channels: c.in_channels,
        blockAttention: c.down_block_types.map((t) => t === "AttnDownEncoderBlock2D"),
      }),
    );
    this.decoder = this.addChild(
      new Decoder("decoder", {
        ...half,
        channels: c.out_channels,
        blockAttention: c.up_block_types.map((t) => t === "AttnUpDecoderBlock2D"),
      }),
    );
    const l = c.latent_channels;
    this.quantConv = c.use_quant_conv
      ? this.addChild(new Conv2d("quant_conv", { inChannels: 2 * l, outChannels: 2 * l, kernelSize: 1 }))
      : null;
    this.postQuantConv = c.use_post_quant_conv
      ? this.addChild(new Conv2d("post_quant_conv", { inChannels: l, outChannels: l, kernelSize: 1 }))
      : null;
  }

  /** Multiplier applied to latents before diffusion (config `scaling_factor`). */
  get scalingFactor(): number {
    return this.config.scaling_factor;
  }

  /** The posterior q(z|x) for images x [B, in_channels, H, W]: `{ mean, logvar }` [B, latent, h, w]. */
  encode(params: Params, x: T.Tensor): DiagonalGaussian {
    const factor = 2 ** (this.config.block_out_channels.length - 1);
    expectRank(this.label, x, 4, "NCHW");
    expectDim(this.label, x, 1, this.config.in_channels, "channels");
    if (x.shape[2]! % factor !== 0 || x.shape[3]! % factor !== 0) {
      fail(this.label, `input ${fmtShape(x.shape)}: height and width must be multiples of ${factor}`);
    }
    const h = this.encoder.forward(params, x);
    return diagonalGaussian(this.quantConv ? this.quantConv.forward(params, h) : h);
  }

  /** Images for latents z [B, latent_channels, h, w]. */
  decode(params: Params, z: T.Tensor): T.Tensor {
    expectRank(this.label, z, 4, "NCHW", "latent");
    expectDim(this.label, z, 1, this.config.latent_channels, "channels", "latent");
    return this.decoder.forward(params, this.postQuantConv ? this.postQuantConv.forward(params, z) : z);
  }

  /**
   * Reconstruction (diffusers `forward`): decode the posterior mode, or the sample
   * mean + std * noise when standard-normal `noise` is given (`sample_posterior=True`).
   */
  forward(params: Params, x: T.Tensor, noise?: T.Tensor): T.Tensor {
    const posterior = this.encode(params, x);
    return this.decode(params, noise ? samplePosterior(posterior, noise) : posterior.mean);
  }

  /** The diffusers config.json object (with `_class_name` and `_diffusers_version`). */
  toConfig(): Record<string, unknown> {
    return autoencoderKLConfigToJson(this.config);
  }
}
