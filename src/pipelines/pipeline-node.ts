/** Loading a `DiffusionPipeline` from a model folder on disk (Node only). */

import { type LoadLimits, loadModelFolder } from "./model-folder-node.js";
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
  return new DiffusionPipeline({
    denoiser: model.denoiser,
    params: model.params,
    schedulerConfig: model.schedulerConfig,
    info: model.info,
    ...(model.schedulerPath ? { schedulerSource: model.schedulerPath } : {}),
  });
}
