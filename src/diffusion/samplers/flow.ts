/**
 * Samplers of a flow-matching model as plain functions over its velocity field, and the straightness
 * of that field (Liu et al. 2022, "Flow Straight and Fast: Learning to Generate and Transfer Data with
 * Rectified Flow").
 *
 * Notation (as diffusers' FlowMatchEulerDiscreteScheduler and parametrization.ts): x_t = (1 - t) x0 +
 * t eps, the model predicts u(x, t) ~ eps - x0 = dx/dt, and sampling integrates dx/dt = u from t = 1
 * (noise) down a descending grid to t = 0 (data):
 *   Euler: x_{t'} = x_t + (t' - t) u(x_t, t)
 *   Heun:  x~ = Euler step; x_{t'} = x_t + (t' - t) (u(x_t, t) + u(x~, t')) / 2   (trapezoid; the last
 *          step to t' = 0 stays Euler, as EDM Algorithm 1 and diffusers' Heun do)
 * The velocity function receives t in [0, 1]; `flowModelVelocity` adapts a network that takes the
 * timestep T t (T = num_train_timesteps), what the scheduler and the trainer feed it.
 *
 * Straightness (Liu et al., Sec. 2.2 / Def. 2.1 of the flow's trajectory Z_t):
 *   S(Z) = int_0^1 E || (Z_1 - Z_0) - dZ_t/dt ||^2 dt
 * estimated along the Euler trajectory on a grid: the mean over steps of the per-example squared norm
 * (summed over the example's dimensions, averaged over the batch) of (x_1 - x_0) - u(x_t, t), with
 * x_1 - x_0 the trajectory's total displacement over t in [0, 1]. It is 0 exactly when every
 * trajectory is a straight line traversed at constant speed (then one Euler step is exact).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import type { ModelFn } from "../sample.js";

/** The velocity u(x, t) ~ eps - x0 at t in [0, 1]. */
export type VelocityFn = (x: T.Tensor, t: number) => T.Tensor | Promise<T.Tensor>;

/** A network fed the timestep T t (diffusers' convention, the trainer's too) as a VelocityFn. */
export function flowModelVelocity(model: ModelFn, numTrainTimesteps = 1000): VelocityFn {
  return (x, t) => model(x, t * numTrainTimesteps);
}

/** `steps` + 1 uniform times from 1 down to 0. */
export function flowTimeGrid(steps: number): Float64Array {
  if (!(Number.isInteger(steps) && steps >= 1)) invalid("steps", steps, "an integer >= 1");
  return Float64Array.from({ length: steps + 1 }, (_, i) => 1 - i / steps);
}

function checkTimes(ts: ArrayLike<number>): void {
  if (ts.length < 2) invalid("times.length", ts.length, "at least 2 (a start and an end)");
  for (let i = 1; i < ts.length; i++) {
    if (!(ts[i] < ts[i - 1])) invalid(`times[${i}]`, ts[i], `below times[${i - 1}] (${ts[i - 1]})`);
  }
}

/** Euler on dx/dt = u from x at times[0] (noise at t = 1) through the descending `times`. */
export async function sampleFlowEuler(
  velocity: VelocityFn,
  x: T.Tensor,
  times: ArrayLike<number>,
): Promise<T.Tensor> {
  checkTimes(times);
  for (let i = 0; i < times.length - 1; i++) {
    x = T.add(x, T.mul(await velocity(x, times[i]), times[i + 1] - times[i]));
  }
  return x;
}

/** Heun (trapezoidal) on dx/dt = u; 2 evaluations per step except a final step to t = 0. */
export async function sampleFlowHeun(
  velocity: VelocityFn,
  x: T.Tensor,
  times: ArrayLike<number>,
): Promise<T.Tensor> {
  checkTimes(times);
  for (let i = 0; i < times.length - 1; i++) {
    const [t, next] = [times[i], times[i + 1]];
    const u = await velocity(x, t);
    const euler = T.add(x, T.mul(u, next - t));
    if (next === 0) {
      x = euler;
      continue;
    }
    const u2 = await velocity(euler, next);
    x = T.add(x, T.mul(T.add(u, u2), (next - t) / 2));
  }
  return x;
}

/** Straightness and the trajectory's end points. */
export interface Straightness {
  /** S(Z) estimated on the grid (see the file comment); >= 0, 0 for straight constant-speed paths. */
  straightness: number;
  /** The trajectory's start (noise, t = times[0]) and end (t = times[last]). */
  start: T.Tensor;
  end: T.Tensor;
}

/**
 * Straightness of `velocity` along its Euler trajectories from `noise` over `times` (default: 100
 * uniform steps from 1 to 0). The sum over steps is weighted by each step's length (a Riemann sum of
 * the integral over t).
 */
export async function flowStraightness(
  velocity: VelocityFn,
  noise: T.Tensor,
  times: ArrayLike<number> = flowTimeGrid(100),
): Promise<Straightness> {
  checkTimes(times);
  const span = times[0] - times[times.length - 1];
  let x = noise;
  const us: { u: T.Tensor; dt: number }[] = [];
  for (let i = 0; i < times.length - 1; i++) {
    const u = await velocity(x, times[i]);
    const dt = times[i] - times[i + 1];
    us.push({ u, dt });
    x = T.sub(x, T.mul(u, dt));
  }
  // dx/dt along the trajectory averages to (x(t_start) - x(t_end)) / span.
  const mean = T.div(T.sub(noise, x), span);
  const batch = noise.shape[0] ?? 1;
  let total = 0;
  for (const { u, dt } of us) {
    const sq = T.square(T.sub(mean, u)).values();
    let s = 0;
    for (const v of sq) s += v;
    total += (s / batch) * dt;
  }
  return { straightness: total / span, start: noise, end: x };
}
