/**
 * Multistep consistency sampling (Song et al. 2023, "Consistency Models", Algorithm 1) as diffusers
 * 0.30.3's `CMStochasticIterativeScheduler`: Karras sigmas (EDM eq. 5) on a ramp of the chosen
 * training indices, model input x / sqrt(sigma^2 + sigma_data^2), the boundary-condition
 * parametrisation (CM eq. 7 / App. C)
 *   D = c_skip x + c_out F,  c_skip = sigma_data^2 / ((sigma - sigma_min)^2 + sigma_data^2),
 *   c_out = (sigma - sigma_min) sigma_data / sqrt(sigma^2 + sigma_data^2),
 * optional clipping to [-1, 1], then re-noising to the next sigma: x' = D + sqrt(sigma'^2 - sigma_min^2) z.
 * The model timestep is 250 log(sigma) (diffusers `sigma_to_t`).
 */
import * as T from "../../tensor/index.js";
import { invalid, MAX_TRAIN_TIMESTEPS } from "../check.js";
import { lincomb, perBatch } from "../combine.js";
import { bool, type ConfigSpec, int, num, parseConfig } from "../config.js";
import { linspace } from "../linspace.js";
import { BaseScheduler, type StepOptions, type StepOutput } from "../scheduler.js";
import { karrasSigmas } from "../sigmas.js";

export interface CMStochasticIterativeConfig {
  num_train_timesteps: number;
  sigma_min: number;
  sigma_max: number;
  sigma_data: number;
  s_noise: number;
  rho: number;
  clip_denoised: boolean;
}

const SPEC: ConfigSpec<CMStochasticIterativeConfig> = {
  num_train_timesteps: { default: 40, check: int(2, MAX_TRAIN_TIMESTEPS) },
  sigma_min: { default: 0.002, check: num(Number.MIN_VALUE) },
  sigma_max: { default: 80.0, check: num(Number.MIN_VALUE) },
  sigma_data: { default: 0.5, check: num(Number.MIN_VALUE) },
  s_noise: { default: 1.0, check: num(0) },
  rho: { default: 7.0, check: num(Number.MIN_VALUE) },
  clip_denoised: { default: true, check: bool },
};

/** The model timestep of a sigma: 1000 * 0.25 * log(sigma + 1e-44). */
export function cmSigmaToT(sigma: number): number {
  return 1000 * 0.25 * Math.log(sigma + 1e-44);
}

export class CMStochasticIterativeScheduler extends BaseScheduler<CMStochasticIterativeConfig> {
  readonly className: string = "CMStochasticIterativeScheduler";
  sigmas: Float64Array;

  constructor(config: Partial<CMStochasticIterativeConfig> = {}) {
    const parsed = parseConfig(SPEC, config as Record<string, unknown>);
    if (parsed.sigma_max <= parsed.sigma_min)
      invalid("sigma_max", parsed.sigma_max, `greater than sigma_min (${parsed.sigma_min})`);
    super(parsed);
    this.sigmas = this.karras(linspace(0, 1, parsed.num_train_timesteps));
    this.timesteps = this.sigmas.map(cmSigmaToT);
  }

  get initNoiseSigma(): number {
    return this.config.sigma_max;
  }

  private karras(ramp: Float64Array): Float64Array {
    const { sigma_min, sigma_max, rho } = this.config;
    const full = karrasSigmas(sigma_min, sigma_max, 2, rho); // validates the bounds
    const minInv = full[1] ** (1 / rho);
    const maxInv = full[0] ** (1 / rho);
    return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
  }

  /** n evenly strided training indices (T // n apart), or explicit descending training indices. */
  setTimesteps(numInferenceSteps: number | { timesteps: readonly number[] }): void {
    const T = this.config.num_train_timesteps;
    let indices: number[];
    if (typeof numInferenceSteps === "number") {
      const n = this.checkSteps(numInferenceSteps, T);
      const ratio = Math.floor(T / n);
      indices = Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio);
    } else {
      indices = [...numInferenceSteps.timesteps];
      indices.forEach((t, i) => {
        if (!Number.isInteger(t) || t < 0 || t >= T)
          invalid(`timesteps[${i}]`, t, `an integer in [0, ${T - 1}]`);
        if (i > 0 && t >= indices[i - 1])
          invalid(`timesteps[${i}]`, t, `below timesteps[${i - 1}] (${indices[i - 1]}): descending`);
      });
      if (indices.length === 0) invalid("timesteps", indices, "a non-empty array");
    }
    const ramp = Float64Array.from(indices.reverse(), (t) => t / (T - 1));
    const sigmas = this.karras(ramp);
    this.timesteps = sigmas.map(cmSigmaToT);
    this.sigmas = Float64Array.from([...sigmas, this.config.sigma_min], Math.fround);
    this.numInferenceSteps = sigmas.length;
    this.resetSteps();
  }

  override scaleModelInput(sample: T.Tensor, timestep: number): T.Tensor {
    const sigma = this.sigmas[this.currentIndex(timestep)];
    return T.div(sample, Math.sqrt(sigma * sigma + this.config.sigma_data ** 2));
  }

  /** (c_skip, c_out) of the boundary condition at sigma (diffusers `get_scalings_for_boundary_condition`). */
  scalings(sigma: number): { cSkip: number; cOut: number } {
    const { sigma_min, sigma_data } = this.config;
    const cSkip = sigma_data ** 2 / ((sigma - sigma_min) ** 2 + sigma_data ** 2);
    const cOut = ((sigma - sigma_min) * sigma_data) / Math.sqrt(sigma ** 2 + sigma_data ** 2);
    return { cSkip, cOut };
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const { sigma_min, sigma_max, s_noise } = this.config;
    const sigma = this.sigmas[i];
    const sigmaNext =
      i + 1 < this.config.num_train_timesteps ? this.sigmas[i + 1] : this.sigmas[this.sigmas.length - 1];
    const { cSkip, cOut } = this.scalings(sigma);
    let denoised = lincomb([cOut, modelOutput], [cSkip, sample]);
    if (this.config.clip_denoised) denoised = T.clip(denoised, -1, 1);
    const z = this.timesteps.length > 1 ? this.drawNoise(modelOutput, options) : T.zerosLike(modelOutput);
    const sigmaHat = Math.min(Math.max(sigmaNext, sigma_min), sigma_max);
    const prevSample = lincomb([1, denoised], [s_noise * Math.sqrt(sigmaHat ** 2 - sigma_min ** 2), z]);
    this.stepIndexValue = i + 1;
    return { prevSample, predOriginalSample: denoised };
  }

  /** x = x0 + sigma noise at each batch element's timestep. */
  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor {
    const s = Array.from(timesteps, (t) => this.sigmas[this.indexForTimestep(t)]);
    return T.add(original, T.mul(noise, perBatch(s, original)));
  }
}

/**
 * The descending training indices whose Karras sigmas have the given model timesteps (the inverse of
 * `setTimesteps({ timesteps })` followed by `cmSigmaToT`), rounded to integers.
 */
export function cmIndicesFromTimesteps(
  config: CMStochasticIterativeConfig,
  timesteps: readonly number[],
): number[] {
  const { sigma_min, sigma_max, rho, num_train_timesteps: T } = config;
  const minInv = sigma_min ** (1 / rho);
  const maxInv = sigma_max ** (1 / rho);
  const ramp = timesteps.map((t) => (Math.exp(t / 250) ** (1 / rho) - maxInv) / (minInv - maxInv));
  return ramp.map((r) => Math.round(r * (T - 1))).reverse();
}
