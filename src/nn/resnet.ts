/**
 * diffusers `ResnetBlock2D` (diffusers/models/resnet.py), the residual block of DDPM's U-Net
 * (Ho et al. 2020, appendix B; Wide ResNet style):
 *   h = conv1(act(norm1(x)))                       (x and h resampled first when up/down)
 *   h = h + time_emb_proj(act(temb))[:, :, None, None]              ("default")
 *   h = norm2(h);  h = h * (1 + scale) + shift with [scale, shift] = time_emb_proj(act(temb)) ("scale_shift")
 *   h = conv2(dropout(act(h)))
 *   out = (conv_shortcut(x) or x + h) / output_scale_factor
 */
import * as T from "../tensor/index.js";
import { type ActivationName, getActivation } from "./activation.js";
import { expectDim, expectRank, fail, fmtShape } from "./check.js";
import { Conv2d } from "./conv.js";
import { Dropout, type ForwardOptions } from "./dropout.js";
import { Linear } from "./linear.js";
import { Module, type Params } from "./module.js";
import { GroupNorm } from "./norm.js";
import { avgPool2x2 } from "./sampling.js";

export type TimeEmbeddingNorm = "default" | "scale_shift";

export interface ResnetBlock2DOptions {
  inChannels: number;
  /** default inChannels */
  outChannels?: number;
  /** channels of the time embedding; null: no time conditioning (VAE blocks) */
  tembChannels: number | null;
  /** groups of norm1 (default 32) */
  groups?: number;
  /** groups of norm2 (default groups) */
  groupsOut?: number;
  /** group-norm epsilon (default 1e-6) */
  eps?: number;
  /** default "silu" */
  act?: ActivationName;
  /** default 0 */
  dropout?: number;
  /** default "default" */
  timeEmbeddingNorm?: TimeEmbeddingNorm;
  /** default 1 */
  outputScaleFactor?: number;
  /** 1x1 conv on the skip path (default: when in and out channels differ) */
  useInShortcut?: boolean;
  /** default true */
  convShortcutBias?: boolean;
  /** nearest x2 upsampling of both paths before conv1 (diffusers `up=True`) */
  up?: boolean;
  /** 2x2 average pooling of both paths before conv1 (diffusers `down=True`) */
  down?: boolean;
}

export class ResnetBlock2D extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly tembChannels: number | null;
  readonly timeEmbeddingNorm: TimeEmbeddingNorm;
  readonly outputScaleFactor: number;
  readonly up: boolean;
  readonly down: boolean;
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeEmbProj: Linear | null;
  readonly norm2: GroupNorm;
  readonly dropout: Dropout;
  readonly conv2: Conv2d;
  readonly convShortcut: Conv2d | null;
  private readonly act: (x: T.Tensor) => T.Tensor;

  constructor(path: string, o: ResnetBlock2DOptions) {
    super(path);
    const cin = o.inChannels;
    const cout = o.outChannels ?? cin;
    const groups = o.groups ?? 32;
    const eps = o.eps ?? 1e-6;
    this.inChannels = cin;
    this.outChannels = cout;
    this.tembChannels = o.tembChannels;
    this.timeEmbeddingNorm = o.timeEmbeddingNorm ?? "default";
    if (this.timeEmbeddingNorm !== "default" && this.timeEmbeddingNorm !== "scale_shift") {
      fail(
        this.label,
        `unknown time embedding norm ${JSON.stringify(o.timeEmbeddingNorm)}; expected default, scale_shift`,
      );
    }
    this.outputScaleFactor = o.outputScaleFactor ?? 1;
    this.up = o.up ?? false;
    this.down = o.down ?? false;
    if (this.up && this.down) fail(this.label, "options up and down exclude each other");
    this.act = getActivation(o.act ?? "silu", `${this.label}: act`);
    const conv = (name: string, i: number, k: number, bias = true) =>
      this.addChild(
        new Conv2d(this.sub(name), {
          inChannels: i,
          outChannels: cout,
          kernelSize: k,
          padding: (k - 1) / 2,
          bias,
        }),
      );
    this.norm1 = this.addChild(
      new GroupNorm(this.sub("norm1"), { numGroups: groups, numChannels: cin, eps }),
    );
    this.conv1 = conv("conv1", cin, 3);
    const projOut = this.timeEmbeddingNorm === "scale_shift" ? 2 * cout : cout;
    this.timeEmbProj =
      o.tembChannels === null
        ? null
        : this.addChild(
            new Linear(this.sub("time_emb_proj"), { inFeatures: o.tembChannels, outFeatures: projOut }),
          );
    this.norm2 = this.addChild(
      new GroupNorm(this.sub("norm2"), { numGroups: o.groupsOut ?? groups, numChannels: cout, eps }),
    );
    this.dropout = this.addChild(new Dropout(this.sub("dropout"), { p: o.dropout ?? 0 }));
    this.conv2 = conv("conv2", cout, 3);
    const shortcut = o.useInShortcut ?? cin !== cout;
    this.convShortcut = shortcut ? conv("conv_shortcut", cin, 1, o.convShortcutBias ?? true) : null;
  }

  private resample(x: T.Tensor): T.Tensor {
    if (this.up) return T.upsampleNearest2d(x, 2);
    return this.down ? avgPool2x2(x) : x;
  }

  /** `x` [B, inChannels, H, W], `temb` [B, tembChannels] (null without time conditioning). */
  forward(params: Params, x: T.Tensor, temb: T.Tensor | null, options: ForwardOptions = {}): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectDim(this.label, x, 1, this.inChannels, "channels");
    // 1. first convolution of the pre-activated input
    let skip = this.resample(x);
    let h = this.conv1.forward(params, this.resample(this.act(this.norm1.forward(params, x))));
    // 2. time conditioning
    let scaleShift: [T.Tensor, T.Tensor] | null = null;
    if (this.timeEmbProj) {
      if (!temb) fail(this.label, "needs a time embedding (temb) but got none");
      if (temb.rank !== 2 || temb.shape[0] !== x.shape[0] || temb.shape[1] !== this.tembChannels) {
        fail(
          this.label,
          `temb has shape ${fmtShape(temb.shape)}, expected [${x.shape[0]}, ${this.tembChannels}] (batch, channels)`,
        );
      }
      const t = T.unsqueeze(T.unsqueeze(this.timeEmbProj.forward(params, this.act(temb)), -1), -1);
      if (this.timeEmbeddingNorm === "default") h = T.add(h, t);
      else scaleShift = T.split(t, [this.outChannels, this.outChannels], 1) as [T.Tensor, T.Tensor];
    }
    // 3. second convolution
    h = this.norm2.forward(params, h);
    if (scaleShift) h = T.add(T.mul(h, T.add(scaleShift[0], 1)), scaleShift[1]);
    h = this.conv2.forward(params, this.dropout.forward(params, this.act(h), options));
    // 4. residual
    if (this.convShortcut) skip = this.convShortcut.forward(params, skip);
    const out = T.add(skip, h);
    return this.outputScaleFactor === 1 ? out : T.div(out, this.outputScaleFactor);
  }
}
