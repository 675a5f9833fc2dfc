/**
 * Golden kind `noise-schedules`: a case holds diffusers scheduler config fields (`beta_schedule`,
 * `beta_start`, `beta_end`, `num_train_timesteps`, optional `trained_betas` and
 * `rescale_betas_zero_snr`) and the reference `betas` and/or `alphas_cumprod`.
 */
import { alphasCumprod, type BetaScheduleConfig, betasFor } from "../../diffusion/schedules.js";
import { type ArrayCheck, checkArrays, parseNumberArray, parseTolerance } from "../compare.js";
import { type CaseHandler, registerKind } from "../registry.js";

/** The golden arrays this kind knows, computed from a case's config. */
const ARRAYS = {
  betas: (betas: Float64Array) => betas,
  alphas_cumprod: (betas: Float64Array) => alphasCumprod(betas),
} as const;

export const checkNoiseSchedule: CaseHandler = async (data) => {
  const tol = parseTolerance(data.tolerance);
  const betas = betasFor(data as BetaScheduleConfig);
  const checks: ArrayCheck[] = [];
  for (const [name, compute] of Object.entries(ARRAYS)) {
    if (data[name] !== undefined)
      checks.push({ name, got: compute(betas), want: parseNumberArray(data[name], name) });
  }
  if (checks.length === 0) return { ok: false, detail: `case has none of ${Object.keys(ARRAYS).join(", ")}` };
  return checkArrays(checks, tol);
};

registerKind("noise-schedules", checkNoiseSchedule);
