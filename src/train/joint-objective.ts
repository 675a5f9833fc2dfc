/**
 * The joint (image, label) objective of a JointUNet (models/joint-unet.ts), UniDiffuser's (Bao et al.
 * 2023, Sec. 3.1, eq. 5): each modality gets its OWN timestep and noise,
 *
 *   t_x, t_y ~ U{0..T-1} independently,  x_t = alpha(t_x) x0 + sigma(t_x) eps_x,  y_t likewise,
 *   L = E[ ||eps_x_hat - eps_x||^2 ] + lambda * E[ ||eps_y_hat - eps_y||^2 ]   (means over entries)
 *
 * (with the model's `label_prediction` "sample" the label term is lambda * E[ ||y0_hat - y0||^2 ])
 *
 * so one network learns every conditional and the joint. To train the two conditionals at their exact
 * conditioning point, with probability `cleanLabelProb` an example's label is CLEAN (y_t = y0,
 * t_y = 0: the p(x | y) case) and with probability `cleanImageProb` its image is (t_x = 0, x_t = x0:
 * p(y | x)); a clean modality has no noise to predict, so its term is masked out of the loss.
 *
 * The label y0 is the one-hot of the class in +-1 (`oneHotPm`). Browser-safe.
 */
import type { JointUNet } from "../models/joint-unet.js";
import type { Params } from "../nn/module.js";
import { type Key, normal, randint, split, uniform } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { LossTables } from "./losses.js";
import type { CustomObjective } from "./trainer.js";

export interface JointObjectiveSettings {
  /** lambda: the label term's weight. */
  labelWeight: number;
  /** Probability that an example's label is clean (t_y = 0): trains p(x | y). */
  cleanLabelProb: number;
  /** Probability that an example's image is clean (t_x = 0): trains p(y | x). */
  cleanImageProb: number;
}

/**
 * The defaults favour the label task: lambda 4 (the label term is 10 numbers against the image's 784,
 * and its gradient reaches the U-Net only through the head) and a clean modality a quarter of the time
 * each, so that p(y | x) and p(x | y) are trained at their exact conditioning point on half the batch.
 */
export const JOINT_DEFAULTS: JointObjectiveSettings = {
  labelWeight: 4,
  cleanLabelProb: 0.25,
  cleanImageProb: 0.25,
};

/** One batch of the joint objective (host-drawn). `w*` is 0 where that modality is clean. */
export interface JointBatch {
  x0: T.Tensor;
  noiseX: T.Tensor;
  tx: T.Tensor;
  alphaX: T.Tensor;
  sigmaX: T.Tensor;
  weightX: T.Tensor;
  y0: T.Tensor;
  noiseY: T.Tensor;
  ty: T.Tensor;
  alphaY: T.Tensor;
  sigmaY: T.Tensor;
  weightY: T.Tensor;
}

/** Labels [B] -> one-hot vectors in +-1, [B * dim] row-major; a label outside 0..dim-1 is an error. */
export function oneHotPm(labels: ArrayLike<number>, dim: number, field = "labels"): Float32Array {
  const out = new Float32Array(labels.length * dim).fill(-1);
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= dim) {
      throw new RangeError(`${field}[${i}] is ${k}; expected an integer class in 0..${dim - 1}`);
    }
    out[i * dim + k] = 1;
  }
  return out;
}

/** Which examples have a clean label (1) / clean image (2) / both noised (0), from one uniform draw. */
export function drawCleanKinds(key: Key, batch: number, s: JointObjectiveSettings): Uint8Array {
  const u = uniform(key, batch);
  return Uint8Array.from(u, (v) =>
    v < s.cleanLabelProb ? 1 : v < s.cleanLabelProb + s.cleanImageProb ? 2 : 0,
  );
}

