/**
 * Base of the exponential-integrator solvers (DPM-Solver multistep / singlestep, UniPC) as diffusers
 * 0.30.3 builds them: integer timesteps, a VE sigma per timestep (interpolated, or a Karras grid
 * mapped back to rounded timesteps) plus a final sigma (0 or sigma_min), noise levels
 * (alpha_t, sigma_t, lambda_t) from those sigmas, and the conversion of the model output to the
 * solver's x0 or eps prediction (with optional dynamic thresholding).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { perBatch } from "../combine.js";
import type { BetaConfig } from "../config.js";
import { levelFromVeSigma, type NoiseLevel } from "../dpm-solver-updates.js";
import { arange, linspace, roundHalfEven } from "../linspace.js";
import {
  epsFromX0,
  type PredictionType,
  predictEps,
  predictX0,
  processX0,
  x0FromEps,
} from "../parametrization.js";
import { BaseScheduler } from "../scheduler.js";
import { alphasCumprod, betasFor } from "../schedules.js";
import { karrasFromSigmas, logSigmas, sigmasAtTimesteps, sigmaToT, trainSigmas } from "../sigma-grid.js";
import type { TimestepSpacing } from "../timesteps.js";

export interface SolverConfig extends BetaConfig {
  solver_order: number;
  prediction_type: PredictionType;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
  use_karras_sigmas: boolean;
  final_sigmas_type: "zero" | "sigma_min";
}

/**
 * Integer timesteps of the solvers (`np.linspace(0, last - 1, n + 1).round()[::-1][:-1]` and its
 * leading / trailing variants), descending; `last` is T unless lambda_min_clipped cuts the schedule.
 */
export function solverTimesteps(
  spacing: TimestepSpacing,
  numTrain: number,
  last: number,
  n: number,
  stepsOffset: number,
): Float64Array {
  switch (spacing) {
    case "linspace":
      return linspace(0, last - 1, n + 1)
        .map(roundHalfEven)
        .reverse()
        .subarray(0, n);
    case "leading": {
      const ratio = Math.floor(last / (n + 1));
      return Float64Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
    }
    case "trailing": {
      const grid = arange(last, 0, -numTrain / n);
      return grid.subarray(0, Math.min(grid.length, n)).map((t) => roundHalfEven(t) - 1);
    }
  }
}

export abstract class SolverScheduler<C extends SolverConfig> extends BaseScheduler<C> {
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly trainSigmas: Float64Array;
  readonly logSigmas: Float64Array;
  /** Inference VE sigmas, one per timestep plus the final one. */
  sigmas: Float64Array = new Float64Array(0);

  constructor(config: C) {
    if (config.solver_order < 1 || config.solver_order > 3)
      invalid("solver_order", config.solver_order, "1, 2 or 3");
    super(config);
    this.betas = betasFor(config);
    this.alphasCumprod = alphasCumprod(this.betas);
    if (config.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainSigmas = trainSigmas(this.alphasCumprod);
    this.logSigmas = logSigmas(this.trainSigmas);
  }

  get initNoiseSigma(): number {
    return 1;
  }

  /**
   * T minus the number of final timesteps whose lambda_t = log(alpha_t / sigma_t) is below
   * `lambdaMin` (diffusers' `lambda_min_clipped`, for cosine-like schedules): the last timestep kept.
   */
  protected lastUnclippedTimestep(lambdaMin: number): number {
    const T = this.alphasCumprod.length;
    let clipped = 0;
    for (let t = T - 1; t >= 0; t--) {
      const abar = this.alphasCumprod[t];
      if (0.5 * (Math.log(abar) - Math.log(1 - abar)) < lambdaMin) clipped++;
      else break;
    }
    return T - clipped;
  }

  /** Set `timesteps` and `sigmas` from integer timesteps (or a Karras grid replacing them). */
  protected setGrid(timesteps: Float64Array, n: number): void {
    let sigmas: Float64Array;
    let ts = timesteps;
    if (this.config.use_karras_sigmas) {
      const descending = Float64Array.from(this.trainSigmas).reverse();
      sigmas = karrasFromSigmas(descending, n);
      ts = sigmas.map((s) => roundHalfEven(sigmaToT(s, this.logSigmas)));
    } else {
      sigmas = sigmasAtTimesteps(timesteps, this.trainSigmas);
    }
    const last = this.config.final_sigmas_type === "sigma_min" ? this.finalSigmaMin(sigmas) : 0;
    this.sigmas = Float64Array.from([...sigmas, last], Math.fround);
    this.timesteps = ts;
    this.numInferenceSteps = ts.length;
    this.resetSteps();
  }

  /** The final sigma for final_sigmas_type "sigma_min": sigma_0 (Karras: the grid's last sigma). */
  private finalSigmaMin(sigmas: Float64Array): number {
    return this.config.use_karras_sigmas ? sigmas[sigmas.length - 1] : this.trainSigmas[0];
  }

  /** The noise level of inference sigma i. */
  protected level(i: number): NoiseLevel {
    return levelFromVeSigma(this.sigmas[i]);
  }

  /**
   * The model output as the solver's x0-hat (`dataPrediction`) or eps-hat at inference step i,
   * thresholded if configured (diffusers `convert_model_output`).
   */
  protected convertModelOutput(
    modelOutput: T.Tensor,
    sample: T.Tensor,
    i: number,
    dataPrediction: boolean,
  ): T.Tensor {
    const { alpha, sigma } = this.level(i);
    const c = { alpha, sigma };
    const type = this.config.prediction_type;
    const variance = (this.config as { variance_type?: string | null }).variance_type;
    if (
      (variance === "learned" || variance === "learned_range") &&
      modelOutput.shape[1] === 2 * sample.shape[1]
    ) {
      modelOutput = T.narrow(modelOutput, 1, 0, sample.shape[1]); // drop the variance channels
    }
    if (dataPrediction) return processX0(predictX0(type, modelOutput, sample, c), this.config);
    const eps = predictEps(type, modelOutput, sample, c);
    if (!this.config.thresholding) return eps;
    return epsFromX0(sample, processX0(x0FromEps(sample, eps, c), this.config), c);
  }

  /** x_t = alpha_t x0 + sigma_t noise at the schedule sigma of each batch element's timestep. */
  addNoise(original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>): T.Tensor {
    if (this.numInferenceSteps === null)
      invalid("num_inference_steps", null, "set: call setTimesteps(n) before addNoise()");
    const levels = Array.from(timesteps, (t) =>
      this.level(
        this.stepIndexValue ?? this.beginIndexValue ?? this.indexForTimestep(t, this.timesteps.length - 1),
      ),
    );
    const alpha = perBatch(
      levels.map((l) => l.alpha),
      original,
    );
    const sigma = perBatch(
      levels.map((l) => l.sigma),
      original,
    );
    return T.add(T.mul(alpha, original), T.mul(sigma, noise));
  }
}
