/**
 * Gaussian building blocks of the likelihood bounds, elementwise in float64 on plain arrays:
 * erfc / the standard normal CDF, the KL divergence between two diagonal Gaussians, the Gaussian log
 * density, and the discretized Gaussian decoder of DDPM (Ho et al. 2020, eq. 13; improved-diffusion's
 * `normal_kl`, `approx_standard_normal_cdf` and `discretized_gaussian_log_likelihood`). Browser-safe.
 */
import { invalid } from "../diffusion/check.js";

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);

/** erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 5 ... (2n+1)) (A&S 7.1.6): positive terms, x >= 0. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 500 && term > sum * 1e-17; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / SQRT_PI) * Math.exp(-x * x) * sum;
}

/**
 * erfc(z) = e^{-z^2} / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))) (A&S 7.1.14), the
 * continued fraction evaluated by the modified Lentz method; z >= 2 (57 terms reach 1e-16 at z = 2),
 * where every partial denominator is positive (no zero guard needed).
 */
function erfcContinuedFraction(z: number): number {
  let f = z;
  let c = f;
  let d = 0;
  for (let n = 1; n < 1000; n++) {
    d = 1 / (z + (n / 2) * d);
    c = z + n / 2 / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / SQRT_PI / f;
}

/** The complementary error function in float64 (relative error ~1e-14, no underflow before z ~ 26). */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z < 0) return 2 - erfc(-z);
  return z < 2 ? 1 - erfSeries(z) : erfcContinuedFraction(z);
}

/** Phi(x) = P(N(0, 1) <= x) = erfc(-x / sqrt 2) / 2, exact in float64 (also far in the lower tail). */
export function standardNormalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * improved-diffusion's `approx_standard_normal_cdf`: 1/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * (Page 1977), absolute error below ~2e-4.
 */
export function approxStandardNormalCdf(x: number): number {
  return 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** How the decoder evaluates Phi: "exact" (erfc, float64) or "tanh" (improved-diffusion's approximation). */
export type CdfKind = "exact" | "tanh";
export const CDF_KINDS: readonly CdfKind[] = ["exact", "tanh"];

/** KL(N(m1, e^lv1) || N(m2, e^lv2)) in nats for one coordinate (improved-diffusion `normal_kl`). */
export function normalKl(m1: number, lv1: number, m2: number, lv2: number): number {
  return 0.5 * (-1 + lv2 - lv1 + Math.exp(lv1 - lv2) + (m1 - m2) ** 2 * Math.exp(-lv2));
}

/** log N(x; mean, e^logVar) in nats for one coordinate. */
export function gaussianLogDensity(x: number, mean: number, logVar: number): number {
  return -0.5 * (LOG_2PI + logVar + (x - mean) ** 2 * Math.exp(-logVar));
}

/** Number of decoder bins: 8-bit data on the grid -1 + 2k/255, k = 0..255. */
export const DECODER_BINS = 256;
/** Half the bin width on [-1, 1]. */
const HALF_BIN = 1 / (DECODER_BINS - 1);
/** Bin probabilities are floored here before the log, as improved-diffusion does. */
const MIN_PROB = 1e-12;

/** P(lo < Z < hi) for Z ~ N(0, 1), from the tail on the side away from 0 (no cancellation). */
function exactBinProbability(lo: number, hi: number): number {
  if (lo > 0) return standardNormalCdf(-lo) - standardNormalCdf(-hi);
  return standardNormalCdf(hi) - standardNormalCdf(lo);
}

/**
 * log p(x | mean, scale) of the discretized Gaussian decoder (DDPM eq. 13) for one coordinate of data
 * x in [-1, 1] on 256 levels: the mass of N(mean, e^{2 logScale}) over the bin [x - 1/255, x + 1/255],
 * with the first bin extended to -inf and the last to +inf (edges at x < -0.999 and x > 0.999, as in
 * improved-diffusion), so the 256 probabilities sum to 1. Probabilities are floored at 1e-12.
 * `cdf`: "exact" evaluates each bin from the tail away from 0 in float64; "tanh" reproduces
 * improved-diffusion's arithmetic with its approximate CDF.
 */
export function discretizedGaussianLogLikelihood(
  x: number,
  mean: number,
  logScale: number,
  cdf: CdfKind = "exact",
): number {
  const invStd = Math.exp(-logScale);
  const lo = (x - mean - HALF_BIN) * invStd;
  const hi = (x - mean + HALF_BIN) * invStd;
  let p: number;
  if (cdf === "tanh") {
    const plus = approxStandardNormalCdf(hi);
    const minus = approxStandardNormalCdf(lo);
    p = x < -0.999 ? plus : x > 0.999 ? 1 - minus : plus - minus;
  } else {
    p = x < -0.999 ? standardNormalCdf(hi) : x > 0.999 ? standardNormalCdf(-lo) : exactBinProbability(lo, hi);
  }
  return Math.log(Math.max(p, MIN_PROB));
}

/** Throws unless every value of `x` lies in [-1, 1] (the decoder's data range). */
export function checkDecoderRange(x: ArrayLike<number>, field: string): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= -1 - 1e-6 && v <= 1 + 1e-6)) {
      invalid(`${field}[${i}]`, v, "in [-1, 1] (8-bit data scaled as k / 127.5 - 1)");
    }
  }
}
