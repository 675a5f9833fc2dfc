/**
 * The continuous-time variance-preserving SDE (Song et al. 2021, "Score-Based Generative Modeling
 * through Stochastic Differential Equations", eq. 11):
 *   dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw,  t in [0, 1],
 * with abar(t) = exp(-int_0^t beta), so x_t = sqrt(abar(t)) x0 + sqrt(1 - abar(t)) eps.
 * Reverse-time SDE (eq. 6) and probability-flow ODE (eq. 13) use the score
 * grad log p_t = -eps / sqrt(1 - abar(t)).
 */
import { invalid } from "../check.js";

export interface VpSde {
  /** beta(t), the noise rate. */
  beta(t: number): number;
  /** abar(t) = exp(-int_0^t beta(s) ds). */
  alphaBar(t: number): number;
}

/** score_sde's VPSDE: beta(t) = beta_min + t (beta_max - beta_min) (DDPM's linear schedule as T -> inf). */
export function linearVpSde(betaMin = 0.1, betaMax = 20): VpSde {
  if (!(betaMin > 0 && betaMax > betaMin))
    invalid("betaMax", betaMax, `greater than betaMin (${betaMin}) > 0`);
  return {
    beta: (t) => betaMin + t * (betaMax - betaMin),
    alphaBar: (t) => Math.exp(-(betaMin * t + 0.5 * (betaMax - betaMin) * t * t)),
  };
}

/**
 * The VP SDE of a discrete schedule: training index i sits at t = (i + 1) / T, log abar is linear
 * between grid points (abar(0) = 1), so beta(t) is piecewise constant: T log(abar_{i-1} / abar_i).
 */
export function vpSdeFromAlphasCumprod(alphasCumprod: ArrayLike<number>): VpSde {
  const T = alphasCumprod.length;
  if (T < 1) invalid("alphasCumprod.length", T, "at least 1");
  const logAbar = (i: number) => (i < 0 ? 0 : Math.log(alphasCumprod[i]));
  const locate = (t: number) => {
    if (!(t >= 0 && t <= 1)) invalid("t", t, "a time in [0, 1]");
    const u = t * T; // in [0, T]
    const i = Math.min(Math.floor(u), T - 1); // interval [i/T, (i+1)/T] between indices i-1 and i
    return { i, frac: u - i };
  };
  return {
    beta: (t) => {
      const { i } = locate(t);
      return T * (logAbar(i - 1) - logAbar(i));
    },
    alphaBar: (t) => {
      const { i, frac } = locate(t);
      return Math.exp(logAbar(i - 1) + frac * (logAbar(i) - logAbar(i - 1)));
    },
  };
}
