/**
 * A noise-conditioned classifier p_phi(y | x_t, t) for classifier guidance (Dhariwal & Nichol 2021,
 * "Diffusion Models Beat GANs on Image Synthesis", Sec. 4 and App. "classifier architecture": the
 * encoder half of the U-Net with an attention-pooled head; here a mean-pooled one).
 *
 *   emb    = time_embedding(sinusoid(t))                     as UNet2DModel, step 1
 *   h      = conv_in(x_t)
 *   h      = down_blocks[i](h, emb)                          UNet2DModel's down path (same blocks)
 *   h      = mid_block(h, emb)
 *   logits = classifier(mean_hw(SiLU(conv_norm_out(h))))     [B, num_classes]
 *
 * Parameter names are UNet2DModel's for every part the two share (`time_embedding.linear_1`,
 * `conv_in`, `down_blocks.0.resnets.0.conv1`, `mid_block.attentions.0`, `conv_norm_out`); the head is
 * `classifier.weight` / `classifier.bias`. The input is x_t exactly as the diffusion model sees it
 * (the VP-scaled sample), at a raw (possibly fractional) training timestep. Browser-safe.
 */
import { getActivation } from "../nn/activation.js";
import { expectDim, expectFloat, expectRank, fail, fmtShape } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import { broadcastTimesteps, TimestepEmbedding, timestepEmbedding } from "../nn/embeddings.js";
import { Linear } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import { makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import {
  type NoiseClassifierConfig,
  noiseClassifierConfigToJson,
  parseNoiseClassifierConfig,
} from "./noise-classifier-config.js";
import type { ModelInitOptions } from "./unet2d.js";
import { DownBlock, MidBlock, type ResnetSettings } from "./unet2d-blocks.js";

export class NoiseConditionedClassifier extends Module {
  readonly config: NoiseClassifierConfig;
  readonly timeEmbedDim: number;
  readonly convIn: Conv2d;
  readonly timeEmbedding: TimestepEmbedding;
  readonly downBlocks: DownBlock[];
  readonly midBlock: MidBlock;
  readonly convNormOut: GroupNorm;
  readonly classifier: Linear;

  constructor(config: unknown, options: ModelInitOptions = {}) {
    super("");
    const c = parseNoiseClassifierConfig(config);
    this.config = c;
    this.init(options.key ?? makeKey(options.seed ?? 0));
    const ch = c.block_out_channels;
    const last = ch[ch.length - 1]!;
    const temb = ch[0]! * 4;
    this.timeEmbedDim = temb;
    this.convIn = this.addChild(
      new Conv2d("conv_in", { inChannels: c.in_channels, outChannels: ch[0]!, kernelSize: 3, padding: 1 }),
    );
    this.timeEmbedding = this.addChild(
      new TimestepEmbedding("time_embedding", { inChannels: ch[0]!, timeEmbedDim: temb }),
    );
    const s: ResnetSettings = {
      tembChannels: temb,
      eps: c.norm_eps,
      groups: c.norm_num_groups,
      act: c.act_fn,
      dropout: 0,
      timeEmbeddingNorm: "default",
      outputScaleFactor: 1,
    };
    this.downBlocks = this.addChildren(
      ch.map(
        (out, i) =>
          new DownBlock(`down_blocks.${i}`, {
            inChannels: i === 0 ? ch[0]! : ch[i - 1]!,
            outChannels: out,
            numLayers: c.layers_per_block,
            resnet: s,
            attention: c.down_block_types[i] === "AttnDownBlock2D",
            attentionHeadDim: c.attention_head_dim,
            downsample: i === ch.length - 1 ? null : { type: "conv", padding: c.downsample_padding },
          }),
      ),
    );
    this.midBlock = this.addChild(
      new MidBlock("mid_block", {
        channels: last,
        resnet: s,
        addAttention: c.add_attention,
        attentionHeadDim: c.attention_head_dim,
        attnGroups: c.norm_num_groups,
      }),
    );
    this.convNormOut = this.addChild(
      new GroupNorm("conv_norm_out", { numGroups: c.norm_num_groups, numChannels: last, eps: c.norm_eps }),
    );
    this.classifier = this.addChild(
      new Linear("classifier", { inFeatures: last, outFeatures: c.num_classes }),
    );
  }

  /** Example shape [C, H, W] the classifier takes. */
  get exampleShape(): number[] {
    const c = this.config;
    return [c.in_channels, c.sample_size, c.sample_size];
  }

  /** Class logits [B, num_classes] of `sample` [B, C, H, W] at `timesteps` (scalar, [1] or [B]). */
  forward(params: Params, sample: T.Tensor, timesteps: T.Tensor): T.Tensor {
    const c = this.config;
    expectRank(this.label, sample, 4, "NCHW", "sample");
    expectFloat(this.label, sample, "sample");
    expectDim(this.label, sample, 1, c.in_channels, "channels", "sample");
    if (sample.shape[2] !== c.sample_size || sample.shape[3] !== c.sample_size) {
      fail(
        this.label,
        `sample ${fmtShape(sample.shape)}: expected ${c.sample_size}x${c.sample_size} images (sample_size)`,
      );
    }
    const B = sample.shape[0]!;
    const t = broadcastTimesteps(this.label, timesteps, B);
    const proj = timestepEmbedding(t, c.block_out_channels[0]!, {
      flipSinToCos: c.flip_sin_to_cos,
      downscaleFreqShift: c.freq_shift,
    });
    const emb = this.timeEmbedding.forward(params, proj);
    let h = this.convIn.forward(params, sample);
    for (const block of this.downBlocks) h = block.forward(params, h, emb).hidden;
    h = this.midBlock.forward(params, h, emb);
    h = getActivation("silu")(this.convNormOut.forward(params, h));
    return this.classifier.forward(params, T.mean(h, [2, 3]));
  }

  toConfig(): Record<string, unknown> {
    return noiseClassifierConfigToJson(this.config);
  }
}

/** log p(y | x_t, t) per example: log_softmax(logits)[y], [B] (`labels` int32 [B]). */
export function logProbOfLabels(logits: T.Tensor, labels: T.Tensor): T.Tensor {
  const n = logits.shape[1]!;
  return T.sum(T.mul(T.logSoftmax(logits, -1), T.oneHot(labels, n)), [1]);
}
