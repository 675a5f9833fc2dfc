/**
 * Gaussian data with exact denoisers and closed-form likelihoods for the NLL tests.
 *
 * Isotropic data x0 ~ N(mu, s^2 I): x_t = sqrt(a) x0 + sqrt(1 - a) eps has
 *   eps*(x_t) = (x_t - sqrt(a) mu) sqrt(1 - a) / (a s^2 + 1 - a),
 *   Var(x0 | x_t) = s^2 (1 - a) / (a s^2 + 1 - a)   (per coordinate).
 * Correlated data x0 ~ N(mu, R diag(s_i^2) R^T) with R orthogonal: the same per coordinate of R^T x.
 */
import { posterior } from "../../src/diffusion/forward.js";
import { foldIn, makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";

export interface Gaussian {
  mu: number;
  s: number;
}

/** n draws of N(mu, s^2 I) in D dimensions, [n, D]. */
export function gaussianSamples(d: Gaussian, n: number, D: number, seed: number): T.Tensor {
  const z = normal(makeKey(seed), n * D);
  return T.tensor(
    Float32Array.from(z, (v) => d.mu + d.s * v),
    [n, D],
  );
}

/** -log N(x; mean, v I) per row of x [n, D], nats. */
export function gaussianNll(x: T.Tensor, mean: number, variance: number): Float64Array {
  const [n, D] = x.shape as [number, number];
  const v = x.values();
  return Float64Array.from({ length: n }, (_, b) => {
    let q = 0;
    for (let j = 0; j < D; j++) q += (v[b * D + j]! - mean) ** 2;
    return 0.5 * (D * Math.log(2 * Math.PI * variance) + q / variance);
  });
}

/** [n, 1] column of per-row values. */
function column(values: number[]): T.Tensor {
  return T.tensor(Float32Array.from(values), [values.length, 1]);
}

/** Var(x0 | x_t) per coordinate at abar = a. */
export function posteriorVarianceOfX0(d: Gaussian, a: number): number {
  return (d.s * d.s * (1 - a)) / (a * d.s * d.s + 1 - a);
}

/**
 * The variance of the true reverse kernel q(x_{t-1} | x_t) for Gaussian data (the "optimal" sigma_t^2
 * of Analytic-DPM, Bao et al. 2022): beta_tilde_t + x0Coef^2 Var(x0 | x_t). At t = 0: Var(x0 | x_0's x_1).
 */
export function optimalReverseVariance(abar: ArrayLike<number>, t: number, d: Gaussian): number {
  const p = posterior(abar[t]!, t === 0 ? 1 : abar[t - 1]!);
  const small = t === 0 ? 0 : p.varianceSmall;
  return small + p.x0Coef ** 2 * posteriorVarianceOfX0(d, abar[t]!);
}

/**
 * The exact model for the variational bound at int32 timesteps [n]: eps* per row; with `learnedRange`
 * also the channel block v = 2 frac - 1 whose learned-range variance is `optimalReverseVariance`
 * (clipped log beta_tilde as the lower end, log beta_t the upper, as improved-diffusion).
 */
export function vlbGaussianModel(abar: ArrayLike<number>, d: Gaussian, learnedRange = false) {
  const smallClipped = (t: number) =>
    posterior(abar[Math.max(t, 1)]!, abar[Math.max(t, 1) - 1]!).varianceSmall;
  return (x: T.Tensor, t: T.Tensor): T.Tensor => {
    const ts = Array.from(t.values());
    const a = ts.map((k) => abar[k]!);
    const centred = T.sub(x, column(a.map((v) => Math.sqrt(v) * d.mu)));
    const eps = T.mul(centred, column(a.map((v) => Math.sqrt(1 - v) / (v * d.s * d.s + 1 - v))));
    if (!learnedRange) return eps;
    const frac = ts.map((k) => {
      const lo = Math.log(smallClipped(k));
      const hi = Math.log(posterior(abar[k]!, k === 0 ? 1 : abar[k - 1]!).varianceLarge);
      return (Math.log(optimalReverseVariance(abar, k, d)) - lo) / (hi - lo);
    });
    const v = T.mul(T.onesLike(x), column(frac.map((f) => 2 * f - 1)));
    return T.concat([eps, v], 1);
  };
}

/**
 * The expected bound per coordinate in nats, E over x0 and the forward process, for the exact mean
 * and variance sigma_t^2 (function of t), with the continuous Gaussian decoder:
 *   L_T = 1/2 (a_T (mu^2 + s^2) + (1 - a_T) - 1 - log(1 - a_T)),
 *   L_{t-1} = 1/2 (log(sigma^2 / beta_tilde) + beta_tilde / sigma^2 - 1 + x0Coef^2 Var(x0 | x_t) / sigma^2),
 *   L_0 = 1/2 log(2 pi sigma_0^2) + Var(x0 | x_1) / (2 sigma_0^2).
 */
export function expectedVlbNats(abar: ArrayLike<number>, d: Gaussian, sigma2: (t: number) => number): number {
  const aT = abar[abar.length - 1]!;
  let total = 0.5 * (aT * (d.mu ** 2 + d.s ** 2) + (1 - aT) - 1 - Math.log(1 - aT));
  for (let t = 1; t < abar.length; t++) {
    const p = posterior(abar[t]!, abar[t - 1]!);
    const s2 = sigma2(t);
    const bt = p.varianceSmall;
    total +=
      0.5 * (Math.log(s2 / bt) + bt / s2 - 1 + (p.x0Coef ** 2 * posteriorVarianceOfX0(d, abar[t]!)) / s2);
  }
  const s0 = sigma2(0);
  return total + 0.5 * Math.log(2 * Math.PI * s0) + posteriorVarianceOfX0(d, abar[0]!) / (2 * s0);
}

/** A D x D orthogonal matrix (product of Givens rotations by fixed angles), row-major. */
export function rotation(D: number): Float64Array {
  const R = new Float64Array(D * D);
  for (let i = 0; i < D; i++) R[i * D + i] = 1;
  for (let i = 0; i + 1 < D; i++) {
    const th = 0.7 + 0.3 * i;
    const [c, s] = [Math.cos(th), Math.sin(th)];
    for (let r = 0; r < D; r++) {
      const a = R[r * D + i]!;
      const b = R[r * D + i + 1]!;
      R[r * D + i] = c * a - s * b;
      R[r * D + i + 1] = s * a + c * b;
    }
  }
  return R;
}

/** Correlated Gaussian N(mu 1, R diag(s^2) R^T). */
export interface CorrelatedGaussian {
  mu: number;
  s: number[];
  R: Float64Array;
}

/** n draws [n, D]: mu + R (s * z). */
export function correlatedSamples(g: CorrelatedGaussian, n: number, seed: number): T.Tensor {
  const D = g.s.length;
  const z = normal(foldIn(makeKey(seed), 1), n * D);
  const out = new Float32Array(n * D);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < D; i++) {
      let v = g.mu;
      for (let j = 0; j < D; j++) v += g.R[i * D + j]! * g.s[j]! * z[b * D + j]!;
      out[b * D + i] = v;
    }
  return T.tensor(out, [n, D]);
}

