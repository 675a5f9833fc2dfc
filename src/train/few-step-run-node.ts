/**
 * What a training run (run-node.ts) needs for the few-step objectives (Node): the teacher folder,
 * checked against the method and the data; the student's initial weights (the teacher's: consistency
 * distillation and reflow start from it, Song et al. 2023 Sec. 4 and Liu et al. 2022 Alg. 1); the
 * cached reflow couplings (reflow-pairs-node.ts); the objective (few-step-objectives.ts); and what the
 * saved model folder records for its sampler (`_diffuse.consistency`). Every refusal happens before
 * anything is written, naming the field and both values.
 */
import type { Dataset } from "../data/types.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { loadModelFolder } from "../pipelines/model-folder-node.js";
import type { ConsistencyModelInfo, ReflowModelInfo } from "../pipelines/model-info.js";
import { schedulerFamily } from "../pipelines/samplers.js";
import { ConfigFieldError, type TrainConfig } from "./config.js";
import { type DistillSettings, resolveDistillSettings } from "./distill-config.js";
import { ctScales, fewStepObjective } from "./few-step-objectives.js";
import type { ProgressSink } from "./progress.js";
import { Progress } from "./progress.js";
import { generateReflowPairs, loadReflowPairs, type PairsSpec } from "./reflow-pairs-node.js";
import { InterruptedError, SIGNAL_EXIT_CODES } from "./run-stop.js";
import type { CustomObjective } from "./trainer.js";
import { vpSchedulerConfig } from "./trainer.js";

export interface FewStepSetup {
  /**
   * Reflow: the run's training data are the couplings' samples (the custom draw pairs them with their
   * noise); `data` with its examples replaced by them. Other objectives: `data` unchanged.
   */
  trainData(data: Dataset): Dataset;
  settings: DistillSettings;
  /** The student's start (the teacher's architecture and weights), or null: the preset's init. */
  init: { denoiser: Denoiser; params: Params } | null;
  /** The objective, once the student's denoiser exists. */
  objective(denoiser: Denoiser): CustomObjective;
  /** `_diffuse.consistency` of the saved folder (consistency objectives). */
  consistencyInfo(): ConsistencyModelInfo | undefined;
  /** `_diffuse.reflow` of the saved folder (reflow). */
  reflowInfo(): ReflowModelInfo | undefined;
}

export function isFewStep(config: Pick<TrainConfig, "objective">): boolean {
  return (
    config.objective === "consistency" ||
    config.objective === "consistency-distill" ||
    config.objective === "reflow"
  );
}

const FLOW_CLASS = "FlowMatchEulerDiscreteScheduler";

/**
 * The teacher checks and the student's start. `shape` is the data's example shape; the run's progress
 * sink reports the couplings' generation.
 */
