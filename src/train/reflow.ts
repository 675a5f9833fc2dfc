/**
 * Reflow (Liu et al. 2022, "Flow Straight and Fast", Algorithm 1, k-rectified flow): draw couplings
 * (z, x) by running a trained flow's ODE from noise z to its sample x, then train a new flow on those
 * fixed pairs with the flow-matching loss (flow-loss.ts):
 *
 *   x_t = (1 - t) x + t z,   target v* = z - x,   t ~ U(0, 1) or logit-normal
 *
 * Because each pair is already joined by the first flow, the new flow's paths cross less and are
 * straighter (the paper's Theorem 3.7), so fewer Euler steps suffice; straightness
 * (diffusion/samplers/flow.ts) measures it. LIBRARY ONLY: the pairs live in memory (no cached,
 * resumable pair file and no `diffuse distill --method reflow` yet). Browser-safe.
 */

import { flowTimeGrid, sampleFlowEuler, type VelocityFn } from "../diffusion/samplers/flow.js";
import { type Key, randint, split } from "../random/index.js";
import * as T from "../tensor/index.js";
import { drawFlowInputs, type FlowTimeConfig } from "./flow-loss.js";
import type { LossBatch, LossConfig } from "./losses.js";

/** Couplings (noise z, sample x) of a flow, row-major [N, ...example]. */
export interface ReflowPairs {
  noise: Float32Array;
  samples: Float32Array;
  /** [N, ...example]. */
  shape: number[];
}

/** Pairs from `velocity`: Euler with `steps` uniform steps from each row of `noise` (t = 1) to t = 0. */
export async function reflowPairs(
  velocity: VelocityFn,
  noise: T.Tensor,
  steps: number,
): Promise<ReflowPairs> {
  const x = await sampleFlowEuler(velocity, noise, flowTimeGrid(steps));
  return {
    noise: Float32Array.from(noise.values() as Float32Array),
    samples: Float32Array.from(x.values() as Float32Array),
    shape: [...noise.shape],
  };
}

/** One reflow batch of `batchSize` pairs picked with `key`: x0 = the pair's sample, eps = its noise. */
export function drawReflowInputs(
  key: Key,
  pairs: ReflowPairs,
  batchSize: number,
  times: FlowTimeConfig,
  numTrainTimesteps: number,
  cfg: LossConfig,
): LossBatch {
  const [kPick, kFlow] = split(key, 2);
  const n = pairs.shape[0]!;
  const row = pairs.samples.length / n;
  const pick = randint(kPick!, batchSize, 0, n);
  const gather = (src: Float32Array) => {
    const out = new Float32Array(batchSize * row);
    for (const [b, i] of pick.entries()) out.set(src.subarray(i * row, (i + 1) * row), b * row);
    return out;
  };
  const shape = [batchSize, ...pairs.shape.slice(1)];
  const batch = drawFlowInputs(kFlow!, gather(pairs.samples), shape, times, numTrainTimesteps, cfg);
  return { ...batch, noise: T.tensor(gather(pairs.noise), shape) };
}
