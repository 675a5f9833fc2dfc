/**
 * DPM-Solver and DPM-Solver++ updates (Lu et al. 2022, "DPM-Solver" NeurIPS, and "DPM-Solver++",
 * arXiv:2211.01095), as diffusers 0.30.3 writes them; shared by the multistep and singlestep
 * schedulers. Notation: a noise level is (alpha_t, sigma_t, lambda_t = log alpha_t - log sigma_t),
 * h = lambda_t - lambda_s. Model outputs m are x0-hat for the "++" algorithms (data prediction) and
 * eps-hat otherwise (noise prediction).
 *
 * First order (DPM-Solver++ eq. 5 / DPM-Solver eq. 3.7; = DDIM):
 *   ++:  x_t = (sigma_t / sigma_s) x - alpha_t (e^{-h} - 1) m
 *   eps: x_t = (alpha_t / alpha_s) x - sigma_t (e^h - 1) m
 * SDE variants (DPM-Solver++ SDE, Sec. 5 / eq. 6 of Lu et al. 2022b; Gonzalez et al. 2023):
 *   sde-++:  x_t = (sigma_t / sigma_s) e^{-h} x + alpha_t (1 - e^{-2h}) m + sigma_t sqrt(1 - e^{-2h}) z
 *   sde-eps: x_t = (alpha_t / alpha_s) x - 2 sigma_t (e^h - 1) m + sigma_t sqrt(e^{2h} - 1) z
 */
import type * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import { lincomb, type Term } from "./combine.js";

export const DPM_ALGORITHMS = ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"] as const;
export type DpmAlgorithm = (typeof DPM_ALGORITHMS)[number];
export const DPM_SOLVER_TYPES = ["midpoint", "heun"] as const;
export type DpmSolverType = (typeof DPM_SOLVER_TYPES)[number];

/** A noise level of x_t = alpha x0 + sigma eps. */
export interface NoiseLevel {
  alpha: number;
  sigma: number;
  /** log alpha - log sigma (Infinity at sigma = 0). */
  lambda: number;
}

/** The level of a VE sigma: alpha = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha (diffusers `_sigma_to_alpha_sigma_t`). */
export function levelFromVeSigma(veSigma: number): NoiseLevel {
  const alpha = 1 / Math.sqrt(veSigma * veSigma + 1);
  const sigma = veSigma * alpha;
  return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
}

/** Whether the algorithm's model output is x0 (data prediction). */
export function predictsData(algorithm: DpmAlgorithm): boolean {
  return algorithm === "dpmsolver++" || algorithm === "sde-dpmsolver++";
}

function isSde(algorithm: DpmAlgorithm): boolean {
  return algorithm.startsWith("sde-");
}

function needNoise(algorithm: DpmAlgorithm, z: T.Tensor | undefined): T.Tensor {
  if (!z) invalid("noise", undefined, `a draw for algorithm_type ${algorithm}`);
  return z;
}

/**
 * Coefficients of x, D0 (= m0), D1, D2 and z for an update from s to t with step h: the
 * order-1 coefficient c0, the first-derivative coefficient c1 (midpoint or heun form) and the
 * second-derivative one c2 (third order, heun form).
 */
function coefficients(algorithm: DpmAlgorithm, solverType: DpmSolverType, s: NoiseLevel, t: NoiseLevel) {
  const h = t.lambda - s.lambda;
  switch (algorithm) {
    case "dpmsolver++": {
      const phi = t.alpha * (Math.exp(-h) - 1);
      return {
        x: t.sigma / s.sigma,
        c0: -phi,
        c1: solverType === "midpoint" ? -0.5 * phi : t.alpha * ((Math.exp(-h) - 1) / h + 1),
        c2: -(t.alpha * ((Math.exp(-h) - 1 + h) / h ** 2 - 0.5)),
        z: 0,
      };
    }
    case "dpmsolver": {
      const phi = t.sigma * (Math.exp(h) - 1);
      return {
        x: t.alpha / s.alpha,
        c0: -phi,
        c1: solverType === "midpoint" ? -0.5 * phi : -(t.sigma * ((Math.exp(h) - 1) / h - 1)),
        c2: -(t.sigma * ((Math.exp(h) - 1 - h) / h ** 2 - 0.5)),
        z: 0,
      };
    }
    case "sde-dpmsolver++": {
      const phi = t.alpha * (1 - Math.exp(-2 * h));
      return {
        x: (t.sigma / s.sigma) * Math.exp(-h),
        c0: phi,
        c1: solverType === "midpoint" ? 0.5 * phi : t.alpha * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1),
        c2: Number.NaN,
        z: t.sigma * Math.sqrt(1 - Math.exp(-2 * h)),
      };
    }
    case "sde-dpmsolver": {
      const phi = t.sigma * (Math.exp(h) - 1);
      return {
        x: t.alpha / s.alpha,
        c0: -2 * phi,
        c1: solverType === "midpoint" ? -phi : -2 * (t.sigma * ((Math.exp(h) - 1) / h - 1)),
        c2: Number.NaN,
        z: t.sigma * Math.sqrt(Math.exp(2 * h) - 1),
      };
    }
  }
}

function withNoise(algorithm: DpmAlgorithm, terms: Term[], zCoef: number, z: T.Tensor | undefined): T.Tensor {
  if (isSde(algorithm)) terms.push([zCoef, needNoise(algorithm, z)]);
  return lincomb(...terms);
}

