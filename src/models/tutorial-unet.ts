/**
 * `TutorialUNet`: the seed tutorial's `ImprovedUNet` (shared/seed, section 6) layer for layer, with its
 * PyTorch `state_dict()` names (`time_embed.1.weight`, `down_blocks.0.0.conv1.weight`,
 * `up_samples.1.weight`, ...), so weights trained with the tutorial's code load here and ours load
 * there. Browser-safe; the forward is functional like `UNet2DModel`'s.
 *
 * With channels c = [base, base m_0, ..., base m_{L-1}] and e = time_embed(t)
 * (= Linear, SiLU, Linear over the sinusoidal embedding of dimension base):
 *
 *   h = init_conv(x);  skips = [h]
 *   level i = 0..L-1:  h = down_blocks.i (num_res_blocks ResidualBlocks c_i -> c_{i+1}, then an
 *                      AttentionBlock if use_attention[i]);  skips.push(h);
 *                      h = down_samples.i(h)  (4x4 stride-2 conv; identity at the last level)
 *   h = mid_block2(mid_attention(mid_block1(h)))
 *   up k = 0..L-1 (level i = L-1-k): h = up_samples.k(h) (4x4 stride-2 ConvTranspose; identity for k=0)
 *                      h = up_blocks.k(concat(h, skips.pop()))  (num_res_blocks + 1 ResidualBlocks
 *                      -> c_i, then attention if use_attention[i])
 *   out = out_conv(silu(out_norm(h)))
 *
 * The one fix: the tutorial builds the first residual block of each up level with `in_ch + out_ch`
 * = c_{i+1} + c_i inputs, but the concatenation it receives has c_{i+1} + c_{i+1} channels (the
 * upsampled h and the skip of level i both have c_{i+1}); its code therefore fails whenever
 * c_i != c_{i+1}. Here that block takes 2 c_{i+1} inputs. skips[0] (the init_conv output) is never used,
 * as in the tutorial.
 */
