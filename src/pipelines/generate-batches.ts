/**
 * Sampling in batches: `numSamples` samples drawn `batchSize` at a time, so that memory is that of one
 * batch (twice it with classifier-free guidance) however many samples are asked for; each batch is
 * handed to the caller (`diffuse sample` streams it to its output file) and can be dropped. Browser-safe.
 *
 * Seeding. With one batch (numSamples <= batchSize) this is exactly `pipe.generate({ seed, ... })`.
 * With several, batch b (samples start..start+count-1) starts from x_T = those rows of the whole run's
 * first noise draw (`gaussianNoise(seed)`'s first draw, computed piecewise by `normalAt`), so a
 * deterministic sampler (DDIM eta 0, DPM-Solver++, UniPC, Euler, Heun, pf_ode, ...) gives the samples of
 * the unbatched run, up to the float rounding of another batch size. The draws of stochastic steps
 * (DDPM, Euler a, DDIM eta > 0, SDE samplers) come from the batch's own stream, key
 * `foldIn(makeKey(seed), b + 1)`: reproducible for a seed and batch size, but not the unbatched draws.
 */
import { foldIn, makeKey, normalAt, RngStream } from "../random/index.js";
import * as T from "../tensor/index.js";
import { cyclicLabels } from "./generate.js";
import type { DiffusionPipeline, PipelineGenerateOptions, PipelineOutput } from "./pipeline.js";

/** Default samples per batch of `diffuse sample` / `diffuse eval --model` (MNIST U-Net: ~1 GB guided). */
export const DEFAULT_SAMPLE_BATCH = 100;

export type BatchedGenerateOptions = Omit<PipelineGenerateOptions, "xT" | "init" | "seed"> & {
  numSamples: number;
  batchSize: number;
  seed?: number;
};

export interface SampleBatch {
  /** Index of the batch's first sample in the run. */
  start: number;
  count: number;
  output: PipelineOutput;
}

/** [start, count] of each batch of `n` samples, `batchSize` at a time (the last may be smaller). */
export function batchRanges(n: number, batchSize: number): { start: number; count: number }[] {
  for (const [field, v] of [
    ["numSamples", n],
    ["batchSize", batchSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${field}: expected a positive integer, got ${v}`);
  }
  const out: { start: number; count: number }[] = [];
  for (let start = 0; start < n; start += batchSize)
    out.push({ start, count: Math.min(batchSize, n - start) });
  return out;
}

/** Rows start..start+count-1 of the first draw of `gaussianNoise(seed)` for [n, ...exampleShape]. */
export function startNoiseRows(
  seed: number,
  exampleShape: readonly number[],
  start: number,
  count: number,
): T.Tensor {
  const per = exampleShape.reduce((a, b) => a * b, 1);
  const first = new RngStream(makeKey(seed)).next();
  return T.tensor(normalAt(first, start * per, count * per), [count, ...exampleShape]);
}

/**
 * Draws the samples batch by batch (see the module comment for the seeding). Labels: as given (one per
 * sample), else 0, 1, 2, ... cyclic for a class-conditional model (or the classifier's classes).
 * `onStep(i, total)` counts steps over the whole run (total = batches x steps).
 */
export async function* generateBatches(
  pipe: DiffusionPipeline,
  o: BatchedGenerateOptions,
): AsyncGenerator<SampleBatch> {
  const { numSamples: n, batchSize, seed = 0, labels: given, onStep, ...rest } = o;
  const ranges = batchRanges(n, batchSize);
  const classes = pipe.numClasses ?? o.classifier?.classifier.config.num_classes;
  if (given && given.length !== n) {
    throw new Error(`labels: got ${given.length}, expected one per sample (${n})`);
  }
  const labels = given ? Int32Array.from(given) : classes ? cyclicLabels(n, classes) : undefined;
  if (ranges.length === 1) {
    yield {
      start: 0,
      count: n,
      output: await pipe.generate({
        ...rest,
        numSamples: n,
        seed,
        ...(labels ? { labels } : {}),
        ...(onStep ? { onStep } : {}),
      }),
    };
    return;
  }
  const root = makeKey(seed);
  for (const [b, { start, count }] of ranges.entries()) {
    const output = await pipe.generate({
      ...rest,
      numSamples: count,
      seed: foldIn(root, b + 1),
      xT: startNoiseRows(seed, pipe.denoiser.exampleShape, start, count),
      ...(labels ? { labels: labels.subarray(start, start + count) } : {}),
      ...(onStep
        ? { onStep: (i: number, total: number) => onStep(b * total + i, ranges.length * total) }
        : {}),
    });
    yield { start, count, output };
  }
}
