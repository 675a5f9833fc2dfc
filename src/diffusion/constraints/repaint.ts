/**
 * RePaint (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion Probabilistic
 * Models", Algorithm 1 and Sec. 4.2 "resampling"): DDPM ancestral sampling with replacement of the
 * known region, where the sample is repeatedly pushed back up the noise schedule so that the
 * generated part can harmonise with the known part.
 *
 * Levels k = n, ..., 0 of an n-step DDPM grid: level k >= 1 is the model timestep tau_k (the
 * scheduler's own inference timesteps, tau_n the noisiest), level 0 is clean data (abar = 1).
 * - down k -> k-1: x0-hat from the model at tau_k (clipped if configured), x_{k-1} drawn from the
 *   posterior q(x_{k-1} | x_k, x0-hat) (DDPM eq. 6-7, fixed_small variance); then the known entries
 *   are replaced by a draw of q(x_{k-1} | x0_known) (eq. 8), exactly x0_known at level 0.
 * - up k -> k+J (a jump): x_{k+J} = sqrt(abar_{k+J} / abar_k) x_k + sqrt(1 - abar_{k+J} / abar_k) z,
 *   the forward process over J levels in one draw (RePaint eq. 9 applied J times, in distribution).
 * - the schedule (`repaintSchedule`): walking down from n, on arriving at a jump point k (k = 0, J,
 *   2J, ... with k + J < n) for the first R - 1 times, jump up J levels and walk down again. R = 1
 *   (or J = 0) is plain DDPM with replacement. Network evaluations: n + (#jump points)(R - 1) J.
 * Paper defaults: n = 250, J = 10, R = 10.
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { posterior, posteriorMean } from "../forward.js";
import type { NoiseSource } from "../noise.js";
import { type PredictionType, predictX0, processX0, type X0Processing } from "../parametrization.js";
import { levelFromAbar, type SampleLevel } from "./hook.js";
import type { KnownPart } from "./mask.js";
import { replaceKnown } from "./replace.js";

/**
 * The levels visited, from n down to 0 (see the module header): consecutive entries differ by -1
 * (a denoising step) or +J (a jump).
 */
export function repaintSchedule(n: number, jump: number, resample: number): number[] {
  if (!Number.isInteger(n) || n < 1) invalid("steps", n, "an integer >= 1");
  if (!Number.isInteger(jump) || jump < 0) invalid("repaint jump length", jump, "an integer >= 0");
  if (!Number.isInteger(resample) || resample < 1)
    invalid("repaint resample count", resample, "an integer >= 1");
  const left = new Map<number, number>();
  if (jump > 0 && resample > 1) for (let k = 0; k + jump < n; k += jump) left.set(k, resample - 1);
  const levels = [n];
  let k = n;
  while (k > 0) {
    k--;
    levels.push(k);
    const r = left.get(k) ?? 0;
    if (r > 0) {
      left.set(k, r - 1);
      k += jump;
      levels.push(k);
    }
  }
  return levels;
}

export interface RepaintOptions {
  /** The model timesteps of levels n, ..., 1 (descending; e.g. a DDPM scheduler's `timesteps`). */
  timesteps: ArrayLike<number>;
  /** abar per training timestep. */
  alphasCumprod: ArrayLike<number>;
  predictionType: PredictionType;
  /** clip_sample / thresholding of x0-hat (diffusers' fields). */
  x0Processing?: X0Processing;
  jump: number;
  resample: number;
  /** Known values and mask (mask.ts), of the sample shape. */
  known: KnownPart;
  noise: NoiseSource;
  /** Standard-normal start x_T; drawn from `noise` when omitted. */
  xT?: T.Tensor;
  /** Called after each denoising step with (done, total) network evaluations. */
  onStep?: (done: number, total: number) => void;
}

/** RePaint sampling with the model function `model(x_t, t)`; returns the completed samples. */
export async function sampleRepaint(
  model: (x: T.Tensor, t: number) => T.Tensor | Promise<T.Tensor>,
  o: RepaintOptions,
): Promise<T.Tensor> {
  const n = o.timesteps.length;
  const levels = repaintSchedule(n, o.jump, o.resample);
  const abar = (k: number) => (k === 0 ? 1 : o.alphasCumprod[o.timesteps[n - k]!]!);
  const total = levels.reduce((acc, k, i) => acc + (i > 0 && k < levels[i - 1]! ? 1 : 0), 0);
  let x = o.xT ?? o.noise(o.known.shape);
  let done = 0;
  for (let i = 1; i < levels.length; i++) {
    const from = levels[i - 1]!;
    const to = levels[i]!;
    if (to > from) {
      const ratio = abar(to) / abar(from);
      x = T.add(T.mul(x, Math.sqrt(ratio)), T.mul(o.noise(x.shape), Math.sqrt(1 - ratio)));
      continue;
    }
    const t = o.timesteps[n - from]!;
    const level: SampleLevel = levelFromAbar(abar(from));
    let out = await model(x, t);
    // A learned variance's extra channels are not used: RePaint steps with the fixed_small variance.
    if (x.rank >= 2 && out.shape[1] === 2 * x.shape[1]!) out = T.narrow(out, 1, 0, x.shape[1]!);
    const x0 = processX0(predictX0(o.predictionType, out, x, level), o.x0Processing ?? {});
    const p = posterior(abar(from), abar(to));
    let prev = posteriorMean(x0, x, p);
    if (to > 0) prev = T.add(prev, T.mul(o.noise(x.shape), Math.sqrt(p.varianceSmall)));
    x = replaceKnown(o.known, prev, { last: to === 0, level: levelFromAbar(abar(to)), noise: o.noise });
    o.onStep?.(++done, total);
  }
  return x;
}
