/**
 * `diffuse train-classifier`: trains a noise-conditioned classifier for classifier guidance
 * (src/train/classifier-run-node.ts) on the noise schedule of `--model DIR` (the diffusion model it
 * will guide; default: the image presets' squaredcos_cap_v2, 1000 steps), and reports its held-out
 * accuracy at a few noise levels (printed, and written to <out>/accuracy.json).
 */
import path from "node:path";
import { loadModelFolder } from "../pipelines/model-folder-node.js";
import { runClassifierTraining } from "../train/classifier-run-node.js";
import { type Command, helpText, parseFlags, UsageError } from "./args.js";
import { threadsFrom } from "./limits.js";
import { onStopSignals } from "./train.js";

export const TRAIN_CLASSIFIER_COMMAND: Command = {
  name: "train-classifier",
  summary: "train a noise-conditioned classifier for classifier guidance",
  usage: "diffuse train-classifier --dataset NAME --steps N --out DIR [--model DIR] [--resume] ...",
  flags: [
    {
      name: "dataset",
      kind: "string",
      value: "NAME",
      help: "labelled image dataset (mnist, fashion-mnist, folder:...)",
    },
    {
      name: "model",
      kind: "string",
      value: "DIR",
      help: "the diffusion model to guide: its noise schedule is used",
    },
    { name: "steps", kind: "posint", value: "N", help: "optimizer steps (default 1000)" },
    { name: "batch-size", kind: "posint", value: "B", help: "examples per step (default 64)" },
    { name: "lr", kind: "number", value: "LR", help: "peak learning rate (default 1e-3, cosine decay)" },
    { name: "warmup-steps", kind: "int", value: "N", help: "linear warm-up steps (default 50)" },
    { name: "limit", kind: "int", value: "N", help: "use only the first N training examples (0: all)" },
    {
      name: "valid-size",
      kind: "posint",
      value: "N",
      help: "held-out examples for the accuracy (default 1000)",
    },
    {
      name: "levels",
      kind: "list",
      value: "T,...",
      help: "timesteps of the accuracy report (default 0,250,500,750,999)",
    },
    {
      name: "classifier-config",
      kind: "json",
      value: "JSON",
      help: "classifier config fields, e.g. '{\"layers_per_block\":2}'",
    },
    { name: "seed", kind: "int", value: "S", help: "seed of the data order, noise and initialisation" },
    { name: "out", kind: "string", value: "DIR", help: "run and classifier folder (required)" },
    { name: "resume", kind: "boolean", help: "continue the run in --out from its checkpoint" },
    { name: "overwrite", kind: "boolean", help: "replace an existing run in --out" },
    { name: "log-every", kind: "posint", value: "N", help: "log every N steps (default 10)" },
    { name: "checkpoint-every", kind: "int", value: "N", help: "checkpoint every N steps (default 200)" },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    { name: "force-threads", kind: "boolean", help: "allow --threads above the number of cores" },
  ],
  epilog: [
    "Writes <out>/config.json, diffusion_pytorch_model.safetensors, scheduler_config.json (the schedule",
    "trained on) and accuracy.json; use it with diffuse sample/eval --classifier <out>.",
  ].join("\n"),
};

export async function trainClassifierMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(TRAIN_CLASSIFIER_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(TRAIN_CLASSIFIER_COMMAND));
    return 0;
  }
  if (typeof values.out !== "string") throw new UsageError("--out DIR is required");
  const threads = threadsFrom(values.threads, values);
  let schedulerConfig: Record<string, unknown> | undefined;
  if (typeof values.model === "string") {
    const m = await loadModelFolder(values.model);
    if (!m.schedulerConfig)
      throw new UsageError(`--model ${values.model}: no scheduler config found next to it`);
    schedulerConfig = m.schedulerConfig;
  }
  const levels = Array.isArray(values.levels)
    ? values.levels.map((s) => {
        const v = Number(s);
        if (!Number.isInteger(v) || v < 0)
          throw new UsageError(`--levels: expected non-negative integers, got ${JSON.stringify(s)}`);
        return v;
      })
    : undefined;
  const stop = onStopSignals();
  try {
    const r = await runClassifierTraining(
      {
        out: values.out,
        ...(typeof values.dataset === "string" ? { dataset: values.dataset } : {}),
        steps: values.steps as number | undefined,
        batchSize: values.batchSize as number | undefined,
        lr: values.lr as number | undefined,
        warmupSteps: values.warmupSteps as number | undefined,
        limit: values.limit as number | undefined,
        validSize: values.validSize as number | undefined,
        seed: values.seed as number | undefined,
        resume: values.resume === true ? true : undefined,
        logEvery: values.logEvery as number | undefined,
        checkpointEvery: values.checkpointEvery as number | undefined,
        threads: values.threads === undefined ? undefined : threads,
        model: values.classifierConfig as Record<string, unknown> | undefined,
        schedulerConfig,
        levels,
      },
      { signal: stop.signal, overwrite: values.overwrite === true },
    );
    process.stdout.write(
      `${JSON.stringify({ out: r.out, step: r.step, loss: r.loss, levels: r.levels, accuracy: r.accuracy, seconds: Math.round(r.elapsed), file: path.join(r.out, "accuracy.json") })}\n`,
    );
    return 0;
  } finally {
    stop.dispose();
  }
}
