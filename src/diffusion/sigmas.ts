/**
 * Conversions between a variance-preserving schedule's abar_t, its signal-to-noise ratio and the
 * variance-exploding sigma of k-diffusion / EDM, and the sigma grids of diffusers' schedulers.
 *
 * Notation: x_t = alpha_t x_0 + sigma_t eps with alpha_t^2 = abar_t, sigma_t^2 = 1 - abar_t (VP);
 * the VE sigma is sigma = sigma_t / alpha_t = sqrt((1 - abar) / abar) (Karras et al. 2022, Table 1),
 * SNR = alpha_t^2 / sigma_t^2 = abar / (1 - abar) = 1 / sigma^2, and lambda = log(alpha_t / sigma_t)
 * (DPM-Solver, Lu et al. 2022, the half-log-SNR). All math is float64.
 */
import { checkInteger, checkPositive, invalid } from "./check.js";
import { linspace } from "./linspace.js";

type Values = number | ArrayLike<number>;
type Mapped<V extends Values> = V extends number ? number : Float64Array;

/** Apply a scalar function to a number or elementwise to an array (returning a Float64Array). */
function map<V extends Values>(x: V, f: (v: number) => number): Mapped<V> {
  return (typeof x === "number" ? f(x) : Float64Array.from(x as ArrayLike<number>, f)) as Mapped<V>;
}

/** SNR(t) = abar / (1 - abar) (Kingma et al. 2021; Hang et al. 2023, min-SNR). Infinity at abar = 1, 0 at abar = 0. */
export function snr<V extends Values>(abar: V): Mapped<V> {
  return map(abar, (a) => a / (1 - a));
}

/** The VE sigma of abar: sqrt((1 - abar) / abar) (diffusers' `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`). */
export function sigmasFromAlphasCumprod<V extends Values>(abar: V): Mapped<V> {
  return map(abar, (a) => Math.sqrt((1 - a) / a));
}

/** abar of a VE sigma: 1 / (1 + sigma^2), the inverse of `sigmasFromAlphasCumprod`. */
export function alphasCumprodFromSigmas<V extends Values>(sigma: V): Mapped<V> {
  return map(sigma, (s) => 1 / (1 + s * s));
}

/**
 * VP alpha_t and sigma_t of a VE sigma: alpha_t = 1 / sqrt(1 + sigma^2), sigma_t = sigma * alpha_t
 * (diffusers' `_sigma_to_alpha_sigma_t` in the DPM-Solver and UniPC schedulers).
 */
export function alphaSigmaFromSigma<V extends Values>(sigma: V): { alpha: Mapped<V>; sigma: Mapped<V> } {
  const alpha = map(sigma, (s) => 1 / Math.sqrt(1 + s * s));
  const sigmaT = map(sigma, (s) => s / Math.sqrt(1 + s * s));
  return { alpha, sigma: sigmaT };
}

/** lambda_t = log(alpha_t) - log(sigma_t) (DPM-Solver's half-log-SNR; diffusers' `lambda_t`). */
export function lambdaFromAlphaSigma(alpha: number, sigma: number): number;
export function lambdaFromAlphaSigma(alpha: ArrayLike<number>, sigma: ArrayLike<number>): Float64Array;
export function lambdaFromAlphaSigma(alpha: Values, sigma: Values): number | Float64Array {
  if (typeof alpha === "number" && typeof sigma === "number") return Math.log(alpha) - Math.log(sigma);
  if (typeof alpha === "number" || typeof sigma === "number" || alpha.length !== sigma.length) {
    invalid("sigma", sigma, "an array as long as alpha");
  }
  return Float64Array.from(alpha, (a, i) => Math.log(a) - Math.log(sigma[i]));
}

function checkSigmaRange(sigmaMin: number, sigmaMax: number, minAllowed: "zero" | "positive"): void {
  if (minAllowed === "positive") checkPositive("sigmaMin", sigmaMin);
  else if (!(sigmaMin >= 0 && Number.isFinite(sigmaMin)))
    invalid("sigmaMin", sigmaMin, "a finite number >= 0");
  checkPositive("sigmaMax", sigmaMax);
  if (sigmaMax <= sigmaMin) invalid("sigmaMax", sigmaMax, `greater than sigmaMin (${sigmaMin})`);
}

/**
 * The Karras et al. 2022 sigma grid (EDM eq. 5), descending from sigmaMax to sigmaMin:
 * sigma_i = (sigmaMax^(1/rho) + i/(n-1) (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho, as diffusers'
 * `_convert_to_karras` (with `ramp = np.linspace(0, 1, n)`). With `appendZero` the grid ends with a
 * final sigma 0 (n + 1 values), as k-diffusion's `get_sigmas_karras` returns it for its samplers.
 */
export function karrasSigmas(
  sigmaMin: number,
  sigmaMax: number,
  n: number,
  rho = 7,
  options: { appendZero?: boolean } = {},
): Float64Array {
  checkSigmaRange(sigmaMin, sigmaMax, "zero");
  checkInteger("n", n, 1);
  checkPositive("rho", rho);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const grid = linspace(0, 1, n).map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
  if (!options.appendZero) return grid;
  const out = new Float64Array(n + 1); // the last element stays 0
  out.set(grid);
  return out;
}

/**
 * A grid uniform in log sigma, descending from sigmaMax to sigmaMin: diffusers'
 * `_convert_to_exponential`, `exp(np.linspace(log(sigmaMax), log(sigmaMin), n))`.
 */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  checkSigmaRange(sigmaMin, sigmaMax, "positive");
  checkInteger("n", n, 1);
  return linspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}
