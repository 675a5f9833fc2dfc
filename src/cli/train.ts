/**
 * `diffuse train`: flags and/or a JSON config file (same keys as the flags, camelCase) -> a training
 * run (src/train/run-node.ts). Flags override the file. With no dataset given (no flag, no file
 * entry) it trains the built-in default: a small class-conditional MNIST run into runs/mnist.
 */
import { existsSync } from "node:fs";
import { DATASET_NAMES } from "../data/registry.js";
import { PREDICTION_TYPES } from "../diffusion/loss-weights.js";
import { readJsonFile } from "../io/files.js";
import { SCHEDULER_SAMPLER_NAMES } from "../pipelines/samplers.js";
import { checkpointPath } from "../train/checkpoint-node.js";
import {
  BETA_SCHEDULES,
  ConfigFieldError,
  checkTrainConfigFields,
  LOSS_KINDS,
  LR_SCHEDULES,
  OBJECTIVES,
  type TrainConfig,
  WEIGHTINGS,
} from "../train/config.js";
import { FLOW_TIME_DISTRIBUTIONS } from "../train/flow-loss.js";
import { PRESET_NAMES } from "../train/presets.js";
import { runOut, runTraining, SIGNAL_EXIT_CODES } from "../train/run-node.js";
import { stepsForMinutes } from "../train/time-budget-node.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { LIMIT_FLAGS, memoryLimitFrom, threadsFrom } from "./limits.js";

/**
 * The run `diffuse train` does without a dataset: 2500 steps, about 28 minutes on 2 cores of an AMD EPYC
 * (0.66 s per step: the steps that fit issue 14's 30-minute budget there; 1200 before). Its samples are
 * evaluated at the CLI's default guidance 2 (PIPELINE_DEFAULTS); measured numbers: README, "Levers of
 * sample quality". At 400 steps the samples are still speckled.
 */
export const DEFAULT_RUN: Partial<TrainConfig> = {
  dataset: "mnist",
  preset: "unet28-cond",
  steps: 2500,
  batchSize: 32,
  warmupSteps: 100,
  out: "runs/mnist",
  logEvery: 10,
  checkpointEvery: 200,
  samplerSteps: 20,
  numSamples: 40,
};

