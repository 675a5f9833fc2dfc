/**
 * A complete training run on files (Node only): dataset -> model -> compiled training loop, with the
 * run directory `<out>/` holding
 *
 *   checkpoint.safetensors    the last checkpoint (atomic; see checkpoint-node.ts)
 *   log.jsonl                 one JSON object per logged step {step, loss, lr, gradNorm, epoch, time}
 *                             and per validation {step, validLoss, time}
 *   samples.png               the latest sample grid (images) or scatter plot (vectors), EMA weights
 *   samples/step-NNNNNN.png   the grids at `sampleEvery` intervals
 *   loss.png                  the loss curve (log scale; training, and validation in orange)
 *   model_index.json, unet/, scheduler/   the final model in diffusers layout (EMA weights)
 *
 * `resume` continues from checkpoint.safetensors bit-exactly: the log is cut back to the checkpoint's
 * step, and the same batches, noise and updates follow.
 */

import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import type { Dataset } from "../data/types.js";
import { datasetSize, exampleShape } from "../data/types.js";
import { writeFileAtomic } from "../io/files.js";
import { encodePng, imageGrid } from "../io/png.js";
import { type Denoiser, denoiserFromConfig } from "../models/denoiser.js";
import { cyclicLabels, generate } from "../pipelines/generate.js";
import { type ModelInfo, saveModelFolder } from "../pipelines/model-folder-node.js";
import { createSchedulerByName } from "../pipelines/samplers.js";
import { foldIn, makeKey } from "../random/index.js";
import {
  checkpointPath,
  loadCheckpoint,
  readCheckpointMeta,
  removeStaleTemporaries,
  saveCheckpoint,
} from "./checkpoint-node.js";
import { checkTrainConfigFields, resolveTrainConfig, type TrainConfig } from "./config.js";
import { holdOut } from "./data-split.js";
import { lineChart, scatterPlot } from "./plot.js";
import { denoiserFromSpec, modelSpecFor, presetForData } from "./presets.js";
import { Progress, type ProgressSink } from "./progress.js";
import { initialState, schedulerConfigFor, Trainer } from "./trainer.js";

export const LOG_FILE = "log.jsonl";

/** Fold-in constant of the model's initialisation key. */
const INIT_DOMAIN = 0x696e6974;

/** Config fields that may change when resuming (they do not affect the training trajectory). */
export const RESUME_OVERRIDABLE: readonly (keyof TrainConfig)[] = [
  "steps",
  "out",
  "resume",
  "logEvery",
  "validEvery",
  "sampleEvery",
  "checkpointEvery",
  "numSamples",
  "sampler",
  "samplerSteps",
  "guidanceScale",
  "threads",
];

export class RunError extends Error {
  override name = "RunError";
}

export interface RunOptions {
  /** Where progress goes (default process.stderr). */
  progress?: ProgressSink;
  /** Stop right after this step, as if the process had been killed (tests of resume). */
  haltAfter?: number;
  /** Replace an existing run in `out` instead of refusing to (a fresh run only). */
  overwrite?: boolean;
}

export interface RunResult {
  out: string;
  config: TrainConfig;
  step: number;
  halted: boolean;
  /** Loss of the last step. */
  loss: number;
  validLoss: number | null;
  /** Seconds of training, over all sessions of the run. */
  elapsed: number;
}

interface RunData {
  train: Dataset;
  valid: Dataset | null;
  numClasses?: number;
}

function loadRunData(config: TrainConfig): RunData {
  const limit = config.limit > 0 ? config.limit : undefined;
  const name = config.dataset;
  const base = { limit, seed: config.seed };
  if (name === "mnist" || name === "fashion-mnist") {
    const train = loadDataset(name, { ...base, split: "train" });
    const valid = config.validSize > 0 ? loadDataset(name, { split: "test", limit: config.validSize }) : null;
    return { train, valid, numClasses: train.numClasses };
  }
  const all = loadDataset(name, base);
  const { train, valid } = holdOut(all, config.validSize, config.seed);
  return { train, valid, numClasses: all.numClasses };
}

function dataShape(ds: Dataset): { kind: "image"; shape: number[] } | { kind: "vector"; dim: number } {
  return ds.kind === "image" ? { kind: "image", shape: exampleShape(ds) } : { kind: "vector", dim: ds.dim };
}

