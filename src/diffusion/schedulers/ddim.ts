/**
 * DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models") as diffusers 0.30.3's
 * `DDIMScheduler`, and deterministic DDIM inversion (`DDIMInverseScheduler`).
 *
 * Step (DDIM eq. 12, with sigma_t(eta) of eq. 16):
 *   x_{t-1} = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma_t^2) eps_hat + sigma_t z,
 *   sigma_t = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
 * The previous timestep is always t - T // n (diffusers' convention, whatever the spacing).
 */
import type * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb } from "../combine.js";
import {
  type BetaConfig,
  betaFields,
  bool,
  type ConfigSpec,
  clipFields,
  parseConfig,
  predictionField,
  rescaleField,
  spacingFields,
  thresholdFields,
} from "../config.js";
import { epsFromX0, type PredictionType, predictEps, predictX0, processX0 } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import type { TimestepSpacing } from "../timesteps.js";
import { VpScheduler } from "./vp-base.js";

export interface DDIMConfig extends BetaConfig {
  clip_sample: boolean;
  clip_sample_range: number;
  set_alpha_to_one: boolean;
  steps_offset: number;
  prediction_type: PredictionType;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  timestep_spacing: TimestepSpacing;
  rescale_betas_zero_snr: boolean;
}

const DDIM_SPEC: ConfigSpec<DDIMConfig> = {
  ...betaFields(),
  ...clipFields(true),
  set_alpha_to_one: { default: true, check: bool },
  ...predictionField,
  ...thresholdFields,
  ...spacingFields("leading"),
  ...rescaleField,
};

/** sigma_t(eta) of DDIM eq. 16 between abar_t and abar_prev. */
export function ddimSigma(abarT: number, abarPrev: number, eta: number): number {
  const variance = ((1 - abarPrev) / (1 - abarT)) * (1 - abarT / abarPrev);
  return eta * Math.sqrt(variance);
}

/**
 * DDIM eq. 12: sqrt(abar_prev) x0 + sqrt(1 - abar_prev - std^2) eps (+ std z when std > 0).
 * Shared by the scheduler, its inversion and the functional sampler.
 */
export function ddimUpdate(x0: T.Tensor, eps: T.Tensor, abarPrev: number, std = 0, z?: T.Tensor): T.Tensor {
  const mean = lincomb([Math.sqrt(abarPrev), x0], [Math.sqrt(1 - abarPrev - std * std), eps]);
  if (std > 0) {
    if (!z) invalid("noise", undefined, "a draw for DDIM with eta > 0");
    return lincomb([1, mean], [std, z]);
  }
  return mean;
}

export class DDIMScheduler extends VpScheduler<DDIMConfig> {
  readonly className: string = "DDIMScheduler";
  /** abar used past the last step: 1 with `set_alpha_to_one`, else abar_0. */
  readonly finalAlphaCumprod: number;

  constructor(config: Partial<DDIMConfig> = {}) {
    super(parseConfig(DDIM_SPEC, config as Record<string, unknown>));
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    this.timesteps = this.spacedTimesteps(numInferenceSteps);
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    const n = this.requireTimesteps();
    const eta = options.eta ?? 0;
    if (!(eta >= 0)) invalid("eta", eta, "a number >= 0");
    const prevT = timestep - Math.floor(this.config.num_train_timesteps / n);
    const abarT = this.abar(timestep, this.finalAlphaCumprod);
    const abarPrev = this.abar(prevT, this.finalAlphaCumprod);
    const c = this.alphaSigma(abarT);
    const type = this.config.prediction_type;
    const x0 = processX0(predictX0(type, modelOutput, sample, c), this.config);
    const eps = options.useClippedModelOutput
      ? epsFromX0(sample, x0, c)
      : predictEps(type, modelOutput, sample, c);
    const std = ddimSigma(abarT, abarPrev, eta);
    const z = eta > 0 ? this.drawNoise(modelOutput, options) : undefined;
    return { prevSample: ddimUpdate(x0, eps, abarPrev, std, z), predOriginalSample: x0 };
  }
}

export interface DDIMInverseConfig extends BetaConfig {
  clip_sample: boolean;
  clip_sample_range: number;
  set_alpha_to_one: boolean;
  steps_offset: number;
  prediction_type: PredictionType;
  timestep_spacing: "leading" | "trailing";
  rescale_betas_zero_snr: boolean;
}

const INVERSE_SPEC: ConfigSpec<DDIMInverseConfig> = {
  ...betaFields(),
  ...clipFields(true),
  set_alpha_to_one: { default: true, check: bool },
  ...predictionField,
  ...(spacingFields("leading") as unknown as Pick<
    ConfigSpec<DDIMInverseConfig>,
    "timestep_spacing" | "steps_offset"
  >),
  ...rescaleField,
};

/**
 * Deterministic DDIM inversion (DDIM Sec. 4.3 / eq. 13 run forward; diffusers `DDIMInverseScheduler`):
 * timesteps ascend; at model timestep t the sample moves from abar_{t - T//n} (abar = 1, or abar_0
 * without `set_alpha_to_one`, before the first) to abar_t using the model's eps at t.
 */
export class DDIMInverseScheduler extends VpScheduler<DDIMInverseConfig> {
  readonly className: string = "DDIMInverseScheduler";
  readonly initialAlphaCumprod: number;

  constructor(config: Partial<DDIMInverseConfig> = {}) {
    const parsed = parseConfig(INVERSE_SPEC, config as Record<string, unknown>);
    if ((parsed.timestep_spacing as string) === "linspace") {
      invalid("timestep_spacing", "linspace", `one of leading, trailing for DDIMInverseScheduler`);
    }
    super(parsed);
    this.initialAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    this.timesteps = this.spacedTimesteps(numInferenceSteps).reverse();
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    const n = this.requireTimesteps();
    const T = this.config.num_train_timesteps;
    const from = Math.min(timestep - Math.floor(T / n), T - 1);
    const abarFrom = this.abar(from, this.initialAlphaCumprod);
    const abarTo = this.alphasCumprod[timestep];
    const c = this.alphaSigma(abarFrom);
    const type = this.config.prediction_type;
    const x0 = processX0(predictX0(type, modelOutput, sample, c), this.config);
    const eps = predictEps(type, modelOutput, sample, c);
    return { prevSample: ddimUpdate(x0, eps, abarTo), predOriginalSample: x0 };
  }
}
