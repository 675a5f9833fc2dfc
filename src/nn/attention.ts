/**
 * Multi-head self-attention as diffusers' `Attention` is configured by the UNet2D / VAE blocks
 * (`_from_deprecated_attn_block=True`, `residual_connection=True`, AttnProcessor): children
 * `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0` (`to_out.1` is a dropout without parameters).
 *
 * For x [B, C, H, W] flattened to tokens X [B, HW, C] after the group norm:
 *   Q = X Wq^T + bq, K = ..., V = ...   split into `heads` heads of `dimHead` features,
 *   A = softmax(Q K^T / sqrt(dimHead)) V        (Vaswani et al. 2017, eq. 1)
 *   out = (A Wo^T + bo  reshaped to [B, C, H, W]  + x) / rescaleOutputFactor.
 */
import * as T from "../tensor/index.js";
import { expectDim, expectFloat, expectPositiveInt, fail, fmtShape } from "./check.js";
import { Linear } from "./linear.js";
import { Module, type Params } from "./module.js";
import { GroupNorm } from "./norm.js";

export interface AttentionOptions {
  /** channels of the input (diffusers `query_dim`) */
  queryDim: number;
  heads: number;
  dimHead: number;
  /** groups of the input group norm; null: no group norm (default null) */
  normNumGroups?: number | null;
  /** group-norm epsilon (default 1e-5) */
  eps?: number;
  /** the output is divided by this (default 1) */
  rescaleOutputFactor?: number;
  /** add the input back (default true) */
  residualConnection?: boolean;
  /** biases on the q/k/v projections (default true; to_out always has one) */
  bias?: boolean;
}

/** Splits [B, L, heads*d] into [B, heads, L, d]. */
function splitHeads(x: T.Tensor, heads: number): T.Tensor {
  const [b, l, inner] = x.shape as [number, number, number];
  return T.transpose(T.reshape(x, [b, l, heads, inner / heads]), [0, 2, 1, 3]);
}

/** Merges [B, heads, L, d] into [B, L, heads*d]. */
function mergeHeads(x: T.Tensor): T.Tensor {
  const [b, h, l, d] = x.shape as [number, number, number, number];
  return T.reshape(T.transpose(x, [0, 2, 1, 3]), [b, l, h * d]);
}

/** softmax(Q K^T * scale) V over [B, heads, L, d] operands (scaled dot-product attention). */
export function scaledDotProductAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, scale: number): T.Tensor {
  const scores = T.mul(T.matmul(q, T.swapAxes(k, -1, -2)), scale);
  return T.matmul(T.softmax(scores, -1), v);
}

export class Attention extends Module {
  readonly queryDim: number;
  readonly heads: number;
  readonly dimHead: number;
  readonly rescaleOutputFactor: number;
  readonly residualConnection: boolean;
  readonly groupNorm: GroupNorm | null;
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Linear;

  constructor(path: string, o: AttentionOptions) {
    super(path);
    for (const f of ["queryDim", "heads", "dimHead"] as const) expectPositiveInt(this.label, f, o[f]);
    this.queryDim = o.queryDim;
    this.heads = o.heads;
    this.dimHead = o.dimHead;
    this.rescaleOutputFactor = o.rescaleOutputFactor ?? 1;
    this.residualConnection = o.residualConnection ?? true;
    const groups = o.normNumGroups ?? null;
    this.groupNorm =
      groups === null
        ? null
        : this.addChild(
            new GroupNorm(this.sub("group_norm"), { numGroups: groups, numChannels: o.queryDim, eps: o.eps }),
          );
    const inner = o.heads * o.dimHead;
    const proj = (name: string) =>
      this.addChild(
        new Linear(this.sub(name), { inFeatures: o.queryDim, outFeatures: inner, bias: o.bias ?? true }),
      );
    this.toQ = proj("to_q");
    this.toK = proj("to_k");
    this.toV = proj("to_v");
    this.toOut = this.addChild(
      new Linear(this.sub("to_out.0"), { inFeatures: inner, outFeatures: o.queryDim }),
    );
  }

  /** `x` is [B, C, H, W] (or tokens [B, L, C]); the output has the same shape. */
  forward(params: Params, x: T.Tensor): T.Tensor {
    expectFloat(this.label, x);
    if (x.rank !== 4 && x.rank !== 3) {
      fail(this.label, `input must be 4-D NCHW or 3-D [batch, tokens, channels], got ${fmtShape(x.shape)}`);
    }
    const image = x.rank === 4;
    expectDim(this.label, x, image ? 1 : 2, this.queryDim, "channels");
    const [b, c] = [x.shape[0]!, this.queryDim];
    // 1. group norm over channels, then tokens [B, L, C]
    let h = x;
    if (image) {
      if (this.groupNorm) h = this.groupNorm.forward(params, h);
      h = T.transpose(T.reshape(h, [b, c, -1]), [0, 2, 1]);
    } else if (this.groupNorm) {
      h = T.transpose(this.groupNorm.forward(params, T.transpose(h, [0, 2, 1])), [0, 2, 1]);
    }
    // 2. projections and attention per head
    const q = splitHeads(this.toQ.forward(params, h), this.heads);
    const k = splitHeads(this.toK.forward(params, h), this.heads);
    const v = splitHeads(this.toV.forward(params, h), this.heads);
    const a = scaledDotProductAttention(q, k, v, 1 / Math.sqrt(this.dimHead));
    // 3. output projection, back to the input layout, residual and rescale
    let out = this.toOut.forward(params, mergeHeads(a));
    if (image) out = T.reshape(T.transpose(out, [0, 2, 1]), x.shape);
    if (this.residualConnection) out = T.add(out, x);
    return this.rescaleOutputFactor === 1 ? out : T.div(out, this.rescaleOutputFactor);
  }
}
