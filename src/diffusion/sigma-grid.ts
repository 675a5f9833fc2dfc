/**
 * The VE sigma grids of the sigma-parametrised schedulers (Euler, Heun, LMS, DPM-Solver, UniPC), as
 * diffusers 0.30.3 builds them: the training sigmas sqrt((1 - abar_t) / abar_t) (float32, as torch
 * computes them), NumPy's `interp` at fractional timesteps, Karras grids (EDM eq. 5) and the inverse
 * map sigma -> fractional timestep (`_sigma_to_t`, piecewise linear in log sigma).
 */
import { invalid } from "./check.js";
import { karrasSigmas } from "./sigmas.js";

const f = Math.fround;

/** sigma_t = sqrt((1 - abar_t) / abar_t) per training timestep, in torch's float32 arithmetic. */
export function trainSigmas(alphasCumprod: ArrayLike<number>): Float64Array {
  return Float64Array.from(alphasCumprod, (a) => f(Math.sqrt(f(f(1 - a) / a))));
}

/** log sigma per training timestep (float32, `np.log` of the float32 sigmas). */
export function logSigmas(sigmas: ArrayLike<number>): Float64Array {
  return Float64Array.from(sigmas, (s) => f(Math.log(s)));
}

/**
 * `np.interp(x, xp, fp)` with xp increasing: piecewise-linear interpolation, clamped to fp's ends
 * outside [xp_0, xp_last].
 */
export function interp(x: ArrayLike<number>, xp: ArrayLike<number>, fp: ArrayLike<number>): Float64Array {
  const n = xp.length;
  if (n === 0 || fp.length !== n) invalid("fp.length", fp.length, `equal to xp.length (${n}) and > 0`);
  return Float64Array.from(x, (v) => {
    if (v <= xp[0]) return fp[0];
    if (v >= xp[n - 1]) return fp[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xp[mid] <= v) lo = mid;
      else hi = mid;
    }
    const slope = (fp[hi] - fp[lo]) / (xp[hi] - xp[lo]);
    return slope * (v - xp[lo]) + fp[lo];
  });
}

/** Training sigmas interpolated at (fractional) timesteps: `np.interp(timesteps, arange(T), sigmas)`. */
export function sigmasAtTimesteps(timesteps: ArrayLike<number>, trainSigma: ArrayLike<number>): Float64Array {
  const grid = Float64Array.from({ length: trainSigma.length }, (_, i) => i);
  return interp(timesteps, grid, trainSigma);
}

/**
 * The fractional timestep of a sigma (diffusers `_sigma_to_t`): find the training timesteps whose log
 * sigmas bracket log sigma and interpolate linearly in log sigma, clamped to the table.
 */
export function sigmaToT(sigma: number, logSigma: ArrayLike<number>): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  // low = last index with log_sigmas[i] <= log sigma (0 if none), at most T - 2.
  let low = 0;
  for (let i = 0; i < logSigma.length; i++) if (ls - logSigma[i] >= 0) low = i;
  low = Math.min(low, logSigma.length - 2);
  const lo = logSigma[low];
  const hi = logSigma[low + 1];
  const w = Math.min(Math.max((lo - ls) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** Options of a Karras grid built from a scheduler's sigmas (diffusers `_convert_to_karras`). */
export interface KarrasOptions {
  /** config.sigma_min, else the smallest input sigma. */
  sigmaMin?: number | null;
  /** config.sigma_max, else the largest input sigma. */
  sigmaMax?: number | null;
  rho?: number;
}

/**
 * diffusers `_convert_to_karras(in_sigmas, n)`: a Karras grid of n sigmas between the last and first
 * input sigma (descending input), unless config bounds are given. One step is sigma_max alone (the
 * ramp `linspace(0, 1, 1)` is [0]), also when the one input sigma is both ends.
 */
export function karrasFromSigmas(
  inSigmas: ArrayLike<number>,
  n: number,
  options: KarrasOptions = {},
): Float64Array {
  const sigmaMin = options.sigmaMin ?? inSigmas[inSigmas.length - 1];
  const sigmaMax = options.sigmaMax ?? inSigmas[0];
  if (n === 1 && sigmaMax === sigmaMin) return karrasSigmas(0, sigmaMax, 1, options.rho ?? 7);
  return karrasSigmas(sigmaMin, sigmaMax, n, options.rho ?? 7);
}
