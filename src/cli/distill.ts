/**
 * `diffuse distill --teacher DIR --method reflow|consistency --out DIR`: few-step students from a
 * trained model (issue 13). Flags only: the run is `runTraining` (train/run-node.ts) with the objective
 * "reflow" or "consistency-distill" and the `distill` settings (train/distill-config.ts), so it has the
 * trainer's compiled step, EMA, atomic checkpoints, bit-exact --resume, progress and signals.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { readJsonFile } from "../io/files.js";
import type { TrainConfig } from "../train/config.js";
import { CONSISTENCY_DISTANCES } from "../train/consistency-loss.js";
import { CONSISTENCY_TARGETS, TEACHER_SOLVERS } from "../train/distill-config.js";
import { runTraining } from "../train/run-node.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { LIMIT_FLAGS, memoryLimitFrom, threadsFrom } from "./limits.js";
import { onStopSignals } from "./train.js";

export const DISTILL_METHODS = ["reflow", "consistency"] as const;

/** Flags that map onto `distill.<field>`. */
const DISTILL_FLAGS = [
  "stage",
  "pairs",
  "pairSteps",
  "pairsDir",
  "numScales",
  "maxTimestep",
  "distance",
  "solver",
  "target",
];
/** Flags that map onto the TrainConfig field of the same name. */
const TRAIN_FLAGS = [
  "steps",
  "batchSize",
  "lr",
  "warmupSteps",
  "emaDecay",
  "seed",
  "logEvery",
  "checkpointEvery",
  "sampleEvery",
  "numSamples",
  "samplerSteps",
  "flowT",
];

export const DISTILL_COMMAND: Command = {
  name: "distill",
  summary: "few-step students: reflow of a flow model, consistency distillation",
  usage:
    "diffuse distill --teacher DIR --method reflow|consistency --out DIR [--steps N] [--stage 1|2] [--pairs N] [--num-scales N] [--resume] ...",
  flags: [
    { name: "teacher", kind: "string", value: "DIR", help: "the teacher model folder" },
    { name: "method", kind: "string", value: "NAME", help: "what to distil", choices: DISTILL_METHODS },
    { name: "out", kind: "string", value: "DIR", help: "the run folder (checkpoint, log, final model)" },
    { name: "steps", kind: "posint", value: "N", help: "optimizer steps" },
    { name: "batch-size", kind: "posint", value: "B", help: "examples per step" },
    { name: "lr", kind: "number", value: "LR", help: "learning rate" },
    { name: "warmup-steps", kind: "int", value: "N", help: "learning-rate warm-up steps" },
    { name: "ema-decay", kind: "number", value: "D", help: "EMA decay (also the consistency target's)" },
    { name: "seed", kind: "int", value: "S", help: "seed (data order, noise, couplings)" },
    {
      name: "stage",
      kind: "string",
      value: "1|2",
      help: "reflow: 1 retrain on couplings, 2 distil to one step (t = 1)",
      choices: ["1", "2"],
    },
    {
      name: "pairs",
      kind: "posint",
      value: "N",
      help: "reflow: couplings drawn from the teacher (default 2000)",
    },
    {
      name: "pair-steps",
      kind: "posint",
      value: "N",
      help: "reflow: teacher Euler steps per coupling (default 20)",
    },
    {
      name: "pairs-dir",
      kind: "string",
      value: "DIR",
      help: "reflow: cache of the couplings (default OUT/pairs)",
    },
    { name: "num-scales", kind: "posint", value: "N", help: "consistency: grid points N (default 18)" },
    {
      name: "max-timestep",
      kind: "int",
      value: "T",
      help: "consistency: top of the grid (default 0.95 x the schedule's)",
    },
    {
      name: "distance",
      kind: "string",
      value: "NAME",
      help: "consistency: distance (default pseudo-huber)",
      choices: CONSISTENCY_DISTANCES,
    },
    {
      name: "solver",
      kind: "string",
      value: "NAME",
      help: "consistency: the teacher's step (default ddim)",
      choices: TEACHER_SOLVERS,
    },
    {
      name: "target",
      kind: "string",
      value: "NAME",
      help: "consistency: target network (default ema)",
      choices: CONSISTENCY_TARGETS,
    },
    {
      name: "flow-t",
      kind: "string",
      value: "DIST",
      help: "reflow: how t is drawn (default uniform)",
      choices: ["uniform", "logit-normal"],
    },
    { name: "log-every", kind: "posint", value: "N", help: "log line every N steps" },
    { name: "checkpoint-every", kind: "int", value: "N", help: "checkpoint every N steps" },
    { name: "sample-every", kind: "int", value: "N", help: "sample grid every N steps (0: at the end)" },
    { name: "num-samples", kind: "posint", value: "N", help: "images in the sample grids" },
    { name: "sampler-steps", kind: "posint", value: "N", help: "steps of the sample grids" },
    { name: "resume", kind: "boolean", help: "continue the run in --out (and a partial couplings cache)" },
    { name: "overwrite", kind: "boolean", help: "replace a run in --out" },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    ...LIMIT_FLAGS,
  ],
  epilog: [
    "reflow (Liu et al. 2022): the teacher is a flow model (diffuse train --objective flow); its Euler",
    "ODE maps noise to samples (the couplings, cached in chunks: a killed run resumes where it",
    "stopped); the student, initialised from the teacher, learns the straight paths between them.",
    "--stage 2 on a reflowed model distils it to one step (t = 1 only). Sample with flow_match_euler.",
    "consistency (Song et al. 2023): the teacher is a VP diffusion model (epsilon, v or x0); one",
    "teacher DDIM (or Heun) step between adjacent grid points, the EMA weights as stop-gradient target.",
    "Sample with: diffuse sample --model OUT --sampler consistency --steps 1.",
  ].join("\n"),
};