/**
 * The exact continuous-time eps model x -> R diag(sqrt(1 - a) / (a s_i^2 + 1 - a)) R^T (x - sqrt(a) mu)
 * at abar = abarOf(t), differentiable (matmuls on eager tensors).
 */
export function correlatedEps(g: CorrelatedGaussian, abarOf: (t: number) => number) {
  const D = g.s.length;
  const R = T.tensor(Float32Array.from(g.R), [D, D]);
  const Rt = T.transpose(R, [1, 0]);
  return (x: T.Tensor, t: number): T.Tensor => {
    const a = abarOf(t);
    const scale = T.tensor(
      g.s.map((s) => Math.sqrt(1 - a) / (a * s * s + 1 - a)),
      [1, D],
    );
    const centred = T.sub(x, Math.sqrt(a) * g.mu);
    return T.matmul(T.mul(T.matmul(centred, R), scale), Rt);
  };
}

/** log N(x; sqrt(a) mu, R diag(a s^2 + 1 - a) R^T) per row (the density of x_t at abar = a). */
export function correlatedLogDensity(g: CorrelatedGaussian, x: T.Tensor, a: number): Float64Array {
  const D = g.s.length;
  const n = x.shape[0]!;
  const v = x.values();
  const vars = g.s.map((s) => a * s * s + 1 - a);
  return Float64Array.from({ length: n }, (_, b) => {
    let out = 0;
    for (let j = 0; j < D; j++) {
      let u = 0; // (R^T (x - sqrt(a) mu))_j
      for (let i = 0; i < D; i++) u += g.R[i * D + j]! * (v[b * D + i]! - Math.sqrt(a) * g.mu);
      out += -0.5 * (Math.log(2 * Math.PI * vars[j]!) + (u * u) / vars[j]!);
    }
    return out;
  });
}

/** Rounds to the 8-bit grid k / 127.5 - 1, k clamped to [0, 255]. */
export function quantize8bit(x: T.Tensor): T.Tensor {
  const k = (v: number) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5)));
  return T.tensor(
    Float32Array.from(x.values(), (v) => k(v) / 127.5 - 1),
    [...x.shape],
  );
}

/**
 * -log2 P(k) / D per row for 8-bit data quantized from N(mu, s^2): the mass of the cell
 * [x - 1/255, x + 1/255], the end cells extended to +-infinity.
 */
export function discreteNllBits(q: T.Tensor, d: Gaussian, cdf: (z: number) => number): Float64Array {
  const [n, D] = q.shape as [number, number];
  const v = q.values();
  const half = 1 / 255;
  const mass = (x: number) => {
    const hi = x > 0.999 ? 1 : cdf((x + half - d.mu) / d.s);
    const lo = x < -0.999 ? 0 : cdf((x - half - d.mu) / d.s);
    return hi - lo;
  };
  return Float64Array.from({ length: n }, (_, b) => {
    let bits = 0;
    for (let j = 0; j < D; j++) bits -= Math.log2(mass(v[b * D + j]!));
    return bits / D;
  });
}
