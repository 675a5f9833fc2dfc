/**
 * Timestep embeddings (diffusers/models/embeddings.py): the sinusoidal `get_timestep_embedding`
 * (Vaswani et al. 2017, section 3.5; DDPM's time embedding), the `Timesteps` projection that computes it
 * from raw timesteps inside the traced graph, and the `TimestepEmbedding` MLP (linear_1, act, linear_2).
 */
import * as T from "../tensor/index.js";
import { type ActivationName, getActivation } from "./activation.js";
import { expectDim, expectPositiveInt, expectRank, fail, fmtShape } from "./check.js";
import { Linear } from "./linear.js";
import { Module, type Params } from "./module.js";

export interface SinusoidalOptions {
  /** put cos before sin (diffusers `flip_sin_to_cos`) */
  flipSinToCos: boolean;
  /** s in the frequency denominator half - s (diffusers `downscale_freq_shift`) */
  downscaleFreqShift: number;
  /** multiplies the arguments (default 1) */
  scale?: number;
  /** default 10000 */
  maxPeriod?: number;
}

/**
 * The frequencies w_i = exp(-ln(maxPeriod) * i / (half - shift)), i < half, rounded step by step to
 * float32 as PyTorch computes them (so the embedding matches the reference to the last bits).
 */
export function sinusoidalFrequencies(half: number, shift: number, maxPeriod = 10000): Float32Array {
  const f = Math.fround;
  const c = f(-Math.log(maxPeriod));
  const denom = f(half - shift);
  return Float32Array.from({ length: half }, (_, i) => f(Math.exp(f(f(c * i) / denom))));
}

/**
 * get_timestep_embedding: timesteps t [B] (float32 or int32, fractional allowed) ->
 * [B, dim] = [sin(t w), cos(t w)] (or [cos, sin] with flipSinToCos), zero-padded when dim is odd.
 */
export function timestepEmbedding(timesteps: T.Tensor, dim: number, o: SinusoidalOptions): T.Tensor {
  const half = Math.floor(dim / 2);
  const freqs = T.tensor(sinusoidalFrequencies(half, o.downscaleFreqShift, o.maxPeriod), [1, half]);
  let args = T.mul(T.unsqueeze(T.cast(timesteps, "float32"), 1), freqs);
  if (o.scale !== undefined && o.scale !== 1) args = T.mul(args, o.scale);
  const [sin, cos] = [T.sin(args), T.cos(args)];
  const emb = T.concat(o.flipSinToCos ? [cos, sin] : [sin, cos], 1);
  return dim % 2 === 1 ? T.pad(emb, [[0, 1]]) : emb;
}

/**
 * Broadcasts timesteps to the batch as diffusers' UNet forward does: a scalar or a [1] tensor is
 * repeated, a [B] tensor is kept. `layer` names the caller in errors.
 */
export function broadcastTimesteps(layer: string, timesteps: T.Tensor, batch: number): T.Tensor {
  const t = timesteps.rank === 0 ? T.reshape(timesteps, [1]) : timesteps;
  if (t.rank !== 1 || (t.shape[0] !== 1 && t.shape[0] !== batch)) {
    fail(
      layer,
      `timesteps must be a scalar, [1] or [${batch}] (the batch), got ${fmtShape(timesteps.shape)}`,
    );
  }
  if (timesteps.dtype === "bool") fail(layer, "timesteps must be float32 or int32, got bool");
  return T.broadcastTo(T.cast(t, "float32"), [batch]);
}

/** diffusers `Timesteps`: the sinusoidal projection as a (parameter-free) layer. */
export class Timesteps extends Module {
  readonly numChannels: number;
  readonly options: SinusoidalOptions;

  constructor(path: string, o: SinusoidalOptions & { numChannels: number }) {
    super(path);
    expectPositiveInt(this.label, "numChannels", o.numChannels);
    this.numChannels = o.numChannels;
    this.options = { flipSinToCos: o.flipSinToCos, downscaleFreqShift: o.downscaleFreqShift, scale: o.scale };
  }

  /** `timesteps` [B] -> [B, numChannels]. */
  forward(_params: Params, timesteps: T.Tensor): T.Tensor {
    expectRank(this.label, timesteps, 1, "[batch]", "timesteps");
    return timestepEmbedding(timesteps, this.numChannels, this.options);
  }
}

export interface TimestepEmbeddingOptions {
  inChannels: number;
  timeEmbedDim: number;
  /** default "silu" */
  act?: ActivationName;
}

/** diffusers `TimestepEmbedding`: linear_1 -> act -> linear_2. */
export class TimestepEmbedding extends Module {
  readonly inChannels: number;
  readonly linear1: Linear;
  readonly linear2: Linear;
  private readonly act: (x: T.Tensor) => T.Tensor;

  constructor(path: string, o: TimestepEmbeddingOptions) {
    super(path);
    this.inChannels = o.inChannels;
    this.act = getActivation(o.act ?? "silu", `${this.label}: act`);
    this.linear1 = this.addChild(
      new Linear(this.sub("linear_1"), { inFeatures: o.inChannels, outFeatures: o.timeEmbedDim }),
    );
    this.linear2 = this.addChild(
      new Linear(this.sub("linear_2"), { inFeatures: o.timeEmbedDim, outFeatures: o.timeEmbedDim }),
    );
  }

  /** `x` [B, inChannels] -> [B, timeEmbedDim]. */
  forward(params: Params, x: T.Tensor): T.Tensor {
    expectRank(this.label, x, 2, "[batch, channels]");
    expectDim(this.label, x, 1, this.inChannels, "channels");
    return this.linear2.forward(params, this.act(this.linear1.forward(params, x)));
  }
}
