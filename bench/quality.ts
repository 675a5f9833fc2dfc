/**
 * `npm run bench:quality`: sample quality per sampler and number of function evaluations (NFE) for a
 * model of the MNIST preset, as a markdown table (stdout, <out>/quality.md) and JSON (<out>/quality.json).
 *
 *   npm run bench:quality -- [--model DIR | --minutes M [--class-conditional] [--train-steps N]]
 *       [--dataset mnist|fashion-mnist] [--num-samples N] [--ddpm-samples N] [--ref-count N]
 *       [--samplers LIST] [--guidance-scale W] [--batch-size B] [--seed S] [--threads T] [--out DIR]
 *       [--config NAME [--weights ema|raw] [--rows FILE] [--readme FILE]]
 *
 * --config NAME trains a named lever configuration (quality-configs.ts: the README's default run with
 * one change) for --minutes or --train-steps (or takes --model as a run of it), evaluates it with the
 * CLI's default sampler (DPM-Solver++ 20) at the CLI's default guidance (2, unless the configuration
 * sets one) and appends its row to docs/quality-configs.json and the README table.
 *
 * Without --model it first trains the dataset's preset (unet28, or unet28-cond with
 * --class-conditional) into <out>/model for about M minutes (default 20): 30 steps of the real
 * configuration are timed (steps 10..30, after the compile), and the step count of the run follows,
 * so its cosine LR schedule ends at its last step (--train-steps N skips the timing).
 *
 * Each sampler configuration (--samplers, default DEFAULT_SAMPLERS) draws the same samples, in batches
 * as `diffuse sample` draws them (pipelines/generate-batches.ts: x_T from --seed, labels 0..9 cyclic). The reference features (--ref-count random MNIST test images, seeded) are extracted
 * once; FID, KID, precision/recall (and density/coverage, the IS analogue and class accuracy in the
 * JSON) come from `sampleQuality` of src/eval, as `diffuse eval` computes them. The seconds are
 * those of sampling alone: each batch shape's forward is compiled (one step of the folder's sampler) before the clock starts.
 *
 * NFE counts the network calls of the sampling loop: `sample()` (src/diffusion/sample.ts) makes one
 * per entry of the scheduler's timesteps and reports each through `onStep`, so a Heun-type sampler
 * counts two per step (2n - 1 in all). With guidance (w != 1) the conditional and unconditional
 * outputs come from ONE batched call, counted once.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { randomImages } from "../src/eval/evaluate-node.js";
import { type Extracted, extractFeatures } from "../src/eval/extract.js";
import { FEATURE_NET_DATASETS, loadFeatureNet } from "../src/eval/feature-net-node.js";
import { type SampleQualityReport, sampleQuality } from "../src/eval/metrics.js";
import { nodeOrt } from "../src/onnx/node.js";
import { cyclicLabels } from "../src/pipelines/generate.js";
import { generateBatches } from "../src/pipelines/generate-batches.js";
import { type DiffusionPipeline, PIPELINE_DEFAULTS } from "../src/pipelines/pipeline.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import { SCHEDULER_SAMPLER_NAMES as SAMPLER_NAMES } from "../src/pipelines/samplers.js";
import * as T from "../src/tensor/index.js";
import type { TrainConfig } from "../src/train/config.js";
import { readLog, runTraining } from "../src/train/run-node.js";
import { stepsForMinutes } from "../src/train/time-budget-node.js";
import { configTraining, qualityConfig, rawWeightsFolder, recordRows } from "./quality-configs.js";

/** The configurations of issue 5: DDPM 1000, DDIM 50 and 10, DPM-Solver++ 2M 20 and 10, UniPC 10, Euler 20. */
export const DEFAULT_SAMPLERS = "ddpm:1000,ddim:50,ddim:10,dpmsolver++:20,dpmsolver++:10,unipc:10,euler:20";

/** What --config runs evaluate by default: the CLI's default sampler and steps. */
export const CONFIG_SAMPLERS = "dpmsolver++:20";

/** Table names of the samplers (dpmsolver++ is diffusers' default multistep solver of order 2). */
const LABELS: Record<string, string> = {
  ddpm: "DDPM",
  ddim: "DDIM",
  "dpmsolver++": "DPM-Solver++ 2M",
  dpmsolver: "DPM-Solver 2M",
  unipc: "UniPC",
  euler: "Euler",
  euler_ancestral: "Euler a",
  heun: "Heun",
  lms: "LMS",
  pndm: "PLMS",
};

