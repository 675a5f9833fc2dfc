/**
 * The diffusion training objective for one batch (DDPM, Ho et al. 2020, Algorithm 1), as a traceable
 * function of the parameters and a batch of tensors.
 *
 * Everything random or schedule-dependent is drawn/computed on the HOST and passed in (see
 * `drawLossInputs`), so the compiled step is a pure function of its inputs: deterministic, and resumable
 * from a checkpoint. Per example i (x0_i, eps_i ~ N(0, I), t_i ~ U{0..T-1}):
 *
 *   eps'_i = eps_i + offset * n_i, n_i ~ N(0, I) of shape [C, 1, 1]     offset noise (Guttenberg 2023)
 *   x_t    = alpha_i x0_i + sigma_i eps'_i,  alpha = sqrt(abar_t), sigma = sqrt(1 - abar_t)   (DDPM eq. 4)
 *   target = eps' | v = alpha eps' - sigma x0 (Salimans & Ho 2022, Sec. 4) | x0      (prediction type)
 *   y_i    = null class where drop_i, else label_i          label dropout (Ho & Salimans 2022, Alg. 1)
 *   L      = mean_i w_i * mean_j rho(model(x_t, t, y)_ij - target_ij)
 *
 * With per-channel weights c_k (images [B, C, ...], `channelWeights`) the inner mean becomes
 * sum_k c_k mean_{j in channel k} rho(...) / sum_k c_k, so a channel group's share of the objective
 * is set by its weights, not by how many channels it has (joint (image, label) data carry a 1-channel
 * digit beside 10 label channels: data/joint-image.ts). Equal weights give the plain mean.
 *
 * rho: l2 = d^2, l1 = |d|, huber = the pseudo-Huber 2c (sqrt(d^2 + c^2) - c) of diffusers' training
 * scripts (`--loss_type huber`, `--huber_c`), torch-huber = torch's `F.huber_loss(delta)` (the seed
 * tutorial's "huber"): d^2 / 2 where |d| < delta, else delta (|d| - delta / 2) (Huber 1964). The two
 * agree in shape (quadratic near 0, linear in the tails) but not in scale: for small d pseudo-Huber is
 * ~ d^2 (c fixed) and torch's Huber d^2 / 2. w_t (loss-weights.ts): none = 1, min-SNR-gamma (Hang et
 * al. 2023) for the prediction type, or the VLB weights lambda_t of DDPM eq. 12.
 *
 * The NULL class: class-conditional models have `num_class_embeds = numClasses + 1` and the last row
 * (index numClasses) is the unconditional embedding; `drop` is a float 0/1 mask applied in the graph.
 */
import { minSnrWeights, type PredictionType, vlbWeights } from "../diffusion/loss-weights.js";
import { alphasCumprod, betasFor, snr } from "../diffusion/schedules.js";
import type { DenoiserFn } from "../models/denoiser.js";
import { bernoulli, type Key, normal, randint, split } from "../random/index.js";
import * as T from "../tensor/index.js";
import { maskLookup } from "./dropout-masks.js";

export type { DenoiserFn };

export type LossKind = "l2" | "l1" | "huber" | "torch-huber";
export type Weighting = "none" | "min-snr" | "vlb";

export interface LossConfig {
  loss: LossKind;
  /** c of the pseudo-Huber loss (default 0.1, diffusers' `--huber_c`). */
  huberC?: number;
  /** delta of torch's Huber loss (default 1, `F.huber_loss`'s default and the tutorial's). */
  huberDelta?: number;
  weighting: Weighting;
  /** gamma of min-SNR (default 5, Hang et al.'s choice). */
  snrGamma?: number;
  prediction: PredictionType;
  /** Offset-noise strength (0: off). */
  offsetNoise?: number;
  /** Probability of dropping a label to the null class (0: off). Needs `nullClass`. */
  labelDropout?: number;
  /** Index of the null class (= numClasses) of a class-conditional model. */
  nullClass?: number;
  /** Per-channel loss weights (length C of [B, C, ...] examples; >= 0, not all 0); absent: uniform. */
  channelWeights?: readonly number[];
}

