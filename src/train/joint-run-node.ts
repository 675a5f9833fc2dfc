/**
 * A training run of the joint (image, label) model (Node): `diffuse train --objective joint` on a
 * labelled image dataset (mnist, fashion-mnist). The JointUNet (models/joint-unet.ts) is the preset's
 * U-Net plus the label branch; the objective is joint-objective.ts through the one Trainer (compiled
 * step, EMA, checkpoints, resume, SIGINT/SIGTERM). The run folder holds
 *
 *   checkpoint.safetensors, log.jsonl, loss.png    as any run (run-node.ts)
 *   model_index.json, joint/, scheduler/           the final model (EMA weights; joint-folder-node.ts)
 *
 * `initFrom` (--init-from DIR): a fresh run's U-Net starts from a trained diffusers UNet2DModel folder
 * (init-from-node.ts; e.g. the class-conditional default run's unet/: its class embedding is skipped).
 */
import { appendFile } from "node:fs/promises";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import type { Dataset } from "../data/types.js";
import { datasetSize, exampleShape } from "../data/types.js";
import { writeFileAtomic } from "../io/files.js";
import { JointUNet, LABEL_PREFIX } from "../models/joint-unet.js";
import { saveJointFolder } from "../pipelines/joint-folder-node.js";
import { foldIn, makeKey } from "../random/index.js";
import { checkpointPath, loadCheckpoint, readCheckpointMeta, saveCheckpoint } from "./checkpoint-node.js";
import { ConfigFieldError, resolveTrainConfig, type TrainConfig } from "./config.js";
import { warmStartFromFolder } from "./init-from-node.js";
import { jointObjective } from "./joint-objective.js";
import { lossTables } from "./losses.js";
import { presetForData } from "./presets.js";
import { Progress } from "./progress.js";
import { LOG_FILE, truncateLog } from "./run-log-node.js";
import type { RunOptions, RunResult } from "./run-node.js";
import { writeLossCurve } from "./run-pictures-node.js";
import { checkBadSteps, InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";
import { initialState, lossConfigFor, Trainer, vpSchedulerConfig } from "./trainer.js";

const INIT_DOMAIN = 0x696e6974;
/** Width of the label head's hidden layer. */
const LABEL_HIDDEN = 128;

/** The labelled train / test splits of the run's dataset. */
function jointData(config: Pick<TrainConfig, "dataset" | "limit" | "seed" | "validSize">): {
  train: Dataset;
  valid: Dataset | null;
  numClasses: number;
} {
  const name = config.dataset;
  if (name !== "mnist" && name !== "fashion-mnist") {
    throw new ConfigFieldError(
      `config: field "dataset" is ${JSON.stringify(name)} but "objective" is "joint"; expected a labelled 28x28 dataset (mnist, fashion-mnist)`,
    );
  }
  const limit = config.limit > 0 ? config.limit : undefined;
  const train = loadDataset(name, { limit, seed: config.seed, split: "train" });
  const valid = config.validSize > 0 ? loadDataset(name, { split: "test", limit: config.validSize }) : null;
  if (!train.numClasses || !train.labels) throw new ConfigFieldError(`config: dataset ${name} has no labels`);
  return { train, valid, numClasses: train.numClasses };
}

/** Runs (or resumes) a joint run; `requested` and `resumeFrom` come from run-node.ts's runConfig. */
export async function runJointTraining(
  requested: Partial<TrainConfig> & { out: string },
  resumeFrom: boolean,
  options: RunOptions = {},
): Promise<RunResult> {
  const out = requested.out;
  const defined = Object.fromEntries(Object.entries(requested).filter(([, v]) => v !== undefined));
  const base = { dataset: "mnist", limit: 0, validSize: 256, seed: 0, ...defined } as TrainConfig;
  const data = jointData(base);
  const shape = exampleShape(data.train);
  const { config, preset } = resolveTrainConfig(requested, () =>
    presetForData({ kind: "image", shape }, false),
  );
  if (preset.classConditional || preset.model.kind !== "unet") {
    throw new ConfigFieldError(
      `config: field "preset" is ${JSON.stringify(preset.name)}; "objective" "joint" needs an unconditional UNet2D preset (unet28)`,
    );
  }
  if (config.model !== undefined && config.model !== null && Object.keys(config.model).length > 0) {
    throw new ConfigFieldError(
      `config: field "model" is set; "objective" "joint" builds its JointUNet from the preset`,
    );
  }
  const meta = resumeFrom ? await readCheckpointMeta(out) : null;
  const modelConfig = meta
    ? meta.model
    : {
        label_dim: data.numClasses,
        label_hidden: LABEL_HIDDEN,
        label_head: "pyramid",
        label_prediction: "sample",
        unet: { ...preset.model.config },
      };
  const model = new JointUNet(modelConfig, { key: foldIn(makeKey(config.seed), INIT_DOMAIN) });
  if (model.config.label_dim !== data.numClasses) {
    throw new ConfigFieldError(
      `config: the model's label_dim ${model.config.label_dim} differs from ${config.dataset}'s ${data.numClasses} classes`,
    );
  }
  const names = model.parameterSpecs().map((s) => s.name);
  // --init-from: a fresh run's U-Net starts from a trained one (the label branch keeps its init); a
  // resumed run's weights are its checkpoint's, the folder is not read again.
  const warm =
    !resumeFrom && config.initFrom
      ? await warmStartFromFolder(model.parameters(), config.initFrom, (n) => n.startsWith(LABEL_PREFIX))
      : null;
  const state = resumeFrom
    ? (await loadCheckpoint(out, names)).state
    : initialState(warm?.params ?? model.parameters(), config.seed);
  const scheduler = vpSchedulerConfig(config, true);
  const tables = lossTables(scheduler, lossConfigFor({ ...config, weighting: "none" }, null));
  const settings = {
    labelWeight: config.jointLabelWeight,
    cleanLabelProb: config.jointCleanProb,
    cleanImageProb: config.jointCleanProb,
  };
  const trainer = new Trainer(
    {
      config,
      train: data.train,
      valid: data.valid,
      // non-null: the loader hands the labels to the objective's draw
      nullClass: data.numClasses,
      objective: jointObjective(model, tables, settings),
    },
    state,
  );
  const logFile = path.join(out, LOG_FILE);
  if (resumeFrom) await truncateLog(logFile, state.step, state.step >= config.steps);
  else await writeFileAtomic(logFile, "");
  const progress = new Progress(options.progress ?? process.stderr, config.steps, trainer.step);
  const started = performance.now() / 1000;
  const elapsed = () => (meta?.elapsed ?? 0) + performance.now() / 1000 - started;
  let lastCheckpoint: number | null = resumeFrom ? state.step : null;
  const checkpoint = async () => {
    await saveCheckpoint(out, trainer.snapshot(), { config, model: model.toConfig(), elapsed: elapsed() });
    lastCheckpoint = trainer.step;
  };
  const kept = () =>
    lastCheckpoint === null
      ? "no checkpoint was written"
      : `the last checkpoint (step ${lastCheckpoint}) is kept`;
  const stopIfAborted = async () => {
    if (!options.signal?.aborted) return;
    if (lastCheckpoint !== trainer.step) await checkpoint();
    progress.finish();
    const signal = String(options.signal.reason ?? "abort");
    throw new InterruptedError(
      `${signal} at step ${trainer.step} of ${config.steps}: checkpoint written to ${checkpointPath(out)}; resume with: diffuse train --out ${out} --resume`,
      signal,
      SIGNAL_EXIT_CODES[signal] ?? 130,
    );
  };
  const log = (record: Record<string, number>) => appendFile(logFile, `${JSON.stringify(record)}\n`);
  progress.message(
    `${resumeFrom ? `resuming ${out} at step ${trainer.step}` : `training ${out}`}: joint (image, label) on ${config.dataset} (${datasetSize(data.train)} examples), JointUNet from preset ${preset.name}, ${model.parameterCount()} parameters`,
  );
  if (warm) {
    progress.message(
      `--init-from ${config.initFrom}: ${warm.loaded.length} tensors loaded; skipped (not in the joint model): ${warm.skipped.join(", ") || "none"}; ${warm.kept.length} label-branch tensors keep their init`,
    );
  }
  let loss = Number.NaN;
  let validLoss: number | null = null;
  let badSteps = 0;
  while (trainer.step < config.steps) {
    await stopIfAborted();
    const rec = await trainer.trainOneStep();
    loss = rec.loss;
    const s = rec.step;
    const at = (every: number) => every > 0 && s % every === 0 && s < config.steps;
    if (rec.skipped || s % config.logEvery === 0 || s === config.steps) {
      const r = { step: s, loss: rec.loss, lr: rec.lr, gradNorm: rec.gradNorm, epoch: rec.epoch };
      await log({ ...r, time: elapsed(), ...(rec.skipped ? { skipped: 1 } : {}) });
      progress.update(s, rec.loss);
    }
    badSteps = rec.skipped ? badSteps + 1 : 0;
    if (rec.skipped) checkBadSteps(rec, badSteps, config, progress, kept);
    if (at(config.validEvery)) {
      validLoss = await trainer.validationLoss();
      if (validLoss !== null) {
        await log({ step: s, validLoss, time: elapsed() });
        progress.message(`step ${s}: validation loss ${validLoss.toPrecision(4)} (EMA weights)`);
      }
    }
    if (at(config.checkpointEvery) && badSteps === 0) await checkpoint();
    if (options.haltAfter !== undefined && s >= options.haltAfter) {
      progress.finish();
      return { out, config, step: s, halted: true, loss, validLoss, elapsed: elapsed() };
    }
  }
  progress.finish();
  if (lastCheckpoint !== trainer.step) await checkpoint();
  await stopIfAborted();
  validLoss = await trainer.validationLoss();
  if (validLoss !== null) await log({ step: trainer.step, validLoss, time: elapsed() });
  const info = {
    dataset: config.dataset,
    steps: trainer.step,
    numClasses: data.numClasses,
    ...(data.train.classNames ? { classNames: data.train.classNames } : {}),
  };
  await saveJointFolder(out, model, trainer.emaParams, scheduler, info);
  await writeLossCurve(out);
  progress.message(`done: ${trainer.step} steps in ${elapsed().toFixed(0)} s; joint model in ${out}`);
  return { out, config, step: trainer.step, halted: false, loss, validLoss, elapsed: elapsed() };
}
