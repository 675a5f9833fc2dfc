/**
 * Frechet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule",
 * eq. 6): the Frechet (2-Wasserstein) distance between Gaussians fitted to two feature sets,
 *
 *   FID = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr( (S1^{1/2} S2 S1^{1/2})^{1/2} ).
 *
 * pytorch-fid computes the last term as tr(sqrtm(S1 S2)) with a general (Schur) matrix square root;
 * S1 S2 is similar to the symmetric PSD matrix S1^{1/2} S2 S1^{1/2}, so both have the same
 * eigenvalues, and the trace of the square root is sum_i sqrt(lambda_i) of the symmetric one, which
 * the Jacobi method computes in float64 without complex arithmetic.
 *
 * The estimator is biased upwards: two independent samples of n points from the SAME d-dimensional
 * Gaussian N(mu, I) give E[FID] ~ 2d/n (means) + (d^2 + d)/(2n) (covariances, to first order), e.g.
 * ~0.85 for d = 128, n = 10,000 (Chong & Forsyth 2020 discuss this bias). Compare FIDs only at equal n.
 * Browser-safe.
 */
import { matmul, type Square, sqrtPsd, symmetricEigen, symmetrize, trace } from "./linalg.js";
import { expectRows, expectSameCols, type Matrix } from "./matrix.js";

/** Mean and covariance of a feature set. */
export interface Gaussian {
  mean: Float64Array;
  cov: Square;
  /** Number of points it was fitted to. */
  count: number;
}

/** Sample mean and unbiased covariance (divisor n - 1, as numpy's `np.cov`, used by pytorch-fid). */
export function fitGaussian(x: Matrix): Gaussian {
  expectRows(x, 2, "fitGaussian");
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ca = centred[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += ca * centred[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b]! /= n - 1;
      cov[b * d + a] = cov[a * d + b]!;
    }
  }
  return { mean, cov: { data: cov, n: d }, count: n };
}

export interface FidParts {
  fid: number;
  /** ||mu1 - mu2||^2 */
  meanTerm: number;
  /** tr(S1) + tr(S2) - 2 tr((S1^{1/2} S2 S1^{1/2})^{1/2}) (the squared Bures distance) */
  covTerm: number;
}

/** The Frechet distance between two Gaussians, split into its mean and covariance terms. */
export function frechetDistance(
  g1: Pick<Gaussian, "mean" | "cov">,
  g2: Pick<Gaussian, "mean" | "cov">,
): FidParts {
  const d = g1.mean.length;
  if (g2.mean.length !== d || g1.cov.n !== d || g2.cov.n !== d) {
    throw new Error(
      `frechetDistance: dimensions differ (means ${d} and ${g2.mean.length}, covariances ${g1.cov.n} and ${g2.cov.n})`,
    );
  }
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (g1.mean[j]! - g2.mean[j]!) ** 2;
  const s1h = sqrtPsd(g1.cov);
  const m = symmetrize(matmul(matmul(s1h, g2.cov), s1h));
  let traceSqrt = 0;
  for (const l of symmetricEigen(m).values) traceSqrt += Math.sqrt(Math.max(l, 0));
  const covTerm = trace(g1.cov) + trace(g2.cov) - 2 * traceSqrt;
  return { fid: meanTerm + covTerm, meanTerm, covTerm };
}

/** FID between two feature sets [n1, d] and [n2, d]. */
export function fid(x: Matrix, y: Matrix): FidParts {
  expectSameCols(x, y, "fid");
  return frechetDistance(fitGaussian(x), fitGaussian(y));
}
