/**
 * The building blocks of the seed tutorial's `ImprovedUNet` (shared/seed, section 6), with its PyTorch
 * module names so that parameter names are the tutorial's `state_dict()` keys:
 *
 * - `tutorialTimeEmbedding` = `SinusoidalPositionEmbeddings`: for d = dim / 2 frequencies
 *   w_i = exp(-i ln(10000) / (d - 1)), emb(t) = [sin(t w), cos(t w)] (sin first; diffusers' U-Net uses
 *   d - freq_shift in the denominator and puts cos first);
 * - `ResidualBlock`: h = conv1(silu(norm1(x))) + silu(time_mlp(e))[:, :, None, None];
 *   out = conv2(dropout(silu(norm2(h)))) + residual_conv(x) (1x1 conv when the channels change, else x).
 *   Unlike diffusers' ResnetBlock2D, the time projection is Linear THEN SiLU, added after conv1;
 * - `AttentionBlock`: qkv = 1x1 conv of norm(x) viewed as [B, 3, heads, C/heads, HW]; per head
 *   A = softmax(q^T k / sqrt(C/heads)) over keys, h = v A^T; out = x + out_conv(h) (Vaswani et al.
 *   2017, eq. 1, with 1x1 convolutions for the projections).
 */
import { expectDim, expectFloat, expectRank } from "../nn/check.js";
import { Conv2d } from "../nn/conv.js";
import { Dropout, type ForwardOptions } from "../nn/dropout.js";
import { Linear } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import { GroupNorm } from "../nn/norm.js";
import * as T from "../tensor/index.js";

/**
 * The tutorial's frequencies exactly as PyTorch computes them in float32: the step ln(10000)/(d-1) is
 * a double rounded once, `arange(d) * -step` is a float32 product, then exp.
 */
export function tutorialFrequencies(half: number): Float32Array {
  const f = Math.fround;
  const step = f(-(Math.log(10000) / (half - 1)));
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(i * step))));
}

/** SinusoidalPositionEmbeddings(dim)(t): t [B] (float32 or int32) -> [B, dim] = [sin(t w), cos(t w)]. */
export function tutorialTimeEmbedding(timesteps: T.Tensor, dim: number): T.Tensor {
  const half = Math.floor(dim / 2);
  const freqs = T.tensor(tutorialFrequencies(half), [1, half]);
  const args = T.mul(T.unsqueeze(T.cast(timesteps, "float32"), 1), freqs);
  return T.concat([T.sin(args), T.cos(args)], 1);
}

export interface ResidualBlockOptions {
  inChannels: number;
  outChannels: number;
  timeEmbDim: number;
  dropout: number;
  groups: number;
}

/** The tutorial's `ResidualBlock(in, out, time_emb_dim, dropout)`. */
export class ResidualBlock extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeMlp: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly dropout: Dropout;
  readonly residualConv: Conv2d | null;

  constructor(path: string, o: ResidualBlockOptions) {
    super(path);
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    const [i, c] = [o.inChannels, o.outChannels];
    this.norm1 = this.addChild(new GroupNorm(this.sub("norm1"), { numGroups: o.groups, numChannels: i }));
    this.conv1 = this.addChild(
      new Conv2d(this.sub("conv1"), { inChannels: i, outChannels: c, kernelSize: 3, padding: 1 }),
    );
    this.timeMlp = this.addChild(
      new Linear(this.sub("time_mlp"), { inFeatures: o.timeEmbDim, outFeatures: c }),
    );
    this.norm2 = this.addChild(new GroupNorm(this.sub("norm2"), { numGroups: o.groups, numChannels: c }));
    this.conv2 = this.addChild(
      new Conv2d(this.sub("conv2"), { inChannels: c, outChannels: c, kernelSize: 3, padding: 1 }),
    );
    this.dropout = this.addChild(new Dropout(this.sub("dropout"), { p: o.dropout }));
    this.residualConv =
      i === c
        ? null
        : this.addChild(
            new Conv2d(this.sub("residual_conv"), { inChannels: i, outChannels: c, kernelSize: 1 }),
          );
  }

  /** x [B, in, H, W], timeEmb [B, timeEmbDim] -> [B, out, H, W]. */
  forward(params: Params, x: T.Tensor, timeEmb: T.Tensor, options: ForwardOptions = {}): T.Tensor {
    let h = this.conv1.forward(params, T.silu(this.norm1.forward(params, x)));
    const e = T.silu(this.timeMlp.forward(params, timeEmb));
    h = T.add(h, T.reshape(e, [e.shape[0]!, this.outChannels, 1, 1]));
    const a = this.dropout.forward(params, T.silu(this.norm2.forward(params, h)), options);
    h = this.conv2.forward(params, a);
    return T.add(h, this.residualConv ? this.residualConv.forward(params, x) : x);
  }
}

/** The tutorial's `AttentionBlock(channels, num_heads=8)`. */
export class AttentionBlock extends Module {
  readonly channels: number;
  readonly heads: number;
  readonly norm: GroupNorm;
  readonly qkv: Conv2d;
  readonly out: Conv2d;

  constructor(path: string, o: { channels: number; heads: number; groups: number }) {
    super(path);
    this.channels = o.channels;
    this.heads = o.heads;
    const c = o.channels;
    this.norm = this.addChild(new GroupNorm(this.sub("norm"), { numGroups: o.groups, numChannels: c }));
    this.qkv = this.addChild(
      new Conv2d(this.sub("qkv"), { inChannels: c, outChannels: 3 * c, kernelSize: 1 }),
    );
    this.out = this.addChild(new Conv2d(this.sub("out"), { inChannels: c, outChannels: c, kernelSize: 1 }));
  }

  /** x [B, C, H, W] -> x + out(attention(norm(x))). */
  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectFloat(this.label, x);
    expectDim(this.label, x, 1, this.channels, "channels");
    const [b, c, hh, ww] = x.shape as [number, number, number, number];
    const d = c / this.heads;
    const n = hh * ww;
    // qkv.view(B, 3, heads, C/heads, H*W).unbind(1): q, k, v are [B, heads, d, N]
    const qkv = T.reshape(this.qkv.forward(params, this.norm.forward(params, x)), [b, 3, this.heads, d, n]);
    const [q, k, v] = T.split(qkv, [1, 1, 1], 1).map((t) => T.reshape(t, [b, this.heads, d, n])) as [
      T.Tensor,
      T.Tensor,
      T.Tensor,
    ];
    // w = einsum('bhcn,bhcm->bhnm', q, k) / sqrt(d), softmax over m
    const w = T.softmax(T.mul(T.matmul(T.swapAxes(q, -1, -2), k), d ** -0.5), -1);
    // h = einsum('bhnm,bhcm->bhcn', w, v) = v w^T
    const h = T.reshape(T.matmul(v, T.swapAxes(w, -1, -2)), [b, c, hh, ww]);
    return T.add(x, this.out.forward(params, h));
  }
}
