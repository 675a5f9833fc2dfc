/**
 * Step times of the playground's two models, run the same way in the page and in Node (bench/browser.ts
 * compares them): one sampling step of the MNIST U-Net (10 digits with guidance: a batch of 20 per
 * network call, plus the scheduler update), one training step of the same U-Net (batch 16, AdamW), and
 * one training step of the two-moons MLP (batch 256). Medians after a warm-up (the first call of each
 * signature builds its ONNX Runtime session). Browser-safe.
 */
import {
  compile,
  type DiffusionPipeline,
  diffusionLoss,
  drawLossInputs,
  type LossConfig,
  lossTables,
  makeTrainStep,
  NO_EMA,
  type OrtLike,
  optim,
  random,
  T,
} from "diffuse/core";
import { sampleDigits } from "./mnist.js";
import { PointsTrainer } from "./points.js";

export interface BenchOptions {
  /** Timed repetitions of each step (default 10; the U-Net training step uses half). */
  repeats?: number;
  /** ONNX Runtime threads (absent: the runtime's default). */
  threads?: number;
  /** The runtime of the two training steps (absent: the default runtime, as for sampling). */
  trainRuntime?: OrtLike;
}

export interface BenchResult {
  /** Median milliseconds per step. */
  unetSampleStepMs: number;
  unetTrainStepMs: number;
  moonsTrainStepMs: number;
  repeats: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeEach(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** A compiled U-Net training step on the pipeline's weights (batch 16 of noise "images"). */
async function unetTrainStep(pipe: DiffusionPipeline, threads?: number, runtime?: OrtLike) {
  const lossConfig: LossConfig = {
    loss: "l2",
    weighting: "none",
    prediction: "epsilon",
    labelDropout: 0.1,
    nullClass: 10,
  };
  const tables = lossTables(pipe.schedulerConfig, lossConfig);
  const step = compile(makeTrainStep(diffusionLoss(pipe.denoiser.forward, lossConfig)), {
    ...(threads ? { threads } : {}),
    ...(runtime ? { runtime } : {}),
  });
  const B = 16;
  let params = pipe.params;
  let opt = optim.initAdamW(params);
  const images = random.uniform(random.makeKey(5), B * 784).map((u) => 2 * u - 1);
  const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
  let k = 0;
  return async () => {
    const batch = drawLossInputs(random.makeKey(k++), images, [B, 1, 28, 28], tables, lossConfig, labels);
    const r = await step(params, opt, NO_EMA, batch, T.scalar(1e-4));
    params = r.params;
    opt = r.optState;
  };
}

/** Times the three steps (see the file header). */
export async function runBench(
  pipeReady: Promise<DiffusionPipeline>,
  o: BenchOptions = {},
): Promise<BenchResult> {
  const repeats = o.repeats ?? 10;
  const pipe = await pipeReady;
  // Sampling: the watcher's per-step times; the first step (session creation) is dropped.
  const stepMs: number[] = [];
  const request = {
    labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    guidanceScale: 3,
    sampler: "dpmsolver++",
    steps: repeats + 1,
    seed: 0,
  };
  await sampleDigits(pipe, request, (_w, ms) => stepMs.push(ms), o.threads);
  const unetSampleStepMs = median(stepMs.slice(1));
  const unet = await unetTrainStep(pipe, o.threads, o.trainRuntime);
  await unet();
  const unetTrainStepMs = median(await timeEach(Math.max(3, Math.ceil(repeats / 2)), unet));
  const moons = new PointsTrainer({
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.trainRuntime ? { runtime: o.trainRuntime } : {}),
  });
  await moons.step();
  const moonsTrainStepMs = median(await timeEach(repeats, () => moons.step()));
  return { unetSampleStepMs, unetTrainStepMs, moonsTrainStepMs, repeats };
}