export interface SamplerConfig {
  /** A name of SAMPLER_NAMES. */
  name: string;
  steps: number;
}

export interface QualityOptions {
  /** A model folder; absent: train one into <out>/model. */
  model?: string;
  /** Training budget in minutes (default 20). */
  minutes?: number;
  /** Train exactly this many steps instead of timing the budget. */
  trainSteps?: number;
  classConditional?: boolean;
  /** Extra training config fields (tests: a tiny model). */
  train?: Partial<TrainConfig>;
  /** Feature net and reference images; default the model's dataset, else "mnist". */
  dataset?: string;
  numSamples?: number;
  /** Samples of the DDPM rows (default numSamples). */
  ddpmSamples?: number;
  refCount?: number;
  samplers?: SamplerConfig[];
  guidanceScale?: number;
  batchSize?: number;
  seed?: number;
  /** ONNX Runtime threads (0: ORT's default). */
  threads?: number;
  out?: string;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /** A named lever configuration (quality-configs.ts): trains it (or takes --model as it) and records its row. */
  config?: string;
  /** Evaluate the EMA weights (default) or the raw parameters of the run's checkpoint. */
  weights?: "ema" | "raw";
  /** Where --config rows go (default docs/quality-configs.json) and the README whose table is rewritten. */
  rowsFile?: string;
  readme?: string;
}

export interface QualityRow {
  sampler: string;
  name: string;
  steps: number;
  nfe: number;
  samples: number;
  /** True when the row used fewer samples than --num-samples (--ddpm-samples). */
  reduced: boolean;
  fid: number;
  kid: number;
  kidStderr: number;
  precision: number;
  recall: number;
  /** Sampling time (not the feature extraction or the metrics). */
  seconds: number;
  report: SampleQualityReport;
}

/** The metrics of a row as the JSON row files store them (lever table, few-step table). */
export function rowMetrics(r: QualityRow) {
  return {
    fid: r.fid,
    kid: r.kid,
    kidStderr: r.kidStderr,
    precision: r.precision,
    recall: r.recall,
    accuracy: r.report.accuracy?.overall ?? null,
  };
}

export interface QualityResult {
  model: string;
  modelSteps: number | null;
  dataset: string;
  classConditional: boolean;
  guidanceScale: number;
  numSamples: number;
  referenceCount: number;
  seed: number;
  training?: { steps: number; secondsPerStep: number | null; seconds: number };
  rows: QualityRow[];
}

