/**
 * Loading and saving diffusers model folders (Node only): `config.json` (with `_class_name`) and
 * `diffusion_pytorch_model.safetensors`, the layout of diffusers' `from_pretrained` / `save_pretrained`.
 */
import path from "node:path";
import { makeDir } from "../io/dirs.js";
import { readJsonFile, readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { InputFileError, inFile } from "../io/input-error.js";
import type { StTensor } from "../io/safetensors.js";
import { tensorToFloat32 } from "../io/safetensors_convert.js";
import { assertFiniteParams } from "../nn/finite.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import { AutoencoderKL } from "./autoencoder-kl.js";
import { ConfigError } from "./config-fields.js";
import { checkMemory, estimateModel } from "./estimate.js";
import { defaultMemoryLimit } from "./resources-node.js";
import { TutorialUNet } from "./tutorial-unet.js";
import { UNet2DModel } from "./unet2d.js";

export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";

/** The model classes a folder may hold, by diffusers `_class_name`. */
export const MODEL_CLASSES = { UNet2DModel, AutoencoderKL, TutorialUNet } as const;
export type PretrainedModel = UNet2DModel | AutoencoderKL | TutorialUNet;

/** Builds the model a config object describes, chosen by its `_class_name`. */
export function modelFromConfig(config: unknown, source = "config"): PretrainedModel {
  const name = (config as { _class_name?: unknown } | null)?._class_name;
  const names = Object.keys(MODEL_CLASSES);
  if (typeof name !== "string" || !Object.hasOwn(MODEL_CLASSES, name)) {
    throw new ConfigError(
      `${source}: field "_class_name" is ${JSON.stringify(name)}; expected one of ${names.join(", ")}`,
    );
  }
  return new MODEL_CLASSES[name as keyof typeof MODEL_CLASSES](config);
}

/** A float32 tensor from a safetensors entry (F16/BF16/F64/integers are converted). */
function toTensor(t: StTensor): T.Tensor {
  return T.tensor(tensorToFloat32(t), t.shape);
}

/** Reads `dir/diffusion_pytorch_model.safetensors` as float32 tensors by name. */
export async function readWeights(dir: string, file = WEIGHTS_FILE): Promise<Params> {
  const { tensors } = await readSafetensorsFile(path.join(dir, file));
  const out: Params = {};
  for (const [name, t] of tensors) out[name] = toTensor(t);
  // NaN/Inf weights would only show up later as NaN samples (a black image): refuse them here.
  assertFiniteParams(out, path.join(dir, file));
  return out;
}

/**
 * Loads a diffusers model folder: the class named by config.json's `_class_name`, with its parameters
 * set from the safetensors weights (strictly: every name must match, with its shape).
 */
export async function loadPretrained(
  dir: string,
  weightsFile = WEIGHTS_FILE,
  maxMemory?: number,
): Promise<PretrainedModel> {
  const configPath = path.join(dir, CONFIG_FILE);
  const config = await readJsonFile(configPath, "model config");
  // The size is estimated before anything is built: a config beyond the memory limit is refused.
  inFile(configPath, () =>
    checkMemory(estimateModel(config), {
      batch: 1,
      workload: "inference",
      limitBytes: maxMemory ?? defaultMemoryLimit(),
    }),
  );
  const model = modelFromConfig(config, configPath);
  const weights = await readWeights(dir, weightsFile);
  try {
    model.loadStateDict(weights, { strict: true });
  } catch (e) {
    throw new InputFileError(path.join(dir, weightsFile), (e as Error).message, { cause: e });
  }
  return model;
}

/** `loadPretrained` that also checks the class. */
export async function loadPretrainedAs<C extends keyof typeof MODEL_CLASSES>(
  dir: string,
  className: C,
  weightsFile = WEIGHTS_FILE,
): Promise<InstanceType<(typeof MODEL_CLASSES)[C]>> {
  const model = await loadPretrained(dir, weightsFile);
  if (!(model instanceof MODEL_CLASSES[className])) {
    throw new Error(
      `${path.join(dir, CONFIG_FILE)}: holds a ${model.constructor.name}, expected ${className}`,
    );
  }
  return model as InstanceType<(typeof MODEL_CLASSES)[C]>;
}

/** JSON with sorted keys and 2-space indent, as diffusers' `to_json_string` writes configs. */
function sortedJson(value: Record<string, unknown>): string {
  const sorted = Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]]),
  );
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/**
 * Writes `dir/config.json` (with `_class_name`, `_diffusers_version`) and
 * `dir/diffusion_pytorch_model.safetensors` (metadata `format: pt`, as diffusers saves) for `model`
 * with parameters `params` (default: the model's held parameters). Creates `dir` if needed.
 */
export async function savePretrained(
  model: PretrainedModel,
  params: Params | null,
  dir: string,
): Promise<void> {
  const p = params ?? model.parameters();
  const names = model.parameterSpecs().map((s) => s.name);
  const missing = names.filter((n) => !p[n]);
  if (missing.length) throw new Error(`savePretrained: parameters missing: ${missing.join(", ")}`);
  assertFiniteParams(
    Object.fromEntries(names.map((n) => [n, p[n]!])),
    `model ${path.join(dir, WEIGHTS_FILE)} not written`,
  );
  const tensors: Record<string, StTensor> = {};
  for (const name of names) {
    const t = p[name]!;
    tensors[name] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.values()) };
  }
  await makeDir(dir, "model folder");
  await writeSafetensorsFile(path.join(dir, WEIGHTS_FILE), tensors, { format: "pt" });
  await writeFileAtomic(path.join(dir, CONFIG_FILE), sortedJson(model.toConfig()));
}
