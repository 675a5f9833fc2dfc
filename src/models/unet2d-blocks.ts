/**
 * The U-Net / VAE blocks of diffusers/models/unets/unet_2d_blocks.py with their parameter names:
 * - `DownBlock`: DownBlock2D, AttnDownBlock2D (`attention`), and with `tembChannels: null` the VAE's
 *   DownEncoderBlock2D / AttnDownEncoderBlock2D: `resnets.i`, `attentions.i`, `downsamplers.0`;
 * - `UpBlock`: UpBlock2D, AttnUpBlock2D: resnets fed the concatenated skip connections, `upsamplers.0`;
 * - `MidBlock`: UNetMidBlock2D: resnet, (attention, resnet) x numLayers.
 */
import type { ActivationName } from "../nn/activation.js";
import { Attention } from "../nn/attention.js";
import { fail, fmtShape } from "../nn/check.js";
import type { ForwardOptions } from "../nn/dropout.js";
import { Module, type Params } from "../nn/module.js";
import { ResnetBlock2D, type TimeEmbeddingNorm } from "../nn/resnet.js";
import { Downsample2D, Upsample2D } from "../nn/sampling.js";
import * as T from "../tensor/index.js";

/** Options shared by every resnet of a block (diffusers' `resnet_*` arguments). */
export interface ResnetSettings {
  tembChannels: number | null;
  eps: number;
  groups: number;
  act: ActivationName;
  dropout: number;
  timeEmbeddingNorm: TimeEmbeddingNorm;
  outputScaleFactor: number;
}

function resnet(path: string, cin: number, cout: number, s: ResnetSettings, extra = {}): ResnetBlock2D {
  return new ResnetBlock2D(path, {
    inChannels: cin,
    outChannels: cout,
    tembChannels: s.tembChannels,
    groups: s.groups,
    eps: s.eps,
    act: s.act,
    dropout: s.dropout,
    timeEmbeddingNorm: s.timeEmbeddingNorm,
    outputScaleFactor: s.outputScaleFactor,
    ...extra,
  });
}

/** The blocks' self-attention: heads = channels / headDim (headDim null: one head), residual, group norm. */
function attention(
  path: string,
  channels: number,
  headDim: number | null,
  groups: number | null,
  s: ResnetSettings,
) {
  const dimHead = headDim ?? channels;
  return new Attention(path, {
    queryDim: channels,
    heads: Math.max(1, Math.floor(channels / dimHead)),
    dimHead,
    normNumGroups: groups,
    eps: s.eps,
    rescaleOutputFactor: s.outputScaleFactor,
    residualConnection: true,
    bias: true,
  });
}

export interface DownBlockOptions {
  inChannels: number;
  outChannels: number;
  numLayers: number;
  resnet: ResnetSettings;
  attention: boolean;
  attentionHeadDim: number | null;
  /** null: no downsampling (the last block) */
  downsample: { type: "conv"; padding: number } | { type: "resnet" } | null;
}

export class DownBlock extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Attention[] | null;
  readonly downsampler: Downsample2D | ResnetBlock2D | null;

  constructor(path: string, o: DownBlockOptions) {
    super(path);
    const s = o.resnet;
    this.resnets = this.addChildren(
      Array.from({ length: o.numLayers }, (_, i) =>
        resnet(this.sub(`resnets.${i}`), i === 0 ? o.inChannels : o.outChannels, o.outChannels, s),
      ),
    );
    this.attentions = o.attention
      ? this.addChildren(
          this.resnets.map((_, i) =>
            attention(this.sub(`attentions.${i}`), o.outChannels, o.attentionHeadDim, s.groups, s),
          ),
        )
      : null;
    const d = o.downsample;
    const path0 = this.sub("downsamplers.0");
    this.downsampler =
      d === null
        ? null
        : this.addChild(
            d.type === "conv"
              ? new Downsample2D(path0, { channels: o.outChannels, padding: d.padding })
              : resnet(path0, o.outChannels, o.outChannels, s, { down: true }),
          );
  }

  /** Returns the output and the states kept for the skip connections (one per resnet, plus the downsampled). */
  forward(
    params: Params,
    x: T.Tensor,
    temb: T.Tensor | null,
    options: ForwardOptions = {},
  ): { hidden: T.Tensor; skips: T.Tensor[] } {
    const skips: T.Tensor[] = [];
    let h = x;
    this.resnets.forEach((r, i) => {
      h = r.forward(params, h, temb, options);
      if (this.attentions) h = this.attentions[i]!.forward(params, h);
      skips.push(h);
    });
    if (this.downsampler) {
      h =
        this.downsampler instanceof ResnetBlock2D
          ? this.downsampler.forward(params, h, temb, options)
          : this.downsampler.forward(params, h);
      skips.push(h);
    }
    return { hidden: h, skips };
  }
}

