/**
 * The VAE halves of diffusers/models/autoencoders/vae.py: `Encoder` (conv_in, DownEncoderBlock2Ds,
 * mid block with attention, conv_norm_out, SiLU, conv_out to 2 x latent channels) and `Decoder`
 * (conv_in, mid block, UpDecoderBlock2Ds, conv_norm_out, SiLU, conv_out), plus the diagonal Gaussian
 * posterior q(z|x) = N(mean, exp(logvar)) of Kingma & Welling 2014 (`DiagonalGaussianDistribution`).
 */
import type { ActivationName } from "../nn/activation.js";
import { Attention } from "../nn/attention.js";
import { expectDim, expectRank } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import { ResnetBlock2D } from "../nn/resnet.js";
import { Upsample2D } from "../nn/sampling.js";
import * as T from "../tensor/index.js";
import { DownBlock, MidBlock, type ResnetSettings } from "./unet2d-blocks.js";

/** diffusers' Encoder/Decoder use group-norm epsilon 1e-6 throughout. */
const VAE_EPS = 1e-6;

export interface VaeHalfOptions {
  channels: number;
  latentChannels: number;
  blockOutChannels: number[];
  /** attention in each block (AttnDownEncoderBlock2D / AttnUpDecoderBlock2D) */
  blockAttention: boolean[];
  layersPerBlock: number;
  normNumGroups: number;
  act: ActivationName;
  midBlockAddAttention: boolean;
}

function settings(o: VaeHalfOptions): ResnetSettings {
  return {
    tembChannels: null,
    eps: VAE_EPS,
    groups: o.normNumGroups,
    act: o.act,
    dropout: 0,
    timeEmbeddingNorm: "default",
    outputScaleFactor: 1,
  };
}

function midBlock(path: string, o: VaeHalfOptions): MidBlock {
  const c = o.blockOutChannels[o.blockOutChannels.length - 1]!;
  return new MidBlock(path, {
    channels: c,
    resnet: settings(o),
    addAttention: o.midBlockAddAttention,
    attentionHeadDim: c,
    attnGroups: o.normNumGroups,
  });
}

/** x [B, channels, H, W] -> moments [B, 2 latentChannels, H / 2^(n-1), W / 2^(n-1)]. */
export class Encoder extends Module {
  readonly channels: number;
  readonly convIn: Conv2d;
  readonly downBlocks: DownBlock[];
  readonly midBlock: MidBlock;
  readonly convNormOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(path: string, o: VaeHalfOptions) {
    super(path);
    const ch = o.blockOutChannels;
    this.channels = o.channels;
    this.convIn = this.addChild(
      new Conv2d(this.sub("conv_in"), {
        inChannels: o.channels,
        outChannels: ch[0]!,
        kernelSize: 3,
        padding: 1,
      }),
    );
    this.downBlocks = this.addChildren(
      ch.map(
        (out, i) =>
          new DownBlock(this.sub(`down_blocks.${i}`), {
            inChannels: i === 0 ? ch[0]! : ch[i - 1]!,
            outChannels: out,
            numLayers: o.layersPerBlock,
            resnet: settings(o),
            attention: o.blockAttention[i]!,
            attentionHeadDim: out,
            downsample: i === ch.length - 1 ? null : { type: "conv", padding: 0 },
          }),
      ),
    );
    this.midBlock = this.addChild(midBlock(this.sub("mid_block"), o));
    const last = ch[ch.length - 1]!;
    this.convNormOut = this.addChild(
      new GroupNorm(this.sub("conv_norm_out"), {
        numGroups: o.normNumGroups,
        numChannels: last,
        eps: VAE_EPS,
      }),
    );
    this.convOut = this.addChild(
      new Conv2d(this.sub("conv_out"), {
        inChannels: last,
        outChannels: 2 * o.latentChannels,
        kernelSize: 3,
        padding: 1,
      }),
    );
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectDim(this.label, x, 1, this.channels, "channels");
    let h = this.convIn.forward(params, x);
    for (const b of this.downBlocks) h = b.forward(params, h, null).hidden;
    h = this.midBlock.forward(params, h, null);
    return this.convOut.forward(params, T.silu(this.convNormOut.forward(params, h)));
  }
}