/** The run's config: fresh from `partial`, or the checkpoint's config with the allowed overrides. */
async function runConfig(
  partial: Partial<TrainConfig>,
  out: string,
  overwrite: boolean,
): Promise<{ config: TrainConfig; resumeFrom: boolean }> {
  checkTrainConfigFields(partial as Record<string, unknown>, "train");
  const hasCheckpoint = existsSync(checkpointPath(out));
  if (!partial.resume && hasCheckpoint && !overwrite) {
    throw new RunError(
      `out: ${out} already holds a training run (${checkpointPath(out)}); pass --resume to continue it, --overwrite to replace it, or choose another --out`,
    );
  }
  if (!(partial.resume && hasCheckpoint)) {
    // A replaced run must not leave its old checkpoint for a later --resume to pick up.
    if (hasCheckpoint) await rm(checkpointPath(out), { force: true });
    return { config: partial as TrainConfig, resumeFrom: false };
  }
  const saved = (await readCheckpointMeta(out)).config;
  for (const [key, value] of Object.entries(partial)) {
    const k = key as keyof TrainConfig;
    if (value === undefined || RESUME_OVERRIDABLE.includes(k)) continue;
    if (JSON.stringify(saved[k]) !== JSON.stringify(value)) {
      throw new RunError(
        `resume: field "${key}" is ${JSON.stringify(value)} but the checkpoint's run has ${JSON.stringify(saved[k])}; only ${RESUME_OVERRIDABLE.join(", ")} may change on --resume`,
      );
    }
  }
  const overrides = Object.fromEntries(
    Object.entries(partial).filter(
      ([k, v]) => v !== undefined && RESUME_OVERRIDABLE.includes(k as keyof TrainConfig),
    ),
  );
  return { config: { ...saved, ...overrides, out, resume: true }, resumeFrom: true };
}

/** Keeps the log lines up to `step` (a resumed run rewrites what came after its checkpoint). */
async function truncateLog(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept = (await readFile(file, "utf8")).split("\n").filter((line) => {
    try {
      return (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false; // a torn last line of a killed run
    }
  });
  await writeFileAtomic(file, kept.map((l) => `${l}\n`).join(""));
}

/** Reads log.jsonl records. */
export async function readLog(out: string): Promise<Record<string, number>[]> {
  const text = await readFile(path.join(out, LOG_FILE), "utf8");
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, number>);
}

/** Runs (or resumes) a training run; see the file comment for what it writes. */
export async function runTraining(
  partial: Partial<TrainConfig>,
  options: RunOptions = {},
): Promise<RunResult> {
  const out = partial.out ?? defaultOut(partial.dataset ?? TRAIN_DATA_DEFAULTS.dataset);
  await mkdir(out, { recursive: true });
  await removeStaleTemporaries(out);
  const { config: requested, resumeFrom } = await runConfig(
    { ...partial, out },
    out,
    options.overwrite ?? false,
  );
  const data = loadRunData({ ...TRAIN_DATA_DEFAULTS, ...requested } as TrainConfig);
  const shape = dataShape(data.train);
  const { config, preset } = resolveTrainConfig(requested, (cond) =>
    presetForData(shape.kind === "image" ? shape : { kind: "vector" }, cond),
  );
  const meta = resumeFrom ? await readCheckpointMeta(out) : null;
  const denoiser = meta
    ? denoiserFromConfig(meta.model)
    : denoiserFromSpec(
        modelSpecFor(preset, shape, data.numClasses, config.model),
        foldIn(makeKey(config.seed), INIT_DOMAIN),
      );
  const nullClass = preset.classConditional ? data.numClasses! : null;
  const names = denoiser.module.parameterSpecs().map((s) => s.name);
  const state = resumeFrom
    ? (await loadCheckpoint(out, names)).state
    : initialState(denoiser.module.parameters(), config.seed);
  const trainer = new Trainer({ config, denoiser, train: data.train, valid: data.valid, nullClass }, state);
  const logFile = path.join(out, LOG_FILE);
  if (resumeFrom) await truncateLog(logFile, state.step);
  else await writeFileAtomic(logFile, "");

  const progress = new Progress(options.progress ?? process.stderr, config.steps, trainer.step);
  const started = performance.now() / 1000;
  const baseElapsed = meta?.elapsed ?? 0;
  const elapsed = () => baseElapsed + performance.now() / 1000 - started;
  const info: ModelInfo = modelInfo(config, data, nullClass);
  const ctx: Ctx = { config, trainer, denoiser, data, nullClass, out, progress };
  const checkpoint = () =>
    saveCheckpoint(out, trainer.snapshot(), { config, model: denoiser.toConfig(), elapsed: elapsed() });
  const log = (record: Record<string, number>) => appendFile(logFile, `${JSON.stringify(record)}\n`);

  progress.message(
    `${resumeFrom ? `resuming ${out} at step ${trainer.step}` : `training ${out}`}: ${config.dataset} (${datasetSize(data.train)} examples), preset ${preset.name}, ${denoiser.module.parameterCount()} parameters`,
  );
  let loss = Number.NaN;
  let validLoss: number | null = null;
  while (trainer.step < config.steps) {
    const rec = await trainer.trainOneStep();
    loss = rec.loss;
    const s = rec.step;
    const at = (every: number) => every > 0 && s % every === 0 && s < config.steps;
    if (s % config.logEvery === 0 || s === config.steps) {
      await log({
        step: s,
        loss: rec.loss,
        lr: rec.lr,
        gradNorm: rec.gradNorm,
        epoch: rec.epoch,
        time: elapsed(),
      });
      progress.update(s, rec.loss);
    }
    if (at(config.validEvery)) {
      validLoss = await trainer.validationLoss();
      if (validLoss !== null) {
        await log({ step: s, validLoss, time: elapsed() });
        progress.message(`step ${s}: validation loss ${validLoss.toPrecision(4)} (EMA weights)`);
      }
    }
    if (at(config.sampleEvery))
      await writeSamples(ctx, path.join(out, "samples", `step-${String(s).padStart(6, "0")}.png`));
    if (at(config.checkpointEvery)) await checkpoint();
    if (options.haltAfter !== undefined && s >= options.haltAfter) {
      progress.finish();
      return { out, config, step: s, halted: true, loss, validLoss, elapsed: elapsed() };
    }
  }
  progress.finish();
  await checkpoint();
  validLoss = await trainer.validationLoss();
  if (validLoss !== null) {
    await log({ step: trainer.step, validLoss, time: elapsed() });
    progress.message(`validation loss ${validLoss.toPrecision(4)} (EMA weights)`);
  }
  await saveModelFolder(
    out,
    denoiser,
    trainer.emaParams,
    schedulerConfigFor(config, data.train.kind === "image"),
    {
      ...info,
      steps: trainer.step,
    },
  );
  await writeSamples(ctx, null);
  await writeLossCurve(out);
  progress.message(
    `done: ${trainer.step} steps in ${elapsed().toFixed(0)} s; model in ${out}, samples in ${path.join(out, "samples.png")}`,
  );
  return { out, config, step: trainer.step, halted: false, loss, validLoss, elapsed: elapsed() };
}