export interface UpBlockOptions {
  /** channels of the deepest skip this block consumes (diffusers `in_channels`) */
  inChannels: number;
  prevOutputChannels: number;
  outChannels: number;
  numLayers: number;
  resnet: ResnetSettings;
  attention: boolean;
  attentionHeadDim: number | null;
  /** null: no upsampling (the last block) */
  upsample: "conv" | "resnet" | null;
}

export class UpBlock extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Attention[] | null;
  readonly upsampler: Upsample2D | ResnetBlock2D | null;
  /** channels of the skip each resnet consumes */
  readonly skipChannels: number[];

  constructor(path: string, o: UpBlockOptions) {
    super(path);
    const s = o.resnet;
    const n = o.numLayers;
    this.skipChannels = Array.from({ length: n }, (_, i) => (i === n - 1 ? o.inChannels : o.outChannels));
    this.resnets = this.addChildren(
      this.skipChannels.map((skip, i) =>
        resnet(
          this.sub(`resnets.${i}`),
          (i === 0 ? o.prevOutputChannels : o.outChannels) + skip,
          o.outChannels,
          s,
        ),
      ),
    );
    this.attentions = o.attention
      ? this.addChildren(
          this.resnets.map((_, i) =>
            attention(this.sub(`attentions.${i}`), o.outChannels, o.attentionHeadDim, s.groups, s),
          ),
        )
      : null;
    const path0 = this.sub("upsamplers.0");
    this.upsampler =
      o.upsample === null
        ? null
        : this.addChild(
            o.upsample === "conv"
              ? new Upsample2D(path0, { channels: o.outChannels })
              : resnet(path0, o.outChannels, o.outChannels, s, { up: true }),
          );
  }

  /** `skips` are this block's skip states, oldest first (each resnet takes the last remaining one). */
  forward(
    params: Params,
    x: T.Tensor,
    skips: readonly T.Tensor[],
    temb: T.Tensor | null,
    options: ForwardOptions = {},
  ): T.Tensor {
    if (skips.length !== this.resnets.length) {
      fail(this.label, `needs ${this.resnets.length} skip states, got ${skips.length}`);
    }
    let h = x;
    this.resnets.forEach((r, i) => {
      const skip = skips[skips.length - 1 - i]!;
      if (skip.shape[2] !== h.shape[2] || skip.shape[3] !== h.shape[3]) {
        fail(
          this.label,
          `skip state ${fmtShape(skip.shape)} does not match the hidden state ${fmtShape(h.shape)}`,
        );
      }
      h = r.forward(params, T.concat([h, skip], 1), temb, options);
      if (this.attentions) h = this.attentions[i]!.forward(params, h);
    });
    if (!this.upsampler) return h;
    return this.upsampler instanceof ResnetBlock2D
      ? this.upsampler.forward(params, h, temb, options)
      : this.upsampler.forward(params, h);
  }
}

export interface MidBlockOptions {
  channels: number;
  numLayers?: number;
  resnet: ResnetSettings;
  addAttention: boolean;
  attentionHeadDim: number | null;
  /** groups of the attention's group norm (null: none) */
  attnGroups: number | null;
}

/** UNetMidBlock2D: resnets.0, then (attentions.i, resnets.i+1) for each layer. */
export class MidBlock extends Module {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Attention[] | null;

  constructor(path: string, o: MidBlockOptions) {
    super(path);
    const n = o.numLayers ?? 1;
    const c = o.channels;
    this.attentions = o.addAttention
      ? this.addChildren(
          Array.from({ length: n }, (_, i) =>
            attention(this.sub(`attentions.${i}`), c, o.attentionHeadDim, o.attnGroups, o.resnet),
          ),
        )
      : null;
    this.resnets = this.addChildren(
      Array.from({ length: n + 1 }, (_, i) => resnet(this.sub(`resnets.${i}`), c, c, o.resnet)),
    );
  }

  forward(params: Params, x: T.Tensor, temb: T.Tensor | null, options: ForwardOptions = {}): T.Tensor {
    let h = this.resnets[0]!.forward(params, x, temb, options);
    for (let i = 1; i < this.resnets.length; i++) {
      if (this.attentions) h = this.attentions[i - 1]!.forward(params, h);
      h = this.resnets[i]!.forward(params, h, temb, options);
    }
    return h;
  }
}
