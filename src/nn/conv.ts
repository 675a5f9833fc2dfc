/** nn.Conv2d (stride, padding, groups) with PyTorch's parameter names and default initialisation. */
import * as T from "../tensor/index.js";
import { expectDim, expectFloat, expectPositiveInt, expectRank, fail, fmtShape } from "./check.js";
import { fanInUniform } from "./init.js";
import { Module, type Params } from "./module.js";

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** default 1 */
  stride?: number;
  /** symmetric zero padding, default 0 */
  padding?: number;
  /** default 1 */
  groups?: number;
  /** default true */
  bias?: boolean;
}

/** 2-D convolution of NCHW input; `weight` [out, in/groups, k, k], `bias` [out]. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(path: string, o: Conv2dOptions) {
    super(path);
    for (const f of ["inChannels", "outChannels", "kernelSize"] as const)
      expectPositiveInt(this.label, f, o[f]);
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.groups = o.groups ?? 1;
    this.hasBias = o.bias ?? true;
    expectPositiveInt(this.label, "stride", this.stride);
    expectPositiveInt(this.label, "groups", this.groups);
    if (!Number.isInteger(this.padding) || this.padding < 0) {
      fail(this.label, `option padding must be a non-negative integer, got ${o.padding}`);
    }
    if (o.inChannels % this.groups !== 0 || o.outChannels % this.groups !== 0) {
      fail(
        this.label,
        `groups ${this.groups} must divide inChannels ${o.inChannels} and outChannels ${o.outChannels}`,
      );
    }
    const k = o.kernelSize;
    const fanIn = (o.inChannels / this.groups) * k * k;
    this.addParam("weight", [o.outChannels, o.inChannels / this.groups, k, k], fanInUniform(fanIn));
    if (this.hasBias) this.addParam("bias", [o.outChannels], fanInUniform(fanIn));
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectFloat(this.label, x);
    expectDim(this.label, x, 1, this.inChannels, "channels");
    const [h, w] = [x.shape[2]!, x.shape[3]!];
    if (Math.min(h, w) + 2 * this.padding < this.kernelSize) {
      fail(
        this.label,
        `input ${fmtShape(x.shape)} is smaller than the ${this.kernelSize}x${this.kernelSize} kernel`,
      );
    }
    const bias = this.hasBias ? this.param(params, "bias") : undefined;
    return T.conv2d(x, this.param(params, "weight"), bias, {
      stride: this.stride,
      padding: this.padding,
      groups: this.groups,
    });
  }
}
