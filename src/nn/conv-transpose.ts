/**
 * nn.ConvTranspose2d (stride, padding, output padding, groups) with PyTorch's parameter names and
 * default initialisation: the adjoint of a Conv2d with the same geometry (Dumoulin & Visin 2016,
 * section 4), so an input of H rows gives (H - 1) stride - 2 padding + kernel + outputPadding rows.
 * `weight` is [in, out/groups, k, k] (PyTorch's layout) and `bias` [out].
 */
import * as T from "../tensor/index.js";
import { expectDim, expectFloat, expectRank, fail } from "./check.js";
import { convGeometry } from "./conv.js";
import { fanInUniform } from "./init.js";
import { Module, type Params } from "./module.js";

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** default 1 */
  stride?: number;
  /** symmetric padding removed from the output, default 0 */
  padding?: number;
  /** extra rows/columns added at the bottom/right of the output, default 0 (must be < stride) */
  outputPadding?: number;
  /** default 1 */
  groups?: number;
  /** default true */
  bias?: boolean;
}

/** Transposed 2-D convolution of NCHW input. */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(path: string, o: ConvTranspose2dOptions) {
    super(path);
    const g = convGeometry(this.label, o);
    this.inChannels = g.inChannels;
    this.outChannels = g.outChannels;
    this.kernelSize = g.kernelSize;
    this.stride = g.stride;
    this.padding = g.padding;
    this.outputPadding = o.outputPadding ?? 0;
    this.groups = g.groups;
    this.hasBias = g.hasBias;
    if (!Number.isInteger(this.outputPadding) || this.outputPadding < 0) {
      fail(this.label, `option outputPadding must be a non-negative integer, got ${o.outputPadding}`);
    }
    if (this.outputPadding >= this.stride) {
      fail(
        this.label,
        `option outputPadding ${this.outputPadding} must be smaller than stride ${this.stride}`,
      );
    }
    const k = o.kernelSize;
    // PyTorch's fan-in of a transposed conv weight [in, out/groups, k, k] is (out/groups) k k.
    const fanIn = (o.outChannels / this.groups) * k * k;
    this.addParam("weight", [o.inChannels, o.outChannels / this.groups, k, k], fanInUniform(fanIn));
    if (this.hasBias) this.addParam("bias", [o.outChannels], fanInUniform(fanIn));
  }

  /** Output rows (or columns) for `n` input rows. */
  outputSize(n: number): number {
    return (n - 1) * this.stride - 2 * this.padding + this.kernelSize + this.outputPadding;
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectFloat(this.label, x);
    expectDim(this.label, x, 1, this.inChannels, "channels");
    if (Math.min(this.outputSize(x.shape[2]!), this.outputSize(x.shape[3]!)) < 1) {
      fail(this.label, `input [${x.shape.join(", ")}] gives an empty output`);
    }
    const bias = this.hasBias ? this.param(params, "bias") : undefined;
    return T.convTranspose2d(x, this.param(params, "weight"), bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
    });
  }
}
