/**
 * Noise schedules: betas, alphas_cumprod and the zero-terminal-SNR rescale, as diffusers 0.30.3
 * builds them (`DDPMScheduler.__init__`, `betas_for_alpha_bar`, `rescale_zero_terminal_snr`).
 *
 * Notation (DDPM, Ho et al. 2020): beta_t = `betas[t]`, alpha_t = 1 - beta_t,
 * abar_t = prod_{s<=t} alpha_s = `alphasCumprod[t]`; index t = 0..T-1 is the paper's t minus one.
 *
 * Schedules are built by default in diffusers' float32 arithmetic (`dtype: "float32"`), so they equal
 * the tensors a diffusers scheduler holds; pass `dtype: "float64"` for the exact math. Everything
 * derived from them (sigmas, SNR, weights, sampler coefficients) is float64.
 */
import {
  linearBetas,
  scaledLinearBetas,
  sigmoidBetas,
  squaredcosCapV2Betas,
  tutorialCosineBetas,
  tutorialSigmoidBetas,
} from "./beta-ramps.js";
import {
  checkBoolean,
  checkFinite,
  checkInteger,
  checkOneOf,
  invalid,
  MAX_TRAIN_TIMESTEPS,
} from "./check.js";
import { type Dtype, rounder } from "./float32.js";

export type { Dtype } from "./float32.js";
export { arange, linspace, roundHalfEven } from "./linspace.js";
export * from "./sigmas.js";
export * from "./timesteps.js";

/** The beta schedule names accepted in `beta_schedule`. */
export const BETA_SCHEDULES = [
  "linear",
  "scaled_linear",
  "squaredcos_cap_v2",
  "sigmoid",
  "tutorial_cosine",
  "tutorial_sigmoid",
] as const;
export type BetaScheduleName = (typeof BETA_SCHEDULES)[number];

/** Schedule fields of a diffusers scheduler config (other fields are ignored). Defaults as diffusers. */
export interface BetaScheduleConfig {
  /** Default "linear". */
  beta_schedule?: string;
  /** Default 0.0001. */
  beta_start?: number;
  /** Default 0.02. */
  beta_end?: number;
  /** T, default 1000. */
  num_train_timesteps?: number;
  /** Explicit betas; when given, `beta_schedule`, `beta_start`, `beta_end` are not used. */
  trained_betas?: ArrayLike<number> | null;
  /** Rescale to zero terminal SNR (Lin et al. 2024, Algorithm 1). Default false. */
  rescale_betas_zero_snr?: boolean;
}

/** A validated beta ramp (the tagged form of a config's schedule fields). */
export type BetaRamp =
  | {
      kind: "linear" | "scaled_linear" | "sigmoid" | "tutorial_sigmoid";
      T: number;
      betaStart: number;
      betaEnd: number;
    }
  | { kind: "squaredcos_cap_v2" | "tutorial_cosine"; T: number }
  | { kind: "trained"; betas: Float64Array };

/** A validated schedule: a ramp, then optionally the zero-terminal-SNR rescale. */
export interface BetaSchedule {
  ramp: BetaRamp;
  rescaleZeroSnr: boolean;
}

export interface ScheduleOptions {
  /** Arithmetic of the construction; default "float32" (diffusers' tensors). */
  dtype?: Dtype;
}

const DEFAULTS = { beta_schedule: "linear", beta_start: 0.0001, beta_end: 0.02, num_train_timesteps: 1000 };

/** Validate the schedule fields of a diffusers-style config into a `BetaSchedule`. */
export function parseBetaSchedule(config: BetaScheduleConfig): BetaSchedule {
  const rescaleZeroSnr = checkBoolean("rescale_betas_zero_snr", config.rescale_betas_zero_snr ?? false);
  const ramp = parseRamp(config);
  const T = ramp.kind === "trained" ? ramp.betas.length : ramp.T;
  if (rescaleZeroSnr && T < 2)
    invalid("num_train_timesteps", T, "at least 2 when rescale_betas_zero_snr is set");
  return { ramp, rescaleZeroSnr };
}

function parseRamp(config: BetaScheduleConfig): BetaRamp {
  if (config.trained_betas != null)
    return { kind: "trained", betas: parseTrainedBetas(config.trained_betas) };
  const kind = checkOneOf("beta_schedule", config.beta_schedule ?? DEFAULTS.beta_schedule, BETA_SCHEDULES);
  const T = checkInteger(
    "num_train_timesteps",
    config.num_train_timesteps ?? DEFAULTS.num_train_timesteps,
    1,
    MAX_TRAIN_TIMESTEPS,
  );
  if (kind === "squaredcos_cap_v2" || kind === "tutorial_cosine") return { kind, T };
  const betaStart = checkFinite("beta_start", config.beta_start ?? DEFAULTS.beta_start);
  const betaEnd = checkFinite("beta_end", config.beta_end ?? DEFAULTS.beta_end);
  if (betaStart < 0) invalid("beta_start", betaStart, "a number >= 0");
  if (betaEnd >= 1) invalid("beta_end", betaEnd, "a number < 1");
  if (betaEnd <= betaStart) invalid("beta_end", betaEnd, `greater than beta_start (${betaStart})`);
  return { kind, T, betaStart, betaEnd };
}

