/**
 * `diffuse eval`: sample-quality metrics (FID, KID, precision/recall, density/coverage, the feature
 * net's Inception-score analogue and class accuracy, memorisation) of a samples file, or of a model
 * that it samples first (through `runSample`, the code behind `diffuse sample`). Prints a markdown
 * table; `--json OUT` also writes the full report.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import {
  type EvaluateResult,
  evaluateSamples,
  type MemorizationSpace,
  readSamplesFile,
} from "../eval/evaluate-node.js";
import { FEATURE_NET_DATASETS } from "../eval/feature-net-node.js";
import { evaluateNll, type NllReport } from "../eval/nll.js";
import { formatReport } from "../eval/report.js";
import { readJsonFile, writeFileAtomic } from "../io/files.js";
import { loadModelFolder, MODEL_INDEX_FILE, SCHEDULER_CONFIG_FILE } from "../pipelines/model-folder-node.js";
import { SAMPLER_NAMES } from "../pipelines/samplers.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { formatSweep, runSweep, type SweepFlag, scalesOf, sweptFlag, writeSweep } from "./eval-sweep.js";
import { LIMIT_FLAGS, memoryLimitFrom, threadsFrom } from "./limits.js";
import { runSample } from "./sample.js";

export const EVAL_COMMAND: Command = {
  name: "eval",
  summary: "measure sample quality (FID, KID, precision/recall, ...)",
  usage:
    "diffuse eval (--samples FILE.safetensors | --model DIR [--sampler NAME --steps N --num-samples N]) [--dataset NAME] [--json OUT]",
  flags: [
    {
      name: "samples",
      kind: "string",
      value: "FILE",
      help: 'safetensors file with "samples" [N, 1, 28, 28] in [-1, 1] and optional "labels" [N]',
    },
    {
      name: "model",
      kind: "string",
      value: "DIR",
      help: "model folder to sample from (instead of --samples)",
    },
    {
      name: "sampler",
      kind: "string",
      value: "NAME",
      help: "--model: sampler (default: the folder's, as diffuse sample: dpmsolver++, flow_match_euler for flow models, consistency for consistency students)",
      choices: SAMPLER_NAMES,
    },
    {
      name: "steps",
      kind: "posint",
      value: "N",
      help: "--model: sampling steps (default: the folder's, as diffuse sample: 20, 1 for one-step students)",
    },
    { name: "num-samples", kind: "posint", value: "N", help: "--model: number of samples (default 1000)" },
    {
      name: "batch-size",
      kind: "posint",
      value: "B",
      help: "--model: samples per batch (default as diffuse sample's)",
    },
    {
      name: "guidance-scale",
      kind: "list",
      value: "W[,W...]",
      help: "--model: classifier-free guidance w; a comma list sweeps it (table + plot)",
    },
    {
      name: "classifier",
      kind: "string",
      value: "DIR",
      help: "--model: classifier guidance with this classifier (diffuse train-classifier)",
    },
    {
      name: "classifier-scale",
      kind: "list",
      value: "S[,S...]",
      help: "--classifier: guidance scale (default 1); a comma list sweeps it (table + plot)",
    },
    {
      name: "class-labels",
      kind: "list",
      value: "0,1,...",
      help: "--model: class of each sample (default 0,1,2,... cyclic)",
    },
    { name: "plot", kind: "string", value: "FILE", help: "a sweep's plot (default eval-sweep.png)" },
    { name: "save-samples", kind: "string", value: "FILE", help: "--model: keep the samples (.safetensors)" },
    {
      name: "dataset",
      kind: "string",
      value: "NAME",
      help: "reference data and feature net (default: the model's dataset)",
      choices: FEATURE_NET_DATASETS,
    },
    { name: "json", kind: "string", value: "OUT", help: "write the report as JSON to OUT" },
    {
      name: "ref-count",
      kind: "posint",
      value: "N",
      help: "real test images used as reference (default 10000)",
    },
    {
      name: "memorization",
      kind: "string",
      value: "SPACE",
      help: "nearest-training-image check space (default feature)",
      choices: ["feature", "pixel", "none"],
    },
    {
      name: "train-count",
      kind: "posint",
      value: "N",
      help: "training images searched by the check (default 60000)",
    },
    { name: "kid-subsets", kind: "posint", value: "N", help: "KID subsets (default 100)" },
    {
      name: "seed",
      kind: "int",
      value: "S",
      help: "seed of the sampling noise and the metric subsets (default 0)",
    },
    {
      name: "feature-net",
      kind: "string",
      value: "DIR",
      help: "feature net folder (default: the shipped one)",
    },
    {
      name: "nll",
      kind: "string",
      value: "METHOD",
      help: "--model: also the test-set NLL in bits/dim, from the variational bound or the PF-ODE",
      choices: ["vlb", "ode"],
    },
    { name: "nll-count", kind: "posint", value: "N", help: "--nll: test images evaluated (default 64)" },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    ...LIMIT_FLAGS,
  ],
  epilog:
    "Metrics use the penultimate features of a small CNN trained on the dataset (assets/feature-nets);\n" +
    "numbers are comparable only between runs with the same dataset, reference count and sample count.",
};

/** Reads `_diffuse.dataset` of a pipeline folder's model_index.json, if any. */
async function modelDataset(dir: string): Promise<string | undefined> {
  const file = path.join(dir, MODEL_INDEX_FILE);
  if (!existsSync(file)) return undefined;
  const index = (await readJsonFile(file, "model index")) as { _diffuse?: { dataset?: unknown } };
  const ds = index._diffuse?.dataset;
  return typeof ds === "string" ? ds : undefined;
}

