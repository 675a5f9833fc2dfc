/**
 * Resolution changes of diffusers' U-Net and VAE blocks: Downsample2D and Upsample2D
 * (diffusers/models/downsampling.py, upsampling.py). The convolution is the child `conv`.
 */
import * as T from "../tensor/index.js";
import { expectDim, expectRank, fail } from "./check.js";
import { Conv2d } from "./conv.js";
import { Module, type Params } from "./module.js";

/** 2x2 average pooling with stride 2 (F.avg_pool2d(x, 2, 2); an odd last row/column is dropped). */
export function avgPool2x2(x: T.Tensor): T.Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const [h2, w2] = [Math.floor(h / 2), Math.floor(w / 2)];
  const even = T.slice(x, [null, null, [0, 2 * h2], [0, 2 * w2]]);
  return T.mean(T.reshape(even, [b, c, h2, 2, w2, 2]), [3, 5]);
}

export interface Downsample2DOptions {
  channels: number;
  /** 3x3 stride-2 convolution (default true); otherwise 2x2 average pooling */
  useConv?: boolean;
  outChannels?: number;
  /** conv padding (default 1); 0 pads one zero row/column at the bottom/right first, as diffusers */
  padding?: number;
}

/** Halves the resolution: conv 3x3 stride 2 (diffusers Downsample2D, `name="op"` stored as `conv`). */
export class Downsample2D extends Module {
  readonly channels: number;
  readonly outChannels: number;
  readonly padding: number;
  readonly conv: Conv2d | null;

  constructor(path: string, o: Downsample2DOptions) {
    super(path);
    this.channels = o.channels;
    this.outChannels = o.outChannels ?? o.channels;
    this.padding = o.padding ?? 1;
    const useConv = o.useConv ?? true;
    if (!useConv && this.outChannels !== this.channels) {
      fail(this.label, `average pooling keeps ${this.channels} channels, cannot output ${this.outChannels}`);
    }
    this.conv = useConv
      ? this.addChild(
          new Conv2d(this.sub("conv"), {
            inChannels: o.channels,
            outChannels: this.outChannels,
            kernelSize: 3,
            stride: 2,
            padding: this.padding,
          }),
        )
      : null;
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectDim(this.label, x, 1, this.channels, "channels");
    if (!this.conv) return avgPool2x2(x);
    const padded =
      this.padding === 0
        ? T.pad(x, [
            [0, 1],
            [0, 1],
          ])
        : x;
    return this.conv.forward(params, padded);
  }
}

export interface Upsample2DOptions {
  channels: number;
  /** 3x3 convolution after the nearest-neighbour upsampling (default true) */
  useConv?: boolean;
  outChannels?: number;
}

/** Doubles the resolution: nearest-neighbour x2 then conv 3x3 (diffusers Upsample2D, child `conv`). */
export class Upsample2D extends Module {
  readonly channels: number;
  readonly outChannels: number;
  readonly conv: Conv2d | null;

  constructor(path: string, o: Upsample2DOptions) {
    super(path);
    this.channels = o.channels;
    this.outChannels = o.outChannels ?? o.channels;
    const useConv = o.useConv ?? true;
    if (!useConv && this.outChannels !== this.channels) {
      fail(
        this.label,
        `upsampling without conv keeps ${this.channels} channels, cannot output ${this.outChannels}`,
      );
    }
    this.conv = useConv
      ? this.addChild(
          new Conv2d(this.sub("conv"), {
            inChannels: o.channels,
            outChannels: this.outChannels,
            kernelSize: 3,
            padding: 1,
          }),
        )
      : null;
  }

  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 4, "NCHW");
    expectDim(this.label, x, 1, this.channels, "channels");
    const up = T.upsampleNearest2d(x, 2);
    return this.conv ? this.conv.forward(params, up) : up;
  }
}
