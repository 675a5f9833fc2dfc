/**
 * Linear multistep (Adams-Bashforth in sigma on the PF-ODE derivative, Karras et al. 2022 / Crowson's
 * k-diffusion `sample_lms`) as diffusers 0.30.3's `LMSDiscreteScheduler`: with d_j the last `order`
 * derivatives, x' = x + sum_j c_j d_j, c_j the integral over [sigma_i, sigma_{i+1}] of the Lagrange
 * basis polynomial of node j (ve-steps.ts `lmsCoefficient`).
 */
import type * as T from "../../tensor/index.js";
import { lincomb } from "../combine.js";
import { betaFields, bool, type ConfigSpec, parseConfig, predictionField, spacingFields } from "../config.js";
import { predictX0FromVe } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import { lmsCoefficient, toDerivative } from "../ve-steps.js";
import { type VeConfig, VeScheduler } from "./ve-base.js";

export interface LMSConfig extends VeConfig {
  use_karras_sigmas: boolean;
}

const LMS_SPEC: ConfigSpec<LMSConfig> = {
  ...betaFields(),
  use_karras_sigmas: { default: false, check: bool },
  ...predictionField,
  ...spacingFields("linspace"),
};

/** diffusers' default `order` argument of `LMSDiscreteScheduler.step`. */
export const LMS_DEFAULT_ORDER = 4;

export class LMSDiscreteScheduler extends VeScheduler<LMSConfig> {
  readonly className: string = "LMSDiscreteScheduler";
  private derivatives: T.Tensor[] = [];

  constructor(config: Partial<LMSConfig> = {}) {
    super(parseConfig(LMS_SPEC, config as Record<string, unknown>));
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = this.checkSteps(numInferenceSteps, this.config.num_train_timesteps);
    this.numInferenceSteps = n;
    const { sigmas, timesteps } = this.sigmaGrid(
      this.spacedTimesteps(n),
      n,
      this.config.use_karras_sigmas ? {} : null,
    );
    this.sigmas = Float64Array.from([...sigmas, 0], Math.fround);
    this.timesteps = timesteps;
    this.derivatives = [];
    this.resetSteps();
  }

  step(
    modelOutput: T.Tensor,
    timestep: number,
    sample: T.Tensor,
    options: StepOptions & { order?: number } = {},
  ): StepOutput {
    const i = this.currentIndex(timestep);
    const sigma = this.sigmas[i];
    const x0 = predictX0FromVe(this.config.prediction_type, modelOutput, sample, sigma);
    const maxOrder = options.order ?? LMS_DEFAULT_ORDER;
    this.derivatives.push(toDerivative(sample, x0, sigma));
    if (this.derivatives.length > maxOrder) this.derivatives.shift();
    const order = Math.min(i + 1, maxOrder);
    const terms = Array.from({ length: order }, (_, j) => {
      const d = this.derivatives[this.derivatives.length - 1 - j];
      return [lmsCoefficient(this.sigmas, i, order, j), d] as const;
    });
    this.stepIndexValue = i + 1;
    return { prevSample: lincomb([1, sample], ...terms), predOriginalSample: x0 };
  }
}
