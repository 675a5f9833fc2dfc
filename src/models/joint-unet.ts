/**
 * `JointUNet`: one network for the pair (image x, label y) with one noise level PER MODALITY
 * (UniDiffuser, Bao et al. 2023, "One Transformer Fits All Distributions in Multi-Modal Diffusion at
 * Scale", Sec. 3: eps_theta(x_{t_x}, y_{t_y}, t_x, t_y) predicts both noises). Here the image path is
 * a diffusers UNet2DModel (unconditional) and the label, a vector in R^label_dim (a one-hot in +-1),
 * enters and leaves through a small side branch:
 *
 *   e_y   = TimestepEmbedding(sinusoid(t_y))                            label_time.*
 *   u     = SiLU(label_in(y_t) + e_y)                                   the label's embedding
 *   c     = label_out(u)                                                [B, temb]
 *   eps_x, h_1..h_n, h_mid = UNet2D(x_t, t_x, extra embedding c)        every ResNet block sees c
 *
 * and the eps_y head (`label_head` of the config) reads, with g(h) = mean_hw(SiLU(GroupNorm(h))),
 *
 *   "mid":     eps_y = head(concat(g(h_mid), e_y))                      label_head.norm
 *   "pyramid": eps_y = head(concat(g(h_1), ..., g(h_n), g(h_mid), u, y_t))   label_head.norms.{i}
 *
 * (head = linear_2(SiLU(linear_1(.))), label_head.linear_*). "pyramid" sees the image at every scale
 * of the down path (h_i: down block i's output) and y_t itself, so that reading the digit of a clean
 * image (p(y | x)) is a small classifier on the U-Net's features rather than a path through the
 * mid block alone.
 *
 * The U-Net's parameters keep diffusers' names (the branch's are `label_*`), so the image path is the
 * plain UNet2DModel. One model gives p(x | y) (t_y = 0, y clean), p(y | x) (t_x = 0, x clean) and
 * p(x, y) (t_x = t_y). Browser-safe.
 */
