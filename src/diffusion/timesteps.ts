/**
 * Inference timesteps: which of the T training timesteps a sampler visits, in diffusers'
 * `timestep_spacing` conventions (`DDIMScheduler.set_timesteps`, `DDPMScheduler.set_timesteps`,
 * `EulerDiscreteScheduler.set_timesteps` in 0.30.3; see "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Lin et al. 2024, Table 2). Returned in sampling order (descending).
 */
import { checkInteger, checkOneOf, MAX_TRAIN_TIMESTEPS } from "./check.js";
import { arange, linspace, roundHalfEven } from "./linspace.js";

export const TIMESTEP_SPACINGS = ["leading", "trailing", "linspace"] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export interface InferenceTimestepsOptions {
  /** T, the number of training timesteps. */
  numTrainTimesteps: number;
  /** The number of sampling steps, 1..T. */
  numInferenceSteps: number;
  /** diffusers' `timestep_spacing`; default "leading" (diffusers' default). */
  spacing?: TimestepSpacing;
  /** diffusers' `steps_offset`, added with "leading" spacing only; default 0. */
  stepsOffset?: number;
  /**
   * Float timesteps as the Euler-family schedulers use them: "linspace" spacing is not rounded
   * (diffusers stores these as float32; values here are the float64 grid). Default false (integer
   * timesteps, as DDIM and DDPM). "leading" and "trailing" give integers either way.
   */
  float?: boolean;
}

/**
 * The timesteps a sampler visits, descending:
 * - "leading":  ratio = T // n;  t_i = i * ratio + stepsOffset, i = n-1..0
 *   (T=1000, n=10, offset 1: 901, 801, ..., 1);
 * - "trailing": ratio = T / n;  t = round(arange(T, 0, -ratio)) - 1 (T=1000, n=10: 999, 899, ..., 99);
 * - "linspace": t = round(linspace(0, T-1, n)) reversed (unrounded with `float`).
 * Rounding is NumPy's (half to even).
 */
export function inferenceTimesteps(options: InferenceTimestepsOptions): Float64Array {
  const T = checkInteger("numTrainTimesteps", options.numTrainTimesteps, 1, MAX_TRAIN_TIMESTEPS);
  const n = checkInteger("numInferenceSteps", options.numInferenceSteps, 1, T);
  const spacing = checkOneOf("spacing", options.spacing ?? "leading", TIMESTEP_SPACINGS);
  const offset = checkInteger("stepsOffset", options.stepsOffset ?? 0, 0);
  switch (spacing) {
    case "leading": {
      const ratio = Math.floor(T / n);
      return Float64Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + offset);
    }
    case "trailing": {
      const ratio = T / n;
      // NumPy's arange can return n + 1 points when T / ratio rounds above n (T=1000, n=61), the
      // last one rounding to timestep -1; diffusers passes that on, we keep the n meant.
      return arange(T, 0, -ratio)
        .subarray(0, n)
        .map((t) => roundHalfEven(t) - 1);
    }
    case "linspace": {
      const grid = linspace(0, T - 1, n).reverse();
      return options.float ? grid : grid.map(roundHalfEven);
    }
  }
}
