/**
 * Dropout in the compiled training step. A mask drawn inside the traced forward would become a
 * constant of the ONNX graph (the same mask every step), so instead:
 *
 *   sites = dropoutSites(denoiser, batch shape)      once per shape: trace the forward with a recording
 *                                                    mask source -> (layer path, activation shape, p)
 *   masks = drawDropoutMasks(key, sites)             per micro-batch, on the host (Philox, from the
 *                                                    batch's key): keep ~ Bernoulli(1 - p), scaled 1/(1-p)
 *   loss(params, { ...batch, dropout: masks })       the masks are graph inputs; each Dropout layer
 *                                                    multiplies by its own (Srivastava et al. 2014)
 *
 * The key comes from the training RNG stream, whose position is in the checkpoint, so a resumed run
 * draws the same masks as an uninterrupted one. A batch without `dropout` runs the network in
 * evaluation mode (validation, EMA evaluation, sampling). Models whose dropout probability is 0 have no
 * sites, and their batches stay exactly as before. Browser-safe.
 */
import type { Denoiser } from "../models/denoiser.js";
import { Dropout, dropoutMaskValues } from "../nn/dropout.js";
import { keyForName } from "../nn/init.js";
import type { Module, Params } from "../nn/module.js";
import type { Key } from "../random/index.js";
import * as T from "../tensor/index.js";

/** One Dropout layer reached by the forward pass: its path, the shape of its input, its probability. */
export interface DropoutSite {
  path: string;
  shape: number[];
  p: number;
}

/**
 * The Dropout layers the forward of `denoiser` reaches on a batch of `batchShape` (with labels when
 * `withLabels`), found by tracing it (no computation) with a mask source that records each call.
 */
export function dropoutSites(
  denoiser: Denoiser,
  params: Params,
  batchShape: readonly number[],
  withLabels: boolean,
): DropoutSite[] {
  const sites: DropoutSite[] = [];
  if (!hasActiveDropout(denoiser.module)) return sites;
  const b = batchShape[0]!;
  const x = T.zeros([...batchShape]);
  const t = T.zeros([b], "int32");
  const labels = withLabels ? [T.zeros([b], "int32")] : [];
  T.trace(
    (p: Params, xx: T.Tensor, tt: T.Tensor, ll: T.Tensor[]) =>
      denoiser.forward(p, xx, tt, ll[0], {
        dropoutMask: (path, shape, prob) => {
          if (sites.some((s) => s.path === path))
            throw new Error(`dropoutSites: dropout layer ${path} is called twice in one forward pass`);
          sites.push({ path, shape: [...shape], p: prob });
          return T.ones([...shape]);
        },
      }),
    [params, x, t, labels],
  );
  return sites;
}

/** Whether the module tree holds a Dropout layer with p > 0 (else there is nothing to trace). */
function hasActiveDropout(m: Module): boolean {
  return (m instanceof Dropout && m.p > 0) || m.children.some(hasActiveDropout);
}

/** The masks of `sites` drawn from `key`, by layer path (each layer from its own key, folded from its path). */
export function drawDropoutMasks(key: Key, sites: readonly DropoutSite[]): Record<string, T.Tensor> {
  const out: Record<string, T.Tensor> = {};
  for (const s of sites) {
    const size = s.shape.reduce((a, d) => a * d, 1);
    out[s.path] = T.tensor(dropoutMaskValues(keyForName(key, s.path), size, s.p), s.shape);
  }
  return out;
}

/** The mask source a forward gets from a batch's masks; a layer without its mask is an error. */
export function maskLookup(masks: Record<string, T.Tensor>): (path: string) => T.Tensor {
  return (path) => {
    const m = masks[path];
    if (!m)
      throw new Error(
        `dropout: the batch has no mask for layer ${path} (masks for: ${Object.keys(masks).join(", ")})`,
      );
    return m;
  };
}