export async function setupFewStep(
  config: TrainConfig,
  shape: readonly number[],
  options: { progress: ProgressSink; signal?: AbortSignal; numClasses: number | null },
): Promise<FewStepSetup> {
  const settings = resolveDistillSettings(config.distill, config.numTrainTimesteps, config.out);
  const schedulerConfig = vpSchedulerConfig(config, true);
  if (config.objective === "consistency") {
    if (settings.teacher) {
      throw new ConfigFieldError(
        `config: field "distill.teacher" is ${JSON.stringify(settings.teacher)} but "objective" is "consistency" (training without a teacher); use diffuse distill --method consistency to distil from it`,
      );
    }
    return {
      settings,
      init: null,
      objective: (denoiser) => fewStepObjective({ config, settings, denoiser, schedulerConfig }),
      consistencyInfo: () => ({
        numScales: ctScales(config.steps, config.steps, settings.maxTimestep),
        maxTimestep: settings.maxTimestep,
        sigmaData: 0.5,
      }),
      reflowInfo: () => undefined,
      trainData: (data) => data,
    };
  }
  if (!settings.teacher) {
    throw new ConfigFieldError(
      `config: field "distill.teacher" is missing; objective "${config.objective}" needs a teacher model folder (diffuse distill --teacher DIR)`,
    );
  }
  const teacher = await loadModelFolder(settings.teacher);
  const file = teacher.schedulerPath ?? `${settings.teacher}/scheduler/scheduler_config.json`;
  const sc = teacher.schedulerConfig ?? {};
  const teacherClass = String(sc._class_name ?? "(none)");
  checkTeacherShape(settings.teacher, teacher.denoiser.exampleShape, shape);
  checkStudentModel(config, teacher.denoiser.toConfig(), settings.teacher);
  if ((options.numClasses === null) !== (teacher.denoiser.numClassEmbeds === null)) {
    // The student is the teacher's copy: it takes labels exactly when the teacher does.
    throw new ConfigFieldError(
      `config: field "classConditional" is ${config.classConditional} but the teacher's num_class_embeds (${settings.teacher}/unet/config.json) is ${teacher.denoiser.numClassEmbeds}; expected ${teacher.denoiser.numClassEmbeds !== null}`,
    );
  }
  const init = { denoiser: teacher.denoiser, params: teacher.params };
  if (config.objective === "consistency-distill") {
    // A VP teacher: its scheduler class is one of the diffusion family (DDPM, DDIM, DPM-Solver, ...;
    // no config at all: this project's default), not flow matching or a Karras-VE consistency model.
    const vp = sc._class_name === undefined || schedulerFamily(teacherClass) === "diffusion";
    if (!vp || teacher.info.consistency) {
      throw new ConfigFieldError(
        `${file}: field "_class_name" is ${teacherClass}${teacher.info.consistency ? " (a consistency student)" : ""}; consistency distillation needs a VP diffusion teacher (epsilon, v_prediction or sample; DDPMScheduler config)`,
      );
    }
    for (const [field, key, value] of [
      ["prediction_type", "predictionType", config.predictionType],
      ["beta_schedule", "betaSchedule", config.betaSchedule],
      ["num_train_timesteps", "numTrainTimesteps", config.numTrainTimesteps],
    ] as const) {
      if (sc[field] !== undefined && sc[field] !== value) {
        throw new ConfigFieldError(
          `config: field "${key}" is ${JSON.stringify(value)} but the teacher's ${field} (${file}) is ${JSON.stringify(sc[field])}; the student must keep the teacher's`,
        );
      }
    }
    return {
      settings,
      init,
      objective: (denoiser) =>
        fewStepObjective({ config, settings, denoiser, schedulerConfig, teacherParams: teacher.params }),
      consistencyInfo: () => ({
        numScales: settings.numScales,
        maxTimestep: settings.maxTimestep,
        sigmaData: 0.5,
      }),
      reflowInfo: () => undefined,
      trainData: (data) => data,
    };
  }
  // reflow
  if (teacherClass !== FLOW_CLASS) {
    throw new ConfigFieldError(
      `${file}: field "_class_name" is ${teacherClass}; reflow needs a flow-matching teacher (${FLOW_CLASS}, from diffuse train --objective flow)`,
    );
  }
  const teacherT = Number(sc.num_train_timesteps ?? 1000);
  const spec: PairsSpec = {
    teacher: settings.teacher,
    pairs: settings.pairs,
    pairSteps: settings.pairSteps,
    chunk: settings.chunk,
    seed: config.seed,
    shape: [...shape],
    numClasses: teacher.denoiser.numClassEmbeds === null ? 0 : (teacher.info.numClasses ?? 0),
  };
  const bar = new Progress(options.progress, spec.pairs);
  await generateReflowPairs(
    settings.pairsDir,
    spec,
    { denoiser: teacher.denoiser, params: teacher.params, numTrainTimesteps: teacherT },
    {
      threads: config.threads,
      onChunk: (done) => bar.update(done, undefined, "reflow pairs"),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  bar.finish();
  if (options.signal?.aborted) {
    const signal = String(options.signal.reason ?? "abort");
    throw new InterruptedError(
      `${signal} while drawing the reflow couplings: the finished chunks are kept in ${settings.pairsDir}; resume with the same command plus --resume`,
      signal,
      SIGNAL_EXIT_CODES[signal] ?? 130,
    );
  }
  const pairs = await loadReflowPairs(settings.pairsDir, spec);
  return {
    settings,
    init,
    objective: (denoiser) => fewStepObjective({ config, settings, denoiser, schedulerConfig, pairs }),
    consistencyInfo: () => undefined,
    reflowInfo: () => ({ stage: settings.stage, pairs: settings.pairs, pairSteps: settings.pairSteps }),
    trainData: (data) => withExamples(data, pairs.samples, pairs.labels),
  };
}

/** The teacher must produce the data's example shape (channels and image size). */
function checkTeacherShape(teacher: string, have: readonly number[], want: readonly number[]): void {
  if (JSON.stringify(have) === JSON.stringify(want)) return;
  throw new ConfigFieldError(
    `teacher ${teacher}: its example shape (in_channels, sample_size) is [${have.join(", ")}] but the data's is [${want.join(", ")}]; expected a teacher trained on the same image size`,
  );
}

/** `config.model` overrides must not change the teacher's architecture (the student is its copy). */
function checkStudentModel(config: TrainConfig, teacher: Record<string, unknown>, dir: string): void {
  for (const [key, value] of Object.entries(config.model)) {
    if (JSON.stringify(teacher[key]) !== JSON.stringify(value)) {
      throw new ConfigFieldError(
        `config: field "model.${key}" is ${JSON.stringify(value)} but the teacher's (${dir}/unet/config.json) is ${JSON.stringify(teacher[key])}; the student starts from the teacher's weights and keeps its architecture`,
      );
    }
  }
}

/**
 * The data of a reflow run without reading the data set: reflow trains on the teacher's couplings
 * (Liu et al. 2022, Algorithm 1), never on the data, so loading MNIST (60,000 images) would only cost
 * time and memory. What the run needs of the data (the example shape, the classes, the normalisation
 * of vector data: what the student's folder records) comes from the teacher folder; the examples stay
 * empty until `FewStepSetup.trainData` puts the couplings in. No validation set: a held-out loss on
 * the data would not measure the objective (the draw picks couplings, not data).
 */
export async function reflowRunData(
  config: Pick<TrainConfig, "distill" | "dataset">,
): Promise<{ train: Dataset; valid: null; numClasses?: number }> {
  const dir = (config.distill as { teacher?: unknown } | undefined)?.teacher;
  if (typeof dir !== "string" || dir.length === 0) {
    throw new ConfigFieldError(
      'config: field "distill.teacher" is missing; objective "reflow" needs a teacher model folder (diffuse distill --teacher DIR)',
    );
  }
  const teacher = await loadModelFolder(dir);
  const info = teacher.info;
  const shape = teacher.denoiser.exampleShape;
  const numClasses = teacher.denoiser.numClassEmbeds === null ? undefined : info.numClasses;
  const labelled = {
    name: config.dataset,
    ...(numClasses !== undefined ? { numClasses, labels: new Int32Array(0) } : {}),
    ...(info.classNames ? { classNames: info.classNames } : {}),
  };
  const train: Dataset =
    shape.length === 3
      ? {
          ...labelled,
          kind: "image",
          images: new Float32Array(0),
          shape: [shape[0]!, shape[1]!, shape[2]!],
        }
      : {
          ...labelled,
          kind: info.dataKind === "table" ? "table" : "points",
          data: new Float32Array(0),
          dim: shape[0]!,
          normalization: info.normalization ?? {
            mean: new Array<number>(shape[0]!).fill(0),
            std: new Array<number>(shape[0]!).fill(1),
          },
          ...(info.table ? { table: info.table } : {}),
        };
  return { train, valid: null, ...(numClasses !== undefined ? { numClasses } : {}) };
}

/** `data` holding `examples` (row-major, its example shape) and their labels instead of its own. */
function withExamples(data: Dataset, examples: Float32Array, labels?: Int32Array): Dataset {
  const { labels: _old, ...rest } = data;
  const labelled = labels ? { labels } : {};
  return rest.kind === "image"
    ? { ...rest, ...labelled, images: examples }
    : { ...rest, ...labelled, data: examples };
}
