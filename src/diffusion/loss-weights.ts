/**
 * Per-timestep weights for the denoising loss ||target - model(x_t, t)||^2.
 *
 * Notation (DDPM, Ho et al. 2020): beta_t = `betas[t]`, alpha_t = 1 - beta_t, abar_t =
 * `alphasCumprod[t]`, SNR_t = abar_t / (1 - abar_t); index t = 0..T-1 is the paper's t minus one.
 */
import { checkOneOf, checkPositive, invalid } from "./check.js";
import { posteriorVariance } from "./schedules.js";

export const PREDICTION_TYPES = ["epsilon", "v_prediction", "sample"] as const;
/** What the model predicts, with diffusers' `prediction_type` names ("sample" is x_0). */
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/**
 * Min-SNR-gamma weights (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting
 * Strategy", eq. 8 and Sec. 3.4; diffusers' training scripts with `--snr_gamma`): the x_0-loss weight
 * min(SNR, gamma) expressed for the model's target:
 * - "sample" (x_0):   min(SNR, gamma)
 * - "epsilon":        min(SNR, gamma) / SNR
 * - "v_prediction":   min(SNR, gamma) / (SNR + 1)
 * At SNR = 0 (a zero-terminal-SNR schedule's last step) the epsilon weight is its limit, 1, where
 * diffusers' formula gives 0/0 (its SDXL script also replaces it by 1); at SNR = Infinity the epsilon
 * and v weights are 0.
 */
export function minSnrWeights(
  snr: ArrayLike<number>,
  gamma: number,
  prediction: PredictionType,
): Float64Array {
  checkPositive("gamma", gamma);
  const kind = checkOneOf("prediction", prediction, PREDICTION_TYPES);
  return Float64Array.from(snr, (s, t) => {
    if (!(s >= 0)) invalid(`snr[${t}]`, s, "a number >= 0");
    const clipped = Math.min(s, gamma);
    if (kind === "sample") return clipped;
    if (kind === "v_prediction") return clipped / (s + 1);
    return s === 0 ? 1 : clipped / s;
  });
}

/** The reverse-process variance sigma_t^2 used by `vlbWeights` (DDPM Sec. 3.2's two choices). */
export type ReverseVariance = "posterior" | "beta";

/**
 * The weights lambda_t that turn the simple loss into the variational bound: DDPM eq. 12,
 * L_{t-1} - C = E[ beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) ||eps - eps_theta(x_t, t)||^2 ], so
 * L_vlb = sum_t lambda_t L_simple,t with
 *
 *     lambda_t = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)).
 *
 * sigma_t^2 is the posterior variance beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t
 * (`"posterior"`, the default) or beta_t (`"beta"`).
 *
 * Convention at t = 0 (the paper's t = 1): beta-tilde_0 = 0 (abar_{-1} = 1), which would make lambda_0
 * infinite; that term of the bound is the decoder's L_0, not a KL. We use sigma_0^2 = beta-tilde_1,
 * the clipped posterior variance of Nichol & Dhariwal 2021 (`posterior_log_variance_clipped` in
 * improved-diffusion), so lambda_0 = beta_0^2 / (2 beta-tilde_1 alpha_0 (1 - abar_0)) = beta_0 /
 * (2 beta-tilde_1 alpha_0). With `"beta"`, lambda_t = beta_t / (2 alpha_t (1 - abar_t)), finite for
 * all t, and lambda_0 = 1 / (2 alpha_0). A step with alpha_t = 0 (zero terminal SNR) gets Infinity.
 */
export function vlbWeights(
  betas: ArrayLike<number>,
  abar: ArrayLike<number>,
  variance: ReverseVariance = "posterior",
): Float64Array {
  checkOneOf("variance", variance, ["posterior", "beta"] as const);
  const T = betas.length;
  if (abar.length !== T) invalid("alphas_cumprod.length", abar.length, `equal to betas.length (${T})`);
  if (variance === "posterior" && T < 2) invalid("betas.length", T, "at least 2 for the posterior variance");
  const sigma2 = variance === "beta" ? Float64Array.from(betas) : posteriorVariance(betas, abar);
  if (variance === "posterior") sigma2[0] = sigma2[1];
  return Float64Array.from(betas, (beta, t) => (beta * beta) / (2 * sigma2[t] * (1 - beta) * (1 - abar[t])));
}
