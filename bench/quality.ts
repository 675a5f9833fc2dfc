/**
 * `npm run bench:quality`: sample quality per sampler and number of function evaluations (NFE) for a
 * model of the MNIST preset, as a markdown table and JSON.
 *
 *   npm run bench:quality -- [--model DIR | --minutes M] [--num-samples N] [--ddpm-samples N]
 *                            [--ref-count N] [--guidance-scale W] [--seed S] [--threads T] [--out DIR]
 *
 * Without --model it first trains the class-conditional MNIST preset for about M minutes (default 20;
 * the step count comes from a timing of the first steps, so the LR schedule ends at the last step).
 * Every sampler starts from the same noise (same seed) and the same labels (0..9 cyclic); FID, KID and
 * precision/recall are measured with the shipped MNIST feature net against a seeded random subset of
 * the test split, whose features are extracted once.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomImages } from "../src/eval/evaluate-node.js";
import { extractFeatures } from "../src/eval/extract.js";
import { loadFeatureNet } from "../src/eval/feature-net-node.js";
import { fid } from "../src/eval/fid.js";
import { kid } from "../src/eval/kid.js";
import { manifoldMetrics } from "../src/eval/manifold.js";
import { nodeOrt } from "../src/onnx/node.js";
import * as T from "../src/tensor/index.js";
import { loadModelFolder } from "../src/train/model-folder-node.js";
import { runTraining } from "../src/train/run-node.js";
import { cyclicLabels, generate } from "../src/train/sampling.js";
import { createSchedulerByName } from "../src/train/scheduler-names.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    minutes: { type: "string", default: "20" },
    "num-samples": { type: "string", default: "1000" },
    "ddpm-samples": { type: "string" },
    "ref-count": { type: "string", default: "10000" },
    "guidance-scale": { type: "string", default: "1" },
    "batch-size": { type: "string", default: "250" },
    seed: { type: "string", default: "0" },
    threads: { type: "string", default: "2" },
    out: { type: "string", default: "runs/quality" },
  },
});
const num = (name: keyof typeof values) => {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`--${name}: expected a non-negative number, got ${values[name]}`);
  return v;
};
const N = num("num-samples");
const ddpmN = values["ddpm-samples"] ? num("ddpm-samples") : N;
const seed = num("seed");
const threads = num("threads");
const batchSize = num("batch-size");
const guidance = num("guidance-scale");
const out = values.out!;
mkdirSync(out, { recursive: true });
T.setDefaultRuntime(nodeOrt);

/** The sampler configurations of the issue: [label, sampler name, steps]. */
const CONFIGS: [string, string, number][] = [
  ["DDPM", "ddpm", 1000],
  ["DDIM", "ddim", 50],
  ["DDIM", "ddim", 10],
  ["DPM-Solver++ 2M", "dpmsolver++", 20],
  ["DPM-Solver++ 2M", "dpmsolver++", 10],
  ["UniPC", "unipc", 10],
  ["Euler", "euler", 20],
];

async function trainedModel(): Promise<string> {
  if (values.model) return values.model;
  const dir = join(out, "model");
  const minutes = num("minutes");
  const base = { dataset: "mnist", preset: "unet28-cond", out: dir, threads, seed };
  // Time 30 steps of the real configuration, then train for the budget from scratch.
  const t0 = performance.now();
  await runTraining(
    { ...base, steps: 30, sampleEvery: 0, validEvery: 0, checkpointEvery: 30 },
    { overwrite: true },
  );
  const perStep = (performance.now() - t0) / 1000 / 30;
  const steps = Math.max(50, Math.round((minutes * 60) / perStep));
  process.stderr.write(`training ${steps} steps (${perStep.toFixed(2)} s/step) for ~${minutes} min\n`);
  await runTraining({ ...base, steps }, { overwrite: true });
  return dir;
}

const modelDir = await trainedModel();
const model = await loadModelFolder(modelDir);
const { net, params: netParams } = await loadFeatureNet("mnist");
const features = async (images: Float32Array) =>
  (await extractFeatures(net, netParams, images, { threads })).features;
const real = await features(randomImages("mnist", "test", num("ref-count"), seed));
const numClasses = model.info.numClasses;

interface Row {
  sampler: string;
  steps: number;
  nfe: number;
  samples: number;
  fid: number;
  kid: number;
  kidStderr: number;
  precision: number;
  recall: number;
  seconds: number;
}
const rows: Row[] = [];
for (const [label, name, steps] of CONFIGS) {
  const n = name === "ddpm" ? ddpmN : N;
  const images = new Float32Array(n * 28 * 28);
  let nfe = 0;
  const t0 = performance.now();
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const labels = numClasses ? cyclicLabels(n, numClasses).subarray(start, start + count) : undefined;
    const scheduler = createSchedulerByName(name, { clip_sample: true, ...model.schedulerConfig });
    let evaluations = 0;
    const r = await generate({
      denoiser: model.denoiser,
      params: model.params,
      scheduler,
      steps,
      numSamples: count,
      seed: seed * 1_000_003 + start,
      ...(labels ? { labels, guidanceScale: guidance, nullClass: model.info.nullClass ?? null } : {}),
      threads,
      onStep: () => {
        evaluations++;
      },
    });
    nfe = evaluations;
    for (let i = 0; i < r.samples.length; i++)
      images[start * 784 + i] = Math.min(1, Math.max(-1, r.samples[i]));
  }
  const seconds = (performance.now() - t0) / 1000;
  const fake = await features(images);
  const k = kid(real, fake, { seed });
  const pr = manifoldMetrics(real, fake);
  const row: Row = {
    sampler: label,
    steps,
    nfe,
    samples: n,
    fid: fid(real, fake).fid,
    kid: k.mean,
    kidStderr: k.stderr,
    precision: pr.precision,
    recall: pr.recall,
    seconds: Math.round(seconds),
  };
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}

const f = (x: number, d = 2) => x.toFixed(d);
const md = [
  `Model: ${modelDir} (${model.info.steps ?? "?"} training steps); ${N} samples per sampler` +
    (ddpmN !== N ? ` (${ddpmN} for DDPM 1000)` : "") +
    `, reference: ${real.rows} MNIST test images; guidance scale ${guidance}; NFE counts one batched` +
    " (conditional + unconditional) evaluation as one.",
  "",
  "| sampler | steps | NFE | samples | FID | KID | precision | recall | seconds |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r) =>
      `| ${r.sampler} | ${r.steps} | ${r.nfe} | ${r.samples} | ${f(r.fid)} | ${f(r.kid, 3)} ± ${f(r.kidStderr, 3)} | ${f(r.precision, 3)} | ${f(r.recall, 3)} | ${r.seconds} |`,
  ),
].join("\n");
writeFileSync(join(out, "quality.md"), `${md}\n`);
writeFileSync(join(out, "quality.json"), `${JSON.stringify({ model: modelDir, guidance, rows }, null, 2)}\n`);
console.log(md);