function parseTrainedBetas(values: ArrayLike<number>): Float64Array {
  if (typeof values !== "object" || typeof values.length !== "number" || values.length < 1) {
    invalid("trained_betas", values, "a non-empty array of numbers");
  }
  const betas = Float64Array.from(values);
  betas.forEach((b, i) => {
    if (!(b >= 0 && b <= 1)) invalid(`trained_betas[${i}]`, values[i], "a number in [0, 1]");
  });
  return betas;
}

/** The ramp's betas, before any rescale. */
export function rampBetas(ramp: BetaRamp, dtype: Dtype): Float64Array {
  switch (ramp.kind) {
    case "trained":
      return ramp.betas.map(rounder(dtype));
    case "linear":
      return linearBetas(ramp.betaStart, ramp.betaEnd, ramp.T, dtype);
    case "scaled_linear":
      return scaledLinearBetas(ramp.betaStart, ramp.betaEnd, ramp.T, dtype);
    case "sigmoid":
      return sigmoidBetas(ramp.betaStart, ramp.betaEnd, ramp.T, dtype);
    case "tutorial_sigmoid":
      return tutorialSigmoidBetas(ramp.betaStart, ramp.betaEnd, ramp.T, dtype);
    case "squaredcos_cap_v2":
      return squaredcosCapV2Betas(ramp.T, dtype);
    case "tutorial_cosine":
      return tutorialCosineBetas(ramp.T, dtype);
  }
}

/**
 * beta_t for t = 0..T-1 from a diffusers-style config (or an already parsed `BetaSchedule`), as
 * `DDPMScheduler.__init__` computes `self.betas`. Throws on invalid fields, naming the field.
 */
export function betasFor(
  config: BetaScheduleConfig | BetaSchedule,
  options: ScheduleOptions = {},
): Float64Array {
  const dtype = options.dtype ?? "float32";
  const schedule = "ramp" in config ? config : parseBetaSchedule(config);
  const betas = rampBetas(schedule.ramp, dtype);
  return schedule.rescaleZeroSnr ? rescaleZeroTerminalSnr(betas, { dtype }) : betas;
}

/**
 * abar_t = prod_{s<=t} (1 - beta_s) (DDPM eq. 4's alpha-bar). In "float32", alpha_t = 1 - beta_t is
 * rounded to float32 and the running product is kept in double and rounded per element, as
 * `torch.cumprod` does on the CPU.
 */
export function alphasCumprod(betas: ArrayLike<number>, options: ScheduleOptions = {}): Float64Array {
  const rd = rounder(options.dtype ?? "float32");
  const out = new Float64Array(betas.length);
  let product = 1;
  for (let t = 0; t < betas.length; t++) {
    product *= rd(1 - rd(betas[t]));
    out[t] = rd(product);
  }
  return out;
}

/**
 * diffusers `rescale_zero_terminal_snr` (Lin et al. 2024, "Common Diffusion Noise Schedules and
 * Sample Steps are Flawed", Algorithm 1): shift sqrt(abar) so that its last value is 0 and scale it so
 * that its first is unchanged, then recover betas. The result has abar_{T-1} = 0 (beta_{T-1} = 1).
 */
export function rescaleZeroTerminalSnr(
  betas: ArrayLike<number>,
  options: ScheduleOptions = {},
): Float64Array {
  const dtype = options.dtype ?? "float32";
  const rd = rounder(dtype);
  const T = betas.length;
  if (T < 2) invalid("betas.length", T, "at least 2 for the zero-terminal-SNR rescale");
  const root = alphasCumprod(betas, { dtype }).map((a) => rd(Math.sqrt(a)));
  const first = root[0];
  const last = root[T - 1];
  if (!(first > last))
    invalid("alphas_cumprod", `${first ** 2} .. ${last ** 2}`, "decreasing from t=0 to t=T-1");
  const scale = rd(first / rd(first - last));
  const abar = root.map((r) => {
    const rescaled = rd(rd(r - last) * scale);
    return rd(rescaled * rescaled);
  });
  const out = new Float64Array(T);
  out[0] = rd(1 - abar[0]);
  for (let t = 1; t < T; t++) out[t] = rd(1 - rd(abar[t] / abar[t - 1]));
  return out;
}

/**
 * The posterior variance beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t of q(x_{t-1} | x_t,
 * x_0) (DDPM eq. 7), in float64, with abar_{-1} = 1, so beta-tilde_0 = 0 (diffusers' `_get_variance`
 * with `alpha_prod_t_prev = 1` at t = 0).
 */
export function posteriorVariance(betas: ArrayLike<number>, abar: ArrayLike<number>): Float64Array {
  if (betas.length !== abar.length)
    invalid("alphas_cumprod.length", abar.length, `equal to betas.length (${betas.length})`);
  const out = new Float64Array(betas.length);
  for (let t = 0; t < betas.length; t++) {
    const prev = t === 0 ? 1 : abar[t - 1];
    out[t] = ((1 - prev) / (1 - abar[t])) * betas[t];
  }
  return out;
}