import { getActivation } from "../nn/activation.js";
import { expectFloat, expectRank, fail, fmtShape } from "../nn/check.js";
import { broadcastTimesteps, TimestepEmbedding, timestepEmbedding } from "../nn/embeddings.js";
import { Linear } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import { makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import { type JointUNetConfig, jointUNetConfigToJson, parseJointUNetConfig } from "./joint-unet-config.js";
import { type ModelInitOptions, UNet2DModel } from "./unet2d.js";

/** The two predictions. */
export interface JointOutput {
  /** [B, C, H, W] */
  epsX: T.Tensor;
  /**
   * The label head's output, [B, label_dim]: eps_y, or y0_hat where the config's `label_prediction`
   * is "sample" (`labelEps` in pipelines/joint-sample.ts converts it to eps_y).
   */
  epsY: T.Tensor;
}

/** The name prefix of the label branch's parameters (every other parameter is the U-Net's, by diffusers name). */
export const LABEL_PREFIX = "label_";

export class JointUNet extends Module {
  readonly config: JointUNetConfig;
  readonly unet: UNet2DModel;
  readonly labelTime: TimestepEmbedding;
  readonly labelIn: Linear;
  readonly labelOut: Linear;
  /** The GroupNorms of the pooled features: [mid] ("mid") or one per down block, then mid ("pyramid"). */
  readonly headNorms: GroupNorm[];
  readonly head1: Linear;
  readonly head2: Linear;

  /** `config`: a JointUNet config.json object (validated). */
  constructor(config: unknown, options: ModelInitOptions = {}) {
    super("");
    const c = parseJointUNetConfig(config);
    this.config = c;
    this.init(options.key ?? makeKey(options.seed ?? 0));
    // The U-Net shares this module's root path: its parameters keep their diffusers names.
    this.unet = this.addChild(new UNet2DModel(c.unet));
    const ch0 = c.unet.block_out_channels[0]!;
    const chMid = c.unet.block_out_channels[c.unet.block_out_channels.length - 1]!;
    const temb = this.unet.timeEmbedDim;
    this.labelTime = this.addChild(
      new TimestepEmbedding("label_time", { inChannels: ch0, timeEmbedDim: temb }),
    );
    this.labelIn = this.addChild(new Linear("label_in", { inFeatures: c.label_dim, outFeatures: temb }));
    this.labelOut = this.addChild(new Linear("label_out", { inFeatures: temb, outFeatures: temb }));
    const norm = (name: string, channels: number) =>
      this.addChild(
        new GroupNorm(name, {
          numGroups: c.unet.norm_num_groups,
          numChannels: channels,
          eps: c.unet.norm_eps,
        }),
      );
    const pooled = c.label_head === "mid" ? [chMid] : [...c.unet.block_out_channels, chMid];
    this.headNorms =
      c.label_head === "mid"
        ? [norm("label_head.norm", chMid)]
        : pooled.map((ch, i) => norm(`label_head.norms.${i}`, ch));
    const headIn = pooled.reduce((a, b) => a + b, 0) + temb + (c.label_head === "pyramid" ? c.label_dim : 0);
    this.head1 = this.addChild(
      new Linear("label_head.linear_1", { inFeatures: headIn, outFeatures: c.label_hidden }),
    );
    this.head2 = this.addChild(
      new Linear("label_head.linear_2", { inFeatures: c.label_hidden, outFeatures: c.label_dim }),
    );
  }

  /** The shape of one image [C, H, W]. */
  get imageShape(): [number, number, number] {
    const u = this.config.unet;
    const s = u.sample_size!;
    const [h, w] = typeof s === "number" ? [s, s] : [s[0]!, s[1] ?? s[0]!];
    return [u.in_channels, h, w];
  }

  /**
   * Both noise predictions for x_t [B, C, H, W] at `tx` and y_t [B, label_dim] at `ty` (timesteps:
   * scalar, [1] or [B]; raw integer timesteps, float32 or int32).
   */
  forward(params: Params, x: T.Tensor, tx: T.Tensor, y: T.Tensor, ty: T.Tensor): JointOutput {
    const c = this.config;
    expectRank(this.label, x, 4, "NCHW", "x");
    const [C, H, W] = this.imageShape;
    if (x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W) {
      fail(this.label, `x has shape ${fmtShape(x.shape)}, expected [batch, ${C}, ${H}, ${W}]`);
    }
    expectFloat(this.label, y, "y");
    const B = x.shape[0]!;
    if (y.rank !== 2 || y.shape[0] !== B || y.shape[1] !== c.label_dim) {
      fail(
        this.label,
        `y has shape ${fmtShape(y.shape)}, expected [${B}, ${c.label_dim}] (label_dim ${c.label_dim})`,
      );
    }
    const silu = getActivation("silu");
    // 1. the label's time embedding and its input to the U-Net's embedding
    const t = broadcastTimesteps(this.label, ty, B);
    const sinusoid = timestepEmbedding(t, c.unet.block_out_channels[0]!, {
      flipSinToCos: c.unet.flip_sin_to_cos,
      downscaleFreqShift: c.unet.freq_shift,
    });
    const ey = this.labelTime.forward(params, sinusoid);
    const u = silu(T.add(this.labelIn.forward(params, y), ey));
    const add = this.labelOut.forward(params, u);
    // 2. the U-Net with the label in every block's embedding
    const parts = this.unet.forwardParts(params, x, tx, null, {}, { addEmbedding: add });
    // 3. the label head on the pooled features
    const pool = (h: T.Tensor, i: number) => T.mean(silu(this.headNorms[i]!.forward(params, h)), [2, 3]);
    const features =
      c.label_head === "mid" ? [pool(parts.mid, 0), ey] : [...[...parts.down, parts.mid].map(pool), u, y];
    const h = silu(this.head1.forward(params, T.concat(features, 1)));
    return { epsX: parts.output, epsY: this.head2.forward(params, h) };
  }

  /** The config.json object (with `_class_name`). */
  toConfig(): Record<string, unknown> {
    return jointUNetConfigToJson(this.config);
  }
}