export const TRAIN_COMMAND: Command = {
  name: "train",
  summary: "train a diffusion model on a built-in dataset or your files",
  usage:
    "diffuse train [--config FILE] [--dataset NAME] [--steps N] [--batch-size B] [--out DIR] [--seed S] [--resume] ...",
  flags: [
    {
      name: "config",
      kind: "string",
      value: "FILE",
      help: "JSON file of settings (the flags' names in camelCase)",
    },
    { name: "dataset", kind: "string", value: "NAME", help: `dataset: ${DATASET_NAMES.join(", ")}` },
    { name: "limit", kind: "int", value: "N", help: "use only the first N training examples (0: all)" },
    {
      name: "vae",
      kind: "string",
      value: "DIR",
      help: "latent diffusion: train in the latent space of this AutoencoderKL (diffuse train-vae)",
    },
    {
      name: "init-from",
      kind: "string",
      value: "DIR",
      help: "--objective joint: start the U-Net from this trained diffusers UNet2DModel folder (e.g. RUN/unet), by name; not reread on --resume",
    },
    {
      name: "preset",
      kind: "string",
      value: "NAME",
      help: "model preset (default: from the data shape)",
      choices: PRESET_NAMES,
    },
    {
      name: "model",
      kind: "json",
      value: "JSON",
      help: "model config fields overriding the preset's, e.g. '{\"layers_per_block\":2}'",
    },
    {
      name: "class-conditional",
      kind: "boolean",
      help: "condition on the labels (with label dropout for guidance)",
    },
    {
      name: "label-dropout",
      kind: "number",
      value: "P",
      help: "probability of training a label as the null class (default 0.1)",
    },
    {
      name: "joint-label-weight",
      kind: "number",
      value: "L",
      help: "--objective joint: weight of the label's noise loss (default 4)",
    },
    {
      name: "joint-clean-prob",
      kind: "number",
      value: "P",
      help: "--objective joint: probability of a clean label, and as much of a clean image (default 0.25)",
    },
    { name: "beta-schedule", kind: "string", value: "NAME", help: "noise schedule", choices: BETA_SCHEDULES },
    { name: "num-train-timesteps", kind: "posint", value: "T", help: "diffusion steps T (default 1000)" },
    {
      name: "prediction-type",
      kind: "string",
      value: "TYPE",
      help: "what the model predicts",
      choices: PREDICTION_TYPES,
    },
    {
      name: "objective",
      kind: "string",
      value: "KIND",
      help: "diffusion (default; --prediction-type), flow (flow matching: velocity eps - x0) or joint (a JointUNet of (image, label), labelled data)",
      choices: OBJECTIVES,
    },
    {
      name: "flow-t",
      kind: "string",
      value: "DIST",
      help: "flow: how t is drawn (default uniform; logit-normal of SD3)",
      choices: FLOW_TIME_DISTRIBUTIONS,
    },
    { name: "flow-logit-mean", kind: "number", value: "M", help: "flow, logit-normal t: mean m (default 0)" },
    { name: "flow-logit-std", kind: "number", value: "S", help: "flow, logit-normal t: std s (default 1)" },
    { name: "loss", kind: "string", value: "KIND", help: "loss (default l2)", choices: LOSS_KINDS },
    {
      name: "huber-c",
      kind: "number",
      value: "C",
      help: "c of the pseudo-Huber loss 'huber' (> 0; default 0.1)",
    },
    {
      name: "huber-delta",
      kind: "number",
      value: "D",
      help: "delta of torch's Huber loss 'torch-huber' (> 0; default 1)",
    },
    {
      name: "weighting",
      kind: "string",
      value: "KIND",
      help: "per-timestep loss weights (default min-snr)",
      choices: WEIGHTINGS,
    },
    { name: "snr-gamma", kind: "number", value: "G", help: "gamma of min-SNR weighting (default 5)" },
    { name: "offset-noise", kind: "number", value: "S", help: "offset-noise strength (default 0)" },
    {
      name: "channel-weights",
      kind: "list",
      value: "W,W,...",
      help: "per-channel loss weights of images, one per channel (default: uniform)",
    },
    { name: "steps", kind: "posint", value: "N", help: "optimizer steps" },
    {
      name: "minutes",
      kind: "number",
      value: "M",
      help: "train for about M minutes instead of --steps: 30 steps of this run are timed first, then --steps is set to fill M minutes",
    },
    { name: "batch-size", kind: "posint", value: "B", help: "examples per micro-batch" },
    { name: "grad-accum", kind: "posint", value: "K", help: "micro-batches per optimizer step (default 1)" },
    { name: "lr", kind: "number", value: "LR", help: "peak learning rate" },
    {
      name: "lr-schedule",
      kind: "string",
      value: "KIND",
      help: "learning-rate schedule after warm-up",
      choices: LR_SCHEDULES,
    },
    { name: "warmup-steps", kind: "int", value: "N", help: "linear warm-up steps" },
    {
      name: "lr-min",
      kind: "number",
      value: "LR",
      help: "floor of the cosine schedule (eta_min, default 0)",
    },
    { name: "weight-decay", kind: "number", value: "W", help: "AdamW weight decay (default 0.01)" },
    {
      name: "max-grad-norm",
      kind: "number",
      value: "X",
      help: "clip the global gradient norm (0: off; default 1)",
    },
    { name: "ema-decay", kind: "number", value: "D", help: "maximum EMA decay" },
    {
      name: "seed",
      kind: "int",
      value: "S",
      help: "seed of the data order, noise and initialisation (default 0)",
    },
    { name: "out", kind: "string", value: "DIR", help: "run directory (default runs/<dataset>)" },
    {
      name: "resume",
      kind: "boolean",
      help: "continue the run in --out from its checkpoint (without one: starts fresh, and says so)",
    },
    { name: "overwrite", kind: "boolean", help: "replace an existing run in --out" },
    {
      name: "log-every",
      kind: "posint",
      value: "N",
      help: "log and update progress every N steps (default 10)",
    },
    { name: "valid-every", kind: "int", value: "N", help: "validation loss every N steps (0: at the end)" },
    {
      name: "valid-size",
      kind: "int",
      value: "N",
      help: "held-out examples for the validation loss (default 256)",
    },
    { name: "sample-every", kind: "int", value: "N", help: "sample grid every N steps (0: at the end)" },
    {
      name: "checkpoint-every",
      kind: "int",
      value: "N",
      help: "checkpoint every N steps (0: at the end; default 500)",
    },
    { name: "num-samples", kind: "posint", value: "N", help: "samples in the grid" },
    {
      name: "sampler",
      kind: "string",
      value: "NAME",
      help: "sampler of the grids",
      choices: SCHEDULER_SAMPLER_NAMES,
    },
    { name: "sampler-steps", kind: "posint", value: "N", help: "sampling steps of the grids" },
    {
      name: "guidance-scale",
      kind: "number",
      value: "W",
      help: "guidance of the grids (class-conditional; default 2)",
    },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    {
      name: "max-bad-steps",
      kind: "int",
      value: "N",
      help: "stop after N consecutive steps with a NaN/Inf loss or gradient norm, each skipped (0: never; default 3)",
    },
    ...LIMIT_FLAGS,
  ],
  epilog: [
    "Without --dataset (and no dataset in --config) it trains the built-in default: a small",
    "class-conditional MNIST run (2500 steps, about 28 minutes on 2 cores) writing runs/mnist/samples.png.",
    "The run directory holds checkpoint.safetensors, log.jsonl, samples.png, loss.png and the final",
    "model in diffusers layout (model_index.json, unet/, scheduler/).",
    "Ctrl-C (SIGINT) or SIGTERM: the run finishes its step, writes a checkpoint and exits 130 / 143;",
    "continue it with --resume (a second signal exits at once, keeping the last checkpoint).",
  ].join("\n"),
};

