/**
 * Train a class-conditional MLP denoiser on 2-D points with the library API (loss, compiled AdamW
 * step), then sample it through a pipeline with classifier-free guidance and save a scatter plot.
 *
 *   npx tsx examples/train-points.ts [steps=600] [out=points.png]
 *
 * Prints one JSON line: the first and last training losses and, per class, the mean of the samples
 * (class 0 is drawn around (-1, 0), class 1 around (1, 0.5)).
 */
import { writeFileSync } from "node:fs";
import {
  compile,
  diffusionLoss,
  drawLossInputs,
  encodePng,
  type LossConfig,
  lossTables,
  MLPDenoiser,
  makeTrainStep,
  NO_EMA,
  optim,
  random,
  T,
  wrapDenoiser,
} from "diffuse";
import { DiffusionPipeline } from "diffuse/core";

const steps = Number(process.argv[2] ?? 600);
const out = process.argv[3] ?? "points.png";

// 1. Data: N points, class i % 2; class 0 around (-1, 0), class 1 around (1, 0.5), std 0.15.
const N = 1024;
const jitter = random.normal(random.makeKey(0), 2 * N);
const labels = Int32Array.from({ length: N }, (_, i) => i % 2);
const points = Float32Array.from(jitter, (e, j) => {
  const c = labels[j >> 1]!;
  const centre = j % 2 === 0 ? (c ? 1 : -1) : c ? 0.5 : 0;
  return centre + 0.15 * e;
});

// 2. Model: 2 classes + the null class (row 2) that label dropout trains for guidance.
const model = new MLPDenoiser({ in_features: 2, hidden_size: 64, num_layers: 2, num_class_embeds: 3 });
model.init(random.makeKey(1));
const denoiser = wrapDenoiser(model);
const schedulerConfig = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_schedule: "squaredcos_cap_v2",
  prediction_type: "epsilon",
  clip_sample: false, // points are not images in [-1, 1]
};

// 3. Objective (DDPM's L_simple) and one compiled training step: loss, gradients and AdamW in one graph.
const lossConfig: LossConfig = {
  loss: "l2",
  weighting: "none",
  prediction: "epsilon",
  labelDropout: 0.1,
  nullClass: 2,
};
const tables = lossTables(schedulerConfig, lossConfig);
const step = compile(makeTrainStep(diffusionLoss(denoiser.forward, lossConfig)));
let params = model.parameters();
let optState = optim.initAdamW(params);
const B = 256;
const losses: number[] = [];
for (let s = 0; s < steps; s++) {
  const key = random.foldIn(random.makeKey(2), s);
  const [kPick, kLoss] = random.split(key, 2);
  const pick = random.randint(kPick!, B, 0, N);
  const x0 = Float32Array.from({ length: 2 * B }, (_, j) => points[2 * pick[j >> 1]! + (j % 2)]!);
  const y = Int32Array.from(pick, (i) => labels[i]!);
  const batch = drawLossInputs(kLoss!, x0, [B, 2], tables, lossConfig, y);
  const r = await step(params, optState, NO_EMA, batch, T.scalar(3e-3));
  params = r.params;
  optState = r.optState;
  losses.push(r.loss.item());
}

// 4. Sample through a pipeline: 200 points per class, guidance scale 2, DPM-Solver++ with 20 steps.
const pipe = new DiffusionPipeline({
  denoiser,
  params,
  schedulerConfig,
  info: { numClasses: 2, nullClass: 2 },
});
const output = await pipe.generate({
  labels: Int32Array.from({ length: 400 }, (_, i) => i % 2),
  guidanceScale: 2,
  sampler: "dpmsolver++",
  steps: 20,
  seed: 0,
});
writeFileSync(out, encodePng(output.toImage()));

const xy = output.values();
const mean = (c: number, d: number) => {
  let sum = 0;
  for (let i = c; i < 400; i += 2) sum += xy[2 * i + d]!;
  return sum / 200;
};
const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
console.log(
  JSON.stringify({
    firstLoss: avg(losses.slice(0, 10)),
    lastLoss: avg(losses.slice(-10)),
    class0: [mean(0, 0), mean(0, 1)],
    class1: [mean(1, 0), mean(1, 1)],
    out,
  }),
);
