/**
 * The noise level (x = scale (alpha x0 + sigma eps), hook.ts) of a scheduler's sample before and
 * after step `index` of its loop, derived from the scheduler's own tables:
 * - sigma grids (Euler, Euler ancestral, Heun, LMS, DPM-Solver, UniPC, consistency, flow matching):
 *   the model input of step i sits at sigmas[i] and its output at sigmas[i + 1] (Heun's interleaved
 *   grid [s0, s1, s1, s2, ...] included). DPM-Solver / UniPC keep a VP sample (scale 1) with VE
 *   sigmas s: alpha = 1 / sqrt(1 + s^2), sigma = s alpha.
 * - DDPM: abar at `previousTimestep(t)` (1 after the last step); DDIM: abar at t - T // n (diffusers'
 *   rule), `final_alpha_cumprod` below 0; PNDM: abar at the next listed timestep (exact for its PLMS
 *   steps; its PRK warm-up substeps sit between listed timesteps, where this is the nearest level).
 * Offsets: the sigma grids use the scheduler's step index (set_begin_index moves it).
 */

import type { Scheduler } from "../scheduler.js";
import { CMStochasticIterativeScheduler } from "../schedulers/consistency.js";
import { DDIMInverseScheduler, DDIMScheduler } from "../schedulers/ddim.js";
import { DDPMScheduler } from "../schedulers/ddpm.js";
import { FlowMatchEulerDiscreteScheduler } from "../schedulers/flow-match-euler.js";
import { PNDMScheduler } from "../schedulers/pndm.js";
import { SolverScheduler } from "../schedulers/solver-base.js";
import { VeScheduler } from "../schedulers/ve-base.js";
import { VpScheduler } from "../schedulers/vp-base.js";
import { levelFromAbar, levelFromFlow, levelFromVe, type OutputKind, type SampleLevel } from "./hook.js";

function unsupported(s: Scheduler): never {
  throw new Error(
    `constraints: the noise level of ${s.className}'s samples is unknown (supported: DDPM, DDIM, PNDM, Euler, Euler ancestral, Heun, LMS, DPM-Solver, UniPC, consistency, flow matching)`,
  );
}

/** The level of sigma-grid entry `i` in the scheduler's own sample form. */
function gridLevel(s: Scheduler, i: number): SampleLevel | null {
  const sigmas = (s as { sigmas?: Float64Array }).sigmas;
  if (!sigmas) return null;
  const v = sigmas[Math.min(i, sigmas.length - 1)]!;
  if (s instanceof SolverScheduler) {
    const l = levelFromVe(v);
    return { alpha: l.alpha, sigma: l.sigma, scale: 1 };
  }
  if (s instanceof VeScheduler || s instanceof CMStochasticIterativeScheduler) return levelFromVe(v);
  if (s instanceof FlowMatchEulerDiscreteScheduler) return levelFromFlow(v);
  return null;
}

/** The grid index of loop step `index` before it runs (the scheduler's step index once started). */
function gridIndex(s: Scheduler, index: number): number {
  return (s as { stepIndex?: number | null }).stepIndex ?? index;
}

/** The abar the VP scheduler `s` steps to from timestep `t` at loop index `index`. */
function vpNextAbar(s: VpScheduler<never>, t: number, index: number): number {
  if (s instanceof DDPMScheduler) {
    const prev = s.previousTimestep(t);
    return prev >= 0 ? s.alphasCumprod[prev]! : 1;
  }
  if (s instanceof DDIMScheduler) {
    const prev = t - Math.floor(s.alphasCumprod.length / (s.numInferenceSteps ?? 1));
    return prev >= 0 ? s.alphasCumprod[prev]! : s.finalAlphaCumprod;
  }
  if (s instanceof PNDMScheduler) {
    const next = s.timesteps[index + 1];
    return next !== undefined ? s.alphasCumprod[next]! : s.finalAlphaCumprod;
  }
  return unsupported(s);
}

/** The level of the sample that loop step `index` (timestep `t`) receives. */
export function levelBeforeStep(s: Scheduler, index: number, t: number): SampleLevel {
  if (s instanceof VpScheduler && !(s instanceof DDIMInverseScheduler)) {
    return levelFromAbar(s.alphasCumprod[Math.round(t)]!);
  }
  return gridLevel(s, gridIndex(s, index)) ?? unsupported(s);
}

/** The level of the sample that loop step `index` (timestep `t`) returned; call after the step. */
export function levelAfterStep(s: Scheduler, index: number, t: number): SampleLevel {
  if (s instanceof VpScheduler && !(s instanceof DDIMInverseScheduler)) {
    return levelFromAbar(vpNextAbar(s as VpScheduler<never>, t, index));
  }
  // The step index has moved on to the next grid entry.
  return gridLevel(s, (s as { stepIndex?: number | null }).stepIndex ?? index + 1) ?? unsupported(s);
}

/** How the scheduler reads its model output (prediction_type; flow matching: velocity). */
export function outputKindOf(s: Scheduler): OutputKind {
  if (s instanceof FlowMatchEulerDiscreteScheduler) return "flow";
  if (s instanceof CMStochasticIterativeScheduler) {
    throw new Error(
      "constraints: x0Transform is not supported with CMStochasticIterativeScheduler (its output is c_skip/c_out-scaled); use a StepHook on x_t",
    );
  }
  return ((s.config as { prediction_type?: OutputKind }).prediction_type ?? "epsilon") as OutputKind;
}