async function resolveDataset(values: Record<string, FlagValue>): Promise<string> {
  if (typeof values.dataset === "string") return values.dataset;
  const fromModel = typeof values.model === "string" ? await modelDataset(values.model) : undefined;
  if (fromModel === undefined) {
    throw new UsageError(`--dataset: required (one of ${FEATURE_NET_DATASETS.join(", ")})`);
  }
  if (!(FEATURE_NET_DATASETS as readonly string[]).includes(fromModel)) {
    throw new UsageError(
      `--dataset: the model was trained on ${JSON.stringify(fromModel)}, which has no feature net; expected one of ${FEATURE_NET_DATASETS.join(", ")}`,
    );
  }
  return fromModel;
}

/**
 * Samples the model into a safetensors file (kept at --save-samples, else a temporary one) through
 * `runSample`, so the folder's sampler and steps apply unless --sampler / --steps are given (a
 * consistency student: its consistency sampler, 1 step; a flow model: flow Euler); returns what ran.
 */
async function sampleModel(values: Record<string, FlagValue>): Promise<{
  file: string;
  cleanup: () => Promise<void>;
  sampler: string;
  steps: number;
  nfe: number;
}> {
  const keep = values.saveSamples as string | undefined;
  if (keep !== undefined && path.extname(keep).toLowerCase() !== ".safetensors") {
    throw new UsageError(`--save-samples: ${JSON.stringify(keep)} must end in .safetensors`);
  }
  const tmp = keep ? undefined : await mkdtemp(path.join(tmpdir(), "diffuse-eval-"));
  const file = keep ?? path.join(tmp!, "samples.safetensors");
  const cleanup = async () => (tmp ? rm(tmp, { recursive: true, force: true }) : undefined);
  try {
    const r = await runSample({
      model: values.model as string,
      sampler: (values.sampler as string | undefined) ?? "dpmsolver++",
      samplerNamed: values.sampler !== undefined,
      ...(values.steps !== undefined ? { steps: values.steps as number } : {}),
      numSamples: (values.numSamples as number | undefined) ?? 1000,
      seed: (values.seed as number | undefined) ?? 0,
      guidanceScale: scalesOf(values, "guidanceScale")?.[0],
      classLabels: values.classLabels as string[] | undefined,
      ...(typeof values.classifier === "string"
        ? { classifier: values.classifier, classifierScale: scalesOf(values, "classifierScale")?.[0] ?? 1 }
        : {}),
      out: file,
      ...(values.batchSize !== undefined ? { batchSize: values.batchSize as number } : {}),
      threads: (values.threads as number | undefined) ?? 0,
      maxMemory: memoryLimitFrom(values),
      progress: process.stderr,
    });
    return { file, cleanup, sampler: r.sampler, steps: r.steps, nfe: r.nfe };
  } catch (e) {
    await cleanup(); // an unloadable model (or a failed sampling) leaves no empty temporary folder
    throw e;
  }
}