/** The teacher's scheduler config and model index (for the fields the student must share). */
async function teacherFacts(
  dir: string,
): Promise<{ scheduler: Record<string, unknown>; index: Record<string, unknown> }> {
  const read = async (file: string) =>
    existsSync(file) ? ((await readJsonFile(file, "teacher file")) as Record<string, unknown>) : {};
  if (!existsSync(dir)) throw new UsageError(`--teacher: ${dir} does not exist`);
  return {
    scheduler: await read(path.join(dir, "scheduler", "scheduler_config.json")),
    index: await read(path.join(dir, "model_index.json")),
  };
}

/** Flags -> the run's partial config. */
export async function distillSettings(values: Record<string, FlagValue>): Promise<Partial<TrainConfig>> {
  if (typeof values.out !== "string") throw new UsageError("--out: required (the run folder)");
  const resumeOnly = values.resume === true && values.teacher === undefined;
  if (resumeOnly)
    return {
      out: values.out,
      resume: true,
      ...pick(values, TRAIN_FLAGS, [
        "steps",
        "logEvery",
        "checkpointEvery",
        "sampleEvery",
        "numSamples",
        "samplerSteps",
      ]),
    };
  if (typeof values.teacher !== "string")
    throw new UsageError("--teacher: required (the teacher model folder)");
  if (typeof values.method !== "string")
    throw new UsageError(`--method: required (${DISTILL_METHODS.join(" or ")})`);
  const { scheduler, index } = await teacherFacts(values.teacher);
  const info = (index._diffuse ?? {}) as Record<string, unknown>;
  const distill: Record<string, unknown> = { teacher: values.teacher };
  for (const k of DISTILL_FLAGS)
    if (values[k] !== undefined) distill[k] = k === "stage" ? Number(values[k]) : values[k];
  const consistency = values.method === "consistency";
  const partial: Partial<TrainConfig> = {
    dataset: typeof info.dataset === "string" ? info.dataset : "mnist",
    objective: consistency ? "consistency-distill" : "reflow",
    distill,
    classConditional: info.numClasses !== undefined,
    out: values.out,
    ...(typeof scheduler.num_train_timesteps === "number"
      ? { numTrainTimesteps: scheduler.num_train_timesteps }
      : {}),
    ...(consistency && typeof scheduler.beta_schedule === "string"
      ? { betaSchedule: scheduler.beta_schedule as TrainConfig["betaSchedule"] }
      : {}),
    ...(consistency && typeof scheduler.prediction_type === "string"
      ? { predictionType: scheduler.prediction_type as TrainConfig["predictionType"] }
      : {}),
    ...pick(values, TRAIN_FLAGS, TRAIN_FLAGS),
    ...(values.resume === true ? { resume: true } : {}),
    ...(values.threads !== undefined ? { threads: values.threads as number } : {}),
  };
  return partial;
}

function pick(values: Record<string, FlagValue>, keys: string[], allowed: string[]): Partial<TrainConfig> {
  return Object.fromEntries(
    keys.filter((k) => allowed.includes(k) && values[k] !== undefined).map((k) => [k, values[k]]),
  );
}

export async function distillMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(DISTILL_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(DISTILL_COMMAND));
    return 0;
  }
  const partial = await distillSettings(values);
  threadsFrom(partial.threads, values);
  const stop = onStopSignals();
  try {
    const r = await runTraining(partial, {
      overwrite: values.overwrite === true,
      maxMemory: memoryLimitFrom(values),
      signal: stop.signal,
    });
    process.stdout.write(
      `${JSON.stringify({ out: r.out, step: r.step, loss: r.loss, seconds: Math.round(r.elapsed) })}\n`,
    );
    return 0;
  } finally {
    stop.dispose();
  }
}
