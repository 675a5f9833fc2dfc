/**
 * The forward (noising) process of a variance-preserving diffusion and its posterior.
 *
 * q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)            (DDPM, Ho et al. 2020, eq. 4)
 * q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I) with          (DDPM eq. 6-7)
 *   mu_tilde = sqrt(abar_{t-1}) beta_t / (1 - abar_t) x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,
 *   beta_tilde = (1 - abar_{t-1}) / (1 - abar_t) beta_t.
 * Timesteps index 0..T-1 (the paper's t minus one); `alphasCumprod[t]` = abar_t.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import { perBatch } from "./combine.js";

function abarAt(alphasCumprod: ArrayLike<number>, t: number, field = "timesteps"): number {
  if (!Number.isInteger(t) || t < 0 || t >= alphasCumprod.length) {
    invalid(field, t, `an integer timestep in [0, ${alphasCumprod.length - 1}]`);
  }
  return alphasCumprod[t];
}

/** Per-batch [sqrt(abar_t), sqrt(1 - abar_t)] as float32 tensors shaped to broadcast over `like`. */
function coefficients(timesteps: ArrayLike<number>, alphasCumprod: ArrayLike<number>, like: T.Tensor) {
  const abar = Array.from(timesteps, (t) => abarAt(alphasCumprod, t));
  return {
    alpha: perBatch(
      abar.map((a) => Math.sqrt(a)),
      like,
    ),
    sigma: perBatch(
      abar.map((a) => Math.sqrt(Math.fround(1 - a))),
      like,
    ),
  };
}

function checkSameShape(a: T.Tensor, b: T.Tensor, names: [string, string]): void {
  if (a.shape.join(",") !== b.shape.join(",")) {
    invalid(
      `${names[1]}.shape`,
      `[${b.shape.join(", ")}]`,
      `equal to ${names[0]}.shape [${a.shape.join(", ")}]`,
    );
  }
}

/**
 * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (DDPM eq. 4; diffusers `add_noise`), one timestep per
 * batch element (axis 0), broadcast over the other axes.
 */
export function addNoise(
  x0: T.Tensor,
  noise: T.Tensor,
  timesteps: ArrayLike<number>,
  alphasCumprod: ArrayLike<number>,
): T.Tensor {
  checkSameShape(x0, noise, ["x0", "noise"]);
  const { alpha, sigma } = coefficients(timesteps, alphasCumprod, x0);
  return T.add(T.mul(alpha, x0), T.mul(sigma, noise));
}

/**
 * The v-prediction target v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0 (Salimans & Ho 2022, Sec. 4;
 * diffusers `get_velocity`).
 */
export function velocityTarget(
  x0: T.Tensor,
  noise: T.Tensor,
  timesteps: ArrayLike<number>,
  alphasCumprod: ArrayLike<number>,
): T.Tensor {
  checkSameShape(x0, noise, ["x0", "noise"]);
  const { alpha, sigma } = coefficients(timesteps, alphasCumprod, x0);
  return T.sub(T.mul(alpha, noise), T.mul(sigma, x0));
}

/** Posterior q(x_prev | x_t, x0) between any two noise levels abar_t < abar_prev (DDPM eq. 7, strided). */
export interface Posterior {
  /** Coefficient of x0 in the mean: sqrt(abar_prev) beta / (1 - abar_t), beta = 1 - abar_t / abar_prev. */
  x0Coef: number;
  /** Coefficient of x_t in the mean: sqrt(abar_t / abar_prev) (1 - abar_prev) / (1 - abar_t). */
  xtCoef: number;
  /** beta_tilde = (1 - abar_prev) / (1 - abar_t) beta, floored at 1e-20 (diffusers' clamp): "fixed_small". */
  varianceSmall: number;
  /** beta = 1 - abar_t / abar_prev: "fixed_large" (DDPM's sigma_t^2 = beta_t choice). */
  varianceLarge: number;
}

/**
 * The posterior's mean coefficients and variances going from abar_t to abar_prev (abar_prev = 1 for
 * the last step), as diffusers' `DDPMScheduler.step` / `_get_variance` compute them.
 */
export function posterior(abarT: number, abarPrev: number): Posterior {
  const betaProd = 1 - abarT;
  const betaProdPrev = 1 - abarPrev;
  const currentAlpha = abarT / abarPrev;
  const currentBeta = 1 - currentAlpha;
  return {
    x0Coef: (Math.sqrt(abarPrev) * currentBeta) / betaProd,
    xtCoef: (Math.sqrt(currentAlpha) * betaProdPrev) / betaProd,
    varianceSmall: Math.max((betaProdPrev / betaProd) * currentBeta, 1e-20),
    varianceLarge: currentBeta,
  };
}

/** mu_tilde(x_t, x0) = x0Coef x0 + xtCoef x_t (DDPM eq. 7). */
export function posteriorMean(x0: T.Tensor, xt: T.Tensor, p: Posterior): T.Tensor {
  return T.add(T.mul(x0, p.x0Coef), T.mul(xt, p.xtCoef));
}

/**
 * Improved DDPM's clipped log variance (Nichol & Dhariwal 2021, Sec. 3.1): log beta_tilde_t with the
 * t = 0 entry (where beta_tilde_0 = 0) replaced by beta_tilde_1, per training timestep.
 */
export function clippedLogVariance(posteriorVariance: ArrayLike<number>): Float64Array {
  if (posteriorVariance.length < 2)
    invalid("posteriorVariance.length", posteriorVariance.length, "at least 2");
  return Float64Array.from(posteriorVariance, (v, t) => Math.log(t === 0 ? posteriorVariance[1] : v));
}

/**
 * Learned-range variance (Improved DDPM eq. 15): log var = frac log beta + (1 - frac) log beta_tilde,
 * frac = (v + 1) / 2 for the model's extra output v in [-1, 1] (diffusers' "learned_range").
 */
export function learnedRangeLogVariance(v: T.Tensor, p: Posterior): T.Tensor {
  const frac = T.div(T.add(v, 1), 2);
  const maxLog = Math.log(p.varianceLarge);
  const minLog = Math.log(p.varianceSmall);
  return T.add(T.mul(frac, maxLog), T.mul(T.sub(1, frac), minLog));
}