import { expectDim, expectFloat, expectRank, fail, fmtShape } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import { ConvTranspose2d } from "../nn/conv-transpose.js";
import type { ForwardOptions } from "../nn/dropout.js";
import { broadcastTimesteps } from "../nn/embeddings.js";
import { Linear } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import { type Key, makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import { AttentionBlock, ResidualBlock, tutorialTimeEmbedding } from "./tutorial-unet-blocks.js";
import {
  parseTutorialUNetConfig,
  type TutorialUNetConfig,
  tutorialUNetConfigToJson,
} from "./tutorial-unet-config.js";

/** A block of a level: residual (sees the time embedding) or attention. */
export type Block = ResidualBlock | AttentionBlock;

/** A level's blocks through `h`: residual blocks see the time embedding, attention blocks do not. */
function runBlocks(blocks: Block[], params: Params, h: T.Tensor, emb: T.Tensor, o: ForwardOptions): T.Tensor {
  let out = h;
  for (const b of blocks)
    out = b instanceof ResidualBlock ? b.forward(params, out, emb, o) : b.forward(params, out);
  return out;
}

export class TutorialUNet extends Module {
  readonly config: TutorialUNetConfig;
  /** The tutorial's `channels`: `[base, base * m_0, ...]`. */
  readonly channels: number[];
  readonly timeEmbedDim: number;
  readonly timeLinear1: Linear;
  readonly timeLinear2: Linear;
  readonly initConv: Conv2d;
  readonly downBlocks: Block[][];
  readonly downSamples: (Conv2d | null)[];
  readonly midBlock1: ResidualBlock;
  readonly midAttention: AttentionBlock;
  readonly midBlock2: ResidualBlock;
  readonly upSamples: (ConvTranspose2d | null)[];
  readonly upBlocks: Block[][];
  readonly outNorm: GroupNorm;
  readonly outConv: Conv2d;

  constructor(config: unknown, options: { key?: Key; seed?: number } = {}) {
    super("");
    const c = parseTutorialUNetConfig(config);
    this.config = c;
    this.init(options.key ?? makeKey(options.seed ?? 0));
    const base = c.base_channels;
    const ch = [base, ...c.channel_multipliers.map((m) => base * m)];
    this.channels = ch;
    const temb = base * 4;
    this.timeEmbedDim = temb;
    const groups = c.norm_num_groups;
    const res = (path: string, inChannels: number, outChannels: number) =>
      new ResidualBlock(path, { inChannels, outChannels, timeEmbDim: temb, dropout: c.dropout, groups });
    const attn = (path: string, channels: number) =>
      new AttentionBlock(path, { channels, heads: c.num_heads, groups });
    // time_embed = Sequential(SinusoidalPositionEmbeddings, Linear, SiLU, Linear): indices 1 and 3
    this.timeLinear1 = this.addChild(new Linear("time_embed.1", { inFeatures: base, outFeatures: temb }));
    this.timeLinear2 = this.addChild(new Linear("time_embed.3", { inFeatures: temb, outFeatures: temb }));
    this.initConv = this.addChild(
      new Conv2d("init_conv", { inChannels: c.image_channels, outChannels: base, kernelSize: 3, padding: 1 }),
    );
    const L = c.channel_multipliers.length;
    this.downBlocks = [];
    this.downSamples = [];
    for (let i = 0; i < L; i++) {
      const blocks: Block[] = [];
      for (let j = 0; j < c.num_res_blocks; j++)
        blocks.push(res(`down_blocks.${i}.${j}`, j === 0 ? ch[i]! : ch[i + 1]!, ch[i + 1]!));
      if (c.use_attention[i]) blocks.push(attn(`down_blocks.${i}.${c.num_res_blocks}`, ch[i + 1]!));
      this.downBlocks.push(this.addChildren(blocks));
      this.downSamples.push(
        i < L - 1
          ? this.addChild(
              new Conv2d(`down_samples.${i}`, {
                inChannels: ch[i + 1]!,
                outChannels: ch[i + 1]!,
                kernelSize: 4,
                stride: 2,
                padding: 1,
              }),
            )
          : null,
      );
    }
    const mid = ch[L]!;
    this.midBlock1 = this.addChild(res("mid_block1", mid, mid));
    this.midAttention = this.addChild(attn("mid_attention", mid));
    this.midBlock2 = this.addChild(res("mid_block2", mid, mid));
    this.upSamples = [];
    this.upBlocks = [];
    for (let k = 0; k < L; k++) {
      const i = L - 1 - k;
      const [inCh, outCh] = [ch[i + 1]!, ch[i]!];
      this.upSamples.push(
        i < L - 1
          ? this.addChild(
              new ConvTranspose2d(`up_samples.${k}`, {
                inChannels: inCh,
                outChannels: inCh,
                kernelSize: 4,
                stride: 2,
                padding: 1,
              }),
            )
          : null,
      );
      const blocks: Block[] = [];
      // the fix: the concatenation has 2 c_{i+1} channels (the tutorial writes in_ch + out_ch)
      for (let j = 0; j <= c.num_res_blocks; j++)
        blocks.push(res(`up_blocks.${k}.${j}`, j === 0 ? 2 * inCh : outCh, outCh));
      if (c.use_attention[i]) blocks.push(attn(`up_blocks.${k}.${c.num_res_blocks + 1}`, outCh));
      this.upBlocks.push(this.addChildren(blocks));
    }
    this.outNorm = this.addChild(new GroupNorm("out_norm", { numGroups: groups, numChannels: base }));
    this.outConv = this.addChild(
      new Conv2d("out_conv", { inChannels: base, outChannels: c.image_channels, kernelSize: 3, padding: 1 }),
    );
  }

  /**
   * The predicted noise for `x` [B, image_channels, H, W] at `timesteps` (scalar, [1] or [B]; fed to the
   * sinusoidal embedding as numbers). H and W must survive the L-1 halvings and doublings unchanged:
   * multiples of 2^(L-1).
   */
  forward(params: Params, x: T.Tensor, timesteps: T.Tensor, options: ForwardOptions = {}): T.Tensor {
    const c = this.config;
    expectRank(this.label, x, 4, "NCHW", "x");
    expectFloat(this.label, x, "x");
    expectDim(this.label, x, 1, c.image_channels, "channels", "x");
    const factor = 2 ** (c.channel_multipliers.length - 1);
    if (x.shape[2]! % factor !== 0 || x.shape[3]! % factor !== 0) {
      fail(this.label, `x ${fmtShape(x.shape)}: height and width must be multiples of ${factor}`);
    }
    const t = broadcastTimesteps(this.label, timesteps, x.shape[0]!);
    const emb = this.timeLinear2.forward(
      params,
      T.silu(this.timeLinear1.forward(params, tutorialTimeEmbedding(t, c.base_channels))),
    );
    let h = this.initConv.forward(params, x);
    const skips: T.Tensor[] = [h];
    this.downBlocks.forEach((blocks, i) => {
      h = runBlocks(blocks, params, h, emb, options);
      skips.push(h);
      const down = this.downSamples[i];
      if (down) h = down.forward(params, h);
    });
    h = this.midBlock1.forward(params, h, emb, options);
    h = this.midAttention.forward(params, h);
    h = this.midBlock2.forward(params, h, emb, options);
    this.upBlocks.forEach((blocks, k) => {
      const up = this.upSamples[k];
      if (up) h = up.forward(params, h);
      h = runBlocks(blocks, params, T.concat([h, skips.pop()!], 1), emb, options);
    });
    return this.outConv.forward(params, T.silu(this.outNorm.forward(params, h)));
  }

  /** The config.json object (with `_class_name: "TutorialUNet"`). */
  toConfig(): Record<string, unknown> {
    return tutorialUNetConfigToJson(this.config);
  }
}
