/**
 * Classifier model folders (Node only): `config.json` (`_class_name` "NoiseConditionedClassifier"),
 * `diffusion_pytorch_model.safetensors` (the weights, diffusers-style names) and
 * `scheduler_config.json` (the noise schedule the classifier was trained on), plus `accuracy.json`
 * written by train-classifier. Loading checks the class by name and, given the diffusion model it will
 * guide, its example shape and schedule: a mismatch is an InputFileError naming the file and both values.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import { makeDir } from "../io/dirs.js";
import { readJsonFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { InputFileError } from "../io/input-error.js";
import type { StTensor } from "../io/safetensors.js";
import { NoiseConditionedClassifier } from "../models/noise-classifier.js";
import { NOISE_CLASSIFIER_CLASS } from "../models/noise-classifier-config.js";
import { CONFIG_FILE, readWeights, WEIGHTS_FILE } from "../models/pretrained-node.js";
import { assertFiniteParams } from "../nn/finite.js";
import type { Params } from "../nn/module.js";
import { SCHEDULER_CONFIG_FILE } from "./model-folder-node.js";

export const ACCURACY_FILE = "accuracy.json";

export interface LoadedClassifier {
  dir: string;
  classifier: NoiseConditionedClassifier;
  params: Params;
  /** The schedule it was trained on (null for a folder without scheduler_config.json). */
  schedulerConfig: Record<string, unknown> | null;
}

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Writes a classifier folder (weights, config, schedule; `extra` JSON files by name). */
export async function saveClassifierFolder(
  dir: string,
  classifier: NoiseConditionedClassifier,
  params: Params,
  schedulerConfig: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const names = classifier.parameterSpecs().map((s) => s.name);
  assertFiniteParams(
    Object.fromEntries(names.map((n) => [n, params[n]!])),
    `classifier ${path.join(dir, WEIGHTS_FILE)} not written`,
  );
  const tensors: Record<string, StTensor> = {};
  for (const n of names) {
    const t = params[n]!;
    tensors[n] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.values()) };
  }
  await makeDir(dir, "classifier folder");
  await writeSafetensorsFile(path.join(dir, WEIGHTS_FILE), tensors, { format: "pt" });
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  await writeFileAtomic(path.join(dir, CONFIG_FILE), json(classifier.toConfig()));
  await writeFileAtomic(path.join(dir, SCHEDULER_CONFIG_FILE), json(schedulerConfig));
  for (const [name, value] of Object.entries(extra)) await writeFileAtomic(path.join(dir, name), json(value));
}

/** What the classifier must match: the diffusion model's example shape [C, H, W] and class count. */
export interface ClassifierExpectation {
  exampleShape: readonly number[];
  /** Classes the caller will ask for (labels must be < this); null: not checked. */
  numClasses?: number | null;
  /** The diffusion model's scheduler config: its alphas_cumprod must equal the classifier's. */
  schedulerConfig?: Record<string, unknown> | null;
  /** Where the model's scheduler config came from (for the message). */
  schedulerSource?: string;
}

/** Loads a classifier folder, refusing one that is not a classifier or does not fit `expect`. */
export async function loadClassifierFolder(
  dir: string,
  expect?: ClassifierExpectation,
): Promise<LoadedClassifier> {
  const configPath = path.join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new InputFileError(configPath, `classifier folder ${dir} has no ${CONFIG_FILE}`, { named: true });
  }
  const config = await readJsonFile(configPath, "classifier config");
  const name = (config as { _class_name?: unknown } | null)?._class_name;
  if (name !== NOISE_CLASSIFIER_CLASS) {
    throw new InputFileError(
      configPath,
      `field "_class_name" is ${JSON.stringify(name)}; expected "${NOISE_CLASSIFIER_CLASS}" (this folder is not a classifier: train one with diffuse train-classifier)`,
    );
  }
  let classifier: NoiseConditionedClassifier;
  try {
    classifier = new NoiseConditionedClassifier(config);
  } catch (e) {
    throw new InputFileError(configPath, (e as Error).message, { cause: e });
  }
  const weights = await readWeights(dir);
  try {
    classifier.loadStateDict(weights, { strict: true });
  } catch (e) {
    throw new InputFileError(path.join(dir, WEIGHTS_FILE), (e as Error).message, { cause: e });
  }
  const schedPath = path.join(dir, SCHEDULER_CONFIG_FILE);
  const schedulerConfig = existsSync(schedPath)
    ? ((await readJsonFile(schedPath, "classifier scheduler config")) as Record<string, unknown>)
    : null;
  if (expect) checkClassifierFits(classifier, expect, configPath, schedulerConfig, schedPath);
  return { dir, classifier, params: classifier.parameters(), schedulerConfig };
}

function checkClassifierFits(
  classifier: NoiseConditionedClassifier,
  expect: ClassifierExpectation,
  configPath: string,
  schedulerConfig: Record<string, unknown> | null,
  schedPath: string,
): void {
  const have = classifier.exampleShape;
  const want = expect.exampleShape;
  if (have.length !== want.length || have.some((d, i) => d !== want[i])) {
    throw new InputFileError(
      configPath,
      `the classifier takes examples of shape ${fmt(have)} (in_channels, sample_size, sample_size) but the model makes ${fmt(want)}`,
    );
  }
  const k = classifier.config.num_classes;
  if (expect.numClasses !== undefined && expect.numClasses !== null && expect.numClasses !== k) {
    throw new InputFileError(
      configPath,
      `field "num_classes" is ${k} but the model has ${expect.numClasses} classes`,
    );
  }
  if (schedulerConfig && expect.schedulerConfig) {
    const a = alphasCumprod(betasFor(schedulerConfig));
    const b = alphasCumprod(betasFor(expect.schedulerConfig));
    const same = a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-9);
    if (!same) {
      const desc = (c: Record<string, unknown>) =>
        `${JSON.stringify(c.beta_schedule ?? "linear")}, ${c.num_train_timesteps ?? 1000} timesteps`;
      throw new InputFileError(
        schedPath,
        `the classifier was trained on noise schedule ${desc(schedulerConfig)} but the model${expect.schedulerSource ? ` (${expect.schedulerSource})` : ""} uses ${desc(expect.schedulerConfig)}; retrain it with diffuse train-classifier --model <the model>`,
      );
    }
  }
}

/** The classifier in `dir`, checked against `pipeline`'s example shape, classes and noise schedule. */
export async function loadClassifierForPipeline(
  dir: string,
  pipeline: {
    denoiser: { exampleShape: readonly number[] };
    numClasses: number | null;
    schedulerConfig: Record<string, unknown> | null;
    schedulerSource?: string;
  },
): Promise<NoiseConditionedClassifier> {
  const { classifier } = await loadClassifierFolder(dir, {
    exampleShape: pipeline.denoiser.exampleShape,
    numClasses: pipeline.numClasses,
    schedulerConfig: pipeline.schedulerConfig,
    ...(pipeline.schedulerSource !== undefined ? { schedulerSource: pipeline.schedulerSource } : {}),
  });
  return classifier;
}
