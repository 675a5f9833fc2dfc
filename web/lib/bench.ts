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
  setDefaultRuntime,
  T,
} from "diffuse/core";
import { sampleDigits } from "./mnist.js";
import { PointsTrainer } from "./points.js";

export interface BenchOptions {
  /** The runtime of sampling (made the default runtime while the benchmark runs). */
  runtime: OrtLike;
  /** Timed repetitions of each step (default 10; the U-Net training step uses half). */
  repeats?: number;
  /** ONNX Runtime threads (absent: the runtime's default). */
  threads?: number;
  /** The runtime of the two training steps (absent: `runtime`). */
  trainRuntime?: OrtLike;
}

export interface BenchResult {
  /** Median milliseconds per step. */
  unetSampleStepMs: number;
  unetTrainStepMs: number;
  moonsTrainStepMs: number;
  /** Of those, the median milliseconds inside ONNX Runtime's `session.run` (its copies included). */
  inRunMs: { unetSampleStep: number; unetTrainStep: number; moonsTrainStep: number };
  repeats: number;
}

/** `ort` whose sessions add the wall time of every `run` to `clock.ms`. */
function timedRuntime(ort: OrtLike, clock: { ms: number }): OrtLike {
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(model, options) {
        const s = await ort.InferenceSession.create(model, options);
        return {
          inputNames: s.inputNames,
          outputNames: s.outputNames,
          async run(feeds, fetches) {
            const t0 = performance.now();
            try {
              return await s.run(feeds, fetches);
            } finally {
              clock.ms += performance.now() - t0;
            }
          },
          release: () => s.release(),
        };
      },
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall times of `n` calls of `f`, and of their time inside `clock`. */
async function timeEach(
  n: number,
  clock: { ms: number },
  f: () => Promise<unknown>,
): Promise<{ ms: number[]; inRun: number[] }> {
  const ms: number[] = [];
  const inRun: number[] = [];
  for (let i = 0; i < n; i++) {
    const [t0, c0] = [performance.now(), clock.ms];
    await f();
    ms.push(performance.now() - t0);
    inRun.push(clock.ms - c0);
  }
  return { ms, inRun };
}

/** A compiled U-Net training step on the pipeline's weights (batch 16 of noise "images"). */
async function unetTrainStep(pipe: DiffusionPipeline, threads: number | undefined, runtime: OrtLike) {
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
    runtime,
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

/**
 * Milliseconds spent inside `session.run`, summed over all runs ever timed here: one clock for the
 * whole program, because a pipeline keeps its compiled forward (and the session, with the runtime it
 * was created with) from one `runBench` call to the next. Steps read differences.
 */
const clock = { ms: 0 };

/** Times the three steps (see the file header). */
export async function runBench(pipeReady: Promise<DiffusionPipeline>, o: BenchOptions): Promise<BenchResult> {
  const repeats = o.repeats ?? 10;
  const pipe = await pipeReady;
  setDefaultRuntime(timedRuntime(o.runtime, clock));
  const trainRuntime = timedRuntime(o.trainRuntime ?? o.runtime, clock);
  // Sampling: the watcher's per-step times; the first step (session creation) is dropped.
  const stepMs: number[] = [];
  const stepInRun: number[] = [];
  const request = {
    labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    guidanceScale: 3,
    sampler: "dpmsolver++",
    steps: repeats + 1,
    seed: 0,
  };
  let c0 = clock.ms;
  await sampleDigits(
    pipe,
    request,
    (_w, ms) => {
      stepMs.push(ms);
      stepInRun.push(clock.ms - c0);
      c0 = clock.ms;
    },
    o.threads,
  );
  const unet = await unetTrainStep(pipe, o.threads, trainRuntime);
  await unet();
  const u = await timeEach(Math.max(3, Math.ceil(repeats / 2)), clock, unet);
  const moons = new PointsTrainer({ ...(o.threads ? { threads: o.threads } : {}), runtime: trainRuntime });
  await moons.step();
  const m = await timeEach(repeats, clock, () => moons.step());
  return {
    unetSampleStepMs: median(stepMs.slice(1)),
    unetTrainStepMs: median(u.ms),
    moonsTrainStepMs: median(m.ms),
    inRunMs: {
      unetSampleStep: median(stepInRun.slice(1)),
      unetTrainStep: median(u.inRun),
      moonsTrainStep: median(m.inRun),
    },
    repeats,
  };
}

/** One timed call: wall milliseconds and those inside `session.run`. */
export interface StepTime {
  ms: number;
  inRunMs: number;
}

/**
 * The network call of one sampling step, alone: the compiled U-Net forward on the batch the page's
 * sampling step evaluates (10 digits with guidance: 20 examples, float32 timesteps and int32
 * labels), with the weights compiled into the graph as `generate()` compiles them (`frozenWeights`,
 * default true; false: the weights as graph inputs), in a session of its own on `o.runtime`. Returns
 * a function that times one call; the first call builds the session (time it away as a warm-up).
 * bench/browser.ts `--interleave` alternates it between Node and the page call by call, so a shared
 * machine's load changes little between the two sides of a ratio.
 */
export async function unetForwardTimer(
  pipeReady: Promise<DiffusionPipeline>,
  o: { runtime: OrtLike; threads?: number; frozenWeights?: boolean },
): Promise<() => Promise<StepTime>> {
  const pipe = await pipeReady;
  const own = { ms: 0 };
  const options = { ...(o.threads ? { threads: o.threads } : {}), runtime: timedRuntime(o.runtime, own) };
  const call =
    o.frozenWeights === false
      ? compile(
          (p: typeof pipe.params, x: T.Tensor, t: T.Tensor, y: T.Tensor) => pipe.denoiser.forward(p, x, t, y),
          options,
        )
      : (() => {
          const f = compile(
            (x: T.Tensor, t: T.Tensor, y: T.Tensor) => pipe.denoiser.forward(pipe.params, x, t, y),
            options,
          );
          return (_p: typeof pipe.params, x: T.Tensor, t: T.Tensor, y: T.Tensor) => f(x, t, y);
        })();
  const B = 20;
  const [C, H, W] = [1, 28, 28];
  const x = T.tensor(random.normal(random.makeKey(0), B * C * H * W), [B, C, H, W]);
  const t = T.full([B], 500); // float32, as generate() passes it
  const y = T.tensor(
    Int32Array.from({ length: B }, (_, i) => Math.min(i, 10)),
    [B],
    "int32",
  );
  return async () => {
    const [t0, c0] = [performance.now(), own.ms];
    await call(pipe.params, x, t, y);
    return { ms: performance.now() - t0, inRunMs: own.ms - c0 };
  };
}

/**
 * One n x n by n x n float32 matmul (one compiled MatMul, in a session of its own on `o.runtime`): the
 * machine's GEMM rate as each side's ONNX Runtime reaches it (2 n^3 / ms / 1e6 GFLOP/s), which
 * bounds the convolution-bound U-Net steps. Returns a function that times one call; the first call
 * builds the session.
 */
export async function sgemmTimer(o: {
  runtime: OrtLike;
  threads?: number;
  n: number;
}): Promise<() => Promise<StepTime>> {
  const own = { ms: 0 };
  const mm = compile((a: T.Tensor, b: T.Tensor) => T.matmul(a, b), {
    ...(o.threads ? { threads: o.threads } : {}),
    runtime: timedRuntime(o.runtime, own),
  });
  const a = T.tensor(random.normal(random.makeKey(1), o.n * o.n), [o.n, o.n]);
  const b = T.tensor(random.normal(random.makeKey(2), o.n * o.n), [o.n, o.n]);
  return async () => {
    const [t0, c0] = [performance.now(), own.ms];
    await mm(a, b);
    return { ms: performance.now() - t0, inRunMs: own.ms - c0 };
  };
}