/** Flags + config file -> the partial config and run options. */
export async function trainSettings(
  values: Record<string, FlagValue>,
): Promise<{ partial: Partial<TrainConfig>; overwrite: boolean; maxMemory: number }> {
  const { config: file, overwrite, maxMemory: _, forceThreads: __, minutes: ___, ...flags } = values;
  let fromFile: Record<string, unknown> = {};
  if (typeof file === "string") {
    const raw = await readJsonFile(file, "config file");
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigFieldError(`config file ${file}: expected a JSON object of settings`);
    }
    fromFile = raw as Record<string, unknown>;
    checkTrainConfigFields(fromFile, `config file ${file}`);
  }
  const merged = { ...fromFile, ...flags } as Partial<TrainConfig>;
  if (Array.isArray(flags.channelWeights)) {
    // "1,0.1" -> [1, 0.1]; a non-number stays as typed, so the field check below names it.
    merged.channelWeights = flags.channelWeights.map((w) =>
      /^[0-9.eE+-]+$/.test(w) ? Number(w) : w,
    ) as number[];
  }
  // Without a dataset: the built-in default run, unless --resume continues a run in --out (its
  // checkpoint holds the settings; the defaults would contradict them).
  const resuming =
    merged.resume === true && merged.out !== undefined && existsSync(checkpointPath(merged.out));
  const partial = merged.dataset === undefined && !resuming ? { ...DEFAULT_RUN, ...merged } : merged;
  checkTrainConfigFields(partial as Record<string, unknown>, "train");
  threadsFrom(partial.threads, values);
  return { partial, overwrite: overwrite === true, maxMemory: memoryLimitFrom(values) };
}

export async function trainMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(TRAIN_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(TRAIN_COMMAND));
    return 0;
  }
  const { partial, overwrite, maxMemory } = await trainSettings(values);
  const stop = onStopSignals();
  try {
    const minutes = values.minutes as number | undefined;
    if (minutes !== undefined) {
      if (values.steps !== undefined || partial.resume === true)
        throw new UsageError("--minutes sets the steps of a fresh run: not with --steps or --resume");
      const out = runOut(partial);
      process.stderr.write(`timing 30 steps in ${out} for a budget of ${minutes} min\n`);
      const budget = await stepsForMinutes({ ...partial, out }, minutes, {
        overwrite,
        maxMemory,
        signal: stop.signal,
      });
      process.stderr.write(
        `training ${budget.steps} steps (${budget.secondsPerStep.toFixed(3)} s/step) for about ${minutes} min\n`,
      );
      Object.assign(partial, { out, steps: budget.steps });
    }
    // After a timing run the folder is this command's own: no checkpoint is left, the log is replaced.
    const result = await runTraining(partial, {
      overwrite: overwrite || minutes !== undefined,
      maxMemory,
      signal: stop.signal,
    });
    process.stdout.write(
      `${JSON.stringify({ out: result.out, step: result.step, loss: result.loss, validLoss: result.validLoss, seconds: Math.round(result.elapsed) })}\n`,
    );
    return 0;
  } finally {
    stop.dispose();
  }
}

/**
 * SIGINT / SIGTERM while training: the first one aborts the returned signal (the run checkpoints at
 * the next step boundary and exits 130 / 143 through an InterruptedError); a second one exits at once
 * with that code (the last checkpoint written stays valid: checkpoints are atomic).
 */
export function onStopSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    const code = SIGNAL_EXIT_CODES[sig] ?? 130;
    if (controller.signal.aborted) {
      process.stderr.write(`\n${sig} again: exiting now (code ${code}) without a new checkpoint\n`);
      process.exit(code);
    }
    process.stderr.write(
      `\n${sig}: stopping after the current step and writing a checkpoint (${sig === "SIGINT" ? "Ctrl-C" : "send it"} again to exit at once)\n`,
    );
    controller.abort(sig);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) process.on(s, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}
