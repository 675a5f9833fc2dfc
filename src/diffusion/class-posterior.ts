/**
 * The class posterior p(y | x_known) of a class-conditional diffusion model, from its own denoising
 * errors (a "diffusion classifier": Li et al. 2023, "Your Diffusion Model is Secretly a Zero-Shot
 * Classifier"; Clark & Jaini 2023). The ELBO bounds log p(x | y) by minus a weighted sum over noise
 * levels of the denoising error || eps - eps_theta(x_t, t, y) ||^2, so with a uniform prior
 *
 *   log p(y | x) = -E_{t, eps}[ || m * (eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t, y)) ||^2 ] / tau + C
 *
 * estimated with the same (t, eps) draws for every class (the differences between classes then carry
 * far less Monte Carlo noise than the errors themselves). `m` restricts the error to the known
 * entries (mask 1): only they are evidence; the unknown entries of x0 are a fill (e.g. a first
 * completion) that the network needs as input. tau (`temperature`) sets how sharp the posterior is:
 * the true ELBO weights the levels differently and scales with the number of timesteps; tau = 1 on
 * the mean error over the draws is the plain estimate, argmax does not depend on it.
 *
 * The network is reached through `ClassModelFn` (diffusion/ never sees it); the output is converted to
 * eps with the model's prediction type. Browser-safe.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import type { NoiseSource } from "./noise.js";
import { type PredictionType, predictEps } from "./parametrization.js";

/** The network on a batch x [B, ...] at one timestep t with one class per row y [B] (int32). */
export type ClassModelFn = (x: T.Tensor, t: number, y: T.Tensor) => Promise<T.Tensor>;

export interface ClassPosteriorOptions extends Omit<DenoisingErrorOptions, "noiseRows"> {
  /** Number of classes K (labels 0..K-1 are scored; every class of a sample on the same noise). */
  numClasses: number;
  /** tau of the module header (default 1). */
  temperature?: number;
}

export interface ClassPosterior {
  /** p(y | x_known), [N, K] row-major; each row sums to 1. */
  probs: Float64Array;
  /** The mean masked squared error per (sample, class), [N, K]. */
  errors: Float64Array;
  /** argmax of each row. */
  argmax: Int32Array;
  numClasses: number;
}

/** Softmax over classes of -errors / temperature, row by row ([N, K]); the uniform prior cancels. */
export function posteriorFromErrors(
  errors: ArrayLike<number>,
  numClasses: number,
  temperature = 1,
): { probs: Float64Array; argmax: Int32Array } {
  if (!(temperature > 0 && Number.isFinite(temperature)))
    invalid("class posterior temperature", temperature, "a finite number > 0");
  const K = numClasses;
  const N = errors.length / K;
  if (!Number.isInteger(N)) invalid("class posterior errors", errors.length, `a multiple of ${K}`);
  const probs = new Float64Array(errors.length);
  const argmax = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let min = Number.POSITIVE_INFINITY;
    for (let k = 0; k < K; k++) {
      const e = errors[n * K + k]!;
      if (e < min) {
        min = e;
        argmax[n] = k;
      }
    }
    let z = 0;
    for (let k = 0; k < K; k++) {
      const p = Math.exp(-(errors[n * K + k]! - min) / temperature);
      probs[n * K + k] = p;
      z += p;
    }
    for (let k = 0; k < K; k++) probs[n * K + k]! /= z;
  }
  return { probs, argmax };
}

/** One class per row drawn from each row of `probs` ([N, K]) with the uniforms `u` (N of them in [0, 1)). */
export function sampleClasses(
  probs: ArrayLike<number>,
  numClasses: number,
  u: ArrayLike<number>,
): Int32Array {
  const N = probs.length / numClasses;
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let c = 0;
    let k = 0;
    for (; k < numClasses - 1; k++) {
      c += probs[n * numClasses + k]!;
      if (u[n]! < c) break;
    }
    out[n] = k;
  }
  return out;
}