/** One batch of loss inputs; every leaf is a tensor so the tree is the compiled step's input. */
export interface LossBatch {
  /** Clean examples x0 [B, ...]. */
  x0: T.Tensor;
  /** eps [B, ...]. */
  noise: T.Tensor;
  /** The network's timestep input [B]: int32 t (diffusion) or float32 1000 t (flow matching). */
  timesteps: T.Tensor;
  /** sqrt(abar_t) per example, [B] (host float64 -> float32). */
  alpha: T.Tensor;
  /** sqrt(1 - abar_t) per example, [B]. */
  sigma: T.Tensor;
  /** Loss weight w_t per example, [B]. */
  weight: T.Tensor;
  /** Offset noise n [B, C] (images) or [B, D] (vectors): one draw per channel, when offset noise is on. */
  offset?: T.Tensor;
  /** Class labels [B] (int32), for class-conditional models. */
  labels?: T.Tensor;
  /** 1 where the label is dropped to the null class, [B] float32, when label dropout is on. */
  drop?: T.Tensor;
  /**
   * Dropout masks by layer path (train/dropout-masks.ts): present, the network runs in training mode
   * with these masks; absent, in evaluation mode (dropout is the identity).
   */
  dropout?: Record<string, T.Tensor>;
}

/** `v` [B] reshaped to [B, 1, ..., 1] to broadcast over `like`. */
function perExample(v: T.Tensor, like: T.Tensor): T.Tensor {
  return T.reshape(v, [like.shape[0]!, ...new Array<number>(like.rank - 1).fill(1)]);
}

/** rho(d) elementwise; `c` is the pseudo-Huber c, `delta` torch's Huber delta. */
export function penalty(d: T.Tensor, kind: LossKind, c: number, delta = 1): T.Tensor {
  if (kind === "l2") return T.square(d);
  if (kind === "l1") return T.abs(d);
  if (kind === "torch-huber") {
    const a = T.abs(d);
    return T.where(T.less(a, delta), T.mul(T.square(d), 0.5), T.mul(T.sub(a, 0.5 * delta), delta));
  }
  return T.mul(T.sub(T.sqrt(T.add(T.square(d), c * c)), c), 2 * c);
}

/** The regression target of the prediction type (eps' is the noise actually added). */
function target(
  kind: PredictionType,
  x0: T.Tensor,
  eps: T.Tensor,
  alpha: T.Tensor,
  sigma: T.Tensor,
): T.Tensor {
  if (kind === "epsilon") return eps;
  if (kind === "sample") return x0;
  return T.sub(T.mul(alpha, eps), T.mul(sigma, x0)); // v = alpha eps - sigma x0
}

/** A regression target from (x0, eps', alpha, sigma), each broadcast per example. */
export type TargetFn = (x0: T.Tensor, eps: T.Tensor, alpha: T.Tensor, sigma: T.Tensor) => T.Tensor;
/**
 * The weights c_k scaled to mean 1 (c_k C / sum c), shaped [1, C, 1, ...] to broadcast over `like`
 * ([B, C, ...]): the mean over all entries of the scaled penalty is then sum_k c_k mean_k / sum_k c_k.
 */
export function channelScale(weights: readonly number[], like: T.Tensor): T.Tensor {
  checkChannelWeights(weights, like.shape[1] ?? 0, "channelWeights");
  const total = weights.reduce((a, b) => a + b, 0);
  const c = weights.length;
  const shape = [1, c, ...new Array<number>(Math.max(0, like.rank - 2)).fill(1)];
  return T.tensor(
    Float32Array.from(weights, (v) => (v * c) / total),
    shape,
  );
}

/** Throws unless `weights` has one finite weight >= 0 per channel and a positive sum. */
export function checkChannelWeights(weights: readonly number[], channels: number, field: string): void {
  if (weights.length !== channels) {
    throw new Error(
      `${field}: ${weights.length} weights (${JSON.stringify(weights)}) but the data have ${channels} channels; expected one weight per channel`,
    );
  }
  if (!weights.every((v) => Number.isFinite(v) && v >= 0) || !weights.some((v) => v > 0)) {
    throw new Error(
      `${field}: ${JSON.stringify(weights)}; expected finite weights >= 0, at least one of them > 0`,
    );
  }
}

/** The traced loss of `model` on one `LossBatch` (a scalar). */
export function diffusionLoss<P>(
  model: DenoiserFn<P>,
  cfg: LossConfig,
): (params: P, batch: LossBatch) => T.Tensor {
  return interpolantLoss(model, cfg, (x0, eps, alpha, sigma) =>
    target(cfg.prediction, x0, eps, alpha, sigma),
  );
}

/**
 * The loss of any linear interpolant x_t = alpha x0 + sigma eps' (the VP diffusion of DDPM eq. 4, or
 * rectified flow's alpha = 1 - t, sigma = t) regressed on `targetOf` (see the file comment; the
 * prediction type of `cfg` is not used here, `targetOf` decides).
 */
