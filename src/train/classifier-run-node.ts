import { appendFile } from "node:fs/promises";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import type { Dataset } from "../data/types.js";
import { exampleShape } from "../data/types.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { NoiseConditionedClassifier } from "../models/noise-classifier.js";
import { ACCURACY_FILE, saveClassifierFolder } from "../pipelines/classifier-folder-node.js";
import { foldIn, makeKey } from "../random/index.js";
import {
  checkpointPath,
  loadCheckpoint,
  readCheckpointMeta,
  removeStaleTemporaries,
  saveCheckpoint,
} from "./checkpoint-node.js";
import { CLASSIFIER_LOSS_CONFIG } from "./classifier-objective.js";
import { type ClassifierLoopConfig, ClassifierTrainer } from "./classifier-trainer.js";
import type { TrainConfig } from "./config.js";
import { holdOut } from "./data-split.js";
import { lossTables } from "./losses.js";
import { Progress, type ProgressSink } from "./progress.js";
import { LOG_FILE, truncateLog } from "./run-log-node.js";
import { claimRunFolder, RunError } from "./run-node.js";
import { checkBadSteps, InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";
import { initialState } from "./trainer.js";

export interface ClassifierRunConfig extends ClassifierLoopConfig {
  dataset: string;
  limit: number;
  validSize: number;
  out: string;
  resume: boolean;
  logEvery: number;
  checkpointEvery: number;
  maxBadSteps: number;
  /** Classifier config fields overriding the default architecture. */
  model: Record<string, unknown>;
  /** The diffusion model's scheduler config (the noise schedule to train on). */
  schedulerConfig: Record<string, unknown>;
  /** Timesteps at which held-out accuracy is reported. */
  levels: number[];
}

export const CLASSIFIER_RUN_DEFAULTS: Omit<ClassifierRunConfig, "out" | "dataset" | "schedulerConfig"> = {
  limit: 0,
  validSize: 1000,
  steps: 1000,
  batchSize: 64,
  lr: 1e-3,
  warmupSteps: 50,
  weightDecay: 0.05,
  maxGradNorm: 1,
  emaDecay: 0.999,
  seed: 0,
  threads: 0,
  resume: false,
  logEvery: 10,
  checkpointEvery: 200,
  maxBadSteps: 3,
  model: {},
  levels: [0, 250, 500, 750, 999],
};

/** The default schedule (the image presets' squaredcos_cap_v2, 1000 steps). */
export const DEFAULT_CLASSIFIER_SCHEDULE: Record<string, unknown> = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_schedule: "squaredcos_cap_v2",
};

/** Fields that may change on --resume (they do not change the trajectory). */
const RESUME_OVERRIDABLE = [
  "steps",
  "out",
  "resume",
  "logEvery",
  "checkpointEvery",
  "threads",
  "maxBadSteps",
  "levels",
];

const INIT_DOMAIN = 0x636c7366;

/** The default architecture for an image shape [C, H, W]: the MNIST U-Net's encoder. */
export function defaultClassifierConfig(shape: number[], numClasses: number): Record<string, unknown> {
  const [c, h] = shape as [number, number, number];
  return {
    sample_size: h,
    in_channels: c,
    num_classes: numClasses,
    block_out_channels: [32, 64, 64],
    down_block_types: ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    layers_per_block: 1,
    attention_head_dim: 32,
    norm_num_groups: 8,
  };
}

function loadData(cfg: ClassifierRunConfig): { train: Dataset; valid: Dataset } {
  const limit = cfg.limit > 0 ? cfg.limit : undefined;
  if (cfg.dataset === "mnist" || cfg.dataset === "fashion-mnist") {
    return {
      train: loadDataset(cfg.dataset, { split: "train", limit, seed: cfg.seed }),
      valid: loadDataset(cfg.dataset, { split: "test", limit: cfg.validSize }),
    };
  }
  const all = loadDataset(cfg.dataset, { limit, seed: cfg.seed });
  const { train, valid } = holdOut(all, cfg.validSize, cfg.seed);
  if (!valid) throw new RunError(`train-classifier: --valid-size must be > 0 (held-out accuracy needs data)`);
  return { train, valid };
}

