/**
 * The VP discretisation grid of a consistency model (Song et al. 2023, "Consistency Models", Sec. 3
 * and App. C) over a diffusion schedule's alphas_cumprod: t_n = round(n (T' - 1) / (N - 1)) for the
 * first T' timesteps, VE levels s_t = sigma_t / alpha_t, and the boundary-condition coefficients
 *   c_skip(s) = sigma_data^2 / ((s - s_min)^2 + sigma_data^2)
 *   c_out(s)  = sigma_data (s - s_min) / sqrt(sigma_data^2 + s^2)
 * with s_min the grid's lowest level (so f(x, s_min) = x). Shared by training (train/consistency-*.ts)
 * and sampling (pipelines/consistency-generate.ts). Browser-safe.
 */
import { alphasCumprod, betasFor } from "./schedules.js";

/** Per-timestep tables of a discretisation grid of the teacher's schedule (float64 math, float32 out). */
export interface ConsistencyTables {
  /** The grid t_0 < ... < t_{N-1} (teacher timesteps). */
  grid: Int32Array;
  alpha: Float32Array;
  sigma: Float32Array;
  cSkip: Float32Array;
  cOut: Float32Array;
}

/** c_skip(s), c_out(s) of Song et al. 2023 (App. C) with epsilon = sMin. */
export function boundaryCoefficients(
  s: number,
  sMin: number,
  sigmaData = 0.5,
): { cSkip: number; cOut: number } {
  const d = s - sMin;
  return {
    cSkip: (sigmaData * sigmaData) / (d * d + sigmaData * sigmaData),
    cOut: (sigmaData * d) / Math.sqrt(sigmaData * sigmaData + s * s),
  };
}

/**
 * The tables for an N-point grid over a teacher's alphas_cumprod (T entries): t_n = round(n (T-1) / (N-1)).
 */
export function consistencyTables(
  alphasCumprod: ArrayLike<number>,
  numScales: number,
  sigmaData = 0.5,
): ConsistencyTables {
  const T_ = alphasCumprod.length;
  if (!(Number.isInteger(numScales) && numScales >= 2 && numScales <= T_)) {
    throw new Error(
      `consistency: numScales is ${numScales}; expected an integer in [2, ${T_}] (the teacher's timesteps)`,
    );
  }
  const grid = Int32Array.from({ length: numScales }, (_, n) => Math.round((n * (T_ - 1)) / (numScales - 1)));
  const abar = Array.from(grid, (t) => alphasCumprod[t]!);
  const s = abar.map((a) => Math.sqrt((1 - a) / a));
  const sMin = s[0]!;
  const coef = s.map((v) => boundaryCoefficients(v, sMin, sigmaData));
  return {
    grid,
    alpha: Float32Array.from(abar, Math.sqrt),
    sigma: Float32Array.from(abar, (a) => Math.sqrt(1 - a)),
    cSkip: Float32Array.from(coef, (c) => c.cSkip),
    cOut: Float32Array.from(coef, (c) => c.cOut),
  };
}

/** The VP alphas_cumprod of a DDPMScheduler-style config, cut at the grid's top `maxTimestep`. */
export function gridAlphasCumprod(
  schedulerConfig: Record<string, unknown>,
  maxTimestep: number,
): Float64Array {
  return alphasCumprod(betasFor(schedulerConfig as Parameters<typeof betasFor>[0])).slice(0, maxTimestep + 1);
}

/**
 * The descending grid indices of `steps`-step sampling on an N-point grid: evenly spaced from the top,
 * N - 1, e.g. [N - 1] (one step), [N - 1, round((N - 1) / 2)] (two).
 */
export function consistencyStepIndices(numScales: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, i) => Math.round(((numScales - 1) * (steps - i)) / steps));
}
