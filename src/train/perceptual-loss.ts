/**
 * A perceptual reconstruction term (Johnson et al. 2016, "feature reconstruction loss"; Zhang et al.
 * 2018, LPIPS; the LDM autoencoders add LPIPS to L1 + KL): the distance between images measured in
 * the intermediate activations phi_s of a fixed, pretrained network,
 *
 *   L_perc(x, y) = (1/S) sum_{s=1..S} mean_{n,c,h,w} (phi_s(x) - phi_s(y))^2
 *
 * with every stage averaged over its own elements, so each stage counts the same whatever its size.
 * The network is frozen: `phi` closes over its weights, which become constants of the traced graph,
 * not parameters of the loss (no gradient, no optimizer state, not saved with the autoencoder). Its
 * gradient still flows into y = D(z) through phi's ops. x and y go through phi as one batch of 2B
 * (per-example normalisation only, so this equals two separate passes). Browser-safe.
 */
import * as T from "../tensor/index.js";

/** The activations phi_s(x), s = 1..S, of a frozen network for images x [N, C, H, W]. */
export type FeatureStages = (x: T.Tensor) => T.Tensor[];

/** L_perc(x, y) of the file comment: a scalar tensor, 0 when x = y. */
export function perceptualDistance(phi: FeatureStages, x: T.Tensor, y: T.Tensor): T.Tensor {
  const n = x.shape[0]!;
  const stages = phi(T.concat([x, y], 0));
  if (stages.length === 0) throw new Error("perceptualDistance: the feature network returned no stages");
  const perStage = stages.map((h) => {
    const [hx, hy] = T.split(h, [n, n], 0);
    return T.mean(T.square(T.sub(hx!, hy!)));
  });
  return T.div(
    perStage.reduce((a, b) => T.add(a, b)),
    stages.length,
  );
}
