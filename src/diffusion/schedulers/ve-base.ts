/**
 * Base of diffusers' sigma-parametrised discrete schedulers (Euler, Euler ancestral, Heun, LMS): the
 * VP schedule seen as x = x0 + sigma eps with sigma_t = sqrt((1 - abar_t) / abar_t), the model input
 * x / sqrt(sigma^2 + 1), the grid of inference sigmas (interpolated at fractional timesteps or Karras)
 * and the matching timesteps, as diffusers 0.30.3's `set_timesteps` builds them.
 */
import * as T from "../../tensor/index.js";
import { perBatch } from "../combine.js";
import type { BetaConfig } from "../config.js";
import type { PredictionType } from "../parametrization.js";
import { BaseScheduler } from "../scheduler.js";
import { alphasCumprod, betasFor } from "../schedules.js";
import { karrasFromSigmas, logSigmas, sigmasAtTimesteps, sigmaToT, trainSigmas } from "../sigma-grid.js";
import { inferenceTimesteps, type TimestepSpacing } from "../timesteps.js";

export interface VeConfig extends BetaConfig {
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  use_karras_sigmas?: boolean;
}

export abstract class VeScheduler<C extends VeConfig> extends BaseScheduler<C> {
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  /** sigma_t per training timestep (float32 values). */
  readonly trainSigmas: Float64Array;
  /** log sigma_t per training timestep. */
  readonly logSigmas: Float64Array;
  /** The inference sigmas, one per timestep plus the final one. */
  sigmas: Float64Array;

  constructor(config: C) {
    super(config);
    this.betas = betasFor(config);
    this.alphasCumprod = alphasCumprod(this.betas);
    // diffusers (Euler): with zero terminal SNR, abar_{T-1} = 2^-24 keeps sigma finite.
    if (config.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainSigmas = trainSigmas(this.alphasCumprod);
    this.logSigmas = logSigmas(this.trainSigmas);
    const T = config.num_train_timesteps;
    this.timesteps = Float64Array.from({ length: T }, (_, i) => T - 1 - i);
    this.sigmas = Float64Array.from([...Array.from(this.trainSigmas).reverse(), 0]);
  }

  /** max sigma for "linspace" / "trailing" spacing, else sqrt(max^2 + 1) (diffusers `init_noise_sigma`). */
  get initNoiseSigma(): number {
    const max = Math.max(...this.sigmas);
    const s = this.config.timestep_spacing;
    return s === "linspace" || s === "trailing" ? max : Math.sqrt(max * max + 1);
  }

  /** The sigma of the current step. */
  protected currentSigma(timestep: number): number {
    return this.sigmas[this.currentIndex(timestep)];
  }

  /** x / sqrt(sigma^2 + 1): the VP x_t the network was trained on. */
  override scaleModelInput(sample: T.Tensor, timestep: number): T.Tensor {
    const sigma = this.currentSigma(timestep);
    return T.div(sample, Math.sqrt(sigma * sigma + 1));
  }

  /** The timesteps of `n` steps in the configured spacing, float32 as diffusers stores them. */
  protected spacedTimesteps(n: number): Float64Array {
    return inferenceTimesteps({
      numTrainTimesteps: this.config.num_train_timesteps,
      numInferenceSteps: n,
      spacing: this.config.timestep_spacing,
      stepsOffset: this.config.steps_offset,
      float: true,
    }).map(Math.fround);
  }

  /**
   * Sigmas at `timesteps` (interpolated), or a Karras grid between their ends with timesteps mapped
   * back through `sigmaToT`. Returns both, without the final sigma.
   */
  protected sigmaGrid(
    timesteps: Float64Array,
    n: number,
    karras: { sigmaMin?: number | null; sigmaMax?: number | null } | null,
  ) {
    let sigmas = sigmasAtTimesteps(timesteps, this.trainSigmas);
    let ts = timesteps;
    if (karras) {
      sigmas = karrasFromSigmas(sigmas, n, karras);
      ts = sigmas.map((s) => sigmaToT(s, this.logSigmas));
    }
    return { sigmas, timesteps: ts };
  }

  /** x = x0 + sigma noise, sigma looked up from each batch element's timestep in the schedule. */
  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor {
    const sigmas = Array.from(timesteps, (t) => this.sigmas[this.indexForTimestep(t)]);
    return T.add(original, T.mul(noise, perBatch(sigmas, original)));
  }
}
