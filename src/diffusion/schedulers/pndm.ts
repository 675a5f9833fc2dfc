/**
 * PNDM (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on Manifolds") as diffusers
 * 0.30.3's `PNDMScheduler`: pseudo Runge-Kutta (PRK, 3 warm-up steps of 4 evaluations each) then
 * pseudo linear multistep (PLMS, Adams-Bashforth on eps), both through the transfer
 *   phi(x_t, eps, t -> t') = sqrt(abar_t' / abar_t) x_t
 *     - (abar_t' - abar_t) eps / (abar_t sqrt(1 - abar_t') + sqrt(abar_t (1 - abar_t) abar_t'))  (PNDM eq. 11).
 * With `skip_prk_steps` the warm-up is the 2-evaluation PLMS start used by Stable Diffusion.
 */
import type * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { lincomb } from "../combine.js";
import {
  type BetaConfig,
  betaFields,
  bool,
  type ConfigSpec,
  parseConfig,
  predictionField,
  spacingFields,
} from "../config.js";
import { type PredictionType, predictEps } from "../parametrization.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import type { TimestepSpacing } from "../timesteps.js";
import { VpScheduler } from "./vp-base.js";

export interface PNDMConfig extends BetaConfig {
  skip_prk_steps: boolean;
  set_alpha_to_one: boolean;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

const PNDM_SPEC: ConfigSpec<PNDMConfig> = {
  ...betaFields(),
  skip_prk_steps: { default: false, check: bool },
  set_alpha_to_one: { default: false, check: bool },
  ...predictionField,
  ...spacingFields("leading"),
};

/** Adams-Bashforth weights on the last 1..4 eps (newest first), PNDM eq. 12. */
const PLMS_WEIGHTS: readonly (readonly number[])[] = [
  [1],
  [3 / 2, -1 / 2],
  [23 / 12, -16 / 12, 5 / 12],
  [55 / 24, -59 / 24, 37 / 24, -9 / 24],
];

/** PRK warms up on the last 4 base timesteps (diffusers `pndm_order`). */
const PNDM_ORDER = 4;

export class PNDMScheduler extends VpScheduler<PNDMConfig> {
  readonly className: string = "PNDMScheduler";
  readonly finalAlphaCumprod: number;
  prkTimesteps: Float64Array = new Float64Array(0);
  plmsTimesteps: Float64Array = new Float64Array(0);
  private ets: T.Tensor[] = [];
  private counter = 0;
  private curModelOutput: T.Tensor | null = null;
  private curSample: T.Tensor | null = null;

