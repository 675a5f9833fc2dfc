/**
 * Inpainting by replacement (Song et al. 2021, score SDE App. I.2; Lugmayr et al. 2022, RePaint
 * eq. 8): after each step the known entries of x_{t-1} are set to a fresh draw of
 *   q(x_{t-1} | x0_known) = scale * (alpha_{t-1} x0_known + sigma_{t-1} z),  z ~ N(0, I),
 * at the new sample's level (hook.ts), the unknown entries keep the sampler's values. At the final
 * step the known entries are the given values themselves, bit for bit (whatever the last level).
 */
import * as T from "../../tensor/index.js";
import type { NoiseSource } from "../noise.js";
import { noisyAt, type SampleLevel, type StepHook } from "./hook.js";
import { type KnownPart, knownPart, mergeKnown } from "./mask.js";

/** The replacement step on `x` at `level`; `last`: the exact known values. */
export function replaceKnown(
  part: KnownPart,
  x: T.Tensor,
  info: { last: boolean; level: SampleLevel; noise: NoiseSource },
): T.Tensor {
  if (info.last) return mergeKnown(part, x, part.known);
  const z = info.noise(x.shape);
  const noisy = noisyAt(T.tensor(part.known, [...part.shape]), info.level, z);
  return mergeKnown(part, x, noisy.values());
}

/**
 * A StepHook that replaces the known entries (mask 1 = keep) after every step. `known` and `mask`
 * broadcast to the samples (mask.ts); they are checked on the first step.
 */
export function replacement(known: T.Tensor, mask: T.Tensor): StepHook {
  let part: KnownPart | null = null;
  return (x, info) => {
    part ??= knownPart(known, mask, x.shape);
    return replaceKnown(part, x, info);
  };
}
