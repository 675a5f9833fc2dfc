/**
 * (The first design, kept for its README numbers: labels as 10 constant image channels with ONE shared
 * noise level; scripts/joint-mnist.ts evaluates the JointUNet that replaced it.)
 *
 * The three conditionals of ONE joint (image, label) model (issue 11, tutorial 8.3), trained with
 * `diffuse train --dataset mnist-joint --preset unet28` (11 channels: the digit + 10 label channels,
 * data/joint-image.ts):
 *
 *   p(y | x)  classification: the test image is given (replacement on channel 0), the label channels
 *             are sampled; the label is the argmax of their spatial means. Prints the test accuracy.
 *   p(x | y)  class-conditional generation: the label channels are given, the image is sampled.
 *             Writes OUT/cond.safetensors (samples + the requested labels) for `diffuse eval`.
 *   p(x, y)   unconditional pairs: writes OUT/uncond.safetensors (samples + the SAMPLED labels), so
 *             `diffuse eval --samples OUT/uncond.safetensors` reports how often the project's
 *             classifier agrees with the sampled label.
 *
 *   elbo      p(y | x) by Bayes' rule instead of sampling (`--only elbo`): for each candidate label k the
 *             joint denoising error sum_t ||eps - eps_theta(x_t(x, k), t)||^2 over all channels (the
 *             ELBO of p(x, k) up to constants and weights, at t = 200, 400, 600 with shared noise);
 *             the label is the k with the smallest error (a "diffusion classifier", Li et al. 2023).
 *             Also reported: the same with the digit channel's error only.
 *   eps       diagnostic (`--only eps`): the noise-prediction MSE on the digit channel and on the label
 *             channels of 64 test pairs at t = 50, 250, 500, 750 (fixed noise), for the saved (EMA)
 *             weights and, where the folder holds a training checkpoint, the raw weights. Also runs
 *             on a 1-channel model (digit channel only), for comparison.
 *
 *   init      warm start (`--only init --from DIR`): the run folder --model (a `diffuse train` run of
 *             the joint data, e.g. 1 step) gets the weights of the 1-channel model DIR (same
 *             architecture): every tensor copied; conv_in's digit input copied and its label inputs
 *             zeroed (the network starts as DIR's on the digit, blind to the label); conv_out's digit
 *             output copied, its label outputs kept; the EMA set to the same weights, Adam moments
 *             zeroed. Then `diffuse train --out DIR --resume --steps N` trains the joint model on.
 *
 * The label channels' scale (1 or 1 / 28, data/joint-image.ts) follows the run's dataset name.
 *
 * `--checkpoint-ema` evaluates the EMA weights of the run's checkpoint instead of the saved model
 * (a run stopped between saves).
 *
 *   npx tsx scripts/joint-mnist-channels.ts --model DIR --out DIR [--n 500] [--steps 30] [--sampler ddpm]
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { jointImages, jointLabelScale, splitJointImages } from "../src/data/joint-image.js";
import { loadMnist } from "../src/data/mnist.js";
import { replacement } from "../src/diffusion/constraints/replace.js";
import { makeDir } from "../src/io/dirs.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../src/io/files.js";
import type { StTensor } from "../src/io/safetensors.js";
import { nodeOrt } from "../src/onnx/node.js";
import { compiledForward, cyclicLabels, generate } from "../src/pipelines/generate.js";
import { loadModelFolder } from "../src/pipelines/model-folder-node.js";
import { makeKey, normal } from "../src/random/index.js";
import * as T from "../src/tensor/index.js";
import { checkpointPath, loadCheckpoint } from "../src/train/checkpoint-node.js";
import { lossTables } from "../src/train/losses.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    out: { type: "string" },
    n: { type: "string", default: "500" },
    steps: { type: "string", default: "30" },
    sampler: { type: "string", default: "ddpm" },
    threads: { type: "string", default: "1" },
    only: { type: "string", default: "classify,cond,uncond" },
    from: { type: "string" },
    "checkpoint-ema": { type: "boolean", default: false },
  },
});
if (!values.model || (!values.out && values.only !== "init")) {
  console.error(
    "usage: joint-mnist-channels.ts --model DIR --out DIR [--n 500] [--steps 30] [--sampler ddpm]",
  );
  process.exit(2);
}
T.setDefaultRuntime(nodeOrt);
if (values.only === "init") {
  if (!values.from) throw new Error("--only init needs --from DIR (a 1-channel model folder)");
  await warmStart(values.model, values.from);
  process.exit(0);
}
const n = Number(values.n);
const steps = Number(values.steps);
const threads = Number(values.threads);
const only = values.only.split(",");
const model = await loadModelFolder(values.model);
if (values["checkpoint-ema"]) {
  // A run stopped between saves: its checkpoint's EMA weights (the ones a save would write).
  const { state, meta } = await loadCheckpoint(values.model);
  model.params = state.ema.params;
  console.log(`weights: the EMA of ${checkpointPath(values.model)} at step ${meta.step}`);
}
const shape = model.denoiser.exampleShape as [number, number, number];
const [ck, h, w] = shape;
const K = ck - 1;
const scale = jointLabelScale(model.info.dataset, h, w);
const joint = (images: Float32Array, labels: Int32Array) => jointImages(images, labels, [1, h, w], K, scale);
const outDir = values.out!;
await makeDir(outDir, "--out");
const report: Record<string, unknown> = {
  model: values.model,
  n,
  steps,
  sampler: values.sampler,
  labelScale: scale,
};

/** Samples n joint images with the channels in `given` (a [ck] 0/1 list) fixed to `known`. */
async function draw(known: Float32Array | null, given: number[] | null, seed: number, sampler: string) {
  const t0 = performance.now();
  const r = await generate({
    denoiser: model.denoiser,
    params: model.params,
    sampler,
    schedulerConfig: model.schedulerConfig!,
    steps,
    numSamples: n,
    seed,
    threads,
    ...(known && given
      ? {
          hook: replacement(
            T.tensor(known, [n, ck, h, w]),
            T.tensor(Float32Array.from(given), [1, ck, 1, 1]),
          ),
        }
      : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  return { ...splitJointImages(r.samples, shape, 1), seconds };
}

function clamp(x: Float32Array): Float32Array {
  return x.map((v) => Math.min(1, Math.max(-1, v)));
}

if (only.includes("classify")) {
  const test = loadMnist({ split: "test", limit: n });
  // The label channels' known values are ignored (mask 0); any valid label fills them.
  const known = joint(test.images, new Int32Array(n));
  const r = await draw(known, [1, ...new Array<number>(K).fill(0)], 1, values.sampler);
  let right = 0;
  for (let i = 0; i < n; i++) if (r.labels[i] === test.labels![i]) right++;
  report.classify = { accuracy: right / n, seconds: r.seconds };
  console.log(
    `p(y|x): MNIST test accuracy ${(right / n).toFixed(3)} on the first ${n} test images (${r.seconds.toFixed(0)} s)`,
  );
}
if (only.includes("cond")) {
  const labels = cyclicLabels(n, K);
  const known = joint(new Float32Array(n * h * w), labels);
  const r = await draw(known, [0, ...new Array<number>(K).fill(1)], 2, values.sampler);
  const file = path.join(outDir, "cond.safetensors");
  await writeSafetensorsFile(file, {
    samples: { dtype: "F32", shape: [n, 1, h, w], data: clamp(r.images) },
    labels: { dtype: "I32", shape: [n], data: labels },
  });
  report.cond = { file, seconds: r.seconds };
  console.log(
    `p(x|y): ${n} samples of classes 0..9 in ${file} (${r.seconds.toFixed(0)} s); run diffuse eval --samples ${file}`,
  );
}
if (only.includes("uncond")) {
  const r = await draw(null, null, 3, "dpmsolver++");
  const file = path.join(outDir, "uncond.safetensors");
  await writeSafetensorsFile(file, {
    samples: { dtype: "F32", shape: [n, 1, h, w], data: clamp(r.images) },
    labels: { dtype: "I32", shape: [n], data: r.labels },
  });
  const counts = new Array<number>(K).fill(0);
  for (const y of r.labels) counts[y]!++;
  report.uncond = { file, seconds: r.seconds, labelCounts: counts };
  console.log(
    `p(x,y): ${n} pairs in ${file} (sampled label counts ${counts.join(" ")}; ${r.seconds.toFixed(0)} s); run diffuse eval --samples ${file}`,
  );
}
if (only.includes("elbo")) {
  const t0 = performance.now();
  const test = loadMnist({ split: "test", limit: n });
  const forward = compiledForward(model.denoiser, threads);
  const tables = lossTables(model.schedulerConfig!, { loss: "l2", weighting: "none", prediction: "epsilon" });
  const per = ck * h * w;
  const err = new Float64Array(n * K);
  const errDigit = new Float64Array(n * K);
  for (const [j, t] of [200, 400, 600].entries()) {
    const eps = normal(makeKey(100 + j), n * per);
    for (let k = 0; k < K; k++) {
      const x0 = joint(test.images, new Int32Array(n).fill(k));
      const a = tables.alpha[t]!;
      const s = tables.sigma[t]!;
      const xt = x0.map((v, i) => a * v + s * eps[i]!);
      const tt = T.tensor(new Int32Array(n).fill(t), [n], "int32");
      const out = (await forward(model.params, T.tensor(xt, [n, ck, h, w]), tt)).values();
      for (let i = 0; i < n * per; i++) {
        const e = (out[i]! - eps[i]!) ** 2;
        err[Math.floor(i / per) * K + k]! += e;
        if (i % per < h * w) errDigit[Math.floor(i / per) * K + k]! += e;
      }
    }
  }
  const accuracy = (e: Float64Array) => {
    let right = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (e[i * K + k]! < e[i * K + best]!) best = k;
      if (best === test.labels![i]) right++;
    }
    return right / n;
  };
  const [all, digit] = [accuracy(err), accuracy(errDigit)];
  const seconds = (performance.now() - t0) / 1000;
  report.elbo = { accuracy: all, accuracyDigitChannel: digit, seconds };
  console.log(
    `p(y|x) by the ELBO: MNIST test accuracy ${all.toFixed(3)} (all channels), ${digit.toFixed(3)} (digit channel only) on the first ${n} test images (${seconds.toFixed(0)} s)`,
  );
}
if (only.includes("eps")) {
  const m = 64;
  const test = loadMnist({ split: "test", limit: m });
  const x0 = K > 0 ? joint(test.images, test.labels!) : test.images;
  const tables = lossTables(model.schedulerConfig!, { loss: "l2", weighting: "none", prediction: "epsilon" });
  const eps = normal(makeKey(7), x0.length);
  const weights: Record<string, typeof model.params> = { ema: model.params };
  if (existsSync(checkpointPath(values.model))) {
    weights.raw = (await loadCheckpoint(values.model)).state.params;
  }
  const rows: Record<string, unknown>[] = [];
  const forward = compiledForward(model.denoiser, threads);
  for (const [which, params] of Object.entries(weights)) {
    for (const t of [50, 250, 500, 750]) {
      const a = tables.alpha[t]!;
      const s = tables.sigma[t]!;
      const xt = x0.map((v, i) => a * v + s * eps[i]!);
      const out = (
        await forward(params, T.tensor(xt, [m, ck, h, w]), T.tensor(new Int32Array(m).fill(t), [m], "int32"))
      ).values();
      const sq = [0, 0];
      const hw = h * w;
      for (let i = 0; i < out.length; i++)
        sq[Math.floor(i / hw) % ck === 0 ? 0 : 1]! += (out[i]! - eps[i]!) ** 2;
      const row = {
        weights: which,
        t,
        digit: sq[0]! / (m * hw),
        ...(K > 0 ? { labels: sq[1]! / (m * K * hw) } : {}),
      };
      rows.push(row);
      console.log(`eps MSE ${JSON.stringify(row)}`);
    }
  }
  report.eps = rows;
}
writeFileSync(path.join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);

/** `--only init`: the joint run's checkpoint gets the 1-channel model's weights (see the file comment). */
async function warmStart(run: string, from: string): Promise<void> {
  const src = (await readSafetensorsFile(path.join(from, "unet", "diffusion_pytorch_model.safetensors")))
    .tensors;
  const file = checkpointPath(run);
  const ck = await readSafetensorsFile(file);
  const out: Record<string, StTensor> = {};
  let copied = 0;
  for (const [name, t] of ck.tensors) {
    const [group, ...rest] = name.split(".");
    const key = rest.join(".");
    const data = Float32Array.from(t.data as Float32Array);
    if (group === "adam_m" || group === "adam_v") data.fill(0);
    if ((group === "params" || group === "ema") && src.has(key)) {
      const s = src.get(key)!;
      const sv = s.data as Float32Array;
      if (s.shape.join() === t.shape.join()) data.set(sv);
      else if (key === "conv_in.weight") {
        // [O, 1 + K, 3, 3] <- [O, 1, 3, 3]: digit input copied, label inputs zero.
        const [o, c, kh, kw] = t.shape as [number, number, number, number];
        data.fill(0);
        for (let i = 0; i < o; i++) data.set(sv.subarray(i * kh * kw, (i + 1) * kh * kw), i * c * kh * kw);
      } else if (key === "conv_out.weight" || key === "conv_out.bias") {
        data.set(sv); // row 0 (the digit output) first; the label outputs keep their init
      } else {
        throw new Error(`${from}: tensor ${key} has shape [${s.shape}], the joint run's is [${t.shape}]`);
      }
      copied++;
    }
    out[name] = { dtype: "F32", shape: [...t.shape], data };
  }
  await writeSafetensorsFile(file, out, ck.metadata);
  console.log(`${file}: ${copied} tensors (params + ema) from ${from}; Adam moments zeroed`);
}
