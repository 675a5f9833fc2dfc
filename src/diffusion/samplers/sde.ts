/**
 * Stochastic samplers of the reverse-time VP SDE (Song et al. 2021) over an eps-model
 * `(x, t) => eps_hat` in continuous time t in [0, 1]:
 * - `sampleReverseSde`: Euler-Maruyama on dx = [-1/2 beta x - beta score] dt + sqrt(beta) dw_bar
 *   (eq. 6), integrated from t = 1 to `tEnd`, with no noise on the last step;
 * - `samplePredictorCorrector`: the same predictor followed by Langevin corrector steps (Algorithm 4,
 *   score_sde `LangevinCorrector`): eps = 2 alpha_i (snr ||z|| / ||score||)^2 per batch element,
 *   x <- x + eps score + sqrt(2 eps) z, alpha_i = 1 - beta(t) / N.
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb } from "../combine.js";
import type { NoiseSource } from "../noise.js";
import { scoreFromEps } from "../parametrization.js";
import type { VpSde } from "./vp-sde.js";

/** A noise-prediction model in continuous time. */
export type EpsModel = (x: T.Tensor, t: number) => T.Tensor | Promise<T.Tensor>;

export interface SdeSampleOptions {
  /** Number of predictor steps. */
  steps: number;
  noise: NoiseSource;
  /** Where integration stops (score_sde uses 1e-3). */
  tEnd?: number;
  onStep?: (index: number, t: number, x: T.Tensor) => void;
  /**
   * Replaces the sample after predictor step `index`, which reached time `t` (constraints/hook.ts);
   * undefined keeps it. Runs before `onStep`.
   */
  hook?: (x: T.Tensor, index: number, t: number) => T.Tensor | undefined | Promise<T.Tensor | undefined>;
}

function checkSde(steps: number, tEnd: number): void {
  if (!Number.isInteger(steps) || steps < 1) invalid("steps", steps, "an integer >= 1");
  if (!(tEnd > 0 && tEnd < 1)) invalid("tEnd", tEnd, "a time in (0, 1)");
}

async function score(model: EpsModel, sde: VpSde, x: T.Tensor, t: number): Promise<T.Tensor> {
  return scoreFromEps(await model(x, t), Math.sqrt(1 - sde.alphaBar(t)));
}

/** One reverse Euler-Maruyama step from t to t - dt; returns the mean and the sample. */
async function predictor(
  model: EpsModel,
  sde: VpSde,
  x: T.Tensor,
  t: number,
  dt: number,
  z: T.Tensor | null,
) {
  const beta = sde.beta(t);
  const s = await score(model, sde, x, t);
  // x - dt * (f - g^2 score) with f = -beta x / 2, g^2 = beta.
  const mean = lincomb([1 + 0.5 * beta * dt, x], [beta * dt, s]);
  return z ? lincomb([1, mean], [Math.sqrt(beta * dt), z]) : mean;
}

/** Reverse-SDE Euler-Maruyama sampling from x_1 = `xT` (a standard-normal draw). */
export async function sampleReverseSde(
  model: EpsModel,
  sde: VpSde,
  xT: T.Tensor,
  options: SdeSampleOptions,
): Promise<T.Tensor> {
  const tEnd = options.tEnd ?? 1e-3;
  checkSde(options.steps, tEnd);
  const dt = (1 - tEnd) / options.steps;
  let x = xT;
  for (let i = 0; i < options.steps; i++) {
    const t = 1 - i * dt;
    const last = i === options.steps - 1;
    x = await predictor(model, sde, x, t, dt, last ? null : options.noise(x.shape));
    if (options.hook) x = (await options.hook(x, i, t - dt)) ?? x;
    options.onStep?.(i, t - dt, x);
  }
  return x;
}

/** Per-batch-element L2 norms of a tensor [B, ...]. */
function batchNorms(x: T.Tensor): number[] {
  const v = x.values();
  const b = x.shape[0];
  const row = v.length / b;
  return Array.from({ length: b }, (_, i) => {
    let s = 0;
    for (let k = i * row; k < (i + 1) * row; k++) s += v[k] * v[k];
    return Math.sqrt(s);
  });
}

/** Langevin corrector step size 2 alpha (snr ||z|| / ||score||)^2, per batch element. */
export function langevinStepSizes(scoreT: T.Tensor, z: T.Tensor, snr: number, alpha: number): number[] {
  const g = batchNorms(scoreT);
  const n = batchNorms(z);
  return g.map((gi, i) => 2 * alpha * ((snr * n[i]) / gi) ** 2);
}

export interface PcSampleOptions extends SdeSampleOptions {
  /** The corrector's target signal-to-noise ratio (score_sde default 0.16 for VP). */
  snr?: number;
  /** Langevin steps per noise level. */
  correctorSteps?: number;
}

/** Predictor-corrector sampling (reverse-SDE Euler-Maruyama + Langevin corrector). */
export async function samplePredictorCorrector(
  model: EpsModel,
  sde: VpSde,
  xT: T.Tensor,
  options: PcSampleOptions,
): Promise<T.Tensor> {
  const tEnd = options.tEnd ?? 1e-3;
  checkSde(options.steps, tEnd);
  const snr = options.snr ?? 0.16;
  if (!(snr > 0)) invalid("snr", snr, "a number > 0");
  const dt = (1 - tEnd) / options.steps;
  let x = xT;
  for (let i = 0; i < options.steps; i++) {
    const t = 1 - i * dt;
    const alpha = 1 - sde.beta(t) * dt;
    if (!(alpha > 0)) {
      // The corrector's step 2 alpha (snr |z| / |score|)^2 and its noise sqrt(2 step) need alpha > 0.
      invalid(
        "steps",
        options.steps,
        `enough for the Langevin corrector: alpha = 1 - beta(t) dt = ${alpha.toPrecision(3)} <= 0 at t = ${t.toPrecision(3)}; use steps > ${Math.ceil(sde.beta(t) * (1 - tEnd))}`,
      );
    }
    for (let k = 0; k < (options.correctorSteps ?? 1); k++) {
      const s = await score(model, sde, x, t);
      const z = options.noise(x.shape);
      const eps = langevinStepSizes(s, z, snr, alpha);
      const shape = [x.shape[0], ...new Array<number>(x.rank - 1).fill(1)];
      const epsT = T.tensor(Float32Array.from(eps), shape);
      const noiseScale = T.tensor(
        Float32Array.from(eps, (e) => Math.sqrt(2 * e)),
        shape,
      );
      x = T.add(T.add(x, T.mul(epsT, s)), T.mul(noiseScale, z));
    }
    const last = i === options.steps - 1;
    x = await predictor(model, sde, x, t, dt, last ? null : options.noise(x.shape));
    if (options.hook) x = (await options.hook(x, i, t - dt)) ?? x;
    options.onStep?.(i, t - dt, x);
  }
  return x;
}
