/**
 * `diffuse sample`: draw samples from a saved model (a pipeline folder written by `diffuse train` or
 * diffusers, or a bare model folder). `--out x.png` writes a grid (images) or a scatter plot (vectors);
 * `--out x.safetensors` writes the raw samples as tensor `samples` [N, C, H, W] (images, in [-1, 1])
 * or [N, D] (vectors, model space), plus `labels` (I32 [N]) for a class-conditional model.
 */
import path from "node:path";
import { VARIANCE_TYPES } from "../diffusion/schedulers/ddpm.js";
import { TIMESTEP_SPACINGS } from "../diffusion/timesteps.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { encodePng } from "../io/png.js";
import { SafetensorsFileWriter } from "../io/safetensors-writer.js";
import { checkMemory, estimateModel, fmtBytes, ResourceError } from "../models/estimate.js";
import { defaultMemoryLimit } from "../models/resources-node.js";
import { loadClassifierForPipeline as loadClassifierFor } from "../pipelines/classifier-folder-node.js";
import { cyclicLabels } from "../pipelines/generate.js";
import { DEFAULT_SAMPLE_BATCH, generateBatches } from "../pipelines/generate-batches.js";
import { type DiffusionPipeline, PipelineOutput } from "../pipelines/pipeline.js";
import { loadPipeline } from "../pipelines/pipeline-node.js";
import { checkSamplerSpec, type SamplerSpec, samplerHelp } from "../pipelines/samplers.js";
import * as T from "../tensor/index.js";
import { Progress, type ProgressSink } from "../train/progress.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import {
  GUIDANCE_FLAGS,
  type GuidanceFlags,
  guidanceFrom,
  type LatentsFlags,
  latentsFlags,
  reconstructFrom,
} from "./edit-flags.js";
import { LIMIT_FLAGS, MEMORY_HINT, memoryLimitFrom, threadsFrom } from "./limits.js";

export const SAMPLE_COMMAND: Command = {
  name: "sample",
  summary: "draw samples from a trained model",
  usage:
    "diffuse sample --model DIR [--sampler NAME] [--eta E] [--variance-type T] [--steps N] [--num-samples N] [--seed S] [--guidance-scale W] [--guidance-rescale PHI] [--guidance-interval LO,HI] [--class-labels 0,1,...] [--latents FILE] [--out FILE]",
  flags: [
    {
      name: "model",
      kind: "string",
      value: "DIR",
      help: "model folder (model_index.json + unet/ + scheduler/, or config.json + weights)",
    },
    {
      name: "sampler",
      kind: "string",
      value: "NAME",
      help: "sampler (default dpmsolver++; see the list below; diffusers class names work too)",
    },
    { name: "eta", kind: "number", value: "ETA", help: "ddim: eta (0 deterministic, 1 DDPM-like)" },
    {
      name: "variance-type",
      kind: "string",
      value: "NAME",
      help: "ddpm: variance of each step",
      choices: VARIANCE_TYPES,
    },
    {
      name: "timestep-spacing",
      kind: "string",
      value: "NAME",
      help: "scheduler samplers: timestep spacing (default: the model's, else leading)",
      choices: TIMESTEP_SPACINGS,
    },
    {
      name: "snr",
      kind: "number",
      value: "R",
      help: "pc: the Langevin corrector's signal-to-noise ratio (0.16)",
    },
    {
      name: "steps",
      kind: "posint",
      value: "N",
      help: "sampling steps (default 20; 1 for consistency and stage-2 reflow students; pf_ode is adaptive and ignores it)",
    },
    {
      name: "num-samples",
      kind: "posint",
      value: "N",
      help: "number of samples (default: one per label given, one per class of a conditional model, else 16 images or 1000 points)",
    },
    { name: "seed", kind: "int", value: "S", help: "seed of the noise (default 0)" },
    {
      name: "guidance-scale",
      kind: "number",
      value: "W",
      help: "classifier-free guidance w (default 2 for class-conditional models; 1 = none)",
    },
    ...GUIDANCE_FLAGS,
    {
      name: "latents",
      kind: "string",
      value: "FILE",
      help: "start from these x_T (diffuse invert's output): DDIM, eta 0, clipping off, unguided by default, --steps default the file's",
    },
    {
      name: "class-labels",
      kind: "list",
      value: "0,1,...",
      help: "class of each sample (repeated to --num-samples; default 0,1,2,...)",
    },
    {
      name: "out",
      kind: "string",
      value: "FILE",
      help: "output: .png (grid) or .safetensors (raw samples); default samples.png",
    },
    {
      name: "nrow",
      kind: "posint",
      value: "N",
      help: "images per grid row (default: number of labels given, else 8)",
    },
    {
      name: "classifier",
      kind: "string",
      value: "DIR",
      help: "classifier guidance: a folder from diffuse train-classifier (labels from --class-labels)",
    },
    {
      name: "classifier-scale",
      kind: "number",
      value: "S",
      help: "classifier guidance scale s (default 1 with --classifier; 0 = none)",
    },
    {
      name: "batch-size",
      kind: "posint",
      value: "B",
      help: `samples per batch (default ${DEFAULT_SAMPLE_BATCH}): memory is that of one batch; .safetensors output is written batch by batch`,
    },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    ...LIMIT_FLAGS,
  ],
  epilog: `With guidance, each step evaluates eps_uncond + w (eps_cond - eps_uncond) in one batched call.\n\nsamplers:\n${samplerHelp()}`,
};