/** runs/<dataset> ("folder:/a/b" -> runs/folder-b). */
export function defaultOut(dataset: string): string {
  const base = dataset
    .replace(/[\\/]+$/, "")
    .split(/[:\\/]/)
    .filter(Boolean);
  const name = base.length > 1 ? `${base[0]}-${base[base.length - 1]}` : (base[0] ?? "run");
  return `runs/${name.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/** Fields `loadRunData` reads before the preset is known. */
const TRAIN_DATA_DEFAULTS = { dataset: "mnist", limit: 0, validSize: 256, seed: 0 };

function modelInfo(config: TrainConfig, data: RunData, nullClass: number | null): ModelInfo {
  const ds = data.train;
  return {
    dataset: config.dataset,
    dataKind: ds.kind,
    ...(nullClass !== null ? { numClasses: data.numClasses!, nullClass } : {}),
    ...(nullClass !== null && ds.classNames ? { classNames: ds.classNames } : {}),
    ...(ds.kind !== "image" ? { normalization: ds.normalization } : {}),
  };
}

interface Ctx {
  config: TrainConfig;
  trainer: Trainer;
  denoiser: Denoiser;
  data: RunData;
  nullClass: number | null;
  out: string;
  progress: Progress;
}

/** Samples from the EMA weights -> PNG at `file` and at `<out>/samples.png`. */
async function writeSamples(ctx: Ctx, file: string | null): Promise<void> {
  const { config, denoiser, nullClass } = ctx;
  const n = config.numSamples;
  const labels = nullClass !== null ? cyclicLabels(n, nullClass) : undefined;
  const { samples, shape } = await generate({
    denoiser,
    params: ctx.trainer.emaParams,
    scheduler: createSchedulerByName(
      config.sampler,
      schedulerConfigFor(config, ctx.data.train.kind === "image"),
    ),
    steps: config.samplerSteps,
    numSamples: n,
    seed: config.seed,
    ...(labels ? { labels, guidanceScale: config.guidanceScale, nullClass } : {}),
    threads: config.threads,
  });
  const png = encodePng(
    shape.length === 4
      ? imageGrid(samples, shape as [number, number, number, number], { nrow: nullClass ?? 8 })
      : scatterPlot(samples, shape[1]!, {
          background: ctx.data.train.kind === "image" ? undefined : ctx.data.train.data,
          size: 512,
        }),
  );
  if (file) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, png);
  }
  await writeFileAtomic(path.join(ctx.out, "samples.png"), png);
}

/** loss.png from log.jsonl: training loss (blue) and validation loss (orange) against step. */
async function writeLossCurve(out: string): Promise<void> {
  const records = await readLog(out);
  const train = records.filter((r) => r.loss !== undefined);
  const valid = records.filter((r) => r.validLoss !== undefined);
  const series = [
    { x: train.map((r) => r.step!), y: train.map((r) => r.loss!), color: [31, 119, 180] as const },
    { x: valid.map((r) => r.step!), y: valid.map((r) => r.validLoss!), color: [255, 127, 14] as const },
  ];
  await writeFileAtomic(path.join(out, "loss.png"), encodePng(lineChart(series)));
}
