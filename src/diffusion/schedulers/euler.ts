/**
 * Euler samplers of the probability-flow ODE / reverse SDE in sigma (Karras et al. 2022, EDM
 * Algorithm 2; k-diffusion `sample_euler`, `sample_euler_ancestral`) as diffusers 0.30.3's
 * `EulerDiscreteScheduler` and `EulerAncestralDiscreteScheduler`.
 *
 * Euler:  sigma_hat = sigma (1 + gamma), gamma = min(S_churn / n, sqrt 2 - 1) on [S_tmin, S_tmax];
 *         x <- x + sqrt(sigma_hat^2 - sigma^2) S_noise z;  x' = x + (x - D(x)) / sigma_hat (sigma' - sigma_hat).
 * Ancestral: move to sigma_down along the ODE, then add sigma_up z.
 * Both draw one z per step (diffusers draws it even when gamma = 0).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb } from "../combine.js";
import {
  betaFields,
  bool,
  type ConfigSpec,
  nullable,
  num,
  oneOf,
  parseConfig,
  predictionField,
  rescaleField,
  spacingFields,
} from "../config.js";
import { linspace } from "../linspace.js";
import { predictX0FromVe } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import { ancestralSigmas, eulerUpdate, toDerivative } from "../ve-steps.js";
import { type VeConfig, VeScheduler } from "./ve-base.js";

export interface EulerConfig extends VeConfig {
  interpolation_type: "linear" | "log_linear";
  use_karras_sigmas: boolean;
  sigma_min: number | null;
  sigma_max: number | null;
  timestep_type: "discrete" | "continuous";
  rescale_betas_zero_snr: boolean;
  final_sigmas_type: "zero" | "sigma_min";
}

const EULER_SPEC: ConfigSpec<EulerConfig> = {
  ...betaFields(),
  ...predictionField,
  interpolation_type: { default: "linear", check: oneOf(["linear", "log_linear"] as const) },
  use_karras_sigmas: { default: false, check: bool },
  sigma_min: { default: null, check: nullable(num(0)) },
  sigma_max: { default: null, check: nullable(num(0)) },
  ...spacingFields("linspace"),
  timestep_type: { default: "discrete", check: oneOf(["discrete", "continuous"] as const) },
  ...rescaleField,
  final_sigmas_type: { default: "zero", check: oneOf(["zero", "sigma_min"] as const) },
};

export class EulerDiscreteScheduler extends VeScheduler<EulerConfig> {
  readonly className: string = "EulerDiscreteScheduler";

  constructor(config: Partial<EulerConfig> = {}) {
    super(parseConfig(EULER_SPEC, config as Record<string, unknown>));
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = this.checkSteps(numInferenceSteps, this.config.num_train_timesteps);
    this.numInferenceSteps = n;
    const spaced = this.spacedTimesteps(n);
    let { sigmas, timesteps } = this.sigmaGrid(
      spaced,
      n,
      this.config.use_karras_sigmas
        ? { sigmaMin: this.config.sigma_min, sigmaMax: this.config.sigma_max }
        : null,
    );
    if (this.config.interpolation_type === "log_linear" && !this.config.use_karras_sigmas) {
      const ts = this.trainSigmas;
      sigmas = linspace(Math.log(ts[ts.length - 1]), Math.log(ts[0]), n + 1).map(Math.exp);
    }
    const last = this.config.final_sigmas_type === "sigma_min" ? this.trainSigmas[0] : 0;
    this.sigmas = Float64Array.from([...sigmas, last], Math.fround);
    if (this.config.timestep_type === "continuous" && this.config.prediction_type === "v_prediction") {
      timesteps = this.sigmas.subarray(0, -1).map((s) => 0.25 * Math.log(s));
    }
    this.timesteps = timesteps.map(Math.fround);
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const sigma = this.sigmas[i];
    const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = options;
    const gamma =
      sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (this.sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const z = this.drawNoise(modelOutput, options);
    const sigmaHat = sigma * (gamma + 1);
    let x = sample;
    if (gamma > 0) x = lincomb([1, x], [sNoise * Math.sqrt(sigmaHat ** 2 - sigma ** 2), z]);
    // diffusers uses sigma_hat for epsilon but sigma for v-prediction.
    const sigmaForX0 = this.config.prediction_type === "v_prediction" ? sigma : sigmaHat;
    const x0 = predictX0FromVe(this.config.prediction_type, modelOutput, x, sigmaForX0);
    const d = toDerivative(x, x0, sigmaHat);
    this.stepIndexValue = i + 1;
    return { prevSample: eulerUpdate(x, d, sigmaHat, this.sigmas[i + 1]), predOriginalSample: x0 };
  }
}

export interface EulerAncestralConfig extends VeConfig {
  rescale_betas_zero_snr: boolean;
}

const ANCESTRAL_SPEC: ConfigSpec<EulerAncestralConfig> = {
  ...betaFields(),
  ...predictionField,
  ...spacingFields("linspace"),
  ...rescaleField,
};

export class EulerAncestralDiscreteScheduler extends VeScheduler<EulerAncestralConfig> {
  readonly className: string = "EulerAncestralDiscreteScheduler";

  constructor(config: Partial<EulerAncestralConfig> = {}) {
    const parsed = parseConfig(ANCESTRAL_SPEC, config as Record<string, unknown>);
    if (parsed.prediction_type === "sample") {
      invalid(
        "prediction_type",
        "sample",
        "one of epsilon, v_prediction for EulerAncestralDiscreteScheduler",
      );
    }
    super(parsed);
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = this.checkSteps(numInferenceSteps, this.config.num_train_timesteps);
    this.numInferenceSteps = n;
    const spaced = this.spacedTimesteps(n);
    const { sigmas } = this.sigmaGrid(spaced, n, null);
    this.sigmas = Float64Array.from([...sigmas, 0], Math.fround);
    this.timesteps = spaced;
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const sigma = this.sigmas[i];
    const x0 = predictX0FromVe(this.config.prediction_type, modelOutput, sample, sigma);
    const { sigmaUp, sigmaDown } = ancestralSigmas(sigma, this.sigmas[i + 1]);
    const d = toDerivative(sample, x0, sigma);
    const moved = eulerUpdate(sample, d, sigma, sigmaDown);
    const z = this.drawNoise(modelOutput, options);
    this.stepIndexValue = i + 1;
    return { prevSample: T.add(moved, T.mul(z, sigmaUp)), predOriginalSample: x0 };
  }
}
