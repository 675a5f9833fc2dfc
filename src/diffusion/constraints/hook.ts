/**
 * The per-step hook of the sampling loop: a way to change the sample between steps, the base of
 * hard constraints (x_{t-1} = Pi_C(...), tutorial 8.2.3), inpainting by replacement and RePaint.
 *
 * ## The API (used by `sample()` in ../sample.ts and the continuous samplers via generate.ts)
 *
 *   for i in 0..total-1:
 *     out  = model(scale_model_input(x, t_i), t_i)
 *     out  = x0Transform ? back(x0Transform(x0hat(out), info_in)) : out      (act on x0-hat)
 *     x    = scheduler.step(out, t_i, x).prevSample
 *     x    = hook(x, info) ?? x                                              (act on x_t)
 *
 * `StepHook(x, info)` gets the NEW sample (after step i) and returns a replacement (or undefined to
 * keep it). `info` holds the step index, the timestep t_i of the step just taken, the noise level of
 * the new sample and the scheduler's x0-hat of this step when it computes one (`predX0`).
 *
 * ## Noise levels (`SampleLevel`)
 * Every sampler's sample is written as  x = scale * (alpha x0 + sigma eps)  with VP coefficients
 * alpha^2 + sigma^2 = 1 (DDPM eq. 4: alpha = sqrt(abar), sigma = sqrt(1 - abar)):
 * - VP schedulers (DDPM, DDIM, PNDM, DPM-Solver, UniPC, the continuous VP SDE): scale = 1.
 * - sigma (VE) schedulers (Euler, Euler ancestral, Heun, LMS; Karras et al. 2022) keep x = x0 + s eps:
 *   alpha = 1 / sqrt(1 + s^2), sigma = s alpha, scale = sqrt(1 + s^2) (so the model input
 *   x / scale is the VP x_t).
 * - rectified flow x = (1 - s) x0 + s eps: r = sqrt((1 - s)^2 + s^2), alpha = (1 - s) / r,
 *   sigma = s / r, scale = r.
 * - consistency models x = x0 + s eps like VE.
 * A draw of q(x | x0) at the level is  scale * (alpha x0 + sigma z)  (`noisyAt`). After the last step
 * sigma is 0 for most configurations; it is small but not 0 where the schedule ends above 0 (DDIM with
 * set_alpha_to_one = false, final_sigmas_type = "sigma_min", the SDE's t_end): `info.last` tells a hook
 * that it is the final step.
 *
 * ## Acting on x0-hat (`X0Transform`)
 * `x0Transform(x0hat, info)` runs between the network and the scheduler: the model output is
 * converted to x0-hat (parametrization.ts, `predictX0`), transformed (e.g. projected), and converted
 * back (`outputFromX0`), so the scheduler steps with the constrained x0-hat. `info.level` is then the
 * level of the model input. Learned-variance channels pass through unchanged.
 *
 * Shapes: hooks see the whole batch, [N, ...example] (images [N, C, H, W] or vectors [N, D]).
 * Browser-safe.
 */
import * as T from "../../tensor/index.js";
import type { NoiseSource } from "../noise.js";
import { outputFromX0, type PredictionType, predictX0 } from "../parametrization.js";

/** x = scale * (alpha x0 + sigma eps), alpha^2 + sigma^2 = 1 (see the module header). */
export interface SampleLevel {
  alpha: number;
  sigma: number;
  scale: number;
}

/** What a hook learns about the step. */
export interface HookInfo {
  /** 0-based index of the step just taken (x0Transform: of the step about to be taken). */
  index: number;
  /** Number of steps (scheduler calls) of the loop. */
  total: number;
  /** The model timestep of this step. */
  timestep: number;
  /** The level of the sample the hook receives (x0Transform: the level of the model input). */
  level: SampleLevel;
  /** True for the final step (its output is returned). */
  last: boolean;
  /** The scheduler's x0-hat of this step, where it computes one (StepHook only). */
  predX0?: T.Tensor;
  /** The loop's noise source (reproducible from the loop's seed). */
  noise: NoiseSource;
}

/** Replaces the sample after a step; undefined keeps it. */
export type StepHook = (x: T.Tensor, info: HookInfo) => T.Tensor | undefined | Promise<T.Tensor | undefined>;

/** Transforms x0-hat before the scheduler uses it. */
export type X0Transform = (x0: T.Tensor, info: HookInfo) => T.Tensor | Promise<T.Tensor>;

/** The VP level of a VE sigma s: x = x0 + s eps = sqrt(1 + s^2) (alpha x0 + sigma eps). */
export function levelFromVe(s: number): SampleLevel {
  const scale = Math.sqrt(1 + s * s);
  return { alpha: 1 / scale, sigma: s / scale, scale };
}

/** The level of a VP abar: scale 1. */
export function levelFromAbar(abar: number): SampleLevel {
  return { alpha: Math.sqrt(abar), sigma: Math.sqrt(Math.max(0, 1 - abar)), scale: 1 };
}

/** The level of rectified flow's x = (1 - s) x0 + s eps. */
export function levelFromFlow(s: number): SampleLevel {
  const r = Math.hypot(1 - s, s);
  return { alpha: (1 - s) / r, sigma: s / r, scale: r };
}

/** A draw of q(x | x0) at `level`: scale * (alpha x0 + sigma z), z = a fresh standard-normal draw. */
export function noisyAt(x0: T.Tensor, level: SampleLevel, z: T.Tensor): T.Tensor {
  return T.add(T.mul(x0, level.scale * level.alpha), T.mul(z, level.scale * level.sigma));
}

/** How a model output relates to x0-hat: VP prediction types, or rectified flow's velocity. */
export type OutputKind = PredictionType | "flow";

/**
 * Applies `fn` to the x0-hat of a model output and returns the model output of the new x0-hat.
 * `xin` is the model input (VP form, level.scale already divided out; flow: the flow sample).
 */
export async function transformOutputX0(
  kind: OutputKind,
  out: T.Tensor,
  xin: T.Tensor,
  level: SampleLevel,
  fn: (x0: T.Tensor) => T.Tensor | Promise<T.Tensor>,
): Promise<T.Tensor> {
  const channels = xin.shape[1];
  const learned = xin.rank >= 2 && out.rank === xin.rank && out.shape[1] === 2 * channels!;
  const main = learned ? T.narrow(out, 1, 0, channels!) : out;
  let back: T.Tensor;
  if (kind === "flow") {
    // x = (1 - s) x0 + s eps, u = eps - x0: x0 = x - s u, u = (x - x0) / s.
    const s = level.sigma * level.scale;
    back = T.div(T.sub(xin, await fn(T.sub(xin, T.mul(main, s)))), s);
  } else {
    const c = { alpha: level.alpha, sigma: level.sigma };
    back = outputFromX0(kind, await fn(predictX0(kind, main, xin, c)), xin, c);
  }
  return learned ? T.concat([back, T.narrow(out, 1, channels!, channels!)], 1) : back;
}