/** The random inputs of one batch from one key: key -> [noise x, noise y, t_x, t_y, clean kinds]. */
export function drawJointInputs(
  key: Key,
  x0: Float32Array,
  shape: readonly number[],
  labels: Int32Array,
  labelDim: number,
  tables: LossTables,
  s: JointObjectiveSettings,
): JointBatch {
  const B = shape[0]!;
  if (labels.length !== B) throw new RangeError(`labels: ${labels.length} labels for a batch of ${B}`);
  const [kNx, kNy, kTx, kTy, kClean] = split(key, 5);
  const tx = randint(kTx!, B, 0, tables.numTrainTimesteps);
  const ty = randint(kTy!, B, 0, tables.numTrainTimesteps);
  const kinds = drawCleanKinds(kClean!, B, s);
  const vec = (f: (i: number) => number) =>
    T.tensor(
      Float32Array.from({ length: B }, (_, i) => f(i)),
      [B],
    );
  for (let i = 0; i < B; i++) {
    if (kinds[i] === 1) ty[i] = 0;
    if (kinds[i] === 2) tx[i] = 0;
  }
  return {
    x0: T.tensor(x0, [...shape]),
    noiseX: T.tensor(normal(kNx!, x0.length), [...shape]),
    tx: T.tensor(tx, [B], "int32"),
    alphaX: vec((i) => (kinds[i] === 2 ? 1 : tables.alpha[tx[i]!]!)),
    sigmaX: vec((i) => (kinds[i] === 2 ? 0 : tables.sigma[tx[i]!]!)),
    weightX: vec((i) => (kinds[i] === 2 ? 0 : 1)),
    y0: T.tensor(oneHotPm(labels, labelDim), [B, labelDim]),
    noiseY: T.tensor(normal(kNy!, B * labelDim), [B, labelDim]),
    ty: T.tensor(ty, [B], "int32"),
    alphaY: vec((i) => (kinds[i] === 1 ? 1 : tables.alpha[ty[i]!]!)),
    sigmaY: vec((i) => (kinds[i] === 1 ? 0 : tables.sigma[ty[i]!]!)),
    weightY: vec((i) => (kinds[i] === 1 ? 0 : 1)),
  };
}

/** alpha [B] and sigma [B] broadcast against v [B, ...]: alpha v0 + sigma eps. */
function noised(v0: T.Tensor, eps: T.Tensor, alpha: T.Tensor, sigma: T.Tensor): T.Tensor {
  const s = [v0.shape[0]!, ...v0.shape.slice(1).map(() => 1)];
  return T.add(T.mul(T.reshape(alpha, s), v0), T.mul(T.reshape(sigma, s), eps));
}

/** Mean over examples of w_i * mean_j (a_ij - b_ij)^2. */
function weightedMse(a: T.Tensor, b: T.Tensor, w: T.Tensor): T.Tensor {
  const d = T.sub(a, b);
  const axes = a.shape.slice(1).map((_, i) => i + 1);
  return T.mean(T.mul(T.mean(T.mul(d, d), axes), w));
}

/** The traced loss of one JointBatch. */
export function jointLoss(
  model: JointUNet,
  s: JointObjectiveSettings,
): (params: Params, b: JointBatch) => T.Tensor {
  return (params, b) => {
    const xt = noised(b.x0, b.noiseX, b.alphaX, b.sigmaX);
    const yt = noised(b.y0, b.noiseY, b.alphaY, b.sigmaY);
    const out = model.forward(params, xt, b.tx, yt, b.ty);
    const lx = weightedMse(out.epsX, b.noiseX, b.weightX);
    // label_prediction "sample": the head predicts y0, its loss is on y0 (joint-unet-config.ts)
    const targetY = model.config.label_prediction === "sample" ? b.y0 : b.noiseY;
    const ly = weightedMse(out.epsY, targetY, b.weightY);
    return T.add(lx, T.mul(ly, s.labelWeight));
  };
}

/** The objective for the trainer (trainer.ts CustomObjective); the data must carry labels. */
export function jointObjective(
  model: JointUNet,
  tables: LossTables,
  s: JointObjectiveSettings,
): CustomObjective {
  const dim = model.config.label_dim;
  return {
    loss: jointLoss(model, s) as CustomObjective["loss"],
    draw: (key, data) => {
      if (!data.labels)
        throw new Error(
          "joint objective: the dataset has no labels (a labelled dataset such as mnist is needed)",
        );
      return drawJointInputs(key, data.x, data.shape, data.labels, dim, tables, s);
    },
  };
}