/** First-order update from level s to t (diffusers `dpm_solver_first_order_update`). */
export function dpmFirstOrder(
  algorithm: DpmAlgorithm,
  x: T.Tensor,
  m: T.Tensor,
  s: NoiseLevel,
  t: NoiseLevel,
  z?: T.Tensor,
): T.Tensor {
  const c = coefficients(algorithm, "midpoint", s, t);
  return withNoise(
    algorithm,
    [
      [c.x, x],
      [c.c0, m],
    ],
    c.z,
    z,
  );
}

/**
 * Multistep second order (DPM-Solver++(2M), Algorithm 2): outputs m0 at s0 (newest) and m1 at s1,
 * r0 = h_0 / h, D1 = (m0 - m1) / r0.
 */
export function dpmMultistepSecondOrder(
  algorithm: DpmAlgorithm,
  solverType: DpmSolverType,
  x: T.Tensor,
  [m0, m1]: readonly [T.Tensor, T.Tensor],
  [s0, s1]: readonly [NoiseLevel, NoiseLevel],
  t: NoiseLevel,
  z?: T.Tensor,
): T.Tensor {
  const r0 = (s0.lambda - s1.lambda) / (t.lambda - s0.lambda);
  const d1 = lincomb([1 / r0, lincomb([1, m0], [-1, m1])]);
  const c = coefficients(algorithm, solverType, s0, t);
  return withNoise(
    algorithm,
    [
      [c.x, x],
      [c.c0, m0],
      [c.c1, d1],
    ],
    c.z,
    z,
  );
}

/** Multistep third order (DPM-Solver++(3M)); not defined for the SDE algorithms. */
export function dpmMultistepThirdOrder(
  algorithm: DpmAlgorithm,
  x: T.Tensor,
  [m0, m1, m2]: readonly [T.Tensor, T.Tensor, T.Tensor],
  [s0, s1, s2]: readonly [NoiseLevel, NoiseLevel, NoiseLevel],
  t: NoiseLevel,
): T.Tensor {
  if (isSde(algorithm))
    invalid("algorithm_type", algorithm, "dpmsolver or dpmsolver++ for a third-order update");
  const h = t.lambda - s0.lambda;
  const r0 = (s0.lambda - s1.lambda) / h;
  const r1 = (s1.lambda - s2.lambda) / h;
  const d10 = lincomb([1 / r0, lincomb([1, m0], [-1, m1])]);
  const d11 = lincomb([1 / r1, lincomb([1, m1], [-1, m2])]);
  const diff = lincomb([1, d10], [-1, d11]);
  const d1 = lincomb([1, d10], [r0 / (r0 + r1), diff]);
  const d2 = lincomb([1 / (r0 + r1), diff]);
  const c = coefficients(algorithm, "heun", s0, t);
  return lincomb([c.x, x], [c.c0, m0], [c.c1, d1], [c.c2, d2]);
}

/**
 * Singlestep second order (DPM-Solver-2 / ++ 2S): x is the sample at s1 (the step's start), m1 the
 * output there and m0 the output at the intermediate level s0; h = lambda_t - lambda_s1.
 */
export function dpmSinglestepSecondOrder(
  algorithm: DpmAlgorithm,
  solverType: DpmSolverType,
  x: T.Tensor,
  [m0, m1]: readonly [T.Tensor, T.Tensor],
  [s0, s1]: readonly [NoiseLevel, NoiseLevel],
  t: NoiseLevel,
): T.Tensor {
  if (isSde(algorithm))
    invalid("algorithm_type", algorithm, "dpmsolver or dpmsolver++ for the singlestep solver");
  const r0 = (s0.lambda - s1.lambda) / (t.lambda - s1.lambda);
  const d1 = lincomb([1 / r0, lincomb([1, m0], [-1, m1])]);
  const c = coefficients(algorithm, solverType, s1, t);
  return lincomb([c.x, x], [c.c0, m1], [c.c1, d1]);
}

/**
 * Singlestep third order (DPM-Solver-3): x at s2 (the step's start), outputs m2 at s2, m1 at s1 and
 * m0 at s0; midpoint uses D1_1 only, heun D1 and D2.
 */
export function dpmSinglestepThirdOrder(
  algorithm: DpmAlgorithm,
  solverType: DpmSolverType,
  x: T.Tensor,
  [m0, m1, m2]: readonly [T.Tensor, T.Tensor, T.Tensor],
  [s0, s1, s2]: readonly [NoiseLevel, NoiseLevel, NoiseLevel],
  t: NoiseLevel,
): T.Tensor {
  if (isSde(algorithm))
    invalid("algorithm_type", algorithm, "dpmsolver or dpmsolver++ for the singlestep solver");
  const h = t.lambda - s2.lambda;
  const r0 = (s0.lambda - s2.lambda) / h;
  const r1 = (s1.lambda - s2.lambda) / h;
  const d10 = lincomb([1 / r1, lincomb([1, m1], [-1, m2])]);
  const d11 = lincomb([1 / r0, lincomb([1, m0], [-1, m2])]);
  const c = coefficients(algorithm, "heun", s2, t);
  if (solverType === "midpoint") return lincomb([c.x, x], [c.c0, m2], [c.c1, d11]);
  const d1 = lincomb([r0 / (r0 - r1), d10], [-r1 / (r0 - r1), d11]);
  const d2 = lincomb([2 / (r0 - r1), lincomb([1, d11], [-1, d10])]);
  return lincomb([c.x, x], [c.c0, m2], [c.c1, d1], [c.c2, d2]);
}
