/**
 * A trained model on disk in diffusers' pipeline layout (Node only), as `DDPMPipeline.save_pretrained`
 * writes it, so `DDPMPipeline.from_pretrained(dir)` (diffusers) and `loadModelFolder(dir)` both load it:
 *
 *   <dir>/model_index.json                         pipeline class + components (+ "_diffuse" info)
 *   <dir>/unet/config.json                         UNet2DModel (or MLPDenoiser) config
 *   <dir>/unet/diffusion_pytorch_model.safetensors weights (the EMA weights of a training run)
 *   <dir>/scheduler/scheduler_config.json          DDPMScheduler: the training noise schedule
 *
 * diffusers ignores model_index.json keys that start with "_", so `_diffuse` carries what sampling
 * here needs beyond diffusers' fields: the number of classes, the null class of classifier-free
 * guidance, class names, the data kind and the normalisation of vector data.
 */

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Normalization } from "../data/types.js";
import { readJsonFile, writeFileAtomic } from "../io/files.js";
import { attachFile, InputFileError } from "../io/input-error.js";
import { type Denoiser, denoiserFromConfig } from "../models/denoiser.js";
import { checkMemory, estimateModel } from "../models/estimate.js";
import {
  CONFIG_FILE,
  type PretrainedModel,
  readWeights,
  savePretrained,
  WEIGHTS_FILE,
} from "../models/pretrained-node.js";
import { defaultMemoryLimit } from "../models/resources-node.js";
import { DIFFUSERS_VERSION } from "../models/unet2d-config.js";
import type { Params } from "../nn/module.js";

export const MODEL_INDEX_FILE = "model_index.json";
export const SCHEDULER_CONFIG_FILE = "scheduler_config.json";

/** What model_index.json's "_diffuse" entry records. */
export interface ModelInfo {
  /** Number of real classes (labels 0..numClasses-1) of a class-conditional model. */
  numClasses?: number;
  /** The unconditional class index used for classifier-free guidance (= numClasses). */
  nullClass?: number;
  classNames?: string[];
  dataset?: string;
  dataKind?: "image" | "points" | "table";
  /** Vector data: the affine map from model space back to data units. */
  normalization?: Normalization;
  /** Optimizer steps the weights were trained for. */
  steps?: number;
}

export interface LoadedModel {
  dir: string;
  denoiser: Denoiser;
  params: Params;
  /** scheduler_config.json, or null for a bare model folder. */
  schedulerConfig: Record<string, unknown> | null;
  /** Where schedulerConfig was read from (for error messages), or null. */
  schedulerPath: string | null;
  info: ModelInfo;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A JSON file that must hold an object (InputFileError naming the file otherwise). */
async function readJsonObject(file: string, what: string): Promise<Record<string, unknown>> {
  const value = await readJsonFile(file, what);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputFileError(file, `${what} ${file} is not a JSON object`, { named: true });
  }
  return value as Record<string, unknown>;
}

/** Writes the pipeline folder for `denoiser` with weights `params`. */
export async function saveModelFolder(
  dir: string,
  denoiser: Denoiser,
  params: Params,
  schedulerConfig: Record<string, unknown>,
  info: ModelInfo,
): Promise<void> {
  await mkdir(path.join(dir, "scheduler"), { recursive: true });
  // savePretrained needs only parameterSpecs() and toConfig(), which every denoiser has.
  await savePretrained(denoiser.module as unknown as PretrainedModel, params, path.join(dir, "unet"));
  await writeFileAtomic(path.join(dir, "scheduler", SCHEDULER_CONFIG_FILE), json(schedulerConfig));
  const unetLib = denoiser.className === "UNet2DModel" ? "diffusers" : "diffuse";
  await writeFileAtomic(
    path.join(dir, MODEL_INDEX_FILE),
    json({
      _class_name: "DDPMPipeline",
      _diffusers_version: DIFFUSERS_VERSION,
      _diffuse: info,
      scheduler: ["diffusers", String(schedulerConfig._class_name ?? "DDPMScheduler")],
      unet: [unetLib, denoiser.className],
    }),
  );
}

export interface LoadLimits {
  /** Memory budget in bytes for the model's parameters and one example (default: defaultMemoryLimit()). */
  maxMemory?: number;
  /** How the user raises the budget, for the message of a refused model. */
  memoryHint?: string;
}

/**
 * Loads a bare model folder (config.json + diffusion_pytorch_model.safetensors). The config's size is
 * estimated first: a model whose parameters and one example exceed `limits.maxMemory` is refused
 * (ResourceError naming config.json) before anything is built or read.
 */
export async function loadDenoiserFolder(
  dir: string,
  limits: LoadLimits = {},
): Promise<{ denoiser: Denoiser; params: Params }> {
  const configPath = path.join(dir, CONFIG_FILE);
  const config = await readJsonObject(configPath, "model config");
  let denoiser: Denoiser;
  try {
    checkMemory(estimateModel(config), {
      batch: 1,
      workload: "inference",
      limitBytes: limits.maxMemory ?? defaultMemoryLimit(),
      ...(limits.memoryHint ? { hint: limits.memoryHint } : {}),
    });
    denoiser = denoiserFromConfig(config);
  } catch (e) {
    const named = attachFile(e, configPath);
    if (named !== e) throw named;
    throw new Error(`${configPath}: ${(e as Error).message}`);
  }
  const weights = await readWeights(dir);
  try {
    denoiser.module.loadStateDict(weights, { strict: true });
  } catch (e) {
    // The weights do not fit the config: bad input, naming the weights file.
    throw new InputFileError(path.join(dir, WEIGHTS_FILE), (e as Error).message, { cause: e });
  }
  return { denoiser, params: denoiser.module.parameters() };
}

/**
 * Loads a model for sampling: a pipeline folder (model_index.json, unet/, scheduler/) or a bare model
 * folder (config.json; its scheduler config then comes from `../scheduler` when present).
 */
export async function loadModelFolder(dir: string, limits: LoadLimits = {}): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist`);
  const indexPath = path.join(dir, MODEL_INDEX_FILE);
  const isPipeline = existsSync(indexPath);
  if (!existsSync(path.join(isPipeline ? path.join(dir, "unet") : dir, CONFIG_FILE))) {
    throw new Error(
      `model folder ${dir}: expected ${MODEL_INDEX_FILE} with unet/${CONFIG_FILE} (a pipeline) or ${CONFIG_FILE} (a model)`,
    );
  }
  // A bare unet/ folder of a pipeline still finds the pipeline's index and scheduler next to it.
  const root = isPipeline ? dir : path.dirname(path.resolve(dir));
  const rootIndex = path.join(root, MODEL_INDEX_FILE);
  const index = existsSync(rootIndex) ? await readJsonObject(rootIndex, "model index") : {};
  const modelDir = isPipeline ? path.join(dir, "unet") : dir;
  const { denoiser, params } = await loadDenoiserFolder(modelDir, limits);
  const schedulerPath = path.join(root, "scheduler", SCHEDULER_CONFIG_FILE);
  const schedulerConfig = existsSync(schedulerPath)
    ? await readJsonObject(schedulerPath, "scheduler config")
    : null;
  const info = (index._diffuse ?? {}) as ModelInfo;
  return {
    dir,
    denoiser,
    params,
    schedulerConfig,
    schedulerPath: schedulerConfig ? schedulerPath : null,
    info,
  };
}
