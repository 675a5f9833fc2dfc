/**
 * DDPM ancestral sampling (Ho et al. 2020, Algorithm 2, strided as in Nichol & Dhariwal 2021) as
 * diffusers 0.30.3's `DDPMScheduler`:
 *   x_prev = mu_tilde(x_t, x0_hat) + sigma z,   mu_tilde, beta_tilde from forward.ts `posterior`,
 * with the variance chosen by `variance_type`: "fixed_small" beta_tilde (eq. 7), "fixed_small_log"
 * (the same through exp(0.5 log)), "fixed_large" beta, "fixed_large_log", "learned" (the model's extra
 * output channels are the log variance) and "learned_range" (Improved DDPM eq. 15). No noise is drawn
 * at t = 0.
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import {
  type BetaConfig,
  betaFields,
  type ConfigSpec,
  clipFields,
  oneOf,
  parseConfig,
  predictionField,
  rescaleField,
  spacingFields,
  thresholdFields,
} from "../config.js";
import { learnedRangeLogVariance, posterior, posteriorMean } from "../forward.js";
import { type PredictionType, predictX0, processX0 } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import type { TimestepSpacing } from "../timesteps.js";
import { VpScheduler } from "./vp-base.js";

export const VARIANCE_TYPES = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "fixed_large_log",
  "learned",
  "learned_range",
] as const;
export type VarianceType = (typeof VARIANCE_TYPES)[number];

export interface DDPMConfig extends BetaConfig {
  variance_type: VarianceType;
  clip_sample: boolean;
  clip_sample_range: number;
  prediction_type: PredictionType;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

const DDPM_SPEC: ConfigSpec<DDPMConfig> = {
  ...betaFields(),
  // null (what DPM-Solver's config holds) behaves as fixed_small in diffusers' `_get_variance`.
  variance_type: {
    default: "fixed_small",
    check: (field, v) => (v === null ? "fixed_small" : oneOf(VARIANCE_TYPES)(field, v)),
  },
  ...clipFields(true),
  ...predictionField,
  ...thresholdFields,
  ...spacingFields("leading"),
  ...rescaleField,
};

export class DDPMScheduler extends VpScheduler<DDPMConfig> {
  readonly className: string = "DDPMScheduler";

  constructor(config: Partial<DDPMConfig> = {}) {
    const parsed = parseConfig(DDPM_SPEC, config as Record<string, unknown>);
    if (parsed.variance_type === "fixed_large_log") {
      // diffusers' step takes the square root of log(beta) < 0 here: every noisy step would be NaN.
      invalid(
        "variance_type",
        parsed.variance_type,
        "usable for sampling (its noise scale sqrt(log beta) is NaN)",
      );
    }
    super(parsed);
  }

  setTimesteps(numInferenceSteps: number): void {
    this.timesteps = this.spacedTimesteps(numInferenceSteps);
    this.resetSteps();
  }

  /** The timestep after `t` in the schedule, -1 after the last (diffusers `previous_timestep`). */
  previousTimestep(t: number): number {
    const i = this.timesteps.indexOf(t);
    if (i < 0)
      invalid("timestep", t, `one of this scheduler's timesteps [${Array.from(this.timesteps).join(", ")}]`);
    return i === this.timesteps.length - 1 ? -1 : this.timesteps[i + 1];
  }

  /** Split [eps | variance] channel halves for the learned variance types. */
  private splitOutput(modelOutput: T.Tensor, sample: T.Tensor): [T.Tensor, T.Tensor | null] {
    const learned = this.config.variance_type === "learned" || this.config.variance_type === "learned_range";
    if (!learned || modelOutput.shape[1] !== sample.shape[1] * 2) {
      if (learned) {
        invalid(
          "modelOutput.shape[1]",
          modelOutput.shape[1],
          `2 * ${sample.shape[1]} (mean and variance channels) for variance_type ${this.config.variance_type}`,
        );
      }
      return [modelOutput, null];
    }
    const [mean, variance] = T.split(modelOutput, [sample.shape[1], sample.shape[1]], 1);
    return [mean, variance];
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    this.requireTimesteps();
    const [output, predictedVariance] = this.splitOutput(modelOutput, sample);
    const prevT = this.previousTimestep(timestep);
    const abarT = this.alphasCumprod[timestep];
    const abarPrev = this.abar(prevT, 1);
    const x0 = processX0(
      predictX0(this.config.prediction_type, output, sample, this.alphaSigma(abarT)),
      this.config,
    );
    const p = posterior(abarT, abarPrev);
    const mean = posteriorMean(x0, sample, p);
    if (timestep <= 0) return { prevSample: mean, predOriginalSample: x0 };
    const z = this.drawNoise(output, options);
    return { prevSample: T.add(mean, this.noiseTerm(z, p, predictedVariance)), predOriginalSample: x0 };
  }

  /** sigma z for the configured variance type. */
  private noiseTerm(z: T.Tensor, p: ReturnType<typeof posterior>, predicted: T.Tensor | null): T.Tensor {
    switch (this.config.variance_type) {
      case "fixed_small":
      case "fixed_small_log":
        return T.mul(z, Math.sqrt(p.varianceSmall));
      case "fixed_large":
      case "fixed_large_log":
        return T.mul(z, Math.sqrt(p.varianceLarge));
      case "learned":
        return T.mul(T.sqrt(predicted as T.Tensor), z);
      case "learned_range":
        return T.mul(T.exp(T.mul(learnedRangeLogVariance(predicted as T.Tensor, p), 0.5)), z);
    }
  }
}
