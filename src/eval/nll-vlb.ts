/**
 * Negative log-likelihood in bits/dim from the variational bound of a discrete-time diffusion model
 * (DDPM, Ho et al. 2020, eq. 5; Improved DDPM, Nichol & Dhariwal 2021, Sec. 2 and 3.1; improved-
 * diffusion's `calc_bpb_loop` / `_vb_terms_bpd` / `_prior_bpd`). In the paper's indexing (t = 1..T), per
 * image x_0 with D coordinates,
 *
 *   -log p(x_0) <= L_T + sum_{t=1}^{T-1} L_t + L_0   (nats; reported / (D ln 2) as bits/dim)
 *   L_T = KL(q(x_T | x_0) || N(0, I))                            (closed form)
 *   L_t = KL(q(x_t | x_{t+1}, x_0) || p(x_t | x_{t+1})),         x_{t+1} ~ q(x_{t+1} | x_0), one draw per t
 *   L_0 = -log p(x_0 | x_1)                                       (discretized Gaussian decoder)
 *
 * The code indexes training timesteps 0..T-1 (the paper's t minus one): the model call at index t
 * sees x_{t+1} and yields L_t, so `terms[t]` is the paper's L_t and index 0 is the decoder.
 * In code indices, p(x_{t-1} | x_t) = N(mu_tilde(x_t, x0_hat), sigma_t^2 I), x0_hat from the model output
 * (`predictX0`, optionally clipped to [-1, 1]: `clip_denoised`), mu_tilde from `posterior` (DDPM eq. 7)
 * and sigma_t^2 by `variance`, as improved-diffusion sets it:
 *   "fixed_small":   beta_tilde_t, with beta_tilde_0 (= 0) replaced by beta_tilde_1;
 *   "fixed_large":   beta_t for t >= 1 and beta_tilde_1 at t = 0;
 *   "learned_range": exp(frac log beta_t + (1 - frac) log beta_tilde_t), frac = (v + 1) / 2 from the
 *                    model's second half of channels (Improved DDPM eq. 15), beta_tilde_0 clipped as above.
 * The bound needs every one of the T terms (no strided subset); `timestepBatch` evaluates several
 * timesteps in one model call. Coefficients and the terms are computed in float64 on the host.
 */
import { checkOneOf, invalid } from "../diffusion/check.js";
import { addNoise, clippedLogVariance, learnedRangeLogVariance, posterior } from "../diffusion/forward.js";
import {
  alphaSigmaFromAbar,
  clipSample,
  PREDICTION_TYPES,
  type PredictionType,
  predictX0,
} from "../diffusion/parametrization.js";
import { foldIn, type Key, makeKey, normal } from "../random/index.js";
import * as T from "../tensor/index.js";
import {
  CDF_KINDS,
  type CdfKind,
  checkDecoderRange,
  discretizedGaussianLogLikelihood,
  gaussianLogDensity,
  normalKl,
} from "./nll-gaussian.js";

/** The model as the bound sees it: output for x_t [B, ...] at int32 training timesteps t [B]. */
export type VlbModel = (x: T.Tensor, t: T.Tensor) => T.Tensor | Promise<T.Tensor>;

export const VLB_VARIANCES = ["fixed_small", "fixed_large", "learned_range"] as const;
export type VlbVariance = (typeof VLB_VARIANCES)[number];
/** "discretized": 8-bit data in [-1, 1] (the bound on the discrete NLL); "continuous": N(x_0; mu, sigma^2). */
export const VLB_DECODERS = ["discretized", "continuous"] as const;
export type VlbDecoder = (typeof VLB_DECODERS)[number];

export interface VlbOptions {
  /** abar_t for t = 0..T-1 (strictly decreasing, in [0, 1)). */
  alphasCumprod: ArrayLike<number>;
  /** What the model predicts (default "epsilon"). */
  prediction?: PredictionType;
  /** sigma_t^2 of p(x_{t-1} | x_t) (default "fixed_small"). */
  variance?: VlbVariance;
  /** Default "discretized". */
  decoder?: VlbDecoder;
  /** The normal CDF of the discretized decoder (default "exact"). */
  cdf?: CdfKind;
  /** Clamp x0_hat to [-1, 1] (improved-diffusion's `clip_denoised`); default: true with the discretized decoder. */
  clipDenoised?: boolean;
  /** Key of the forward-process noise (one draw per timestep, keyed by t); default makeKey(0). */
  key?: Key;
  /** Timesteps per model call: the call sees a batch of timestepBatch * B (default 1). */
  timestepBatch?: number;
  /** Called after each model call with (timesteps done, T). */
  onProgress?: (done: number, total: number) => void;
}

