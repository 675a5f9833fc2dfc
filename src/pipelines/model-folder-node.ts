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
import path from "node:path";
import { makeDir } from "../io/dirs.js";
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
import type { ModelInfo } from "./model-info.js";

export type { ModelInfo };

export const MODEL_INDEX_FILE = "model_index.json";
export const SCHEDULER_CONFIG_FILE = "scheduler_config.json";

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
  await makeDir(path.join(dir, "scheduler"), "model folder");
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
  const info = checkModelInfo(index._diffuse ?? {}, denoiser.numClassEmbeds, rootIndex);
  return {
    dir,
    denoiser,
    params,
    schedulerConfig,
    schedulerPath: schedulerConfig ? schedulerPath : null,
    info,
  };
}

/**
 * model_index.json's "_diffuse" entry against the model: `numClasses` and `nullClass` must be
 * integers that index the class embedding (`[1, num_class_embeds]` and `[0, num_class_embeds)`),
 * else a label or the null class would reach the embedding lookup as an out-of-range index.
 */
export function checkModelInfo(raw: unknown, numClassEmbeds: number | null, file: string): ModelInfo {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InputFileError(file, `field "_diffuse" is ${JSON.stringify(raw)}; expected a JSON object`, {
      field: "_diffuse",
    });
  }
  const info = raw as ModelInfo;
  const check = (field: "numClasses" | "nullClass", lo: number, hiIncl: number) => {
    const v: unknown = info[field];
    if (v === undefined || v === null) return;
    const range = `an integer in [${lo}, ${hiIncl}]`;
    if (numClassEmbeds === null) {
      throw new InputFileError(
        file,
        `field "_diffuse.${field}" is ${JSON.stringify(v)} but the model has no class embedding (num_class_embeds is null)`,
        { field: `_diffuse.${field}` },
      );
    }
    if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hiIncl) {
      throw new InputFileError(
        file,
        `field "_diffuse.${field}" is ${JSON.stringify(v)}; expected ${range} (the model has num_class_embeds = ${numClassEmbeds})`,
        { field: `_diffuse.${field}` },
      );
    }
  };
  if (numClassEmbeds !== null || info.numClasses != null || info.nullClass != null) {
    check("numClasses", 1, numClassEmbeds ?? 0);
    check("nullClass", 0, (numClassEmbeds ?? 1) - 1);
  }
  return info;
}
