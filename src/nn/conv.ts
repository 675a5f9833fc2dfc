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

/** A convolution's geometry, with the defaults filled in. */
export interface ConvGeometry {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  padding: number;
  groups: number;
  hasBias: boolean;
}

/** Checks the options shared by Conv2d and ConvTranspose2d (failing with the layer's `label`). */
export function convGeometry(label: string, o: Conv2dOptions): ConvGeometry {
  for (const f of ["inChannels", "outChannels", "kernelSize"] as const) expectPositiveInt(label, f, o[f]);
  const g: ConvGeometry = {
    inChannels: o.inChannels,
    outChannels: o.outChannels,
    kernelSize: o.kernelSize,
    stride: o.stride ?? 1,
    padding: o.padding ?? 0,
    groups: o.groups ?? 1,
    hasBias: o.bias ?? true,
  };
  expectPositiveInt(label, "stride", g.stride);
  expectPositiveInt(label, "groups", g.groups);
  if (!Number.isInteger(g.padding) || g.padding < 0) {
    fail(label, `option padding must be a non-negative integer, got ${o.padding}`);
  }
  if (g.inChannels % g.groups !== 0 || g.outChannels % g.groups !== 0) {
    fail(label, `groups ${g.groups} must divide inChannels ${g.inChannels} and outChannels ${g.outChannels}`);
  }
  return g;
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
    const g = convGeometry(this.label, o);
    this.inChannels = g.inChannels;
    this.outChannels = g.outChannels;
    this.kernelSize = g.kernelSize;
    this.stride = g.stride;
    this.padding = g.padding;
    this.groups = g.groups;
    this.hasBias = g.hasBias;
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
