/**
 * The noise-conditioned classifier's objective (Dhariwal & Nichol 2021, Sec. 4; tutorial 5.3.1):
 * cross-entropy of p_phi(y | x_t, t) on noised data, with t uniform over the training timesteps of the
 * SAME schedule as the diffusion model the classifier will guide:
 *
 *   x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I),  t ~ U{0..T-1}     (DDPM eq. 4)
 *   L   = -mean_i log softmax(f_phi(x_t,i, t_i))[y_i]
 *
 * A pure function of (params, batch) that the compiled training step (step.ts) differentiates. The
 * batch is a `LossBatch` drawn on the host by losses.ts' `drawLossInputs` (same noise, timesteps and
 * schedule tables as diffusion training), so resume is bit-exact for the same reasons. Browser-safe.
 */
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import type { LossBatch, LossConfig } from "./losses.js";

/** A classifier as a function: logits [B, K] of x_t [B, C, H, W] at timesteps [B]. */
export type ClassifierFn = (params: Params, xt: T.Tensor, timesteps: T.Tensor) => T.Tensor;

/** The loss settings handed to `lossTables` / `drawLossInputs` (only the schedule matters here). */
export const CLASSIFIER_LOSS_CONFIG: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };

/** x_t = alpha x0 + sigma eps with per-example alpha, sigma [B] broadcast over the example axes. */
export function noisedInput(b: LossBatch): T.Tensor {
  const perExample = (v: T.Tensor) =>
    T.reshape(v, [b.x0.shape[0]!, ...new Array<number>(b.x0.rank - 1).fill(1)]);
  return T.add(T.mul(perExample(b.alpha), b.x0), T.mul(perExample(b.sigma), b.noise));
}

/** Mean cross-entropy of `classifier` on the noised batch (labels required). */
export function classifierLoss(classifier: ClassifierFn): (params: Params, batch: LossBatch) => T.Tensor {
  return (params, b) => {
    if (!b.labels) throw new Error("classifier loss: the batch has no labels (a labelled dataset is needed)");
    const logits = classifier(params, noisedInput(b), T.cast(b.timesteps, "float32"));
    const k = logits.shape[1]!;
    const logp = T.sum(T.mul(T.logSoftmax(logits, -1), T.oneHot(b.labels, k)), [1]);
    return T.neg(T.mean(logp));
  };
}

/** The fraction of examples whose arg-max logit is the label (host side). */
export function accuracy(logits: T.Tensor, labels: Int32Array): number {
  const v = logits.values() as Float32Array;
  const [B, K] = logits.shape as [number, number];
  let right = 0;
  for (let i = 0; i < B; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (v[i * K + k]! > v[i * K + best]!) best = k;
    if (best === labels[i]) right++;
  }
  return right / B;
}
