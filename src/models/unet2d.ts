/**
 * diffusers `UNet2DModel` (diffusers/models/unets/unet_2d.py): the DDPM U-Net (Ho et al. 2020,
 * appendix B) with diffusers' parameter names, so its state dict loads from and saves to
 * `diffusion_pytorch_model.safetensors`. The forward is functional: `forward(params, sample, timesteps,
 * classLabels?)` with `params` the flat parameter record, so it runs eagerly, under `T.valueAndGrad` and
 * under `T.compile`.
 */

import { getActivation } from "../nn/activation.js";
import { expectDim, expectFloat, expectRank, fail, fmtShape } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import type { ForwardOptions } from "../nn/dropout.js";
import { broadcastTimesteps, TimestepEmbedding, timestepEmbedding } from "../nn/embeddings.js";
import { Embedding } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import type { Key } from "../random/index.js";
import { makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import { estimateUNet2D } from "./estimate.js";
import { DownBlock, MidBlock, type ResnetSettings, UpBlock } from "./unet2d-blocks.js";
import { parseUNet2DConfig, type UNet2DConfig, unet2dConfigToJson } from "./unet2d-config.js";

export interface ModelInitOptions {
  /** key for the (lazy) parameter initialisation; default makeKey(seed ?? 0) */
  key?: Key;
  seed?: number;
}

export class UNet2DModel extends Module {
  readonly config: UNet2DConfig;
  /** channels of the time embedding: 4 x block_out_channels[0] */
  readonly timeEmbedDim: number;
  readonly convIn: Conv2d;
  readonly timeProjTable: Embedding | null;
  readonly timeEmbedding: TimestepEmbedding;
  readonly classEmbedding: Embedding | TimestepEmbedding | null;
  readonly downBlocks: DownBlock[];
  readonly midBlock: MidBlock;
  readonly upBlocks: UpBlock[];
  readonly convNormOut: GroupNorm;
  readonly convOut: Conv2d;

  /** `config`: a diffusers config.json object (validated; missing optional fields take diffusers' defaults). */
  constructor(config: unknown, options: ModelInitOptions = {}) {
    super("");
    const c = parseUNet2DConfig(config);
    estimateUNet2D(c); // refuses a structure beyond MAX_LAYERS before building it
    this.config = c;
    this.init(options.key ?? makeKey(options.seed ?? 0));
    const ch = c.block_out_channels;
    const temb = ch[0]! * 4;
    this.timeEmbedDim = temb;
    this.convIn = this.addChild(
      new Conv2d("conv_in", { inChannels: c.in_channels, outChannels: ch[0]!, kernelSize: 3, padding: 1 }),
    );
    this.timeProjTable =
      c.time_embedding_type === "learned"
        ? this.addChild(
            new Embedding("time_proj", { numEmbeddings: c.num_train_timesteps!, embeddingDim: ch[0]! }),
          )
        : null;
    this.timeEmbedding = this.addChild(
      new TimestepEmbedding("time_embedding", { inChannels: ch[0]!, timeEmbedDim: temb }),
    );
    this.classEmbedding = this.buildClassEmbedding();
    const settings: ResnetSettings = {
      tembChannels: temb,
      eps: c.norm_eps,
      groups: c.norm_num_groups,
      act: c.act_fn,
      dropout: c.dropout,
      timeEmbeddingNorm: c.resnet_time_scale_shift,
      outputScaleFactor: 1,
    };
    this.downBlocks = this.addChildren(ch.map((out, i) => this.buildDownBlock(i, out, settings)));
    this.midBlock = this.addChild(
      new MidBlock("mid_block", {
        channels: ch[ch.length - 1]!,
        resnet: { ...settings, outputScaleFactor: c.mid_block_scale_factor },
        addAttention: c.add_attention,
        attentionHeadDim: c.attention_head_dim ?? ch[ch.length - 1]!,
        attnGroups:
          c.attn_norm_num_groups ?? (c.resnet_time_scale_shift === "default" ? c.norm_num_groups : null),
      }),
    );
    this.upBlocks = this.addChildren(c.up_block_types.map((_, i) => this.buildUpBlock(i, settings)));
    this.convNormOut = this.addChild(
      new GroupNorm("conv_norm_out", { numGroups: c.norm_num_groups, numChannels: ch[0]!, eps: c.norm_eps }),
    );
    this.convOut = this.addChild(
      new Conv2d("conv_out", { inChannels: ch[0]!, outChannels: c.out_channels, kernelSize: 3, padding: 1 }),
    );
  }

  private buildClassEmbedding(): Embedding | TimestepEmbedding | null {
    const c = this.config;
    const temb = this.timeEmbedDim;
    if (c.class_embed_type === null && c.num_class_embeds !== null) {
      return this.addChild(
        new Embedding("class_embedding", { numEmbeddings: c.num_class_embeds, embeddingDim: temb }),
      );
    }
    if (c.class_embed_type === "timestep") {
      return this.addChild(
        new TimestepEmbedding("class_embedding", {
          inChannels: c.block_out_channels[0]!,
          timeEmbedDim: temb,
        }),
      );
    }
    return null;
  }

  private buildDownBlock(i: number, out: number, settings: ResnetSettings): DownBlock {
    const c = this.config;
    const ch = c.block_out_channels;
    const last = i === ch.length - 1;
    const attention = c.down_block_types[i] === "AttnDownBlock2D";
    // get_down_block: DownBlock2D always downsamples with a conv; AttnDownBlock2D honours downsample_type
    const type = attention ? c.downsample_type : "conv";
    return new DownBlock(`down_blocks.${i}`, {
      inChannels: i === 0 ? ch[0]! : ch[i - 1]!,
      outChannels: out,
      numLayers: c.layers_per_block,
      resnet: settings,
      attention,
      attentionHeadDim: c.attention_head_dim ?? out,
      downsample: last ? null : type === "conv" ? { type, padding: c.downsample_padding } : { type },
    });
  }

  private buildUpBlock(i: number, settings: ResnetSettings): UpBlock {
    const c = this.config;
    const rev = [...c.block_out_channels].reverse();
    const out = rev[i]!;
    const attention = c.up_block_types[i] === "AttnUpBlock2D";
    const last = i === rev.length - 1;
    return new UpBlock(`up_blocks.${i}`, {
      inChannels: rev[Math.min(i + 1, rev.length - 1)]!,
      prevOutputChannels: i === 0 ? rev[0]! : rev[i - 1]!,
      outChannels: out,
      numLayers: c.layers_per_block + 1,
      resnet: settings,
      attention,
      attentionHeadDim: c.attention_head_dim ?? out,
      upsample: last ? null : attention ? c.upsample_type : "conv",
    });
  }

  /** The time embedding (plus the class embedding) of diffusers' forward, step 1. */
  private embed(params: Params, timesteps: T.Tensor, batch: number, classLabels: T.Tensor | null): T.Tensor {
    const c = this.config;
    const ch0 = c.block_out_channels[0]!;
    const t = broadcastTimesteps(this.label, timesteps, batch);
    const project = (v: T.Tensor) =>
      this.timeProjTable
        ? this.timeProjTable.forward(params, T.cast(v, "int32"))
        : timestepEmbedding(v, ch0, { flipSinToCos: c.flip_sin_to_cos, downscaleFreqShift: c.freq_shift });
    let emb = this.timeEmbedding.forward(params, project(t));
    const conditioned = this.classEmbedding !== null || c.class_embed_type === "identity";
    if (!conditioned) {
      if (classLabels) fail(this.label, "class labels were given but the model has no class embedding");
      return emb;
    }
    if (!classLabels) fail(this.label, "class labels must be given: the model is class-conditioned");
    if (classLabels.shape[0] !== batch) {
      fail(
        this.label,
        `class labels ${fmtShape(classLabels.shape)} must have one entry per sample (batch ${batch})`,
      );
    }
    let classEmb: T.Tensor;
    if (this.classEmbedding instanceof Embedding) classEmb = this.classEmbedding.forward(params, classLabels);
    else if (this.classEmbedding) classEmb = this.classEmbedding.forward(params, project(classLabels));
    else classEmb = classLabels;
    if (classEmb.rank !== 2 || classEmb.shape[1] !== this.timeEmbedDim) {
      fail(
        this.label,
        `class embedding has shape ${fmtShape(classEmb.shape)}, expected [${batch}, ${this.timeEmbedDim}]`,
      );
    }
    emb = T.add(emb, classEmb);
    return emb;
  }

  /**
   * The denoiser output for `sample` [B, in_channels, H, W] at `timesteps` (scalar, [1] or [B]; raw
   * integer timesteps, float32 or int32) and optional `classLabels` [B] (int32).
   */
  forward(
    params: Params,
    sample: T.Tensor,
    timesteps: T.Tensor,
    classLabels: T.Tensor | null = null,
    options: ForwardOptions = {},
  ): T.Tensor {
    return this.forwardParts(params, sample, timesteps, classLabels, options).output;
  }

  /**
   * `forward` with two extension points for models built around the U-Net (joint-unet.ts):
   * `extra.addEmbedding` [B, timeEmbedDim] is added to the time (and class) embedding that every
   * ResNet block sees, and each down block's output (`down`) and the mid block's output (`mid`) are
   * returned beside the output. Without `extra` it is exactly diffusers' forward.
   */
  forwardParts(
    params: Params,
    sample: T.Tensor,
    timesteps: T.Tensor,
    classLabels: T.Tensor | null = null,
    options: ForwardOptions = {},
    extra: { addEmbedding?: T.Tensor } = {},
  ): { output: T.Tensor; down: T.Tensor[]; mid: T.Tensor } {
    const c = this.config;
    expectRank(this.label, sample, 4, "NCHW", "sample");
    expectFloat(this.label, sample, "sample");
    expectDim(this.label, sample, 1, c.in_channels, "channels", "sample");
    const factor = 2 ** (c.block_out_channels.length - 1);
    if (sample.shape[2]! % factor !== 0 || sample.shape[3]! % factor !== 0) {
      fail(this.label, `sample ${fmtShape(sample.shape)}: height and width must be multiples of ${factor}`);
    }
    // 0. center, 1. time (and class) embedding
    const x = c.center_input_sample ? T.sub(T.mul(sample, 2), 1) : sample;
    let emb = this.embed(params, timesteps, sample.shape[0]!, classLabels);
    if (extra.addEmbedding) {
      const add = extra.addEmbedding;
      if (add.rank !== 2 || add.shape[0] !== sample.shape[0] || add.shape[1] !== this.timeEmbedDim) {
        fail(
          this.label,
          `extra embedding has shape ${fmtShape(add.shape)}, expected [${sample.shape[0]}, ${this.timeEmbedDim}]`,
        );
      }
      emb = T.add(emb, add);
    }
    // 2. pre-process, 3. down
    let h = this.convIn.forward(params, x);
    const skips: T.Tensor[] = [h];
    const down: T.Tensor[] = [];
    for (const block of this.downBlocks) {
      const out = block.forward(params, h, emb, options);
      h = out.hidden;
      down.push(h);
      skips.push(...out.skips);
    }
    // 4. mid
    h = this.midBlock.forward(params, h, emb, options);
    const mid = h;
    // 5. up: each block takes the last len(resnets) skip states
    for (const block of this.upBlocks) {
      const n = block.resnets.length;
      h = block.forward(params, h, skips.splice(skips.length - n, n), emb, options);
    }
    // 6. post-process (conv_act is nn.SiLU whatever act_fn is)
    h = getActivation("silu")(this.convNormOut.forward(params, h));
    return { output: this.convOut.forward(params, h), down, mid };
  }

  /** The diffusers config.json object (with `_class_name` and `_diffusers_version`). */
  toConfig(): Record<string, unknown> {
    return unet2dConfigToJson(this.config);
  }
}
