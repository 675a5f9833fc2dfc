/**
 * Consistency training without a teacher (Song et al. 2023, Algorithm 3) with the improved recipe of
 * Song & Dhariwal 2023 ("Improved Techniques for Training Consistency Models", iCT): no EMA target
 * (theta- = stopgrad theta), pseudo-Huber distance, log-normal sampling of the noise level, weights
 * lambda = 1 / (s_{n+1} - s_n) and the doubling discretisation curriculum (`diffuse train --objective
 * consistency`, through few-step-objectives.ts).
 *
 * On a VP grid (consistency-loss.ts: s_t = sigma_t / alpha_t, the same f and c_skip / c_out), with
 * ONE noise draw eps for both ends of the pair (the unbiased one-sample estimate of the teacher's
 * step, Song et al. 2023 Theorem 2):
 *   x_hi = alpha_hi x0 + sigma_hi eps,   x_lo = alpha_lo x0 + sigma_lo eps
 *   L    = mean_i lambda_i d(f_theta(x_hi, t_hi), stopgrad f_theta(x_lo, t_lo))
 * Noise levels: P(n) proportional to erf((ln s_{n+1} - P_mean) / (sqrt 2 P_std)) - erf((ln s_n - P_mean)
 * / (sqrt 2 P_std)), P_mean = -1.1, P_std = 2 (iCT Sec. 3.5). Curriculum (iCT eq. 6):
 * N(k) = min(s0 2^floor(k / K'), s1) + 1, K' = floor(K / (log2 floor(s1 / s0) + 1)), s0 = 10, s1 = 1280.
 * Browser-safe.
 */
import { type Key, split, uniform } from "../random/index.js";
import * as T from "../tensor/index.js";
import {
  type ConsistencyBatch,
  type ConsistencyConfig,
  type ConsistencyTables,
  consistencyFunction,
  drawConsistencyInputs,
} from "./consistency-loss.js";
import type { DenoiserFn } from "./losses.js";

/** The batch of consistency training: the distillation batch's tensors and per-example lambda [B]. */
export type ConsistencyTrainingBatch = Omit<ConsistencyBatch<unknown>, "teacher" | "target"> & {
  weight: T.Tensor;
};

/** Number of grid points at training step k of K (iCT eq. 6). */
export function ictScales(k: number, totalSteps: number, s0 = 10, s1 = 1280): number {
  const kPrime = Math.floor(totalSteps / (Math.log2(Math.floor(s1 / s0)) + 1));
  return Math.min(s0 * 2 ** Math.floor(k / Math.max(kPrime, 1)), s1) + 1;
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

/** P(n) of the pair (n, n + 1) for VE levels `s` (ascending): the log-normal mass between them. */
export function lognormalPairWeights(s: ArrayLike<number>, pMean = -1.1, pStd = 2): Float64Array {
  const c = (v: number) => erf((Math.log(v) - pMean) / (Math.SQRT2 * pStd));
  const w = Float64Array.from({ length: s.length - 1 }, (_, n) => c(s[n + 1]!) - c(s[n]!));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/** The traced consistency-training loss (see the file comment). */
export function consistencyTrainingLoss<P>(
  model: DenoiserFn<P>,
  cfg: ConsistencyConfig,
): (params: P, batch: ConsistencyTrainingBatch) => T.Tensor {
  if (cfg.prediction === "epsilon") {
    // x0 = (x - sigma eps) / alpha multiplies an untrained net's error by 1 / alpha (~156 at the top of
    // the linear schedule): on moons one-step samples landed at distance 47 from the data, against
    // 0.061 with "sample" (Song et al.'s F_theta read directly).
    throw new Error(
      `consistency training: prediction is "epsilon"; expected "sample" or "v_prediction" (an epsilon network's x0 = (x - sigma eps) / alpha blows up near alpha = 0 when trained from scratch)`,
    );
  }
  const f = consistencyFunction(model, cfg.prediction);
  return (params, b) => {
    const per = (v: T.Tensor) => T.reshape(v, [b.x0.shape[0]!, ...new Array<number>(b.x0.rank - 1).fill(1)]);
    const at = (p: ConsistencyBatch<P>["hi"]) =>
      T.add(T.mul(per(p.alpha), b.x0), T.mul(per(p.sigma), b.noise));
    const target = T.stopGradient(f(T.mapTree(T.stopGradient, params), at(b.lo), b.lo, b.labels));
    const d = T.sub(f(params, at(b.hi), b.hi, b.labels), target);
    const axes = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
    const dim = d.size / d.shape[0]!;
    const c = cfg.huberC ?? 0.00054 * Math.sqrt(dim);
    const perItem =
      cfg.distance === "l2"
        ? T.mean(T.square(d), axes)
        : T.sub(T.sqrt(T.add(T.sum(T.square(d), axes), c * c)), c);
    return T.mean(T.mul(perItem, b.weight));
  };
}

/**
 * One batch: n drawn from `pairWeights` (default uniform), eps ~ N(0, I), lambda = 1 / (s_{n+1} - s_n)
 * with s the VE levels of `tables`.
 */
export function drawConsistencyTrainingInputs(
  key: Key,
  x0: Float32Array,
  shape: readonly number[],
  tables: ConsistencyTables,
  pairWeights?: ArrayLike<number>,
  labels?: Int32Array,
): ConsistencyTrainingBatch {
  const [kBase, kPick] = split(key, 2);
  const base = drawConsistencyInputs(kBase!, x0, shape, tables, null, undefined, labels);
  const B = shape[0]!;
  const N = tables.grid.length;
  const w = pairWeights ?? new Float64Array(N - 1).fill(1 / (N - 1));
  if (w.length !== N - 1)
    throw new Error(`consistency training: ${w.length} pair weights for a grid of ${N}; expected ${N - 1}`);
  const cdf = new Float64Array(N - 1);
  let acc = 0;
  for (let n = 0; n < N - 1; n++) cdf[n] = acc += w[n]!;
  const n = Array.from(uniform(kPick!, B), (u) => {
    const i = cdf.findIndex((c) => u * acc < c);
    return i < 0 ? N - 2 : i;
  });
  const s = Array.from(tables.alpha, (a, i) => tables.sigma[i]! / a);
  const col = (table: ArrayLike<number>, off: number) =>
    T.tensor(
      Float32Array.from(n, (i) => table[i + off]!),
      [B],
    );
  const point = (off: number) => ({
    t: T.tensor(
      Int32Array.from(n, (i) => tables.grid[i + off]!),
      [B],
      "int32",
    ),
    alpha: col(tables.alpha, off),
    sigma: col(tables.sigma, off),
    cSkip: col(tables.cSkip, off),
    cOut: col(tables.cOut, off),
  });
  return {
    x0: base.x0,
    noise: base.noise,
    ...(base.labels ? { labels: base.labels } : {}),
    hi: point(1),
    lo: point(0),
    weight: T.tensor(
      Float32Array.from(n, (i) => 1 / (s[i + 1]! - s[i]!)),
      [B],
    ),
  };
}
