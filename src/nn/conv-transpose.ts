/**
 * nn.ConvTranspose2d (stride, padding, output padding, groups) with PyTorch's parameter names and
 * default initialisation: the adjoint of a Conv2d with the same geometry (Dumoulin & Visin 2016,
 * section 4), so an input of H rows gives (H - 1) stride - 2 padding + kernel + outputPadding rows.
 * `weight` is [in, out/groups, k, k] (PyTorch's layout) and `bias` [out].
 */
import * as T from "../tensor/index.js";
import { expectDim, expectFloat, expectPositiveInt, expectRank, fail } from "./check.js";
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

function nonNegativeInt(label: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) fail(label, `option ${field} must be a non-negative integer, got ${v}`);
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
    for (const f of ["inChannels", "outChannels", "kernelSize"] as const)
      expectPositiveInt(this.label, f, o[f]);
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.outputPadding = o.outputPadding ?? 0;
    this.groups = o.groups ?? 1;
    this.hasBias = o.bias ?? true;
    expectPositiveInt(this.label, "stride", this.stride);
    expectPositiveInt(this.label, "groups", this.groups);
    nonNegativeInt(this.label, "padding", this.padding);
    nonNegativeInt(this.label, "outputPadding", this.outputPadding);
    if (this.outputPadding >= this.stride) {
      fail(
        this.label,
        `option outputPadding ${this.outputPadding} must be smaller than stride ${this.stride}`,
      );
    }
    if (o.inChannels % this.groups !== 0 || o.outChannels % this.groups !== 0) {
      fail(
        this.label,
        `groups ${this.groups} must divide inChannels ${o.inChannels} and outChannels ${o.outChannels}`,
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
