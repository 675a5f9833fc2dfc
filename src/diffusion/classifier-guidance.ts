/**
 * Classifier guidance (Dhariwal & Nichol 2021, "Diffusion Models Beat GANs on Image Synthesis",
 * Sec. 4.2, Algorithm 2; tutorial 5.3.1): with a noise-conditioned classifier p_phi(y | x_t, t),
 *
 *   grad log p(x_t | y) = grad log p(x_t) + grad log p_phi(y | x_t)
 *   eps_hat(x_t) = eps(x_t) - s * sqrt(1 - abar_t) * grad_x log p_phi(y | x_t, t)
 *
 * since the score is -eps / sigma_t (parametrization.ts) and s scales the classifier's term. Any
 * sampler that uses eps_hat in place of eps then samples p(x_t) p_phi(y | x_t)^s.
 *
 * Every prediction type: the model output is converted to eps at the current level (predictEps), guided,
 * and converted back (outputFromEps), so the sampler downstream is unchanged. Classifier-free guidance
 * composes: wrap the CFG-combined model function (its output is what gets guided).
 *
 * The noise level of a call: the model sees (x_t, t) with x_t the VP sample (for sigma schedulers,
 * `scaleModelInput` has already divided by sqrt(1 + sigma^2)). Integer t reads abar_t from the table;
 * a FRACTIONAL t (Euler/Heun/LMS/DPM-Solver with Karras sigmas, the continuous samplers) is resolved by
 * `alphaBarAt`: `alphaBarAtTimestep` interpolates log sigma linearly between the training timesteps,
 * the exact inverse of diffusers' `_sigma_to_t` (sigma-grid.ts), so abar = 1 / (1 + sigma^2) is the
 * level the scheduler meant; the continuous samplers pass their SDE's own alpha-bar instead.
 *
 * No knowledge of networks: the gradient comes in as a function (in practice one compiled graph of the
 * classifier's forward and backward, pipelines/classifier-gradient.ts). Browser-safe.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import { type AlphaSigma, alphaSigmaFromAbar, type PredictionType, predictEps } from "./parametrization.js";
import type { ModelFn } from "./sample.js";
import { interp, logSigmas, trainSigmas } from "./sigma-grid.js";

/** grad_x sum_i log p_phi(y_i | x_i, t): same shape as x (labels bound by the caller). */
export type LogProbGradient = (x: T.Tensor, t: number) => Promise<T.Tensor>;

/** The model output of `type` whose eps is `eps` at x_t (the inverse of `predictEps`). */
export function outputFromEps(type: PredictionType, eps: T.Tensor, xt: T.Tensor, c: AlphaSigma): T.Tensor {
  switch (type) {
    case "epsilon":
      return eps;
    case "sample": // x0 = (x_t - sigma eps) / alpha
      if (c.alpha === 0) invalid("prediction_type", type, "usable at alpha_t > 0 with classifier guidance");
      return T.div(T.sub(xt, T.mul(eps, c.sigma)), c.alpha);
    case "v_prediction": // eps = alpha v + sigma x_t  =>  v = (eps - sigma x_t) / alpha
      if (c.alpha === 0) invalid("prediction_type", type, "usable at alpha_t > 0 with classifier guidance");
      return T.div(T.sub(eps, T.mul(xt, c.sigma)), c.alpha);
    default:
      return invalid("prediction_type", type, "epsilon, sample or v_prediction");
  }
}

/** eps_hat = eps - s * sigma_t * grad (Dhariwal & Nichol 2021, Algorithm 2 in eps form). */
export function guidedEps(eps: T.Tensor, gradLogProb: T.Tensor, sigma: number, scale: number): T.Tensor {
  return T.sub(eps, T.mul(gradLogProb, scale * sigma));
}

/**
 * abar at a (fractional) training timestep t: log sigma interpolated linearly between the training
 * timesteps (sigma = sqrt((1 - abar) / abar)), clamped to [0, T - 1]; abar = 1 / (1 + sigma^2).
 */
export function alphaBarAtTimestep(alphasCumprod: ArrayLike<number>): (t: number) => number {
  const ls = logSigmas(trainSigmas(alphasCumprod));
  const grid = Float64Array.from({ length: ls.length }, (_, i) => i);
  return (t) => {
    if (Number.isInteger(t) && t >= 0 && t < alphasCumprod.length) return alphasCumprod[t]!;
    const sigma = Math.exp(interp([t], grid, ls)[0]!);
    return 1 / (1 + sigma * sigma);
  };
}

export interface ClassifierGuidanceOptions {
  /** Guidance scale s (0: the model unchanged). */
  scale: number;
  gradient: LogProbGradient;
  prediction: PredictionType;
  /** abar at the timestep the model is called with (see the file comment). */
  alphaBarAt: (t: number) => number;
}

/** `model` with classifier guidance: out -> eps -> eps_hat -> out of the same prediction type. */
export function classifierGuided(model: ModelFn, o: ClassifierGuidanceOptions): ModelFn {
  if (!Number.isFinite(o.scale)) invalid("classifier-scale", o.scale, "a finite number");
  if (o.scale === 0) return model;
  return async (x, t) => {
    const out = await model(x, t);
    const c = alphaSigmaFromAbar(o.alphaBarAt(t));
    const eps = predictEps(o.prediction, out, x, c);
    const g = await o.gradient(x, t);
    return outputFromEps(o.prediction, guidedEps(eps, g, c.sigma, o.scale), x, c);
  };
}