function positiveInt(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${field}: expected a positive integer, got ${v}`);
  return v;
}

/** "ddim:50,euler:20" -> [{ddim, 50}, {euler, 20}]; errors name the entry and what was expected. */
export function parseSamplers(list: string): SamplerConfig[] {
  const entries = list.split(",").map((s) => s.trim());
  return entries.map((entry) => {
    const m = /^([a-z_+]+):(\d+)$/.exec(entry);
    if (!m) throw new Error(`--samplers: entry ${JSON.stringify(entry)}; expected NAME:STEPS, e.g. ddim:50`);
    if (!SAMPLER_NAMES.includes(m[1]!)) {
      throw new Error(
        `--samplers: unknown sampler ${JSON.stringify(m[1])}; expected one of ${SAMPLER_NAMES.join(", ")}`,
      );
    }
    return { name: m[1]!, steps: positiveInt(`--samplers: steps of ${entry}`, Number(m[2])) };
  });
}

function checkDataset(dataset: string, field: string): string {
  if (!(FEATURE_NET_DATASETS as readonly string[]).includes(dataset)) {
    throw new Error(
      `${field}: ${JSON.stringify(dataset)} has no feature net; expected one of ${FEATURE_NET_DATASETS.join(", ")} (or --dataset)`,
    );
  }
  return dataset;
}

/** Trains the preset into <out>/model for about `minutes` (or exactly `trainSteps`); returns its folder. */
async function trainModel(o: QualityOptions, dataset: string, log: (s: string) => void) {
  const out = join(o.out!, "model");
  const base: Partial<TrainConfig> = {
    ...(o.config ? configTraining(o.config) : { classConditional: o.classConditional ?? false }),
    dataset,
    out,
    threads: o.threads ?? 0,
    seed: o.seed ?? 0,
    ...o.train,
  };
  let steps = o.trainSteps;
  let secondsPerStep: number | null = null;
  if (steps === undefined) {
    // Steps 10..30 of the real configuration, after the compile and the first data batches.
    const budget = await stepsForMinutes(base, o.minutes ?? 20, { overwrite: true });
    ({ steps, secondsPerStep } = budget);
    log(`training ${steps} steps (${secondsPerStep.toFixed(3)} s/step) for ~${o.minutes ?? 20} min`);
  }
  const run = await runTraining({ ...base, steps }, { overwrite: true });
  return { dir: out, training: { steps, secondsPerStep, seconds: run.elapsed } };
}

/** Batch shapes whose compiled forward has run, per denoiser (sampling.ts caches one per denoiser). */
const warmedUp = new WeakMap<object, Set<string>>();

/** Compiles the forward for `count` samples outside the timed loop (one step of the folder's sampler). */
async function warmUp(model: DiffusionPipeline, count: number, o: Required<QualityOptions>): Promise<void> {
  const done = warmedUp.get(model.denoiser) ?? new Set<string>();
  warmedUp.set(model.denoiser, done);
  const key = `${count}:${o.guidanceScale}:${o.threads}`;
  if (done.has(key)) return;
  done.add(key);
  const labels = model.numClasses ? cyclicLabels(count, model.numClasses) : undefined;
  await model.generate({
    numSamples: count,
    ...(labels ? { labels, guidanceScale: o.guidanceScale } : {}),
    threads: o.threads,
    // The folder's own sampler (DDIM would be refused on a flow model or a consistency student).
    sampler: model.defaultSampler,
    steps: 1,
  });
}

/** The configuration's guidance interval and rescale, as generate() options (none without --config). */
function guidanceExtras(config: string | undefined) {
  const c = config !== undefined ? qualityConfig(config) : undefined;
  return {
    ...(c?.guidanceInterval ? { guidanceInterval: c.guidanceInterval } : {}),
    ...(c?.guidanceRescale !== undefined ? { guidanceRescale: c.guidanceRescale } : {}),
  };
}

/**
 * `n` samples of `model` with sampler `c`, in batches as `diffuse sample` draws them
 * (generateBatches: seed o.seed, labels 0..9 cyclic); returns them clamped to [-1, 1] with the NFE.
 */
async function sampleWith(
  model: DiffusionPipeline,
  c: SamplerConfig,
  n: number,
  o: Required<QualityOptions>,
) {
  const { numClasses } = model;
  const per = model.denoiser.exampleShape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(n * per);
  const labels = numClasses ? cyclicLabels(n, numClasses) : undefined;
  let nfe = 0;
  for await (const b of generateBatches(model, {
    numSamples: n,
    batchSize: o.batchSize,
    seed: o.seed,
    ...(labels ? { labels, guidanceScale: o.guidanceScale, ...guidanceExtras(o.config) } : {}),
    threads: o.threads,
    sampler: c.name,
    steps: c.steps,
  })) {
    nfe = b.output.nfe;
    images.set(b.output.values(), b.start * per); // clamped to [-1, 1]
    if (n > o.batchSize) o.log(`  ${LABELS[c.name] ?? c.name} ${c.steps}: ${b.start + b.count}/${n} samples`);
  }
  return { images, labels, nfe };
}

/** Runs the benchmark; writes <out>/quality.json and <out>/quality.md; returns the result. */
export async function runQualityBench(options: QualityOptions): Promise<QualityResult> {
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const cfg = options.config !== undefined ? qualityConfig(options.config) : undefined;
  const o: Required<QualityOptions> = {
    minutes: 20,
    classConditional: false,
    train: {},
    numSamples: 1000,
    refCount: 10_000,
    samplers: parseSamplers(cfg ? (cfg.samplers ?? CONFIG_SAMPLERS) : DEFAULT_SAMPLERS),
    guidanceScale: cfg ? (cfg.guidanceScale ?? PIPELINE_DEFAULTS.guidanceScale) : 1,
    weights: "ema",
    rowsFile: "docs/quality-configs.json",
    readme: "README.md",
    batchSize: 250,
    seed: 0,
    threads: 0,
    out: "runs/quality",
    ...options,
    log,
  } as Required<QualityOptions>;
  positiveInt("--num-samples", o.numSamples);
  positiveInt("--ref-count", o.refCount);
  positiveInt("--batch-size", o.batchSize);
  const ddpmSamples = positiveInt("--ddpm-samples", options.ddpmSamples ?? o.numSamples);
  mkdirSync(o.out, { recursive: true });
  T.setDefaultRuntime(nodeOrt);

  if (options.dataset !== undefined) checkDataset(options.dataset, "--dataset");
  let trained: Awaited<ReturnType<typeof trainModel>> | undefined;
  if (!options.model) trained = await trainModel(o, options.dataset ?? "mnist", log);
  const trainedDir = options.model ?? trained!.dir;
  const modelDir =
    o.weights === "raw"
      ? await rawWeightsFolder(
          trainedDir,
          join(trainedDir, "checkpoint.safetensors"),
          join(o.out, "model-raw"),
        )
      : trainedDir;
  const model = await loadPipeline(modelDir);
  const dataset = checkDataset(options.dataset ?? model.info.dataset ?? "mnist", "the model's dataset");
  const { net, params } = await loadFeatureNet(dataset);
  const features = (images: Float32Array): Promise<Extracted> =>
    extractFeatures(net, params, images, { threads: o.threads });
  const real = (await features(randomImages(dataset, "test", o.refCount, o.seed))).features;

  const rows: QualityRow[] = [];
  for (const [i, c] of o.samplers.entries()) {
    const n = c.name === "ddpm" ? ddpmSamples : o.numSamples;
    await warmUp(model, Math.min(n, o.batchSize), o);
    if (n > o.batchSize && n % o.batchSize !== 0) await warmUp(model, n % o.batchSize, o);
    const t0 = performance.now();
    const { images, labels, nfe } = await sampleWith(model, c, n, o);
    const seconds = (performance.now() - t0) / 1000;
    const fake = await features(images);
    const report = sampleQuality({
      real,
      fake: fake.features,
      fakeLogits: fake.logits,
      ...(labels ? { labels } : {}),
      seed: o.seed,
    });
    const row: QualityRow = {
      sampler: LABELS[c.name] ?? c.name,
      name: c.name,
      steps: c.steps,
      nfe,
      samples: n,
      reduced: n < o.numSamples,
      fid: report.fid.fid,
      kid: report.kid.mean,
      kidStderr: report.kid.stderr,
      precision: report.manifold.precision,
      recall: report.manifold.recall,
      seconds,
      report,
    };
    rows.push(row);
    log(
      `[${i + 1}/${o.samplers.length}] ${row.sampler} ${row.steps}: NFE ${nfe}, ${n} samples in ${seconds.toFixed(1)} s; ` +
        `FID ${row.fid.toFixed(2)}, KID ${row.kid.toFixed(3)} ± ${row.kidStderr.toFixed(3)}, ` +
        `precision ${row.precision.toFixed(3)}, recall ${row.recall.toFixed(3)}`,
    );
  }
  const result: QualityResult = {
    model: modelDir,
    modelSteps: model.info.steps ?? null,
    dataset,
    classConditional: model.info.numClasses !== undefined,
    guidanceScale: o.guidanceScale,
    numSamples: o.numSamples,
    referenceCount: real.rows,
    seed: o.seed,
    ...(trained ? { training: trained.training } : {}),
    rows,
  };
  if (options.config !== undefined) {
    const run = trained?.training ?? (await runOfFolder(trainedDir));
    recordRows(
      rows.map((r) => ({
        config: options.config!,
        description: cfg!.description,
        steps: run.steps,
        minutes: run.seconds / 60,
        secondsPerStep: run.secondsPerStep ?? run.seconds / run.steps,
        weights: o.weights,
        sampler: r.name,
        samplerSteps: r.steps,
        guidanceScale: o.guidanceScale,
        samples: r.samples,
        seed: o.seed,
        ...rowMetrics(r),
        date: new Date().toISOString(),
      })),
      o.rowsFile,
      o.readme,
    );
  }
  const md = formatMarkdown(result);
  writeFileSync(join(o.out, "quality.md"), md);
  writeFileSync(join(o.out, "quality.json"), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** Steps and seconds of a finished run from its log (the last training record). */
export async function runOfFolder(
  dir: string,
): Promise<{ steps: number; seconds: number; secondsPerStep: number | null }> {
  const log = (await readLog(dir)).filter((r) => r.loss !== undefined && r.time !== undefined);
  const last = log.at(-1);
  if (!last) throw new Error(`${dir}/log.jsonl: no training records (steps and time of the run)`);
  return { steps: last.step, seconds: last.time!, secondsPerStep: null };
}

/** The markdown table, with a line saying what was measured. */
export function formatMarkdown(r: QualityResult): string {
  const f = (x: number, d: number) => x.toFixed(d);
  const reduced = r.rows.some((row) => row.reduced);
  const guidance = r.classConditional
    ? `class-conditional (labels 0..9 cyclic), guidance scale ${r.guidanceScale}${r.guidanceScale !== 1 ? " (NFE counts each batched conditional + unconditional call once)" : ""}`
    : "unconditional";
  const lines = [
    `Model: ${r.model} (${r.modelSteps ?? "?"} training steps), ${guidance}; ${r.numSamples} samples per sampler, ` +
      `the same noise for every sampler (seed ${r.seed}); reference: ${r.referenceCount} ${r.dataset} test images, ` +
      "shipped feature net. Seconds: sampling only.",
    "",
    "| sampler | steps | NFE | samples | FID | KID (± s.e.) | precision | recall | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...r.rows.map(
      (x) =>
        `| ${x.sampler} | ${x.steps} | ${x.nfe} | ${x.samples}${x.reduced ? "\\*" : ""} | ${f(x.fid, 2)} | ` +
        `${f(x.kid, 3)} ± ${f(x.kidStderr, 3)} | ${f(x.precision, 3)} | ${f(x.recall, 3)} | ${f(x.seconds, 1)} |`,
    ),
  ];
  if (reduced) {
    lines.push(
      "",
      "\\* fewer samples (--ddpm-samples): FID is biased upwards at small sample counts and precision/recall " +
        "use as many reference points as samples, so these are not comparable with the other rows; KID is " +
        "unbiased, with a wider error.",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Command-line flags -> options. */
export function parseCli(argv: string[]): QualityOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      minutes: { type: "string" },
      "train-steps": { type: "string" },
      "class-conditional": { type: "boolean" },
      dataset: { type: "string" },
      "num-samples": { type: "string" },
      "ddpm-samples": { type: "string" },
      "ref-count": { type: "string" },
      samplers: { type: "string" },
      "guidance-scale": { type: "string" },
      "batch-size": { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      out: { type: "string" },
      config: { type: "string" },
      weights: { type: "string" },
      rows: { type: "string" },
      readme: { type: "string" },
    },
  });
  const num = (name: keyof typeof values): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v) || v < 0) {
      throw new Error(`--${name}: expected a non-negative number, got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  if (values.model !== undefined) {
    for (const f of ["minutes", "train-steps", "class-conditional"] as const) {
      if (values[f] !== undefined) throw new Error(`--${f}: only without --model (it sets up the training)`);
    }
  }
  const o: QualityOptions = {
    model: values.model,
    minutes: num("minutes"),
    trainSteps: num("train-steps"),
    classConditional: values["class-conditional"],
    dataset: values.dataset,
    numSamples: num("num-samples"),
    ddpmSamples: num("ddpm-samples"),
    refCount: num("ref-count"),
    samplers: values.samplers !== undefined ? parseSamplers(values.samplers) : undefined,
    guidanceScale: num("guidance-scale"),
    batchSize: num("batch-size"),
    seed: num("seed"),
    threads: num("threads"),
    out: values.out,
    config: values.config,
    weights: values.weights as QualityOptions["weights"],
    rowsFile: values.rows,
    readme: values.readme,
  };
  if (o.weights !== undefined && o.weights !== "ema" && o.weights !== "raw") {
    throw new Error(`--weights: expected ema or raw, got ${JSON.stringify(o.weights)}`);
  }
  if (o.config !== undefined) qualityConfig(o.config);
  if (o.trainSteps !== undefined) positiveInt("--train-steps", o.trainSteps);
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as QualityOptions;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runQualityBench(parseCli(process.argv.slice(2)));
  console.log(formatMarkdown(result));
}