function parseLabels(
  raw: string[] | undefined,
  pipeline: DiffusionPipeline,
  n: number | undefined,
  classifierClasses?: number,
): Int32Array | undefined {
  const classes = pipeline.numClasses ?? classifierClasses ?? null;
  if (classes === null) {
    if (raw) throw new UsageError("--class-labels: the model is unconditional (no class embedding)");
    return undefined;
  }
  if (!raw) return cyclicLabels(n ?? classes, classes);
  const labels = raw.map((s) => {
    const v = Number(s);
    if (!/^\d+$/.test(s) || v >= classes) {
      throw new UsageError(
        `--class-labels: ${JSON.stringify(s)} is not a class; expected integers in [0, ${classes - 1}]`,
      );
    }
    return v;
  });
  if (labels.length === 0) throw new UsageError("--class-labels: expected at least one label");
  const count = n ?? labels.length;
  return Int32Array.from({ length: count }, (_, i) => labels[i % labels.length]!);
}

export interface SampleSettings {
  model: string;
  sampler: string | SamplerSpec;
  /** False when --sampler was not given: the model folder's default sampler is used (flow: flow_match_euler). */
  samplerNamed?: boolean;
  /** Sampling steps; absent: the folder's default (pipeline.defaultSteps: 1 for one-step students, else 20). */
  steps?: number;
  numSamples?: number;
  seed: number;
  guidanceScale?: number;
  classLabels?: string[];
  /** --guidance-rescale, --guidance-interval. */
  guidance?: GuidanceFlags;
  /** --latents: x_T from `diffuse invert`, decoded by DDIM (with --steps / --sampler as given). */
  latents?: LatentsFlags;
  out: string;
  nrow?: number;
  /** Samples per batch (default DEFAULT_SAMPLE_BATCH); seeding per batch: pipelines/generate-batches.ts. */
  batchSize?: number;
  threads: number;
  /** Memory budget in bytes for the model and the batch of samples (default: defaultMemoryLimit()). */
  maxMemory?: number;
  /** Where the sampling progress goes (the CLI: stderr); absent: none. */
  progress?: ProgressSink;
  /** A classifier folder for classifier guidance, and its scale (default 1). */
  classifier?: string;
  classifierScale?: number;
}

