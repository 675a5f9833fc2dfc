/**
 * Consistency distillation (Song, Dhariwal, Chen & Sutskever 2023, "Consistency Models", Algorithm 2)
 * from a VP diffusion teacher of this project, as a pure traced loss (the trainer's objective through
 * few-step-objectives.ts; `diffuse distill --method consistency`).
 *
 * Notation: the teacher's discrete schedule gives alpha_t = sqrt(abar_t), sigma_t = sqrt(1 - abar_t)
 * and the VE noise level s_t = sigma_t / alpha_t (x = x_t / alpha_t = x0 + s_t eps). The consistency
 * function uses the boundary-condition parametrisation of Song et al. (Sec. 3 and App. C, with
 * epsilon = s_min, the lowest noise level of the grid, and sigma_data = 0.5):
 *
 *   c_skip(s) = sigma_data^2 / ((s - s_min)^2 + sigma_data^2)
 *   c_out(s)  = sigma_data (s - s_min) / sqrt(sigma_data^2 + s^2)
 *   f_theta(x_t, t) = c_skip(s_t) x_t / alpha_t + c_out(s_t) x0hat_theta(x_t, t)
 *
 * where x0hat is the network's data prediction for its prediction type (as Latent Consistency Models,
 * Luo et al. 2023, eq. 9, so a student initialised from the teacher starts from the teacher's x0).
 * c_skip(s_min) = 1 and c_out(s_min) = 0 exactly, so f(x, s_min) = x (the boundary condition).
 *
 * On a grid of N timesteps t_0 < ... < t_{N-1} of the teacher (hi = t_{n+1}, lo = t_n, n uniform):
 *   x_hi   = alpha_hi x0 + sigma_hi eps
 *   x_lo   = alpha_lo x0hat_phi + sigma_lo epshat_phi          one DDIM step (eta = 0) of the teacher phi
 *   L      = mean_i d(f_theta(x_hi, t_hi), stopgrad f_theta-(x_lo, t_lo))
 * theta- is the EMA target network (its parameters are an input, so no gradient reaches them); when
 * absent, theta- = stopgrad(theta) (the improved recipe's mu = 0, Song & Dhariwal 2023). d is L2 (mean
 * square) or the pseudo-Huber sqrt(||a - b||^2 + c^2) - c per example (Song & Dhariwal 2023, Sec. 3.3,
 * c = 0.00054 sqrt(dim) by default). Randomness (eps, n) is drawn on the host (`drawConsistencyInputs`).
 * Browser-safe.
 */
import type { ConsistencyTables } from "../diffusion/consistency-grid.js";
import type { PredictionType } from "../diffusion/loss-weights.js";
import { type Key, normal, randint, split } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { DenoiserFn } from "./losses.js";

export {
  boundaryCoefficients,
  type ConsistencyTables,
  consistencyTables,
} from "../diffusion/consistency-grid.js";

export const CONSISTENCY_DISTANCES = ["l2", "pseudo-huber"] as const;

export interface ConsistencyConfig {
  /** The teacher's (and student's) prediction type. */
  prediction: PredictionType;
  distance: (typeof CONSISTENCY_DISTANCES)[number];
  /** c of the pseudo-Huber distance; default 0.00054 sqrt(dim). */
  huberC?: number;
  /** sigma_data of c_skip / c_out (default 0.5, Song et al.). */
  sigmaData?: number;
  /**
   * The teacher's step from t_hi to t_lo: "ddim" (default; one evaluation) or "heun" (Karras et al.
   * 2022, Algorithm 1 without churn, in the VE variable x / alpha: two evaluations).
   */
  solver?: "ddim" | "heun";
}

/** The per-example tensors of one timestep side (hi or lo), each [B]. */
export interface GridPoint {
  t: T.Tensor;
  alpha: T.Tensor;
  sigma: T.Tensor;
  cSkip: T.Tensor;
  cOut: T.Tensor;
}

export interface ConsistencyBatch<P> {
  x0: T.Tensor;
  noise: T.Tensor;
  hi: GridPoint;
  lo: GridPoint;
  /** The teacher's parameters (an input: never differentiated). */
  teacher: P;
  /** The EMA target's parameters; absent: stopgrad of the online parameters. */
  target?: P;
  /** Class labels [B] (int32) of a class-conditional teacher and student. */
  labels?: T.Tensor;
}

function perExample(v: T.Tensor, like: T.Tensor): T.Tensor {
  return T.reshape(v, [like.shape[0]!, ...new Array<number>(like.rank - 1).fill(1)]);
}

/** x0hat and epshat from a VP model output (parametrization.ts's rules, per-example coefficients). */
function predictions(type: PredictionType, out: T.Tensor, x: T.Tensor, a: T.Tensor, s: T.Tensor) {
  if (type === "epsilon") return { x0: T.div(T.sub(x, T.mul(s, out)), a), eps: out };
  if (type === "sample") return { x0: out, eps: T.div(T.sub(x, T.mul(a, out)), s) };
  return { x0: T.sub(T.mul(a, x), T.mul(s, out)), eps: T.add(T.mul(a, out), T.mul(s, x)) };
}

