/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of
 * Diffusion Models") as diffusers 0.30.3's `UniPCMultistepScheduler`: the UniP-p predictor
 * (Algorithm 2, "bh1" B(h) = h or "bh2" B(h) = e^h - 1) followed, at the next step, by the UniC
 * corrector that reuses the new model evaluation (Algorithm 1). With `predict_x0` the model output is
 * turned into x0-hat (data prediction), else eps-hat.
 *   x_t = sigma_t / sigma_s x - alpha_t (e^{-h} - 1) m0 - alpha_t B(h) sum_k rho_k D_k   (data pred.)
 * with D_k = (m_k - m0) / r_k and rho solving R rho = b (eq. 8; rho = 1/2 for order 2).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb, type Term } from "../combine.js";
import {
  betaFields,
  bool,
  type ConfigSpec,
  int,
  intArray,
  oneOf,
  parseConfig,
  predictionField,
  rescaleField,
  spacingFields,
  thresholdFields,
} from "../config.js";
import type { NoiseLevel } from "../dpm-solver-updates.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import type { TimestepSpacing } from "../timesteps.js";
import { type SolverConfig, SolverScheduler, solverTimesteps } from "./solver-base.js";

export interface UniPCConfig extends SolverConfig {
  predict_x0: boolean;
  solver_type: "bh1" | "bh2";
  lower_order_final: boolean;
  disable_corrector: number[];
  solver_p: null;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

const SPEC: ConfigSpec<UniPCConfig> = {
  ...betaFields(),
  solver_order: { default: 2, check: int(1, 3) },
  ...predictionField,
  ...thresholdFields,
  predict_x0: { default: true, check: bool },
  // diffusers maps DPM-Solver's names to bh2 (register_to_config), so a DPM-Solver config loads.
  solver_type: {
    default: "bh2",
    check: (f, v) =>
      v === "midpoint" || v === "heun" || v === "logrho" ? "bh2" : oneOf(["bh1", "bh2"] as const)(f, v),
  },
  lower_order_final: { default: true, check: bool },
  disable_corrector: { default: [], check: intArray },
  solver_p: {
    default: null,
    check: (field, v) =>
      v === null ? null : invalid(field, v, "null (a separate predictor scheduler is not supported)"),
  },
  use_karras_sigmas: { default: false, check: bool },
  ...spacingFields("linspace"),
  final_sigmas_type: { default: "zero", check: oneOf(["zero", "sigma_min"] as const) },
  ...rescaleField,
};

/** Solve the small dense system A x = b (Gaussian elimination with partial pivoting). */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col];
      for (let k = col; k <= n; k++) m[r][k] -= f * m[col][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * The UniPC system for step h = lambda_t - lambda_s0 and ratios r_k (plus r = 1): hh = -h (data
 * prediction) or h, h phi_1 = e^hh - 1, B(h), R_ij = r_j^i and b_i = h phi_{i+1}(hh) i! / B(h).
 */
function unipcSystem(rks: readonly number[], h: number, predictX0: boolean, variant: "bh1" | "bh2") {
  const hh = predictX0 ? -h : h;
  const hPhi1 = Math.expm1(hh);
  const bh = variant === "bh1" ? hh : Math.expm1(hh);
  const order = rks.length;
  const R: number[][] = [];
  const b: number[] = [];
  let hPhiK = hPhi1 / hh - 1;
  let factorial = 1;
  for (let i = 1; i <= order; i++) {
    R.push(rks.map((r) => r ** (i - 1)));
    b.push((hPhiK * factorial) / bh);
    factorial *= i + 1;
    hPhiK = hPhiK / hh - 1 / factorial;
  }
  return { hPhi1, bh, R, b };
}

/** A stored model output and the noise level it was evaluated at. */
interface Stored {
  m: T.Tensor;
  level: NoiseLevel;
}

export class UniPCMultistepScheduler extends SolverScheduler<UniPCConfig> {
  readonly className: string = "UniPCMultistepScheduler";
  private history: Stored[] = [];
  private lowerOrderNums = 0;
  private lastSample: T.Tensor | null = null;
  private thisOrder = 1;

  constructor(config: Partial<UniPCConfig> = {}) {
    super(parseConfig(SPEC, config as Record<string, unknown>));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const n = this.checkSteps(numInferenceSteps, c.num_train_timesteps);
    const T = c.num_train_timesteps;
    this.setGrid(solverTimesteps(c.timestep_spacing, T, T, n, c.steps_offset), n);
    this.history = [];
    this.lowerOrderNums = 0;
    this.lastSample = null;
    this.thisOrder = 1;
  }

  /**
   * x_t_ = (sigma_t / sigma_s) x - alpha_t h phi_1 m0 (data) or (alpha_t / alpha_s) x - sigma_t h phi_1 m0,
   * minus scale B(h) times `res`. A missing `res` is the reference's integer 0, so a non-finite B(h)
   * still gives NaN as it does there (bh1 at a final sigma of 0).
   */
  private combine(
    x: T.Tensor,
    m0: T.Tensor,
    s: NoiseLevel,
    t: NoiseLevel,
    hPhi1: number,
    bh: number,
    res: T.Tensor | null,
  ) {
    const pX0 = this.config.predict_x0;
    const base = pX0
      ? lincomb([t.sigma / s.sigma, x], [-t.alpha * hPhi1, m0])
      : lincomb([t.alpha / s.alpha, x], [-t.sigma * hPhi1, m0]);
    const scale = (pX0 ? t.alpha : t.sigma) * bh;
    return res ? lincomb([1, base], [-scale, res]) : T.sub(base, scale * 0);
  }

  /** UniP-p: predict x at level t from x at s0 = the newest stored output's level. */
  private predict(x: T.Tensor, t: NoiseLevel, order: number): T.Tensor {
    const newest = this.history[this.history.length - 1];
    const s0 = newest.level;
    const h = t.lambda - s0.lambda;
    const older = this.history.slice(-order, -1).reverse();
    const rks = older.map((o) => (o.level.lambda - s0.lambda) / h);
    const d1s = older.map((o, k) => lincomb([1 / rks[k], lincomb([1, o.m], [-1, newest.m])]));
    const { hPhi1, bh, R, b } = unipcSystem([...rks, 1], h, this.config.predict_x0, this.config.solver_type);
    let res: T.Tensor | null = null;
    if (d1s.length > 0) {
      const rhos =
        order === 2
          ? [0.5]
          : solveLinear(
              R.slice(0, -1).map((r) => r.slice(0, -1)),
              b.slice(0, -1),
            );
      res = lincomb(...d1s.map((d, k) => [rhos[k], d] as Term));
    }
    return this.combine(x, newest.m, s0, t, hPhi1, bh, res);
  }

  /** UniC: correct the predicted x at level t with the new output mT, from the last sample at s0. */
  private correct(mT: T.Tensor, lastSample: T.Tensor, t: NoiseLevel, order: number): T.Tensor {
    const newest = this.history[this.history.length - 1];
    const s0 = newest.level;
    const h = t.lambda - s0.lambda;
    const older = this.history.slice(-order, -1).reverse();
    const rks = older.map((o) => (o.level.lambda - s0.lambda) / h);
    const d1s = older.map((o, k) => lincomb([1 / rks[k], lincomb([1, o.m], [-1, newest.m])]));
    const { hPhi1, bh, R, b } = unipcSystem([...rks, 1], h, this.config.predict_x0, this.config.solver_type);
    const rhos = order === 1 ? [0.5] : solveLinear(R, b);
    const dT = lincomb([1, mT], [-1, newest.m]);
    const terms: Term[] = d1s.map((d, k) => [rhos[k], d]);
    terms.push([rhos[rhos.length - 1], dT]);
    return this.combine(lastSample, newest.m, s0, t, hPhi1, bh, lincomb(...terms));
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep, this.timesteps.length - 1);
    const c = this.config;
    const useCorrector = i > 0 && !c.disable_corrector.includes(i - 1) && this.lastSample !== null;
    const m = this.convertModelOutput(modelOutput, sample, i, c.predict_x0);
    let x = sample;
    if (useCorrector) x = this.correct(m, this.lastSample as T.Tensor, this.level(i), this.thisOrder);
    this.history.push({ m, level: this.level(i) });
    if (this.history.length > c.solver_order) this.history.shift();
    const wanted = c.lower_order_final ? Math.min(c.solver_order, this.timesteps.length - i) : c.solver_order;
    this.thisOrder = Math.min(wanted, this.lowerOrderNums + 1);
    this.lastSample = x;
    const prevSample = this.predict(x, this.level(i + 1), this.thisOrder);
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++;
    this.stepIndexValue = i + 1;
    return { prevSample };
  }
}
