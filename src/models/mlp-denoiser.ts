/**
 * A denoiser for vectors (2-D point clouds, rows of a table): an MLP of residual blocks conditioned on
 * the diffusion timestep (and optionally a class), the vector counterpart of `UNet2DModel`. It follows
 * the U-Net's conditioning scheme (DDPM, Ho et al. 2020, appendix B; diffusers' `ResnetBlock2D`):
 *
 *   e   = time_embedding(time_proj(t)) [+ class_embedding(y)]      time_proj: sinusoidal, [B, H]
 *   h_0 = input_proj(x)                                            [B, H]
 *   h_i = h_{i-1} + blocks.i.linear_2(act(blocks.i.linear_1(act(h_{i-1})) + blocks.i.emb_proj(act(e))))
 *   out = output_proj(act(h_L))                                    [B, D]
 *
 * Parameter names (state-dict keys) are the dotted paths above, so a model saves as diffusers-style
 * `config.json` (`_class_name: "MLPDenoiser"`) + safetensors. Browser-safe.
 */
import { getActivation } from "../nn/activation.js";
import { expectDim, expectRank, fail } from "../nn/check.js";
import { broadcastTimesteps, TimestepEmbedding, Timesteps } from "../nn/embeddings.js";
import { Embedding, Linear } from "../nn/linear.js";
import { Module, type Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import {
  bool,
  int,
  nullable,
  num,
  oneOf,
  type ParseOptions,
  parseConfig,
  REQUIRED,
  type Schema,
} from "./config-fields.js";
import { estimateMLPDenoiser } from "./estimate.js";
import { DIFFUSERS_VERSION } from "./unet2d-config.js";

export const MLP_DENOISER_CLASS = "MLPDenoiser";

/** config.json of an MLPDenoiser (snake_case like diffusers configs). */
export interface MLPDenoiserConfig {
  /** D, the size of one example. */
  in_features: number;
  /** H, the width of every hidden layer. */
  hidden_size: number;
  /** L, the number of residual blocks. */
  num_layers: number;
  act_fn: "silu" | "swish" | "relu";
  /** Sinusoidal time projection: cos before sin (diffusers `flip_sin_to_cos`). */
  flip_sin_to_cos: boolean;
  /** Sinusoidal time projection: frequency shift (diffusers `freq_shift`). */
  freq_shift: number;
  /** Number of class embeddings (classes, plus one "null" class when trained with label dropout). */
  num_class_embeds: number | null;
}

const schema: Schema<MLPDenoiserConfig> = {
  in_features: { check: int(1), default: REQUIRED },
  hidden_size: { check: int(2), default: 128 },
  num_layers: { check: int(1), default: 3 },
  act_fn: { check: oneOf(["silu", "swish", "relu"] as const), default: "silu" },
  flip_sin_to_cos: { check: bool, default: true },
  freq_shift: { check: num(), default: 0 },
  num_class_embeds: { check: nullable(int(1)), default: null },
};

/** The config fields of MLPDenoiser (what `--model` JSON may set). */
export const MLP_DENOISER_CONFIG_KEYS: readonly string[] = Object.keys(schema);

/**
 * Validates a config.json object: `_private` keys (`_class_name`) are ignored, unknown keys warn
 * (`unknown: "error"` for configs the user typed).
 */
export function parseMLPDenoiserConfig(raw: unknown, options: ParseOptions = {}): MLPDenoiserConfig {
  return parseConfig(MLP_DENOISER_CLASS, raw, schema, options);
}

/** The config as written to config.json. */
export function mlpDenoiserConfigToJson(c: MLPDenoiserConfig): Record<string, unknown> {
  return { _class_name: MLP_DENOISER_CLASS, _diffusers_version: DIFFUSERS_VERSION, ...structuredClone(c) };
}

/** One residual block: linear_1 -> (+ emb_proj(act(e))) -> act -> linear_2, added to its input. */
class MLPBlock extends Module {
  private readonly linear1: Linear;
  private readonly embProj: Linear;
  private readonly linear2: Linear;

  constructor(
    path: string,
    hidden: number,
    private readonly act: (x: T.Tensor) => T.Tensor,
  ) {
    super(path);
    const o = { inFeatures: hidden, outFeatures: hidden };
    this.linear1 = this.addChild(new Linear(this.sub("linear_1"), o));
    this.embProj = this.addChild(new Linear(this.sub("emb_proj"), o));
    this.linear2 = this.addChild(new Linear(this.sub("linear_2"), o));
  }

  forward(params: Params, h: T.Tensor, actEmb: T.Tensor): T.Tensor {
    const a = this.linear1.forward(params, this.act(h));
    const r = this.linear2.forward(params, this.act(T.add(a, this.embProj.forward(params, actEmb))));
    return T.add(h, r);
  }
}

export class MLPDenoiser extends Module {
  readonly config: MLPDenoiserConfig;
  private readonly act: (x: T.Tensor) => T.Tensor;
  private readonly timeProj: Timesteps;
  private readonly timeEmbedding: TimestepEmbedding;
  private readonly classEmbedding?: Embedding;
  private readonly inputProj: Linear;
  private readonly blocks: MLPBlock[];
  private readonly outputProj: Linear;

  constructor(config: MLPDenoiserConfig | Record<string, unknown>) {
    super("");
    const c = parseMLPDenoiserConfig(config);
    estimateMLPDenoiser(c); // refuses a structure beyond MAX_LAYERS before building it
    this.config = c;
    const H = c.hidden_size;
    this.act = getActivation(c.act_fn, "act_fn");
    this.timeProj = this.addChild(
      new Timesteps("time_proj", {
        numChannels: H,
        flipSinToCos: c.flip_sin_to_cos,
        downscaleFreqShift: c.freq_shift,
      }),
    );
    this.timeEmbedding = this.addChild(
      new TimestepEmbedding("time_embedding", { inChannels: H, timeEmbedDim: H, act: c.act_fn }),
    );
    if (c.num_class_embeds !== null) {
      this.classEmbedding = this.addChild(
        new Embedding("class_embedding", { numEmbeddings: c.num_class_embeds, embeddingDim: H }),
      );
    }
    this.inputProj = this.addChild(new Linear("input_proj", { inFeatures: c.in_features, outFeatures: H }));
    this.blocks = this.addChildren(
      Array.from({ length: c.num_layers }, (_, i) => new MLPBlock(`blocks.${i}`, H, this.act)),
    );
    this.outputProj = this.addChild(new Linear("output_proj", { inFeatures: H, outFeatures: c.in_features }));
  }

  /** The config.json object (with `_class_name`). */
  toConfig(): Record<string, unknown> {
    return mlpDenoiserConfigToJson(this.config);
  }

  /**
   * `sample` x_t [B, D], `timesteps` t (scalar, [1] or [B]; float32 or int32), `classLabels` y int32 [B]
   * (required iff the model has class embeddings) -> the model output [B, D].
   */
  forward(params: Params, sample: T.Tensor, timesteps: T.Tensor, classLabels?: T.Tensor): T.Tensor {
    expectRank(this.label, sample, 2, "[batch, features]", "sample");
    expectDim(this.label, sample, 1, this.config.in_features, "features");
    const B = sample.shape[0]!;
    const t = broadcastTimesteps(this.label, timesteps, B);
    let emb = this.timeEmbedding.forward(params, this.timeProj.forward(params, t));
    if (this.classEmbedding) {
      if (!classLabels) fail(this.label, "class_labels should be provided when doing class conditioning");
      emb = T.add(emb, this.classEmbedding.forward(params, classLabels));
    } else if (classLabels) {
      fail(this.label, "class_labels given, but the model has no class embedding (num_class_embeds is null)");
    }
    const actEmb = this.act(emb);
    let h = this.inputProj.forward(params, sample);
    for (const block of this.blocks) h = block.forward(params, h, actEmb);
    return this.outputProj.forward(params, this.act(h));
  }
}