export interface VlbResult {
  /** The bound per image, in bits/dim: prior + sum of the KL terms + decoder. */
  bpd: Float64Array;
  /** L_T per image, bits/dim. */
  prior: Float64Array;
  /** L_0 per image, bits/dim. */
  decoder: Float64Array;
  /** The mean over images of the term at each timestep index t (the paper's L_t; t = 0: L_0), bits/dim. */
  terms: Float64Array;
}

interface Step {
  t: number;
  abar: number;
  x0Coef: number;
  xtCoef: number;
  /** log beta_tilde_t, clipped at t = 0: the true posterior's log variance (and "fixed_small"). */
  logSmall: number;
  /** log beta_t: the upper end of "learned_range". */
  logBeta: number;
  /** The model's log variance for the fixed types. */
  logFixed: number;
}

function checkSchedule(abar: ArrayLike<number>): void {
  if (abar.length < 2) invalid("alphasCumprod.length", abar.length, "at least 2");
  for (let t = 0; t < abar.length; t++) {
    const prev = t === 0 ? 1 : abar[t - 1]!;
    if (!(abar[t]! >= 0 && abar[t]! < prev)) {
      invalid(`alphasCumprod[${t}]`, abar[t], `in [0, ${prev}) (decreasing, below 1)`);
    }
  }
}

/** The per-timestep coefficients of the bound (float64). */
function steps(abar: ArrayLike<number>, variance: VlbVariance): Step[] {
  const posteriors = Array.from({ length: abar.length }, (_, t) =>
    posterior(abar[t]!, t === 0 ? 1 : abar[t - 1]!),
  );
  const logSmall = clippedLogVariance(posteriors.map((p) => p.varianceSmall));
  return posteriors.map((p, t) => {
    const logBeta = Math.log(p.varianceLarge);
    const logFixed = variance === "fixed_large" && t > 0 ? logBeta : logSmall[t]!;
    return {
      t,
      abar: abar[t]!,
      x0Coef: p.x0Coef,
      xtCoef: p.xtCoef,
      logSmall: logSmall[t]!,
      logBeta,
      logFixed,
    };
  });
}

interface Settings {
  prediction: PredictionType;
  variance: VlbVariance;
  decoder: VlbDecoder;
  cdf: CdfKind;
  clip: boolean;
}

function settings(o: VlbOptions): Settings {
  const decoder = checkOneOf("decoder", o.decoder ?? "discretized", VLB_DECODERS);
  return {
    prediction: checkOneOf("prediction", o.prediction ?? "epsilon", PREDICTION_TYPES),
    variance: checkOneOf("variance", o.variance ?? "fixed_small", VLB_VARIANCES),
    decoder,
    cdf: checkOneOf("cdf", o.cdf ?? "exact", CDF_KINDS),
    clip: o.clipDenoised ?? decoder === "discretized",
  };
}

/** x0_hat and the model's log variance (a number, or one per element) from one output block. */
function modelTerms(out: T.Tensor, xt: T.Tensor, step: Step, s: Settings) {
  const channels = xt.shape[1]!;
  const learned = s.variance === "learned_range";
  const want = learned ? [xt.shape[0]!, 2 * channels, ...xt.shape.slice(2)] : xt.shape;
  if (out.shape.join(",") !== want.join(",")) {
    invalid(
      "model output shape",
      `[${out.shape.join(", ")}]`,
      `[${want.join(", ")}] for variance ${s.variance}`,
    );
  }
  const [mean, v] = learned ? T.split(out, [channels, channels], 1) : [out, null];
  const x0 = predictX0(s.prediction, mean!, xt, alphaSigmaFromAbar(step.abar));
  const x0hat = (s.clip ? clipSample(x0) : x0).values();
  if (!v) return { x0hat, logVar: (_: number) => step.logFixed };
  const range = {
    x0Coef: 0,
    xtCoef: 0,
    varianceSmall: Math.exp(step.logSmall),
    varianceLarge: Math.exp(step.logBeta),
  };
  const lv = learnedRangeLogVariance(v, range).values();
  return { x0hat, logVar: (i: number) => lv[i]! };
}

