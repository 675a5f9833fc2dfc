/**
 * Euler on the rectified-flow ODE dx/ds = u(x, s) (Liu et al. 2022; Esser et al. 2024, "Scaling
 * Rectified Flow Transformers", SD3) as diffusers 0.30.3's `FlowMatchEulerDiscreteScheduler`:
 * x_s = (1 - s) x0 + s eps, the model predicts u = eps - x0, and x_{s'} = x_s + (s' - s) u.
 * The timestep shift s -> shift s / (1 + (shift - 1) s) (SD3 eq. 23) is applied to the training grid
 * and again to the inference grid, exactly as that release does; timesteps are 1000 s.
 */
import * as T from "../../tensor/index.js";
import { invalid, MAX_TRAIN_TIMESTEPS } from "../check.js";
import { perBatch } from "../combine.js";
import { bool, type ConfigSpec, int, num, parseConfig } from "../config.js";
import { linspace } from "../linspace.js";
import { x0FromFlow } from "../parametrization.js";
import { BaseScheduler, type StepOptions, type StepOutput } from "../scheduler.js";

export interface FlowMatchEulerConfig {
  num_train_timesteps: number;
  shift: number;
  use_dynamic_shifting: boolean;
  base_shift: number;
  max_shift: number;
  base_image_seq_len: number;
  max_image_seq_len: number;
}

const SPEC: ConfigSpec<FlowMatchEulerConfig> = {
  num_train_timesteps: { default: 1000, check: int(1, MAX_TRAIN_TIMESTEPS) },
  shift: { default: 1.0, check: num(Number.MIN_VALUE) },
  use_dynamic_shifting: { default: false, check: bool },
  base_shift: { default: 0.5, check: num() },
  max_shift: { default: 1.15, check: num() },
  base_image_seq_len: { default: 256, check: int(1) },
  max_image_seq_len: { default: 4096, check: int(1) },
};

/** SD3's shift: s -> shift s / (1 + (shift - 1) s). */
export function shiftSigma(s: number, shift: number): number {
  return (shift * s) / (1 + (shift - 1) * s);
}

export class FlowMatchEulerDiscreteScheduler extends BaseScheduler<FlowMatchEulerConfig> {
  readonly className: string = "FlowMatchEulerDiscreteScheduler";
  /** s per timestep plus the final 0. */
  sigmas: Float64Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;

  constructor(config: Partial<FlowMatchEulerConfig> = {}) {
    const parsed = parseConfig(SPEC, config as Record<string, unknown>);
    if (parsed.use_dynamic_shifting) {
      invalid("use_dynamic_shifting", true, "false (resolution-dependent shifting needs mu, not supported)");
    }
    super(parsed);
    const T = parsed.num_train_timesteps;
    const train = linspace(1, T, T)
      .map(Math.fround)
      .reverse()
      .map((t) => Math.fround(shiftSigma(Math.fround(t / T), parsed.shift)));
    this.sigmas = train;
    this.timesteps = train.map((s) => s * T);
    this.sigmaMin = train[train.length - 1];
    this.sigmaMax = train[0];
  }

  get initNoiseSigma(): number {
    return 1;
  }

  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    const n = this.checkSteps(numInferenceSteps, T);
    this.numInferenceSteps = n;
    const sigmas = linspace(this.sigmaMax * T, this.sigmaMin * T, n).map((t) =>
      Math.fround(shiftSigma(t / T, this.config.shift)),
    );
    this.timesteps = sigmas.map((s) => Math.fround(s * T));
    this.sigmas = Float64Array.from([...sigmas, 0]);
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep);
    const s = this.sigmas[i];
    const prevSample = T.add(sample, T.mul(modelOutput, this.sigmas[i + 1] - s));
    this.stepIndexValue = i + 1;
    return { prevSample, predOriginalSample: x0FromFlow(sample, modelOutput, s) };
  }

  /** x_s = s noise + (1 - s) x0 at each batch element's timestep (diffusers `scale_noise`). */
  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor {
    const s = Array.from(timesteps, (t) => this.sigmas[this.indexForTimestep(t)]);
    const sT = perBatch(s, original);
    return T.add(T.mul(sT, noise), T.mul(T.sub(1, sT), original));
  }
}