export interface EvalOutput extends EvaluateResult {
  samples: string;
  nll?: Omit<NllReport, "perExample" | "vlb"> & { count: number; seconds: number };
  /** --model: what sampled (the sampler and steps that ran, their network evaluations per sample). */
  sampling?: {
    model: string;
    sampler: string;
    steps: number;
    nfe: number;
    numSamples: number;
    seconds: number;
  };
}

/** Runs `diffuse eval` on parsed flag values; returns the report (also written to --json). */
export async function runEval(values: Record<string, FlagValue>): Promise<EvalOutput> {
  threadsFrom(values.threads, values);
  memoryLimitFrom(values);
  const hasSamples = typeof values.samples === "string";
  const hasModel = typeof values.model === "string";
  if (hasSamples === hasModel) {
    throw new UsageError("--samples or --model: give exactly one (a samples file, or a model to sample)");
  }
  if (!hasModel) {
    for (const f of [
      "sampler",
      "steps",
      "numSamples",
      "batchSize",
      "guidanceScale",
      "saveSamples",
      "nll",
      "nllCount",
      "classifier",
      "classifierScale",
      "classLabels",
    ]) {
      if (values[f] !== undefined)
        throw new UsageError(`--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --model`);
    }
  }
  const dataset = await resolveDataset(values);
  if (typeof values.nll === "string") await checkNllModel(values.model as string);
  let samplesFile = values.samples as string | undefined;
  let sampling: EvalOutput["sampling"];
  let cleanup = async () => {};
  if (hasModel) {
    const t0 = performance.now();
    const s = await sampleModel(values);
    samplesFile = s.file;
    cleanup = s.cleanup;
    sampling = {
      model: values.model as string,
      sampler: s.sampler,
      steps: s.steps,
      nfe: s.nfe,
      numSamples: (values.numSamples as number | undefined) ?? 1000,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  try {
    const samples = await readSamplesFile(samplesFile!);
    const result = await evaluateSamples(samples, {
      dataset,
      refCount: values.refCount as number | undefined,
      trainCount: values.trainCount as number | undefined,
      memorization: values.memorization as MemorizationSpace | undefined,
      kidSubsets: values.kidSubsets as number | undefined,
      seed: values.seed as number | undefined,
      threads: values.threads as number | undefined,
      featureNet: values.featureNet as string | undefined,
    });
    const nll = typeof values.nll === "string" ? await modelNll(values, dataset) : undefined;
    const out: EvalOutput = {
      ...result,
      samples: hasModel && !values.saveSamples ? "(temporary)" : samplesFile!,
      ...(sampling ? { sampling } : {}),
      ...(nll ? { nll } : {}),
    };
    if (typeof values.json === "string") {
      await writeFileAtomic(values.json, `${JSON.stringify(out, null, 2)}\n`);
    }
    return out;
  } finally {
    await cleanup();
  }
}

/**
 * --nll needs a VP diffusion model (the bound and the probability-flow ODE read the network as a
 * noise/v/x0 prediction of the VP schedule): a consistency student or a flow model is refused
 * before any sampling, naming the folder's field.
 */
async function checkNllModel(dir: string): Promise<void> {
  const read = async (file: string) =>
    existsSync(file) ? ((await readJsonFile(file, "model folder file")) as Record<string, unknown>) : {};
  const index = await read(path.join(dir, MODEL_INDEX_FILE));
  const diffuse = (index._diffuse ?? {}) as Record<string, unknown>;
  if (diffuse.consistency !== undefined) {
    throw new UsageError(
      `--nll: ${dir} is a consistency student (${MODEL_INDEX_FILE} field "_diffuse.consistency"); the NLL needs a VP diffusion model`,
    );
  }
  const scheduler = await read(path.join(dir, "scheduler", SCHEDULER_CONFIG_FILE));
  if (scheduler._class_name === "FlowMatchEulerDiscreteScheduler") {
    throw new UsageError(
      `--nll: ${dir} is a flow-matching model (scheduler/${SCHEDULER_CONFIG_FILE} field "_class_name" is FlowMatchEulerDiscreteScheduler); the NLL needs a VP diffusion model`,
    );
  }
}

/** The model's NLL (bits/dim, 95% interval) on the first --nll-count test images: log p(x) via the null class. */
async function modelNll(values: Record<string, FlagValue>, dataset: string): Promise<EvalOutput["nll"]> {
  const model = await loadModelFolder(values.model as string);
  if (!model.schedulerConfig) throw new Error(`--nll: model folder ${values.model} has no scheduler config`);
  const count = (values.nllCount as number | undefined) ?? 64;
  const t0 = performance.now();
  const {
    perExample: _,
    vlb: __,
    ...report
  } = await evaluateNll({
    denoiser: model.denoiser,
    params: model.params,
    schedulerConfig: model.schedulerConfig,
    data: loadDataset(dataset, { split: "test", limit: count }),
    count,
    method: values.nll as "vlb" | "ode",
    seed: (values.seed as number | undefined) ?? 0,
    threads: (values.threads as number | undefined) ?? 0,
    ...(model.info.nullClass !== undefined ? { nullClass: model.info.nullClass } : {}),
  });
  return { ...report, count, seconds: (performance.now() - t0) / 1000 };
}

export async function evalMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(EVAL_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(EVAL_COMMAND));
    return 0;
  }
  const flag = sweptFlag(values);
  if (flag) return evalSweepMain(values, flag);
  const r = await runEval(values);
  const head = `${r.dataset}: ${r.report.counts.samples} samples${r.sampling ? ` (${r.sampling.sampler}, ${r.sampling.steps} steps)` : ""}`;
  const clamp =
    r.clampedFraction > 0 ? ` (${(100 * r.clampedFraction).toFixed(2)}% of values clamped to [-1, 1])` : "";
  process.stdout.write(`${head}${clamp}\n\n${formatReport(r.report)}`);
  if (r.nll) {
    const b = r.nll.bitsPerDim;
    process.stdout.write(
      `\nNLL (${r.nll.method}, ${r.nll.count} test images): ${b.mean.toFixed(3)} bits/dim, 95% CI [${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}]\n`,
    );
  }
  return 0;
}