export interface ClassifierRunResult {
  out: string;
  step: number;
  halted: boolean;
  loss: number;
  levels: number[];
  accuracy: number[];
  elapsed: number;
}

/** Trains (or resumes) a classifier into `cfg.out`; see the file comment. */
export async function runClassifierTraining(
  partial: Partial<ClassifierRunConfig> & { out: string; dataset?: string },
  options: { progress?: ProgressSink; haltAfter?: number; signal?: AbortSignal; overwrite?: boolean } = {},
): Promise<ClassifierRunResult> {
  const out = partial.out;
  await makeDir(out, "--out");
  await removeStaleTemporaries(out);
  const meta = (await claimRunFolder(out, partial.resume, options.overwrite))
    ? await readCheckpointMeta(out)
    : null;
  let cfg: ClassifierRunConfig;
  if (meta) {
    const saved = meta.config as unknown as ClassifierRunConfig;
    for (const [k, v] of Object.entries(partial)) {
      if (v === undefined || RESUME_OVERRIDABLE.includes(k)) continue;
      if (JSON.stringify((saved as unknown as Record<string, unknown>)[k]) !== JSON.stringify(v)) {
        throw new RunError(
          `resume: field "${k}" is ${JSON.stringify(v)} but the checkpoint's run has ${JSON.stringify((saved as unknown as Record<string, unknown>)[k])}; only ${RESUME_OVERRIDABLE.join(", ")} may change on --resume`,
        );
      }
    }
    const over = Object.fromEntries(
      Object.entries(partial).filter(([k, v]) => v !== undefined && RESUME_OVERRIDABLE.includes(k)),
    );
    cfg = { ...saved, ...over, out, resume: true };
  } else {
    if (!partial.dataset) throw new RunError("train-classifier: --dataset is required");
    cfg = {
      ...CLASSIFIER_RUN_DEFAULTS,
      schedulerConfig: DEFAULT_CLASSIFIER_SCHEDULE,
      ...(Object.fromEntries(
        Object.entries(partial).filter(([, v]) => v !== undefined),
      ) as Partial<ClassifierRunConfig>),
      dataset: partial.dataset,
      out,
    };
  }
  const data = loadData(cfg);
  if (data.train.kind !== "image" || !data.train.labels || !data.train.numClasses) {
    throw new RunError(`train-classifier: dataset "${cfg.dataset}" must be labelled images`);
  }
  const tables = lossTables(cfg.schedulerConfig, CLASSIFIER_LOSS_CONFIG);
  for (const t of cfg.levels) {
    if (!(Number.isInteger(t) && t >= 0 && t < tables.numTrainTimesteps)) {
      throw new RunError(`train-classifier: --levels entry ${t} is outside [0, ${tables.numTrainTimesteps})`);
    }
  }
  const modelConfig = meta
    ? meta.model
    : { ...defaultClassifierConfig(exampleShape(data.train), data.train.numClasses), ...cfg.model };
  const classifier = new NoiseConditionedClassifier(modelConfig, {
    key: foldIn(makeKey(cfg.seed), INIT_DOMAIN),
  });
  const names = classifier.parameterSpecs().map((s) => s.name);
  const state = meta
    ? (await loadCheckpoint(out, names)).state
    : initialState(classifier.parameters(), cfg.seed);
  if (state.step > cfg.steps) {
    throw new RunError(
      `resume: the checkpoint in ${out} is at step ${state.step}, past --steps ${cfg.steps}`,
    );
  }
  const trainer = new ClassifierTrainer(classifier, cfg, tables, data.train, state);
  const logFile = path.join(out, LOG_FILE);
  if (meta) await truncateLog(logFile, state.step, state.step >= cfg.steps);
  else await writeFileAtomic(logFile, "");
  const progress = new Progress(options.progress ?? process.stderr, cfg.steps, trainer.step);
  const started = performance.now() / 1000;
  const elapsed = () => (meta?.elapsed ?? 0) + performance.now() / 1000 - started;
  const checkpoint = () =>
    saveCheckpoint(out, trainer.snapshot(), {
      config: cfg as unknown as TrainConfig,
      model: classifier.toConfig(),
      elapsed: elapsed(),
    });
  let lastCheckpoint = meta ? state.step : -1;
  const stopIfAborted = async () => {
    if (!options.signal?.aborted) return;
    if (lastCheckpoint !== trainer.step) await checkpoint();
    progress.finish();
    const signal = String(options.signal.reason ?? "abort");
    throw new InterruptedError(
      `${signal} at step ${trainer.step} of ${cfg.steps}: checkpoint written to ${checkpointPath(out)}; resume with: diffuse train-classifier --out ${out} --resume`,
      signal,
      SIGNAL_EXIT_CODES[signal] ?? 130,
    );
  };
  progress.message(
    `${meta ? `resuming ${out} at step ${trainer.step}` : `training classifier ${out}`}: ${cfg.dataset}, ${classifier.parameterCount()} parameters, schedule ${JSON.stringify(cfg.schedulerConfig.beta_schedule ?? "linear")}`,
  );
  let loss = Number.NaN;
  let bad = 0;
  while (trainer.step < cfg.steps) {
    await stopIfAborted();
    const rec = await trainer.trainOneStep();
    loss = rec.loss;
    if (rec.skipped || rec.step % cfg.logEvery === 0 || rec.step === cfg.steps) {
      const r = {
        step: rec.step,
        loss: rec.loss,
        lr: rec.lr,
        gradNorm: rec.gradNorm,
        epoch: rec.epoch,
        time: elapsed(),
      };
      await appendFile(logFile, `${JSON.stringify(rec.skipped ? { ...r, skipped: 1 } : r)}\n`);
      progress.update(rec.step, rec.loss);
    }
    bad = rec.skipped ? bad + 1 : 0;
    if (rec.skipped) {
      checkBadSteps(rec, bad, cfg as unknown as TrainConfig, progress, () =>
        lastCheckpoint < 0
          ? "no checkpoint was written"
          : `the last good checkpoint (step ${lastCheckpoint}) is kept`,
      );
    }
    if (
      cfg.checkpointEvery > 0 &&
      rec.step % cfg.checkpointEvery === 0 &&
      rec.step < cfg.steps &&
      bad === 0
    ) {
      await checkpoint();
      lastCheckpoint = rec.step;
    }
    if (options.haltAfter !== undefined && rec.step >= options.haltAfter) {
      progress.finish();
      return {
        out,
        step: rec.step,
        halted: true,
        loss,
        levels: cfg.levels,
        accuracy: [],
        elapsed: elapsed(),
      };
    }
  }
  progress.finish();
  if (lastCheckpoint !== trainer.step) await checkpoint();
  await stopIfAborted();
  const acc = await trainer.accuracyAt(data.valid, cfg.levels);
  const report = {
    levels: cfg.levels,
    accuracy: acc,
    heldOut: data.valid.kind === "image" ? data.valid.labels!.length : 0,
    dataset: cfg.dataset,
    steps: trainer.step,
    weights: "EMA",
  };
  await saveClassifierFolder(out, classifier, trainer.emaParams, cfg.schedulerConfig, {
    [ACCURACY_FILE]: report,
  });
  progress.message(
    `held-out accuracy (${report.heldOut} examples): ${cfg.levels.map((t, i) => `t=${t}: ${acc[i]!.toFixed(3)}`).join(", ")}`,
  );
  progress.message(`done: ${trainer.step} steps in ${elapsed().toFixed(0)} s; classifier in ${out}`);
  return {
    out,
    step: trainer.step,
    halted: false,
    loss,
    levels: cfg.levels,
    accuracy: acc,
    elapsed: elapsed(),
  };
}