/** UpDecoderBlock2D / AttnUpDecoderBlock2D: resnets (no skip connections), optional attention, upsampler. */
export class UpDecoderBlock extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Attention[] | null;
  readonly upsampler: Upsample2D | null;

  constructor(
    path: string,
    o: {
      inChannels: number;
      outChannels: number;
      numLayers: number;
      resnet: ResnetSettings;
      attention: boolean;
      addUpsample: boolean;
    },
  ) {
    super(path);
    const s = o.resnet;
    this.resnets = this.addChildren(
      Array.from(
        { length: o.numLayers },
        (_, i) =>
          new ResnetBlock2D(this.sub(`resnets.${i}`), {
            inChannels: i === 0 ? o.inChannels : o.outChannels,
            outChannels: o.outChannels,
            tembChannels: null,
            groups: s.groups,
            eps: s.eps,
            act: s.act,
          }),
      ),
    );
    this.attentions = o.attention
      ? this.addChildren(
          this.resnets.map(
            (_, i) =>
              new Attention(this.sub(`attentions.${i}`), {
                queryDim: o.outChannels,
                heads: 1,
                dimHead: o.outChannels,
                normNumGroups: s.groups,
                eps: s.eps,
              }),
          ),
        )
      : null;
    this.upsampler = o.addUpsample
      ? this.addChild(new Upsample2D(this.sub("upsamplers.0"), { channels: o.outChannels }))
      : null;
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    let h = x;
    this.resnets.forEach((r, i) => {
      h = r.forward(params, h, null);
      if (this.attentions) h = this.attentions[i]!.forward(params, h);
    });
    return this.upsampler ? this.upsampler.forward(params, h) : h;
  }
}

/** z [B, latentChannels, h, w] -> [B, channels, h 2^(n-1), w 2^(n-1)]. */
export class Decoder extends Module {
  readonly latentChannels: number;
  readonly convIn: Conv2d;
  readonly midBlock: MidBlock;
  readonly upBlocks: UpDecoderBlock[];
  readonly convNormOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(path: string, o: VaeHalfOptions) {
    super(path);
    const rev = [...o.blockOutChannels].reverse();
    this.latentChannels = o.latentChannels;
    this.convIn = this.addChild(
      new Conv2d(this.sub("conv_in"), {
        inChannels: o.latentChannels,
        outChannels: rev[0]!,
        kernelSize: 3,
        padding: 1,
      }),
    );
    this.midBlock = this.addChild(midBlock(this.sub("mid_block"), o));
    this.upBlocks = this.addChildren(
      rev.map(
        (out, i) =>
          new UpDecoderBlock(this.sub(`up_blocks.${i}`), {
            inChannels: i === 0 ? rev[0]! : rev[i - 1]!,
            outChannels: out,
            numLayers: o.layersPerBlock + 1,
            resnet: settings(o),
            attention: o.blockAttention[i]!,
            addUpsample: i !== rev.length - 1,
          }),
      ),
    );
    const first = o.blockOutChannels[0]!;
    this.convNormOut = this.addChild(
      new GroupNorm(this.sub("conv_norm_out"), {
        numGroups: o.normNumGroups,
        numChannels: first,
        eps: VAE_EPS,
      }),
    );
    this.convOut = this.addChild(
      new Conv2d(this.sub("conv_out"), {
        inChannels: first,
        outChannels: o.channels,
        kernelSize: 3,
        padding: 1,
      }),
    );
  }

  forward(params: Params, z: T.Tensor): T.Tensor {
    expectRank(this.label, z, 4, "NCHW", "latent");
    expectDim(this.label, z, 1, this.latentChannels, "channels", "latent");
    let h = this.convIn.forward(params, z);
    h = this.midBlock.forward(params, h, null);
    for (const b of this.upBlocks) h = b.forward(params, h);
    return this.convOut.forward(params, T.silu(this.convNormOut.forward(params, h)));
  }
}

/** The posterior's parameters: `mean` and `logvar` (clamped to [-30, 20]), each [B, C, h, w]. */
export interface DiagonalGaussian {
  mean: T.Tensor;
  logvar: T.Tensor;
}

/** Splits moments [B, 2C, h, w] into mean and log-variance (clamped as diffusers does). */
export function diagonalGaussian(moments: T.Tensor): DiagonalGaussian {
  const c = moments.shape[1]! / 2;
  const [mean, logvar] = T.split(moments, [c, c], 1) as [T.Tensor, T.Tensor];
  return { mean, logvar: T.clip(logvar, -30, 20) };
}

/** A posterior sample z = mean + exp(logvar / 2) * noise (reparameterisation, Kingma & Welling eq. 10). */
export function samplePosterior(p: DiagonalGaussian, noise: T.Tensor): T.Tensor {
  return T.add(p.mean, T.mul(T.exp(T.mul(p.logvar, 0.5)), noise));
}

/** KL(q(z|x) || N(0, I)) per sample: 0.5 sum(mean^2 + var - 1 - logvar) over C, h, w (diffusers `kl()`). */
export function klToStandardNormal(p: DiagonalGaussian): T.Tensor {
  const terms = T.sub(T.add(T.square(p.mean), T.exp(p.logvar)), T.add(p.logvar, 1));
  return T.mul(T.sum(terms, [1, 2, 3]), 0.5);
}
