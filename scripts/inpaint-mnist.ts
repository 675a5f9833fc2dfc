/**
 * Inpainting on MNIST (README "Inpainting and constraints"): the left half (columns 0-13) of the
 * first N test digits is given, the right half is completed by an unconditional model. Writes
 * OUT/<method>.safetensors (`samples` [N, 1, 28, 28], `labels` = the originals' labels, for
 * `diffuse eval --samples`, which reports classifier accuracy against them and FID) and, for the
 * first 8 digits, OUT/<method>.png (rows: originals | masked | completed). Checks that the known
 * pixels come back bit for bit.
 *
 *   npx tsx scripts/inpaint-mnist.ts --model runs/mnist-uncond --out runs/inpaint \
 *     --method replace|repaint|reconstruction [--n 500] [--steps 50] [--jump 10] [--resample 10] [--weight W]
 *     [--start S] [--batch B] [--null-class | --infer-class [--levels L] [--fill completion|mean] [--pick argmax|sample]
 *     [--guidance G] [--temperature TAU] [--draws D] [--timesteps T1,T2,..] [--candidates C]
 *     [--posterior-only]] [--tag NAME]
 * --infer-class (class-conditional models with a null class): each digit's class is inferred from its
 * left half by the model's own denoising errors (pipelines/inpaint.ts, InferClassOptions), never from
 * the label; the completion is guided toward it. The posterior's accuracy against the labels is
 * printed as a measurement (`posteriorAccuracy`); the labels are only read for it and for eval.
 * The digits run in batches of B (default: all at once; reconstruction guidance's backward pass
 * holds the activations of the whole batch, so batches bound the memory); batch k uses seed + k.
 */
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadMnist } from "../src/data/mnist.js";
import type { ClassPosterior } from "../src/diffusion/class-posterior.js";
import "../src/index.js";
import { writeFileAtomic, writeSafetensorsFile } from "../src/io/files.js";
import { imageGrid } from "../src/io/image.js";
import { encodePng } from "../src/io/png.js";
import { inferClasses, inpaint } from "../src/pipelines/inpaint.js";
import { DiffusionPipeline } from "../src/pipelines/pipeline.js";
import { loadPipeline } from "../src/pipelines/pipeline-node.js";
import * as T from "../src/tensor/index.js";

const { values: a } = parseArgs({
  options: {
    model: { type: "string", default: "runs/mnist-uncond" },
    out: { type: "string", default: "runs/inpaint" },
    method: { type: "string", default: "replace" },
    sampler: { type: "string", default: "ddpm" },
    n: { type: "string", default: "500" },
    steps: { type: "string", default: "50" },
    jump: { type: "string", default: "10" },
    resample: { type: "string", default: "10" },
    weight: { type: "string", default: "1" },
    seed: { type: "string", default: "0" },
    threads: { type: "string", default: "1" },
    batch: { type: "string" },
    "null-class": { type: "boolean", default: false },
    "infer-class": { type: "boolean", default: false },
    levels: { type: "string", default: "5" },
    fill: { type: "string", default: "completion" },
    pick: { type: "string", default: "argmax" },
    guidance: { type: "string" },
    temperature: { type: "string" },
    tag: { type: "string" },
    "posterior-only": { type: "boolean", default: false },
    draws: { type: "string", default: "1" },
    start: { type: "string", default: "0" },
    timesteps: { type: "string" },
    candidates: { type: "string", default: "1" },
  },
});
const n = Number(a.n);
// --start S: digits S..S+n-1 (batch k then uses seed + S / B + k, as in one run from digit 0).
const start = Number(a.start);
const all = loadMnist({ split: "test", limit: start + n });
const test = { images: all.images.subarray(start * 28 * 28), labels: all.labels!.subarray(start) };
const mask = T.tensor(
  Float32Array.from({ length: 28 * 28 }, (_, i) => (i % 28 < 14 ? 1 : 0)),
  [1, 1, 28, 28],
);
const loaded = await loadPipeline(a.model!);
// --null-class: a class-conditional model trained with label dropout used unconditionally, every
// sample given the null class (its unconditional mode). The pipeline's labels accept only the real
// classes, so a view of it counts the null class as one more class (guidance scale stays 1).
const nullClass = loaded.info.nullClass;
if (a["null-class"] && (nullClass === undefined || nullClass === null)) {
  throw new Error(`--null-class: ${a.model} has no null class (model_index.json _diffuse.nullClass)`);
}
const { nullClass: _null, ...infoRest } = loaded.info;
const pipe = a["null-class"]
  ? new DiffusionPipeline({
      denoiser: loaded.denoiser,
      params: loaded.params,
      schedulerConfig: loaded.schedulerConfig,
      info: { ...infoRest, numClasses: nullClass! + 1 },
    })
  : loaded;