/** A sweep over --guidance-scale or --classifier-scale: one table, a plot, and the JSON (--json). */
async function evalSweepMain(values: Record<string, FlagValue>, flag: SweepFlag): Promise<number> {
  if (values.classifierScale !== undefined && typeof values.classifier !== "string") {
    throw new UsageError("--classifier-scale: needs --classifier DIR");
  }
  const { rows, runs } = await runSweep(values, flag, runEval);
  const name = flag === "guidanceScale" ? "guidance-scale" : "classifier-scale";
  const first = runs[0]!;
  const out = {
    flag: name as "guidance-scale" | "classifier-scale",
    rows,
    plot: (values.plot as string | undefined) ?? "eval-sweep.png",
    numSamples: first.report.counts.samples,
  };
  await writeSweep(out, values.json as string | undefined, {
    dataset: first.dataset,
    model: values.model,
    ...(typeof values.classifier === "string" ? { classifier: values.classifier } : {}),
    sampling: first.sampling,
    referenceCount: first.report.counts.reference,
    runs: runs.map((r) => r.report),
  });
  const head = `${first.dataset}: ${out.numSamples} samples per scale${first.sampling ? ` (${first.sampling.sampler}, ${first.sampling.steps} steps)` : ""} vs ${first.report.counts.reference} real`;
  process.stdout.write(`${head}\n\n${formatSweep(name, rows)}\nplot: ${out.plot}\n`);
  return 0;
}
