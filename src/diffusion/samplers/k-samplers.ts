/**
 * Samplers as plain functions over a denoiser (k-diffusion's style): D(x, sigma) = x0-hat for
 * x = x0 + sigma eps, a descending sigma grid (ending at 0), and the step history in local variables.
 * They share their update rules with the scheduler classes (ve-steps.ts, dpm-solver-updates.ts).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { dpmFirstOrder, dpmMultistepSecondOrder, levelFromVeSigma } from "../dpm-solver-updates.js";
import type { NoiseSource } from "../noise.js";
import { type PredictionType, predictX0FromVe } from "../parametrization.js";
import type { ModelFn } from "../sample.js";
import { logSigmas, sigmaToT, trainSigmas } from "../sigma-grid.js";
import { ancestralSigmas, eulerUpdate, toDerivative } from "../ve-steps.js";

/** x0-hat of x = x0 + sigma eps. */
export type VeDenoiser = (x: T.Tensor, sigma: number) => T.Tensor | Promise<T.Tensor>;

export interface KSampleOptions {
  onStep?: (index: number, sigma: number, x: T.Tensor, x0: T.Tensor) => void;
}

/**
 * A discrete VP network (input x_t, integer-or-fractional timestep) as a VE denoiser: input
 * x / sqrt(sigma^2 + 1), timestep from sigma by diffusers' log-sigma interpolation, output to x0.
 */
export function vpModelDenoiser(
  model: ModelFn,
  alphasCumprod: ArrayLike<number>,
  prediction: PredictionType = "epsilon",
): VeDenoiser {
  const logSigma = logSigmas(trainSigmas(alphasCumprod));
  return async (x, sigma) => {
    const out = await model(T.div(x, Math.sqrt(sigma * sigma + 1)), sigmaToT(sigma, logSigma));
    return predictX0FromVe(prediction, out, x, sigma);
  };
}

function checkSigmas(sigmas: ArrayLike<number>): void {
  if (sigmas.length < 2) invalid("sigmas.length", sigmas.length, "at least 2 (a start and an end)");
  for (let i = 1; i < sigmas.length; i++) {
    if (!(sigmas[i] < sigmas[i - 1]))
      invalid(`sigmas[${i}]`, sigmas[i], `below sigmas[${i - 1}] (${sigmas[i - 1]})`);
  }
}

/** Euler on the PF-ODE (EDM Algorithm 1 without the Heun correction). */
export async function sampleEuler(
  denoise: VeDenoiser,
  x: T.Tensor,
  sigmas: ArrayLike<number>,
  options: KSampleOptions = {},
) {
  checkSigmas(sigmas);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const x0 = await denoise(x, sigmas[i]);
    x = eulerUpdate(x, toDerivative(x, x0, sigmas[i]), sigmas[i], sigmas[i + 1]);
    options.onStep?.(i, sigmas[i], x, x0);
  }
  return x;
}

/** Euler ancestral: ODE step to sigma_down, then fresh noise of std sigma_up (eta scales it). */
export async function sampleEulerAncestral(
  denoise: VeDenoiser,
  x: T.Tensor,
  sigmas: ArrayLike<number>,
  options: KSampleOptions & { noise: NoiseSource; eta?: number },
) {
  checkSigmas(sigmas);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const x0 = await denoise(x, sigmas[i]);
    const { sigmaUp, sigmaDown } = ancestralSigmas(sigmas[i], sigmas[i + 1], options.eta ?? 1);
    x = eulerUpdate(x, toDerivative(x, x0, sigmas[i]), sigmas[i], sigmaDown);
    if (sigmas[i + 1] > 0) x = T.add(x, T.mul(options.noise(x.shape), sigmaUp));
    options.onStep?.(i, sigmas[i], x, x0);
  }
  return x;
}

/** Heun (EDM Algorithm 1): Euler predictor, trapezoidal corrector, Euler on the last step to 0. */
export async function sampleHeun(
  denoise: VeDenoiser,
  x: T.Tensor,
  sigmas: ArrayLike<number>,
  options: KSampleOptions = {},
) {
  checkSigmas(sigmas);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, sNext] = [sigmas[i], sigmas[i + 1]];
    const x0 = await denoise(x, s);
    const d = toDerivative(x, x0, s);
    let next = eulerUpdate(x, d, s, sNext);
    if (sNext > 0) {
      const d2 = toDerivative(next, await denoise(next, sNext), sNext);
      next = eulerUpdate(x, T.mul(T.add(d, d2), 0.5), s, sNext);
    }
    x = next;
    options.onStep?.(i, s, x, x0);
  }
  return x;
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022b, Algorithm 2) in the VE scale: the multistep second-order
 * data-prediction update, first order on the first step and on the last step to sigma = 0.
 */
export async function sampleDpmSolverPP2M(
  denoise: VeDenoiser,
  x: T.Tensor,
  sigmas: ArrayLike<number>,
  options: KSampleOptions = {},
) {
  checkSigmas(sigmas);
  let prev: T.Tensor | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const x0 = await denoise(x, sigmas[i]);
    const s = levelFromVeSigma(sigmas[i]);
    const t = levelFromVeSigma(sigmas[i + 1]);
    const xVp = T.mul(x, s.alpha);
    const last = sigmas[i + 1] === 0;
    const next: T.Tensor =
      prev === null || last
        ? dpmFirstOrder("dpmsolver++", xVp, x0, s, t)
        : dpmMultistepSecondOrder(
            "dpmsolver++",
            "midpoint",
            xVp,
            [x0, prev],
            [s, levelFromVeSigma(sigmas[i - 1])],
            t,
          );
    x = T.div(next, t.alpha);
    prev = x0;
    options.onStep?.(i, sigmas[i], x, x0);
  }
  return x;
}
