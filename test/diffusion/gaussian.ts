/**
 * Exact models for 1-D Gaussian data x0 ~ N(mu, s^2) (independently per element), for which every
 * conditional expectation is affine and known in closed form:
 *   x_t = sqrt(a) x0 + sqrt(1 - a) eps  =>  x_t ~ N(sqrt(a) mu, a s^2 + 1 - a),
 *   eps*(x_t) = E[eps | x_t] = (x_t - sqrt(a) mu) sqrt(1 - a) / (a s^2 + 1 - a),
 *   x0*(x_t)  = E[x0 | x_t]  = mu + sqrt(a) s^2 (x_t - sqrt(a) mu) / (a s^2 + 1 - a).
 * With the optimal model a sampler's output distribution approaches N(mu, s^2) as steps grow.
 */
import type { PredictionType } from "../../src/diffusion/parametrization.js";
import { sigmasAtTimesteps } from "../../src/diffusion/sigma-grid.js";
import * as T from "../../src/tensor/index.js";

export interface Gaussian {
  mu: number;
  s: number;
}

/** eps*, x0* and v* of x_t at abar = a. */
export function optimal(x: T.Tensor, a: number, d: Gaussian, type: PredictionType = "epsilon"): T.Tensor {
  const denom = a * d.s * d.s + 1 - a;
  const centred = T.sub(x, Math.sqrt(a) * d.mu);
  const eps = T.mul(centred, Math.sqrt(1 - a) / denom);
  if (type === "epsilon") return eps;
  const x0 = T.add(T.mul(centred, (Math.sqrt(a) * d.s * d.s) / denom), d.mu);
  if (type === "sample") return x0;
  return T.sub(T.mul(eps, Math.sqrt(a)), T.mul(x0, Math.sqrt(1 - a)));
}

/** abar seen by the model at a (possibly fractional) timestep of a scheduler. */
export function abarAt(scheduler: object, t: number): number {
  const s = scheduler as { trainSigmas?: Float64Array; alphasCumprod: Float64Array };
  if (Number.isInteger(t) && !s.trainSigmas) return s.alphasCumprod[t];
  const table = s.trainSigmas ?? s.alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
  const sigma = sigmasAtTimesteps([t], table)[0];
  return 1 / (1 + sigma * sigma);
}

/** The optimal model of a VP/VE discrete scheduler, for `sample()`. */
export function optimalModel(scheduler: object, d: Gaussian, type: PredictionType = "epsilon") {
  return (x: T.Tensor, t: number) => optimal(x, abarAt(scheduler, t), d, type);
}

/**
 * The optimal rectified-flow velocity u* = E[eps - x0 | x_s] for x_s = (1 - s) x0 + s eps, s = t / T:
 * with v = (1 - s)^2 s_d^2 + s^2, E[x0 | x] = mu + (1 - s) s_d^2 (x - (1 - s) mu) / v and
 * E[eps | x] = s (x - (1 - s) mu) / v.
 */
export function optimalFlow(d: Gaussian, numTrain = 1000) {
  return (x: T.Tensor, t: number) => {
    const s = t / numTrain;
    const v = (1 - s) ** 2 * d.s ** 2 + s * s;
    const centred = T.sub(x, (1 - s) * d.mu);
    return T.sub(T.mul(centred, (s - (1 - s) * d.s ** 2) / v), d.mu);
  };
}

/** Sample mean and (population) variance of all elements. */
export function moments(x: T.Tensor): { mean: number; variance: number } {
  const v = x.values();
  let m = 0;
  for (const a of v) m += a;
  m /= v.length;
  let q = 0;
  for (const a of v) q += (a - m) ** 2;
  return { mean: m, variance: q / v.length };
}