/** Sum over each image's coordinates of the term at `step`, in nats. */
function termNats(x0: T.Tensor, xt: T.Tensor, out: T.Tensor, step: Step, s: Settings): Float64Array {
  const { x0hat, logVar } = modelTerms(out, xt, step, s);
  const x = x0.values();
  const y = xt.values();
  const B = x0.shape[0]!;
  const D = x.length / B;
  const sums = new Float64Array(B);
  for (let i = 0; i < x.length; i++) {
    const lv = logVar(i);
    const mean = step.x0Coef * x0hat[i]! + step.xtCoef * y[i]!;
    let term: number;
    if (step.t > 0) term = normalKl(step.x0Coef * x[i]! + step.xtCoef * y[i]!, step.logSmall, mean, lv);
    else if (s.decoder === "discretized")
      term = -discretizedGaussianLogLikelihood(x[i]!, mean, 0.5 * lv, s.cdf);
    else term = -gaussianLogDensity(x[i]!, mean, lv);
    sums[Math.floor(i / D)] += term;
  }
  return sums;
}

/** L_T = KL(N(sqrt(abar_{T-1}) x_0, 1 - abar_{T-1}) || N(0, 1)) summed per image, in nats. */
function priorNats(x0: T.Tensor, abarLast: number): Float64Array {
  const x = x0.values();
  const B = x0.shape[0]!;
  const D = x.length / B;
  const lv = Math.log(1 - abarLast);
  const out = new Float64Array(B);
  for (let i = 0; i < x.length; i++)
    out[Math.floor(i / D)] += normalKl(Math.sqrt(abarLast) * x[i]!, lv, 0, 0);
  return out;
}

/** Noised copies of x0 at each timestep of `ts`, stacked along the batch axis, with their int32 timesteps. */
function noisedBatch(x0: T.Tensor, ts: number[], abar: ArrayLike<number>, key: Key) {
  const B = x0.shape[0]!;
  const xts = ts.map((t) => {
    const noise = T.tensor(normal(foldIn(key, t), x0.size), [...x0.shape]);
    return addNoise(x0, noise, new Array<number>(B).fill(t), abar);
  });
  const tIn = T.tensor(
    Int32Array.from(ts.flatMap((t) => new Array<number>(B).fill(t))),
    [ts.length * B],
    "int32",
  );
  return { xts, x: T.concat(xts, 0), t: tIn };
}

/**
 * The variational bound on -log p(x_0) in bits/dim for each image of `x0` [B, C, ...] (B >= 1; for the
 * discretized decoder, values in [-1, 1]). One forward-process draw per (image, timestep).
 */
export async function vlbBitsPerDim(model: VlbModel, x0: T.Tensor, options: VlbOptions): Promise<VlbResult> {
  const s = settings(options);
  const abar = options.alphasCumprod;
  checkSchedule(abar);
  if (x0.rank < 2 || x0.shape[0]! < 1 || x0.size === 0) {
    invalid("x0.shape", `[${x0.shape.join(", ")}]`, "a non-empty batch [B, C, ...] with B >= 1");
  }
  if (s.decoder === "discretized") checkDecoderRange(x0.values(), "x0");
  const chunk = options.timestepBatch ?? 1;
  if (!Number.isInteger(chunk) || chunk < 1) invalid("timestepBatch", chunk, "an integer >= 1");
  const key = options.key ?? makeKey(0);
  const table = steps(abar, s.variance);
  const B = x0.shape[0]!;
  const natsPerBitDim = (x0.size / B) * Math.LN2; // D ln 2: nats per image -> bits/dim
  const prior = priorNats(x0, abar[abar.length - 1]!).map((v) => v / natsPerBitDim);
  const total = Float64Array.from(prior);
  const decoder = new Float64Array(B);
  const terms = new Float64Array(table.length);
  for (let start = 0; start < table.length; start += chunk) {
    const ts = table.slice(start, start + chunk).map((st) => st.t);
    const batch = noisedBatch(x0, ts, abar, key);
    const out = await model(batch.x, batch.t);
    if (out.shape[0] !== batch.x.shape[0]) {
      invalid("model output shape[0]", out.shape[0], `the batch size of its input (${batch.x.shape[0]})`);
    }
    const outs = T.split(out, new Array<number>(ts.length).fill(B), 0);
    ts.forEach((t, k) => {
      const perImage = termNats(x0, batch.xts[k]!, outs[k]!, table[t]!, s);
      for (let b = 0; b < B; b++) {
        const bits = perImage[b]! / natsPerBitDim;
        total[b] += bits;
        terms[t] += bits / B;
        if (t === 0) decoder[b] = bits;
      }
    });
    options.onProgress?.(start + ts.length, table.length);
  }
  return { bpd: total, prior, decoder, terms };
}
