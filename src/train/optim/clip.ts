/**
 * Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ (norm_type 2):
 *
 *   total_norm = || (||g_1||, ..., ||g_n||) ||_2 = sqrt(sum_i sum(g_i^2))
 *   clip_coef  = min(max_norm / (total_norm + 1e-6), 1)
 *   g_i       <- g_i * clip_coef
 *
 * Like torch, the gradients are always multiplied by the clamped coefficient (1 when the norm is below
 * the threshold), so there is no data-dependent branch and the function traces under `T.compile`.
 */
import * as T from "../../tensor/index.js";

/** torch's clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_EPS = 1e-6;

/** The 2-norm of all gradient leaves taken together (a float32 scalar tensor). */
export function globalNorm<G>(grads: G): T.Tensor {
  const leaves = T.leaves(grads);
  if (leaves.length === 0) return T.scalar(0);
  const squares = leaves.map((g) => T.sum(T.square(g)));
  return T.sqrt(squares.reduce((acc, s) => T.add(acc, s)));
}

/**
 * Scales `grads` so that their global norm is at most `maxNorm`; returns the clipped tree and the
 * total norm before clipping (what torch's `clip_grad_norm_` returns).
 */
export function clipGradNorm<G>(grads: G, maxNorm: number): { grads: G; norm: T.Tensor } {
  if (!(typeof maxNorm === "number" && maxNorm > 0))
    throw new RangeError(`clipGradNorm: maxNorm is ${maxNorm}, expected a number > 0`);
  const norm = globalNorm(grads);
  const coef = T.minimum(T.div(maxNorm, T.add(norm, CLIP_EPS)), 1);
  return { grads: T.mapTree((g) => T.mul(g, coef), grads), norm };
}