/** The noise levels, draws and model settings of a masked denoising error estimate. */
export interface DenoisingErrorOptions {
  /** Model timesteps at which the error is measured (each with `draws` noise draws). */
  timesteps: readonly number[];
  /** The schedule's abar_t, indexed by model timestep. */
  alphasCumprod: ArrayLike<number>;
  predictionType: PredictionType;
  /** Noise draws, [noiseRows, ...] at a time. */
  noise: NoiseSource;
  /** Noise draws per timestep (default 1). */
  draws?: number;
  /** Rows per network call (default: all rows at once). */
  batch?: number;
  /**
   * Distinct noise rows per draw (default: one per row of x0): row r of x0 is noised with row
   * r % noiseRows, so rows that are versions of one sample (its classes, its candidate completions)
   * share their noise and their errors differ by far less Monte Carlo noise.
   */
  noiseRows?: number;
}

/**
 * The mean masked squared error || m * (eps - eps_theta(x_t, t, y)) ||^2 of each row of x0 [R, ...]
 * with its own class `labels[r]`, over `timesteps` x `draws` (the module header's estimate of
 * -log p(x_known | y) up to scale). Returns [R].
 */
export async function maskedDenoisingErrors(
  model: ClassModelFn,
  x0: T.Tensor,
  mask: T.Tensor,
  labels: Int32Array,
  o: DenoisingErrorOptions,
): Promise<Float64Array> {
  if (o.timesteps.length === 0) invalid("class posterior timesteps", "[]", "at least one timestep");
  for (const t of o.timesteps) {
    if (!(Number.isInteger(t) && t >= 0 && t < o.alphasCumprod.length))
      invalid("class posterior timestep", t, `an integer in [0, ${o.alphasCumprod.length})`);
  }
  const draws = o.draws ?? 1;
  if (!(Number.isInteger(draws) && draws >= 1)) invalid("class posterior draws", draws, "an integer >= 1");
  const shape = [...x0.shape];
  if (mask.shape.length !== shape.length || mask.shape.some((d, i) => d !== shape[i]))
    invalid("class posterior mask shape", `[${mask.shape.join(", ")}]`, `[${shape.join(", ")}] (as x0)`);
  const rows = shape[0]!;
  if (labels.length !== rows) invalid("class posterior labels", labels.length, `one per row of x0 (${rows})`);
  const N = o.noiseRows ?? rows;
  if (!(Number.isInteger(N) && N >= 1 && rows % N === 0))
    invalid("class posterior noiseRows", N, `a divisor of the rows of x0 (${rows})`);
  const D = x0.size / rows;
  const m = mask.values();
  const errors = new Float64Array(rows);
  const batch = Math.max(1, Math.min(o.batch ?? rows, rows));
  const ch = shape[1]!;
  for (const t of o.timesteps) {
    const abar = o.alphasCumprod[t]!;
    const c = { alpha: Math.sqrt(abar), sigma: Math.sqrt(1 - abar) };
    for (let d = 0; d < draws; d++) {
      const eps = o.noise([N, ...shape.slice(1)]);
      const ev = eps.values();
      const epsRows =
        N === rows
          ? eps
          : T.concat(
              Array.from({ length: rows / N }, () => eps),
              0,
            );
      const xv = T.add(T.mul(x0, c.alpha), T.mul(epsRows, c.sigma)).values();
      for (let r0 = 0; r0 < rows; r0 += batch) {
        const b = Math.min(batch, rows - r0);
        const xb = T.tensor(xv.subarray(r0 * D, (r0 + b) * D) as Float32Array, [b, ...shape.slice(1)]);
        const out = await model(xb, t, T.tensor(labels.subarray(r0, r0 + b), [b], "int32"));
        const main = shape.length > 2 && out.shape[1] === 2 * ch ? T.narrow(out, 1, 0, ch) : out;
        const e = predictEps(o.predictionType, main, xb, c).values();
        for (let j = 0; j < b; j++) {
          const r = r0 + j;
          const n = r % N;
          let s = 0;
          for (let i = 0; i < D; i++) {
            const w = m[r * D + i]!;
            if (w === 0) continue;
            const diff = ev[n * D + i]! - e[j * D + i]!;
            s += w * diff * diff;
          }
          errors[r]! += s / (o.timesteps.length * draws);
        }
      }
    }
  }
  return errors;
}

