/**
 * The KL autoencoder's objective (Kingma & Welling 2014; Rombach et al. 2022, Sec. 3 and App. G;
 * tutorial 4.1): with the posterior q(z|x) = N(mu(x), diag(sigma^2(x))) of `AutoencoderKL.encode`,
 *
 *   z     = mu + sigma * eps,   eps ~ N(0, I)                         reparameterisation (K&W eq. 10)
 *   L_rec = mean_{i,j} rho(x_ij - D(z)_ij),  rho = |d| (l1) or d^2 (l2)   per pixel
 *   L_KL  = mean_i KL(q(z|x_i) || N(0, I)) / D,   D = C * H * W pixels of one image
 *   L     = L_rec + beta * L_KL [+ w_perc * L_perc(x, D(z))]
 *
 * Both terms are divided by the same D, so beta has the meaning of LDM's `kl_weight` (their loss sums
 * the reconstruction over the pixels and the KL over the latent, per example). Default beta = 1e-6,
 * the value of every KL autoencoder config of the latent diffusion code (autoencoder_kl_*.yaml): the
 * KL term is there to keep the latent's scale bounded and the posterior slightly noisy, not to make
 * the latent a N(0, I) code; the data's latent scale is then fixed by `scaling_factor` (1 / std of
 * the latents, vae-scale.ts). A larger beta trades reconstruction for a smoother latent.
 *
 * The optional perceptual term (perceptual-loss.ts) compares x and D(z) in the activations of a
 * frozen feature network (the project's eval feature nets, where one exists for the data); its
 * weight `perceptualWeight` (default 0: off) multiplies a per-element mean like L_rec's.
 *
 * A pure function of (params, batch) that the compiled training step (step.ts) differentiates; the
 * noise eps comes from the host (`drawVaeInputs`, keyed), so resume is bit-exact. Browser-safe.
 */
import type { AutoencoderKL } from "../models/autoencoder-kl.js";
import { klToStandardNormal, samplePosterior } from "../models/vae.js";
import type { Params } from "../nn/module.js";
import { type Key, normal } from "../random/index.js";
import * as T from "../tensor/index.js";
import { type FeatureStages, perceptualDistance } from "./perceptual-loss.js";

export const RECONSTRUCTION_LOSSES = ["l1", "l2"] as const;
export type ReconstructionLoss = (typeof RECONSTRUCTION_LOSSES)[number];

/** Default KL weight (LDM's kl_weight; see the file comment). */
export const DEFAULT_VAE_BETA = 1e-6;

export interface VaeLossConfig {
  reconstruction: ReconstructionLoss;
  beta: number;
  /** Weight of the perceptual term (0 or absent: off; > 0 needs the feature stages). */
  perceptualWeight?: number;
}

/** One batch: images x [B, C, H, W] in [-1, 1] and the posterior noise eps [B, latent, h, w]. */
export interface VaeBatch {
  x: T.Tensor;
  noise: T.Tensor;
}

/** Latent shape [latent_channels, H / f, W / f] of an image shape [C, H, W] (f = 2^(blocks - 1)). */
export function latentShapeOf(vae: AutoencoderKL, image: readonly number[]): [number, number, number] {
  const f = downsampleFactor(vae);
  return [vae.config.latent_channels, image[1]! / f, image[2]! / f];
}

/** The autoencoder's downsampling factor f = 2^(len(block_out_channels) - 1). */
export function downsampleFactor(vae: AutoencoderKL): number {
  return 2 ** (vae.config.block_out_channels.length - 1);
}

/** The posterior noise of a batch of `shape` [B, C, H, W] from `key`. */
export function drawVaeInputs(
  key: Key,
  x: Float32Array,
  shape: readonly number[],
  vae: AutoencoderKL,
): VaeBatch {
  const latent = latentShapeOf(vae, shape.slice(1));
  const B = shape[0]!;
  const n = B * latent[0] * latent[1] * latent[2];
  return { x: T.tensor(x, [...shape]), noise: T.tensor(normal(key, n), [B, ...latent]) };
}

/** rho(x - y) averaged over every element. */
export function reconstructionError(x: T.Tensor, y: T.Tensor, kind: ReconstructionLoss): T.Tensor {
  const d = T.sub(x, y);
  return T.mean(kind === "l1" ? T.abs(d) : T.square(d));
}

/**
 * L = L_rec + beta L_KL [+ w_perc L_perc] (file comment) as a function of (params, batch); `phi`
 * (the frozen feature network's stages) is required when `cfg.perceptualWeight` > 0.
 */
export function vaeLoss(
  vae: AutoencoderKL,
  cfg: VaeLossConfig,
  phi?: FeatureStages,
): (params: Params, batch: VaeBatch) => T.Tensor {
  const wPerc = cfg.perceptualWeight ?? 0;
  if (wPerc > 0 && !phi) {
    throw new Error(
      `vaeLoss: perceptualWeight is ${wPerc} but no feature network was given; pass its stages (phi) or set perceptualWeight to 0`,
    );
  }
  return (params, b) => {
    const posterior = vae.encode(params, b.x);
    const recon = vae.decode(params, samplePosterior(posterior, b.noise));
    let loss = reconstructionError(b.x, recon, cfg.reconstruction);
    if (cfg.beta !== 0) {
      const pixels = b.x.shape[1]! * b.x.shape[2]! * b.x.shape[3]!;
      const kl = T.div(T.mean(klToStandardNormal(posterior)), pixels);
      loss = T.add(loss, T.mul(kl, cfg.beta));
    }
    if (wPerc > 0) loss = T.add(loss, T.mul(perceptualDistance(phi!, b.x, recon), wPerc));
    return loss;
  };
}

/** Peak signal-to-noise ratio (dB) of a mean squared error on images in [-1, 1] (peak-to-peak 2). */
export function psnr(mse: number): number {
  return 10 * Math.log10(4 / mse);
}

/**
 * `scaling_factor` from latents z (posterior means of a data sample): 1 / std(z) over all elements,
 * so the scaled latents have unit variance (Rombach et al. 2022, Sec. 4.3.2 and App. G: "we rescale
 * the latents by the component-wise standard deviation"; Stable Diffusion's 0.18215 came this way).
 */
export function scalingFactorOf(z: Float32Array): number {
  let sum = 0;
  for (const v of z) sum += v;
  const mean = sum / z.length;
  let sq = 0;
  for (const v of z) sq += (v - mean) * (v - mean);
  const std = Math.sqrt(sq / Math.max(1, z.length - 1));
  if (!(std > 0 && Number.isFinite(std))) {
    throw new Error(
      `scaling_factor: the latents' std is ${std} over ${z.length} values; expected a positive number`,
    );
  }
  return 1 / std;
}
