/**
 * The feature network of the sample-quality metrics: a small CNN classifier for grey 28x28 images,
 * trained here (scripts/train-feature-net.ts) on MNIST and on Fashion-MNIST. It plays the part that
 * Inception-v3 plays in FID (Heusel et al. 2017) for natural images:
 *
 *   x [N,1,28,28] in [-1,1]
 *     -> for each stage s: conv3x3(stride_s) -> GroupNorm(norm_groups) -> SiLU
 *     -> flatten [N, C_last*h*w] (pool "flatten") or global average pool [N, C_last] (pool "mean")
 *     -> linear -> SiLU = features f(x)          [N, feature_dim]   (penultimate: FID/KID/PR/DC)
 *     -> linear = logits                         [N, num_classes]   (accuracy, Inception-score analogue)
 *
 * Functional like every Module: `features(params, x)` and `logits(params, x)` run eagerly, under
 * autodiff and under `T.compile`. Browser-safe.
 */
import { Conv2d, GroupNorm, Linear, Module, type Params } from "../nn/index.js";
import * as T from "../tensor/index.js";

export const FEATURE_NET_CLASS = "FeatureNet";
export const FEATURE_POOLS = ["flatten", "mean"] as const;
export type FeaturePool = (typeof FEATURE_POOLS)[number];

/** config.json of a feature net (snake_case, as diffusers configs). */
export interface FeatureNetConfig {
  _class_name: typeof FEATURE_NET_CLASS;
  in_channels: number;
  image_size: number;
  /** Output channels of each conv stage. */
  channels: number[];
  /** Stride of each conv stage (same length as `channels`). */
  strides: number[];
  norm_groups: number;
  /** How the last feature map becomes a vector: "flatten" (keeps position) or "mean" (global average). */
  pool: FeaturePool;
  /** Width of the penultimate layer: the feature dimension d of the metrics. */
  feature_dim: number;
  num_classes: number;
  /** Provenance (optional): dataset, seed, epochs, test accuracy, class names. */
  dataset?: string;
  class_names?: string[];
  training?: Record<string, unknown>;
}

/** The architecture the shipped nets use (28x28 -> 28 -> 14 -> 7 -> 4, flatten 1024, 225k parameters). */
export const DEFAULT_FEATURE_NET_CONFIG: FeatureNetConfig = {
  _class_name: FEATURE_NET_CLASS,
  in_channels: 1,
  image_size: 28,
  channels: [32, 64, 64, 64],
  strides: [1, 2, 2, 2],
  norm_groups: 8,
  pool: "flatten",
  feature_dim: 128,
  num_classes: 10,
};

function bad(field: string, value: unknown, expected: string): never {
  throw new Error(`feature net config: field "${field}" is ${JSON.stringify(value)}; expected ${expected}`);
}

function posInt(c: Record<string, unknown>, field: string): number {
  const v = c[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) bad(field, v, "a positive integer");
  return v;
}

function posIntList(c: Record<string, unknown>, field: string): number[] {
  const v = c[field];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 1)) {
    bad(field, v, "a non-empty list of positive integers");
  }
  return v as number[];
}

/** Checks a parsed config.json; errors name the field, its value and what was expected. */
export function parseFeatureNetConfig(raw: unknown): FeatureNetConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("(root)", raw, "a JSON object");
  const c = raw as Record<string, unknown>;
  if (c._class_name !== FEATURE_NET_CLASS) bad("_class_name", c._class_name, `"${FEATURE_NET_CLASS}"`);
  const channels = posIntList(c, "channels");
  const strides = posIntList(c, "strides");
  if (strides.length !== channels.length)
    bad("strides", strides, `${channels.length} entries (one per stage)`);
  const normGroups = posInt(c, "norm_groups");
  const notDivided = channels.find((ch) => ch % normGroups !== 0);
  if (notDivided !== undefined)
    bad("norm_groups", normGroups, `a divisor of every channel count (${channels})`);
  const pool = c.pool;
  if (!(FEATURE_POOLS as readonly unknown[]).includes(pool))
    bad("pool", pool, `one of ${FEATURE_POOLS.join(", ")}`);
  return {
    ...(c as unknown as FeatureNetConfig),
    pool: pool as FeaturePool,
    in_channels: posInt(c, "in_channels"),
    image_size: posInt(c, "image_size"),
    channels,
    strides,
    norm_groups: normGroups,
    feature_dim: posInt(c, "feature_dim"),
    num_classes: posInt(c, "num_classes"),
  };
}

