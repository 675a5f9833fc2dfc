/**
 * Heun's second-order method on the probability-flow ODE in sigma (Karras et al. 2022, EDM
 * Algorithm 1) as diffusers 0.30.3's `HeunDiscreteScheduler`: each interval costs two model calls,
 * so the timesteps repeat (t_0, t_1, t_1, t_2, t_2, ..., t_{n-1}); the last interval, to sigma = 0,
 * is a single Euler step.
 *   d_i = (x - D(x; sigma_i)) / sigma_i,  x~ = x + (sigma_{i+1} - sigma_i) d_i,
 *   x' = x + (sigma_{i+1} - sigma_i) (d_i + d~) / 2,  d~ = (x~ - D(x~; sigma_{i+1})) / sigma_{i+1}.
 * Its sigmas are Euler's on the same schedule (ve-base.ts), each interior one repeated; but like
 * diffusers its default betas are 0.00085..0.012 (Stable Diffusion's), not the 0.0001..0.02 of the
 * other schedulers, so a config that omits beta_start/beta_end gives it another schedule than theirs.
 */
import type * as T from "../../tensor/index.js";
import { lincomb } from "../combine.js";
import {
  betaFields,
  bool,
  type ConfigSpec,
  clipFields,
  parseConfig,
  predictionField,
  spacingFields,
} from "../config.js";
import { clipSample, predictX0FromVe } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import { eulerUpdate, toDerivative } from "../ve-steps.js";
import { type VeConfig, VeScheduler } from "./ve-base.js";

export interface HeunConfig extends VeConfig {
  use_karras_sigmas: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
}

const HEUN_SPEC: ConfigSpec<HeunConfig> = {
  ...betaFields(0.00085, 0.012),
  ...predictionField,
  use_karras_sigmas: { default: false, check: bool },
  ...clipFields(false),
  ...spacingFields("linspace"),
};

export class HeunDiscreteScheduler extends VeScheduler<HeunConfig> {
  readonly className: string = "HeunDiscreteScheduler";
  override readonly order = 2;
  /** First-stage state: d_i, the step size and x at sigma_i (null while in a first stage). */
  private prev: { derivative: T.Tensor; dt: number; sample: T.Tensor } | null = null;

  constructor(config: Partial<HeunConfig> = {}) {
    super(parseConfig(HEUN_SPEC, config as Record<string, unknown>));
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = this.checkSteps(numInferenceSteps, this.config.num_train_timesteps);
    this.numInferenceSteps = n;
    const { sigmas, timesteps } = this.sigmaGrid(
      this.spacedTimesteps(n),
      n,
      this.config.use_karras_sigmas ? {} : null,
    );
    const s = Float64Array.from([...sigmas, 0], Math.fround);
    // [s_0, s_1, s_1, ..., s_{n-1}, s_{n-1}, 0] and [t_0, t_1, t_1, ..., t_{n-1}, t_{n-1}].
    this.sigmas = Float64Array.from([s[0], ...Array.from(s.subarray(1, -1)).flatMap((v) => [v, v]), 0]);
    this.timesteps = Float64Array.from([
      timesteps[0],
      ...Array.from(timesteps.subarray(1)).flatMap((t) => [t, t]),
    ]);
    this.prev = null;
    this.resetSteps();
  }

  /** True when the next step is the first (Euler) stage of an interval. */
  get stateInFirstOrder(): boolean {
    return this.prev === null;
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const first = this.prev === null;
    const sigma = first ? this.sigmas[i] : this.sigmas[i - 1];
    const sigmaNext = first ? this.sigmas[i + 1] : this.sigmas[i];
    // x0 is evaluated at the sigma the model saw: sigma_i in the first stage, sigma_{i+1} in the second.
    const sigmaInput = first ? sigma : sigmaNext;
    let x0 = predictX0FromVe(this.config.prediction_type, modelOutput, sample, sigmaInput);
    if (this.config.clip_sample) x0 = clipSample(x0, this.config.clip_sample_range);
    let prevSample: T.Tensor;
    if (first) {
      const derivative = toDerivative(sample, x0, sigma);
      this.prev = { derivative, dt: sigmaNext - sigma, sample };
      prevSample = eulerUpdate(sample, derivative, sigma, sigmaNext);
    } else {
      const p = this.prev as NonNullable<typeof this.prev>;
      const derivative = lincomb([0.5, lincomb([1, p.derivative], [1, toDerivative(sample, x0, sigmaNext)])]);
      this.prev = null;
      prevSample = lincomb([1, p.sample], [p.dt, derivative]);
    }
    this.stepIndexValue = i + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}
