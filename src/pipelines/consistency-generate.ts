/**
 * Sampling a consistency student on its VP grid (`_diffuse.consistency` of its folder; trained by
 * `diffuse distill --method consistency` or `diffuse train --objective consistency`): Song et al. 2023,
 * Algorithm 1, as diffusion/samplers/consistency-vp.ts runs it, with `steps` evaluations at the grid
 * indices of `consistencyStepIndices`. The student's f(x_t, t) = c_skip x_t / alpha + c_out x0hat is
 * built here from the network's output and its prediction type; images are clipped to [-1, 1] at the
 * end (the data range). This is what the sampler name "consistency" means on such a folder; on any
 * other model it stays diffusers' CMStochasticIterativeScheduler (samplers.ts). Browser-safe.
 */
import {
  consistencyStepIndices,
  consistencyTables,
  gridAlphasCumprod,
} from "../diffusion/consistency-grid.js";
import type { PredictionType } from "../diffusion/loss-weights.js";
import { gaussianNoise } from "../diffusion/noise.js";
import { sampleConsistencyVp } from "../diffusion/samplers/consistency-vp.js";
import { InputError } from "../io/input-error.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import type { GenerateOptions, GenerateResult } from "./generate.js";
import type { ConsistencyModelInfo } from "./model-info.js";

export type Forward = (params: Params, x: T.Tensor, t: T.Tensor, labels?: T.Tensor) => Promise<T.Tensor>;

/** Refuses `steps` the student's grid cannot take (naming the folder's field). */
export function checkConsistencySteps(steps: number, info: ConsistencyModelInfo): void {
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= info.numScales - 1)) {
    throw new InputError(
      `steps: ${steps} but the consistency student was trained on a grid of ${info.numScales} points (model_index.json field "_diffuse.consistency.numScales" = ${info.numScales}); expected 1 to ${info.numScales - 1} steps`,
      { field: "steps" },
    );
  }
}

/** `steps`-step samples of a consistency student (see the file comment). */
export async function generateConsistency(
  o: GenerateOptions & { consistency: ConsistencyModelInfo },
  labels: Int32Array | undefined,
  forward: Forward,
): Promise<GenerateResult> {
  const info = o.consistency;
  checkConsistencySteps(o.steps, info);
  if ((o.guidanceScale ?? 1) !== 1) {
    throw new InputError(
      `guidance-scale: ${o.guidanceScale} but a consistency student is sampled unguided (it was distilled from the conditional teacher); use 1`,
      { field: "guidanceScale" },
    );
  }
  if (!o.schedulerConfig) throw new Error("generate: schedulerConfig is needed for a consistency student");
  const prediction = String(o.schedulerConfig.prediction_type ?? "epsilon") as PredictionType;
  const tables = consistencyTables(
    gridAlphasCumprod(o.schedulerConfig, info.maxTimestep),
    info.numScales,
    info.sigmaData,
  );
  const N = o.numSamples;
  const shape = [N, ...o.denoiser.exampleShape];
  const y = labels && o.denoiser.numClassEmbeds !== null ? T.tensor(labels, [N], "int32") : undefined;
  const indices = consistencyStepIndices(info.numScales, o.steps);
  let nfe = 0;
  const f = async (x: T.Tensor, n: number) => {
    nfe++;
    const [a, s] = [tables.alpha[n]!, tables.sigma[n]!];
    const out = await forward(o.params, x, T.full([N], tables.grid[n]!, "int32"), y);
    const x0 =
      prediction === "epsilon"
        ? T.div(T.sub(x, T.mul(out, s)), a)
        : prediction === "sample"
          ? out
          : T.sub(T.mul(x, a), T.mul(out, s));
    const fx = T.add(T.mul(x, tables.cSkip[n]! / a), T.mul(x0, tables.cOut[n]!));
    o.onStep?.(nfe, indices.length);
    return fx;
  };
  const noise = gaussianNoise(o.seed);
  const xT = o.xT ?? noise(shape);
  let x = await sampleConsistencyVp(f, xT, indices, tables, noise);
  if (o.denoiser.exampleShape.length === 3) x = T.clip(x, -1, 1);
  return { samples: Float32Array.from(x.values() as Float32Array), shape, sampler: "consistency", nfe };
}