/** f(x_t, t) = c_skip x_t / alpha + c_out x0hat (the boundary-condition parametrisation). */
export function consistencyFunction<P>(
  model: DenoiserFn<P>,
  prediction: PredictionType,
): (params: P, x: T.Tensor, at: GridPoint, labels?: T.Tensor) => T.Tensor {
  return (params, x, at, labels) => {
    const [a, s] = [perExample(at.alpha, x), perExample(at.sigma, x)];
    const x0 = predictions(prediction, model(params, x, at.t, labels), x, a, s).x0;
    return T.add(T.mul(perExample(at.cSkip, x), T.div(x, a)), T.mul(perExample(at.cOut, x), x0));
  };
}

/** The traced consistency-distillation loss (see the file comment). */
export function consistencyDistillationLoss<P>(
  model: DenoiserFn<P>,
  cfg: ConsistencyConfig,
): (params: P, batch: ConsistencyBatch<P>) => T.Tensor {
  const f = consistencyFunction(model, cfg.prediction);
  return (params, b) => {
    const per = (v: T.Tensor) => perExample(v, b.x0);
    const xHi = T.add(T.mul(per(b.hi.alpha), b.x0), T.mul(per(b.hi.sigma), b.noise));
    const xLo = T.stopGradient(teacherStep(model, cfg, b, xHi));
    const targetParams = b.target ?? T.mapTree(T.stopGradient, params);
    const target = T.stopGradient(f(targetParams, xLo, b.lo, b.labels));
    const pred = f(params, xHi, b.hi, b.labels);
    const d = T.sub(pred, target);
    const axes = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
    if (cfg.distance === "l2") return T.mean(T.square(d));
    const dim = d.size / d.shape[0]!;
    const c = cfg.huberC ?? 0.00054 * Math.sqrt(dim);
    return T.mean(T.sub(T.sqrt(T.add(T.sum(T.square(d), axes), c * c)), c));
  };
}

/**
 * The teacher's ODE step from x_hi to t_lo. DDIM (eq. 12, eta = 0): x_lo = alpha_lo x0hat + sigma_lo
 * epshat. In y = x / alpha (VE, y = x0 + s eps) DDIM is Euler on dy/ds = epshat(y, s); Heun averages
 * that slope with the one at the Euler point (Karras et al. 2022, Algorithm 1, lines 5-7). Exported
 * for its tests (the loss calls it).
 */
export function teacherStep<P>(
  model: DenoiserFn<P>,
  cfg: ConsistencyConfig,
  b: ConsistencyBatch<P>,
  xHi: T.Tensor,
): T.Tensor {
  const per = (v: T.Tensor) => perExample(v, b.x0);
  const [aHi, sHi, aLo, sLo] = [per(b.hi.alpha), per(b.hi.sigma), per(b.lo.alpha), per(b.lo.sigma)];
  const p = predictions(cfg.prediction, model(b.teacher, xHi, b.hi.t, b.labels), xHi, aHi, sHi);
  const ddim = T.add(T.mul(aLo, p.x0), T.mul(sLo, p.eps));
  if ((cfg.solver ?? "ddim") === "ddim") return ddim;
  const p2 = predictions(cfg.prediction, model(b.teacher, ddim, b.lo.t, b.labels), ddim, aLo, sLo);
  // y_lo = y_hi + (s_lo - s_hi) (eps1 + eps2) / 2, s = sigma / alpha; x_lo = alpha_lo y_lo.
  const ds = T.sub(T.div(sLo, aLo), T.div(sHi, aHi));
  const yLo = T.add(T.div(xHi, aHi), T.mul(ds, T.mul(T.add(p.eps, p2.eps), 0.5)));
  return T.mul(aLo, yLo);
}

/** The random inputs of one batch from one key: eps and the grid index n (hi = n + 1, lo = n). */
export function drawConsistencyInputs<P>(
  key: Key,
  x0: Float32Array,
  shape: readonly number[],
  tables: ConsistencyTables,
  teacher: P,
  target?: P,
  labels?: Int32Array,
): ConsistencyBatch<P> {
  const [kNoise, kIndex] = split(key, 2);
  const B = shape[0]!;
  const n = randint(kIndex!, B, 0, tables.grid.length - 1);
  const point = (offset: number): GridPoint => {
    const pick = (table: ArrayLike<number>) =>
      T.tensor(
        Float32Array.from(n, (i) => table[i + offset]!),
        [B],
      );
    return {
      t: T.tensor(
        Int32Array.from(n, (i) => tables.grid[i + offset]!),
        [B],
        "int32",
      ),
      alpha: pick(tables.alpha),
      sigma: pick(tables.sigma),
      cSkip: pick(tables.cSkip),
      cOut: pick(tables.cOut),
    };
  };
  return {
    x0: T.tensor(x0, [...shape]),
    noise: T.tensor(normal(kNoise!, x0.length), [...shape]),
    hi: point(1),
    lo: point(0),
    teacher,
    ...(target ? { target } : {}),
    ...(labels ? { labels: T.tensor(labels, [B], "int32") } : {}),
  };
}
