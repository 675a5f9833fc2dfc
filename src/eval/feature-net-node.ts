/**
 * The shipped feature nets on disk (Node only): `assets/feature-nets/<dataset>/config.json` +
 * `model.safetensors`, loaded by dataset name or from any folder with the same two files.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readJsonFile, readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import type { StTensor } from "../io/safetensors.js";
import { tensorToFloat32 } from "../io/safetensors_convert.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import { FeatureNet, parseFeatureNetConfig } from "./feature-net.js";

export const FEATURE_NET_CONFIG_FILE = "config.json";
export const FEATURE_NET_WEIGHTS_FILE = "model.safetensors";

/** Datasets with a shipped feature net. */
export const FEATURE_NET_DATASETS = ["mnist", "fashion-mnist"] as const;

/** `assets/feature-nets` of the package (src/eval and dist/eval are both two levels below the root). */
export const FEATURE_NETS_DIR = fileURLToPath(new URL("../../assets/feature-nets/", import.meta.url));

/** The folder of the shipped net for `dataset`; errors list the datasets that have one. */
export function featureNetDir(dataset: string): string {
  if (!(FEATURE_NET_DATASETS as readonly string[]).includes(dataset)) {
    throw new Error(
      `dataset: no feature net for ${JSON.stringify(dataset)}; expected one of ${FEATURE_NET_DATASETS.join(", ")}`,
    );
  }
  return path.join(FEATURE_NETS_DIR, dataset);
}

export interface LoadedFeatureNet {
  net: FeatureNet;
  params: Params;
  dir: string;
}

/** Loads a feature net from a folder, or the shipped one when `dirOrDataset` is a dataset name. */
export async function loadFeatureNet(dirOrDataset: string): Promise<LoadedFeatureNet> {
  const dir = existsSync(path.join(dirOrDataset, FEATURE_NET_CONFIG_FILE))
    ? dirOrDataset
    : featureNetDir(dirOrDataset);
  const configPath = path.join(dir, FEATURE_NET_CONFIG_FILE);
  let net: FeatureNet;
  try {
    net = new FeatureNet(parseFeatureNetConfig(await readJsonFile(configPath, "feature net config")));
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`);
  }
  const weightsPath = path.join(dir, FEATURE_NET_WEIGHTS_FILE);
  const { tensors } = await readSafetensorsFile(weightsPath);
  const weights: Params = {};
  for (const [name, t] of tensors) weights[name] = T.tensor(tensorToFloat32(t), t.shape);
  try {
    net.loadStateDict(weights, { strict: true });
  } catch (e) {
    throw new Error(`${weightsPath}: ${(e as Error).message}`);
  }
  return { net, params: net.parameters(), dir };
}

/** Writes `dir/config.json` and `dir/model.safetensors` (float32). */
export async function saveFeatureNet(dir: string, net: FeatureNet, params: Params): Promise<void> {
  const tensors: Record<string, StTensor> = {};
  for (const { name } of net.parameterSpecs()) {
    const t = params[name];
    if (!t) throw new Error(`saveFeatureNet: parameter ${name} is missing`);
    tensors[name] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.values()) };
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensorsFile(path.join(dir, FEATURE_NET_WEIGHTS_FILE), tensors, { format: "pt" });
  await writeFileAtomic(
    path.join(dir, FEATURE_NET_CONFIG_FILE),
    `${JSON.stringify(net.toConfig(), null, 2)}\n`,
  );
}