const t0 = performance.now();
const common = {
  steps: Number(a.steps),
  seed: Number(a.seed),
  threads: Number(a.threads),
  onStep: (i: number, total: number) => {
    if (i % 10 === 0 || i === total) process.stderr.write(`\r${a.method} ${i}/${total}`);
  },
};
const batch = Number(a.batch ?? n);
const parts: Float32Array[] = [];
let nfe = 0;
let method = "";
let posteriorRight = 0;
let pickedRight = 0;
let logLik = 0;
let finalRight = 0;
for (let k = 0; k * batch < n; k++) {
  const m = Math.min(batch, n - k * batch);
  const slice = T.tensor(test.images.subarray(k * batch * 28 * 28, (k * batch + m) * 28 * 28), [
    m,
    1,
    28,
    28,
  ]);
  const run = a["posterior-only"] ? inferClasses : inpaint;
  const out = await run(pipe, slice, mask, {
    ...common,
    seed: Number(a.seed) + Math.floor(start / batch) + k,
    ...(a["null-class"] ? { labels: new Int32Array(m).fill(nullClass!) } : {}),
    ...(a["infer-class"]
      ? {
          inferClass: {
            levels: Number(a.levels),
            draws: Number(a.draws),
            candidates: Number(a.candidates),
            ...(a.timesteps ? { timesteps: a.timesteps.split(",").map(Number) } : {}),
            fill: a.fill as "completion" | "mean",
            pick: a.pick as "argmax" | "sample",
            ...(a.temperature !== undefined ? { temperature: Number(a.temperature) } : {}),
            onPosterior: (p: ClassPosterior, picked: Int32Array) => {
              // A measurement only: the labels never reach inpaint().
              for (let j = 0; j < m; j++) {
                const truth = test.labels![k * batch + j]!;
                if (p.argmax[j] === truth) posteriorRight++;
                if (picked[j] === truth) pickedRight++;
                logLik += Math.log(Math.max(1e-300, p.probs[j * p.numClasses + truth]!));
              }
            },
          },
          ...(a.guidance !== undefined ? { guidanceScale: Number(a.guidance) } : {}),
        }
      : {}),
    ...(a.method === "replace" ? { sampler: a.sampler! } : {}),
    ...(a.method === "repaint" ? { repaint: { jump: Number(a.jump), resample: Number(a.resample) } } : {}),
    ...(a.method === "reconstruction"
      ? { sampler: a.sampler!, reconstructionGuidance: Number(a.weight) }
      : {}),
  });
  nfe += out.nfe;
  if ("samples" in out) {
    if (a["infer-class"] && out.labels)
      for (let j = 0; j < m; j++) if (out.labels[j] === test.labels![k * batch + j]) finalRight++;
    parts.push(Float32Array.from(out.samples.values() as Float32Array));
    method = out.sampler;
  }
}
if (a["posterior-only"]) {
  // --posterior-only (with --infer-class): the class posterior's accuracy alone, nothing written.
  console.log(
    JSON.stringify({
      posteriorOnly: true,
      n,
      levels: Number(a.levels),
      timesteps: a.timesteps,
      draws: Number(a.draws),
      fill: a.fill,
      method: a.method,
      nfe,
      posteriorAccuracy: posteriorRight / n,
      pickedAccuracy: pickedRight / n,
      meanLogPosteriorOfLabel: Number((logLik / n).toFixed(4)),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    }),
  );
  process.exit(0);
}
const got = new Float32Array(n * 28 * 28);
for (const [i, p] of parts.entries()) got.set(p, i * batch * 28 * 28);
const seconds = (performance.now() - t0) / 1000;
let exact = 0;
let known = 0;
for (let i = 0; i < got.length; i++) {
  if (i % 28 < 14) {
    known++;
    if (Object.is(got[i], test.images[i])) exact++;
  }
}
mkdirSync(a.out!, { recursive: true });
const file = `${a.out}/${a.tag ?? (a["infer-class"] ? `${a.method}-infer` : a.method)}`;
await writeSafetensorsFile(`${file}.safetensors`, {
  samples: { dtype: "F32", shape: [n, 1, 28, 28], data: Float32Array.from(got) },
  labels: { dtype: "I32", shape: [n], data: Int32Array.from(test.labels!) },
});
// Picture: 8 originals | the same masked (unknown half grey) | completed.
const k = Math.min(8, n);
const per = 28 * 28;
const rows = new Float32Array(3 * k * per);
rows.set(test.images.subarray(0, k * per), 0);
const masked = test.images.slice(0, k * per).map((v, i) => (i % 28 < 14 ? v : 0));
rows.set(masked, k * per);
rows.set(
  got.subarray(0, k * per).map((v) => Math.min(1, Math.max(-1, v))),
  2 * k * per,
);
await writeFileAtomic(`${file}.png`, encodePng(imageGrid(rows, [3 * k, 1, 28, 28], { nrow: k })));
console.log(
  JSON.stringify({
    method,
    n,
    steps: Number(a.steps),
    nfe,
    knownExact: `${exact}/${known}`,
    ...(a["infer-class"]
      ? {
          candidates: Number(a.candidates),
          posteriorAccuracy: posteriorRight / n,
          pickedAccuracy: pickedRight / n,
          completedClassAccuracy: finalRight / n,
          meanLogPosteriorOfLabel: Number((logLik / n).toFixed(4)),
        }
      : {}),
    seconds: Number(seconds.toFixed(1)),
    file: `${file}.safetensors`,
  }),
);
