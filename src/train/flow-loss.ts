/**
 * The flow-matching / rectified-flow training objective (Lipman et al. 2023, "Flow Matching for
 * Generative Modeling"; Liu et al. 2022, "Flow Straight and Fast", eq. 1; Esser et al. 2024, "Scaling
 * Rectified Flow Transformers", SD3, Sec. 2-3). Per example i (x0_i data, eps_i ~ N(0, I)):
 *
 *   t_i   ~ U(0, 1)                                   "uniform" (Liu et al.)
 *         | sigmoid(m + s n), n ~ N(0, 1)             "logit-normal" (Esser et al. eq. 19; m, s flags)
 *   x_t   = (1 - t) x0 + t eps                        the straight path from data (t = 0) to noise (t = 1)
 *   v*    = eps - x0                                  its velocity dx_t/dt
 *   L     = mean_i mean_j rho(v_theta(x_t, 1000 t)_ij - v*_ij)
 *
 * The network sees the timestep T t (T = `num_train_timesteps`, float32), exactly as diffusers'
 * `FlowMatchEulerDiscreteScheduler` feeds it at sampling time (timesteps = sigmas * T), so a model
 * trained here samples with that scheduler (its config is `flowSchedulerConfig`). Sampling runs the
 * ODE dx/dt = v from t = 1 (noise) to t = 0 (data).
 *
 * This is the same linear interpolant as the VP loss (losses.ts) with alpha = 1 - t, sigma = t and the
 * velocity as target, so offset noise, label dropout, the penalty rho and dropout masks carry over
 * unchanged; the batch is a `LossBatch`. Randomness is drawn on the host from one key (as
 * `drawLossInputs`), so the compiled step stays a pure function of its inputs. Browser-safe.
 */
import { type Key, normal, split, uniform } from "../random/index.js";
import * as T from "../tensor/index.js";
import {
  type DenoiserFn,
  drawLossInputs,
  interpolantLoss,
  type LossBatch,
  type LossConfig,
} from "./losses.js";

export const FLOW_TIME_DISTRIBUTIONS = ["uniform", "logit-normal"] as const;
export type FlowTimeDistribution = (typeof FLOW_TIME_DISTRIBUTIONS)[number];

/** How the flow objective draws t. */
export interface FlowTimeConfig {
  distribution: FlowTimeDistribution;
  /** m of the logit-normal (location of logit(t)); default 0. */
  logitMean?: number;
  /** s of the logit-normal (scale of logit(t)); default 1. */
  logitStd?: number;
}

/** `n` times t in (0, 1) (float64 values of float32 draws) from `cfg`'s distribution. */
export function drawFlowTimes(key: Key, n: number, cfg: FlowTimeConfig): Float64Array {
  if (cfg.distribution === "uniform") return Float64Array.from(uniform(key, n));
  const m = cfg.logitMean ?? 0;
  const s = cfg.logitStd ?? 1;
  if (!(Number.isFinite(m) && s > 0 && Number.isFinite(s))) {
    throw new Error(`flow times: logit-normal needs a finite mean and a std > 0, got m = ${m}, s = ${s}`);
  }
  return Float64Array.from(normal(key, n), (z) => 1 / (1 + Math.exp(-(m + s * z))));
}

/** The traced flow-matching loss of `model` on one `LossBatch` (alpha = 1 - t, sigma = t): target eps - x0. */
export function flowMatchingLoss<P>(
  model: DenoiserFn<P>,
  cfg: LossConfig,
): (params: P, batch: LossBatch) => T.Tensor {
  return interpolantLoss(model, cfg, (x0, eps) => T.sub(eps, x0));
}

const ONE = new Float32Array([1]);

/**
 * The inputs of one flow-matching batch from one key: the noise, offset and label-dropout draws of
 * `drawLossInputs` (same subkeys), and t from `times` (its own subkey). `numTrainTimesteps` scales
 * the network's timestep input (T t).
 */
export function drawFlowInputs(
  key: Key,
  x0: Float32Array,
  shape: readonly number[],
  times: FlowTimeConfig,
  numTrainTimesteps: number,
  cfg: LossConfig,
  labels?: Int32Array,
): LossBatch {
  const [kBase, kTime] = split(key, 2);
  const B = shape[0]!;
  // The VP tables are not used: alpha, sigma, timesteps and weight are replaced below.
  const unused = { numTrainTimesteps: 1, alpha: ONE, sigma: ONE, weight: ONE };
  const base = drawLossInputs(kBase!, x0, shape, unused, cfg, labels);
  const t = drawFlowTimes(kTime!, B, times);
  return {
    ...base,
    timesteps: T.tensor(
      Float32Array.from(t, (v) => v * numTrainTimesteps),
      [B],
    ),
    alpha: T.tensor(
      Float32Array.from(t, (v) => 1 - v),
      [B],
    ),
    sigma: T.tensor(Float32Array.from(t), [B]),
    weight: T.tensor(new Float32Array(B).fill(1), [B]),
  };
}

/**
 * The scheduler_config.json of a flow model: diffusers' `FlowMatchEulerDiscreteScheduler` with no
 * shift, so its sigma grid is the t the network was trained on.
 */
export function flowSchedulerConfig(numTrainTimesteps: number): Record<string, unknown> {
  return {
    _class_name: "FlowMatchEulerDiscreteScheduler",
    _diffusers_version: "0.30.3",
    num_train_timesteps: numTrainTimesteps,
    shift: 1.0,
    use_dynamic_shifting: false,
    base_shift: 0.5,
    max_shift: 1.15,
    base_image_seq_len: 256,
    max_image_seq_len: 4096,
  };
}
