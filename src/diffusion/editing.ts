/**
 * Editing with a deterministic sampler, as diffusion math over a denoiser and a scheduler:
 *
 * - DDIM inversion (Song et al. 2021, Sec. 4.3; DDIM eq. 13 integrated from t = 0 upwards): with
 *   eta = 0 the DDIM update is the Euler step of the probability-flow ODE
 *     d(x / sqrt(abar)) = eps(x, t) d(sqrt(1 - abar) / sqrt(abar)),
 *   so running it forward (abar decreasing) encodes an image x_0 into a latent x_T that the same DDIM
 *   schedule decodes back to (nearly) x_0. `DDIMInverseScheduler` takes the steps; `ddimInvert` is the
 *   loop. Clipping x0-hat (clip_sample) makes the map non-invertible, so the scheduler must not clip.
 *   The inverse step from x_s to x_t (s < t) needs eps(x_t, t), which is unknown; diffusers' scheduler
 *   uses eps(x_s, t). `fixedPointIterations` k refines it (Pan et al. 2023, "Effective Real Image
 *   Editing with Accelerated Iterative Diffusion Inversion"; Garibi et al. 2024, "ReNoise"):
 *     x_t^(0) = step(eps(x_s, t)),   x_t^(j+1) = step(eps(x_t^(j), t)),
 *   a fixed point of which is exactly the x_t that the forward DDIM step maps to x_s for an epsilon
 *   model (a v- or x0-model's output is converted to eps with x_s by the scheduler, so there the fixed
 *   point is close to, not exactly, that x_t).
 * - img2img / SDEdit (Meng et al. 2022, "SDEdit", Algorithm 1): noise the input to an intermediate
 *   time t_0 with q(x_t0 | x_0) and run the reverse process from there. `img2imgStart` reproduces
 *   diffusers' `StableDiffusionImg2ImgPipeline.get_timesteps`: with n steps and strength s,
 *     init = min(floor(n s), n),  t_start = max(n - init, 0),
 *   the loop starts at timesteps[t_start * order] and the input is noised with `addNoise` at it.
 * - Spherical interpolation (Shoemake 1985; used for diffusion latents by Song et al. 2021, Sec. 5.3):
 *     slerp(a, b; u) = sin((1 - u) theta) / sin(theta) a + sin(u theta) / sin(theta) b,
 *     cos(theta) = <a, b> / (|a| |b|),
 *   which keeps Gaussian latents at the norm the model expects (a straight line between two
 *   independent N(0, I) draws shrinks it by up to 1/sqrt(2) at the midpoint).
 * Browser-safe.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import type { ModelFn, StepInfo } from "./sample.js";
import type { Scheduler } from "./scheduler.js";

/** Where an img2img run starts: its index into the scheduler's timesteps and that timestep. */
export interface Img2ImgStart {
  /** Index into `scheduler.timesteps` of the first step (t_start * order). */
  startIndex: number;
  /** The timestep the input is noised to (timesteps[startIndex]). */
  timestep: number;
  /** Denoising steps that run (init = min(floor(n strength), n)). */
  steps: number;
}

/** Checks strength in (0, 1] (naming the field). */
export function checkStrength(strength: number): void {
  if (!(strength > 0 && strength <= 1)) {
    invalid("strength", strength, "a number in (0, 1] (1: start from pure noise level; 0.5: half way)");
  }
}

/**
 * diffusers' img2img `get_timesteps` on a scheduler whose `setTimesteps(steps)` already ran: the first
 * step index and timestep for `strength` in (0, 1]. A strength too small for one step is an error.
 */
export function img2imgStart(scheduler: Scheduler, steps: number, strength: number): Img2ImgStart {
  checkStrength(strength);
  const init = Math.min(Math.floor(steps * strength), steps);
  if (init < 1) {
    invalid("strength", strength, `large enough for one of ${steps} steps (>= ${1 / steps})`);
  }
  const tStart = Math.max(steps - init, 0);
  const startIndex = tStart * scheduler.order;
  const timestep = scheduler.timesteps[startIndex];
  if (timestep === undefined) invalid("strength", strength, "a start inside the scheduler's timesteps");
  return { startIndex, timestep, steps: init };
}

/**
 * Runs an inversion scheduler (DDIMInverseScheduler, after `setTimesteps`) from clean samples `x0` to
 * the latents x_T. Refuses a scheduler that clips x0-hat (inversion needs the unclipped map).
 */
export async function ddimInvert(
  scheduler: Scheduler,
  model: ModelFn,
  x0: T.Tensor,
  options: { fixedPointIterations?: number; onStep?: (info: StepInfo) => void } = {},
): Promise<T.Tensor> {
  if (scheduler.config.clip_sample === true) {
    invalid("clip_sample", true, "false for inversion (a clipped x0-hat cannot be inverted)");
  }
  const iters = options.fixedPointIterations ?? 0;
  const timesteps = Array.from(scheduler.timesteps);
  let x = x0;
  for (let index = 0; index < timesteps.length; index++) {
    const t = timesteps[index]!;
    let next = scheduler.step(await model(x, t), t, x).prevSample;
    for (let k = 0; k < iters; k++) next = scheduler.step(await model(next, t), t, x).prevSample;
    x = next;
    options.onStep?.({ index, total: timesteps.length, timestep: t, sample: x });
  }
  return x;
}

/**
 * slerp of the rows a[i], b[i] (each flattened) at u in [0, 1]; rows that are (nearly) parallel fall
 * back to the straight line, where slerp and lerp agree.
 */
export function slerp(a: T.Tensor, b: T.Tensor, u: number): T.Tensor {
  if (a.shape.join(",") !== b.shape.join(",")) {
    invalid("slerp.b", `[${b.shape}]`, `the shape of a, [${a.shape}]`);
  }
  if (!(u >= 0 && u <= 1)) invalid("slerp.u", u, "a number in [0, 1]");
  const n = a.rank === 0 ? 1 : a.shape[0]!;
  const per = a.size / n;
  const av = a.values() as Float32Array;
  const bv = b.values() as Float32Array;
  const out = new Float32Array(a.size);
  for (let r = 0; r < n; r++) {
    let [dot, na, nb] = [0, 0, 0];
    for (let i = r * per; i < (r + 1) * per; i++) {
      dot += av[i]! * bv[i]!;
      na += av[i]! ** 2;
      nb += bv[i]! ** 2;
    }
    const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
    const theta = Math.acos(cos);
    const parallel = !(Math.sin(theta) > 1e-6);
    const ca = parallel ? 1 - u : Math.sin((1 - u) * theta) / Math.sin(theta);
    const cb = parallel ? u : Math.sin(u * theta) / Math.sin(theta);
    for (let i = r * per; i < (r + 1) * per; i++) out[i] = ca * av[i]! + cb * bv[i]!;
  }
  return T.tensor(out, [...a.shape]);
}
