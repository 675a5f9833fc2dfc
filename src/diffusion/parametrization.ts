/**
 * What a denoising network predicts, and conversions between the parametrisations.
 *
 * Variance-preserving notation: x_t = alpha_t x0 + sigma_t eps with alpha_t = sqrt(abar_t),
 * sigma_t = sqrt(1 - abar_t) (DDPM eq. 4). The model predicts one of (diffusers' `prediction_type`):
 * - "epsilon": eps;  x0 = (x_t - sigma_t eps) / alpha_t                      (DDPM eq. 15)
 * - "sample":  x0;   eps = (x_t - alpha_t x0) / sigma_t
 * - "v_prediction": v = alpha_t eps - sigma_t x0 (Salimans & Ho 2022, "Progressive Distillation",
 *   Sec. 4 and App. D);  x0 = alpha_t x_t - sigma_t v,  eps = alpha_t v + sigma_t x_t.
 * The score is grad log p_t(x_t) = -eps / sigma_t (Song et al. 2021, score SDE, eq. 4 / Tweedie).
 *
 * Variance-exploding (k-diffusion, EDM) form: x = x0 + sigma eps with sigma = sigma_t / alpha_t; the
 * network sees x / sqrt(1 + sigma^2) (= the VP x_t).
 *
 * Rectified flow (Liu et al. 2022; Esser et al. 2024, SD3): x_s = (1 - s) x0 + s eps, velocity
 * u = eps - x0;  x0 = x_s - s u,  eps = x_s + (1 - s) u.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import { PREDICTION_TYPES, type PredictionType } from "./loss-weights.js";

export { PREDICTION_TYPES, type PredictionType };

/** The VP coefficients of x_t = alpha x0 + sigma eps. */
export interface AlphaSigma {
  alpha: number;
  sigma: number;
}

/** alpha_t = sqrt(abar_t), sigma_t = sqrt(1 - abar_t). */
export function alphaSigmaFromAbar(abar: number): AlphaSigma {
  return { alpha: Math.sqrt(abar), sigma: Math.sqrt(1 - abar) };
}

/** x0 = (x_t - sigma eps) / alpha (DDPM eq. 15; DDIM eq. 12's "predicted x0"). */
export function x0FromEps(xt: T.Tensor, eps: T.Tensor, { alpha, sigma }: AlphaSigma): T.Tensor {
  return T.div(T.sub(xt, T.mul(eps, sigma)), alpha);
}

/** eps = (x_t - alpha x0) / sigma. */
export function epsFromX0(xt: T.Tensor, x0: T.Tensor, { alpha, sigma }: AlphaSigma): T.Tensor {
  return T.div(T.sub(xt, T.mul(x0, alpha)), sigma);
}

/** The v-target v = alpha eps - sigma x0 (Salimans & Ho 2022, Sec. 4). */
export function velocityFrom(x0: T.Tensor, eps: T.Tensor, { alpha, sigma }: AlphaSigma): T.Tensor {
  return T.sub(T.mul(eps, alpha), T.mul(x0, sigma));
}

/** The score -eps / sigma_t (the optimal score from an optimal eps-predictor, Song et al. 2021). */
export function scoreFromEps(eps: T.Tensor, sigma: number): T.Tensor {
  return T.div(T.neg(eps), sigma);
}

/** eps from a score: eps = -sigma_t * score. */
export function epsFromScore(score: T.Tensor, sigma: number): T.Tensor {
  return T.mul(score, -sigma);
}

function checkPrediction(type: string): PredictionType {
  if (!(PREDICTION_TYPES as readonly string[]).includes(type)) {
    invalid("prediction_type", type, `one of ${PREDICTION_TYPES.join(", ")}`);
  }
  return type as PredictionType;
}

/**
 * x0-hat from a VP model output at (alpha, sigma). With alpha = 0 (a zero-terminal-SNR schedule's
 * last step) an epsilon model cannot give x0: that throws naming `prediction_type`.
 */
export function predictX0(type: PredictionType, out: T.Tensor, xt: T.Tensor, c: AlphaSigma): T.Tensor {
  switch (checkPrediction(type)) {
    case "epsilon":
      if (c.alpha === 0) {
        invalid(
          "prediction_type",
          type,
          `usable at alpha_t = 0 (zero terminal SNR): use "v_prediction" or "sample"`,
        );
      }
      return x0FromEps(xt, out, c);
    case "sample":
      return out;
    case "v_prediction":
      return T.sub(T.mul(xt, c.alpha), T.mul(out, c.sigma));
  }
}

/** eps-hat from a VP model output at (alpha, sigma). */
export function predictEps(type: PredictionType, out: T.Tensor, xt: T.Tensor, c: AlphaSigma): T.Tensor {
  switch (checkPrediction(type)) {
    case "epsilon":
      return out;
    case "sample":
      return epsFromX0(xt, out, c);
    case "v_prediction":
      return T.add(T.mul(out, c.alpha), T.mul(xt, c.sigma));
  }
}