  constructor(config: Partial<PNDMConfig> = {}) {
    const parsed = parseConfig(PNDM_SPEC, config as Record<string, unknown>);
    if (parsed.prediction_type === "sample") {
      invalid("prediction_type", "sample", "one of epsilon, v_prediction for PNDMScheduler");
    }
    super(parsed);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  /** Half the stride between inference timesteps (where PRK evaluates its midpoints). */
  private get stride(): number {
    return Math.floor(this.config.num_train_timesteps / this.requireTimesteps());
  }

  setTimesteps(numInferenceSteps: number): void {
    const base = this.spacedTimesteps(numInferenceSteps).reverse();
    const last = base.length - 1;
    if (this.config.skip_prk_steps) {
      // [t_0 .. t_{n-2}, t_{n-2}, t_{n-1}] descending: the first PLMS step evaluates t_{n-1} twice.
      this.prkTimesteps = new Float64Array(0);
      const t = Array.from(base);
      this.plmsTimesteps = Float64Array.from(
        [...t.slice(0, last), ...t.slice(Math.max(0, last - 1), last), t[last]].reverse(),
      );
    } else {
      const half = Math.floor(this.config.num_train_timesteps / numInferenceSteps / 2);
      const tail = Array.from(base.subarray(Math.max(0, base.length - PNDM_ORDER)));
      const withMid = tail.flatMap((t) => [t, t + half]);
      const doubled = withMid
        .slice(0, -1)
        .flatMap((t) => [t, t])
        .slice(1, -1);
      this.prkTimesteps = Float64Array.from(doubled.reverse());
      this.plmsTimesteps = Float64Array.from(base.subarray(0, Math.max(0, base.length - 3))).reverse();
    }
    this.timesteps = Float64Array.from([...this.prkTimesteps, ...this.plmsTimesteps]);
    this.ets = [];
    this.counter = 0;
    this.curModelOutput = null;
    this.curSample = null;
    this.resetSteps();
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    this.requireTimesteps();
    const prk = this.counter < this.prkTimesteps.length && !this.config.skip_prk_steps;
    const prevSample = prk
      ? this.stepPrk(modelOutput, timestep, sample)
      : this.stepPlms(modelOutput, timestep, sample);
    return { prevSample };
  }

  /** One of the four evaluations of a pseudo-RK4 step (diffusers `step_prk`). */
  private stepPrk(modelOutput: T.Tensor, timestep: number, sample: T.Tensor): T.Tensor {
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(this.stride / 2);
    const prevTimestep = timestep - diffToPrev;
    const start = this.prkTimesteps[Math.floor(this.counter / 4) * 4];
    const stage = this.counter % 4;
    let eps = modelOutput;
    if (stage === 0) {
      this.curModelOutput = lincomb([1 / 6, modelOutput]);
      this.ets.push(modelOutput);
      this.curSample = sample;
    } else if (stage === 1 || stage === 2) {
      this.curModelOutput = lincomb([1, this.curModelOutput as T.Tensor], [1 / 3, modelOutput]);
    } else {
      eps = lincomb([1, this.curModelOutput as T.Tensor], [1 / 6, modelOutput]);
      this.curModelOutput = null;
    }
    const prev = this.transfer(this.curSample ?? sample, start, prevTimestep, eps);
    this.counter++;
    return prev;
  }

  /** One Adams-Bashforth step on eps (diffusers `step_plms`). */
  private stepPlms(modelOutput: T.Tensor, timestep: number, sample: T.Tensor): T.Tensor {
    if (!this.config.skip_prk_steps && this.ets.length < 3) {
      invalid(
        "step",
        this.counter,
        "preceded by the 12 PRK steps: run the timesteps of setTimesteps in order",
      );
    }
    let from = timestep;
    let to = timestep - this.stride;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(modelOutput);
    } else {
      to = timestep;
      from = timestep + this.stride;
    }
    let eps: T.Tensor;
    let x = sample;
    if (this.ets.length === 1 && this.counter === 0) {
      eps = modelOutput;
      this.curSample = sample;
    } else if (this.ets.length === 1 && this.counter === 1) {
      eps = lincomb([1, modelOutput], [1, this.ets[0]]);
      eps = lincomb([0.5, eps]);
      x = this.curSample as T.Tensor;
      this.curSample = null;
    } else {
      const k = Math.min(this.ets.length, 4);
      const weights = PLMS_WEIGHTS[k - 1];
      eps = lincomb(...weights.map((w, i) => [w, this.ets[this.ets.length - 1 - i]] as const));
    }
    const prev = this.transfer(x, from, to, eps);
    this.counter++;
    return prev;
  }

  /** PNDM eq. 11, the transfer from timestep t to t' (diffusers `_get_prev_sample`). */
  private transfer(sample: T.Tensor, t: number, tPrev: number, modelOutput: T.Tensor): T.Tensor {
    const a = this.alphasCumprod[t];
    const aPrev = this.abar(tPrev, this.finalAlphaCumprod);
    const eps = predictEps(this.config.prediction_type, modelOutput, sample, this.alphaSigma(a));
    const sampleCoeff = Math.sqrt(aPrev / a);
    const denom = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    return lincomb([sampleCoeff, sample], [-(aPrev - a) / denom, eps]);
  }
}