/** Penultimate features and class logits of one forward pass. */
export interface FeatureNetOutput {
  features: T.Tensor;
  logits: T.Tensor;
}

export class FeatureNet extends Module {
  readonly config: FeatureNetConfig;
  private readonly convs: Conv2d[];
  private readonly norms: GroupNorm[];
  private readonly fc: Linear;
  private readonly head: Linear;

  constructor(config: FeatureNetConfig = DEFAULT_FEATURE_NET_CONFIG) {
    super("");
    this.config = parseFeatureNetConfig(config);
    const c = this.config;
    const ins = [c.in_channels, ...c.channels];
    this.convs = this.addChildren(
      c.channels.map(
        (out, i) =>
          new Conv2d(`convs.${i}`, {
            inChannels: ins[i]!,
            outChannels: out,
            kernelSize: 3,
            stride: c.strides[i]!,
            padding: 1,
          }),
      ),
    );
    this.norms = this.addChildren(
      c.channels.map((ch, i) => new GroupNorm(`norms.${i}`, { numGroups: c.norm_groups, numChannels: ch })),
    );
    const last = c.channels[c.channels.length - 1]! * (c.pool === "flatten" ? this.finalSide() ** 2 : 1);
    this.fc = this.addChild(new Linear("fc", { inFeatures: last, outFeatures: c.feature_dim }));
    this.head = this.addChild(new Linear("head", { inFeatures: c.feature_dim, outFeatures: c.num_classes }));
  }

  /** Side of the last feature map: each 3x3 conv with padding 1 maps s to floor((s - 1) / stride) + 1. */
  finalSide(): number {
    return this.config.strides.reduce((s, st) => Math.floor((s - 1) / st) + 1, this.config.image_size);
  }

  /** The config as written to config.json. */
  toConfig(): FeatureNetConfig {
    return { ...this.config };
  }

  private checkInput(x: T.Tensor): void {
    const { in_channels: ch, image_size: s } = this.config;
    const ok = x.rank === 4 && x.shape[1] === ch && x.shape[2] === s && x.shape[3] === s;
    if (!ok) {
      throw new Error(
        `feature net: input has shape [${x.shape.join(", ")}], expected [N, ${ch}, ${s}, ${s}]`,
      );
    }
  }

  /**
   * The activation after each conv stage, SiLU(GroupNorm(conv_s(h))), of images `x` [N, C, H, W]
   * in [-1, 1], one `[N, channels[s], side_s, side_s]` tensor per stage (the perceptual loss's phi_s).
   */
  stages(params: Params, x: T.Tensor): T.Tensor[] {
    this.checkInput(x);
    const out: T.Tensor[] = [];
    let h = x;
    this.convs.forEach((conv, i) => {
      h = T.silu(this.norms[i]!.forward(params, conv.forward(params, h)));
      out.push(h);
    });
    return out;
  }

  /** Features and logits of images `x` [N, C, H, W] in [-1, 1]. */
  forward(params: Params, x: T.Tensor): FeatureNetOutput {
    const h = this.stages(params, x).at(-1)!;
    const pooled = this.config.pool === "flatten" ? T.reshape(h, [h.shape[0]!, -1]) : T.mean(h, [2, 3]);
    const features = T.silu(this.fc.forward(params, pooled));
    return { features, logits: this.head.forward(params, features) };
  }

  /** Penultimate features [N, feature_dim]. */
  features(params: Params, x: T.Tensor): T.Tensor {
    return this.forward(params, x).features;
  }

  /** Class logits [N, num_classes]. */
  logits(params: Params, x: T.Tensor): T.Tensor {
    return this.forward(params, x).logits;
  }
}

/** Mean softmax cross-entropy of `logits` [N, K] against int32 `labels` [N]. */
export function crossEntropy(logits: T.Tensor, labels: T.Tensor): T.Tensor {
  const k = logits.shape[1]!;
  return T.neg(T.mean(T.sum(T.mul(T.logSoftmax(logits, 1), T.oneHot(labels, k)), 1)));
}
