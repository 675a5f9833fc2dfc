/**
 * A JointUNet model folder (Node):
 *
 *   <dir>/model_index.json                       {"_class_name": "JointPipeline", "joint": [...], "scheduler": [...]}
 *   <dir>/joint/config.json                      JointUNet config (`_class_name` "JointUNet")
 *   <dir>/joint/diffusion_pytorch_model.safetensors
 *   <dir>/scheduler/scheduler_config.json        the DDPMScheduler of the training run
 */
import path from "node:path";
import { makeDir } from "../io/dirs.js";
import { readJsonFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { InputFileError } from "../io/input-error.js";
import type { StTensor } from "../io/safetensors.js";
import { JointUNet } from "../models/joint-unet.js";
import { JOINT_UNET_CLASS } from "../models/joint-unet-config.js";
import { CONFIG_FILE, readWeights, WEIGHTS_FILE } from "../models/pretrained-node.js";
import { assertFiniteParams } from "../nn/finite.js";
import type { Params } from "../nn/module.js";

export const JOINT_PIPELINE_CLASS = "JointPipeline";
const SCHEDULER_FILE = "scheduler_config.json";

export interface JointFolder {
  model: JointUNet;
  params: Params;
  schedulerConfig: Record<string, unknown>;
  /** model_index.json's `_diffuse` record (dataset, steps, class names). */
  info: Record<string, unknown>;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Writes the folder (creating it) with `params` as the weights. */
export async function saveJointFolder(
  dir: string,
  model: JointUNet,
  params: Params,
  schedulerConfig: Record<string, unknown>,
  info: Record<string, unknown> = {},
): Promise<void> {
  const names = model.parameterSpecs().map((s) => s.name);
  const missing = names.filter((n) => !params[n]);
  if (missing.length) throw new Error(`saveJointFolder: parameters missing: ${missing.join(", ")}`);
  const kept = Object.fromEntries(names.map((n) => [n, params[n]!]));
  assertFiniteParams(kept, `model ${path.join(dir, "joint", WEIGHTS_FILE)} not written`);
  const tensors: Record<string, StTensor> = {};
  for (const [name, t] of Object.entries(kept)) {
    tensors[name] = {
      dtype: "F32",
      shape: [...t.shape],
      data: Float32Array.from(t.values() as Float32Array),
    };
  }
  await makeDir(path.join(dir, "joint"), "model folder");
  await makeDir(path.join(dir, "scheduler"), "model folder");
  await writeSafetensorsFile(path.join(dir, "joint", WEIGHTS_FILE), tensors, { format: "pt" });
  await writeFileAtomic(path.join(dir, "joint", CONFIG_FILE), json(model.toConfig()));
  await writeFileAtomic(path.join(dir, "scheduler", SCHEDULER_FILE), json(schedulerConfig));
  await writeFileAtomic(
    path.join(dir, "model_index.json"),
    json({
      _class_name: JOINT_PIPELINE_CLASS,
      joint: ["diffuse", JOINT_UNET_CLASS],
      scheduler: ["diffusers", String(schedulerConfig._class_name ?? "DDPMScheduler")],
      _diffuse: info,
    }),
  );
}

/** Reads a folder written by saveJointFolder; errors name the file and the field. */
export async function loadJointFolder(dir: string): Promise<JointFolder> {
  const indexFile = path.join(dir, "model_index.json");
  const index = (await readJsonFile(indexFile, "model index")) as Record<string, unknown>;
  if (index._class_name !== JOINT_PIPELINE_CLASS) {
    throw new InputFileError(
      indexFile,
      `field "_class_name" is ${JSON.stringify(index._class_name)}; expected "${JOINT_PIPELINE_CLASS}" (a folder from diffuse train --objective joint)`,
    );
  }
  const configFile = path.join(dir, "joint", CONFIG_FILE);
  const config = (await readJsonFile(configFile, "model config")) as Record<string, unknown>;
  if (config._class_name !== JOINT_UNET_CLASS) {
    throw new InputFileError(
      configFile,
      `field "_class_name" is ${JSON.stringify(config._class_name)}; expected "${JOINT_UNET_CLASS}"`,
    );
  }
  let model: JointUNet;
  try {
    model = new JointUNet(config);
  } catch (e) {
    throw new InputFileError(configFile, (e as Error).message, { cause: e });
  }
  const params = await readWeights(path.join(dir, "joint"));
  try {
    model.loadStateDict(params, { strict: true });
  } catch (e) {
    throw new InputFileError(path.join(dir, "joint", WEIGHTS_FILE), (e as Error).message, { cause: e });
  }
  const schedulerConfig = (await readJsonFile(
    path.join(dir, "scheduler", SCHEDULER_FILE),
    "scheduler config",
  )) as Record<string, unknown>;
  const info = (index._diffuse ?? {}) as Record<string, unknown>;
  return { model, params: model.parameters(), schedulerConfig, info };
}
