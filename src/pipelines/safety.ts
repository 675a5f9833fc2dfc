/**
 * Warnings for sampler settings that silently give wrong samples (issue 8's "safe defaults"):
 *   - `clip_sample` clamps x0-hat to [-r, r] every step: right for images scaled to [-1, 1], wrong for
 *     vector data (2-D points, tables), whose normalised values need not lie in that box;
 *   - a first timestep with alpha_bar below 1e-5 for an epsilon model: x0-hat = (x - sqrt(1 - abar) eps-hat)
 *     / sqrt(abar) carries the model's error e as e / sqrt(abar), and the next sample keeps
 *     sqrt(abar_next) of it, so the first step amplifies it by sqrt(abar_next / abar), whatever the
 *     solver (measured on a 2-D model trained on the cosine schedule, 20 steps, linspace spacing, whose
 *     first step is t = 999 with abar = 2.4e-9: max |x| 288 with DPM-Solver++, 305 with DDIM, 310 with
 *     Euler; 3.3 with DPM-Solver++ and "leading" spacing, whose first step is t = 950).
 * Browser-safe.
 */

import type { Scheduler } from "../diffusion/scheduler.js";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import { type WarnFn, warn } from "../util/warn.js";

/**
 * The lowest alpha_bar an epsilon model's first step may start from without a warning: 1e-5, an error
 * gain 1 / sqrt(abar) of ~300. Not 1e-3: diffusers' default linear schedule has abar = 4e-5 at
 * t = 999 (1.2e-4 at DDIM's usual first step 950) and samples well there, so a 1e-3 threshold would
 * warn on the most common setup; the cosine schedule's 2e-9 (gain 2e4) is the case that explodes.
 */
export const MIN_FIRST_ALPHA_BAR = 1e-5;

/** Warns when `scheduler` clips x0 but the model's examples are vectors (rank-1 example shape). */
export function warnClipOnVectors(
  scheduler: Scheduler,
  exampleShape: readonly number[],
  to?: WarnFn,
): boolean {
  if (scheduler.config.clip_sample !== true || exampleShape.length !== 1) return false;
  const r = scheduler.config.clip_sample_range ?? 1;
  warn(
    `${scheduler.className}: clip_sample is on, so every step clamps the predicted sample to ` +
      `[-${r}, ${r}], but this model's data are vectors (points or table rows), which need not lie ` +
      `in [-1, 1]; the samples will be squeezed into a box. Set "clip_sample": false in the scheduler ` +
      `config (diffuse train saves it so for vector data).`,
    to,
  );
  return true;
}

/**
 * alpha_bar at the scheduler's first timestep (after setTimesteps), or null where the scheduler has
 * no beta schedule (flow matching, consistency models).
 */
export function firstAlphaBar(scheduler: Scheduler): number | null {
  const c = scheduler.config as Record<string, unknown>;
  if (typeof c.beta_schedule !== "string" || scheduler.timesteps.length === 0) return null;
  const abar = alphasCumprod(betasFor(c));
  const t = Math.min(abar.length - 1, Math.max(0, Math.round(scheduler.timesteps[0]!)));
  return abar[t]!;
}

/** Warns when an epsilon model's first step starts where alpha_bar < MIN_FIRST_ALPHA_BAR. */
export function warnTinyFirstAlphaBar(scheduler: Scheduler, to?: WarnFn): boolean {
  if (scheduler.config.prediction_type !== "epsilon") return false;
  const abar = firstAlphaBar(scheduler);
  if (abar === null || abar >= MIN_FIRST_ALPHA_BAR) return false;
  const t = scheduler.timesteps[0];
  warn(
    `${scheduler.className}: the first timestep ${t} has alpha_bar = ${abar.toExponential(2)} ` +
      `(< ${MIN_FIRST_ALPHA_BAR}), where an epsilon model's x0 = (x - sqrt(1 - alpha_bar) eps) / ` +
      `sqrt(alpha_bar) multiplies its error by ${(1 / Math.sqrt(abar)).toExponential(1)}: the samples ` +
      `may explode. Fix: timestep_spacing "leading" (--timestep-spacing leading; its first step is ` +
      `below T-1), or a model trained with v_prediction ` +
      `(current spacing: ${String(scheduler.config.timestep_spacing)}).`,
    to,
  );
  return true;
}
