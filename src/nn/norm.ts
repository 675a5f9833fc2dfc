/** nn.GroupNorm and nn.LayerNorm (population variance, as PyTorch), with their parameter names. */
import * as T from "../tensor/index.js";
import { expectFloat, expectMinRank, expectPositiveInt, fail, fmtShape } from "./check.js";
import { onesInit, zerosInit } from "./init.js";
import { Module, type Params } from "./module.js";

/** (x - mean) / sqrt(var + eps) over the trailing `count` axes of `x`. */
export function standardize(x: T.Tensor, count: number, eps: number): T.Tensor {
  const axes = Array.from({ length: count }, (_, i) => x.rank - count + i);
  const centred = T.sub(x, T.mean(x, axes, true));
  const variance = T.mean(T.square(centred), axes, true);
  return T.mul(centred, T.rsqrt(T.add(variance, eps)));
}

export interface GroupNormOptions {
  numGroups: number;
  numChannels: number;
  /** default 1e-5 */
  eps?: number;
  /** learnable per-channel `weight` and `bias` (default true) */
  affine?: boolean;
}

/**
 * Group normalisation (Wu & He 2018, eq. 1-3): the channels of each sample are split into `numGroups`
 * groups, each standardised over its channels and spatial positions, then scaled and shifted per channel.
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(path: string, o: GroupNormOptions) {
    super(path);
    expectPositiveInt(this.label, "numGroups", o.numGroups);
    expectPositiveInt(this.label, "numChannels", o.numChannels);
    if (o.numChannels % o.numGroups !== 0) {
      fail(this.label, `numGroups ${o.numGroups} must divide numChannels ${o.numChannels}`);
    }
    this.numGroups = o.numGroups;
    this.numChannels = o.numChannels;
    this.eps = o.eps ?? 1e-5;
    this.affine = o.affine ?? true;
    if (this.affine) {
      this.addParam("weight", [o.numChannels], onesInit);
      this.addParam("bias", [o.numChannels], zerosInit);
    }
  }

  /** `x` is [N, C, ...] (any number of trailing spatial axes). */
  forward(params: Params, x: T.Tensor): T.Tensor {
    expectMinRank(this.label, x, 2);
    expectFloat(this.label, x);
    if (x.shape[1] !== this.numChannels) {
      fail(this.label, `input has ${x.shape[1]} channels ${fmtShape(x.shape)}, expected ${this.numChannels}`);
    }
    const grouped = T.reshape(x, [x.shape[0]!, this.numGroups, -1]);
    const y = T.reshape(standardize(grouped, 1, this.eps), x.shape);
    if (!this.affine) return y;
    const perChannel = [1, this.numChannels, ...x.shape.slice(2).map(() => 1)];
    const w = T.reshape(this.param(params, "weight"), perChannel);
    const b = T.reshape(this.param(params, "bias"), perChannel);
    return T.add(T.mul(y, w), b);
  }
}

export interface LayerNormOptions {
  /** the trailing shape normalised over */
  normalizedShape: number | readonly number[];
  /** default 1e-5 */
  eps?: number;
  /** learnable `weight` (and `bias`), default true */
  elementwiseAffine?: boolean;
  /** default true (only with elementwiseAffine) */
  bias?: boolean;
}

/** Layer normalisation (Ba et al. 2016) over the trailing `normalizedShape` axes (torch.nn.LayerNorm). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly hasBias: boolean;

  constructor(path: string, o: LayerNormOptions) {
    super(path);
    const shape = typeof o.normalizedShape === "number" ? [o.normalizedShape] : [...o.normalizedShape];
    shape.forEach((d, i) => {
      expectPositiveInt(this.label, `normalizedShape[${i}]`, d);
    });
    this.normalizedShape = shape;
    this.eps = o.eps ?? 1e-5;
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    this.hasBias = this.elementwiseAffine && (o.bias ?? true);
    if (this.elementwiseAffine) this.addParam("weight", shape, onesInit);
    if (this.hasBias) this.addParam("bias", shape, zerosInit);
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    const n = this.normalizedShape.length;
    expectMinRank(this.label, x, n);
    expectFloat(this.label, x);
    const tail = x.shape.slice(x.rank - n);
    if (!tail.every((d, i) => d === this.normalizedShape[i])) {
      fail(
        this.label,
        `input ${fmtShape(x.shape)} does not end with the normalized shape ${fmtShape(this.normalizedShape)}`,
      );
    }
    let y = standardize(x, n, this.eps);
    if (this.elementwiseAffine) y = T.mul(y, this.param(params, "weight"));
    if (this.hasBias) y = T.add(y, this.param(params, "bias"));
    return y;
  }
}
