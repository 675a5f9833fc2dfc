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
 *   best/                     the same layout for the EMA weights with the lowest validation loss so
 *                             far (written at each validation that improves on it; `_diffuse.validLoss`)
 *
 * `resume` continues from checkpoint.safetensors bit-exactly: the log is cut back to the checkpoint's
 * step, and the same batches, noise and updates follow. Resuming a run whose final checkpoint exists
 * redoes only the final phase (validation, model folder, samples), replacing its log line: a run
 * killed during its final save resumes to the same files as one that was not.
 *
 * Reliability (issue 17):
 * - a step with a non-finite loss or gradient norm skips its update (trainer.ts); `maxBadSteps` such
 *   steps in a row stop the run with a DivergedError, keeping the last good checkpoint (no checkpoint
 *   or model holding NaN/Inf is ever written: checkpoint-node.ts, pretrained-node.ts refuse them);
 * - `options.signal` (an AbortSignal; the CLI aborts it on SIGINT/SIGTERM) stops the run at the next
 *   step boundary: a checkpoint is written and an InterruptedError says where and how to resume.
 */

import { existsSync } from "node:fs";
import { appendFile, rm } from "node:fs/promises";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import type { Dataset } from "../data/types.js";
import { datasetSize, exampleShape } from "../data/types.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { denoiserFromConfig } from "../models/denoiser.js";
import { defaultMemoryLimit } from "../models/resources-node.js";
import { NonFiniteError } from "../nn/finite.js";
import { LatentDecoder } from "../pipelines/latent.js";
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
import { ConfigFieldError, checkTrainConfigFields, resolveTrainConfig, type TrainConfig } from "./config.js";
import { holdOut } from "./data-split.js";
import { isFewStep, reflowRunData, setupFewStep } from "./few-step-run-node.js";
import { runJointTraining } from "./joint-run-node.js";
import { addAutoencoderToFolder, checkUnetFitsVae, loadLatentRunData } from "./latent-data-node.js";
import { checkChannelWeights } from "./losses.js";
import { denoiserFromSpec, modelSpecFor, presetForData, presetForLatent, specConfig } from "./presets.js";
import { Progress, type ProgressSink } from "./progress.js";
import { checkRunMemory } from "./run-limits.js";
import { LOG_FILE, readLog, truncateLog } from "./run-log-node.js";
import { type GridRun, writeLossCurve, writeSamples } from "./run-pictures-node.js";
import { checkBadSteps, DivergedError, InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";
import { initialState, schedulerConfigFor, Trainer } from "./trainer.js";

export { LOG_FILE, readLog } from "./run-log-node.js";
export { DivergedError, InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";

/** The folder, inside a run, of the model with the lowest validation loss. */
export const BEST_DIR = "best";

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
  "maxBadSteps",
];

export class RunError extends Error {
  override name = "RunError";
}

/**
 * Claims `out` for a run and says whether it resumes: a folder holding a run (a checkpoint) is refused
 * unless `resume` or `overwrite`; without `resume`, an old checkpoint is removed so that a later
 * --resume cannot pick up the replaced run. Shared by every trainer's run (diffusion, classifier, VAE).
 */
export async function claimRunFolder(
  out: string,
  resume: boolean | undefined,
  overwrite: boolean | undefined,
): Promise<boolean> {
  const hasCheckpoint = existsSync(checkpointPath(out));
  if (!resume && hasCheckpoint && !overwrite) {
    throw new RunError(
      `out: ${out} already holds a training run (${checkpointPath(out)}); pass --resume to continue it, --overwrite to replace it, or choose another --out`,
    );
  }
  if (resume && hasCheckpoint) return true;
  if (hasCheckpoint) await rm(checkpointPath(out), { force: true });
  return false;
}

export interface RunOptions {
  /** Where progress goes (default process.stderr). */
  progress?: ProgressSink;
  /** Stop right after this step, as if the process had been killed (tests of resume). */
  haltAfter?: number;
  /** Replace an existing run in `out` instead of refusing to (a fresh run only). */
  overwrite?: boolean;
  /**
   * Stop at the next step boundary when aborted: write a checkpoint and throw an InterruptedError.
   * The abort reason names the signal ("SIGINT", "SIGTERM"; it sets the exit code).
   */
  signal?: AbortSignal;
  /** Memory budget in bytes for training and the sample grids (default: defaultMemoryLimit()). */
  maxMemory?: number;
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
  if (name === "mnist" || name.startsWith("mnist-joint") || name === "fashion-mnist") {
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
): Promise<{ config: TrainConfig; resumeFrom: boolean; noCheckpoint: boolean }> {
  checkTrainConfigFields(partial as Record<string, unknown>, "train");
  if (!(await claimRunFolder(out, partial.resume, overwrite))) {
    return { config: partial as TrainConfig, resumeFrom: false, noCheckpoint: partial.resume === true };
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
  return { config: { ...saved, ...overrides, out, resume: true }, resumeFrom: true, noCheckpoint: false };
}

/** Runs (or resumes) a training run; see the file comment for what it writes. */
export async function runTraining(
  partial: Partial<TrainConfig>,
  options: RunOptions = {},
): Promise<RunResult> {
  const out = runOut(partial);
  await makeDir(out, "--out");
  for (const sub of ["", "unet", "scheduler", "samples"]) await removeStaleTemporaries(path.join(out, sub));
  const {
    config: requested,
    resumeFrom,
    noCheckpoint,
  } = await runConfig({ ...partial, out }, out, options.overwrite ?? false);
  if (requested.objective === "joint") return runJointTraining({ ...requested, out }, resumeFrom, options);
  const dataConfig = { ...TRAIN_DATA_DEFAULTS, ...requested } as TrainConfig;
  // Latent diffusion (--vae): the data are the autoencoder's scaled latents (latent-data-node.ts).
  const latent = requested.vae
    ? await loadLatentRunData(dataConfig, out, new Progress(options.progress ?? process.stderr, 1))
    : null;
  // Reflow learns from the teacher's couplings, not from the data set: nothing of it is read.
  const data: RunData =
    latent ?? (dataConfig.objective === "reflow" ? await reflowRunData(dataConfig) : loadRunData(dataConfig));
  const shape = dataShape(data.train);
  const { config, preset } = resolveTrainConfig(requested, (cond) =>
    latent && shape.kind === "image"
      ? presetForLatent(shape.shape, cond)
      : presetForData(shape.kind === "image" ? shape : { kind: "vector" }, cond),
  );
  const nullClass = preset.classConditional ? data.numClasses! : null;
  const few = isFewStep(config)
    ? await setupFewStep(config, exampleShape(data.train), {
        progress: options.progress ?? process.stderr,
        numClasses: nullClass,
        ...(options.signal ? { signal: options.signal } : {}),
      })
    : null;
  if (few) data.train = few.trainData(data.train);
  if (!isConsistencyObjective(config)) checkSampler(config, data.train.kind === "image");
  if (config.channelWeights?.length) {
    if (shape.kind !== "image")
      throw new ConfigFieldError(
        `config: field "channelWeights" is for image data; ${config.dataset} holds vectors`,
      );
    checkChannelWeights(
      config.channelWeights,
      shape.shape[0]!,
      `config: field "channelWeights" (${config.dataset})`,
    );
  }
  const meta = resumeFrom ? await readCheckpointMeta(out) : null;
  const init = meta ? null : (few?.init ?? null);
  const spec = meta || init ? null : modelSpecFor(preset, shape, data.numClasses, config.model);
  const limit = options.maxMemory ?? defaultMemoryLimit();
  const modelConfig = meta ? meta.model : init ? init.denoiser.toConfig() : specConfig(spec!);
  checkRunMemory(config, modelConfig, preset.classConditional, limit);
  if (latent) checkUnetFitsVae(latent.autoencoder, modelConfig, "--vae", exampleShape(data.train));
  const denoiser = meta
    ? denoiserFromConfig(meta.model)
    : (init?.denoiser ?? denoiserFromSpec(spec!, foldIn(makeKey(config.seed), INIT_DOMAIN)));
  const names = denoiser.module.parameterSpecs().map((s) => s.name);
  const state = resumeFrom
    ? (await loadCheckpoint(out, names)).state
    : initialState(init?.params ?? denoiser.module.parameters(), config.seed);
  if (state.step > config.steps) {
    throw new RunError(
      `resume: the checkpoint in ${out} is at step ${state.step}, past --steps ${config.steps}; pass --steps above ${state.step} to train further (nothing was changed)`,
    );
  }
  const trainer = new Trainer(
    {
      config,
      denoiser,
      train: data.train,
      valid: data.valid,
      nullClass,
      ...(few ? { objective: few.objective(denoiser) } : {}),
    },
    state,
  );
  const logFile = path.join(out, LOG_FILE);
  if (resumeFrom) await truncateLog(logFile, state.step, state.step >= config.steps);
  else await writeFileAtomic(logFile, "");

  const progress = new Progress(options.progress ?? process.stderr, config.steps, trainer.step);
  const started = performance.now() / 1000;
  const baseElapsed = meta?.elapsed ?? 0;
  const elapsed = () => baseElapsed + performance.now() / 1000 - started;
  const consistency = few?.consistencyInfo();
  const reflow = few?.reflowInfo();
  const info: ModelInfo = {
    ...modelInfo(config, data, nullClass),
    ...(consistency ? { consistency } : {}),
    ...(reflow ? { reflow } : {}),
  };
  const grids: GridRun = {
    config,
    trainer,
    denoiser,
    train: data.train,
    nullClass,
    out,
    ...(consistency ? { consistency } : {}),
    ...(latent ? { decoder: new LatentDecoder(latent.autoencoder.vae, latent.autoencoder.params) } : {}),
  };
  let lastCheckpoint: number | null = resumeFrom ? state.step : null;
  /** Consecutive skipped (non-finite) steps up to now; no checkpoint is written while > 0. */
  let badSteps = 0;
  const kept = () =>
    lastCheckpoint === null
      ? "no checkpoint was written"
      : `the last good checkpoint (step ${lastCheckpoint}) is kept in ${checkpointPath(out)}`;
  const checkpoint = async () => {
    try {
      await saveCheckpoint(out, trainer.snapshot(), {
        config,
        model: denoiser.toConfig(),
        elapsed: elapsed(),
      });
    } catch (e) {
      if (e instanceof NonFiniteError) throw new DivergedError(`${e.message}; ${kept()}`);
      throw e;
    }
    lastCheckpoint = trainer.step;
  };
  /** At a step boundary: when the run was asked to stop, checkpoint (unless just done) and throw. */
  const stopIfAborted = async () => {
    if (!options.signal?.aborted) return;
    if (lastCheckpoint !== trainer.step && badSteps === 0) await checkpoint();
    progress.finish();
    const signal = String(options.signal.reason ?? "abort");
    const where =
      lastCheckpoint === trainer.step
        ? `checkpoint written to ${checkpointPath(out)}`
        : `no checkpoint written (the last step was non-finite); ${kept()}`;
    throw new InterruptedError(
      `${signal} at step ${trainer.step} of ${config.steps}: ${where}; resume with: diffuse train --out ${out} --resume`,
      signal,
      SIGNAL_EXIT_CODES[signal] ?? 130,
    );
  };
  const log = (record: Record<string, number>) => appendFile(logFile, `${JSON.stringify(record)}\n`);

  if (noCheckpoint) progress.message(`no checkpoint in ${out}: starting fresh`);
  progress.message(
    `${resumeFrom ? `resuming ${out} at step ${trainer.step}` : `training ${out}`}: ${config.dataset} (${datasetSize(data.train)} examples), preset ${preset.name}, ${denoiser.module.parameterCount()} parameters`,
  );
  let loss = Number.NaN;
  let validLoss: number | null = null;
  // The best validation loss so far, from the (resume-truncated) log, so a resumed run keeps it.
  let bestValid = Math.min(...(await readLog(out)).map((r) => r.validLoss ?? Number.POSITIVE_INFINITY));
  const recordValidation = async (step: number, v: number) => {
    await log({ step, validLoss: v, time: elapsed() });
    if (v >= bestValid) return;
    bestValid = v;
    await saveModelFolder(
      path.join(out, BEST_DIR),
      denoiser,
      trainer.emaParams,
      schedulerConfigFor(config, data.train.kind === "image"),
      { ...info, steps: step, validLoss: v },
    );
    if (latent) await addAutoencoderToFolder(path.join(out, BEST_DIR), latent.autoencoder);
  };
  while (trainer.step < config.steps) {
    await stopIfAborted();
    const rec = await trainer.trainOneStep();
    loss = rec.loss;
    const s = rec.step;
    const at = (every: number) => every > 0 && s % every === 0 && s < config.steps;
    if (rec.skipped || s % config.logEvery === 0 || s === config.steps) {
      await log({
        step: s,
        loss: rec.loss,
        lr: rec.lr,
        gradNorm: rec.gradNorm,
        epoch: rec.epoch,
        time: elapsed(),
        ...(rec.skipped ? { skipped: 1 } : {}),
      });
      progress.update(s, rec.loss);
    }
    badSteps = rec.skipped ? badSteps + 1 : 0;
    if (rec.skipped) checkBadSteps(rec, badSteps, config, progress, kept);
    if (at(config.validEvery)) {
      validLoss = await trainer.validationLoss();
      if (validLoss !== null) {
        await recordValidation(s, validLoss);
        progress.message(`step ${s}: validation loss ${validLoss.toPrecision(4)} (EMA weights)`);
      }
    }
    if (at(config.sampleEvery))
      await writeSamples(grids, path.join(out, "samples", `step-${String(s).padStart(6, "0")}.png`));
    if (at(config.checkpointEvery)) {
      if (badSteps === 0) await checkpoint();
      else progress.message(`step ${s}: checkpoint not written (the step was skipped as non-finite)`);
    }
    if (options.haltAfter !== undefined && s >= options.haltAfter) {
      progress.finish();
      return { out, config, step: s, halted: true, loss, validLoss, elapsed: elapsed() };
    }
  }
  progress.finish();
  // The final phase: every stage is idempotent, so a run stopped anywhere in it resumes to the same files.
  if (lastCheckpoint !== trainer.step) await checkpoint();
  await stopIfAborted();
  validLoss = await trainer.validationLoss();
  if (validLoss !== null) {
    await recordValidation(trainer.step, validLoss);
    progress.message(`validation loss ${validLoss.toPrecision(4)} (EMA weights)`);
  }
  await stopIfAborted();
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
  if (latent) await addAutoencoderToFolder(out, latent.autoencoder);
  await stopIfAborted();
  await writeSamples(grids, null);
  await writeLossCurve(out);
  progress.message(
    `done: ${trainer.step} steps in ${elapsed().toFixed(0)} s; model in ${out}, samples in ${path.join(out, "samples.png")}`,
  );
  return { out, config, step: trainer.step, halted: false, loss, validLoss, elapsed: elapsed() };
}

function isConsistencyObjective(config: TrainConfig): boolean {
  return config.objective === "consistency" || config.objective === "consistency-distill";
}

/** The grids' sampler must accept the run's settings: checked before training, not at its end. */
function checkSampler(config: TrainConfig, isImage: boolean): void {
  try {
    createSchedulerByName(config.sampler, schedulerConfigFor(config, isImage)).setTimesteps(
      config.samplerSteps,
    );
  } catch (e) {
    throw new ConfigFieldError(
      `config: fields "sampler" ${JSON.stringify(config.sampler)} / "samplerSteps" ${config.samplerSteps}: ${(e as Error).message}`,
    );
  }
}

/** The run folder of `partial`: its `out`, or the dataset's default one. */
export function runOut(partial: Partial<TrainConfig>): string {
  return partial.out ?? defaultOut(partial.dataset ?? TRAIN_DATA_DEFAULTS.dataset);
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
    ...(ds.kind !== "image" && ds.table ? { table: ds.table } : {}),
  };
}
