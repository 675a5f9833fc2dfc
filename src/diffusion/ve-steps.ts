/**
 * Update rules of the variance-exploding ODE/SDE samplers (Karras et al. 2022, "Elucidating the
 * Design Space of Diffusion-Based Generative Models"; k-diffusion), on x = x0 + sigma eps:
 * the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma (EDM eq. 3 with sigma(t) = t), with
 * D the denoiser (x0-hat). Shared by the Euler / Heun / LMS / ancestral schedulers and the functional
 * samplers.
 */
import * as T from "../tensor/index.js";
import { lincomb } from "./combine.js";

/** d = (x - x0_hat) / sigma, the ODE's dx/dsigma (k-diffusion `to_d`). */
export function toDerivative(x: T.Tensor, x0: T.Tensor, sigma: number): T.Tensor {
  return T.div(T.sub(x, x0), sigma);
}

/** x + d (sigmaNext - sigma): one Euler step of the PF-ODE (EDM Algorithm 1, first order). */
export function eulerUpdate(x: T.Tensor, derivative: T.Tensor, sigma: number, sigmaNext: number): T.Tensor {
  return lincomb([1, x], [sigmaNext - sigma, derivative]);
}

/**
 * The split of an ancestral step sigma -> sigmaNext into a deterministic move to sigmaDown and fresh
 * noise of std sigmaUp, with sigmaDown^2 + sigmaUp^2 = sigmaNext^2 (k-diffusion `get_ancestral_step`,
 * eta = 1 is the DDPM-like amount).
 */
export function ancestralSigmas(
  sigma: number,
  sigmaNext: number,
  eta = 1,
): { sigmaUp: number; sigmaDown: number } {
  if (sigmaNext === 0) return { sigmaUp: 0, sigmaDown: 0 };
  const sigmaUp = Math.min(
    sigmaNext,
    eta * Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2),
  );
  return { sigmaUp, sigmaDown: Math.sqrt(sigmaNext ** 2 - sigmaUp ** 2) };
}

/**
 * Linear multistep coefficients (diffusers `LMSDiscreteScheduler.get_lms_coefficient`): the integral
 * over [sigmas[i], sigmas[i+1]] of the Lagrange basis polynomial of node `j` built on the nodes
 * sigmas[i], sigmas[i-1], ..., sigmas[i-order+1]. The integrand is a polynomial of degree < 4, so a
 * 4-point Gauss-Legendre rule integrates it exactly (the reference uses adaptive quadrature).
 */
export function lmsCoefficient(sigmas: ArrayLike<number>, i: number, order: number, j: number): number {
  const basis = (tau: number) => {
    let prod = 1;
    for (let k = 0; k < order; k++) {
      if (k === j) continue;
      prod *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
    }
    return prod;
  };
  const a = sigmas[i];
  const b = sigmas[i + 1];
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  let sum = 0;
  for (const [x, w] of GAUSS_LEGENDRE_4) sum += w * basis(mid + half * x);
  return sum * half;
}

const GL_A = Math.sqrt(3 / 7 - (2 / 7) * Math.sqrt(6 / 5));
const GL_B = Math.sqrt(3 / 7 + (2 / 7) * Math.sqrt(6 / 5));
const GL_WA = (18 + Math.sqrt(30)) / 36;
const GL_WB = (18 - Math.sqrt(30)) / 36;
const GAUSS_LEGENDRE_4: readonly (readonly [number, number])[] = [
  [-GL_B, GL_WB],
  [-GL_A, GL_WA],
  [GL_A, GL_WA],
  [GL_B, GL_WB],
];
