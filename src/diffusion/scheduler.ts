/**
 * The diffusers-compatible scheduler interface and the state every scheduler shares: config,
 * timesteps, the step index (diffusers' `_step_index` / `_begin_index`), noise draws and the
 * scheduler_config.json form.
 */
import type * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import type { NoiseSource } from "./noise.js";

/** The diffusers release whose schedulers these reproduce (written into scheduler_config.json). */
export const DIFFUSERS_VERSION = "0.30.3";

export interface StepOptions {
  /** DDIM's eta (DDIM eq. 16): 0 is deterministic DDIM, 1 the DDPM-like posterior noise. */
  eta?: number;
  /** Where standard-normal draws come from in a stochastic step (see noise.ts). */
  noise?: NoiseSource;
  /** A draw to use instead of asking `noise` (diffusers' `variance_noise`). */
  varianceNoise?: T.Tensor;
  /** DDIM: re-derive eps from the clipped x0 (diffusers' `use_clipped_model_output`). */
  useClippedModelOutput?: boolean;
  /** Euler's churn (Karras et al. 2022, Algorithm 2): S_churn, S_tmin, S_tmax, S_noise. */
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export interface StepOutput {
  /** The sample at the next (less noisy) timestep. */
  prevSample: T.Tensor;
  /** x0-hat at this step, where the scheduler computes one. */
  predOriginalSample?: T.Tensor;
}

/** scheduler_config.json: the config's fields plus diffusers' class name and version. */
export type SchedulerJson = Record<string, unknown> & { _class_name: string; _diffusers_version: string };

/** What every scheduler offers (diffusers' SchedulerMixin surface, camelCased). */
export interface Scheduler {
  /** diffusers' class name, e.g. "DDIMScheduler". */
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** The timesteps passed to the model, in order (set by `setTimesteps`). */
  readonly timesteps: Float64Array;
  readonly numInferenceSteps: number | null;
  /** Standard deviation of the initial noise: x_T = initNoiseSigma * N(0, I). */
  readonly initNoiseSigma: number;
  /** Model evaluations per step of the underlying solver (diffusers' `order`). */
  readonly order: number;
  setTimesteps(numInferenceSteps: number): void;
  /** The model input at `timestep` (identity for VP schedulers, x / sqrt(sigma^2 + 1) for VE ones). */
  scaleModelInput(sample: T.Tensor, timestep: number): T.Tensor;
  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options?: StepOptions): StepOutput;
  /** Noise clean samples to per-batch `timesteps` the way this scheduler's x_t is defined. */
  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor;
  toJSON(): SchedulerJson;
}

/** Base: config, timesteps, step index bookkeeping, noise and JSON. */
export abstract class BaseScheduler<C extends object> implements Scheduler {
  abstract readonly className: string;
  readonly config: Readonly<C>;
  timesteps: Float64Array = new Float64Array(0);
  numInferenceSteps: number | null = null;
  order = 1;
  protected stepIndexValue: number | null = null;
  protected beginIndexValue: number | null = null;

  constructor(config: C) {
    this.config = Object.freeze({ ...config });
  }

  abstract get initNoiseSigma(): number;
  abstract setTimesteps(numInferenceSteps: number): void;
  abstract step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options?: StepOptions): StepOutput;
  abstract addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor;

  scaleModelInput(sample: T.Tensor, _timestep: number): T.Tensor {
    return sample;
  }

  /** The index of the current step (null before the first `step`). */
  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  /** Start the step index at `index` (diffusers' `set_begin_index`, for img2img). */
  setBeginIndex(index: number): void {
    this.beginIndexValue = index;
  }

  toJSON(): SchedulerJson {
    return { _class_name: this.className, _diffusers_version: DIFFUSERS_VERSION, ...this.config };
  }

  /** Check `n` in [1, max] (max = T unless given), naming `num_inference_steps`. */
  protected checkSteps(n: number, max: number): number {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > max) {
      invalid("num_inference_steps", n, `an integer in [1, ${max}] (num_train_timesteps = ${max})`);
    }
    return n;
  }

  /** Throw unless `setTimesteps` ran. */
  protected requireTimesteps(): number {
    if (this.numInferenceSteps === null) {
      invalid("num_inference_steps", null, `set: call setTimesteps(n) on ${this.className} before step()`);
    }
    return this.numInferenceSteps;
  }

  /** diffusers `index_for_timestep`: the 2nd match if the timestep repeats (img2img), else the 1st. */
  protected indexForTimestep(timestep: number, missing?: number): number {
    const matches: number[] = [];
    this.timesteps.forEach((t, i) => {
      if (t === timestep) matches.push(i);
    });
    if (matches.length === 0) {
      if (missing !== undefined) return missing;
      invalid(
        "timestep",
        timestep,
        `one of this scheduler's timesteps [${Array.from(this.timesteps).join(", ")}]`,
      );
    }
    return matches.length > 1 ? matches[1] : matches[0];
  }

  /** The current step index, initialised from `timestep` on the first step (diffusers `_init_step_index`). */
  protected currentIndex(timestep: number, missing?: number): number {
    this.requireTimesteps();
    if (this.stepIndexValue === null) {
      this.stepIndexValue = this.beginIndexValue ?? this.indexForTimestep(timestep, missing);
    }
    return this.stepIndexValue;
  }

  /** Reset step bookkeeping (called by `setTimesteps`). */
  protected resetSteps(): void {
    this.stepIndexValue = null;
    this.beginIndexValue = null;
  }

  /** One standard-normal draw shaped like `like`: `options.varianceNoise` if given, else `options.noise`. */
  protected drawNoise(like: T.Tensor, options: StepOptions): T.Tensor {
    if (options.varianceNoise) {
      if (options.varianceNoise.shape.join(",") !== like.shape.join(",")) {
        invalid(
          "varianceNoise.shape",
          `[${options.varianceNoise.shape}]`,
          `equal to the sample's [${like.shape}]`,
        );
      }
      return options.varianceNoise;
    }
    if (!options.noise) {
      invalid(
        "noise",
        undefined,
        `a NoiseSource (e.g. gaussianNoise(seed)): ${this.className}.step draws noise here`,
      );
    }
    return options.noise(like.shape);
  }
}
