/**
 * The probability-flow ODE of the VP SDE (Song et al. 2021, eq. 13),
 *   dx/dt = -1/2 beta(t) (x + score) = -1/2 beta(t) (x - eps_hat / sqrt(1 - abar(t))),
 * integrated with an adaptive Dormand-Prince RK5(4) solver (Dormand & Prince 1980; the FSAL pair of
 * scipy's RK45 and of score_sde's `ode_sampler`, which calls scipy). The ODE is deterministic and
 * invertible: `encodeProbabilityFlow` maps data to latents at t = 1 and `sampleProbabilityFlow` back.
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb, type Term } from "../combine.js";
import type { EpsModel } from "./sde.js";
import type { VpSde } from "./vp-sde.js";

export type OdeFunction = (t: number, y: T.Tensor) => T.Tensor | Promise<T.Tensor>;

export interface Rk45Options {
  rtol?: number;
  atol?: number;
  /** Initial step size (default: scipy's heuristic). */
  firstStep?: number;
  /** Give up after this many steps (default 10000). */
  maxSteps?: number;
}

export interface Rk45Result {
  y: T.Tensor;
  /** Number of f evaluations. */
  nfev: number;
  /** Accepted and rejected steps. */
  steps: number;
  rejected: number;
}

const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
/** Fifth-order weights (also the last stage's row, FSAL). */
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
/** Fifth minus fourth order weights over the 7 stages (the error estimate). */
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/** Root mean square of v / (atol + rtol max(|y|, |y2|)). */
function scaledRms(v: T.Tensor, y: T.Tensor, y2: T.Tensor, rtol: number, atol: number): number {
  const a = v.values();
  const p = y.values();
  const q = y2.values();
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const scale = atol + rtol * Math.max(Math.abs(p[i]), Math.abs(q[i]));
    s += (a[i] / scale) ** 2;
  }
  return Math.sqrt(s / Math.max(a.length, 1));
}

/** y + h sum_j w_j k_j (terms with weight 0 skipped). */
function advance(y: T.Tensor, h: number, weights: readonly number[], k: readonly T.Tensor[]): T.Tensor {
  const terms: Term[] = [[1, y]];
  weights.forEach((w, j) => {
    if (w !== 0) terms.push([h * w, k[j]]);
  });
  return lincomb(...terms);
}

/** scipy's `select_initial_step` for order 4 (Hairer, Norsett & Wanner, Sec. II.4). */
async function initialStep(
  f: OdeFunction,
  t0: number,
  y0: T.Tensor,
  f0: T.Tensor,
  dir: number,
  rtol: number,
  atol: number,
) {
  const d0 = scaledRms(y0, y0, y0, rtol, atol);
  const d1 = scaledRms(f0, y0, y0, rtol, atol);
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  const y1 = lincomb([1, y0], [h0 * dir, f0]);
  const f1 = await f(t0 + h0 * dir, y1);
  const d2 = scaledRms(T.sub(f1, f0), y0, y0, rtol, atol) / h0;
  const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
  return Math.min(100 * h0, h1);
}

/** Integrate dy/dt = f(t, y) from t0 to t1 (either direction) with adaptive Dormand-Prince RK5(4). */
export async function rk45(
  f: OdeFunction,
  y0: T.Tensor,
  t0: number,
  t1: number,
  options: Rk45Options = {},
): Promise<Rk45Result> {
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-5;
  if (!(rtol > 0)) invalid("rtol", rtol, "a number > 0");
  if (!(atol > 0)) invalid("atol", atol, "a number > 0");
  const maxSteps = options.maxSteps ?? 10000;
  const dir = Math.sign(t1 - t0);
  let t = t0;
  let y = y0;
  let k1 = await f(t, y);
  let nfev = 1;
  let h = options.firstStep ?? (dir === 0 ? 0 : await initialStep(f, t0, y0, k1, dir, rtol, atol));
  if (options.firstStep === undefined && dir !== 0) nfev++;
  let steps = 0;
  let rejected = 0;
  while (dir !== 0 && (t1 - t) * dir > 0) {
    if (steps + rejected >= maxSteps)
      invalid("maxSteps", maxSteps, `enough to reach t1 = ${t1} (stopped at t = ${t})`);
    const hs = Math.min(h, Math.abs(t1 - t)) * dir;
    const k: T.Tensor[] = [k1];
    for (let s = 1; s < 6; s++) {
      k.push(await f(t + C[s] * hs, advance(y, hs, A[s], k)));
    }
    const yNew = advance(y, hs, B, k);
    const k7 = await f(t + hs, yNew);
    nfev += 6;
    k.push(k7);
    const err = scaledRms(advance(T.zerosLike(y), hs, E, k), y, yNew, rtol, atol);
    if (err <= 1) {
      t += hs;
      y = yNew;
      k1 = k7;
      steps++;
      h = Math.abs(hs) * (err === 0 ? 10 : Math.min(10, 0.9 * err ** -0.2));
    } else {
      rejected++;
      h = Math.abs(hs) * Math.max(0.2, 0.9 * err ** -0.2);
    }
  }
  return { y, nfev, steps, rejected };
}

/** The probability-flow drift -1/2 beta(t) (x - eps_hat / sqrt(1 - abar(t))). */
/** The PF-ODE drift as f = x * coefficients.x + eps_hat * coefficients.eps (Song et al. eq. 13, VP SDE). */
export function flowCoefficients(sde: VpSde, t: number): { x: number; eps: number } {
  const beta = sde.beta(t);
  return { x: -0.5 * beta, eps: (0.5 * beta) / Math.sqrt(1 - sde.alphaBar(t)) };
}

export function probabilityFlowDrift(model: EpsModel, sde: VpSde): OdeFunction {
  return async (t, x) => {
    const c = flowCoefficients(sde, t);
    return lincomb([c.x, x], [c.eps, await model(x, t)]);
  };
}

export interface FlowOptions extends Rk45Options {
  /** The small time where the data end of the ODE is taken (default 1e-3). */
  tEnd?: number;
}

function checkEnd(tEnd: number): number {
  if (!(tEnd > 0 && tEnd < 1)) invalid("tEnd", tEnd, "a time in (0, 1)");
  return tEnd;
}

/** Solve the PF-ODE from x_1 = xT down to tEnd: a deterministic sample. */
export async function sampleProbabilityFlow(
  model: EpsModel,
  sde: VpSde,
  xT: T.Tensor,
  options: FlowOptions = {},
): Promise<Rk45Result> {
  return rk45(probabilityFlowDrift(model, sde), xT, 1, checkEnd(options.tEnd ?? 1e-3), options);
}

/** Solve the PF-ODE from data at tEnd up to t = 1: the latent of x0. */
export async function encodeProbabilityFlow(
  model: EpsModel,
  sde: VpSde,
  x0: T.Tensor,
  options: FlowOptions = {},
): Promise<Rk45Result> {
  return rk45(probabilityFlowDrift(model, sde), x0, checkEnd(options.tEnd ?? 1e-3), 1, options);
}
