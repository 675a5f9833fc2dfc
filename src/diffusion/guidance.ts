/**
 * Classifier-free guidance as diffusion math over two model outputs (no network, no files).
 *
 *   out = out_u + w (out_c - out_u)                      Ho & Salimans 2022, eq. 6 (diffusers' form)
 *
 * with out_c the conditional and out_u the unconditional (null-class) output at the same x_t, t. The
 * combination is linear in the output, so it serves epsilon-, v- and x0-prediction alike; w = 0 is the
 * unconditional model, w = 1 the conditional one.
 *
 * Guidance rescale (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed",
 * Sec. 3.4, eq. 15-16), as diffusers' `guidance_rescale` (`rescale_noise_cfg`): per sample, with std
 * the unbiased standard deviation over all non-batch axes (torch's `std`, Bessel-corrected),
 *   out_rescaled = out * std(out_c) / std(out)
 *   out_final    = phi out_rescaled + (1 - phi) out          phi = guidance_rescale in [0, 1]
 * phi = 0 is plain guidance. It undoes the variance growth of large w (over-exposed, saturated images).
 *
 * Guidance interval (Kynkäänniemi et al. 2024, "Applying Guidance in a Limited Interval Improves
 * Sample and Distribution Quality"): guidance applies only at model timesteps t with lo <= t <= hi
 * (the t the network sees, 0..num_train_timesteps-1, both ends included). Outside it the step uses the
 * CONDITIONAL output alone, which is the formula at w = 1 (out_u + 1 (out_c - out_u) = out_c), so one
 * un-doubled model call suffices there (no null-class half is evaluated) and no rescale applies.
 * Browser-safe.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";

export interface GuidanceSettings {
  /** Guidance scale w (1: none). */
  scale: number;
  /** phi of guidance rescale in [0, 1] (default 0: none). */
  rescale?: number;
  /** The interval (lo, hi): guide only where lo <= t <= hi (model timesteps); absent: at every step. */
  interval?: readonly [number, number];
}

/** Checks a guidance setting's fields (names the field and value). */
export function checkGuidance(g: GuidanceSettings): void {
  if (!Number.isFinite(g.scale)) invalid("guidance_scale", g.scale, "a finite number");
  const phi = g.rescale ?? 0;
  if (!(phi >= 0 && phi <= 1)) invalid("guidance_rescale", phi, "a number in [0, 1]");
  if (g.interval !== undefined) {
    const [lo, hi] = g.interval;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      invalid("guidance_interval", `[${lo}, ${hi}]`, "two finite timesteps lo <= hi");
    }
  }
}

/** Whether guidance applies at model timestep `t` (always, without an interval). */
export function guidanceActive(g: GuidanceSettings, t: number): boolean {
  if (g.scale === 1) return false;
  if (!g.interval) return true;
  return t >= g.interval[0] && t <= g.interval[1];
}

/** out_u + w (out_c - out_u) (Ho & Salimans 2022, eq. 6). */
export function cfgCombine(cond: T.Tensor, uncond: T.Tensor, w: number): T.Tensor {
  return T.add(uncond, T.mul(T.sub(cond, uncond), w));
}

/** Unbiased standard deviation of `v[start, start + n)` (torch.std's default). */
function std(v: ArrayLike<number>, start: number, n: number): number {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[start + i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[start + i]! - mean) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/**
 * Lin et al. 2024 eq. 15-16 (diffusers' `rescale_noise_cfg`): `guided` rescaled per sample to the
 * standard deviation of `cond`, mixed with itself by phi. phi = 0 returns `guided` unchanged.
 */
export function rescaleGuided(guided: T.Tensor, cond: T.Tensor, phi: number): T.Tensor {
  if (phi === 0) return guided;
  const n = guided.shape[0]!;
  const per = guided.size / n;
  const g = guided.values() as Float32Array;
  const c = cond.values() as Float32Array;
  const out = new Float32Array(g.length);
  for (let b = 0; b < n; b++) {
    const ratio = std(c, b * per, per) / std(g, b * per, per);
    for (let i = b * per; i < (b + 1) * per; i++) out[i] = phi * (g[i]! * ratio) + (1 - phi) * g[i]!;
  }
  return T.tensor(out, [...guided.shape]);
}

/** The guided output at timestep t: eq. 6 then the rescale, or `cond` where guidance is off. */
export function guidedOutput(cond: T.Tensor, uncond: T.Tensor, g: GuidanceSettings, t: number): T.Tensor {
  if (!guidanceActive(g, t)) return cond;
  return rescaleGuided(cfgCombine(cond, uncond, g.scale), cond, g.rescale ?? 0);
}