/**
 * p(y | x0 at the known entries) for x0 [N, ...] (known entries given, the rest a fill) and `mask`
 * (same shape, 1 = known): the module header's estimate with every class scored on the same draws.
 */
export async function classPosterior(
  model: ClassModelFn,
  x0: T.Tensor,
  mask: T.Tensor,
  o: ClassPosteriorOptions,
): Promise<ClassPosterior> {
  const K = o.numClasses;
  if (!(Number.isInteger(K) && K >= 2)) invalid("class posterior numClasses", K, "an integer >= 2");
  const N = x0.shape[0]!;
  // Rows k N + n: sample n with class k, every class of a sample on the same noise.
  const tile = (x: T.Tensor) =>
    T.concat(
      Array.from({ length: K }, () => x),
      0,
    );
  if (mask.shape.length !== x0.shape.length || mask.shape.some((d, i) => d !== x0.shape[i]))
    invalid("class posterior mask shape", `[${mask.shape.join(", ")}]`, `[${x0.shape.join(", ")}] (as x0)`);
  const labels = Int32Array.from({ length: N * K }, (_, r) => Math.floor(r / N));
  const byRow = await maskedDenoisingErrors(model, tile(x0), tile(mask), labels, { ...o, noiseRows: N });
  const errors = new Float64Array(N * K);
  for (let r = 0; r < N * K; r++) errors[(r % N) * K + Math.floor(r / N)] = byRow[r]!;
  const { probs, argmax } = posteriorFromErrors(errors, K, o.temperature ?? 1);
  return { probs, errors, argmax, numClasses: K };
}

/** The `count` most probable classes of each row of `probs` ([N, K]), best first: [count][N]. */
export function topClasses(probs: ArrayLike<number>, numClasses: number, count: number): Int32Array[] {
  if (!(Number.isInteger(count) && count >= 1 && count <= numClasses))
    invalid("class candidates", count, `an integer in [1, ${numClasses}]`);
  const N = probs.length / numClasses;
  const out = Array.from({ length: count }, () => new Int32Array(N));
  for (let n = 0; n < N; n++) {
    const order = Array.from({ length: numClasses }, (_, k) => k).sort(
      (a, b) => probs[n * numClasses + b]! - probs[n * numClasses + a]! || a - b,
    );
    for (let r = 0; r < count; r++) out[r]![n] = order[r]!;
  }
  return out;
}

/**
 * `count` model timesteps spread evenly over [lo T, hi T] (default [0.1 T, 0.7 T]; one: the middle).
 * The ends carry little class evidence: near t = 0 the error is pixel noise the class does not
 * change, near t = T the known part is drowned. 5 levels on T = 1000: 100, 250, 400, 550, 700.
 */
export function posteriorTimesteps(numTrainTimesteps: number, count: number, lo = 0.1, hi = 0.7): number[] {
  if (!(Number.isInteger(count) && count >= 1)) invalid("class posterior levels", count, "an integer >= 1");
  if (!(lo >= 0 && hi <= 1 && lo <= hi)) invalid("class posterior range", [lo, hi], "0 <= lo <= hi <= 1");
  const T = numTrainTimesteps;
  const at = (f: number) => Math.min(T - 1, Math.round(f * T));
  if (count === 1) return [at((lo + hi) / 2)];
  return Array.from({ length: count }, (_, i) => at(lo + ((hi - lo) * i) / (count - 1)));
}
