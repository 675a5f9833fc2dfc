/**
 * Base of the schedulers defined on a discrete variance-preserving schedule (DDPM, DDIM, PNDM): the
 * betas and abar_t of the config (diffusers' float32 tensors, see schedules.ts) and the forward
 * process x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps for `addNoise`.
 */
import type * as T from "../../tensor/index.js";
import type { BetaConfig } from "../config.js";
import { addNoise } from "../forward.js";
import { type AlphaSigma, alphaSigmaFromAbar } from "../parametrization.js";
import { BaseScheduler } from "../scheduler.js";
import { alphasCumprod, betasFor } from "../schedules.js";
import { inferenceTimesteps, type TimestepSpacing } from "../timesteps.js";

/** Config fields of the schedulers whose timesteps are spaced over the training steps. */
export interface SpacingConfig {
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

export abstract class VpScheduler<C extends BetaConfig> extends BaseScheduler<C> {
  /** beta_t, t = 0..T-1. */
  readonly betas: Float64Array;
  /** abar_t = prod_{s<=t} (1 - beta_s). */
  readonly alphasCumprod: Float64Array;

  constructor(config: C) {
    super(config);
    this.betas = betasFor(config);
    this.alphasCumprod = alphasCumprod(this.betas);
  }

  get initNoiseSigma(): number {
    return 1;
  }

  /** abar at an integer timestep; `fallback` (diffusers' final / initial alpha_cumprod) below 0. */
  protected abar(t: number, fallback: number): number {
    return t >= 0 ? this.alphasCumprod[t] : fallback;
  }

  /** (alpha_t, sigma_t) = (sqrt(abar), sqrt(1 - abar)). */
  protected alphaSigma(abar: number): AlphaSigma {
    return alphaSigmaFromAbar(abar);
  }

  /**
   * Validates the step count, records it, and returns the descending spaced integer timesteps of the
   * config's `timestep_spacing` and `steps_offset` (the common part of diffusers' `set_timesteps`).
   */
  protected spacedTimesteps(
    this: VpScheduler<BetaConfig & SpacingConfig>,
    numInferenceSteps: number,
  ): Float64Array {
    const T = this.config.num_train_timesteps;
    this.numInferenceSteps = this.checkSteps(numInferenceSteps, T);
    return inferenceTimesteps({
      numTrainTimesteps: T,
      numInferenceSteps,
      spacing: this.config.timestep_spacing,
      stepsOffset: this.config.steps_offset,
    });
  }

  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor {
    return addNoise(original, noise, timesteps, this.alphasCumprod);
  }
}
