/**
 * The straightness of a flow model folder's sampling trajectories (Liu et al. 2022, Sec. 2.2; the
 * estimate is `flowStraightness`): how far its Euler paths from seeded noise bend, 0 when every path
 * is a straight line run at constant speed. Reflow should lower it; issue 13 reports it before and
 * after. Class-conditional models get the labels 0, 1, ... in turn, as the quality benchmark does.
 */
import { flowModelVelocity, flowStraightness, flowTimeGrid } from "../diffusion/samplers/flow.js";
import { makeKey, normal } from "../random/index.js";
import * as T from "../tensor/index.js";
import { compiledForward, cyclicLabels } from "./generate.js";
import type { DiffusionPipeline } from "./pipeline.js";

export interface StraightnessOptions {
  /** Trajectories (default 100), drawn in batches of `batchSize` (default 100). */
  numSamples?: number;
  batchSize?: number;
  /** Euler steps of each trajectory (default 50). */
  steps?: number;
  seed?: number;
  threads?: number;
}

export interface StraightnessReport {
  /** E over trajectories and t of ||(x_1 - x_0) - v(x_t, t)||^2, summed over an example's values. */
  straightness: number;
  /** The same per value (divided by the example's size), comparable across image sizes. */
  perValue: number;
  numSamples: number;
  steps: number;
}

/** The straightness of `pipe`'s velocity field; refuses a model that is not a flow model. */
export async function pipelineStraightness(
  pipe: DiffusionPipeline,
  options: StraightnessOptions = {},
): Promise<StraightnessReport> {
  const kind = pipe.schedulerConfig._class_name;
  if (kind !== "FlowMatchEulerDiscreteScheduler") {
    throw new Error(
      `straightness: ${pipe.source ?? "the model"} is not a flow model (scheduler ${String(kind)}; expected FlowMatchEulerDiscreteScheduler)`,
    );
  }
  const n = options.numSamples ?? 100;
  const batch = Math.min(options.batchSize ?? 100, n);
  const steps = options.steps ?? 50;
  for (const [name, v] of [
    ["numSamples", n],
    ["batchSize", batch],
    ["steps", steps],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 1))
      throw new Error(`straightness: ${name} ${v} is not an integer >= 1`);
  }
  const shape = pipe.denoiser.exampleShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const timesteps = Number(pipe.schedulerConfig.num_train_timesteps ?? 1000);
  const forward = compiledForward(pipe.denoiser, options.threads ?? 0, pipe.params);
  const classes = pipe.numClasses;
  const labels = classes === null ? undefined : cyclicLabels(n, classes);
  const noise = normal(makeKey(options.seed ?? 0), n * size);
  let total = 0;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const y = labels ? T.tensor(labels.subarray(start, start + b), [b], "int32") : undefined;
    const velocity = flowModelVelocity((x, t) => forward(pipe.params, x, T.full([b], t), y), timesteps);
    const x1 = T.tensor(noise.subarray(start * size, (start + b) * size), [b, ...shape]);
    total += (await flowStraightness(velocity, x1, flowTimeGrid(steps))).straightness * b;
  }
  const straightness = total / n;
  return { straightness, perValue: straightness / size, numSamples: n, steps };
}
