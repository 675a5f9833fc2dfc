/**
 * The three distributions of ONE JointUNet (issue 11, tutorial 8.3; models/joint-unet.ts), trained with
 * `diffuse train --dataset mnist --objective joint`, evaluated on the MNIST test split
 * (pipelines/joint-sample.ts):
 *
 *   classify  p(y | x): the first --n test images given (t_x = 0), y sampled over t_y (--steps),
 *             label = argmax y; and the one-shot classifier (y0_hat at t_y = T-1, one call).
 *             Prints both test accuracies.
 *   cond      p(x | y): --n samples, classes 0..9 in turn (t_y = 0), to OUT/cond.safetensors with the
 *             requested labels: `diffuse eval --samples OUT/cond.safetensors` reports the project's
 *             classifier's accuracy on them and FID. --guidance W: classifier-free guidance.
 *   uncond    p(x, y): --n pairs (t_x = t_y), to OUT/uncond.safetensors with the SAMPLED labels, so
 *             `diffuse eval --samples` reports how often the classifier agrees with them.
 *   eps       the noise-prediction MSE of eps_x and eps_y on 256 test pairs at t = 100, 500, 900
 *             (fixed noise): both noised at t, and each with the other modality clean.
 *
 * --checkpoint: the EMA weights of the run's checkpoint instead of the saved model (a run in progress).
 *
 *   npx tsx scripts/joint-mnist.ts --model DIR --out DIR [--n 500] [--steps 20] [--only classify,cond,uncond]
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadMnist } from "../src/data/mnist.js";
import { makeDir } from "../src/io/dirs.js";
import { writeSafetensorsFile } from "../src/io/files.js";
import { JointUNet } from "../src/models/joint-unet.js";
import { nodeOrt } from "../src/onnx/node.js";
import { cyclicLabels } from "../src/pipelines/generate.js";
import { loadJointFolder } from "../src/pipelines/joint-folder-node.js";
import {
  classifyOneShot,
  jointSampler,
  sampleImagesGivenLabels,
  sampleLabelsGivenImages,
  samplePairs,
} from "../src/pipelines/joint-sample.js";
import { makeKey, normal } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { loadCheckpoint } from "../src/train/checkpoint-node.js";
import { oneHotPm } from "../src/train/joint-objective.js";
import { vpSchedulerConfig } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    out: { type: "string" },
    n: { type: "string", default: "500" },
    steps: { type: "string", default: "20" },
    eta: { type: "string", default: "1" },
    guidance: { type: "string", default: "1" },
    threads: { type: "string", default: "1" },
    batch: { type: "string", default: "100" },
    only: { type: "string", default: "classify,cond,uncond" },
    checkpoint: { type: "boolean", default: false },
  },
});
if (!values.model || !values.out) {
  console.error(
    "usage: joint-mnist.ts --model DIR --out DIR [--n 500] [--steps 20] [--only classify,cond,uncond,eps]",
  );
  process.exit(2);
}
T.setDefaultRuntime(nodeOrt);
const n = Number(values.n);
const threads = Number(values.threads);
const only = values.only.split(",");
const opts = {
  steps: Number(values.steps),
  eta: Number(values.eta),
  batchSize: Number(values.batch),
  guidanceScale: Number(values.guidance),
};

let model: JointUNet;
let params: Record<string, T.Tensor>;
let schedulerConfig: Record<string, unknown>;
let weights: string;
if (values.checkpoint) {
  const { state, meta } = await loadCheckpoint(values.model);
  model = new JointUNet(meta.model);
  params = state.ema.params;
  schedulerConfig = vpSchedulerConfig(meta.config, true);
  weights = `EMA of the checkpoint at step ${meta.step}`;
} else {
  const f = await loadJointFolder(values.model);
  ({ model, params, schedulerConfig } = f);
  weights = `saved model (${f.info.steps} steps)`;
}
const sampler = jointSampler(model, params, schedulerConfig, threads);
const [, h, w] = model.imageShape;
const K = model.config.label_dim;
const outDir = values.out;
await makeDir(outDir, "--out");
const report: Record<string, unknown> = { model: values.model, weights, n, ...opts };
console.log(`${values.model}: ${weights}`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const clamp = (x: Float32Array) => x.map((v) => Math.min(1, Math.max(-1, v)));

if (only.includes("eps")) {
  const m = 256;
  const test = loadMnist({ split: "test", limit: m });
  const y0 = oneHotPm(test.labels!, K);
  const epsX = normal(makeKey(7), m * h * w);
  const epsY = normal(makeKey(8), m * K);
  const abar = sampler.alphasCumprod;
  const rows: Record<string, number | string>[] = [];
  for (const t of [100, 500, 900]) {
    const a = Math.sqrt(abar[t]!);
    const s = Math.sqrt(1 - abar[t]!);
    const xt = T.tensor(
      test.images.map((v, i) => a * v + s * epsX[i]!),
      [m, 1, h, w],
    );
    const yt = T.tensor(
      y0.map((v, i) => a * v + s * epsY[i]!),
      [m, K],
    );
    const x0 = T.tensor(test.images, [m, 1, h, w]);
    const y0t = T.tensor(y0, [m, K]);
    const tt = (v: number) => T.tensor(new Int32Array(m).fill(v), [m], "int32");
    const mse = (p: T.Tensor, e: Float32Array) => {
      const v = p.values();
      let sum = 0;
      for (let i = 0; i < v.length; i++) sum += (v[i]! - e[i]!) ** 2;
      return sum / v.length;
    };
    const both = await sampler.forward(xt, tt(t), yt, tt(t));
    const cleanY = await sampler.forward(xt, tt(t), y0t, tt(0));
    const cleanX = await sampler.forward(x0, tt(0), yt, tt(t));
    const row = {
      t,
      epsX_both: mse(both.epsX, epsX),
      epsX_cleanLabel: mse(cleanY.epsX, epsX),
      epsY_both: mse(both.epsY, epsY),
      epsY_cleanImage: mse(cleanX.epsY, epsY),
    };
    rows.push(row);
    console.log(`eps MSE ${JSON.stringify(row)}`);
  }
  report.eps = rows;
}
if (only.includes("classify")) {
  const test = loadMnist({ split: "test", limit: n });
  const acc = (labels: Int32Array) => labels.filter((k, i) => k === test.labels![i]).length / n;
  let t0 = performance.now();
  const one = await classifyOneShot(sampler, test.images, { batchSize: opts.batchSize });
  const oneShot = { accuracy: acc(one.labels), seconds: seconds(t0) };
  t0 = performance.now();
  const sampled = await sampleLabelsGivenImages(sampler, test.images, { ...opts, seed: 1 });
  const bySampling = { accuracy: acc(sampled.labels), seconds: seconds(t0) };
  report.classify = { oneShot, bySampling };
  console.log(
    `p(y|x) on the first ${n} MNIST test images: by sampling (${opts.steps} steps) accuracy ${bySampling.accuracy.toFixed(3)} (${bySampling.seconds.toFixed(0)} s); one-shot y0-hat accuracy ${oneShot.accuracy.toFixed(3)} (${oneShot.seconds.toFixed(0)} s)`,
  );
}
if (only.includes("cond")) {
  const labels = cyclicLabels(n, K);
  const t0 = performance.now();
  const r = await sampleImagesGivenLabels(sampler, labels, { ...opts, seed: 2 });
  const file = path.join(outDir, "cond.safetensors");
  await writeSafetensorsFile(file, {
    samples: { dtype: "F32", shape: [n, 1, h, w], data: clamp(r.images) },
    labels: { dtype: "I32", shape: [n], data: labels },
  });
  report.cond = { file, seconds: seconds(t0) };
  console.log(
    `p(x|y): ${n} samples of classes 0..9 in ${file} (${seconds(t0).toFixed(0)} s); run diffuse eval --samples ${file}`,
  );
}
if (only.includes("uncond")) {
  const t0 = performance.now();
  const r = await samplePairs(sampler, n, { ...opts, guidanceScale: 1, seed: 3 });
  const file = path.join(outDir, "uncond.safetensors");
  await writeSafetensorsFile(file, {
    samples: { dtype: "F32", shape: [n, 1, h, w], data: clamp(r.images) },
    labels: { dtype: "I32", shape: [n], data: r.labels },
  });
  const counts = new Array<number>(K).fill(0);
  for (const y of r.labels) counts[y]!++;
  report.uncond = { file, seconds: seconds(t0), labelCounts: counts };
  console.log(
    `p(x,y): ${n} pairs in ${file} (sampled label counts ${counts.join(" ")}; ${seconds(t0).toFixed(0)} s); run diffuse eval --samples ${file}`,
  );
}
writeFileSync(path.join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