/**
 * The model output of type `type` that gives x0-hat = `x0` at x_t = `xt` (the inverse of
 * `predictX0`): eps = (x_t - alpha x0) / sigma; v = alpha eps - sigma x0; sample: x0.
 */
export function outputFromX0(type: PredictionType, x0: T.Tensor, xt: T.Tensor, c: AlphaSigma): T.Tensor {
  switch (checkPrediction(type)) {
    case "epsilon":
      return epsFromX0(xt, x0, c);
    case "sample":
      return x0;
    case "v_prediction":
      return velocityFrom(x0, epsFromX0(xt, x0, c), c);
  }
}

/**
 * x0-hat in the VE form x = x0 + sigma eps from a model that saw x / sqrt(1 + sigma^2) (diffusers'
 * Euler / Heun / LMS `pred_original_sample`):
 * eps: x - sigma out;  v: out (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1);  sample: out.
 */
export function predictX0FromVe(type: PredictionType, out: T.Tensor, x: T.Tensor, sigma: number): T.Tensor {
  switch (checkPrediction(type)) {
    case "epsilon":
      return T.sub(x, T.mul(out, sigma));
    case "sample":
      return out;
    case "v_prediction":
      return T.add(T.mul(out, -sigma / Math.sqrt(sigma * sigma + 1)), T.div(x, sigma * sigma + 1));
  }
}

/** Rectified flow: x0 = x_s - s u. */
export function x0FromFlow(xs: T.Tensor, u: T.Tensor, s: number): T.Tensor {
  return T.sub(xs, T.mul(u, s));
}

/** Rectified flow: eps = x_s + (1 - s) u. */
export function epsFromFlow(xs: T.Tensor, u: T.Tensor, s: number): T.Tensor {
  return T.add(xs, T.mul(u, 1 - s));
}

/** Rectified flow's velocity target u = eps - x0. */
export function flowVelocity(x0: T.Tensor, eps: T.Tensor): T.Tensor {
  return T.sub(eps, x0);
}

/** Clamp x0-hat to [-range, range] (diffusers' `clip_sample`, `clip_sample_range`). */
export function clipSample(x: T.Tensor, range = 1): T.Tensor {
  if (!(range > 0)) invalid("clip_sample_range", range, "a number > 0");
  return T.clip(x, -range, range);
}

/** torch.quantile's linear interpolation on sorted float32 values, in float32 arithmetic. */
function quantileSorted(sorted: Float32Array, q: number): number {
  const f = Math.fround;
  const rank = f(f(q) * (sorted.length - 1));
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const w = f(rank - below);
  const lo = sorted[below];
  const hi = sorted[above];
  // torch.lerp: weight < 0.5 ? lo + w (hi - lo) : hi - (hi - lo)(1 - w)
  return w < 0.5 ? f(lo + f(w * f(hi - lo))) : f(hi - f(f(hi - lo) * f(1 - w)));
}

/**
 * Dynamic thresholding (Saharia et al. 2022, Imagen, Sec. 2.3; diffusers `_threshold_sample`): per
 * batch element, s = quantile(|x0|, ratio) clamped to [1, maxValue]; x0 <- clamp(x0, -s, s) / s.
 * Works on concrete tensors (it sorts values), not inside `compile`.
 */
export function dynamicThreshold(x: T.Tensor, ratio: number, maxValue: number): T.Tensor {
  if (!(ratio > 0 && ratio <= 1)) invalid("dynamic_thresholding_ratio", ratio, "a number in (0, 1]");
  if (!(maxValue >= 1)) invalid("sample_max_value", maxValue, "a number >= 1");
  if (x.rank < 2)
    invalid("sample.shape", `[${x.shape.join(", ")}]`, "a batch of at least 2 axes [B, C, ...]");
  const values = x.values();
  const batch = x.shape[0];
  const row = values.length / batch;
  const out = new Float32Array(values.length);
  for (let b = 0; b < batch; b++) {
    const slice = values.subarray(b * row, (b + 1) * row);
    const sorted = Float32Array.from(slice, Math.abs).sort();
    const s = Math.fround(Math.min(Math.max(quantileSorted(sorted, ratio), 1), maxValue));
    for (let i = 0; i < row; i++) out[b * row + i] = Math.fround(Math.min(Math.max(slice[i], -s), s) / s);
  }
  return T.tensor(out, [...x.shape]);
}

/** The x0 post-processing fields shared by diffusers' schedulers. */
export interface X0Processing {
  thresholding?: boolean;
  dynamic_thresholding_ratio?: number;
  sample_max_value?: number;
  clip_sample?: boolean;
  clip_sample_range?: number;
}

/** Dynamic thresholding if `thresholding`, else clamping if `clip_sample` (diffusers' order of precedence). */
export function processX0(x0: T.Tensor, cfg: X0Processing): T.Tensor {
  if (cfg.thresholding)
    return dynamicThreshold(x0, cfg.dynamic_thresholding_ratio ?? 0.995, cfg.sample_max_value ?? 1);
  if (cfg.clip_sample) return clipSample(x0, cfg.clip_sample_range ?? 1);
  return x0;
}
