/**
 * The beta ramps beta_1..beta_T of the forward process q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1},
 * beta_t I) (DDPM, Ho et al. 2020, eq. 2), indexed 0..T-1 as in diffusers. Each ramp follows the
 * reference's order of float32 operations when `dtype` is "float32" (see float32.ts).
 */
import { type Dtype, type Round, rounder, torchLinspace } from "./float32.js";
import { sleefCosf } from "./sleef-cosf.js";

/** diffusers `betas_for_alpha_bar`'s cap on betas for `squaredcos_cap_v2`. */
const COSINE_MAX_BETA = 0.999;
/** The cosine schedule's offset s (Nichol & Dhariwal 2021, eq. 17). */
const COSINE_S = 0.008;
/** The tutorial cosine schedule clamps its betas to [1e-4, 0.9999]. */
const TUTORIAL_COSINE_CLAMP = [1e-4, 0.9999] as const;

/** diffusers `linear`: `torch.linspace(beta_start, beta_end, T)`. */
export function linearBetas(betaStart: number, betaEnd: number, T: number, dtype: Dtype): Float64Array {
  return torchLinspace(betaStart, betaEnd, T, dtype);
}

/** diffusers `scaled_linear` (Stable Diffusion): `torch.linspace(sqrt(beta_start), sqrt(beta_end), T) ** 2`. */
export function scaledLinearBetas(betaStart: number, betaEnd: number, T: number, dtype: Dtype): Float64Array {
  const rd = rounder(dtype);
  const roots = torchLinspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), T, dtype);
  return roots.map((r) => rd(r * r));
}

/**
 * abar(t) = cos(((t + s) / (1 + s)) * pi / 2)^2 for t in [0, 1] (Nichol & Dhariwal 2021, eq. 17),
 * each operation rounded by `rd` in the tutorial's order: `((t + s) / (1 + s)) * pi * 0.5`, with the
 * cosine `cos` (the exact one unless a float32 kernel is being reproduced).
 */
function cosineAlphaBar(t: number, rd: Round, cos: (x: number) => number = Math.cos): number {
  const angle = rd(rd(rd(rd(t + rd(COSINE_S)) / rd(1 + COSINE_S)) * rd(Math.PI)) * 0.5);
  const c = rd(cos(angle));
  return rd(c * c);
}

/**
 * diffusers `squaredcos_cap_v2` (`betas_for_alpha_bar`, cosine): beta_i = min(1 - abar((i+1)/T) /
 * abar(i/T), 0.999), computed in Python doubles, then stored as float32 when `dtype` is "float32".
 */
export function squaredcosCapV2Betas(T: number, dtype: Dtype): Float64Array {
  const rd = rounder(dtype);
  const exact = (x: number) => x;
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const beta = 1 - cosineAlphaBar((i + 1) / T, exact) / cosineAlphaBar(i / T, exact);
    out[i] = rd(Math.min(beta, COSINE_MAX_BETA));
  }
  return out;
}

/**
 * The tutorial's cosine schedule: abar on `x = linspace(0, T, T+1)`, normalised by abar(0), betas
 * `1 - abar[i+1] / abar[i]` clamped to [1e-4, 0.9999], all in float32 torch ops when `dtype` is
 * "float32". It differs from `squaredcos_cap_v2` only in the clamp (and in float32 rounding).
 *
 * In float32, `torch.cos` on x86-64 CPUs is not correctly rounded: a contiguous float32 tensor goes
 * through ATen's `vml::vcos`, which maps SLEEF's `Sleef_cosf8_u10` over every element (the last,
 * partial vector included), so the cosine here is `sleefCosf`. A 1-ulp change in one abar moves two
 * betas by ~3e-7, which is why the float32 path must use the same cosine to match PyTorch.
 */
export function tutorialCosineBetas(T: number, dtype: Dtype): Float64Array {
  const rd = rounder(dtype);
  const cos = dtype === "float32" ? sleefCosf : Math.cos;
  const abar = new Float64Array(T + 1);
  for (let i = 0; i <= T; i++) abar[i] = cosineAlphaBar(rd(i / T), rd, cos);
  const abar0 = abar[0];
  for (let i = 0; i <= T; i++) abar[i] = rd(abar[i] / abar0);
  const [lo, hi] = TUTORIAL_COSINE_CLAMP.map(rd);
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const beta = rd(1 - rd(abar[i + 1] / abar[i]));
    out[i] = Math.min(Math.max(beta, lo), hi);
  }
  return out;
}

/** `sigmoid(x) * (beta_end - beta_start) + beta_start` over a grid x, in torch's op order. */
function sigmoidRamp(x: Float64Array, betaStart: number, betaEnd: number, dtype: Dtype): Float64Array {
  const rd = rounder(dtype);
  const range = rd(betaEnd - betaStart);
  const start = rd(betaStart);
  return x.map((v) => {
    const sigmoid = rd(1 / rd(1 + rd(Math.exp(-v))));
    return rd(rd(sigmoid * range) + start);
  });
}

/** diffusers `sigmoid` (DDPMScheduler): `sigmoid(torch.linspace(-6, 6, T)) * (beta_end - beta_start) + beta_start`. */
export function sigmoidBetas(betaStart: number, betaEnd: number, T: number, dtype: Dtype): Float64Array {
  return sigmoidRamp(torchLinspace(-6, 6, T, dtype), betaStart, betaEnd, dtype);
}

/** The tutorial's sigmoid: `sigmoid((i/T - 0.5) * 12) * (beta_end - beta_start) + beta_start`, i = 0..T-1. */
export function tutorialSigmoidBetas(
  betaStart: number,
  betaEnd: number,
  T: number,
  dtype: Dtype,
): Float64Array {
  const rd = rounder(dtype);
  const x = new Float64Array(T);
  for (let i = 0; i < T; i++) x[i] = rd(rd(rd(i / T) - 0.5) * 12);
  return sigmoidRamp(x, betaStart, betaEnd, dtype);
}
