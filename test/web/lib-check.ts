/**
 * Run by playground-lib.test.ts as `tsx --conditions=diffuse-source` (so "diffuse/core" is the
 * sources, with onnxruntime-node registered through "diffuse"): exercises the page's library code in
 * Node and prints one JSON line of measurements for the test to judge.
 */
import { DiffusionPipeline, denoiserFromConfig, random } from "diffuse";
import { medianDistanceToData, PointsTrainer, toyData } from "../../web/lib/points.js";
import { type Watched, watchScheduler } from "../../web/lib/watch.js";

const schedulerConfig = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  prediction_type: "epsilon",
};
const denoiser = denoiserFromConfig(
  { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 16, num_layers: 1, num_class_embeds: 3 },
  random.makeKey(1),
);
const pipe = new DiffusionPipeline({
  denoiser,
  params: denoiser.module.parameters(),
  schedulerConfig,
  info: { numClasses: 2, nullClass: 2 },
});
const request = { labels: [0, 1, 0, 1], guidanceScale: 2, steps: 6, seed: 4 };
const watcher: Record<string, { steps: number; maxDiff: number; lastX0MinusFinal: number | null }> = {};
for (const sampler of ["dpmsolver++", "ddim", "euler"]) {
  const plain = (await pipe.generate({ ...request, sampler })).values();
  const seen: Watched[] = [];
  const watched = (
    await pipe.generate({
      ...request,
      sampler: watchScheduler(pipe.scheduler(sampler), schedulerConfig, (w) => seen.push(w)),
    })
  ).values();
  const last = seen.at(-1)?.x0;
  watcher[sampler] = {
    steps: seen.length,
    maxDiff: Math.max(...plain.map((v, i) => Math.abs(v - watched[i]!))),
    lastX0MinusFinal: last ? Math.max(...last.map((v, i) => Math.abs(v - watched[i]!))) : null,
  };
}

const a = toyData("moons", 3);
const b = toyData("moons", 3);
const swiss = new PointsTrainer({ data: "swissroll", threads: 1 });
await swiss.step();
const swissSamples = await swiss.sample(10);
const trainer = new PointsTrainer({ seed: 0, threads: 1 });
const before = await trainer.sample(100);
for (let s = 0; s < 150; s++) await trainer.step();
const after = await trainer.sample(100);
const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
// Drawn points: too few is an error naming the count; a flat stroke (y constant) still trains.
const problem = (f: () => unknown) => {
  try {
    f();
    return "";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
};
const flat = new PointsTrainer({
  data: { xy: Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? i / 20 : 0.5)) },
  threads: 1,
});
const flatLoss = await flat.step();
const flatSamples = await flat.sample(20, "ddim", 5);
console.log(
  JSON.stringify({
    watcher,
    moonsDeterministic: a.xy.every((v, i) => v === b.xy[i]) && a.labels!.every((v, i) => v === b.labels![i]),
    swissUnconditional: swissSamples.labels === null && swissSamples.xy.length === 20,
    distanceBefore: medianDistanceToData(before.xy, before.labels, trainer.data),
    distanceAfter: medianDistanceToData(after.xy, after.labels, trainer.data),
    lossFirst: mean(trainer.losses.slice(0, 10)),
    lossLast: mean(trainer.losses.slice(-10)),
    drawnTooFew: problem(() => new PointsTrainer({ data: { xy: [0, 0, 1, 1] } })),
    drawnOdd: problem(() => new PointsTrainer({ data: { xy: Array(41).fill(0) } })),
    flatFinite: Number.isFinite(flatLoss) && [...flatSamples.xy].every(Number.isFinite),
    flatStd: flat.norm.std,
  }),
);
