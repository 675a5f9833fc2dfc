/** Loading a `DiffusionPipeline` from a model folder on disk (Node only). */

import { existsSync } from "node:fs";
import path from "node:path";
import { InputFileError } from "../io/input-error.js";
import { CONFIG_FILE, loadPretrainedAs } from "../models/pretrained-node.js";
import { LatentDecoder } from "./latent.js";
import { type LoadLimits, loadModelFolder, MODEL_INDEX_FILE } from "./model-folder-node.js";
import { DiffusionPipeline } from "./pipeline.js";

/**
 * The pipeline of a model folder: diffusers' pipeline layout (model_index.json, unet/, scheduler/) as
 * `diffuse train` and `DDPMPipeline.save_pretrained` write it, or a bare model folder (config.json +
 * weights) whose scheduler config lies in `../scheduler`. A model beyond `limits.maxMemory` is refused
 * before it is built (models/estimate.ts).
 */
export async function loadPipeline(dir: string, limits: LoadLimits = {}): Promise<DiffusionPipeline> {
  const model = await loadModelFolder(dir, limits);
  if (!model.schedulerConfig) {
    throw new Error(`model folder ${dir}: no scheduler/scheduler_config.json found (the noise schedule)`);
  }
  const decoder = await loadLatentDecoder(dir, model.denoiser.toConfig());
  return new DiffusionPipeline({
    ...(decoder ? { decoder } : {}),
    denoiser: model.denoiser,
    params: model.params,
    schedulerConfig: model.schedulerConfig,
    info: model.info,
    source: dir,
    ...(model.schedulerPath ? { schedulerSource: model.schedulerPath } : {}),
  });
}

/**
 * A latent diffusion pipeline's autoencoder (`vae/` beside `unet/`, as `diffuse train --vae` writes
 * it), or null for a pixel-space model. Its latent channels must match the U-Net's in/out channels.
 */
async function loadLatentDecoder(
  dir: string,
  unetConfig: Record<string, unknown>,
): Promise<LatentDecoder | null> {
  const root = existsSync(path.join(dir, MODEL_INDEX_FILE)) ? dir : path.dirname(path.resolve(dir));
  const vaeDir = path.join(root, "vae");
  if (!existsSync(path.join(vaeDir, CONFIG_FILE))) return null;
  const vae = await loadPretrainedAs(vaeDir, "AutoencoderKL");
  const decoder = new LatentDecoder(vae, vae.parameters());
  const why = decoder.mismatch(unetConfig);
  if (why) {
    const file = path.join(vaeDir, CONFIG_FILE);
    throw new InputFileError(file, `${file}: ${why} (${path.join(root, "unet", CONFIG_FILE)})`, {
      named: true,
      field: "latent_channels",
    });
  }
  return decoder;
}