export function interpolantLoss<P>(
  model: DenoiserFn<P>,
  cfg: LossConfig,
  targetOf: TargetFn,
): (params: P, batch: LossBatch) => T.Tensor {
  return (params, b) => {
    const alpha = perExample(b.alpha, b.x0);
    const sigma = perExample(b.sigma, b.x0);
    let eps = b.noise;
    if (b.offset) {
      const extra = b.x0.rank - b.offset.rank;
      const n = T.reshape(b.offset, [...b.offset.shape, ...new Array<number>(extra).fill(1)]);
      eps = T.add(eps, T.mul(n, cfg.offsetNoise ?? 0));
    }
    const xt = T.add(T.mul(alpha, b.x0), T.mul(sigma, eps));
    let labels = b.labels;
    if (labels && b.drop) {
      const nullClass = T.full(labels.shape, cfg.nullClass ?? 0, "int32");
      labels = T.where(T.greater(b.drop, 0.5), nullClass, labels);
    }
    const options = b.dropout ? { dropoutMask: maskLookup(b.dropout) } : undefined;
    const out = model(params, xt, b.timesteps, labels, options);
    const d = T.sub(out, targetOf(b.x0, eps, alpha, sigma));
    const axes = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
    let rho = penalty(d, cfg.loss, cfg.huberC ?? 0.1, cfg.huberDelta ?? 1);
    if (cfg.channelWeights && cfg.channelWeights.length > 0)
      rho = T.mul(rho, channelScale(cfg.channelWeights, d));
    const perItem = T.mean(rho, axes);
    return T.mean(T.mul(perItem, b.weight));
  };
}

/** The schedule tables the host needs: sqrt(abar), sqrt(1 - abar) and the loss weight per timestep. */
export interface LossTables {
  numTrainTimesteps: number;
  alpha: Float32Array;
  sigma: Float32Array;
  weight: Float32Array;
}

/** Tables for a diffusers beta schedule (`beta_schedule`, `num_train_timesteps`, ...) and the loss config. */
export function lossTables(schedule: Record<string, unknown>, cfg: LossConfig): LossTables {
  const betas = betasFor(schedule);
  const abar = alphasCumprod(betas);
  const weight =
    cfg.weighting === "min-snr"
      ? minSnrWeights(snr(abar), cfg.snrGamma ?? 5, cfg.prediction)
      : cfg.weighting === "vlb"
        ? vlbWeights(betas, abar)
        : new Float64Array(abar.length).fill(1);
  return {
    numTrainTimesteps: abar.length,
    // As forward.ts (diffusers add_noise): sqrt(abar) and sqrt(float32(1 - abar)).
    alpha: Float32Array.from(abar, (a) => Math.sqrt(a)),
    sigma: Float32Array.from(abar, (a) => Math.sqrt(Math.fround(1 - a))),
    weight: Float32Array.from(weight),
  };
}

/**
 * The random and schedule inputs of one batch, from one key: key -> [noise, timesteps, offset, drop]
 * subkeys. `x0` is [B, ...example shape]; `labels` the batch's labels when the model is conditional.
 */
export function drawLossInputs(
  key: Key,
  x0: Float32Array,
  shape: readonly number[],
  tables: LossTables,
  cfg: LossConfig,
  labels?: Int32Array,
): LossBatch {
  const [kNoise, kTime, kOffset, kDrop] = split(key, 4);
  const B = shape[0]!;
  const t = randint(kTime!, B, 0, tables.numTrainTimesteps);
  const pick = (table: Float32Array) =>
    T.tensor(
      Float32Array.from(t, (i) => table[i]!),
      [B],
    );
  const batch: LossBatch = {
    x0: T.tensor(x0, [...shape]),
    noise: T.tensor(normal(kNoise!, x0.length), [...shape]),
    timesteps: T.tensor(t, [B], "int32"),
    alpha: pick(tables.alpha),
    sigma: pick(tables.sigma),
    weight: pick(tables.weight),
  };
  if ((cfg.offsetNoise ?? 0) > 0) {
    const channels = shape[1]!;
    batch.offset = T.tensor(normal(kOffset!, B * channels), [B, channels]);
  }
  if (labels) {
    batch.labels = T.tensor(labels, [B], "int32");
    if ((cfg.labelDropout ?? 0) > 0) {
      batch.drop = T.tensor(Float32Array.from(bernoulli(kDrop!, B, cfg.labelDropout!)), [B]);
    }
  }
  return batch;
}