/** --sampler and its settings (each checked against the sampler by resolveSampler). */
export function samplerSpec(values: Record<string, FlagValue>): SamplerSpec {
  const spec: SamplerSpec = { name: (values.sampler as string | undefined) ?? "dpmsolver++" };
  if (values.eta !== undefined) spec.eta = values.eta as number;
  if (values.varianceType !== undefined) spec.varianceType = values.varianceType as string;
  if (values.timestepSpacing !== undefined) spec.timestepSpacing = values.timestepSpacing as string;
  if (values.snr !== undefined) spec.snr = values.snr as number;
  try {
    spec.name = checkSamplerSpec(spec);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  return spec;
}

/** `spec` with the model's default sampler name (its settings, e.g. --eta, kept). */
function withDefaultName(spec: string | SamplerSpec, name: string): SamplerSpec {
  return typeof spec === "string" ? { name } : { ...spec, name };
}

function settings(values: Record<string, FlagValue>): SampleSettings {
  if (typeof values.model !== "string")
    throw new UsageError("--model: required (the folder of a trained model)");
  const out = (values.out as string | undefined) ?? "samples.png";
  const ext = path.extname(out).toLowerCase();
  if (ext !== ".png" && ext !== ".safetensors") {
    throw new UsageError(
      `--out: ${JSON.stringify(out)} must end in .png (grid) or .safetensors (raw samples)`,
    );
  }
  return {
    model: values.model,
    sampler: samplerSpec(values),
    samplerNamed: values.sampler !== undefined,
    ...(values.steps !== undefined ? { steps: values.steps as number } : {}),
    numSamples: values.numSamples as number | undefined,
    seed: (values.seed as number | undefined) ?? 0,
    guidanceScale: values.guidanceScale as number | undefined,
    classLabels: values.classLabels as string[] | undefined,
    guidance: guidanceFrom(values),
    ...(typeof values.latents === "string" ? { latents: latentsFlags(values) } : {}),
    out,
    nrow: values.nrow as number | undefined,
    batchSize: values.batchSize as number | undefined,
    threads: threadsFrom(values.threads, values),
    maxMemory: memoryLimitFrom(values),
    ...classifierSettings(values),
  };
}

/** --classifier DIR and --classifier-scale S (the scale alone is a usage error). */
export function classifierSettings(values: Record<string, FlagValue>): {
  classifier?: string;
  classifierScale?: number;
} {
  if (values.classifierScale !== undefined && typeof values.classifier !== "string") {
    throw new UsageError(
      "--classifier-scale: needs --classifier DIR (a folder from diffuse train-classifier)",
    );
  }
  if (typeof values.classifier !== "string") return {};
  return {
    classifier: values.classifier,
    classifierScale: (values.classifierScale as number | undefined) ?? 1,
  };
}

/**
 * A progress line for the sampling loop: redrawn on a terminal; in a log, about ten lines a run. The
 * adaptive ODE solver reports its own (growing) total.
 */
function sampleProgress(sink: ProgressSink): (i: number, total: number) => void {
  let bar: Progress | null = null;
  let shownTotal = 0;
  return (i, total) => {
    if (bar === null || total !== shownTotal) {
      bar = new Progress(sink, total);
      shownTotal = total;
    }
    const every = sink.isTTY ? 1 : Math.max(1, Math.round(total / 10));
    if (i % every === 0 || i === total) bar.update(i, undefined, "sampling");
    if (i === total) bar.finish();
  };
}

/** Samples per the settings and writes `s.out`; returns what was written. */
export async function runSample(s: SampleSettings): Promise<{
  out: string;
  shape: number[];
  labels?: Int32Array;
  sampler: string;
  steps: number;
  nfe: number;
}> {
  const limitBytes = s.maxMemory ?? defaultMemoryLimit();
  // The output folder first: a bad --out fails before any sampling work.
  await makeDir(path.dirname(path.resolve(s.out)), "--out");
  const pipeline = await loadPipeline(s.model, { maxMemory: limitBytes, memoryHint: MEMORY_HINT });
  const classifier = s.classifier ? await loadClassifierFor(s.classifier, pipeline) : undefined;
  const start = s.latents
    ? await reconstructFrom(s.latents, pipeline, s.classLabels, s.numSamples)
    : undefined;
  const labels =
    start?.labels ?? parseLabels(s.classLabels, pipeline, s.numSamples, classifier?.config.num_classes);
  // Sampling runs in batches (the latents of --latents: as one); refuse a batch beyond the budget up front.
  const n = start?.x.shape[0] ?? labels?.length ?? s.numSamples ?? pipeline.defaultNumSamples;
  const batchSize = start ? n : Math.min(n, s.batchSize ?? DEFAULT_SAMPLE_BATCH);
  const png = path.extname(s.out).toLowerCase() !== ".safetensors";
  const per = pipeline.outputExampleShape.reduce((a, b) => a * b, 1);
  // A PNG grid holds every image (float samples + 8-bit RGBA grid + PNG bytes: ~12 bytes a value).
  if (png && 12 * n * per > limitBytes) {
    throw new ResourceError(
      `sampling ${n} samples from ${s.model}: the PNG grid of ${n} images needs about ${fmtBytes(12 * n * per)}, above the memory limit of ${fmtBytes(limitBytes)}; write .safetensors (streamed batch by batch) or fewer --num-samples`,
    );
  }
  const guided = labels !== undefined && pipeline.info.nullClass !== undefined && s.guidanceScale !== 1;
  checkMemory(estimateModel(pipeline.denoiser.toConfig()), {
    batch: guided ? 2 * batchSize : batchSize,
    workload: "inference",
    limitBytes,
    source: `sampling ${n} samples from ${s.model} in batches of ${batchSize}`,
    hint: `${MEMORY_HINT}, or a smaller --batch-size`,
  });
  const steps = s.steps ?? pipeline.defaultSteps;
  const common = {
    ...s.guidance,
    ...(s.guidanceScale !== undefined ? { guidanceScale: s.guidanceScale } : {}),
    ...(classifier
      ? { classifier: { classifier, params: classifier.parameters(), scale: s.classifierScale ?? 1 } }
      : {}),
    threads: s.threads,
    ...(s.progress ? { onStep: sampleProgress(s.progress) } : {}),
  };
  const batches = start
    ? (async function* () {
        const output = await pipeline.reconstruct(start.x, {
          ...common,
          seed: s.seed,
          ...(labels ? { labels } : {}),
          steps: start.steps,
          method: start.method,
        });
        yield { start: 0, count: n, output };
      })()
    : generateBatches(pipeline, {
        ...common,
        seed: s.seed,
        ...(labels ? { labels } : {}),
        sampler: s.samplerNamed === false ? withDefaultName(s.sampler, pipeline.defaultSampler) : s.sampler,
        steps,
        numSamples: n,
        batchSize,
      });
  const shape = [n, ...pipeline.outputExampleShape];
  const written =
    path.extname(s.out).toLowerCase() === ".safetensors"
      ? await writeSafetensorsBatches(s.out, shape, labels, batches)
      : await writePngGrid(
          s.out,
          shape,
          pipeline,
          batches,
          s.nrow ?? (s.classLabels ? Math.min(s.classLabels.length, n) : 8),
        );
  return { out: s.out, shape, ...(labels ? { labels } : {}), ...written, steps: start?.steps ?? steps };
}

type Batches = AsyncGenerator<{ start: number; count: number; output: PipelineOutput }>;

/**
 * Streams the batches into a safetensors file: `samples` (images clamped to the data range [-1, 1], as
 * the PNG grid shows them; vectors as drawn) and `labels` (I32) of a class-conditional model. Only one
 * batch is held at a time; a failure leaves no file.
 */
async function writeSafetensorsBatches(
  out: string,
  shape: number[],
  labels: Int32Array | undefined,
  batches: Batches,
): Promise<{ sampler: string; nfe: number }> {
  const writer = await SafetensorsFileWriter.create(
    out,
    [
      { name: "samples", dtype: "F32", shape },
      ...(labels ? [{ name: "labels", dtype: "I32" as const, shape: [labels.length] }] : []),
    ],
    { format: "pt" },
  );
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  let last = { sampler: "", nfe: 0 };
  try {
    if (labels) await writer.write("labels", 0, labels);
    for await (const { start, output } of batches) {
      await writer.write("samples", start * per, output.values());
      last = { sampler: output.sampler, nfe: output.nfe };
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await writer.close();
  return last;
}

/** Collects the batches into one PNG grid (a grid holds every image: its memory grows with N). */
async function writePngGrid(
  out: string,
  shape: number[],
  pipeline: DiffusionPipeline,
  batches: Batches,
  nrow: number,
): Promise<{ sampler: string; nfe: number }> {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const values = new Float32Array(shape[0]! * per);
  let last: PipelineOutput | undefined;
  for await (const { start, output } of batches) {
    values.set(output.values(), start * per);
    last = output;
  }
  const all = new PipelineOutput(T.tensor(values, shape), undefined, pipeline.info, last!.sampler, last!.nfe);
  await writeFileAtomic(out, encodePng(all.toImage({ nrow })));
  return { sampler: last!.sampler, nfe: last!.nfe };
}

export async function sampleMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(SAMPLE_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(SAMPLE_COMMAND));
    return 0;
  }
  const r = await runSample({ ...settings(values), progress: process.stderr });
  process.stdout.write(
    `${JSON.stringify({ out: r.out, shape: r.shape, ...(r.labels ? { labels: [...r.labels] } : {}), sampler: r.sampler, steps: r.steps, nfe: r.nfe })}\n`,
  );
  return 0;
}
